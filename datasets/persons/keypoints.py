"""OpenPose COCO-18 keypoints and the DeepFashion annotation / pair files of pose-transfer work.

Keypoints are int32 arrays of shape (18, 2) holding (row, column) = (y, x) in pixels, -1 for a
missing joint, in the order of ``JOINTS``. The annotation CSV of pose-transfer work is
``name:keypoints_y:keypoints_x`` with ':' separating three fields and each list written as
``[y0, y1, ...]``; the pairs CSV is ``from,to``.
"""
import csv
import json

import numpy as np

from datasets.files import DataError

JOINTS = ("nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
          "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear",
          "l_ear")
(NOSE, NECK, R_SHOULDER, R_ELBOW, R_WRIST, L_SHOULDER, L_ELBOW, L_WRIST, R_HIP, R_KNEE, R_ANKLE,
 L_HIP, L_KNEE, L_ANKLE, R_EYE, L_EYE, R_EAR, L_EAR) = range(18)
NUM_JOINTS = len(JOINTS)
# Limb i joins LIMBS[i]; OpenPose renders the first 17 and skips the two ear-shoulder limbs.
LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
         (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17))
RENDERED_LIMBS = LIMBS[:17]
# Joint i and limb i share colour i. OpenPose's demo canvas was BGR; we treat the triplets as RGB,
# as most pose-transfer code does.
COLORS = np.array([[255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0],
                   [85, 255, 0], [0, 255, 0], [0, 255, 85], [0, 255, 170], [0, 255, 255],
                   [0, 170, 255], [0, 85, 255], [0, 0, 255], [85, 0, 255], [170, 0, 255],
                   [255, 0, 255], [255, 0, 170], [255, 0, 85]], dtype=np.uint8)
# Mirroring an image swaps the person's left and right: joint i becomes FLIP[i].
FLIP = (NOSE, NECK, L_SHOULDER, L_ELBOW, L_WRIST, R_SHOULDER, R_ELBOW, R_WRIST, L_HIP, L_KNEE,
        L_ANKLE, R_HIP, R_KNEE, R_ANKLE, L_EYE, R_EYE, L_EAR, R_EAR)
MISSING = -1

ANNOTATION_HEADER = "name:keypoints_y:keypoints_x"
PAIRS_HEADER = ("from", "to")


def _int_list(text, where):
    try:
        values = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{where}: not a list of integers ({e.msg})") from e
    if (not isinstance(values, list) or len(values) != NUM_JOINTS
            or not all(isinstance(v, int) for v in values)):
        raise DataError(f"{where}: expected a list of {NUM_JOINTS} integers, got {text.strip()[:60]!r}")
    return values


def parse_annotation_line(line, where):
    """'name: [y...]: [x...]' -> (name, (18, 2) int32 keypoints)."""
    parts = line.rstrip("\r\n").split(":")
    if len(parts) != 3:
        raise DataError(f"{where}: expected 'name: [y, ...]: [x, ...]' ({ANNOTATION_HEADER}), "
                        f"got {line.strip()[:80]!r}")
    name = parts[0].strip()
    if not name:
        raise DataError(f"{where}: empty image name")
    ys, xs = _int_list(parts[1], where), _int_list(parts[2], where)
    keypoints = np.array([ys, xs], dtype=np.int32).T
    missing = (keypoints[:, 0] < 0) | (keypoints[:, 1] < 0)
    keypoints[missing] = MISSING  # one coordinate missing means the joint is missing
    return name, keypoints


def read_annotations(path, with_lines=False):
    """{image name: (18, 2) int32 (y, x) keypoints} from an annotation CSV; errors name file:line.
    With ``with_lines`` also {image name: line number} for later messages."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except OSError as e:
        raise DataError(f"{path}: cannot read the annotation file ({e.strerror})") from e
    if not lines or lines[0].strip().replace(" ", "") != ANNOTATION_HEADER:
        raise DataError(f"{path}: first line must be the header {ANNOTATION_HEADER!r}")
    out, numbers = {}, {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        name, keypoints = parse_annotation_line(line, f"{path}:{number}")
        if name in out:
            raise DataError(f"{path}:{number}: {name} is annotated twice")
        out[name] = keypoints
        numbers[name] = number
    return (out, numbers) if with_lines else out


def write_annotations(path, annotations):
    """The inverse of read_annotations (rows in the given order)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(ANNOTATION_HEADER + "\n")
        for name, kp in annotations.items():
            kp = np.asarray(kp, dtype=np.int64)
            f.write(f"{name}: {kp[:, 0].tolist()}: {kp[:, 1].tolist()}\n")


def read_pairs(path, with_lines=False):
    """[(from, to), ...] from a pairs CSV; errors name file:line. With ``with_lines`` also the
    line number of each pair."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise DataError(f"{path}: cannot read the pairs file ({e.strerror})") from e
    if not rows or tuple(c.strip() for c in rows[0]) != PAIRS_HEADER:
        raise DataError(f"{path}: first line must be the header 'from,to'")
    pairs, numbers = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise DataError(f"{path}:{number}: expected 'from,to', got {','.join(row)[:80]!r}")
        pairs.append((row[0].strip(), row[1].strip()))
        numbers.append(number)
    return (pairs, numbers) if with_lines else pairs


def write_pairs(path, pairs):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(PAIRS_HEADER)
        writer.writerows(pairs)


def present(keypoints):
    """Boolean (18,) mask of the joints that are annotated."""
    keypoints = np.asarray(keypoints)
    return (keypoints[:, 0] >= 0) & (keypoints[:, 1] >= 0)


def scale(keypoints, factor_y, factor_x, offset_x=0.0):
    """Keypoints mapped to another frame: x' = (x + offset_x) * factor_x, y' = y * factor_y,
    rounded; missing joints stay missing."""
    keypoints = np.asarray(keypoints)
    out = np.full(keypoints.shape, MISSING, np.int32)
    ok = present(keypoints)
    out[ok, 0] = np.round(keypoints[ok, 0] * factor_y)
    out[ok, 1] = np.round((keypoints[ok, 1] + offset_x) * factor_x)
    return out


def flip(keypoints, width):
    """Keypoints of the mirrored image: x -> width - 1 - x and left/right joints swapped."""
    keypoints = np.asarray(keypoints)
    out = keypoints[list(FLIP)].copy()
    ok = present(out)
    out[ok, 1] = width - 1 - out[ok, 1]
    return out


def resize_frame(keypoints, from_size, to_size):
    """Keypoints of a square ``from_size`` frame mapped to a ``to_size`` frame by pixel centres
    ((v + 0.5) * to / from - 0.5, rounded), the sampling that image resizing uses; missing stay
    missing."""
    keypoints = np.asarray(keypoints)
    out = np.full(keypoints.shape, MISSING, np.int32)
    ok = present(keypoints)
    mapped = np.round((keypoints[ok] + 0.5) * (to_size / from_size) - 0.5)
    out[ok] = np.clip(mapped, 0, to_size - 1)
    return out
