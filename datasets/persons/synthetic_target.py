"""The ground truth of a clothing swap on the synthetic persons (beyond the thesis, whose
DeepFashion test set has no image of a person in someone else's clothes).

The target of (reference r, condition c) is ``render_person(r's identity, r's pose,
wearing=c's identity)``: r's body, pose, head, hair, shoes, background, light and noise with c's
upper and lower garments (colours, patterns and cut: ``synthetic.GARMENT_KEYS``) fitted to
r's body. It then goes through the JPEG encoder that wrote the dataset's images and the decoder
that reads them, so it is what the folder would hold for that person: a condition of r's own
identity (r's other pose) gives r's stored image bit for bit.

Everything is rendered again from the folder's stored parameters: ``synthetic.json`` (seed, size,
layout version) and ``synthetic-params-{split}.csv`` (each image's identity and pose). A folder
of another layout version, or whose images the current code does not reproduce, is refused:
its targets would not be of the same people.
"""
import csv
import json
import os

import cv2
import numpy as np
import tensorflow as tf

from datasets.files import DataError
from datasets.persons import synthetic as syn

REGENERATE = "regenerate them (a --dataset=synthetic command does so for an outdated folder)"
MAX_MEAN_DIFFERENCE = 1.0  # 8-bit levels: the stored image against its re-render (module doc)


def read_params(root, split):
    """{image name: (identity, pose)} of a split; DataError naming the file when it is missing
    or malformed."""
    path = syn.params_file(root, split)
    if not os.path.exists(path):
        raise DataError(f"{path}: missing; the synthetic persons at {root} predate stored render "
                        f"parameters: {REGENERATE}")
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        params = {r["name"]: (int(r["identity"]), int(r["pose"])) for r in rows}
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"{path}: not a name,identity,pose table ({e})") from e
    if len(params) != len(rows):
        raise DataError(f"{path}: an image name appears twice")
    return params


def jpeg_round_trip(image):
    """uint8 RGB -> the pixels of the dataset's JPEG file of it, as the readers decode them
    (``datasets.pipeline.read_image``)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), list(syn.JPEG_PARAMS))
    if not ok:
        raise OSError("could not encode a JPEG")
    return tf.io.decode_image(data.tobytes(), channels=3, expand_animations=False).numpy()


class SwapTargets:
    """The swap targets of one split of a synthetic persons folder (module doc)."""

    def __init__(self, root, split="test"):
        manifest = os.path.join(root, "synthetic.json")
        try:
            with open(manifest, encoding="utf-8") as f:
                spec = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise DataError(f"{manifest}: unreadable ({e}); swap targets need a synthetic "
                            "persons folder") from e
        if not isinstance(spec, dict) or spec.get("kind") != "persons":
            raise DataError(f"{manifest}: not a synthetic persons folder")
        if spec.get("layout_version") != syn.LAYOUT_VERSION:
            raise DataError(f"{manifest}: layout_version {spec.get('layout_version')}, but swap "
                            f"targets are rendered by version {syn.LAYOUT_VERSION}: {REGENERATE}")
        self.root, self.split = root, split
        self.size, self.seed = int(spec["size"]), int(spec["seed"])
        self.params = read_params(root, split)

    def provenance(self):
        """What the targets depend on."""
        return {"target": "synthetic render: reference wearing the condition's garments",
                "layout_version": syn.LAYOUT_VERSION, "seed": self.seed, "size": self.size}

    def _identity_pose(self, name):
        if name not in self.params:
            raise DataError(f"{syn.params_file(self.root, self.split)}: no row for {name}")
        return self.params[name]

    def render(self, reference, condition):
        """(image uint8 HxWx3 as its JPEG file would decode, LIP ids uint8 HxW, keypoints (18, 2)
        (y, x)) of the image named ``reference`` wearing the clothes of the one named
        ``condition``."""
        identity, pose = self._identity_pose(reference)
        wearing = self._identity_pose(condition)[0]
        image, lip, points = syn.render_person(identity, pose, self.size, self.seed, wearing=wearing)
        return jpeg_round_trip(image), lip, points

    def verify(self, name):
        """Raises DataError unless the stored image ``name`` is what the current code renders
        (compared as decoded pixels: another CPU may round a few pixels differently)."""
        path = os.path.join(self.root, self.split, name)
        stored = tf.io.decode_image(tf.io.read_file(path), channels=3,
                                    expand_animations=False).numpy()
        again = self.render(name, name)[0]
        difference = np.abs(stored.astype(np.int16) - again).mean() if stored.shape == again.shape \
            else np.inf
        if difference > MAX_MEAN_DIFFERENCE:
            raise DataError(f"{path}: not what the synthetic persons generator renders now (mean "
                            f"difference {difference:.2f} levels) though its layout_version is "
                            "current; move the folder away and rerun to regenerate it")
