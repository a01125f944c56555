"""The person datasets a SwapGAN or VITON run trains on: --dataset=synthetic|deepfashion.

Both are read by the same DeepFashion-layout reader; the synthetic persons are generated into
--data_dir on first use.
"""
import json
import os

from absl import logging

from datasets.files import DataError
from datasets.persons.deepfashion import load_person_set
from datasets.persons.selection import load_selected_set
from datasets.persons.synthetic import LAYOUT_VERSION, ensure_synthetic_persons

DEEPFASHION_HINT = (
    "Expected the DeepFashion pose-transfer layout: train/ and test/ images (256x256 or the "
    "256x176 crop), fasion-annotation-{train,test}.csv, fashion-pairs-{train,test}.csv and "
    "optionally parsing/{train,test}/<name>.png (LIP ids); see README, SwapGAN. Or train offline "
    "on the built-in persons with --dataset=synthetic.")


def ensure_synthetic(root):
    """Generates the default synthetic persons unless a synthetic persons set (of any size, e.g.
    a small one made with ``ensure_synthetic_persons``) is already there; refuses to overwrite
    another kind of synthetic dataset."""
    manifest = os.path.join(root, "synthetic.json")
    if os.path.exists(manifest):
        try:
            with open(manifest, encoding="utf-8") as f:
                spec = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise DataError(f"{manifest}: unreadable ({e})") from e
        if not isinstance(spec, dict) or spec.get("kind") != "persons":
            raise DataError(f"{root}: a synthetic dataset, but not of persons; choose another "
                            "--data_dir for --dataset=synthetic")
        if spec.get("layout_version") == LAYOUT_VERSION:
            return
    logging.info("%s: generating the synthetic persons (once; about a minute)", root)
    ensure_synthetic_persons(root)


def load_person_sets(dataset, data_dir, *, skip_corrupt_images=False):
    """(train, test) PersonSets of --dataset and --data_dir; DataError with a way out."""
    if dataset == "synthetic":
        ensure_synthetic(data_dir)
    elif not os.path.isdir(data_dir):
        raise DataError(f"{data_dir}: no dataset there (--dataset={dataset}).\n{DEEPFASHION_HINT}")
    read = load_selected_set if dataset == "deepfashion-swap" else load_person_set
    sets = tuple(read(data_dir, split, skip_corrupt_images=skip_corrupt_images)
                 for split in ("train", "test"))
    if sets[0].approximate_segmentation:
        logging.warning("%s: no parsing maps, so S, M and H are approximated from the keypoints "
                        "(limb sticks, torso and hip polygons, a head disc): an approximation of a "
                        "human parser's output, not the thesis's maps", data_dir)
    return sets
