"""Setup shared by several test modules (test modules never import each other): tiny configurations,
a slice of the facades, and hand-drawn persons in the DeepFashion layout."""
import os

import cv2
import numpy as np

from datasets.persons import keypoints as kp
from tests.swapgan_helpers import TINY as SWAP_TINY
from training.config import SwapConfig

S = 32  # the VITON tests' image size

VITON_TINY = dict(image_size=S, ngf=4, n_layers=3, batch_size=2, log_every=1, sample_every=1000,
                  checkpoint_every=1000, num_samples=2, jit_compile=False)


FCN_TINY = dict(image_size=64, width=4, batch_size=2, log_every=1, sample_every=1000,
                checkpoint_every=2, num_samples=2, jit_compile=False)


def tiny_facades(root, facades, n_train=8, n_test=4):
    """A slice of the real facades as symlinks, in the unpaired layout."""
    for split, n in (("train", n_train), ("test", n_test)):
        for side in "AB":
            os.makedirs(os.path.join(root, split + side), exist_ok=True)
        for name in sorted(os.listdir(os.path.join(facades, split + "A")))[:n]:
            stem = os.path.splitext(name)[0]
            os.symlink(os.path.join(facades, split + "A", name), os.path.join(root, split + "A", name))
            os.symlink(os.path.join(facades, split + "B", stem + ".png"),
                       os.path.join(root, split + "B", stem + ".png"))
    return str(root)


def tiny_run(workdir, data, **overrides):
    return SwapConfig(**{**SWAP_TINY, "dataset": "synthetic", "data_dir": data, "workdir": str(workdir),
                         "num_samples": 2, "log_every": 1, "jit_compile": False, **overrides})


BG = (230, 230, 230)
LIP_COLOURS = {2: (40, 20, 10), 13: (220, 170, 140), 5: (200, 30, 30), 15: (220, 170, 140),
               14: (220, 170, 140), 9: (30, 30, 150), 16: (200, 160, 130), 17: (200, 160, 130)}


def fake_person(dx=0, arm=0):
    """(uint8 256x256 RGB image, LIP labels, (18, 2) keypoints) of a standing front-view person."""
    c = 128 + dx
    labels = np.zeros((256, 256), np.uint8)
    for (y0, y1, x0, x1), label in (((16, 32, c - 16, c + 16), 2), ((32, 56, c - 16, c + 16), 13),
                                    ((56, 136, c - 32, c + 32), 5), ((64 + arm, 144 + arm, c - 56, c - 32), 15),
                                    ((64 + arm, 144 + arm, c + 32, c + 56), 14), ((136, 192, c - 32, c + 32), 9),
                                    ((192, 240, c - 24, c - 8), 17), ((192, 240, c + 8, c + 24), 16)):
        labels[y0:y1, x0:x1] = label
    image = np.empty((256, 256, 3), np.uint8)
    image[:] = BG
    for label, colour in LIP_COLOURS.items():
        image[labels == label] = colour
    pts = {kp.NOSE: (44, c), kp.NECK: (60, c), kp.R_SHOULDER: (64, c - 40), kp.R_ELBOW: (100 + arm, c - 44),
           kp.R_WRIST: (136 + arm, c - 44), kp.L_SHOULDER: (64, c + 40), kp.L_ELBOW: (100 + arm, c + 44),
           kp.L_WRIST: (136 + arm, c + 44), kp.R_HIP: (140, c - 16), kp.R_KNEE: (188, c - 16),
           kp.R_ANKLE: (232, c - 16), kp.L_HIP: (140, c + 16), kp.L_KNEE: (188, c + 16),
           kp.L_ANKLE: (232, c + 16), kp.R_EYE: (40, c - 6), kp.L_EYE: (40, c + 6),
           kp.R_EAR: (42, c - 14), kp.L_EAR: (42, c + 14)}
    keypoints = np.array([pts[j] for j in range(kp.NUM_JOINTS)], np.int32)
    return image, labels, keypoints


def write_rgb(path, rgb):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))


def make_layout(root, split="train", n=4, *, crop=False, csv_frame=None, parsing=True, pairs=None):
    """n fake persons (PNG, 256x256 or the 176 crop), keypoint CSV, pairs (0,1), (2,3), ..."""
    csv_frame = csv_frame or ("crop" if crop else "full")
    annotations = {}
    for i in range(n):
        image, labels, keypoints = fake_person(dx=8 * (i % 3 - 1), arm=8 * (i % 2))
        name = f"p{i}.png"
        if crop:
            image, labels = image[:, 40:216], labels[:, 40:216]
        write_rgb(os.path.join(root, split, name), image)
        if parsing:
            os.makedirs(os.path.join(root, "parsing", split), exist_ok=True)
            assert cv2.imwrite(os.path.join(root, "parsing", split, f"p{i}.png"), labels)
        if csv_frame == "crop":
            keypoints = keypoints - np.array([0, 40]) * kp.present(keypoints)[:, None]
        annotations[name] = keypoints
    kp.write_annotations(os.path.join(root, f"fasion-annotation-{split}.csv"), annotations)
    pairs = pairs if pairs is not None else [(f"p{i}.png", f"p{i + 1}.png") for i in range(0, n - 1, 2)]
    kp.write_pairs(os.path.join(root, f"fashion-pairs-{split}.csv"), pairs)
    return str(root)
