"""Evaluation maths: label palettes, FCN-score, IS, FID, KID, SSIM (hand-worked values, numpy refs)."""
import time

import cv2
import numpy as np
import pytest
import scipy.ndimage

from datasets.files import DataError, decode_file, list_images
from datasets.labels import CITYSCAPES, FACADES, LABEL_SETS, colors_to_ids, get_label_set, ids_to_colors
from datasets.synthetic_facades import CMP_PALETTE, render_label
from evaluation import metrics
from evaluation.scores import confusion_matrix, fcn_scores


def _jpeg(rgb, quality=50):
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _brute_force_ids(rgb, label_set):
    colors = np.concatenate([label_set.palette, label_set.void_colors]).astype(np.int64)
    ids = np.concatenate([np.arange(label_set.num_classes),
                          np.full(len(label_set.void_colors), label_set.ignore_id)])
    d = ((rgb.reshape(-1, 1, 3).astype(np.int64) - colors[None]) ** 2).sum(-1)
    return ids[d.argmin(1)].reshape(rgb.shape[:-1])


# ---- label sets -------------------------------------------------------------------------------

def test_label_sets_have_the_published_classes():
    assert FACADES.num_classes == 12 and CITYSCAPES.num_classes == 19
    assert FACADES.class_names[0] == "background" and FACADES.class_names[11] == "shop"
    np.testing.assert_array_equal(FACADES.palette, CMP_PALETTE)
    assert CITYSCAPES.class_names[13] == "car" and tuple(CITYSCAPES.palette[13]) == (0, 0, 142)
    assert tuple(CITYSCAPES.palette[18]) == (119, 11, 32) and len(CITYSCAPES.void_colors) == 10
    assert get_label_set("cityscapes") is CITYSCAPES and set(LABEL_SETS) == {"facades", "cityscapes"}
    with pytest.raises(DataError, match="unknown label set 'cmp'.*facades, cityscapes"):
        get_label_set("cmp")


@pytest.mark.parametrize("label_set", [FACADES, CITYSCAPES], ids=lambda s: s.name)
def test_every_palette_colour_maps_to_its_id_and_back(label_set):
    ids = colors_to_ids(label_set.palette[None], label_set)
    np.testing.assert_array_equal(ids[0], np.arange(label_set.num_classes))
    assert ids.dtype == np.uint8
    np.testing.assert_array_equal(ids_to_colors(ids, label_set)[0], label_set.palette)


def test_cityscapes_void_colours_map_to_ignore():
    void = colors_to_ids(CITYSCAPES.void_colors[None], CITYSCAPES)
    np.testing.assert_array_equal(void, 255)
    pixels = np.array([[[0, 0, 0], [111, 74, 0], [4, 3, 6], [0, 0, 75], [0, 0, 80], [0, 0, 81]]],
                      np.uint8)
    # black and dynamic are void; noisy black too; (0,0,75) is nearest truck (0,0,70); (0,0,80)
    # ties truck with caravan (0,0,90) and goes to the class; (0,0,81) is nearer caravan (void).
    np.testing.assert_array_equal(colors_to_ids(pixels, CITYSCAPES)[0], [255, 255, 255, 14, 14, 255])
    np.testing.assert_array_equal(ids_to_colors(np.array([255, 13]), CITYSCAPES), [[0, 0, 0],
                                                                                    [0, 0, 142]])


@pytest.mark.parametrize("label_set", [FACADES, CITYSCAPES], ids=lambda s: s.name)
def test_nearest_colour_rule_equals_brute_force_on_any_colour(label_set):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)
    np.testing.assert_array_equal(colors_to_ids(rgb, label_set), _brute_force_ids(rgb, label_set))
    noisy = ids_to_colors(rng.integers(0, label_set.num_classes, (64, 64)), label_set).astype(int)
    noisy = np.clip(noisy + rng.integers(-30, 31, noisy.shape), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(colors_to_ids(noisy, label_set), _brute_force_ids(noisy, label_set))


@pytest.mark.parametrize("label_set", [FACADES, CITYSCAPES], ids=lambda s: s.name)
def test_jpeg_noisy_labels_map_back(label_set):
    """One 32x32 block per class at JPEG quality 50: chroma subsampling smears the block edges, but
    every block interior (8 px in) comes back exactly and over 95% of all pixels do."""
    k, cols = label_set.num_classes, 4
    ids = np.zeros((32 * -(-k // cols), 32 * cols), np.uint8)
    inner = np.zeros(ids.shape, bool)
    for c in range(k):
        y, x = 32 * (c // cols), 32 * (c % cols)
        ids[y:y + 32, x:x + 32] = c
        inner[y + 8:y + 24, x + 8:x + 24] = True
    got = colors_to_ids(_jpeg(ids_to_colors(ids, label_set)), label_set)
    np.testing.assert_array_equal(got[inner], ids[inner])
    assert (got == ids).mean() > 0.95


def test_synthetic_facade_label_round_trip_and_speed():
    ids = render_label(np.random.default_rng(3), 256)
    rgb = ids_to_colors(ids, FACADES)
    colors_to_ids(rgb, FACADES)  # the box table is built once per label set
    start = time.perf_counter()
    got = colors_to_ids(rgb, FACADES)
    assert time.perf_counter() - start < 0.1  # about 1 ms when the machine is idle
    np.testing.assert_array_equal(got, ids)


def test_real_facade_label_files_are_exact_palette_colours(real_facades):
    path = list_images(f"{real_facades}/testB")[0]
    rgb = np.asarray(decode_file(path))
    ids = colors_to_ids(rgb, FACADES)
    np.testing.assert_array_equal(ids_to_colors(ids, FACADES), rgb)
    assert len(np.unique(ids)) >= 3


def test_label_bad_inputs():
    with pytest.raises(DataError, match=r"RGB image \(\.\.\., 3\), got shape \(4, 4\)"):
        colors_to_ids(np.zeros((4, 4), np.uint8), FACADES)
    with pytest.raises(DataError, match="values in 0..255"):
        colors_to_ids(np.full((2, 2, 3), 300.0), FACADES)
    with pytest.raises(DataError, match=r"scale \[-1, 1\] or \[0, 1\] images to 0..255"):
        colors_to_ids(np.random.default_rng(0).uniform(-1, 1, (2, 2, 3)), FACADES)
    with pytest.raises(DataError, match="got \\[0.0, 1.0\\]"):
        colors_to_ids(np.eye(3)[None], FACADES)
    with pytest.raises(DataError, match=r"ids \[12\] are neither classes of facades \(0..11\)"):
        ids_to_colors(np.array([[0, 12]]), FACADES)
    with pytest.raises(DataError, match="integer ids"):
        ids_to_colors(np.zeros(3, np.float32), FACADES)
    np.testing.assert_array_equal(colors_to_ids(np.full((1, 1, 3), [0.2, 84.7, 255.0]), FACADES), 2)


# ---- FCN-score --------------------------------------------------------------------------------

def test_fcn_scores_of_a_hand_worked_example():
    """3 classes, class 2 absent from the ground truth, two ignored pixels, over two images.

        gt   0 0 0 1 1 | 255 255        confusion (rows gt, columns prediction)
        pred 0 0 2 1 0 |   2   1          [[2, 0, 1],
                                           [1, 1, 0],
                                           [0, 0, 0]]
    per-pixel = 3 / 5; per-class = mean(2/3, 1/2, 0) = 7/18;
    IoU: class 0 = 2 / (3 + 3 - 2) = 1/2, class 1 = 1 / (2 + 1 - 1) = 1/2, class 2 = 0 -> mean 1/3.
    """
    gt1, pred1 = np.array([[0, 0, 0], [1, 255, 255]]), np.array([[0, 0, 2], [1, 2, 1]])
    gt2, pred2 = np.array([[1]]), np.array([[0]])
    hist = confusion_matrix(gt1, pred1, 3) + confusion_matrix(gt2, pred2, 3)
    np.testing.assert_array_equal(hist, [[2, 0, 1], [1, 1, 0], [0, 0, 0]])
    assert hist.dtype == np.int64
    scores = fcn_scores(hist, ("a", "b", "c"))
    assert scores["per_pixel_acc"] == pytest.approx(3 / 5)
    assert scores["per_class_acc"] == pytest.approx(7 / 18)
    assert scores["class_iou"] == pytest.approx(1 / 3)
    assert scores["class_acc"] == pytest.approx([2 / 3, 1 / 2, 0])
    assert scores["class_ious"] == pytest.approx([1 / 2, 1 / 2, 0])
    assert scores["absent_classes"] == ["c"] and scores["num_pixels"] == 5
    assert scores["confusion"] == [[2, 0, 1], [1, 1, 0], [0, 0, 0]]
    import json
    assert json.loads(json.dumps(scores)) == scores


def test_fcn_scores_perfect_prediction_and_errors():
    gt = np.random.default_rng(0).integers(0, 4, (8, 8))
    scores = fcn_scores(confusion_matrix(gt, gt, 4), list("abcd"))
    assert [scores[k] for k in ("per_pixel_acc", "per_class_acc", "class_iou")] == pytest.approx(
        [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="differ in shape"):
        confusion_matrix(gt, gt[:4], 4)
    with pytest.raises(ValueError, match=r"prediction has ids \[7\] outside 0..3"):
        confusion_matrix(gt, np.full_like(gt, 7), 4)
    with pytest.raises(ValueError, match=r"ground truth has ids \[9\]"):
        confusion_matrix(np.full_like(gt, 9), gt, 4)
    with pytest.raises(ValueError, match="integer class ids"):
        confusion_matrix(gt.astype(float), gt, 4)
    with pytest.raises(ValueError, match="3 class names for a 4-class"):
        fcn_scores(np.eye(4, dtype=int), list("abc"))


# ---- inception score --------------------------------------------------------------------------

def _reference_is(probs, splits):
    """Straight from (8.20)-(8.21), one image and one class at a time."""
    n, scores = len(probs), []
    for i in range(splits):
        part = probs[i * n // splits:(i + 1) * n // splits]
        p_y = part.mean(0)
        kls = [sum(p * np.log(p / q) for p, q in zip(row, p_y) if p > 0) for row in part]
        scores.append(np.exp(np.mean(kls)))
    return np.mean(scores), np.std(scores)


def test_inception_score_of_known_tables():
    assert metrics.inception_score(np.full((20, 7), 1 / 7), splits=10) == pytest.approx((1.0, 0.0))
    one_hot = np.tile(np.eye(4), (6, 1))  # each split of 8 rows uses the 4 classes twice
    assert metrics.inception_score(one_hot, splits=3) == pytest.approx((4.0, 0.0))
    collapsed = np.tile(np.eye(4)[:1], (8, 1))  # mode collapse: one class for every image
    assert metrics.inception_score(collapsed, splits=2) == pytest.approx((1.0, 0.0))


def test_inception_score_against_a_numpy_reference():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(6, 0.3), size=23)  # 23 rows: uneven splits
    probs[0] = [1, 0, 0, 0, 0, 0]  # an exact zero (0 log 0)
    mean, std = metrics.inception_score(probs, splits=4)
    ref_mean, ref_std = _reference_is(probs, 4)
    assert mean == pytest.approx(ref_mean, rel=1e-10) and std == pytest.approx(ref_std, rel=1e-8)
    assert std > 0


def test_inception_score_refuses_bad_input():
    with pytest.raises(ValueError, match="probability distribution"):
        metrics.inception_score(np.random.default_rng(0).normal(size=(20, 5)), splits=2)
    with pytest.raises(ValueError, match="5 images cannot make 10 splits"):
        metrics.inception_score(np.full((5, 3), 1 / 3))


# ---- FID / KID --------------------------------------------------------------------------------

def test_frechet_distance_of_diagonal_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    s2[0] = s1[0] = 0.0  # singular covariances (a feature that never varies) still work
    closed = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    got = metrics.frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2))
    assert got == pytest.approx(closed, rel=1e-5)


def test_fid_of_samples():
    rng = np.random.default_rng(1)
    f1 = rng.normal(size=(4000, 3)) * [1.0, 2.0, 0.5]
    assert abs(metrics.fid(f1, f1)) < 1e-8
    f2 = rng.normal(size=(4000, 3)) * [2.0, 1.0, 0.5] + [1.0, 0.0, 0.0]
    closed = 1.0 + (1 + 4 - 4) + (4 + 1 - 4) + 0.0  # ||mu||^2 + sum(s1 + s2 - 2 sqrt(s1 s2))
    assert metrics.fid(f1, f2) == pytest.approx(closed, abs=0.15)
    with pytest.raises(ValueError, match="feature sizes differ"):
        metrics.fid(f1, f2[:, :2])
    with pytest.raises(ValueError, match="N >= 2"):
        metrics.fid(f1[:1], f2)


def test_kid_unbiased_mmd_against_a_double_loop():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)) + 0.5
    k = lambda a, b: (a @ b / 4 + 1) ** 3  # noqa: E731
    m = 6
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    # one subset of the whole set: a permutation, which MMD^2 does not see
    mean, std = metrics.kid(x, y, subsets=1, subset_size=1000)
    assert mean == pytest.approx(xx + yy - 2 * xy, rel=1e-10) and std == 0.0


def test_kid_is_near_zero_for_one_distribution_and_positive_for_shifted_ones():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(300, 16))
    same_mean, same_std = metrics.kid(a, b, subsets=20, subset_size=200)
    shifted_mean, _ = metrics.kid(a, b + 1.0, subsets=20, subset_size=200)
    assert abs(same_mean) < 0.02 and same_std > 0
    assert shifted_mean > 0.5
    assert metrics.kid(a, b, subsets=20, subset_size=200) == (same_mean, same_std)  # seeded


# ---- SSIM -------------------------------------------------------------------------------------

def _reference_ssim(a, b, data_range):
    """Gaussian-window SSIM (Wang et al.) with population statistics, per channel, 5-px border
    cropped like scikit-image, averaged over channels."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for ch in range(a.shape[-1]):
        f = lambda x: scipy.ndimage.gaussian_filter(x, 1.5, truncate=3.5)  # noqa: E731
        x, y = a[..., ch], b[..., ch]
        mx, my = f(x), f(y)
        vx, vy, cxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
        values.append(s[5:-5, 5:-5].mean())
    return np.mean(values)


def test_ssim_conventions():
    rng = np.random.default_rng(4)
    image = cv2.GaussianBlur(rng.integers(0, 256, (40, 32, 3)).astype(np.uint8), (5, 5), 1.5)
    assert metrics.ssim(image, image, 255) == pytest.approx(1.0)
    shifted = np.roll(image, 2, axis=1)
    value = metrics.ssim(image, shifted, 255)
    assert value < 0.9
    assert value == pytest.approx(_reference_ssim(image, shifted, 255), abs=1e-6)
    unit = lambda x: x.astype(np.float32) / 127.5 - 1  # noqa: E731
    assert metrics.ssim(unit(image), unit(shifted), 2.0) == pytest.approx(
        _reference_ssim(unit(image), unit(shifted), 2.0), abs=1e-5)
    pair = np.stack([image, shifted])
    assert metrics.mean_ssim(pair, pair[::-1], 255) == pytest.approx(value)
    with pytest.raises(ValueError, match="one shape"):
        metrics.ssim(image, image[:20], 255)
    with pytest.raises(ValueError, match="smaller than the 11x11 window"):
        metrics.ssim(image[:8], image[:8], 255)
    with pytest.raises(ValueError, match="equal, non-empty"):
        metrics.mean_ssim(pair, pair[:1], 255)
