"""Pose maps (thesis 8.2.1, person representation 1): OpenPose's drawing and Gaussian heatmaps.

``render_pose_map`` repeats the OpenPose demo's ``draw_bodypose`` step for step on a uint8 canvas:
a filled disc of colour i at every present joint i, then, limb after limb, a filled ellipse along
the segment (``cv2.ellipse2Poly`` around the truncated midpoint, half-axes int(length / 2) and the
stick width, angle truncated to whole degrees) painted on a copy of the canvas and blended back with
``cv2.addWeighted(canvas, 0.4, copy, 0.6, 0)``. Each blend rounds to uint8, so a limb pixel on the
black background is round(0.6 c) and a joint under one limb is round(0.4 c_joint + 0.6 c_limb).
The colour triplets of ``keypoints.COLORS`` are used as RGB (the demo's canvas was BGR; most
pose-transfer code reads them as RGB, and so do we). Radius and stick width are 4 at 256 px and
scale with the map size, never below 1 px. The heatmaps are the 18-channel alternative of peers
(sigma 6 at 256 px), kept float32: a uint8 copy would truncate each Gaussian to its peak pixel.
"""
import math

import cv2
import numpy as np

from datasets.persons.keypoints import COLORS, NUM_JOINTS, RENDERED_LIMBS, present

REFERENCE_SIZE = 256
JOINT_RADIUS = 4  # at REFERENCE_SIZE
STICK_WIDTH = 4
HEATMAP_SIGMA = 6.0


def scaled_width(width, size):
    """A drawing width given at 256 px, scaled to ``size`` px and kept at least 1."""
    return max(1, int(round(width * size / REFERENCE_SIZE)))


def _checked(keypoints):
    keypoints = np.asarray(keypoints)
    if keypoints.shape != (NUM_JOINTS, 2):
        raise ValueError(f"keypoints must have shape ({NUM_JOINTS}, 2) (y, x), got {keypoints.shape}")
    return keypoints


def render_pose_map(keypoints, size):
    """uint8 (size, size, 3) RGB pose map of (18, 2) (y, x) keypoints given in the ``size`` frame.

    A missing joint (-1) draws nothing, and neither does any limb touching it.
    """
    keypoints = _checked(keypoints)
    ok = present(keypoints)
    radius = scaled_width(JOINT_RADIUS, size)
    stick = scaled_width(STICK_WIDTH, size)
    canvas = np.zeros((size, size, 3), np.uint8)
    colors = [tuple(int(v) for v in c) for c in COLORS]
    for i in np.flatnonzero(ok):
        y, x = keypoints[i]
        cv2.circle(canvas, (int(x), int(y)), radius, colors[i], thickness=-1)
    for i, (a, b) in enumerate(RENDERED_LIMBS):
        if not (ok[a] and ok[b]):
            continue
        (y0, x0), (y1, x1) = keypoints[a].astype(float), keypoints[b].astype(float)
        length = math.hypot(x0 - x1, y0 - y1)
        angle = math.degrees(math.atan2(y0 - y1, x0 - x1))
        polygon = cv2.ellipse2Poly((int((x0 + x1) / 2), int((y0 + y1) / 2)),
                                   (int(length / 2), stick), int(angle), 0, 360, 1)
        limb = canvas.copy()
        cv2.fillConvexPoly(limb, polygon, colors[i])
        canvas = cv2.addWeighted(canvas, 0.4, limb, 0.6, 0)
    return canvas


def pose_heatmaps(keypoints, size, sigma=None):
    """float32 (size, size, 18): exp(-d^2 / (2 sigma^2)) around each present joint (peak 1 at the
    joint's pixel), an all-zero channel for a missing one; sigma defaults to 6 at 256 px, scaled."""
    keypoints = _checked(keypoints)
    if sigma is None:
        sigma = HEATMAP_SIGMA * size / REFERENCE_SIZE
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    ok = present(keypoints)
    grid = np.arange(size, dtype=np.float32)
    dy = grid[None, :] - keypoints[:, :1].astype(np.float32)  # (18, size): rows
    dx = grid[None, :] - keypoints[:, 1:].astype(np.float32)  # (18, size): columns
    gy = np.exp(-dy ** 2 / (2 * sigma ** 2)) * ok[:, None]
    gx = np.exp(-dx ** 2 / (2 * sigma ** 2))
    # The 2-D Gaussian is separable: (18, H, 1) * (18, 1, W).
    return np.ascontiguousarray((gy[:, :, None] * gx[:, None, :]).transpose(1, 2, 0), np.float32)
