"""SwapGAN person representations (pose maps, heatmaps, coarse parsing, masks) and the DeepFashion
layout reader, with every bad-input path."""
import os

import cv2
import numpy as np
import pytest

from datasets.files import DataError
from datasets.persons import keypoints as kp
from datasets.persons import parsing as lip
from datasets.persons.deepfashion import detect_keypoint_frame, frame_columns, load_person_set, usable_pairs
from datasets.persons.pose import pose_heatmaps, render_pose_map, scaled_width
from tests.conftest import REPO
from tests.support import fake_person, make_layout, write_rgb

DEEPFASHION = REPO.parent / "shared" / "data" / "deepfashion"
ANNOTATIONS = DEEPFASHION / "fasion-annotation-test.csv"
TEES = "fashionWOMENTees_Tanksid0000508545_1front.jpg"  # line 3: knees and ankles missing
COAT_BACK = "fashionWOMENJackets_Coatsid0000001303_3back.jpg"  # line 60: ears without eyes or nose


@pytest.fixture(scope="module")
def real():
    if not ANNOTATIONS.is_file():
        pytest.skip(f"{ANNOTATIONS}: the real DeepFashion annotations are not beside the repository")
    return kp.read_annotations(str(ANNOTATIONS))


# ---- fake persons and layouts: rectangles on 8-px boundaries, so 256 -> 32 sampling is exact ----
# ---- pose maps ----
def test_pose_map_matches_hand_computed_pixels_on_a_real_row(real):
    keypoints = real[TEES]  # r_elbow (147, 89) -> r_wrist (210, 75): limb 3, colour [255, 255, 0]
    canvas = render_pose_map(keypoints, 256)
    assert canvas.dtype == np.uint8 and canvas.shape == (256, 256, 3)
    np.testing.assert_array_equal(canvas[178, 82], [153, 153, 0])  # limb middle: 0.6 * colour
    # 3 px from the wrist towards the elbow: wrist disc [170, 255, 0] under limb 3 at 0.4 / 0.6.
    np.testing.assert_array_equal(canvas[207, 76], [221, 255, 0])
    np.testing.assert_array_equal(canvas[210, 75], [170, 255, 0])  # the truncated ellipse stops short
    np.testing.assert_array_equal(canvas[0:20, 0:20], 0)  # background stays black
    no_elbow = keypoints.copy()
    no_elbow[kp.R_ELBOW] = -1  # a missing joint takes both its limbs with it
    canvas = render_pose_map(no_elbow, 256)
    np.testing.assert_array_equal(canvas[178, 82], 0)
    np.testing.assert_array_equal(canvas[147, 89], 0)
    np.testing.assert_array_equal(canvas[207, 76], [170, 255, 0])  # only the wrist disc remains


def test_isolated_joint_is_a_pure_disc_of_its_colour_and_missing_knees_draw_nothing(real):
    canvas = render_pose_map(real[COAT_BACK], 256)  # r_ear (44, 148): its limb (14, 16) lacks the eye
    np.testing.assert_array_equal(canvas[44, 148], kp.COLORS[kp.R_EAR])
    np.testing.assert_array_equal(canvas[44, 148 + 4], kp.COLORS[kp.R_EAR])  # radius 4 at 256 px
    np.testing.assert_array_equal(canvas[44, 148 + 6], 0)
    tees = render_pose_map(real[TEES], 256)  # knees missing: no hip-knee or knee-ankle limb
    colours = {tuple(c) for c in tees.reshape(-1, 3)}
    for joint in (kp.R_KNEE, kp.R_ANKLE, kp.L_KNEE, kp.L_ANKLE):
        assert tuple(kp.COLORS[joint]) not in colours
    for limb in (7, 8, 10, 11):  # a limb on the black canvas would be 0.6 of its colour
        assert tuple(np.round(0.6 * kp.COLORS[limb].astype(float)).astype(int)) not in colours
    assert tuple(np.round(0.6 * kp.COLORS[6].astype(float)).astype(int)) in colours  # neck-r_hip


def test_pose_widths_scale_with_size():
    assert [scaled_width(4, s) for s in (32, 64, 128, 256, 512)] == [1, 1, 2, 4, 8]
    keypoints = np.full((18, 2), -1, np.int32)
    keypoints[kp.NOSE] = (10, 10)
    small = render_pose_map(keypoints, 32)
    assert (small.any(-1)).sum() == 5  # a radius-1 disc
    np.testing.assert_array_equal(small[10, 10], kp.COLORS[kp.NOSE])
    with pytest.raises(ValueError, match="shape"):
        render_pose_map(np.zeros((17, 2)), 32)


def test_heatmaps_peak_sigma_float_and_missing_channels():
    keypoints = np.full((18, 2), -1, np.int32)
    keypoints[kp.NECK] = (20, 30)
    heat = pose_heatmaps(keypoints, 64)  # sigma = 6 * 64 / 256 = 1.5
    assert heat.shape == (64, 64, 18) and heat.dtype == np.float32
    assert heat[20, 30, kp.NECK] == 1.0 and np.unravel_index(heat[..., 1].argmax(), (64, 64)) == (20, 30)
    np.testing.assert_allclose(heat[20, 33, kp.NECK], np.exp(-9 / (2 * 1.5 ** 2)), rtol=1e-6)
    np.testing.assert_allclose(heat[22, 32, kp.NECK], np.exp(-8 / 4.5), rtol=1e-6)
    assert 0 < heat[20, 35, kp.NECK] < 0.01  # a float Gaussian, not a one-pixel uint8 spike
    assert not np.delete(heat, kp.NECK, axis=-1).any()
    np.testing.assert_allclose(pose_heatmaps(keypoints, 64, sigma=3.0)[20, 33, 1], np.exp(-0.5), rtol=1e-6)


# ---- parsing, masks ----
def test_lip_to_coarse_table_is_the_documented_regrouping():
    expected = {0: 0, 1: 1, 2: 1, 4: 1, 13: 1, 3: 2, 14: 2, 15: 2, 8: 3, 16: 3, 17: 3, 18: 3, 19: 3,
                5: 4, 6: 4, 7: 4, 10: 4, 11: 4, 9: 5, 12: 5}
    assert len(lip.LIP_LABELS) == 20 and len(expected) == 20
    np.testing.assert_array_equal(lip.coarse_from_lip(np.arange(20)), [expected[i] for i in range(20)])
    assert lip.coarse_from_lip(np.array([[13, 9]], np.uint8)).dtype == np.uint8
    with pytest.raises(DataError, match="x.png: LIP label 20"):
        lip.coarse_from_lip(np.array([0, 20]), where="x.png")
    table = lip.markdown_table()
    assert "| 1 | head | 1 hat, 2 hair, 4 sunglasses, 13 face |" in table
    assert "| 5 | lower_clothes | 9 pants, 12 skirt |" in table
    assert lip.COARSE_PALETTE.shape == (6, 3) and len({tuple(c) for c in lip.COARSE_PALETTE}) == 6


def test_mask_is_the_union_and_head_map_the_head_class():
    coarse = np.array([[0, 1, 2], [3, 4, 5]], np.uint8)
    np.testing.assert_array_equal(lip.person_mask(coarse)[..., 0], [[0, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(lip.head_mask(coarse)[..., 0], [[0, 1, 0], [0, 0, 0]])
    hot = lip.one_hot(coarse)
    assert hot.shape == (2, 3, 6) and hot.dtype == np.float32
    np.testing.assert_array_equal(hot.argmax(-1), coarse)
    np.testing.assert_array_equal(lip.person_mask(coarse)[..., 0], hot[..., 1:].sum(-1))
    assert lip.colorize(coarse).shape == (2, 3, 3)


def test_keypoint_segmentation_covers_every_present_joint_of_every_real_row(real):
    for size in (256, 64):
        for name, keypoints in real.items():
            points = kp.resize_frame(keypoints, 256, size)
            coarse = lip.coarse_from_keypoints(points, size)
            ok = kp.present(points)
            assert coarse[points[ok, 0], points[ok, 1]].all(), (name, size)
    coarse = lip.coarse_from_keypoints(real[TEES], 256)
    assert coarse[tuple(real[TEES][kp.NOSE])] == lip.HEAD
    assert coarse[tuple(real[TEES][kp.R_WRIST])] == lip.ARMS
    assert coarse[140, 128] == lip.UPPER  # mid-torso
    assert not lip.coarse_from_keypoints(np.full((18, 2), -1), 32).any()


def test_keypoint_segmentation_roughly_matches_a_drawn_person():
    _, labels, keypoints = fake_person()
    coarse = lip.coarse_from_keypoints(keypoints, 256)
    truth = lip.coarse_from_lip(labels)
    iou = ((coarse > 0) & (truth > 0)).sum() / ((coarse > 0) | (truth > 0)).sum()
    assert iou > 0.5


# ---- reader ----
def test_reader_loads_a_layout_with_parsing_and_fingerprints_it(tmp_path):
    root = make_layout(tmp_path, n=4)
    data = load_person_set(root, "train")
    assert data.names == ("p0.png", "p1.png", "p2.png", "p3.png")
    np.testing.assert_array_equal(data.pairs, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(data.keypoints[1], fake_person(0, 8)[2])
    assert data.widths == (256,) * 4 and data.keypoint_frame == "full"
    assert not data.approximate_segmentation and data.parsing_paths[0].endswith("parsing/train/p0.png")
    fp = data.fingerprint()
    assert fp["images"] == 4 and fp["pairs"] == 2 and len(fp["sha256"]) == 64
    assert repr(data).endswith("images=4, pairs=2, keypoint_frame='full', approximate_segmentation=False)")
    assert load_person_set(root, "train").fingerprint() == fp
    with open(os.path.join(root, "fashion-pairs-train.csv"), "a") as f:
        f.write("p1.png,p2.png\n")
    changed = load_person_set(root, "train").fingerprint()
    assert changed["pairs"] == 3 and changed["sha256"] != fp["sha256"]


def test_reader_without_parsing_marks_the_segmentation_approximate(tmp_path):
    data = load_person_set(make_layout(tmp_path, n=2, parsing=False), "train")
    assert data.parsing_paths is None and data.approximate_segmentation
    assert data.fingerprint()["approximate_segmentation"]


def test_crop_images_and_crop_frame_csv_are_shifted_into_the_256_frame(tmp_path):
    full = load_person_set(make_layout(tmp_path / "full", n=2), "train")
    crop = load_person_set(make_layout(tmp_path / "crop", n=2, crop=True), "train")
    assert crop.widths == (176, 176) and crop.keypoint_frame == "crop"
    np.testing.assert_array_equal(crop.keypoints, full.keypoints)
    mixed = load_person_set(make_layout(tmp_path / "mixed", n=2, crop=True, csv_frame="full"), "train")
    assert mixed.keypoint_frame == "full"  # 176-wide images, CSV centred on 128: left as it is
    np.testing.assert_array_equal(mixed.keypoints, full.keypoints)
    np.testing.assert_array_equal(frame_columns(176)[[0, 39, 40, 215, 216, 255]], [0, 0, 0, 175, 175, 175])
    np.testing.assert_array_equal(frame_columns(256, flip=True)[:2], [255, 254])


def test_real_rows_in_the_crop_frame_render_the_same_pose_map(tmp_path, real):
    root = tmp_path / "df"
    names = [TEES, COAT_BACK]
    for name in names:
        write_rgb(root / "test" / name, np.full((256, 176, 3), 200, np.uint8))
    kp.write_annotations(root / "fasion-annotation-test.csv",
                         {n: kp.scale(real[n], 1, 1, offset_x=-40) for n in names})
    kp.write_pairs(root / "fashion-pairs-test.csv", [tuple(names)])
    data = load_person_set(str(root), "test")
    assert data.keypoint_frame == "crop"
    np.testing.assert_array_equal(data.keypoints[data.names.index(TEES)], real[TEES])
    canvas = render_pose_map(data.keypoints[data.names.index(TEES)], 256)
    np.testing.assert_array_equal(canvas[207, 76], [221, 255, 0])


def test_frame_detection_rule():
    assert detect_keypoint_frame([50, 90, 120], has_crops=True) == "crop"
    assert detect_keypoint_frame([50, 90, 180], has_crops=True) == "full"  # x >= 176: not a crop
    assert detect_keypoint_frame([100, 128, 160], has_crops=True) == "full"  # centred on 128
    assert detect_keypoint_frame([50, 90, 120], has_crops=False) == "full"


def test_real_rows_without_any_joint_are_never_paired(real):
    keypoints = np.stack(list(real.values()))
    empty = ~(keypoints >= 0).all(-1).any(-1)
    assert int(empty.sum()) == 619
    pairs = kp.read_pairs(str(DEEPFASHION / "fashion-pairs-test.csv"))
    index = {n: i for i, n in enumerate(real)}
    indices = np.array([(index[a], index[b]) for a, b in pairs])
    assert usable_pairs(indices, keypoints).all() and len(indices) == 8570
    indices[0, 1] = np.flatnonzero(empty)[0]
    assert usable_pairs(indices, keypoints).sum() == 8569


def _rewrite(path, old, new):
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace(old, new))


def test_reader_errors_name_the_file(tmp_path):
    root = make_layout(tmp_path / "a", n=4)
    ann, prs = os.path.join(root, "fasion-annotation-train.csv"), os.path.join(root, "fashion-pairs-train.csv")
    with pytest.raises(DataError, match="test: folder not found"):
        load_person_set(root, "test")
    with pytest.raises(DataError, match="split must be one of"):
        load_person_set(root, "val")
    _rewrite(prs, "p2.png,p3.png", "p2.png,p9.png")
    with pytest.raises(DataError, match=r"fashion-pairs-train.csv:3: p9.png not found in .*train"):
        load_person_set(root, "train")
    _rewrite(prs, "p2.png,p9.png", "p2.png,p3.png")
    _rewrite(ann, "p3.png:", "p5.png:")
    with pytest.raises(DataError, match=r"pairs-train.csv:3: p3.png has no keypoint row"):
        load_person_set(root, "train")
    _rewrite(ann, "p5.png:", "p3.png:")
    _rewrite(ann, "p1.png: [", "p1.png: [[")
    with pytest.raises(DataError, match=r"fasion-annotation-train.csv:3"):
        load_person_set(root, "train")
    _rewrite(ann, "p1.png: [[", "p1.png: [")
    _rewrite(ann, "p1.png: [44, 60", "p1.png: [44, 300")
    with pytest.raises(DataError, match=r"annotation-train.csv:3: p1.png joint neck .* outside"):
        load_person_set(root, "train")
    _rewrite(ann, "p1.png: [44, 300", "p1.png: [44, 60")
    load_person_set(root, "train")
    os.remove(prs)
    with pytest.raises(DataError, match="fashion-pairs-train.csv: file not found"):
        load_person_set(root, "train")


def test_reader_rejects_bad_parsing_maps(tmp_path):
    root = make_layout(tmp_path, n=2)
    parsing = os.path.join(root, "parsing", "train", "p1.png")
    assert cv2.imwrite(parsing, np.zeros((128, 128), np.uint8))
    with pytest.raises(DataError, match="p1.png: parsing map is 128x128, its image is 256x256"):
        load_person_set(root, "train")
    assert cv2.imwrite(parsing, np.full((256, 256), 21, np.uint8))
    with pytest.raises(DataError, match="p1.png: LIP label 21"):
        load_person_set(root, "train")
    os.remove(parsing)
    with pytest.raises(DataError, match="p1.png: parsing map missing"):
        load_person_set(root, "train")


def test_reader_rejects_bad_images_or_skips_undecodable_ones(tmp_path):
    root = make_layout(tmp_path, n=4)
    with open(os.path.join(root, "train", "p3.png"), "wb") as f:
        f.write(b"not an image")
    with pytest.raises(DataError, match="1 of 4 images cannot be decoded: .*p3.png"):
        load_person_set(root, "train")
    data = load_person_set(root, "train", skip_corrupt_images=True)
    assert data.names == ("p0.png", "p1.png", "p2.png") and data.num_pairs == 1
    write_rgb(os.path.join(root, "train", "p3.png"), np.zeros((200, 150, 3), np.uint8))
    with pytest.raises(DataError, match=r"p3.png: image size 200x150 \(HxW\); accepted: 256x256 or 256x176"):
        load_person_set(root, "train")


def test_pairs_without_joints_are_dropped_and_an_empty_split_is_an_error(tmp_path):
    root = make_layout(tmp_path, n=4)
    ann = os.path.join(root, "fasion-annotation-train.csv")
    annotations = kp.read_annotations(ann)
    annotations["p0.png"] = np.full((18, 2), -1)
    kp.write_annotations(ann, annotations)
    data = load_person_set(root, "train")
    np.testing.assert_array_equal(data.pairs, [[2, 3]])
    np.testing.assert_array_equal(data.posed(), [1, 2, 3])
    annotations["p3.png"] = np.full((18, 2), -1)
    kp.write_annotations(ann, annotations)
    with pytest.raises(DataError, match="no usable pairs in split 'train'"):
        load_person_set(root, "train")
