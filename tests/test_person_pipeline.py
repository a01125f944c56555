"""The SwapGAN pair stream: conventions, determinism, exact resumption, the random reference /
condition choice, alignment of every map with its image, and the mirror."""
import cv2
import numpy as np
import pytest

from datasets.files import DataError
from datasets.persons import keypoints as kp
from datasets.persons.deepfashion import load_person_set
from datasets.persons.pipeline import fixed_pairs, pair_batches, pair_stream, person_example, steps_per_epoch
from tests.support import BG, fake_person, make_layout

S = 32
KEYS = ("x", "p", "s", "m", "h")


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    return load_person_set(make_layout(tmp_path_factory.mktemp("people"), n=4), "train")


def _collect(person_set, **kw):
    args = dict(seed=5, batch_size=2, image_size=S, start_step=0, total_steps=4)
    args.update(kw)
    return [{k: v.numpy() for k, v in b.items()} for b in pair_batches(person_set, **args)]


def test_shapes_dtypes_ranges_and_heatmaps(people):
    assert steps_per_epoch(people, 2) == 1 and steps_per_epoch(people, 8) == 1
    batches = _collect(people, total_steps=1, heatmaps=True)
    batch = batches[0]
    channels = dict(x=3, p=3, s=6, m=1, h=1, heat=18)
    assert set(batch) == {k + s for k in channels for s in ("_r", "_c")}
    for key, value in batch.items():
        assert value.shape == (2, S, S, channels[key[:-2]]) and value.dtype == np.float32, key
    for key in ("x_r", "p_c"):
        assert batch[key].min() >= -1.0 and batch[key].max() <= 1.0
    assert batch["p_r"].min() == -1.0 and batch["p_r"].max() == 1.0  # black canvas, saturated joints
    for key in ("s_r", "m_c", "h_r"):
        assert set(np.unique(batch[key])) == {0.0, 1.0}
    np.testing.assert_array_equal(batch["s_r"].sum(-1), 1.0)
    np.testing.assert_array_equal(batch["m_r"][..., 0], 1.0 - batch["s_r"][..., 0])
    np.testing.assert_array_equal(batch["h_c"][..., 0], batch["s_c"][..., 1])
    assert 0.99 < batch["heat_r"].max() <= 1.0


def test_same_seed_same_batches_and_exact_resume(people):
    full = _collect(people, total_steps=6)
    again = _collect(people, total_steps=6)
    resumed = _collect(people, start_step=4, total_steps=6)
    assert len(full) == 6 and len(resumed) == 2
    for a, b in zip(full, again):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    for a, b in zip(full[4:], resumed):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    other = _collect(people, seed=6, total_steps=6)
    assert any(not np.array_equal(a["x_r"], b["x_r"]) for a, b in zip(full, other))


def test_every_epoch_visits_each_pair_once_with_a_random_reference():
    order, swap, flip = pair_stream(5, seed=1, num_examples=200)
    for epoch in range(40):
        assert sorted(order[5 * epoch:5 * epoch + 5]) == list(range(5))
    for pair in range(5):  # each pair is served both ways round over the epochs
        assert set(swap[order == pair]) == {False, True}
    assert 0.3 < flip.mean() < 0.7
    again = pair_stream(5, seed=1, num_examples=7)
    for a, b in zip(again, (order, swap, flip)):
        np.testing.assert_array_equal(a, b[:7])


def test_reference_and_condition_swap_across_epochs_in_the_batches(people):
    singles = [person_example(p, people.keypoints[i], people.parsing_paths[i], image_size=S)["x"]
               for i, p in enumerate(people.paths)]

    def which(x):
        return int(np.argmin([np.abs(x - s).max() for s in singles]))

    seen = set()
    for batch in _collect(people, batch_size=1, total_steps=16):
        r, c = which(batch["x_r"][0]), which(batch["x_c"][0])
        assert sorted((r, c)) in ([0, 1], [2, 3])  # always the two images of one pair
        seen.add((r, c))
    assert seen == {(0, 1), (1, 0), (2, 3), (3, 2)}


def test_maps_are_aligned_with_the_image(people):
    """Where the drawn person is, the mask is 1; away from it, the image is the background."""
    batch = _collect(people, total_steps=2)[1]
    background = np.array(BG, np.float32) / 127.5 - 1.0
    for side in ("_r", "_c"):
        for x, m, h, s in zip(batch["x" + side], batch["m" + side][..., 0], batch["h" + side][..., 0],
                              batch["s" + side]):
            differs = np.abs(x - background).max(-1) > 0.05
            assert differs[m > 0].all()
            # Bicubic resampling reaches 2 output pixels beyond the person, no further.
            near = cv2.dilate(m.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
            assert not differs[~near].any()
            skin = np.abs(x - (np.array([220, 170, 140]) / 127.5 - 1)).max(-1) < 0.05
            assert skin.any() and (h[skin] + s[skin][:, 2]).min() == 1  # face: head; bare arms: arms


def test_pose_and_keypoint_segmentation_follow_the_keypoints(tmp_path):
    data = load_person_set(make_layout(tmp_path, n=4, parsing=False), "train")
    batch = fixed_pairs(data, 5, S)  # as many as there are
    assert batch["x_r"].shape == (2, S, S, 3) and batch["m_c"].shape == (2, S, S, 1)
    for row in range(2):
        for side, column in (("_r", 0), ("_c", 1)):
            points = kp.resize_frame(data.keypoints[data.pairs[row, column]], 256, S)
            on = batch["p" + side][row][points[:, 0], points[:, 1]]
            assert (on > -1).any(-1).all()  # every joint is drawn
            assert batch["m" + side][row][points[:, 0], points[:, 1], 0].all()
            assert batch["h" + side][row][points[kp.NOSE, 0], points[kp.NOSE, 1], 0] == 1


def test_flip_mirrors_image_maps_and_swaps_left_and_right_colours(people):
    plain = _collect(people, batch_size=1, total_steps=8)
    mirrored = _collect(people, batch_size=1, total_steps=8, flip=True)
    order, swap, flips = pair_stream(people.num_pairs, 5, 8)
    assert flips.any() and not flips.all()
    k = int(np.argmax(flips))  # the pipeline's mirror = mirroring the files by hand
    ref = people.pairs[order[k], int(swap[k])]
    image = cv2.cvtColor(cv2.imread(people.paths[ref]), cv2.COLOR_BGR2RGB)[:, ::-1]
    labels = cv2.imread(people.parsing_paths[ref], cv2.IMREAD_UNCHANGED)[:, ::-1]
    by_hand = person_example(image, kp.flip(people.keypoints[ref], 256), labels, image_size=S)
    for key in KEYS:
        np.testing.assert_allclose(mirrored[k][key + "_r"][0], by_hand[key], atol=1e-5)
    for a, b, flipped in zip(plain, mirrored, flips):
        for side in ("_r", "_c"):
            if not flipped:
                np.testing.assert_array_equal(a["x" + side], b["x" + side])
                continue
            np.testing.assert_allclose(b["x" + side], a["x" + side][:, :, ::-1], atol=1e-5)
            np.testing.assert_array_equal(b["m" + side], a["m" + side][:, :, ::-1])
            np.testing.assert_array_equal(b["s" + side], a["s" + side][:, :, ::-1])
    # At 256 px the person's right wrist (image left) is joint 4 under limb 3; mirrored, the same
    # spot of the mirrored image shows the person's left wrist: joint 7 under limb 5 (6-7).
    image, labels, keypoints = fake_person()
    straight = person_example(image, keypoints, labels, image_size=256)["p"]
    mirror = person_example(image[:, ::-1], kp.flip(keypoints, 256), labels[:, ::-1], image_size=256)["p"]
    y, x = keypoints[kp.R_WRIST] - (3, 0)  # 3 px up the forearm
    np.testing.assert_allclose((straight[y, x] + 1) * 127.5, [221, 255, 0], atol=1e-4)
    np.testing.assert_allclose((mirror[y, 255 - x] + 1) * 127.5, [51, 255, 34], atol=1e-4)


def test_person_example_accepts_crops_and_names_bad_input(tmp_path, people):
    image, labels, keypoints = fake_person()
    full = person_example(image, keypoints, labels, image_size=S)
    crop = person_example(image[:, 40:216], keypoints, labels[:, 40:216], image_size=S)
    assert set(full) == set(KEYS)
    for key in KEYS:
        np.testing.assert_allclose(full[key], crop[key], atol=1e-6)
    path = people.paths[0]
    from_file = person_example(path, people.keypoints[0], people.parsing_paths[0], image_size=S)
    first = fixed_pairs(people, 1, S)
    for key in KEYS:
        np.testing.assert_allclose(from_file[key], first[key + "_r"][0], atol=1e-6)
    with pytest.raises(DataError, match=r"image of shape \(100, 100, 3\)"):
        person_example(np.zeros((100, 100, 3), np.uint8), keypoints, image_size=S)
    with pytest.raises(DataError, match="parsing map is"):
        person_example(image, keypoints, labels[:128], image_size=S)
