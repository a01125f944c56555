"""The non-parametric baselines of Table 8.2 and the swap-method interface: the TPS solver's maths,
Poisson cloning's edge cases, and both baselines on synthetic persons."""
import numpy as np
import pytest

from datasets.persons import keypoints as kp
from datasets.persons import parsing as lip
from datasets.persons.deepfashion import load_person_set
from evaluation import tps
from evaluation.baselines import PoissonBlending, TPSWarping, poisson_clone, shared_joints
from evaluation.methods import paste_head, person_batch, person_inputs
from models.viton import CLOTHES_CLASSES

S = 32
# Persons are drawn at 64 px: at 32 px a garment is a few pixels wide and Poisson's clone of it is
# nearly invisible (under 2 grey levels), which would make "differs from the reference" untestable.
P = 64


@pytest.fixture(scope="module")
def people(synthetic_persons):
    """References = the first image of each test pair, conditions = the other person's image."""
    test = load_person_set(synthetic_persons, "test")
    refs, conds = test.pairs[:, 0], np.roll(test.pairs[:, 1], 1)
    return test, person_batch(test, refs, P), person_batch(test, conds, P)


def test_tps_interpolates_its_control_points_and_keeps_the_side_conditions():
    rng = np.random.default_rng(0)
    source, target = rng.uniform(0, 64, (9, 2)), rng.uniform(0, 64, (9, 2))
    warp = tps.fit_tps(source, target, regularization=0.0, scale=64.0)
    assert warp.kind == "tps"
    np.testing.assert_allclose(warp(source), target, atol=1e-8)
    np.testing.assert_allclose(warp.weights.sum(0), 0.0, atol=1e-9)  # sum w = 0, sum w p = 0
    np.testing.assert_allclose(warp.weights.T @ warp.controls, 0.0, atol=1e-9)
    smooth = tps.fit_tps(source, target, regularization=0.1, scale=64.0)
    assert not np.allclose(smooth(source), target, atol=1e-3)  # a smoothing spline no longer interpolates
    # An affine target is reproduced exactly, with no bending, at any regularisation.
    affine = np.array([[3.0, -2.0], [1.1, 0.2], [-0.3, 0.9]])
    moved = np.concatenate([np.ones((9, 1)), source], 1) @ affine
    fitted = tps.fit_tps(source, moved, regularization=0.1, scale=64.0)
    np.testing.assert_allclose(fitted.weights, 0.0, atol=1e-9)
    probe = rng.uniform(-10, 80, (50, 2))
    np.testing.assert_allclose(fitted(probe), np.concatenate([np.ones((50, 1)), probe], 1) @ affine,
                               atol=1e-8)


def test_identical_keypoints_give_the_identity_and_sampling_maps():
    points = np.array([[10, 5], [20, 8], [15, 25], [3, 30], [28, 28]], float)
    warp = tps.fit_warp(points, points, regularization=0.1, scale=float(S))
    assert warp.kind == "tps"
    map_x, map_y = tps.sampling_maps(warp, S, S)
    ys, xs = np.mgrid[0:S, 0:S]
    np.testing.assert_allclose(map_x, xs, atol=1e-4)
    np.testing.assert_allclose(map_y, ys, atol=1e-4)


def test_degenerate_point_sets_fall_back():
    two = tps.fit_warp([[0, 0], [10, 0]], [[5, 5], [5, 25]], scale=float(S))  # x2, rotated 90 deg
    assert two.kind == "similarity"
    np.testing.assert_allclose(two([[0, 0], [10, 0], [5, 0]]), [[5, 5], [5, 25], [5, 15]], atol=1e-9)
    line = tps.fit_warp([[0, 0], [5, 5], [10, 10]], [[1, 1], [6, 6], [11, 11]], scale=float(S))
    assert line.kind == "similarity"  # collinear: no affine fit
    one = tps.fit_warp([[4, 4]], [[6, 1]], scale=float(S))
    assert one.kind == "translation"
    np.testing.assert_allclose(one([[0, 0]]), [[2, -3]])
    repeated = tps.fit_warp([[4, 4], [4, 4]], [[6, 1], [9, 9]], scale=float(S))
    assert repeated.kind == "translation"  # a repeated point counts once
    none = tps.fit_warp(np.zeros((0, 2)), np.zeros((0, 2)), scale=float(S))
    assert none.kind == "identity"
    np.testing.assert_allclose(none([[3, 7]]), [[3, 7]])


def test_shared_joints_are_the_present_body_joints_in_x_y():
    ref = np.full((18, 2), -1)
    cond = np.full((18, 2), -1)
    ref[[kp.NECK, kp.R_HIP, kp.L_HIP, kp.NOSE]] = [[5, 6], [20, 4], [20, 9], [2, 6]]
    cond[[kp.NECK, kp.R_HIP, kp.NOSE]] = [[7, 8], [22, 5], [3, 3]]
    r, c = shared_joints(ref, cond)
    np.testing.assert_array_equal(r, [[6, 5], [4, 20]])  # nose is no body joint; L_HIP one-sided
    np.testing.assert_array_equal(c, [[8, 7], [5, 22]])


def _flat_person(value, size=S):
    """A one-colour person without clothes (background everywhere in S)."""
    x = np.full((1, size, size, 3), value, np.float32)
    s = np.zeros((1, size, size, 6), np.float32)
    s[..., lip.BACKGROUND] = 1.0
    return {"x": x, "s": s, "m": 1.0 - s[..., :1], "h": np.zeros((1, size, size, 1), np.float32)}


def test_poisson_without_clothes_returns_the_reference_and_counts_it():
    ref, cond = _flat_person(-0.5), _flat_person(0.7)
    ref["x"][0, 5:10, 5:10] = 0.2
    method = PoissonBlending()
    out = method.generate(ref, cond)
    np.testing.assert_array_equal(out, ref["x"])
    assert method.counts == {"empty_clothes": 1}


@pytest.mark.parametrize("where", [(slice(0, 12), slice(0, 12)), (slice(None), slice(None)),
                                   (slice(20, 32), slice(5, 32))])
def test_poisson_handles_clothes_touching_the_border(where):
    rng = np.random.default_rng(1)
    reference = rng.integers(0, 255, (S, S, 3), dtype=np.uint8)
    condition = rng.integers(0, 255, (S, S, 3), dtype=np.uint8)
    clothes = np.zeros((S, S), bool)
    clothes[where] = True
    target = np.zeros((S, S), bool)
    target[25:32, 0:4] = True  # a box whose centre would put the clothes outside the image
    out, placed = poisson_clone(reference, condition, clothes, target)
    assert out.shape == reference.shape and out.dtype == np.uint8
    assert placed.sum() == clothes.sum()  # moved back inside the image whole
    ys, xs = np.nonzero(placed)
    assert ys.max() == S - 1 and xs.min() == 0  # as close to the target's centre as it fits
    np.testing.assert_array_equal(out[~placed], reference[~placed])
    assert (out[placed] != reference[placed]).any(-1).mean() > 0.3


def test_both_baselines_on_synthetic_persons(people):
    _, ref, cond = people
    for method in (PoissonBlending(), TPSWarping()):
        out = method.generate(ref, cond)
        assert out.shape == ref["x"].shape and out.dtype == np.float32, method.name
        assert out.min() >= -1.0 and out.max() <= 1.0
        for other in (ref["x"], cond["x"]):  # every example differs from both of its inputs
            assert (np.abs(out - other).max((1, 2, 3)) > 0.2).all(), method.name
        head = ref["h"][..., 0] > 0.5
        np.testing.assert_array_equal(out[head], ref["x"][head])  # the reference head is kept
        assert not method.counts, (method.name, method.counts)
        # the clothes replace reference pixels; elsewhere the reference is untouched
        changed = (np.abs(out - ref["x"]).max(-1) > 0).mean((1, 2))
        assert ((0.02 < changed) & (changed < 0.5)).all(), (method.name, changed)


def test_tps_with_too_few_shared_joints_falls_back_and_counts(people):
    _, ref, cond = people
    cond = dict(cond, keypoints=cond["keypoints"].copy())
    cond["keypoints"][0, 2:] = -1  # the first condition keeps nose and neck only
    method = TPSWarping()
    out = method.generate(ref, cond)
    assert method.counts == {"tps_fallback_translation": 1}
    assert out.shape == ref["x"].shape


def test_method_inputs_are_checked_and_keypoints_follow_the_frame(synthetic_persons, people):
    test, ref, cond = people
    example = person_inputs(test.paths[0], test.keypoints[0], test.parsing_paths[0], image_size=P)
    np.testing.assert_array_equal(example["keypoints"], kp.resize_frame(test.keypoints[0], 256, P))
    assert example["heat"].shape == (P, P, 18)
    np.testing.assert_array_equal(ref["keypoints"][0], example["keypoints"])
    assert CLOTHES_CLASSES == (lip.UPPER, lip.LOWER)
    method = TPSWarping()
    with pytest.raises(ValueError, match=r"reference batch lacks keypoints"):
        method.generate({k: v for k, v in ref.items() if k != "keypoints"}, cond)
    with pytest.raises(ValueError, match=r"3 references of 64 px but 2 conditions"):
        method.generate(ref, {k: v[:2] for k, v in cond.items()})
    with pytest.raises(ValueError, match=r"condition\['s'\] has shape"):
        method.generate(ref, dict(cond, s=cond["s"][..., :5]))
    pasted = paste_head(np.zeros_like(ref["x"]), ref)
    np.testing.assert_array_equal(pasted, ref["x"] * ref["h"])
