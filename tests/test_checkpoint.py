"""Checkpoints: full round trips, exact resumption, the generic loop, restoring for evaluation."""
import io
import json
import os
import shutil

import cv2
import numpy as np
import pytest
import tensorflow as tf

from datasets.files import DataError
from evaluation.restore import load_cycle_generators
from evaluation.translate import translate_folder
from training import cycle_trainer, loop
from training import workdir as wd
from training.config import ConfigError
from training.cycle_step import make_cycle_train_step


def _state_arrays(state, directory):
    """Every saved value of a state's checkpoint, by checkpoint key."""
    path = state.checkpoint().save(os.path.join(directory, "probe"))
    return {n: tf.train.load_variable(path, n) for n, _ in tf.train.list_variables(path)
            if n != "_CHECKPOINTABLE_OBJECT_GRAPH" and "save_counter" not in n}


def test_save_then_restore_reproduces_every_piece_of_state(tmp_path, tiny_config):
    config = tiny_config(variant="nest", pool_size=3, jit_compile=False)
    state = cycle_trainer.build_state(config, total_steps=10)
    step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer, state.pool_a,
                                 state.pool_b, state.step, config, jit_compile=False)
    rng = np.random.default_rng(0)
    for _ in range(2):
        step({k: tf.constant(rng.uniform(-1, 1, (1, 32, 32, 3)), tf.float32) for k in "ab"})
    saved = state.checkpoint().save(str(tmp_path / "ckpt"))
    fresh = cycle_trainer.build_state(tiny_config(variant="nest", pool_size=3, seed=99), total_steps=10)
    assert int(fresh.step.numpy()) == 0
    fresh.checkpoint().restore(saved).assert_consumed()
    assert int(fresh.step.numpy()) == 2 and int(fresh.g_optimizer.iterations.numpy()) == 2
    np.testing.assert_array_equal(fresh.pool_a.images.numpy(), state.pool_a.images.numpy())
    original = _state_arrays(state, str(tmp_path / "a"))
    restored = _state_arrays(fresh, str(tmp_path / "b"))
    assert original.keys() == restored.keys() and len(original) > 100
    for name in original:
        np.testing.assert_array_equal(original[name], restored[name], err_msg=name)


def _checkpoint_values(workdir, step):
    path = os.path.join(workdir, wd.CHECKPOINT_DIR, f"ckpt-{step}")
    return {n: tf.train.load_variable(path, n) for n, _ in tf.train.list_variables(path)
            if n != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def test_a_resumed_run_continues_exactly_where_it_stopped(tmp_path, tiny_config):
    run1, run2 = str(tmp_path / "run1"), str(tmp_path / "run2")
    settings = dict(variant="long", max_steps=4, checkpoint_every=2, keep_checkpoints=5, pool_size=2)
    summary = cycle_trainer.train(tiny_config(workdir=run1, **settings), progress_stream=io.StringIO())
    assert summary == {"start_step": 0, "final_step": 4, "finished": True}
    # run2: a copy of run1 that was stopped after its step-2 checkpoint
    shutil.copytree(run1, run2)
    ckpt_dir = os.path.join(run2, wd.CHECKPOINT_DIR)
    for f in os.listdir(ckpt_dir):
        if f.startswith("ckpt-4"):
            os.remove(os.path.join(ckpt_dir, f))
    with open(os.path.join(ckpt_dir, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-2"\n')
    summary = cycle_trainer.train(tiny_config(workdir=run2, **settings), progress_stream=io.StringIO())
    assert summary["start_step"] == 2 and summary["final_step"] == 4
    straight, resumed = _checkpoint_values(run1, 4), _checkpoint_values(run2, 4)
    assert straight.keys() == resumed.keys()
    for name in straight:
        np.testing.assert_allclose(resumed[name], straight[name], rtol=1e-5, atol=1e-7, err_msg=name)
    records = wd.MetricsLog(run2).records()
    assert [r["step"] for r in records] == [1, 2, 3, 4]  # redone steps replace, never duplicate
    for r1, r2 in zip(wd.MetricsLog(run1).records(), records):
        assert r2["g/total"] == pytest.approx(r1["g/total"], rel=1e-4)
    # a finished run says so and does nothing
    again = cycle_trainer.train(tiny_config(workdir=run2, **settings), progress_stream=io.StringIO())
    assert again == {"start_step": 4, "final_step": 4, "finished": True}


def test_rerun_rules_of_a_real_run_flags_file_and_extend(tmp_path, tiny_config):
    config = tiny_config(variant="vanilla", max_steps=2, jit_compile=False)
    cycle_trainer.train(config, progress_stream=io.StringIO())
    with pytest.raises(ConfigError, match=r"--lambda_cycle: 10\.0 in .*config\.json, 5\.0 now"):
        cycle_trainer.train(tiny_config(variant="vanilla", max_steps=2, jit_compile=False, lambda_cycle=5.0))
    cycle_trainer.train(tiny_config(variant="vanilla", max_steps=2, jit_compile=False, log_every=50))
    saved = json.loads(open(os.path.join(config.workdir, wd.CONFIG_FILE)).read())
    assert saved["trainer"] == "cycle" and saved["config"]["log_every"] == 50
    assert set(saved["data"]) == {"train_a", "train_b"} and saved["data"]["train_a"]["files"] == 400
    flags_file = open(os.path.join(config.workdir, wd.FLAGS_FILE)).read()
    assert "--variant=vanilla\n" in flags_file and "--jit_compile=false\n" in flags_file
    assert "--lambda_sim" not in flags_file  # nest only
    with pytest.raises(ConfigError, match=r"(?s)may change with --extend.*--max_steps: 2 in .*, 3 now"):
        cycle_trainer.train(tiny_config(variant="vanilla", max_steps=3, jit_compile=False))
    longer = tiny_config(variant="vanilla", max_steps=3, jit_compile=False)
    summary = cycle_trainer.train(longer, progress_stream=io.StringIO(), extend=True)
    assert summary == {"start_step": 2, "final_step": 3, "finished": True}
    saved = json.loads(open(os.path.join(config.workdir, wd.CONFIG_FILE)).read())
    assert saved["history"][0]["extended"] == {"max_steps": [2, 3]}
    with pytest.raises(ConfigError, match="a 'cycle' run, not a 'swapgan' run"):
        wd.read_config(config.workdir, type(config), "swapgan")


def test_a_resume_after_the_training_data_changed_is_refused(tmp_path, tiny_config, facades):
    data = tmp_path / "data"
    for side in "AB":
        (data / f"train{side}").mkdir(parents=True)
        for name in sorted(os.listdir(os.path.join(facades, f"train{side}")))[:3]:
            shutil.copy(os.path.join(facades, f"train{side}", name), data / f"train{side}" / name)
    config = tiny_config(variant="gan", data_dir=str(data), max_steps=1, jit_compile=False)
    cycle_trainer.train(config, progress_stream=io.StringIO())
    extra = sorted(os.listdir(os.path.join(facades, "trainA")))[5]
    shutil.copy(os.path.join(facades, "trainA", extra), data / "trainA" / extra)
    with pytest.raises(ConfigError,
                       match=r"training data changed.*\n  train_a: 3 files .* when the run started, 4 files"):
        cycle_trainer.train(tiny_config(variant="gan", data_dir=str(data), max_steps=2,
                                        jit_compile=False), extend=True)


class Toy(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(0.0)
        self.step = tf.Variable(0, dtype=tf.int64)

    def train_step(self, x):
        self.w.assign_add(x)
        self.step.assign_add(1)
        return {"loss": self.w * 2.0}


def test_the_loop_is_model_agnostic_logs_samples_and_survives_interrupts(tmp_path):
    toy, workdir = Toy(), str(tmp_path / "toy")
    os.makedirs(workdir)

    def batches(stop_at=None):
        def make(start):
            for i in range(start, 10):
                if i == stop_at:
                    raise KeyboardInterrupt
                yield tf.constant(1.0)
        return make

    settings = loop.LoopSettings(total_steps=6, batch_size=1, log_every=4, sample_every=3,
                                 checkpoint_every=100, keep_checkpoints=2)
    samples = lambda: {"grid": np.zeros((4, 4, 3), np.uint8)}  # noqa: E731
    kwargs = dict(workdir=workdir, settings=settings, step=toy.step, train_step=tf.function(toy.train_step),
                  make_samples=samples, progress_stream=io.StringIO())
    with pytest.raises(KeyboardInterrupt):
        loop.run(checkpoint=tf.train.Checkpoint(toy=toy), make_batches=batches(stop_at=5), **kwargs)
    assert tf.train.latest_checkpoint(os.path.join(workdir, wd.CHECKPOINT_DIR)).endswith("ckpt-5")
    toy2 = Toy()
    kwargs.update(step=toy2.step, train_step=tf.function(toy2.train_step))
    summary = loop.run(checkpoint=tf.train.Checkpoint(toy=toy2), make_batches=batches(), **kwargs)
    assert summary == {"start_step": 5, "final_step": 6, "finished": True}
    assert float(toy2.w.numpy()) == 6.0
    records = wd.MetricsLog(workdir).records()
    assert [r["step"] for r in records] == [4, 5, 6]  # every log_every, the interrupt, the last
    assert records[0]["loss"] == pytest.approx((2 + 4 + 6 + 8) / 4)  # mean over the interval
    assert {"images_per_second", "time"} <= set(records[0])
    assert sorted(os.listdir(os.path.join(workdir, wd.SAMPLES_DIR))) == [
        "grid_step0000003.png", "grid_step0000006.png"]
    assert os.listdir(os.path.join(workdir, wd.TENSORBOARD_DIR))


def test_evaluation_restores_the_trained_generators(tmp_path, tiny_config):
    config = tiny_config(variant="vanilla", max_steps=2, checkpoint_every=1, keep_checkpoints=3)
    cycle_trainer.train(config, progress_stream=io.StringIO())
    restored_config, nets, step = load_cycle_generators(config.workdir)
    assert restored_config == config and step == 2
    full = cycle_trainer.build_state(config, total_steps=2)
    full.checkpoint().restore(os.path.join(config.workdir, wd.CHECKPOINT_DIR, "ckpt-2")).assert_consumed()
    untrained = cycle_trainer.build_nets(config)
    for got, want, init in zip(nets.generator_variables, full.nets.generator_variables,
                               untrained.generator_variables):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert not np.array_equal(got.numpy(), init.numpy())  # trained, not a fresh initialisation
    _, _, first = load_cycle_generators(config.workdir, step=1)
    assert first == 1
    with pytest.raises(ConfigError, match=r"no checkpoint at step 7; kept steps: \[1, 2\]"):
        load_cycle_generators(config.workdir, step=7)
    with pytest.raises(ConfigError, match="config.json: not found"):
        load_cycle_generators(str(tmp_path / "elsewhere"))
    # translation: x.jpg and x.png both get an output; a corrupt input is named, or skipped
    inputs = tmp_path / "in"
    inputs.mkdir()
    photo = os.path.join(config.data_dir, "testA", sorted(os.listdir(os.path.join(config.data_dir, "testA")))[0])
    shutil.copy(photo, inputs / "x.jpg")
    cv2.imwrite(str(inputs / "x.png"), cv2.imread(photo))
    (inputs / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"broken\.png .*--skip_corrupt_images"):
        translate_folder(config.workdir, str(inputs), "a2b", output_dir=str(tmp_path / "out"))
    out = translate_folder(config.workdir, str(inputs), "a2b", output_dir=str(tmp_path / "out"),
                           skip_corrupt_images=True)
    assert sorted(os.listdir(out)) == ["x_jpg.png", "x_png.png"]
    # a rerun into the same folder, the input folder itself or a file: refused before computing
    with pytest.raises(ConfigError, match=r"x_jpg\.png and 1 more: exists; pass --overwrite"):
        translate_folder(config.workdir, str(inputs), "a2b", output_dir=out, skip_corrupt_images=True)
    translate_folder(config.workdir, str(inputs), "a2b", output_dir=out, skip_corrupt_images=True,
                     overwrite=True)
    before = sorted(os.listdir(inputs))
    for output, message in ((inputs, r"--output=.*: is the --input folder"),
                            (inputs / "sub", r"--output=.*: is inside the --input folder"),
                            (tmp_path / "out" / "x_jpg.png", r"--output=.*: is a file, not a folder")):
        with pytest.raises(ConfigError, match=message):
            translate_folder(config.workdir, str(inputs), "a2b", output_dir=str(output),
                             skip_corrupt_images=True, overwrite=True)
    assert sorted(os.listdir(inputs)) == before
    with pytest.raises(ConfigError, match=r"--batch_size=0: must be >= 1"):
        translate_folder(config.workdir, str(inputs), "a2b", batch_size=0)
    # a diverged checkpoint is refused, not evaluated into black images
    nan_nets = cycle_trainer.build_nets(config)
    nan_nets.a2b[0].weights[0].assign(tf.fill(nan_nets.a2b[0].weights[0].shape, float("nan")))
    tf.train.CheckpointManager(tf.train.Checkpoint(step=tf.Variable(9, dtype=tf.int64),
                                                   **nan_nets.generators()),
                               os.path.join(config.workdir, wd.CHECKPOINT_DIR), max_to_keep=None,
                               checkpoint_name="ckpt").save(checkpoint_number=9)
    with pytest.raises(ConfigError, match=r"ckpt-9: 1 weights hold NaN or Inf"):
        load_cycle_generators(config.workdir)
