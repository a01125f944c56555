"""The thesis's DeepFashion selection for clothing swapping (8.2.3, Figure 8.13), from keypoints.

The thesis keeps "front-view person images with both upper-body and lower-body clothes visible"
and a face: 3,000 training pairs (6,000 images, two of the same person in the same clothes and
different poses) and 1,372 test images. Here an annotated image is kept when all of ``RULE``
holds for its keypoint row (OpenPose COCO-18, (y, x) in the 256 frame, -1 = missing):

    shoulders  both shoulders annotated
    hips       both hips annotated
    face       the nose and both eyes annotated (no back view, no cropped-off head)
    facing     the person faces the camera: their right shoulder and right hip appear left of
               the left ones in the image (x_right < x_left; a back view mirrors this)
    legs       a knee or an ankle annotated, so the lower-body clothes show

Draws, from numpy's generator seeded with (seed, SALT): the candidate training pairs are the
pairs of the user's ``fashion-pairs-train.csv`` whose two images are both kept, visited in a
seeded random order; a pair is taken when neither image is already taken (each image in one pair,
as the thesis's 6,000 images in 3,000 pairs); then ``train_pairs`` of those are drawn. The test
images are ``test_images`` drawn from the kept images of the test split. When fewer are
available, all are taken and ``selection.json`` records requested and drawn counts.

Files in the output folder: ``selection.json`` (rule, seed, source folder, rows kept by each
criterion alone and by the rule up to it, per split, requested and drawn counts),
``pairs-train.csv`` (from,to), ``images-test.csv`` (name) and ``pairs-test.csv`` (the test
split's pairs among the drawn test images; the reader wants at least one). Only the keypoint
CSVs are read, so no image is needed to select; ``--dataset=deepfashion-swap --data_dir=<folder>``
then reads the source's images restricted to the selection (``load_selected_set``), and a missing
image folder fails there as for --dataset=deepfashion.
"""
import csv
import json
import os

import numpy as np

from datasets.files import DataError
from datasets.persons import keypoints as kp
from datasets.persons.deepfashion import annotation_file, load_person_set, pairs_file

SALT = 823  # keeps these draws apart from other streams seeded with the same --seed
MANIFEST = "selection.json"
TRAIN_PAIRS, TEST_IMAGES, TEST_PAIRS = "pairs-train.csv", "images-test.csv", "pairs-test.csv"
RULE = {
    "shoulders": "both shoulders annotated",
    "hips": "both hips annotated",
    "face": "nose and both eyes annotated",
    "facing": "right shoulder and right hip left of the left ones in the image (facing the camera)",
    "legs": "a knee or an ankle annotated (lower-body clothes show)",
}


def criteria(keypoints):
    """{criterion: boolean (N,)} for (N, 18, 2) keypoints, in ``RULE``'s order."""
    k = np.asarray(keypoints)
    on = (k >= 0).all(-1)
    x = k[..., 1]

    def both(a, b):
        return on[:, a] & on[:, b]

    return {
        "shoulders": both(kp.R_SHOULDER, kp.L_SHOULDER),
        "hips": both(kp.R_HIP, kp.L_HIP),
        "face": on[:, kp.NOSE] & both(kp.R_EYE, kp.L_EYE),
        "facing": (both(kp.R_SHOULDER, kp.L_SHOULDER) & both(kp.R_HIP, kp.L_HIP)
                   & (x[:, kp.R_SHOULDER] < x[:, kp.L_SHOULDER]) & (x[:, kp.R_HIP] < x[:, kp.L_HIP])),
        "legs": on[:, [kp.R_KNEE, kp.L_KNEE, kp.R_ANKLE, kp.L_ANKLE]].any(1),
    }


def select(annotations):
    """(kept names in file order, counts): counts has ``rows``, ``alone`` (rows each criterion
    keeps by itself) and ``cumulative`` (rows kept by the rule up to and including it)."""
    names = list(annotations)
    if not names:
        return [], {"rows": 0, "alone": dict.fromkeys(RULE, 0), "cumulative": dict.fromkeys(RULE, 0)}
    found = criteria(np.stack([annotations[n] for n in names]))
    keep = np.ones(len(names), bool)
    alone, cumulative = {}, {}
    for name in RULE:
        alone[name] = int(found[name].sum())
        keep &= found[name]
        cumulative[name] = int(keep.sum())
    return [n for n, k in zip(names, keep) if k], {"rows": len(names), "alone": alone,
                                                    "cumulative": cumulative}


def disjoint_pairs(pairs, kept, rng):
    """The pairs whose images are both in ``kept``, each image in at most one, visited in the
    order of ``rng``'s permutation (one per unordered pair: (a, b) and (b, a) are one pair)."""
    kept = set(kept)
    unique = sorted({tuple(sorted(p)) for p in pairs if p[0] != p[1] and p[0] in kept and p[1] in kept})
    taken, out = set(), []
    for i in rng.permutation(len(unique)):
        a, b = unique[i]
        if a not in taken and b not in taken:
            taken.update((a, b))
            out.append((a, b))
    return out


def _draw(items, count, rng):
    """``count`` of ``items`` in a seeded order (all of them, in that order, when fewer)."""
    order = rng.permutation(len(items))[:count]
    return [items[i] for i in sorted(order)]


def _read_split(source, split):
    for path in (annotation_file(source, split), pairs_file(source, split)):
        if not os.path.isfile(path):
            raise DataError(f"{path}: file not found (the selection reads the keypoint CSVs "
                            f"fasion-annotation-{split}.csv and fashion-pairs-{split}.csv)")
    return kp.read_annotations(annotation_file(source, split)), kp.read_pairs(pairs_file(source, split))


def _write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def prepare_selection(source, out, *, train_pairs=3000, test_images=1372, seed=0, overwrite=False):
    """Selects from ``source``'s keypoint CSVs and writes the selection files to ``out``;
    returns the manifest (module doc)."""
    if train_pairs < 1 or test_images < 2:
        raise DataError(f"--train_pairs={train_pairs} --test_images={test_images}: need at least "
                        "1 pair and 2 test images")
    manifest_path = os.path.join(out, MANIFEST)
    if os.path.exists(manifest_path) and not overwrite:
        raise DataError(f"{manifest_path}: a selection is already there; choose another --out "
                        "(or pass --overwrite to replace it)")
    rng = np.random.default_rng([seed, SALT])
    counts, drawn = {}, {}
    train_ann, train_list = _read_split(source, "train")
    test_ann, test_list = _read_split(source, "test")
    kept_train, counts["train"] = select(train_ann)
    kept_test, counts["test"] = select(test_ann)
    candidates = disjoint_pairs(train_list, kept_train, rng)
    drawn["train_pairs"] = _draw(candidates, train_pairs, rng)
    drawn["test_images"] = _draw(kept_test, test_images, rng)
    chosen = set(drawn["test_images"])
    drawn["test_pairs"] = [p for p in test_list if p[0] in chosen and p[1] in chosen]
    counts["train"]["disjoint_pairs"] = len(candidates)
    if not drawn["train_pairs"] or len(drawn["test_images"]) < 2 or not drawn["test_pairs"]:
        raise DataError(f"{source}: the selection keeps {len(candidates)} training pairs, "
                        f"{len(kept_test)} test images and {len(drawn['test_pairs'])} test pairs "
                        "among the drawn ones; too few to train and test on")
    source_rel = os.path.relpath(os.path.abspath(source), os.path.abspath(out))
    manifest = {
        "kind": "deepfashion-swap selection", "source": source_rel, "seed": seed, "salt": SALT,
        "rule": RULE, "rows": counts,
        "requested": {"train_pairs": train_pairs, "test_images": test_images},
        "drawn": {k: len(v) for k, v in drawn.items()},
        "files": {"train_pairs": TRAIN_PAIRS, "test_images": TEST_IMAGES, "test_pairs": TEST_PAIRS},
    }
    os.makedirs(out, exist_ok=True)
    _write_csv(os.path.join(out, TRAIN_PAIRS), kp.PAIRS_HEADER, drawn["train_pairs"])
    _write_csv(os.path.join(out, TEST_IMAGES), ("name",), [(n,) for n in drawn["test_images"]])
    _write_csv(os.path.join(out, TEST_PAIRS), kp.PAIRS_HEADER, drawn["test_pairs"])
    with open(manifest_path + ".part", "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    os.replace(manifest_path + ".part", manifest_path)  # written last: a selection is whole
    return manifest


def read_manifest(folder):
    """(manifest, absolute source folder) of a selection folder; DataError naming the file."""
    path = os.path.join(folder, MANIFEST)
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError as e:
        raise DataError(f"{path}: not found; make a selection with python -m datasets.prepare "
                        "--name=deepfashion-swap --data_dir=<DeepFashion folder> "
                        f"--out={folder}") from e
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: unreadable ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("kind") != "deepfashion-swap selection":
        raise DataError(f"{path}: not a deepfashion-swap selection")
    return manifest, os.path.normpath(os.path.join(folder, manifest["source"]))


def load_selected_set(folder, split, *, skip_corrupt_images=False):
    """The PersonSet of ``split`` restricted to the selection in ``folder``: the training pairs'
    images and pairs, or the drawn test images and their pairs."""
    _, source = read_manifest(folder)
    if split == "train":
        pairs_path = os.path.join(folder, TRAIN_PAIRS)
        names = {n for pair in kp.read_pairs(pairs_path) for n in pair}
    else:
        pairs_path = os.path.join(folder, TEST_PAIRS)
        with open(os.path.join(folder, TEST_IMAGES), encoding="utf-8", newline="") as f:
            names = {row[0] for row in list(csv.reader(f))[1:] if row}
    return load_person_set(source, split, skip_corrupt_images=skip_corrupt_images, names=names,
                           pairs_path=pairs_path)
