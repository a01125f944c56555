"""Segmentation, mask and head maps (thesis 8.2.1, person representations 2-4).

The thesis regroups the 20 LIP parsing labels into five coarse classes (head, arms, legs, upper- and
lower-body clothes) but does not publish its table; we use the regrouping in ``LIP_TO_COARSE`` (the
head group {hat, hair, sunglasses, face} is the one VITON and CP-VTON use). Coarse id 0 is the
background, so a coarse map has six ids and its one-hot encoding six channels. The mask M is the
union of the five person classes and the head map H is the head class.

Without a parser output (``coarse_from_keypoints``) we approximate the coarse map from the 18
keypoints: thick limbs for arms and legs, polygons for the torso and hips, a disc for the head. It
is an approximation of a parser's output, not a substitute for one: sleeves and trouser legs take
the shape of a fixed-width stick, and loose clothes or long hair fall outside the regions.
"""
import cv2
import numpy as np

from datasets.files import DataError
from datasets.persons import keypoints as kp

LIP_LABELS = ("background", "hat", "hair", "glove", "sunglasses", "upper_clothes", "dress", "coat",
              "socks", "pants", "jumpsuits", "scarf", "skirt", "face", "left_arm", "right_arm",
              "left_leg", "right_leg", "left_shoe", "right_shoe")
NUM_LIP = len(LIP_LABELS)
COARSE_CLASSES = ("background", "head", "arms", "legs", "upper_clothes", "lower_clothes")
BACKGROUND, HEAD, ARMS, LEGS, UPPER, LOWER = range(len(COARSE_CLASSES))
NUM_COARSE = len(COARSE_CLASSES)
COARSE_GROUPS = {BACKGROUND: (0,), HEAD: (1, 2, 4, 13), ARMS: (3, 14, 15),
                 LEGS: (8, 16, 17, 18, 19), UPPER: (5, 6, 7, 10, 11), LOWER: (9, 12)}
LIP_TO_COARSE = np.zeros(NUM_LIP, np.uint8)
for _coarse, _lips in COARSE_GROUPS.items():
    LIP_TO_COARSE[list(_lips)] = _coarse
# Colours for showing coarse maps in sample grids (RGB), index = coarse id.
COARSE_PALETTE = np.array([(0, 0, 0), (255, 220, 0), (255, 85, 85), (85, 170, 255),
                           (0, 200, 80), (150, 60, 220)], dtype=np.uint8)


def markdown_table():
    """The regrouping as a Markdown table, for the README."""
    rows = ["| coarse id | class | LIP labels |", "|---|---|---|"]
    for cid, name in enumerate(COARSE_CLASSES):
        labels = ", ".join(f"{i} {LIP_LABELS[i]}" for i in COARSE_GROUPS[cid])
        rows.append(f"| {cid} | {name} | {labels} |")
    return "\n".join(rows)


def coarse_from_lip(lip_ids, where="parsing map"):
    """uint8 coarse ids of an integer array of LIP ids; an id outside 0..19 raises DataError."""
    lip_ids = np.asarray(lip_ids)
    if lip_ids.size and (lip_ids.min() < 0 or lip_ids.max() >= NUM_LIP):
        bad = int(lip_ids.max()) if lip_ids.max() >= NUM_LIP else int(lip_ids.min())
        raise DataError(f"{where}: LIP label {bad} outside 0..{NUM_LIP - 1}")
    return LIP_TO_COARSE[lip_ids]


def _unit(keypoints, ok, size):
    """The person's scale in pixels: the shoulder width, else the hip width, else a fraction of the
    torso or of the joints' spread, so that region widths follow the person, not the frame."""
    def dist(a, b):
        return float(np.hypot(*(keypoints[a] - keypoints[b]))) if ok[a] and ok[b] else 0.0
    unit = dist(kp.R_SHOULDER, kp.L_SHOULDER) or 1.4 * dist(kp.R_HIP, kp.L_HIP)
    if not unit:
        torso = [dist(kp.NECK, h) for h in (kp.R_HIP, kp.L_HIP) if dist(kp.NECK, h)]
        spread = np.ptp(keypoints[ok], axis=0).max() if ok.sum() > 1 else 0.0
        unit = 0.7 * max(torso) if torso else 0.25 * spread
    return float(np.clip(unit, size / 32, size / 3))


def _chain(canvas, keypoints, ok, joints, width, value):
    """Thick polyline through the present joints of a chain; a lone joint becomes a disc."""
    pts = {j: (int(keypoints[j, 1]), int(keypoints[j, 0])) for j in joints if ok[j]}
    for j in pts:
        cv2.circle(canvas, pts[j], max(1, width // 2), value, thickness=-1)
    for a, b in zip(joints[:-1], joints[1:]):
        if a in pts and b in pts:
            cv2.line(canvas, pts[a], pts[b], value, thickness=max(1, width))


def _hull(canvas, keypoints, ok, joints, width, value):
    """Filled convex hull of the present joints, widened by ``width``; fewer than 3 -> a chain."""
    pts = np.array([(keypoints[j, 1], keypoints[j, 0]) for j in joints if ok[j]], np.int32)
    if len(pts) >= 3:
        cv2.fillConvexPoly(canvas, cv2.convexHull(pts), value)
        cv2.polylines(canvas, [cv2.convexHull(pts)], True, value, thickness=max(1, width))
    else:
        _chain(canvas, keypoints, ok, [j for j in joints if ok[j]], width, value)


def coarse_from_keypoints(keypoints, size):
    """uint8 (size, size) approximate coarse map from (18, 2) keypoints in the ``size`` frame.

    Drawn back to front: legs (hip-knee-ankle), lower clothes (hull of hips and knees), upper
    clothes (hull of neck, shoulders and hips), arms (shoulder-elbow-wrist), head (a disc around
    the face joints). Widths are fractions of the shoulder width. Every present joint's pixel is
    covered: each joint is an end of a stroke, a hull vertex or inside the head disc.
    """
    keypoints = np.asarray(keypoints)
    if keypoints.shape != (kp.NUM_JOINTS, 2):
        raise ValueError(f"keypoints must have shape ({kp.NUM_JOINTS}, 2), got {keypoints.shape}")
    ok = kp.present(keypoints)
    canvas = np.zeros((size, size), np.uint8)
    if not ok.any():
        return canvas
    keypoints = keypoints.astype(np.int64)
    unit = _unit(keypoints, ok, size)
    limb = int(round(0.35 * unit))
    for chain in ((kp.R_HIP, kp.R_KNEE, kp.R_ANKLE), (kp.L_HIP, kp.L_KNEE, kp.L_ANKLE)):
        _chain(canvas, keypoints, ok, chain, int(round(0.45 * unit)), LEGS)
    _hull(canvas, keypoints, ok, (kp.R_HIP, kp.L_HIP, kp.L_KNEE, kp.R_KNEE), limb, LOWER)
    _hull(canvas, keypoints, ok, (kp.NECK, kp.R_SHOULDER, kp.L_SHOULDER, kp.L_HIP, kp.R_HIP),
          limb, UPPER)
    for chain in ((kp.R_SHOULDER, kp.R_ELBOW, kp.R_WRIST), (kp.L_SHOULDER, kp.L_ELBOW, kp.L_WRIST)):
        _chain(canvas, keypoints, ok, chain, limb, ARMS)
    face = [j for j in (kp.NOSE, kp.R_EYE, kp.L_EYE, kp.R_EAR, kp.L_EAR) if ok[j]]
    if face:
        pts = keypoints[face].astype(np.float64)
        centre = pts.mean(axis=0)
        reach = np.hypot(*(pts - centre).T).max()  # the disc contains every face joint
        radius = int(np.ceil(max(reach + 1 + 0.15 * unit, 0.4 * unit)))  # +1: rounded centre
        cv2.circle(canvas, (int(round(centre[1])), int(round(centre[0]))), radius, HEAD, -1)
    return canvas


def one_hot(coarse):
    """float32 (..., 6) one-hot encoding of coarse ids."""
    return np.eye(NUM_COARSE, dtype=np.float32)[np.asarray(coarse)]


def person_mask(coarse):
    """M: float32 {0, 1} with a trailing channel, (..., 1): the union of the five person classes."""
    return (np.asarray(coarse) != BACKGROUND).astype(np.float32)[..., None]


def head_mask(coarse):
    """H: float32 {0, 1}, (..., 1): the head class (face and hair, hat, sunglasses)."""
    return (np.asarray(coarse) == HEAD).astype(np.float32)[..., None]


def colorize(coarse):
    """uint8 (..., 3) RGB picture of a coarse map in COARSE_PALETTE colours."""
    return COARSE_PALETTE[np.asarray(coarse)]
