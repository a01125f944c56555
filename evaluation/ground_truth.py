"""The ground truth of Tables 8.2 and 8.3 (beyond the thesis): each protocol pair's true swap.

On the synthetic persons the result of "reference r wearing condition c's clothes" can be rendered
(``datasets.persons.synthetic_target``): r's body, pose, head and background with c's garments.
``GroundTruth`` renders it for every protocol pair and brings it to the method's size as any test
image is (``person_example``: antialiased bicubic, then 8 bits). The outputs that are such a swap
(``TRUTH_OUTPUTS``: a baseline's image, SwapGAN's X_GI with H_r pasted) are compared with it by
``metrics.masked_scores``, 8-bit against 8-bit, over ``TRUTH_MASK``: SSIM (the SSIM map's mean),
PSNR (capped at ``metrics.PSNR_CAP``) and L1 (mean |difference| / 255). Per-pair values are kept
so that intervals can be drawn over pairs. DeepFashion has no such image: ``ground_truth`` says so.

The tables' GT columns are built here too (``truth_cells``, ``truth_csv``, ``truth_note``).
"""
import concurrent.futures
import os

import numpy as np

from datasets.persons.pipeline import person_example
from datasets.persons.synthetic_target import SwapTargets
from evaluation import metrics
from training.summaries import to_uint8

TRUTH_OUTPUTS = ("image", "x_gi_pasted")  # the outputs that are the reference in c's clothes
TRUTH_METRICS = ("ssim", "psnr", "l1")
DATA_RANGE = 255
# Where the target or the reference shows the person: clothes a method leaves outside the target's
# silhouette count as errors too; the background, equal in both, would only dilute the scores.
TRUTH_MASK = "target or reference person mask"
NO_TRUTH = ("DeepFashion has no image of a reference wearing another person's clothes; the "
            "ground truth exists only for the synthetic persons (--dataset=synthetic)")
TRUTH_HEAD = ("GT SSIM (in-mask)", "GT PSNR dB (in-mask)", "GT L1 (in-mask)")
TRUTH_CSV = ("gt_ssim", "gt_ssim_lo", "gt_ssim_hi", "gt_psnr", "gt_psnr_lo", "gt_psnr_hi", "gt_l1",
             "gt_l1_lo", "gt_l1_hi", "gt_pairs")
# Targets kept in memory, so that the methods of one table render each pair once (the small
# preset's 5,000 pairs at 64 px take 80 MB); beyond it, targets are rendered again.
CACHE_BYTES = 256 * 2 ** 20


def ground_truth(dataset, test):
    """(GroundTruth, None) for the synthetic persons, else (None, the reason there is none)."""
    if dataset != "synthetic":
        return None, NO_TRUTH
    return GroundTruth(test), None


class GroundTruth:
    """The swap targets of a synthetic test PersonSet, checked once against a stored image so that
    they are targets of the same people; the first CACHE_BYTES of them are kept."""

    def __init__(self, test):
        self.test, self.targets = test, SwapTargets(test.root, test.split)
        self.targets.verify(test.names[0])
        self.provenance = {**self.targets.provenance(), "mask": TRUTH_MASK,
                           "metrics": f"masked SSIM, PSNR (cap {metrics.PSNR_CAP:g} dB), L1 / 255; "
                                      "8-bit"}
        self.cache, self.cached_bytes = {}, 0

    def _one(self, pair, image_size):
        image, lip, points = self.targets.render(*(self.test.names[int(i)] for i in pair))
        out = person_example(image, points, lip, image_size=image_size)
        return to_uint8(out["x"]), out["m"] > 0.5

    def batch(self, pairs, image_size, workers=None):
        """(targets uint8 (N, S, S, 3), person masks float32 (N, S, S, 1)) of (N, 2) (reference,
        condition) test-image indices."""
        keys = [(image_size, int(r), int(c)) for r, c in pairs]
        found = {k: self.cache[k] for k in keys if k in self.cache}
        missing = sorted(set(keys) - set(found))
        if missing:
            workers = workers or min(8, os.cpu_count() or 1)
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                found.update(zip(missing, pool.map(lambda k: self._one(k[1:], image_size), missing)))
            for k in missing:
                size = found[k][0].nbytes + found[k][1].nbytes
                if self.cached_bytes + size <= CACHE_BYTES:
                    self.cache[k], self.cached_bytes = found[k], self.cached_bytes + size
        return (np.stack([found[k][0] for k in keys]),
                np.stack([found[k][1] for k in keys]).astype(np.float32))

    def compared(self, pairs, image_size, reference_masks):
        """(targets, TRUTH_MASK as bool (N, S, S, 1)) of a batch of pairs, given the references'
        person masks M_r."""
        targets, masks = self.batch(pairs, image_size)
        return targets, (masks > 0.5) | (np.asarray(reference_masks) > 0.5)


class Scores:
    """One output's per-pair scores against the ground truth, batch by batch."""

    def __init__(self):
        self.values = {k: [] for k in TRUTH_METRICS}

    def add(self, images, targets, masks):
        """uint8 ``images`` and ``targets`` (N, S, S, 3), bool ``masks`` (N, S, S, 1)."""
        for image, target, mask in zip(images, targets, masks):
            for k, v in metrics.masked_scores(image, target, mask, DATA_RANGE).items():
                self.values[k].append(v)

    def result(self):
        """{ssim, psnr, l1 (means), pairs, mask, per_pair: {metric: list}}."""
        out = {k: float(np.mean(self.values[k])) for k in TRUTH_METRICS}
        return {**out, "pairs": len(self.values["ssim"]), "mask": TRUTH_MASK,
                "per_pair": {k: [float(v) for v in self.values[k]] for k in TRUTH_METRICS}}


# --- the tables' GT columns ----------------------------------------------------------------------

def flat(scores):
    """An output's scores with its ground truth as flat keys: ``gt_<metric>`` (the mean over pairs),
    ``gt_<metric>_per_pair`` (the list, in pair order) and ``gt_pairs``, so that bootstrap intervals
    and means over seeds (``evaluation.uncertainty``) treat them as any other per-pair metric."""
    truth = (scores or {}).get("ground_truth")
    if not truth:
        return scores
    out = {k: v for k, v in scores.items() if k != "ground_truth"}
    for metric in TRUTH_METRICS:
        out[f"gt_{metric}"] = truth[metric]
        out[f"gt_{metric}_per_pair"] = truth["per_pair"][metric]
    out["gt_pairs"] = truth["pairs"]
    return out


def summary(scores):
    """An output's scores without the per-pair ground-truth lists (they stay in the score file)."""
    if not scores or "ground_truth" not in scores:
        return scores
    return {**scores, "ground_truth": {k: v for k, v in scores["ground_truth"].items()
                                       if k != "per_pair"}}


DIGITS = {"ssim": 3, "psnr": 2, "l1": 4}


def truth_cells(table, ours, intervals=None, std=None):
    """The GT SSIM, PSNR and L1 cells of a row's flat numbers (``flat``): the mean, with its 95%
    interval (one seed) or ± its std over seeds; '-' without a run, 'n/a' without ground truth."""
    if ours is None:
        return ["-"] * 3
    if not table["ground_truth"]["available"] or ours.get("gt_ssim") is None:
        return ["n/a"] * 3
    cells = []
    for metric in TRUTH_METRICS:
        key, digits = f"gt_{metric}", DIGITS[metric]
        cell = f"{ours[key]:.{digits}f}"
        ci = (intervals or {}).get(key)
        if ci:
            cell += f" [{ci['lo']:.{digits}f}, {ci['hi']:.{digits}f}]"
        elif (std or {}).get(key) is not None:
            cell += f" ± {std[key]:.{digits}f}"
        cells.append(cell)
    return cells


def truth_csv(ours, intervals=None):
    """The TRUTH_CSV values of a row's flat numbers ('' where there are none)."""
    ours, intervals = ours or {}, intervals or {}
    values = []
    for metric in TRUTH_METRICS:
        key = f"gt_{metric}"
        ci = intervals.get(key) or {}
        values += ["" if ours.get(key) is None else f"{ours[key]:.6g}",
                   "" if ci.get("lo") is None else f"{ci['lo']:.6g}",
                   "" if ci.get("hi") is None else f"{ci['hi']:.6g}"]
    return values + ["" if ours.get("gt_pairs") is None else str(ours["gt_pairs"])]


def truth_note(table):
    """What the GT columns are, or why they are n/a (one Markdown line)."""
    info = table["ground_truth"]
    if not info["available"]:
        return f"GT columns: n/a: {info['reason']}."
    return ("GT columns (beyond the thesis): each pair's output against its ground truth, the "
            "synthetic reference rendered wearing the condition's garments, at the method's size "
            f"in 8 bits, over the {info['mask']}: SSIM (mean of the SSIM map), PSNR (capped at "
            f"{metrics.PSNR_CAP:g} dB) and L1 (mean |difference| / 255); means over pairs, the "
            "per-pair values in the score files.")
