"""The built-in synthetic persons: determinism, the DeepFashion layout, keypoints that sit on the
rendered body, clothes that survive a pose change, sleeves, and every bad-input path."""
import itertools
import json
import os

import cv2
import numpy as np
import pytest

from datasets.files import DataError
from datasets.persons import keypoints as kp
from datasets.persons import synthetic
from datasets.persons.synthetic import (
    LIP_LABELS,
    ensure_synthetic_persons,
    person_name,
    person_style,
    render_person,
    split_identities,
)

HAIR, FACE, UPPER, PANTS, SKIRT = (LIP_LABELS.index(n) for n in ("Hair", "Face", "Upper-clothes", "Pants",
                                                                  "Skirt"))
L_ARM, R_ARM, L_LEG, R_LEG, L_SHOE, R_SHOE = range(14, 20)
IDS = range(24)


@pytest.fixture(scope="module")
def renders():
    """{(identity, pose): (image, lip, keypoints)} at the full 256 size."""
    return {(i, p): render_person(i, p) for i in IDS for p in range(2)}


def _near(lip, point, classes, radius=3):
    y, x = point
    window = lip[max(y - radius, 0):y + radius + 1, max(x - radius, 0):x + radius + 1]
    return bool(np.isin(window, classes).any())


def test_renders_are_deterministic_and_depend_on_identity_pose_and_seed():
    image, lip, points = render_person(3, 1, size=96)
    assert image.shape == (96, 96, 3) and image.dtype == np.uint8
    assert lip.shape == (96, 96) and lip.dtype == np.uint8 and points.shape == (18, 2)
    again = render_person(3, 1, size=96)
    for a, b in zip((image, lip, points), again):
        np.testing.assert_array_equal(a, b)
    for other in (render_person(3, 0, size=96), render_person(4, 1, size=96),
                  render_person(3, 1, size=96, seed=1)):
        assert not np.array_equal(other[1], lip)


def keypoint_problems(lip, points):
    """Names of the joints that are not where the label map says the body is."""
    ok, bad = kp.present(points), []
    needed = [kp.NOSE, kp.NECK, kp.R_SHOULDER, kp.L_SHOULDER, kp.R_ELBOW, kp.L_ELBOW, kp.R_HIP, kp.L_HIP,
              kp.R_KNEE, kp.L_KNEE, kp.R_ANKLE, kp.L_ANKLE, kp.R_EYE, kp.L_EYE]
    bad += [kp.JOINTS[j] + " missing" for j in needed if not ok[j]]
    if not ((points[ok] >= 0) & (points[ok] < lip.shape[0])).all():
        return bad + ["outside the image"]
    bad += [kp.JOINTS[j] for j in (kp.NOSE, kp.L_EYE, kp.R_EYE) if lip[tuple(points[j])] != FACE]
    # The person's left is on the image's right (front view), in joints and in labels alike.
    if points[kp.L_SHOULDER, 1] <= points[kp.R_SHOULDER, 1] or points[kp.L_HIP, 1] <= points[kp.R_HIP, 1]:
        bad.append("left and right swapped")
    hands = [L_ARM, R_ARM]  # a hand may cover a hip
    for joint, classes in ((kp.L_WRIST, L_ARM), (kp.R_WRIST, R_ARM), (kp.L_ANKLE, [L_LEG, L_SHOE]),
                           (kp.R_ANKLE, [R_LEG, R_SHOE]), (kp.L_SHOULDER, UPPER), (kp.R_SHOULDER, UPPER),
                           (kp.L_ELBOW, [L_ARM, UPPER]), (kp.R_ELBOW, [R_ARM, UPPER]),
                           (kp.L_HIP, [UPPER, PANTS, SKIRT] + hands),
                           (kp.R_HIP, [UPPER, PANTS, SKIRT] + hands),
                           (kp.L_KNEE, [PANTS, SKIRT, L_LEG]), (kp.R_KNEE, [PANTS, SKIRT, R_LEG]),
                           (kp.L_EAR, [FACE, HAIR]), (kp.R_EAR, [FACE, HAIR])):
        if ok[joint] and not _near(lip, points[joint], classes):
            bad.append(kp.JOINTS[joint])
    return bad


def clothes_problems(identity, renders):
    """What is wrong with an identity's two poses: same clothes, different pose, distinct garments."""
    (im0, lip0, pts0), (im1, lip1, pts1) = renders[identity, 0], renders[identity, 1]
    bad = []
    both = kp.present(pts0) & kp.present(pts1)
    if np.abs(pts0[both] - pts1[both]).max() <= 10:
        bad.append("same pose")
    # The mean, not the median: a striped region's median may flip between the two colours.
    if np.abs(im0[lip0 == UPPER].mean(0) - im1[lip1 == UPPER].mean(0)).max() >= 8:
        bad.append("upper clothes changed colour")
    if np.abs(im0[lip0 == UPPER].mean(0) - im0[np.isin(lip0, [PANTS, SKIRT])].mean(0)).max() <= 40:
        bad.append("upper and lower clothes alike")
    return bad


def garment_problems(style, lip, points):
    """Sleeves and lower garments against the identity's style."""
    bad = []
    for wrist, elbow, shoulder, arm in ((kp.L_WRIST, kp.L_ELBOW, kp.L_SHOULDER, L_ARM),
                                        (kp.R_WRIST, kp.R_ELBOW, kp.R_SHOULDER, R_ARM)):
        if not kp.present(points)[wrist]:
            continue  # a hand behind the back
        forearm = tuple(np.round(0.4 * points[elbow] + 0.6 * points[wrist]).astype(int))
        upper_arm = tuple(np.round(0.8 * points[shoulder] + 0.2 * points[elbow]).astype(int))
        if lip[forearm] != (arm if style["sleeves"] == "short" else UPPER):
            bad.append(f"{kp.JOINTS[wrist]}: forearm is {LIP_LABELS[lip[forearm]]}, "
                       f"sleeves {style['sleeves']}")
        if lip[upper_arm] != UPPER:
            bad.append(f"{kp.JOINTS[shoulder]}: no sleeve")
    bottom = style["bottom"]
    if (lip == SKIRT).any() != (bottom == "skirt") or (lip == PANTS).any() != (bottom != "skirt"):
        bad.append(f"lower garment is not {bottom}")
    if bottom != "trousers" and np.isin(lip, [L_LEG, R_LEG]).sum() < 400:
        bad.append(f"{bottom} without visible legs")
    return bad


def test_keypoints_sit_on_the_rendered_body(renders):
    for (i, p), (_, lip, points) in renders.items():
        assert keypoint_problems(lip, points) == [], (i, p)
    ears = np.stack([points[[kp.L_EAR, kp.R_EAR]] for _, _, points in renders.values()])
    assert 0 < (ears[..., 0] < 0).mean() < 0.3  # some occluded ears, as in real annotations


def test_two_poses_of_one_identity_move_but_keep_their_clothes(renders):
    for i in IDS:
        assert clothes_problems(i, renders) == [], i


def test_sleeves_and_lower_garments_show_the_right_classes(renders):
    seen = set()
    for (i, p), (_, lip, points) in renders.items():
        style = person_style(i)
        assert garment_problems(style, lip, points) == [], (i, p)
        seen.add((style["sleeves"], style["bottom"]))
    assert {s for s, _ in seen} == {"short", "long"} and {b for _, b in seen} >= {"skirt", "trousers"}


def test_the_layout_on_disk(tmp_path):
    root = str(tmp_path / "persons")
    assert ensure_synthetic_persons(root, n_train=3, n_test=2, poses_per_person=3, size=64) == root
    for split, n in (("train", 3), ("test", 2)):
        ids = split_identities(split, 3, 2)
        names = [person_name(i, p) for i in ids for p in range(3)]
        assert sorted(os.listdir(os.path.join(root, split))) == sorted(names)
        assert sorted(os.listdir(os.path.join(root, "parsing", split))) == sorted(
            n.replace(".jpg", ".png") for n in names)
        annotation = os.path.join(root, f"fasion-annotation-{split}.csv")
        with open(annotation, encoding="utf-8") as f:
            assert f.readline() == "name:keypoints_y:keypoints_x\n"
        annotations = kp.read_annotations(annotation)
        assert list(annotations) == names
        pairs = kp.read_pairs(os.path.join(root, f"fashion-pairs-{split}.csv"))
        assert pairs == [pair for i in ids for pair in itertools.combinations(
            [person_name(i, p) for p in range(3)], 2)]
        for name in names[:4]:
            identity, pose = int(name[4:9]), int(name.split("_")[2][0]) - 1
            image, lip, points = render_person(identity, pose, size=64)
            stored = cv2.imread(os.path.join(root, "parsing", split, name[:-4] + ".png"),
                                cv2.IMREAD_UNCHANGED)
            assert stored.dtype == np.uint8 and stored.shape == (64, 64) and stored.max() < 20
            np.testing.assert_array_equal(stored, lip)
            photo = cv2.cvtColor(cv2.imread(os.path.join(root, split, name)), cv2.COLOR_BGR2RGB)
            assert np.abs(photo.astype(int) - image).mean() < 3
            np.testing.assert_array_equal(annotations[name], points)
    assert not set(os.listdir(os.path.join(root, "train"))) & set(os.listdir(os.path.join(root, "test")))
    with open(os.path.join(root, "synthetic.json"), encoding="utf-8") as f:
        assert json.load(f)["kind"] == "persons"
    stamp = os.path.getmtime(os.path.join(root, "train", person_name(0, 0)))
    ensure_synthetic_persons(root, n_train=3, n_test=2, poses_per_person=3, size=64)  # identical
    assert os.path.getmtime(os.path.join(root, "train", person_name(0, 0))) == stamp
    ensure_synthetic_persons(root, n_train=1, n_test=1, size=48)  # another spec: regenerated
    assert sorted(os.listdir(os.path.join(root, "test"))) == [person_name(1, 0), person_name(1, 1)]
    assert sorted(os.listdir(tmp_path)) == ["persons"]


def test_a_folder_that_is_not_synthetic_is_refused_and_kept(tmp_path):
    occupied = tmp_path / "deepfashion"
    occupied.mkdir()
    (occupied / "fasion-annotation-test.csv").write_text("mine")
    with pytest.raises(DataError, match="deepfashion: exists and is not a synthetic dataset"):
        ensure_synthetic_persons(str(occupied), n_train=1, n_test=1, size=48)
    assert (occupied / "fasion-annotation-test.csv").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="not a synthetic dataset"):
        ensure_synthetic_persons(str(tmp_path / "file"), n_train=1, n_test=1, size=48)


def test_an_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    calls = itertools.count()
    real = synthetic.render_person

    def failing(*args):
        if next(calls) == 5:
            raise RuntimeError("interrupted")
        return real(*args)

    monkeypatch.setattr(synthetic, "render_person", failing)
    with pytest.raises(RuntimeError, match="interrupted"):
        ensure_synthetic_persons(str(tmp_path / "persons"), n_train=4, n_test=2, size=48, workers=2)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kwargs, message", [
    (dict(poses_per_person=1), "poses_per_person must be >= 2"),
    (dict(n_test=0), "n_train and n_test must be >= 1"),
    (dict(size=16), "size must be >= 32"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ensure_synthetic_persons(str(tmp_path / "x"), **{"n_train": 1, "n_test": 1, **kwargs})
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="split must be one of"):
        split_identities("val", 1, 1)


def test_regenerating_an_old_layout_never_deletes_a_users_files(tmp_path):
    root = str(tmp_path / "persons")
    ensure_synthetic_persons(root, n_train=1, n_test=1, size=48)
    manifest = os.path.join(root, "synthetic.json")
    with open(manifest, encoding="utf-8") as f:
        spec = json.load(f)
    with open(manifest, "w", encoding="utf-8") as f:
        json.dump({**spec, "layout_version": spec["layout_version"] - 1}, f)  # an old layout
    with open(os.path.join(root, "train", "notes.txt"), "w") as f:
        f.write("mine")
    ensure_synthetic_persons(root, n_train=1, n_test=1, size=48)
    with open(manifest, encoding="utf-8") as f:
        assert json.load(f) == spec  # regenerated in the current layout
    assert sorted(os.listdir(tmp_path)) == ["persons", "persons.previous-1"]
    with open(tmp_path / "persons.previous-1" / "train" / "notes.txt") as f:
        assert f.read() == "mine"  # kept whole, beside the new set
    assert not os.path.exists(os.path.join(root, "train", "notes.txt"))
