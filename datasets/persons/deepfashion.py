"""The DeepFashion layout of pose-transfer work, read into a checked ``PersonSet``.

Layout under ``root``: images in ``train/`` and ``test/``; keypoints in
``fasion-annotation-{split}.csv`` (sic, the published name); pairs of the same person in the same
clothes in ``fashion-pairs-{split}.csv``; optionally LIP parsing maps ``parsing/{split}/<stem>.png``
(ids 0..19, the image's height and width). Without the parsing folder the coarse segmentation is
approximated from keypoints (``parsing.coarse_from_keypoints``) and the set says so.

Frames. Everything downstream works in the 256x256 frame. An image is 256x256, or the 256x176
(height x width) central crop of that frame that PATN-style copies store; such an image is padded
back by 40 columns on each side, replicating its edge columns. Keypoint CSVs come in the 256 frame
(the common files) or in the crop frame (x - 40). Rule, per CSV: if no image of the split is 176
wide, the CSV is in the 256 frame. Otherwise it is in the crop frame when every present x is below
176 (a crop-frame x cannot be larger) and the mean present x is below 108, the midpoint between
the crop's centre column (88) and the frame's (128), where people stand centred; its x are then
shifted by +40. A keypoint outside the 256 frame after that is an error.

Images the split folder holds without a keypoint row are left out; rows without an image are
ignored unless a pair names that image. Pairs where either image has no present joint are dropped
with a counted warning (619 rows of the common test file have none; its pairs never name them).
Such images stay in the set (``PersonSet.posed`` lists the others).
"""
import concurrent.futures
import dataclasses
import hashlib
import json
import os

from absl import logging
import numpy as np
from PIL import Image

from datasets.files import DataError, list_images, scan_images
from datasets.persons import keypoints as kp
from datasets.persons.parsing import coarse_from_lip

SPLITS = ("train", "test")
FRAME = 256
CROP_WIDTH = 176
CROP_OFFSET = (FRAME - CROP_WIDTH) // 2  # 40
ACCEPTED_SIZES = ((FRAME, FRAME), (FRAME, CROP_WIDTH))
CROP_MEAN_X_THRESHOLD = (CROP_WIDTH / 2 + FRAME / 2) / 2  # 108


def annotation_file(root, split):
    return os.path.join(root, f"fasion-annotation-{split}.csv")


def pairs_file(root, split):
    return os.path.join(root, f"fashion-pairs-{split}.csv")


def parsing_dir(root, split):
    return os.path.join(root, "parsing", split)


@dataclasses.dataclass(frozen=True, eq=False)
class PersonSet:
    """One split: images, keypoints in the 256 frame, pairs as (i, j) indices into ``names``."""

    root: str
    split: str
    names: tuple
    paths: tuple
    keypoints: np.ndarray  # (N, 18, 2) int32 (y, x) in the 256 frame, -1 = missing
    pairs: np.ndarray  # (P, 2) int32
    widths: tuple  # per image: 256, or 176 for a crop padded back into the frame
    parsing_paths: tuple  # per image, or None: segmentation approximated from keypoints
    approximate_segmentation: bool
    keypoint_frame: str  # "full" or "crop": the frame the CSV was written in
    pairs_source: str | None = None  # the pairs CSV read, when not the split's own (a selection)

    def __repr__(self):
        return (f"PersonSet(root={self.root!r}, split={self.split!r}, images={self.num_images}, "
                f"pairs={self.num_pairs}, keypoint_frame={self.keypoint_frame!r}, "
                f"approximate_segmentation={self.approximate_segmentation})")

    @property
    def num_images(self):
        return len(self.names)

    @property
    def num_pairs(self):
        return len(self.pairs)

    def posed(self):
        """Indices of the images with at least one present joint."""
        return np.flatnonzero((self.keypoints >= 0).all(-1).any(-1))

    def fingerprint(self):
        """Counts and a sha256 over sorted (path relative to root, size) of every file used."""
        files = list(self.paths) + [annotation_file(self.root, self.split),
                                    self.pairs_source or pairs_file(self.root, self.split)]
        files += list(self.parsing_paths or ())
        listing = sorted((os.path.relpath(f, self.root).replace(os.sep, "/"), os.path.getsize(f))
                         for f in files)
        digest = hashlib.sha256(json.dumps(listing).encode()).hexdigest()
        return {"split": self.split, "images": self.num_images, "pairs": self.num_pairs,
                "approximate_segmentation": self.approximate_segmentation, "sha256": digest}


def frame_columns(width, flip=False):
    """Source column of each of the 256 frame columns for an image ``width`` wide: a crop is
    centred and its edge columns repeated; ``flip`` mirrors the frame."""
    offset = (FRAME - width) // 2
    cols = np.clip(np.arange(FRAME) - offset, 0, width - 1)
    return cols[::-1].copy() if flip else cols


def read_parsing(path):
    """2-D integer array of LIP ids from a label PNG (grey or palette indices)."""
    try:
        with Image.open(path) as image:
            labels = np.asarray(image)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read the parsing map ({e})") from e
    if labels.ndim == 3 and labels.shape[2] in (3, 4) and (labels[..., :3] == labels[..., :1]).all():
        labels = labels[..., 0]  # grey stored as RGB
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: a parsing map must hold one LIP id (0..19) per pixel, got an "
                        f"array of shape {labels.shape} and type {labels.dtype}")
    return labels


def detect_keypoint_frame(xs, has_crops):
    """'crop' or 'full' for the present x coordinates of one CSV (rule in the module docstring)."""
    xs = np.asarray(xs)
    if not has_crops or xs.size == 0 or xs.max() >= CROP_WIDTH:
        return "full"
    return "crop" if xs.mean() < CROP_MEAN_X_THRESHOLD else "full"


def _shape_check(path, shape):
    if tuple(shape[:2]) in ACCEPTED_SIZES:
        return None
    accepted = " or ".join(f"{h}x{w}" for h, w in ACCEPTED_SIZES)
    return f"image size {shape[0]}x{shape[1]} (HxW); accepted: {accepted} (the 176-wide crop of the 256 frame)"


def _check_parsing(path, shape):
    if not os.path.isfile(path):
        raise DataError(f"{path}: parsing map missing (the parsing folder exists, so every image "
                        "needs one)")
    labels = read_parsing(path)
    if labels.shape != tuple(shape[:2]):
        raise DataError(f"{path}: parsing map is {labels.shape[0]}x{labels.shape[1]}, its image "
                        f"is {shape[0]}x{shape[1]}; they must match")
    coarse_from_lip(labels, where=path)


def _resolve_pairs(pairs, lines, index, where):
    """Pairs of names -> (P, 2) indices; a name with no image is an error naming the line."""
    out = np.zeros((len(pairs), 2), np.int32)
    for k, ((a, b), line) in enumerate(zip(pairs, lines)):
        for side, name in enumerate((a, b)):
            if name not in index:
                raise DataError(f"{where}:{line}: {name} is not an image of this split")
            out[k, side] = index[name]
    return out


def usable_pairs(pairs, keypoints):
    """Boolean (P,): both images of the pair have at least one present joint."""
    posed = (np.asarray(keypoints) >= 0).all(-1).any(-1)
    return posed[pairs[:, 0]] & posed[pairs[:, 1]] if len(pairs) else np.zeros(0, bool)


def load_person_set(root, split, *, skip_corrupt_images=False, names=None, pairs_path=None):
    """Reads and checks one split of the layout; DataError names the file (and CSV line).

    ``names`` (a set of image names) restricts the split to those images and ``pairs_path``
    replaces its pairs CSV: how a selection (``selection.py``) is read. A named image that is
    not in the split's folder is an error naming the pairs CSV."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}, got {split!r}")
    folder = os.path.join(root, split)
    files = list_images(folder)
    ann_path, own_pairs = annotation_file(root, split), pairs_file(root, split)
    pairs_path = pairs_path or own_pairs
    if names is not None:
        found = {os.path.basename(p) for p in files}
        absent = sorted(set(names) - found)
        if absent:
            raise DataError(f"{pairs_path}: {len(absent)} selected image(s) not found in "
                            f"{folder}, e.g. {absent[0]}")
        files = [p for p in files if os.path.basename(p) in names]
    for path in (ann_path, pairs_path):
        if not os.path.isfile(path):
            raise DataError(f"{path}: file not found (layout: {split}/, "
                            f"{os.path.basename(ann_path)}, {os.path.basename(pairs_path)})")
    annotations, ann_lines = kp.read_annotations(ann_path, with_lines=True)
    pair_names, pair_lines = kp.read_pairs(pairs_path, with_lines=True)
    on_disk = {os.path.basename(p): p for p in files}
    for (a, b), line in zip(pair_names, pair_lines):
        for name in (a, b):
            if name not in on_disk:
                raise DataError(f"{pairs_path}:{line}: {name} not found in {folder}")
            if name not in annotations:
                raise DataError(f"{pairs_path}:{line}: {name} has no keypoint row in {ann_path}")
    unannotated = len(files) - sum(1 for n in on_disk if n in annotations)
    if unannotated:
        logging.warning("%s: %d images without a keypoint row in %s are left out",
                        folder, unannotated, ann_path)
    candidates = [on_disk[n] for n in sorted(on_disk) if n in annotations]
    if not candidates:
        raise DataError(f"{folder}: none of its images has a keypoint row in {ann_path}")
    paths, shapes = scan_images(candidates, skip_corrupt=skip_corrupt_images,
                                check_shape=_shape_check)
    names = tuple(os.path.basename(p) for p in paths)
    widths = tuple(int(s[1]) for s in shapes)
    keypoints = np.stack([annotations[n] for n in names]).astype(np.int32)
    ok = (keypoints >= 0).all(-1)
    frame = detect_keypoint_frame(keypoints[..., 1][ok], CROP_WIDTH in widths)
    if frame == "crop":
        keypoints[..., 1][ok] += CROP_OFFSET
    outside = ok & ((keypoints >= FRAME).any(-1))
    if outside.any():
        i, j = np.argwhere(outside)[0]
        raise DataError(f"{ann_path}:{ann_lines[names[i]]}: {names[i]} joint {kp.JOINTS[j]} at "
                        f"(y, x) = {tuple(keypoints[i, j])} lies outside the {FRAME}x{FRAME} frame "
                        f"(CSV read in the {frame} frame)")
    keypoints.setflags(write=False)

    index = {n: i for i, n in enumerate(names)}
    decodable = [k for k, (a, b) in enumerate(pair_names) if a in index and b in index]
    if len(decodable) < len(pair_names):
        logging.warning("%s: dropped %d of %d pairs naming undecodable images", pairs_path,
                        len(pair_names) - len(decodable), len(pair_names))
    pairs = _resolve_pairs([pair_names[k] for k in decodable], [pair_lines[k] for k in decodable],
                           index, pairs_path)
    keep = usable_pairs(pairs, keypoints)
    if not keep.all():
        logging.warning("%s: dropped %d of %d pairs where an image has no annotated joint",
                        pairs_path, int((~keep).sum()), len(pairs))
    pairs = pairs[keep]
    pairs.setflags(write=False)
    if not len(pairs):
        raise DataError(f"{pairs_path}: no usable pairs in split {split!r} (each pair needs two "
                        "decodable images with at least one annotated joint)")

    parsing_folder = parsing_dir(root, split)
    parsing_paths = None
    if os.path.isdir(parsing_folder):
        parsing_paths = tuple(os.path.join(parsing_folder, os.path.splitext(n)[0] + ".png")
                              for n in names)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(_check_parsing, parsing_paths, shapes))
    else:
        logging.warning("%s not found: the segmentation, mask and head maps of split %r are "
                        "approximated from keypoints", parsing_folder, split)
    return PersonSet(root=root, split=split, names=names, paths=tuple(paths), keypoints=keypoints,
                     pairs=pairs, widths=widths, parsing_paths=parsing_paths,
                     approximate_segmentation=parsing_paths is None, keypoint_frame=frame,
                     pairs_source=None if pairs_path == own_pairs else pairs_path)
