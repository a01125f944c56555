"""The bootstrap, paired comparisons, seed summaries and verdicts on cases worked out by hand."""
import numpy as np
import pytest

from evaluation import uncertainty as u
from evaluation.metrics import inception_score
from evaluation.scores import fcn_intervals, fcn_metrics, fcn_scores


def test_constant_items_give_a_zero_width_interval_at_the_value():
    assert u.mean_interval([0.7] * 20) == {"value": pytest.approx(0.7), "lo": pytest.approx(0.7),
                                           "hi": pytest.approx(0.7)}
    one = u.bootstrap(np.array([3.0]), np.sum)  # a single item: every resample is that item
    assert one == {"value": 3.0, "lo": 3.0, "hi": 3.0}


def test_the_mean_of_known_data_and_an_interval_that_covers_it():
    values = np.arange(10, dtype=np.float64)  # mean 4.5, sd of the mean ~ 0.91
    interval = u.mean_interval(values)
    assert interval["value"] == 4.5
    assert interval["lo"] < 4.5 < interval["hi"]
    # percentile bootstrap of a mean: about mean ± 1.96 * sd / sqrt(n), sd the population sd
    half = 1.96 * values.std() / np.sqrt(len(values))
    assert interval["lo"] == pytest.approx(4.5 - half, abs=0.25)
    assert interval["hi"] == pytest.approx(4.5 + half, abs=0.25)
    wider = u.mean_interval(values, level=0.99)
    assert wider["lo"] <= interval["lo"] and wider["hi"] >= interval["hi"]


def test_draws_are_seeded_and_depend_only_on_n_resamples_and_seed():
    first = u.resample_indices(5, 3, seed=0)
    assert first.shape == (3, 5) and first.min() >= 0 and first.max() <= 4
    np.testing.assert_array_equal(first, u.resample_indices(5, 3, seed=0))
    assert not np.array_equal(first, u.resample_indices(5, 3, seed=1))
    data = np.random.default_rng(7).normal(size=30)
    assert u.mean_interval(data, seed=3) == u.mean_interval(data, seed=3)
    assert u.mean_interval(data, seed=3) != u.mean_interval(data, seed=4)
    # the percentiles of the statistic over exactly these resamples
    index = u.resample_indices(30, 200, seed=5)
    means = data[index].mean(1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    assert u.mean_interval(data, resamples=200, seed=5) == {
        "value": pytest.approx(data.mean()), "lo": pytest.approx(lo), "hi": pytest.approx(hi)}


def test_paired_difference_of_identical_rows_is_zero_and_of_shifted_rows_the_shift():
    data = np.random.default_rng(1).uniform(size=40)
    assert u.difference(data, data, np.mean) == {"value": 0.0, "lo": 0.0, "hi": 0.0}
    shifted = u.difference(data + 0.1, data, np.mean)  # paired: the item noise cancels
    assert shifted == {"value": pytest.approx(0.1), "lo": pytest.approx(0.1),
                       "hi": pytest.approx(0.1)}
    unpaired_width = u.mean_interval(data)["hi"] - u.mean_interval(data)["lo"]
    assert unpaired_width > 0.1
    with pytest.raises(ValueError, match="the rows hold 40 and 39 items"):
        u.difference(data, data[1:], np.mean)


def test_dict_statistics_and_several_arrays_per_item():
    hits = np.array([1, 0, 1, 1, 0, 1, 1, 1], np.float64)
    weights = np.array([1, 2, 1, 1, 2, 1, 1, 1], np.float64)
    result = u.bootstrap((hits, weights), lambda h, w: {"rate": h.mean(), "weighted": (h * w).sum()
                                                        / w.sum()})
    assert result["rate"]["value"] == 0.75 and result["weighted"]["value"] == 0.6
    assert result["rate"]["lo"] < 0.75 < result["rate"]["hi"]
    with pytest.raises(ValueError, match="one length"):
        u.bootstrap((hits, weights[:3]), np.mean)


def test_seed_summaries_verdicts_and_texts():
    assert u.over_seeds([0.4, 0.5, 0.6]) == {"mean": pytest.approx(0.5), "std": pytest.approx(0.1),
                                             "n": 3}
    assert u.over_seeds([0.4]) == {"mean": 0.4, "std": None, "n": 1}
    assert u.over_seeds([None]) == {"mean": None, "std": None, "n": 0}
    assert u.verdict({"value": 0.1, "lo": 0.02, "hi": 0.2}) == "holds"
    assert u.verdict({"value": -0.1, "lo": -0.2, "hi": -0.01}) == "reversed"
    assert u.verdict({"value": 0.1, "lo": -0.02, "hi": 0.2}) == "undecided"
    assert u.overall_verdict(["holds", "holds"]) == "holds"
    assert u.overall_verdict(["holds", "undecided"]) == "undecided"
    assert u.overall_verdict(["reversed"] * 3) == "reversed"
    assert u.overall_verdict([]) == "undecided"
    assert u.text({"value": 0.434, "lo": 0.401, "hi": 0.466}) == "0.43 [0.40, 0.47]"
    assert u.signed({"value": 0.03, "lo": -0.01, "hi": 0.05}) == "+0.03 [-0.01, +0.05]"
    assert u.seeds_text(u.over_seeds([0.4, 0.5, 0.6])) == "0.50 ± 0.10 (3 seeds)"
    assert u.seeds_text(u.over_seeds([0.4])) == "0.40"


def test_an_ordering_seed_by_seed():
    rng = np.random.default_rng(2)
    low = [rng.uniform(size=50) for _ in range(3)]
    high = [x + 0.5 for x in low[:2]] + [low[2] - 0.5]  # holds in two seeds, reversed in one
    result = u.ordering(low, high, np.mean)
    assert [s["verdict"] for s in result["seeds"]] == ["holds", "holds", "reversed"]
    assert result["holds_in"] == 2 and result["verdict"] == "undecided"
    assert result["mean"]["mean"] == pytest.approx(0.5 / 3)
    same = u.ordering(low[:1], low[:1], np.mean)
    assert same["verdict"] == "undecided" and same["seeds"][0]["value"] == 0.0


def test_per_pair_intervals_name_every_per_pair_metric():
    scores = {"ssim": 0.5, "ssim_per_pair": [0.5] * 4, "psnr_per_pair": [20.0, 22.0], "images": 4}
    intervals = u.per_pair_intervals(scores)
    assert set(intervals) == {"ssim", "psnr"} and intervals["ssim"]["lo"] == pytest.approx(0.5)
    assert intervals["psnr"]["value"] == 21.0 and 20.0 <= intervals["psnr"]["lo"] <= 21.0


def test_fcn_intervals_recompute_from_the_summed_confusion_of_resampled_images():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 50, size=(12, 3, 3))  # 12 per-image confusion matrices, 3 classes
    total = fcn_scores(images.sum(0), list("abc"))
    intervals = fcn_intervals(images)
    for metric in ("per_pixel_acc", "per_class_acc", "class_iou"):
        assert intervals[metric]["value"] == pytest.approx(total[metric])
        assert intervals[metric]["lo"] <= total[metric] <= intervals[metric]["hi"]
    np.testing.assert_allclose(fcn_metrics(images.sum(0)), [
        total["per_pixel_acc"], total["per_class_acc"], total["class_iou"]])
    # one resample by hand: the metrics of the summed matrix of the drawn images
    index = u.resample_indices(12, 1, seed=0)[0]
    one = fcn_intervals(images, resamples=1)
    drawn = fcn_scores(images[index].sum(0), list("abc"))
    assert one["class_iou"]["lo"] == pytest.approx(drawn["class_iou"])
    perfect = np.stack([np.diag(rng.integers(1, 9, 3)) for _ in range(5)])  # every pixel right
    assert fcn_intervals(perfect)["per_pixel_acc"] == {"value": pytest.approx(1.0),
                                                        "lo": pytest.approx(1.0),
                                                        "hi": pytest.approx(1.0)}


def test_the_inception_score_interval_has_the_point_of_the_published_formula():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(60, 7)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    interval = u.inception_score_interval(probs, splits=3, resamples=300)
    assert interval["value"] == pytest.approx(inception_score(probs, splits=3)[0], rel=1e-12)
    assert 1.0 < interval["lo"] < interval["value"] < interval["hi"] < 7.0
    assert interval == u.inception_score_interval(probs, splits=3, resamples=300, block=7)
    same = np.tile(probs[:1], (20, 1))  # one image repeated: every resample is the same set, IS 1
    assert u.inception_score_interval(same, splits=2) == {
        "value": pytest.approx(1.0), "lo": pytest.approx(1.0), "hi": pytest.approx(1.0)}
    # one-hot rows of K classes, each class once per chunk: IS K, and a resample can only lose
    one_hot = np.tile(np.eye(5), (4, 1))
    result = u.inception_score_interval(one_hot, splits=4, resamples=200)
    assert result["value"] == pytest.approx(5.0) and 1.0 < result["lo"] < result["hi"] < 5.0
