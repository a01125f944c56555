"""Image grids for samples (PNG and TensorBoard) and the mean of logged values."""
import os

import cv2
import numpy as np


def to_uint8(images):
    """[-1, 1] floats -> uint8."""
    return np.clip((np.asarray(images) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def grid(rows, labels=None, pad=2):
    """rows: lists of HxWx3 images in [-1, 1] (same size; 1-channel maps are shown grey) -> one
    uint8 RGB image; ``labels`` names the columns in a header band above them."""
    height, width = np.asarray(rows[0][0]).shape[:2]
    cols = max(len(r) for r in rows)
    header = _header(labels, cols, width, pad) if labels else np.zeros((0, 0, 3), np.uint8)
    top = header.shape[0]
    out = np.full((top + len(rows) * (height + pad) + pad, cols * (width + pad) + pad, 3), 255, np.uint8)
    if top:
        out[:top] = header
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            y, x = top + pad + i * (height + pad), pad + j * (width + pad)
            image = np.asarray(image)
            out[y:y + height, x:x + width] = to_uint8(image if image.shape[-1] == 3 else
                                                      np.repeat(image[..., :1], 3, axis=-1))
    return out


def _header(labels, cols, width, pad):
    """A white band with each column's label, shrunk to fit its column."""
    if len(labels) != cols:
        raise ValueError(f"{len(labels)} labels for {cols} columns")
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, 1
    scales = []
    for label in labels:
        text_width = cv2.getTextSize(label, font, 1.0, thickness)[0][0]
        scales.append(min(0.45, (width - 2) / max(text_width, 1)))
    scale = max(min(scales), 0.2)
    text_height = cv2.getTextSize("Ag", font, scale, thickness)[0][1]
    band = np.full((text_height + 8, cols * (width + pad) + pad, 3), 255, np.uint8)
    for j, label in enumerate(labels):
        cell = np.full((band.shape[0], width, 3), 255, np.uint8)  # clips a label to its column
        cv2.putText(cell, label, (1, text_height + 3), font, scale, (0, 0, 0), thickness, cv2.LINE_AA)
        x = pad + j * (width + pad)
        band[:, x:x + width] = cell
    return band


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
