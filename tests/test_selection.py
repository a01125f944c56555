"""The thesis's DeepFashion selection (--name=deepfashion-swap): the rule on hand-made keypoints,
its counts on the real keypoint rows in ../shared, the seeded draws, and the reader option."""
import collections
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from datasets.files import DataError
from datasets.persons import keypoints as kp
from datasets.persons import selection
from datasets.persons.sources import load_person_sets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared", "data", "deepfashion")
ANNOTATIONS = os.path.join(SHARED, "fasion-annotation-test.csv")
needs_shared = pytest.mark.skipif(not os.path.isfile(ANNOTATIONS),
                                  reason=f"{SHARED}: the real keypoint rows are not beside the "
                                         "repository (../shared)")


def person(**changes):
    """A front-facing full-body person (y, x): their right side on the image's left."""
    joints = {"nose": (40, 128), "neck": (70, 128), "r_shoulder": (75, 100), "r_elbow": (110, 95),
              "r_wrist": (140, 92), "l_shoulder": (75, 156), "l_elbow": (110, 161),
              "l_wrist": (140, 164), "r_hip": (150, 110), "r_knee": (195, 108),
              "r_ankle": (240, 107), "l_hip": (150, 146), "l_knee": (195, 148),
              "l_ankle": (240, 149), "r_eye": (35, 120), "l_eye": (35, 136), "r_ear": (38, 112),
              "l_ear": (38, 144)}
    joints.update(changes)
    return np.array([joints[name] for name in kp.JOINTS], np.int32)


def test_each_criterion_rejects_what_it_names():
    gone = (-1, -1)
    rows = {
        "front": person(),
        "one shoulder": person(l_shoulder=gone),
        "no hip": person(r_hip=gone),
        "no eye": person(l_eye=gone),
        "no nose": person(nose=gone),
        # seen from behind: the same places, left and right exchanged (a mirror would keep both)
        "back view": person()[list(kp.FLIP)],
        "mirrored front": kp.flip(person(), 256),
        "shoulders crossed only": person(r_shoulder=(75, 160), l_shoulder=(75, 100)),
        "upper body only": person(r_knee=gone, l_knee=gone, r_ankle=gone, l_ankle=gone),
        "one ankle": person(r_knee=gone, l_knee=gone, r_ankle=gone),
    }
    found = selection.criteria(np.stack(list(rows.values())))
    failed = {name: [c for c in selection.RULE if not found[c][i]] for i, name in enumerate(rows)}
    assert failed == {"front": [], "one shoulder": ["shoulders", "facing"], "no hip": ["hips", "facing"],
                      "no eye": ["face"], "no nose": ["face"], "back view": ["facing"], "mirrored front": [],
                      "shoulders crossed only": ["facing"], "upper body only": ["legs"],
                      "one ankle": []}
    kept, counts = selection.select(dict(zip(rows, rows.values())))
    assert kept == ["front", "mirrored front", "one ankle"]
    assert counts["cumulative"] == {"shoulders": 9, "hips": 8, "face": 6, "facing": 4, "legs": 3}
    assert counts["alone"]["legs"] == 9 and counts["rows"] == 10


@needs_shared
def test_counts_on_the_real_keypoint_rows():
    """The numbers in docs/inception-and-deepfashion.md: 4,038 rows of the public test split."""
    annotations = kp.read_annotations(ANNOTATIONS)
    kept, counts = selection.select(annotations)
    assert counts == {"rows": 4038,
                      "alone": {"shoulders": 3393, "hips": 3272, "face": 2582, "facing": 2229,
                                "legs": 1443},
                      "cumulative": {"shoulders": 3393, "hips": 3264, "face": 2516, "facing": 2115,
                                     "legs": 1133}}
    view = collections.Counter(re.search(r"_\d+([a-z]+)\.jpg$", n).group(1) for n in kept)
    # the file names' view tags agree with the keypoint rule: full-body and front views kept,
    # back views (816 rows) almost all rejected
    assert view == {"full": 475, "front": 355, "additional": 192, "side": 106, "back": 5}


def _shared_source(tmp_path):
    """The real test rows as both splits of a DeepFashion folder (no images)."""
    source = tmp_path / "deepfashion"
    source.mkdir()
    for split in ("train", "test"):
        shutil.copy(ANNOTATIONS, source / f"fasion-annotation-{split}.csv")
        shutil.copy(os.path.join(SHARED, "fashion-pairs-test.csv"), source / f"fashion-pairs-{split}.csv")
    return source


@needs_shared
def test_draws_on_the_real_rows_are_seeded_disjoint_same_person_pairs(tmp_path):
    source = _shared_source(tmp_path)
    out = tmp_path / "swap"
    manifest = selection.prepare_selection(str(source), str(out), seed=0)
    # the public test split alone cannot give the thesis's sizes: all that is there is taken
    assert manifest["drawn"] == {"train_pairs": 237, "test_images": 1133, "test_pairs": 686}
    assert manifest["requested"] == {"train_pairs": 3000, "test_images": 1372}
    assert manifest["rows"]["train"]["disjoint_pairs"] == 237 and manifest["source"] == "../deepfashion"
    pairs = kp.read_pairs(str(out / selection.TRAIN_PAIRS))
    kept = set(selection.select(kp.read_annotations(ANNOTATIONS))[0])
    images = [n for p in pairs for n in p]
    assert len(images) == len(set(images)) == 474 and set(images) <= kept
    item = re.compile(r"^(.*)_\d+[a-z]+\.jpg$")
    assert all(item.match(a).group(1) == item.match(b).group(1) for a, b in pairs)  # same person
    smaller = selection.prepare_selection(str(source), str(tmp_path / "s1"), train_pairs=100,
                                          test_images=500, seed=1)
    for name, seed in (("s1b", 1), ("s2", 2)):
        selection.prepare_selection(str(source), str(tmp_path / name), train_pairs=100,
                                    test_images=500, seed=seed)
    assert smaller["drawn"]["train_pairs"] == 100 and smaller["drawn"]["test_images"] == 500
    read = {name: (tmp_path / name / selection.TEST_IMAGES).read_text() for name in ("s1", "s1b", "s2")}
    assert read["s1"] == read["s1b"] != read["s2"]
    with pytest.raises(DataError, match="a selection is already there"):
        selection.prepare_selection(str(source), str(out))


def test_training_reads_the_selection_and_needs_the_images(synthetic_persons, tmp_path):
    out = tmp_path / "swap"
    manifest = selection.prepare_selection(synthetic_persons, str(out), train_pairs=4,
                                           test_images=4, seed=0)
    assert manifest["drawn"]["train_pairs"] == 4 and manifest["drawn"]["test_images"] == 4
    train, test = load_person_sets("deepfashion-swap", str(out))
    chosen = kp.read_pairs(str(out / selection.TRAIN_PAIRS))
    assert train.num_pairs == 4 and train.num_images == 8
    assert sorted((train.names[a], train.names[b]) for a, b in train.pairs) == sorted(chosen)
    assert test.num_images == 4 and test.num_pairs == manifest["drawn"]["test_pairs"] >= 1
    assert train.root == synthetic_persons and train.fingerprint()["pairs"] == 4
    # keypoints alone were enough to select; without the images, training stops as before
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in os.listdir(synthetic_persons):
        if name.endswith(".csv"):
            shutil.copy(os.path.join(synthetic_persons, name), bare / name)
    selection.prepare_selection(str(bare), str(tmp_path / "bare-swap"), train_pairs=4,
                                test_images=4)
    with pytest.raises(DataError, match=f"{bare / 'train'}: folder not found"):
        load_person_sets("deepfashion-swap", str(tmp_path / "bare-swap"))
    with pytest.raises(DataError, match="selection.json: not found; make a selection"):
        load_person_sets("deepfashion-swap", str(bare))


def test_prepare_command_writes_the_selection(synthetic_persons, tmp_path):
    out = tmp_path / "swap"
    done = subprocess.run([sys.executable, "-m", "datasets.prepare", "--name=deepfashion-swap",
                           f"--data_dir={synthetic_persons}", f"--out={out}", "--train_pairs=3",
                           "--test_images=6"], cwd=REPO, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": REPO})
    assert done.returncode == 0, done.stderr
    assert "train: 12 keypoint rows" in done.stdout
    assert "3 training pairs (3 requested), 6 test images (6 requested), 3 test pairs" in done.stdout
    assert (out / selection.MANIFEST).is_file()
    missing = subprocess.run([sys.executable, "-m", "datasets.prepare", "--name=deepfashion-swap",
                              f"--out={tmp_path / 'x'}"], cwd=REPO, capture_output=True, text=True, check=False,
                             env={**os.environ, "PYTHONPATH": REPO})
    assert missing.returncode != 0 and "needs --data_dir" in missing.stderr
