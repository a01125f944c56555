"""FCN-score (thesis 8.1.4, Table 8.1): per-pixel accuracy, per-class accuracy and class IoU.

The numbers follow the evaluation script of pix2pix / CycleGAN (Cityscapes ``evaluate.py``): ONE
confusion matrix accumulated over the whole test set, then

    per-pixel accuracy = trace / total
    per-class accuracy = mean over all K classes of diag / (row sum + 1e-12)         (recall)
    class IoU          = mean over all K classes of diag / (row + column - diag + 1e-12)

with rows = ground truth and columns = prediction. Because of the 1e-12 and the plain mean, a class
that never occurs in the ground truth scores 0 for both (it is not left out of the mean);
``fcn_scores`` reports such classes in ``absent_classes`` so that a reader can tell. Ground-truth
pixels labelled ``ignore_id`` (Cityscapes void) are skipped; predictions must be class ids.
"""
import numpy as np

from evaluation.uncertainty import bootstrap

EPS = 1e-12  # as in the reference script


def confusion_matrix(gt_ids, pred_ids, num_classes, ignore_id=255):
    """(K, K) int64 counts, ``[i, j]`` = pixels of ground-truth class i predicted as class j.

    ``gt_ids`` and ``pred_ids`` are integer arrays of one shape (one image or a batch). Pixels whose
    ground truth is ``ignore_id`` are skipped. Sum the matrices of many images to score a test set.
    """
    gt, pred = np.asarray(gt_ids), np.asarray(pred_ids)
    if gt.shape != pred.shape:
        raise ValueError(f"confusion_matrix: ground truth {gt.shape} and prediction {pred.shape} "
                         "differ in shape")
    for what, a in (("ground truth", gt), ("prediction", pred)):
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"confusion_matrix: {what} must hold integer class ids, got {a.dtype}")
    keep = gt != ignore_id
    gt, pred = gt[keep].astype(np.int64), pred[keep].astype(np.int64)
    for what, a in (("ground truth", gt), ("prediction", pred)):
        bad = (a < 0) | (a >= num_classes)
        if bad.any():
            raise ValueError(f"confusion_matrix: {what} has ids {np.unique(a[bad])[:5].tolist()} "
                             f"outside 0..{num_classes - 1} (and not the ignore id {ignore_id})")
    counts = np.bincount(gt * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def fcn_scores(confusion, class_names):
    """The three FCN-score metrics of a confusion matrix, as a JSON-able dict.

    Keys: ``per_pixel_acc``, ``per_class_acc``, ``class_iou`` (the Table 8.1 columns, floats in
    [0, 1]); ``class_names``, ``class_acc`` and ``class_ious`` (per class, in id order);
    ``absent_classes`` (names of classes with no ground-truth pixel, each scoring 0 in both means);
    ``num_pixels`` (scored pixels); ``confusion`` (the matrix as nested lists, rows = ground truth).
    """
    hist = np.asarray(confusion, dtype=np.int64)
    if hist.ndim != 2 or hist.shape[0] != hist.shape[1]:
        raise ValueError(f"fcn_scores needs a square confusion matrix, got shape {hist.shape}")
    if len(class_names) != hist.shape[0]:
        raise ValueError(f"fcn_scores: {len(class_names)} class names for a "
                         f"{hist.shape[0]}-class confusion matrix")
    hist_f = hist.astype(np.float64)
    diag, rows, cols = np.diag(hist_f), hist_f.sum(1), hist_f.sum(0)
    class_acc = diag / (rows + EPS)
    class_iou = diag / (rows + cols - diag + EPS)
    return {
        "per_pixel_acc": float(diag.sum() / (hist_f.sum() + EPS)),
        "per_class_acc": float(class_acc.mean()),
        "class_iou": float(class_iou.mean()),
        "class_names": list(class_names),
        "class_acc": [float(v) for v in class_acc],
        "class_ious": [float(v) for v in class_iou],
        "absent_classes": [n for n, r in zip(class_names, rows) if r == 0],
        "num_pixels": int(hist.sum()),
        "confusion": hist.tolist(),
    }


METRICS = ("per_pixel_acc", "per_class_acc", "class_iou")


def fcn_metrics(confusion):
    """The three Table 8.1 numbers of a confusion matrix as a vector (the formulas of
    ``fcn_scores``, without its checks and lists: the bootstrap calls it a thousand times)."""
    hist = np.asarray(confusion, dtype=np.float64)
    diag, rows, cols = np.diag(hist), hist.sum(1), hist.sum(0)
    return np.array([diag.sum() / (hist.sum() + EPS), (diag / (rows + EPS)).mean(),
                     (diag / (rows + cols - diag + EPS)).mean()])


def fcn_intervals(image_confusions, **bootstrap_args):
    """{metric: interval} of the three numbers: resampled test images, each resample scored from
    the sum of its images' confusion matrices (``evaluation.uncertainty.bootstrap``)."""
    return bootstrap(np.asarray(image_confusions, np.int64),
                     lambda c: dict(zip(METRICS, fcn_metrics(c.sum(0)))), **bootstrap_args)
