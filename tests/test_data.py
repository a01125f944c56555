"""Input pipelines, the synthetic data and every bad-input path."""
import os
import shutil

import cv2
import numpy as np
import pytest

from datasets import cycle_data
from datasets.files import DataError, list_images, scan_images
from datasets.pipeline import Domain, stream_indices, unpaired_batches
from datasets.synthetic_facades import CMP_PALETTE, ensure_synthetic_facades, render_pair


def _write(path, rgb):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _image(seed, h=40, w=40):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_epochs_cover_the_larger_domain_once_with_independent_shuffles():
    idx_a, idx_b = stream_indices(5, 3, seed=1, num_examples=10)
    assert sorted(idx_a[:5]) == list(range(5)) and sorted(idx_a[5:]) == list(range(5))
    assert sorted(idx_b[:3]) == [0, 1, 2]  # the smaller domain cycles within an epoch
    again = stream_indices(5, 3, seed=1, num_examples=10)
    assert np.array_equal(idx_a, again[0]) and np.array_equal(idx_b, again[1])
    assert not np.array_equal(idx_a, stream_indices(5, 3, seed=2, num_examples=10)[0])
    assert not np.array_equal(idx_a[:5], idx_a[5:])  # reshuffled each epoch


def test_unpaired_batches_shapes_range_and_exact_resumption(facades):
    a = Domain(tuple(list_images(os.path.join(facades, "trainA"))[:6]))
    b = Domain(tuple(list_images(os.path.join(facades, "trainB"))[:4]))
    kw = dict(seed=3, batch_size=2, image_size=32, load_size=36, flip=True, total_steps=5)
    full = [x for x in unpaired_batches(a, b, start_step=0, **kw)]
    assert len(full) == 5
    assert full[0]["a"].shape == (2, 32, 32, 3) and full[0]["b"].dtype.name == "float32"
    assert -1.0 <= float(np.min(full[0]["a"])) and float(np.max(full[0]["a"])) <= 1.0
    resumed = [x for x in unpaired_batches(a, b, start_step=3, **kw)]
    assert len(resumed) == 2
    for x, y in zip(full[3:], resumed):
        np.testing.assert_array_equal(x["a"], y["a"])
        np.testing.assert_array_equal(x["b"], y["b"])
    assert not np.array_equal(full[0]["a"], full[1]["a"])


def test_labels_survive_as_palette_colours_in_the_pipeline(facades):
    b = Domain(tuple(list_images(os.path.join(facades, "trainB"))[:1]))
    batch = next(iter(unpaired_batches(b, b, seed=0, batch_size=1, image_size=256, load_size=300,
                                       flip=False, start_step=0, total_steps=1)))
    pixels = ((np.asarray(batch["b"][0]) + 1) * 127.5).reshape(-1, 3)
    distance = np.abs(pixels[:, None, :] - CMP_PALETTE[None].astype(float)).max(-1).min(-1)
    assert np.mean(distance < 2) > 0.99  # load_size = the file size: no resampling, exact colours


def test_synthetic_pairs_are_deterministic_palette_labels(tmp_path):
    photo, label = render_pair(3, size=64)
    photo2, label2 = render_pair(3, size=64)
    assert np.array_equal(photo, photo2) and np.array_equal(label, label2)
    assert not np.array_equal(label, render_pair(4, size=64)[1])
    colours = {tuple(c) for c in label.reshape(-1, 3)}
    assert colours <= {tuple(c) for c in CMP_PALETTE} and len(colours) >= 4
    root = str(tmp_path / "syn")
    ensure_synthetic_facades(root, n_train=3, n_test=2, size=48)
    assert [len(os.listdir(os.path.join(root, s))) for s in ("trainA", "trainB", "testA", "testB")] == [3, 3, 2, 2]
    stamp = os.path.getmtime(os.path.join(root, "trainA", "syn_00000.jpg"))
    ensure_synthetic_facades(root, n_train=3, n_test=2, size=48)  # identical: nothing rewritten
    assert os.path.getmtime(os.path.join(root, "trainA", "syn_00000.jpg")) == stamp
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "mine.txt").write_text("keep me")
    with pytest.raises(DataError, match="not a synthetic dataset"):
        ensure_synthetic_facades(str(occupied), n_train=1, n_test=1, size=48)
    assert (occupied / "mine.txt").read_text() == "keep me"


def test_missing_and_empty_folders_name_the_path(tmp_path):
    with pytest.raises(DataError, match="folder not found"):
        list_images(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=r"empty: no images"):
        list_images(str(tmp_path / "empty"))


def test_corrupt_images_fail_by_name_or_are_skipped_with_a_count(tmp_path):
    good = tmp_path / "good.png"
    _write(good, _image(0))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    with pytest.raises(DataError, match=r"1 of 2 images cannot be decoded: .*bad\.jpg"):
        scan_images([str(good), str(bad)])
    kept, shapes = scan_images([str(good), str(bad)], skip_corrupt=True)
    assert kept == [str(good)] and shapes == [(40, 40, 3)]
    with pytest.raises(DataError, match="none of the 1 images"):
        scan_images([str(bad)], skip_corrupt=True)


def _config(tiny_config, root, **kw):
    return tiny_config(data_dir=str(root), **kw)


def test_unpaired_layout_direction_and_missing_test_split(tmp_path, tiny_config):
    root = tmp_path / "ds"
    for i in range(3):
        _write(root / "trainA" / f"a{i}.png", _image(i))
    for i in range(2):
        _write(root / "trainB" / f"b{i}.png", _image(10 + i))
    data = cycle_data.load_cycle_data(_config(tiny_config, root))
    assert len(data.train_a) == 3 and len(data.train_b) == 2 and data.test_a == data.train_a
    assert data.steps_per_epoch(1) == 3 and data.steps_per_epoch(2) == 1
    swapped = cycle_data.load_cycle_data(_config(tiny_config, root, direction="BtoA"))
    assert swapped.train_a == data.train_b and swapped.train_b == data.train_a
    shutil.rmtree(root / "trainB")
    with pytest.raises(DataError, match=r"trainB: folder not found"):
        cycle_data.load_cycle_data(_config(tiny_config, root))


def test_a_corrupt_training_image_stops_the_run_before_anything_is_written(tmp_path, tiny_config):
    root = tmp_path / "ds"
    for side in "AB":
        for i in range(2):
            _write(root / f"train{side}" / f"{i}.png", _image(i))
    (root / "trainA" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n nothing")
    config = _config(tiny_config, root)
    with pytest.raises(DataError, match="broken.png"):
        cycle_data.load_cycle_data(config)
    data = cycle_data.load_cycle_data(_config(tiny_config, root, skip_corrupt_images=True))
    assert len(data.train_a) == 2


def test_pix2pix_halves_and_odd_width(tmp_path, tiny_config):
    root = tmp_path / "p2p"
    left, right = _image(1), _image(2)
    _write(root / "train" / "1.jpg", np.concatenate([left, right], axis=1))
    _write(root / "val" / "1.png", np.concatenate([right, left], axis=1))
    data = cycle_data.load_cycle_data(_config(tiny_config, root, dataset="pix2pix"))
    assert data.train_a.half == "left" and data.train_b.half == "right"
    assert data.test_a.paths[0].endswith(os.path.join("val", "1.png"))
    a, b = data.sample_images(1, 32)
    assert a.shape == (1, 32, 32, 3)
    _write(root / "train" / "2.png", _image(3, w=41))
    with pytest.raises(DataError, match=r"2\.png: width 41 is odd"):
        cycle_data.load_cycle_data(_config(tiny_config, root, dataset="pix2pix"))


def test_missing_default_dataset_says_how_to_get_it(tmp_path, tiny_config):
    config = tiny_config(data_dir=str(tmp_path / "data" / "facades"))
    with pytest.raises(DataError) as error:
        cycle_data.load_cycle_data(config)
    message = str(error.value)
    assert "python -m datasets.prepare --name=facades" in message and "--dataset=synthetic" in message
    with pytest.raises(DataError, match="--layout=pix2pix"):
        cycle_data.load_cycle_data(tiny_config(dataset="pix2pix", data_dir=str(tmp_path / "x")))


def test_cached_decoding_gives_the_same_stream(facades):
    a = Domain(tuple(list_images(os.path.join(facades, "trainA"))[:3]))
    b = Domain(tuple(list_images(os.path.join(facades, "trainB"))[:2]))
    kwargs = dict(seed=3, batch_size=2, image_size=32, load_size=40, flip=True, start_step=1,
                  total_steps=4)
    plain = list(unpaired_batches(a, b, **kwargs))
    cached = list(unpaired_batches(a, b, cache_decoded=True, **kwargs))
    assert len(plain) == len(cached) == 3
    for x, y in zip(plain, cached):
        for k in "ab":
            np.testing.assert_array_equal(x[k].numpy(), y[k].numpy())
