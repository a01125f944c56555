"""VITON's coarse stage (Table 8.2): network, representation and objective maths, train steps,
exact resumption, the command line end to end, the inference wrapper and every bad path."""
import io
import json
import os
import shutil
import subprocess
import sys

from absl import flags as absl_flags
import keras
import numpy as np
import pytest
import tensorflow as tf

from datasets.persons.deepfashion import load_person_set
from datasets.persons.pipeline import pair_batches
from evaluation.methods import person_batch
from evaluation.viton_method import VitonMethod
from flags.viton import define_viton_flags, viton_config
from models import viton
from tests.conftest import REPO
from tests.support import VITON_TINY as TINY
from training import checkpoints as ckpt
from training import viton_trainer
from training import workdir as wd
from training.config import ConfigError, VitonConfig
from training.viton_step import make_viton_train_step

S = 32
TINY_FLAGS = ["--image_size=32", "--ngf=4", "--n_layers=3", "--batch_size=2", "--num_samples=2"]


@pytest.fixture
def tiny(tmp_path, synthetic_persons):
    def make(**overrides):
        values = dict(workdir=str(tmp_path / "run"), dataset="synthetic", data_dir=synthetic_persons,
                      **TINY)
        values.update(overrides)
        return VitonConfig(**values)

    return make


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A randomly initialised VGG19 saved as Keras's no-top file (the legacy .h5 it downloads)."""
    path = tmp_path_factory.mktemp("vgg") / viton.VGG19_IMAGENET_NOTOP.fname
    keras.applications.VGG19(include_top=False, weights=None).save(path)
    return str(path)


def _batch(person_dir, size=S, batch_size=2):
    train = load_person_set(person_dir, "train")
    batches = pair_batches(train, seed=0, batch_size=batch_size, image_size=size, start_step=0,
                           total_steps=1, heatmaps=True)
    return next(iter(batches))


def test_full_size_network_shapes_and_parameter_count():
    net = viton.viton_generator(128)
    convs = (16 * 25 * 64 + 64 + 16 * (64 * 128 + 128 * 256 + 256 * 512 + 2 * 512 * 512)  # down
             + 16 * (512 * 512 + 1024 * 512 + 1024 * 256 + 512 * 128 + 256 * 64) + 16 * 128 * 4 + 4)
    norms = 2 * (128 + 256 + 512 * 3 + 512 + 512 + 256 + 128 + 64)  # gamma, beta of 9 batch norms
    assert sum(int(np.prod(v.shape)) for v in net.trainable_variables) == convs + norms == 29_269_700
    assert net.count_params() == convs + 2 * norms == 29_276_484  # + moving mean and variance
    image, mask = net(np.zeros((1, 128, 128, viton.IN_CHANNELS), np.float32))
    assert image.shape == (1, 128, 128, 3) and mask.shape == (1, 128, 128, 1)
    assert net.get_layer("down_6").output.shape == (None, 2, 2, 512)
    tiny = viton.viton_generator(S, ngf=4, n_layers=3)
    image, mask = tiny(np.random.default_rng(0).normal(size=(2, S, S, 25)).astype(np.float32) * 5)
    assert -1 <= float(np.min(image)) and float(np.max(image)) <= 1
    assert 0 <= float(np.min(mask)) and float(np.max(mask)) <= 1
    with pytest.raises(ValueError, match=r"multiple of 64, got 96"):
        viton.viton_generator(96)


def test_body_shape_and_the_network_input_by_hand():
    mask = np.zeros((1, S, S, 1), np.float32)
    mask[:, :, :16] = 1.0  # left half
    shape = np.asarray(viton.body_shape(mask, shape_side=16))[0, 0, :, 0]
    # 2x2 means keep the half edge at column 8 of 16; bilinear (pixel centres) back to 32 columns:
    # column j samples (j + 0.5) / 2 - 0.5, so 14 -> 6.75 (1), 15 -> 7.25 (0.75), 16 -> 7.75 (0.25)
    np.testing.assert_allclose(shape[[0, 14, 15, 16, 17, 31]], [1, 1, 0.75, 0.25, 0, 0], atol=1e-6)
    rng = np.random.default_rng(0)
    heat, x_r, x_c = (rng.uniform(-1, 1, (1, S, S, c)).astype(np.float32) for c in (18, 3, 3))
    head = (rng.uniform(size=(1, S, S, 1)) > 0.5).astype(np.float32)
    seg = np.eye(6, dtype=np.float32)[rng.integers(0, 6, (1, S, S))]
    inputs = np.asarray(viton.viton_input(heat, mask, x_r, head, x_c, seg, shape_side=16))
    assert inputs.shape == (1, S, S, 25)
    np.testing.assert_array_equal(inputs[..., :18], heat)
    np.testing.assert_allclose(inputs[0, 0, :, 18], shape, atol=1e-6)
    np.testing.assert_array_equal(inputs[..., 19:22], x_r * head)
    clothes = np.isin(seg.argmax(-1), [4, 5])[..., None]
    np.testing.assert_array_equal(inputs[..., 22:], np.where(clothes, x_c, 0.0))


def test_objective_values_by_hand():
    image, target = np.zeros((2, 4, 4, 3), np.float32), np.full((2, 4, 4, 3), 0.5, np.float32)
    mask, target_mask = np.full((2, 4, 4, 1), 0.25, np.float32), np.ones((2, 4, 4, 1), np.float32)
    terms = viton.viton_objective(image, mask, target, target_mask, lambda_image=2.0, lambda_mask=3.0)
    assert set(terms) == {"g/image", "g/mask", "g/total"}
    assert float(terms["g/image"]) == pytest.approx(0.5)
    assert float(terms["g/mask"]) == pytest.approx(0.75)
    assert float(terms["g/total"]) == pytest.approx(2 * 0.5 + 3 * 0.75)
    five = lambda x: [x * (k + 1) for k in range(5)]  # noqa: E731 (a stand-in feature extractor)
    terms = viton.viton_objective(image, mask, target, target_mask, lambda_perceptual=4.0,
                                  features=five)
    w = viton.VGG_LAYER_WEIGHTS
    perceptual = sum(w[k] * (k + 1) * 0.5 for k in range(5))
    assert float(terms["g/perceptual"]) == pytest.approx(perceptual)
    assert w[0] == pytest.approx(2.5 / 5.3 / 640) and w[4] == pytest.approx(1 / 0.16 / 640)
    assert float(terms["g/total"]) == pytest.approx(0.5 + 0.75 + 4 * perceptual)


def test_vgg19_features_load_and_see_vgg_inputs(vgg_file):
    features = viton.vgg19_features(S, vgg_file)
    x = np.random.default_rng(1).uniform(-1, 1, (1, S, S, 3)).astype(np.float32)
    maps = features(x)
    assert [tuple(m.shape) for m in maps] == [(1, 32, 32, 64), (1, 16, 16, 128), (1, 8, 8, 256),
                                              (1, 4, 4, 512), (1, 2, 2, 512)]
    caffe = keras.applications.vgg19.preprocess_input((x + 1.0) * 127.5)
    np.testing.assert_allclose(np.asarray(viton.vgg_preprocess(x)), caffe, atol=1e-4)
    vgg = keras.models.load_model(vgg_file, compile=False)
    want = keras.Model(vgg.input, vgg.get_layer("block3_conv2").output)(caffe)
    np.testing.assert_allclose(np.asarray(maps[2]), np.asarray(want), rtol=1e-4, atol=1e-3)


def _snapshot(net):
    return [np.array(v) for v in net.trainable_variables]


def test_one_train_step_eager_and_compiled_updates_the_weights(tiny, synthetic_persons, vgg_file):
    batch = _batch(synthetic_persons)
    results = {}
    for mode in ("eager", "xla"):
        config = tiny(dropout=0.0, jit_compile=mode == "xla")
        state = viton_trainer.build_state(config, 10)
        before = _snapshot(state.net)
        step = make_viton_train_step(state.net, state.optimizer, state.step, config,
                                     jit_compile=config.jit_compile)
        tf.config.run_functions_eagerly(mode == "eager")
        try:
            out = {k: float(v) for k, v in step(batch).items()}
        finally:
            tf.config.run_functions_eagerly(False)
        assert set(out) == {"g/image", "g/mask", "g/total", "lr"} and np.isfinite(list(out.values())).all()
        assert int(state.step.numpy()) == 1
        assert any(not np.array_equal(a, np.array(b)) for a, b in zip(before, state.net.trainable_variables))
        results[mode] = out
    assert results["xla"]["g/total"] == pytest.approx(results["eager"]["g/total"], rel=1e-4)
    # the perceptual term, with VGG19 loaded through the --vgg_weights path, and the L2 penalty
    config = tiny(vgg_weights=vgg_file, weight_decay=1e-3, weight_decay_mode="l2")
    state = viton_trainer.build_state(config, 10)
    features = viton_trainer.load_features(config)
    out = make_viton_train_step(state.net, state.optimizer, state.step, config, features,
                                jit_compile=False)(batch)
    assert {"g/perceptual", "g/l2"} <= set(out) and np.isfinite(float(out["g/perceptual"]))
    expected = out["g/image"] + out["g/mask"] + 3.0 * out["g/perceptual"] + out["g/l2"]
    assert float(out["g/total"]) == pytest.approx(float(expected), rel=1e-5)


def _checkpoint_values(workdir, step):
    path = ckpt.path_of(workdir, step)
    return {n: tf.train.load_variable(path, n) for n, _ in tf.train.list_variables(path)
            if "OBJECT_GRAPH" not in n and "save_counter" not in n}


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path, tiny):
    run1, run2 = str(tmp_path / "run1"), str(tmp_path / "run2")
    settings = dict(max_steps=4, checkpoint_every=2, keep_checkpoints=5)  # dropout on: its seed
    summary = viton_trainer.train(tiny(workdir=run1, **settings), progress_stream=io.StringIO())
    assert summary == {"start_step": 0, "final_step": 4, "finished": True}
    shutil.copytree(run1, run2)  # run2: stopped after its step-2 checkpoint
    for f in os.listdir(os.path.join(run2, wd.CHECKPOINT_DIR)):
        if f.startswith("ckpt-4") or f == "checkpoint":
            os.remove(os.path.join(run2, wd.CHECKPOINT_DIR, f))
    summary = viton_trainer.train(tiny(workdir=run2, **settings), progress_stream=io.StringIO())
    assert summary["start_step"] == 2 and summary["final_step"] == 4
    straight, resumed = _checkpoint_values(run1, 4), _checkpoint_values(run2, 4)
    assert straight.keys() == resumed.keys() and any(k.startswith("rng/") for k in straight)
    for name in straight:
        np.testing.assert_allclose(resumed[name], straight[name], rtol=1e-5, atol=1e-7, err_msg=name)
    assert [r["step"] for r in wd.MetricsLog(run2).records()] == [1, 2, 3, 4]


def _parse(*argv):
    fv = absl_flags.FlagValues()
    define_viton_flags(fv)
    fv(["viton", *argv])
    return viton_config(fv)


def test_config_and_flag_errors(tiny, tmp_path):
    assert _parse().weight_decay == 0.0 and _parse().image_size == 128
    cases = [(dict(image_size=36), r"--image_size=36: .*multiple of 8"),
             (dict(shape_side=5), r"--shape_side=5: must divide"),
             (dict(dropout=1.0), r"--dropout=1.0"),
             (dict(dataset="facades"), r"--dataset=facades: must be one of synthetic, deepfashion"),
             (dict(lambda_mask=-1.0), r"--lambda_mask=-1.0"),
             (dict(n_layers=0), r"--n_layers=0")]
    for overrides, message in cases:
        with pytest.raises(ConfigError, match=message):
            tiny(**overrides)
    with pytest.raises(ConfigError, match=r"--lambda_perceptual needs --vgg_weights"):
        _parse("--lambda_perceptual=1")
    config = tiny(vgg_weights=str(tmp_path / "nope.h5"))
    with pytest.raises(ConfigError, match=r"--vgg_weights=.*nope.h5: file not found"):
        viton_trainer.load_features(config)
    with pytest.raises(ConfigError, match=r"--vgg_weights=.*: not an HDF5 file"):
        (tmp_path / "junk.h5").write_bytes(b"junk")
        viton_trainer.load_features(tiny(vgg_weights=str(tmp_path / "junk.h5")))
    assert viton_trainer.load_features(tiny()) is None
    assert "lambda_perceptual" not in dict(tiny().flag_items())


def _cli(*args):
    return subprocess.Popen([sys.executable, "-m", "training.viton", *args], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.e2e
def test_command_line_end_to_end_and_the_swap_method(tmp_path, synthetic_persons):
    run, refused = tmp_path / "run", tmp_path / "refused"
    data = [f"--data_dir={synthetic_persons}", *TINY_FLAGS]
    procs = [_cli(*data, "--max_steps=3", "--log_every=1", "--sample_every=3", "--checkpoint_every=2",
                  "--nojit_compile", f"--workdir={run}"),
             _cli(*data, f"--vgg_weights={tmp_path / 'missing.h5'}", f"--workdir={refused}")]
    (_, err), (_, bad_err) = [p.communicate(timeout=600) for p in procs]
    code, bad_code = [p.returncode for p in procs]
    assert code == 0, err[-2000:]
    assert bad_code == 2 and bad_err.strip().splitlines()[-1] == (
        f"error: --vgg_weights={tmp_path / 'missing.h5'}: file not found")
    assert not refused.exists()  # refused before anything was written
    assert ckpt.steps_on_disk(str(run)) == [2, 3]
    assert sorted(os.listdir(run / wd.SAMPLES_DIR)) == ["pairs_step0000003.png", "swap_step0000003.png"]
    with open(run / wd.CONFIG_FILE) as f:
        saved = json.load(f)
    assert saved["trainer"] == "viton" and saved["total_steps"] == 3
    flagfile = _parse(f"--flagfile={run / wd.FLAGS_FILE}")
    assert flagfile == VitonConfig.from_dict(saved["config"])
    assert [r["step"] for r in wd.MetricsLog(str(run)).records()] == [1, 2, 3]

    method = VitonMethod.from_workdir(str(run))
    assert method.step == 3 and method.image_size == S
    test = load_person_set(synthetic_persons, "test")
    ref, cond = person_batch(test, test.pairs[:, 0], S), person_batch(test, test.pairs[::-1, 1], S)
    out = method.generate(ref, cond)
    assert out.shape == (3, S, S, 3) and out.dtype == np.float32
    head = ref["h"][..., 0] > 0.5
    np.testing.assert_array_equal(out[head], ref["x"][head])
    assert VitonMethod.from_workdir(str(run), step=2).step == 2
    with pytest.raises(ValueError, match=r"works at 32 px, got 64 px"):
        method.generate(person_batch(test, [0], 64), person_batch(test, [1], 64))
    with pytest.raises(ConfigError, match=r"config.json: not found"):
        VitonMethod.from_workdir(str(tmp_path / "nowhere"))
    other = tmp_path / "other"
    other.mkdir()
    (other / wd.CONFIG_FILE).write_text(json.dumps({"trainer": "swapgan", "config": {}}))
    with pytest.raises(ConfigError, match=r"a 'swapgan' run, not a 'viton' run"):
        VitonMethod.from_workdir(str(other))
    with pytest.raises(ConfigError, match=r"no checkpoint at step 1; kept steps: \[2, 3\]"):
        VitonMethod.from_workdir(str(run), step=1)
