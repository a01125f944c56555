"""The FCN of the FCN-score: photo/label pairing, the label stream, a few training steps on the real
facades through the shared loop, exact resumption, settings and weights errors, the command line."""
import io
import json
import os
import subprocess
import sys

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from datasets.files import DataError
from datasets.labels import FACADES, colors_to_ids
from datasets.segmentation import evaluation_batches, load_labelled_images, pair_by_stem, segmentation_batches
from tests.conftest import REPO
from tests.support import FCN_TINY as TINY
from tests.support import tiny_facades
from training import checkpoints as ckpt
from training import fcn_trainer
from training.config import ConfigError, FCNConfig
from training.fcn_step import pixel_accuracy, segmentation_loss
from training.fcn_trainer import build_fcn, load_backbone


def _write(path, rgb):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(np.asarray(rgb, np.uint8), cv2.COLOR_RGB2BGR))


def _halves(size, left, right):
    """A label map (and, painted the same, a photo): class ``left`` on the left quarter, ``right``
    elsewhere, so that a flip moves the boundary."""
    ids = np.full((size, size), right, np.uint8)
    ids[:, : size // 4] = left
    return FACADES.palette[ids]


@pytest.fixture(scope="module")
def data(tmp_path_factory, facades):
    return tiny_facades(tmp_path_factory.mktemp("fcn_data"), facades)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data):
    workdir = str(tmp_path_factory.mktemp("fcn") / "run")
    config = FCNConfig(workdir=workdir, data_dir=data, max_steps=4, **TINY)
    summary = fcn_trainer.train(config, progress_stream=io.StringIO())
    return config, summary


def test_pairing_by_file_stem_and_its_errors(tmp_path):
    for folder, names in (("A", ["x.jpg", "y.jpg"]), ("B", ["y.png", "x.png"])):
        for name in names:
            _write(tmp_path / folder / name, np.zeros((4, 4, 3)))
    pairs = pair_by_stem(str(tmp_path / "A"), str(tmp_path / "B"))
    assert [os.path.basename(p) for p in pairs.photos] == ["x.jpg", "y.jpg"]
    assert [os.path.basename(p) for p in pairs.labels] == ["x.png", "y.png"]
    _write(tmp_path / "A" / "z.jpg", np.zeros((4, 4, 3)))
    with pytest.raises(DataError, match=r"/A: z.jpg have no file of the same name in .*/B"):
        pair_by_stem(str(tmp_path / "A"), str(tmp_path / "B"))
    os.remove(tmp_path / "A" / "z.jpg")
    _write(tmp_path / "B" / "w.png", np.zeros((4, 4, 3)))
    with pytest.raises(DataError, match=r"/B: w.png have no file of the same name in .*/A"):
        pair_by_stem(str(tmp_path / "A"), str(tmp_path / "B"))
    _write(tmp_path / "B" / "x.jpg", np.zeros((4, 4, 3)))
    with pytest.raises(DataError, match="x.jpg and x.png share a name|x.png and x.jpg share a name"):
        pair_by_stem(str(tmp_path / "A"), str(tmp_path / "B"))
    with pytest.raises(DataError, match="no dataset there"):
        load_labelled_images("unpaired", str(tmp_path / "none"), "train")


def test_pix2pix_pairs_are_photo_left_label_right(tmp_path):
    label = _halves(64, 2, 1)
    _write(tmp_path / "train" / "p.png", np.concatenate([np.full_like(label, 90), label], 1))
    _write(tmp_path / "test" / "p.png", np.concatenate([np.full_like(label, 90), label], 1))
    data = load_labelled_images("pix2pix", str(tmp_path), "test")
    batch = next(iter(evaluation_batches(data, FACADES, batch_size=1, ids_size=32, photo_size=32,
                                         label_image_size=32)))
    np.testing.assert_array_equal(batch["ids"][0], colors_to_ids(_halves(32, 2, 1), FACADES))
    np.testing.assert_allclose(batch["photo"][0], 90 / 127.5 - 1, atol=1e-5)
    colours = (np.asarray(batch["label_image"][0]) + 1) * 127.5  # bicubic, like a cycle input
    for part in (np.s_[:, :6], np.s_[:, 10:]):  # away from the boundary: the exact colours
        np.testing.assert_allclose(colours[part], _halves(32, 2, 1)[part], atol=0.5)
    _write(tmp_path / "train" / "odd.png", np.zeros((8, 9, 3)))
    with pytest.raises(DataError, match="odd.png: width 9 is odd"):
        load_labelled_images("pix2pix", str(tmp_path), "train")


def test_stream_flips_photo_and_labels_together_and_resumes_exactly(tmp_path):
    for i in range(3):
        image = _halves(96, 3 + i, 1)  # the 'photo' is painted in the label colours
        _write(tmp_path / "trainA" / f"s{i}.png", image)
        _write(tmp_path / "trainB" / f"s{i}.png", image)
    data = load_labelled_images("unpaired", str(tmp_path), "train")

    def stream(start):
        return [{k: np.asarray(v) for k, v in b.items()} for b in segmentation_batches(
            data, FACADES, seed=5, batch_size=2, image_size=32, flip=True, start_step=start,
            total_steps=6)]

    batches = stream(0)
    flipped = 0
    for batch in batches:
        assert batch["labels"].dtype == np.int32 and batch["labels"].shape == (2, 32, 32)
        assert set(np.unique(batch["labels"])) <= {1, 3, 4, 5}  # nearest resize invents no id
        photo_ids = colors_to_ids((batch["photo"] + 1) * 127.5, FACADES)
        np.testing.assert_array_equal(photo_ids[:, :, 2:6], batch["labels"][:, :, 2:6])
        np.testing.assert_array_equal(photo_ids[:, :, -6:-2], batch["labels"][:, :, -6:-2])
        flipped += int((batch["labels"][:, 0, -1] != 1).sum())
    assert 0 < flipped < 12  # both outcomes of the one flip draw occur
    for got, want in zip(stream(3), batches[3:]):  # a resumed stream is the same stream
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])


def test_loss_ignores_the_void_label():
    logits = np.zeros((1, 1, 3, 4), np.float32)
    logits[0, 0, 0, 2] = 10.0
    labels = np.array([[[2, 255, 1]]], np.int32)
    # pixel 0: -log softmax(10 of 0, 0, 10, 0)[2]; pixel 1: void, skipped; pixel 2: uniform, log 4
    expected = (np.log1p(3 * np.exp(-10.0)) + np.log(4.0)) / 2
    assert float(segmentation_loss(logits, labels)) == pytest.approx(expected, rel=1e-5)
    assert float(pixel_accuracy(logits, labels)) == pytest.approx(0.5)
    assert float(segmentation_loss(logits, np.full((1, 1, 3), 255, np.int32))) == 0.0


def test_a_few_steps_change_the_loss_and_write_a_checkpoint(trained):
    config, summary = trained
    assert summary == {"start_step": 0, "final_step": 4, "finished": True}
    saved = json.load(open(os.path.join(config.workdir, "config.json")))
    assert saved["trainer"] == "fcn" and saved["config"]["fc_width"] == 256
    assert saved["config"]["preprocessing"] == "none" and saved["data"]["photos"]["files"] == 8
    records = [json.loads(line) for line in open(os.path.join(config.workdir, "metrics.jsonl"))]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    # zero-initialised score layers: the first loss is exactly log(12); training lowers it
    assert records[0]["loss"] == pytest.approx(np.log(12), rel=1e-5)
    assert records[-1]["loss"] < records[0]["loss"] - 1e-3
    assert {"cross_entropy", "pixel_acc", "lr"} <= set(records[-1])
    assert ckpt.steps_on_disk(config.workdir) == [2, 4]
    grid = cv2.imread(os.path.join(config.workdir, "samples", "segmentation_step0000004.png"))
    assert grid.shape[1] == 3 * 66 + 2 and grid.shape[0] > 2 * 66 + 2  # 3 columns, a header


def test_resumption_is_exact_dropout_included(trained, tmp_path):
    config, _ = trained
    workdir = str(tmp_path / "resumed")
    first = FCNConfig(workdir=workdir, data_dir=config.data_dir, max_steps=2, **TINY)
    fcn_trainer.train(first, progress_stream=io.StringIO())
    fcn_trainer.train(FCNConfig(workdir=workdir, data_dir=config.data_dir, max_steps=4, **TINY),
                      progress_stream=io.StringIO(), extend=True)
    straight, resumed = ckpt.path_of(config.workdir, 4), ckpt.path_of(workdir, 4)
    names = [n for n, _ in tf.train.list_variables(straight) if "OBJECT_GRAPH" not in n]
    assert any(n.startswith("dropout_seeds/") for n in names)
    for name in names:
        np.testing.assert_array_equal(tf.train.load_variable(straight, name),
                                      tf.train.load_variable(resumed, name), err_msg=name)


@pytest.mark.parametrize("overrides,message", [
    (dict(image_size=48), "--image_size=48: must be a multiple of 32"),
    (dict(label_set="voc"), "--label_set=voc: must be one of facades, cityscapes"),
    (dict(upsampling="nearest"), "--upsampling=nearest: must be one of learned, bilinear"),
    (dict(backbone_weights="imagenet", width=32), "--width=32: --backbone_weights=imagenet is VGG16"),
    (dict(backbone_weights="imagenet", preprocessing="none"),
     "--preprocessing=none: ImageNet VGG16 weights need --preprocessing=vgg"),
    (dict(dataset="synthetic", label_set="cityscapes"), "--dataset=synthetic: the built-in data"),
    (dict(dropout=1.0), "--dropout=1.0: must lie in"),
])
def test_bad_settings_name_the_flag(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        FCNConfig(**overrides)


def test_config_resolves_the_derived_defaults(tmp_path):
    config = FCNConfig(data_dir="data/x", width=8, backbone_weights="none")
    assert (config.fc_width, config.preprocessing) == (512, "none")
    assert config.data_dir == os.path.abspath("data/x")
    assert FCNConfig(label_set="cityscapes", dataset="pix2pix").data_dir.endswith(
        "data/cityscapes-pix2pix")
    pretrained = FCNConfig(backbone_weights=str(tmp_path / "w.h5"))
    assert pretrained.preprocessing == "vgg" and FCNConfig.from_dict(pretrained.to_dict()) == pretrained


def test_backbone_weights_errors_are_one_line_config_errors(tmp_path, monkeypatch):
    config = FCNConfig(workdir=str(tmp_path / "w"), backbone_weights=str(tmp_path / "vgg.h5"),
                       fc_width=8, image_size=64)
    model = build_fcn(config)
    with pytest.raises(ConfigError, match=r"--backbone_weights=.*vgg.h5: file not found"):
        load_backbone(config, model)

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(ConfigError, match="pass --backbone_weights=PATH") as error:
        load_backbone(FCNConfig(workdir=str(tmp_path / "w"), backbone_weights="imagenet",
                                fc_width=8), model)
    assert "\n" not in str(error.value)


@pytest.mark.e2e
def test_command_line_trains_and_refuses_bad_flags(data, tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "training.fcn", f"--data_dir={data}",
                               "--image_size=64", "--width=4", "--batch_size=2", "--nojit_compile",
                               *args], cwd=REPO, capture_output=True, text=True, timeout=600)

    result = run(f"--workdir={tmp_path / 'w'}", "--max_steps=2", "--log_every=1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "step 2/2" in result.stderr and "pixel_acc" in result.stderr
    assert (tmp_path / "w" / "checkpoints" / "ckpt-2.index").exists()
    assert "--learning_rate=0.0001\n--beta1=0.9\n" in (tmp_path / "w" / "flags.txt").read_text()
    bad = run(f"--workdir={tmp_path / 'bad'}", "--width=8", "--backbone_weights=imagenet")
    assert bad.returncode == 2 and "error: --width=8: --backbone_weights=imagenet" in bad.stderr
    assert not (tmp_path / "bad").exists()
