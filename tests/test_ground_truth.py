"""The swap ground truth of the synthetic persons: a person in its own clothes is its stored image
bit for bit, a person in other clothes differs only where garments are, the folder-level targets
and their refusals, and the masked metrics on hand-computed cases."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from datasets.files import DataError
from datasets.persons import synthetic_draw as draw
from datasets.persons.deepfashion import load_person_set
from datasets.persons.synthetic import GARMENT_KEYS, params_file, person_style, render_person
from datasets.persons.synthetic_target import SwapTargets, jpeg_round_trip, read_params
from datasets.pipeline import read_image
from evaluation import ground_truth as gt
from evaluation import metrics
from evaluation.methods import person_batch
from training.summaries import to_uint8

CLOTHES = (draw.UPPER, draw.PANTS, draw.SKIRT)
SIZE = 96  # small renders: the generator draws at any size
PAIRS = [(r, (r * 7 + 3) % 24) for r in range(24) if (r * 7 + 3) % 24 != r]


def _garment_region(identity, pose, lab, lab_target):
    """Where a change of garments may change labels: either person's clothes labels and the
    neckline (a V or round collar uncovers skin within 2.5 neck widths of the neck point)."""
    style = person_style(identity)
    figure = draw.pose_figure(style, identity, pose, SIZE, 0)
    region = np.isin(lab, CLOTHES) | np.isin(lab_target, CLOTHES)
    region = region.astype(np.uint8)
    neck = tuple(int(round(v)) for v in figure["points"]["neck"])
    cv2.circle(region, neck, int(np.ceil(2.5 * 0.42 * figure["w"]["head_w"])), 1, -1)
    return region.astype(bool)


# --- rendering ----------------------------------------------------------------------------------

@pytest.mark.parametrize("identity", range(6))
def test_a_person_wearing_its_own_clothes_is_its_render_bit_for_bit(identity):
    for pose in (0, 1):
        own = render_person(identity, pose, size=SIZE)
        dressed = render_person(identity, pose, size=SIZE, wearing=identity)
        for a, b in zip(own, dressed):
            np.testing.assert_array_equal(a, b)


def test_the_target_differs_from_the_reference_only_where_garments_are():
    kinds = set()
    for r, c in PAIRS:
        pose = r % 2
        image, lab, points = render_person(r, pose, size=SIZE)
        target, lab_t, points_t = render_person(r, pose, size=SIZE, wearing=c)
        own_c, lab_c, _ = render_person(c, pose, size=SIZE)
        region = _garment_region(r, pose, lab, lab_t)
        np.testing.assert_array_equal(lab[~region], lab_t[~region])  # body, head, background
        blurred = cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        changed = np.abs(image.astype(int) - target).max(-1) > 0  # the photo's 3x3 blur: +1 px
        assert not (changed & ~blurred).any(), (r, c, int((changed & ~blurred).sum()))
        body = [j for j in range(18) if j not in (16, 17)]  # ears may hide under other clothes
        np.testing.assert_array_equal(points[body], points_t[body])
        # c's garments: its cut and, on average, its colours
        style_c = person_style(c)
        assert (lab_t == draw.SKIRT).any() == (style_c["bottom"] == "skirt"), (r, c)
        for labels in ((draw.UPPER,), (draw.PANTS, draw.SKIRT)):
            worn = target[np.isin(lab_t, labels)].mean(0)
            assert np.abs(worn - own_c[np.isin(lab_c, labels)].mean(0)).max() < 15, (r, c, labels)
        kinds.add((person_style(r)["sleeves"], style_c["sleeves"]))
        assert changed[np.isin(lab_t, CLOTHES)].mean() > 0.5
    assert {("short", "long"), ("long", "short")} <= kinds  # sleeves both added and removed
    assert set(GARMENT_KEYS) < set(person_style(0))


# --- the targets of a synthetic persons folder --------------------------------------------------

def _stem_pairs(test):
    """(reference, the same identity's other pose, another identity's image) indices."""
    names = list(test.names)
    r = 0
    same = names.index(names[r].replace("_1front", "_2front"))
    other = next(i for i, n in enumerate(names) if n.split("_")[1] != names[r].split("_")[1])
    return r, same, other


def test_folder_targets_reproduce_stored_images_and_change_clothes(synthetic_persons):
    test = load_person_set(synthetic_persons, "test")
    params = read_params(synthetic_persons, "test")
    assert sorted(params) == sorted(test.names)
    assert params["syn_00006_2front.jpg"] == (6, 1)  # the fixture's first test identity is 6
    targets = SwapTargets(synthetic_persons, "test")
    r, same, other = _stem_pairs(test)
    stored = read_image(test.paths[r]).numpy()
    own, lab, _ = targets.render(test.names[r], test.names[same])  # same identity, same clothes
    np.testing.assert_array_equal(own, stored)
    np.testing.assert_array_equal(lab, cv2.imread(test.parsing_paths[r], cv2.IMREAD_UNCHANGED))
    swapped = targets.render(test.names[r], test.names[other])[0]
    assert np.abs(swapped.astype(int) - stored).mean() > 1
    # at a method's size, as the protocol compares: 8 bits, masks union of target and reference
    truth = gt.GroundTruth(test)
    pairs = np.array([[r, same], [r, other]])
    images, masks = truth.batch(pairs, 32, workers=2)
    reference = person_batch(test, pairs[:, 0], 32)
    np.testing.assert_array_equal(images[0], to_uint8(reference["x"][0]))
    np.testing.assert_array_equal(masks[0], reference["m"][0])
    assert not np.array_equal(images[1], images[0])
    _, union = truth.compared(pairs, 32, reference["m"])
    assert union.dtype == bool
    np.testing.assert_array_equal(union, (masks == 1) | (reference["m"] == 1))
    assert (union[1] != (reference["m"][1] == 1)).any()  # other clothes, another silhouette
    assert truth.provenance["layout_version"] == 2 and truth.provenance["size"] == 256


def test_targets_are_rendered_once_while_they_fit_in_memory(synthetic_persons, monkeypatch):
    test = load_person_set(synthetic_persons, "test")
    truth = gt.GroundTruth(test)
    pairs = np.array([[0, 3], [1, 4], [0, 3]])
    first = truth.batch(pairs, 32, workers=2)
    assert len(truth.cache) == 2 and truth.cached_bytes == 2 * (32 * 32 * 3 + 32 * 32)

    def no_render(*args):
        raise AssertionError("a cached target was rendered again")

    monkeypatch.setattr(truth.targets, "render", no_render)
    for a, b in zip(first, truth.batch(pairs[::-1], 32)):
        np.testing.assert_array_equal(a[::-1], b)
    monkeypatch.undo()
    monkeypatch.setattr(gt, "CACHE_BYTES", 32 * 32 * 4)  # room for one target only
    small = gt.GroundTruth(test)
    small.batch(pairs, 32, workers=2)
    assert len(small.cache) == 1


def test_only_synthetic_persons_have_a_ground_truth():
    truth, reason = gt.ground_truth("deepfashion", test=None)
    assert truth is None and reason.startswith("DeepFashion has no image of a reference wearing")


def test_outdated_or_foreign_folders_are_refused(synthetic_persons, tmp_path):
    copy = tmp_path / "persons"
    shutil.copytree(synthetic_persons, copy)
    manifest = copy / "synthetic.json"
    spec = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**spec, "layout_version": 1}))
    with pytest.raises(DataError, match=r"synthetic.json: layout_version 1, but swap targets are "
                                        r"rendered by version 2: regenerate"):
        SwapTargets(str(copy))
    manifest.write_text(json.dumps(spec))
    os.remove(params_file(str(copy), "test"))
    with pytest.raises(DataError, match=r"synthetic-params-test.csv: missing"):
        SwapTargets(str(copy))
    shutil.copy(params_file(synthetic_persons, "test"), params_file(str(copy), "test"))
    name = "syn_00006_1front.jpg"
    targets = SwapTargets(str(copy))
    with pytest.raises(DataError, match=r"synthetic-params-test.csv: no row for nobody.jpg"):
        targets.render(name, "nobody.jpg")
    targets.verify(name)  # the stored image is what the code renders
    path = copy / "test" / name
    image = render_person(7, 0)[0]  # another person under that name
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    with pytest.raises(DataError, match=r"syn_00006_1front.jpg: not what the synthetic persons "
                                        r"generator renders now"):
        targets.verify(name)


def test_jpeg_round_trip_is_what_the_reader_decodes(tmp_path):
    image = render_person(2, 0, size=256)[0]
    path = str(tmp_path / "x.jpg")
    cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    np.testing.assert_array_equal(jpeg_round_trip(image), read_image(path).numpy())


# --- the metrics --------------------------------------------------------------------------------

def _images(seed=0, size=24):
    rng = np.random.default_rng(seed)
    return rng.integers(20, 200, (size, size, 3)).astype(np.uint8)


def test_identical_images_score_perfectly():
    a = _images()
    mask = np.zeros((24, 24, 1), bool)
    mask[4:20, 6:18] = True
    assert metrics.masked_ssim(a, a, mask, 255) == pytest.approx(1.0, abs=1e-12)
    assert metrics.masked_l1(a, a, mask, 255) == 0.0
    assert metrics.masked_psnr(a, a, mask, 255) == metrics.PSNR_CAP == 100.0
    assert metrics.masked_scores(a, a, mask[..., 0], 255) == {"ssim": pytest.approx(1.0),
                                                              "psnr": 100.0, "l1": 0.0}


@pytest.mark.parametrize("offset", [1, 5, 40])
def test_a_constant_offset_inside_the_mask_gives_the_closed_forms(offset):
    a = _images(1)
    mask = np.zeros((24, 24), bool)
    mask[3:15, 2:22] = True
    b = a.astype(int) + offset
    b[~mask] = 255 - a[~mask]  # anything outside the mask is ignored
    b = b.astype(np.uint8)
    assert metrics.masked_l1(a, b, mask, 255) == pytest.approx(offset / 255, rel=1e-12)
    assert metrics.masked_psnr(a, b, mask, 255) == pytest.approx(20 * np.log10(255 / offset),
                                                                 rel=1e-12)
    # two flat images: only SSIM's luminance term remains, (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1)
    flat_a, flat_b = np.full((16, 16, 3), 100, np.uint8), np.full((16, 16, 3), 100 + offset, np.uint8)
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * (100 + offset) + c1) / (100 ** 2 + (100 + offset) ** 2 + c1)
    assert metrics.masked_ssim(flat_a, flat_b, np.ones((16, 16), bool), 255) == pytest.approx(
        expected, rel=1e-9)


def test_masked_ssim_over_the_interior_is_scikit_images_mean():
    a, b = _images(2, 32), _images(3, 32)
    interior = np.zeros((32, 32), bool)
    interior[5:-5, 5:-5] = True  # scikit-image's mean leaves out the window's half width
    reference = structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False, data_range=255, channel_axis=-1)
    assert metrics.masked_ssim(a, b, interior, 255) == pytest.approx(reference, rel=1e-12)


def test_bad_metric_inputs_are_named():
    a = _images()
    with pytest.raises(ValueError, match="masked_l1: the mask is empty"):
        metrics.masked_l1(a, a, np.zeros((24, 24), bool), 255)
    with pytest.raises(ValueError, match=r"masked_psnr: need two \(H, W, 3\) images"):
        metrics.masked_psnr(a, a[:20], np.ones((24, 24), bool), 255)
    with pytest.raises(ValueError, match="smaller than the 11x11 window"):
        metrics.masked_ssim(a[:8, :8], a[:8, :8], np.ones((8, 8), bool), 255)


def test_per_pair_scores_and_their_means():
    scores = gt.Scores()
    a, b = _images(4), _images(5)
    mask = np.ones((2, 24, 24, 1), bool)
    scores.add(np.stack([a, a]), np.stack([a, b]), mask)
    out = scores.result()
    assert out["pairs"] == 2 and out["per_pair"]["psnr"][0] == 100.0
    assert out["per_pair"]["l1"] == [0.0, pytest.approx(np.abs(a.astype(int) - b).mean() / 255)]
    for k in gt.TRUTH_METRICS:
        assert out[k] == pytest.approx(np.mean(out["per_pair"][k]))
    assert gt.summary({"ssim": 0.5, "ground_truth": out})["ground_truth"] == {
        k: v for k, v in out.items() if k != "per_pair"}
