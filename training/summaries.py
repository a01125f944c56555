"""Image grids for samples (PNG and TensorBoard) and the mean of logged values."""
import os

import cv2
import numpy as np


def to_uint8(images):
    """[-1, 1] floats -> uint8."""
    return np.clip((np.asarray(images) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def grid(rows, pad=2):
    """rows: list of lists of HxWx3 images in [-1, 1] (same size) -> one uint8 RGB image."""
    height, width = np.asarray(rows[0][0]).shape[:2]
    cols = max(len(r) for r in rows)
    out = np.full((len(rows) * (height + pad) + pad, cols * (width + pad) + pad, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            y, x = pad + i * (height + pad), pad + j * (width + pad)
            out[y:y + height, x:x + width] = to_uint8(image)
    return out


def write_png(filename, rgb):
    os.makedirs(os.path.dirname(filename), exist_ok=True)
    if not cv2.imwrite(filename, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"{filename}: could not write image")


class RunningMean:
    """Sums step outputs as device tensors (no host sync per step); ``result`` averages them."""

    def __init__(self):
        self.sums, self.count = {}, 0

    def add(self, values):
        for k, v in values.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v
        self.count += 1

    def result(self):
        out = {k: float(v) / self.count for k, v in self.sums.items()}
        self.sums, self.count = {}, 0
        return out
