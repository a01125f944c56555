"""The common interface of the clothing-swap methods of Table 8.2 (Poisson, TPS, VITON, SwapGAN).

A method turns a batch of references and a batch of conditions into the references wearing the
conditions' clothes: ``method.generate(reference, condition) -> float32 (N, S, S, 3) in [-1, 1]``.
A batch is a dict of numpy arrays with a leading batch axis, stacked from
``datasets.persons.pipeline.person_example`` outputs (x, p, s, m, h in its conventions) plus, from
``person_inputs``, ``keypoints`` (N, 18, 2) int32 (y, x) in the S frame (-1: missing) and ``heat``
(N, S, S, 18). Each method names the keys it reads; ``generate`` checks them, the sizes and the batch
lengths before running, so a table writer can treat every method alike.

Every method keeps the reference's head: the thesis's test phase pastes H_r onto X_GI (8.2.1), and
doing the same for the baselines keeps identity out of the comparison. ``counts`` tallies the
examples a method could not treat normally (e.g. an empty clothes mask), for the table's notes.
"""
import abc
import collections

import numpy as np

from datasets.persons import keypoints as kp
from datasets.persons.deepfashion import FRAME
from datasets.persons.pipeline import person_example

EXAMPLE_KEYS = ("x", "p", "s", "m", "h")
CHANNELS = {"x": 3, "p": 3, "s": 6, "m": 1, "h": 1, "heat": kp.NUM_JOINTS}


def person_inputs(image, keypoints, parsing=None, *, image_size):
    """``person_example`` (with heatmaps) of one person plus its keypoints in the S frame."""
    out = person_example(image, keypoints, parsing, image_size=image_size, heatmaps=True)
    out["keypoints"] = kp.resize_frame(keypoints, FRAME, image_size).astype(np.int32)
    return out


def stack_examples(examples):
    """One batch dict from a list of example dicts (``person_inputs`` outputs)."""
    if not examples:
        raise ValueError("stack_examples: no examples")
    return {k: np.stack([np.asarray(e[k]) for e in examples]) for k in examples[0]}


def person_batch(person_set, indices, image_size):
    """The batch of ``person_inputs`` of images ``indices`` of a ``PersonSet`` (its parsing maps
    when it has them, else the keypoint approximation)."""
    examples = []
    for i in indices:
        parsing = person_set.parsing_paths[i] if person_set.parsing_paths is not None else None
        examples.append(person_inputs(person_set.paths[i], person_set.keypoints[i], parsing,
                                      image_size=image_size))
    return stack_examples(examples)


def paste_head(image, reference):
    """H_r * X_r + (1 - H_r) * image: the reference head pasted (8.2.1's test-phase step)."""
    head = reference["h"].astype(np.float32)
    return head * reference["x"] + (1.0 - head) * image


def _check_batch(batch, keys, role, method):
    missing = [k for k in keys if k not in batch]
    if missing:
        raise ValueError(f"{method}: the {role} batch lacks {', '.join(missing)} (has "
                         f"{', '.join(sorted(batch))}); build it with evaluation.methods.person_inputs")
    first = np.asarray(batch[keys[0]])
    n, size = first.shape[0], first.shape[1]
    for k in keys:
        value = np.asarray(batch[k])
        expected = (n, kp.NUM_JOINTS, 2) if k == "keypoints" else (n, size, size, CHANNELS[k])
        if value.shape != expected:
            raise ValueError(f"{method}: {role}['{k}'] has shape {value.shape}, expected {expected}")
    return n, size


class SwapMethod(abc.ABC):
    """Base of the swap methods: subclasses set ``name``, the keys they read and ``_generate``."""

    name = "method"
    reference_keys = ("x", "h")
    condition_keys = ("x",)
    image_size = None  # a method that only works at one size (a trained network) sets it

    def __init__(self):
        self.counts = collections.Counter()

    def check(self, reference, condition):
        """(N, S) of two batches this method can take; ValueError naming what is wrong."""
        n_r, s_r = _check_batch(reference, self.reference_keys, "reference", self.name)
        n_c, s_c = _check_batch(condition, self.condition_keys, "condition", self.name)
        if n_r != n_c or s_r != s_c:
            raise ValueError(f"{self.name}: {n_r} references of {s_r} px but {n_c} conditions of "
                             f"{s_c} px; pass batches of the same length and size")
        if self.image_size is not None and s_r != self.image_size:
            raise ValueError(f"{self.name}: works at {self.image_size} px, got {s_r} px images")
        return n_r, s_r

    def generate(self, reference, condition):
        """The references wearing the conditions' clothes: float32 (N, S, S, 3) in [-1, 1]."""
        n_r, s_r = self.check(reference, condition)
        out = np.asarray(self._generate(reference, condition), np.float32)
        if out.shape != (n_r, s_r, s_r, 3):
            raise AssertionError(f"{self.name}: produced {out.shape}, expected {(n_r, s_r, s_r, 3)}")
        return np.clip(out, -1.0, 1.0)

    @abc.abstractmethod
    def _generate(self, reference, condition):
        """The outputs of checked batches (same length and size)."""

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"
