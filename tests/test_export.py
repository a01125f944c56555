"""evaluation.export: each export, reloaded with plain TensorFlow / Keras, gives exactly the images
evaluation.translate and evaluation.swap write for the same inputs.

The runs are tiny networks checkpointed directly (no training): a config.json and a checkpoint of
generators built from another seed than the config's, so that a restore that silently failed
(fresh initialisation) would not match.
"""
import json
import os
import subprocess
import sys

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from evaluation.export import export
from evaluation.swap import Swapper
from evaluation.translate import translate_folder
import models.serving  # noqa: F401 (registers the serving layers for keras.saving.load_model)
from training import cycle_trainer, swapgan_trainer
from training import workdir as wd
from training.config import ConfigError, CycleConfig, SwapConfig
from training.summaries import to_uint8

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _checkpoint(workdir, nets, step):
    tf.train.CheckpointManager(
        tf.train.Checkpoint(step=tf.Variable(step, dtype=tf.int64), **nets.generators()),
        os.path.join(workdir, wd.CHECKPOINT_DIR), max_to_keep=None,
        checkpoint_name="ckpt").save(checkpoint_number=step)


@pytest.fixture(scope="module")
def cycle_run(tmp_path_factory):
    """A Long CycleGAN run (M=2, N=1) at 32 px with checkpoints at steps 3 and 5."""
    workdir = str(tmp_path_factory.mktemp("cycle") / "long")
    config = CycleConfig(workdir=workdir, dataset="unpaired", data_dir=workdir, image_size=32,
                         load_size=36, ngf=8, ndf=8, n_blocks=1, variant="long", M=2, N=1)
    os.makedirs(workdir)
    wd.record(workdir, config, cycle_trainer.TRAINER)
    for step, seed in ((3, 5), (5, 6)):
        _checkpoint(workdir, cycle_trainer.build_nets(CycleConfig(**{**config.to_dict(),
                                                                     "seed": seed})), step)
    return workdir


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Three random 40 x 48 photos on disk (resized to 32 px on the way in) and their pixels."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (3, 40, 48, 3), dtype=np.uint8)
    for i, image in enumerate(pixels):
        cv2.imwrite(str(folder / f"p{i}.png"), image[..., ::-1])
    return str(folder), pixels


def _translated(workdir, photos, direction, out, step=None):
    folder, pixels = photos
    written = translate_folder(workdir, folder, direction, output_dir=out, step=step)
    return np.stack([cv2.imread(os.path.join(written, f"p{i}.png"))[..., ::-1]
                     for i in range(len(pixels))])


def test_cycle_keras_export_of_an_earlier_step(cycle_run, photos, tmp_path):
    out = str(tmp_path / "export")
    assert export(cycle_run, out, "keras", step=3)["step"] == 3
    assert sorted(os.listdir(out)) == ["a2b.keras", "b2a.keras", "export.json"]
    for direction in ("a2b", "b2a"):
        model = keras.saving.load_model(os.path.join(out, f"{direction}.keras"))
        got = np.asarray(model(photos[1]))
        want = _translated(cycle_run, photos, direction, str(tmp_path / direction), step=3)
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)


def test_export_refuses_what_it_cannot_do(cycle_run, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"full: exists and is not empty; pass --overwrite"):
        export(cycle_run, str(tmp_path / "full"))
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    with pytest.raises(ConfigError, match="--format=onnx: must be one of saved_model, keras"):
        export(cycle_run, str(tmp_path / "x"), "onnx")
    with pytest.raises(ConfigError, match=r"no checkpoint at step 4; kept steps: \[3, 5\]"):
        export(cycle_run, str(tmp_path / "x"), step=4)
    other = tmp_path / "fcn"
    other.mkdir()
    (other / wd.CONFIG_FILE).write_text(json.dumps({"trainer": "fcn", "config": {}}))
    with pytest.raises(ConfigError, match=r"fcn/config.json: a 'fcn' run; export handles"):
        export(str(other), str(tmp_path / "x"))
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()


@pytest.fixture(scope="module")
def swap_run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("swap") / "full")
    config = SwapConfig(workdir=workdir, dataset="synthetic", data_dir=workdir, image_size=32,
                        ngf=8, ndf=8, n_blocks=1, generators="I,II,III")
    os.makedirs(workdir)
    wd.record(workdir, config, swapgan_trainer.TRAINER)
    _checkpoint(workdir, swapgan_trainer.build_nets(SwapConfig(**{**config.to_dict(), "seed": 7})),
                2)
    return workdir


def _persons(swapper, width, count, seed):
    """(uint8 photos, person_example dicts) of random photos with random keypoints."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, 256, width, 3), dtype=np.uint8)
    points = [np.stack([rng.integers(40, 220, 18), rng.integers(60, 200, 18)], 1) for _ in images]
    return images, [swapper.example(i, p.astype(np.int32)) for i, p in zip(images, points)]


@pytest.mark.parametrize("export_format", ["saved_model", "keras"])
def test_swapgan_export_gives_the_images_of_swap(swap_run, tmp_path, export_format):
    out = str(tmp_path / "export")
    description = export(swap_run, out, export_format)
    assert description["step"] == 2 and list(description["models"]) == ["swap"]
    if export_format == "saved_model":
        signature = tf.saved_model.load(out).signatures["swap"]
        run = lambda **inputs: signature(**{k: tf.constant(v) for k, v in inputs.items()})  # noqa: E731
    else:
        model = keras.saving.load_model(os.path.join(out, "swap.keras"))
        run = lambda **inputs: model(inputs)  # noqa: E731
    swapper = Swapper.from_workdir(swap_run)
    for width in (256, 176):  # the square frame and the DeepFashion crop
        photos_r, refs = _persons(swapper, width, 3, seed=width)
        photos_c, conds = _persons(swapper, width, 3, seed=width + 1)
        want = {k: to_uint8(v) for k, v in swapper.swap(refs, conds).items()}
        # the pose map as the rendered uint8 image it came from, the head mask as 0/1
        pose = np.stack([np.rint((e["p"] + 1.0) * 127.5) for e in refs]).astype(np.uint8)
        head = np.stack([e["h"] for e in refs]).astype(np.uint8)
        assert 0 < head.mean() < 1  # some head to paste, not all head
        got = run(x_r=photos_r, x_c=photos_c, p_r=pose, h_r=head)
        for key in ("x_gi_pasted", "x_gi"):
            assert np.asarray(got[key]).dtype == np.uint8
            np.testing.assert_array_equal(np.asarray(got[key]), want[key])


@pytest.mark.e2e
def test_export_command_writes_a_saved_model_that_translates_as_translate(cycle_run, photos,
                                                                          tmp_path):
    out = str(tmp_path / "export")
    done = subprocess.run([sys.executable, "-m", "evaluation.export", f"--workdir={cycle_run}",
                           f"--out={out}"], cwd=REPO, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out} (saved_model): a2b, b2a of cycle run at step 5" in done.stdout
    with open(os.path.join(out, "export.json")) as f:
        assert json.load(f)["format"] == "saved_model"
    loaded = tf.saved_model.load(out)
    assert set(loaded.signatures) == {"a2b", "b2a", "serving_default"}
    for direction, signature in (("a2b", "a2b"), ("b2a", "b2a"), ("a2b", "serving_default")):
        want = _translated(cycle_run, photos, direction, str(tmp_path / signature))
        got = loaded.signatures[signature](images=tf.constant(photos[1]))["images"].numpy()
        assert got.dtype == np.uint8 and got.shape == (3, 32, 32, 3)
        np.testing.assert_array_equal(got, want)
