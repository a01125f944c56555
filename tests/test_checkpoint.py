"""Checkpoints: full round trips, exact resumption, the generic loop, restoring for evaluation."""
import io
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from evaluation.restore import load_cycle_generators
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


def test_resuming_with_other_settings_is_refused_but_logging_may_change(tmp_path, tiny_config):
    config = tiny_config(variant="long")
    wd.prepare(config.workdir, config, "cycle")
    with pytest.raises(ConfigError, match=r"--lambda_cycle: 10\.0 in .*config\.json, 5\.0 now"):
        wd.prepare(config.workdir, tiny_config(variant="long", lambda_cycle=5.0), "cycle")
    wd.prepare(config.workdir, tiny_config(variant="long", log_every=50), "cycle")
    saved = json.loads(open(os.path.join(config.workdir, wd.CONFIG_FILE)).read())
    assert saved["trainer"] == "cycle" and saved["config"]["log_every"] == 50
    flags_file = open(os.path.join(config.workdir, wd.FLAGS_FILE)).read()
    assert "--variant=long\n" in flags_file and "--jit_compile=true\n" in flags_file
    with pytest.raises(ConfigError, match="a 'cycle' run, not a 'swapgan' run"):
        wd.read_config(config.workdir, type(config), "swapgan")
    open(os.path.join(config.workdir, wd.CONFIG_FILE), "w").write("{broken")
    with pytest.raises(ConfigError, match="unreadable config"):
        wd.prepare(config.workdir, config, "cycle")


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
    assert [r["step"] for r in records] == [4, 6]  # every log_every steps, and always the last
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


def test_the_loop_stops_on_non_finite_losses_without_checkpointing_them(tmp_path):
    toy, workdir = Toy(), str(tmp_path / "nan")
    os.makedirs(workdir)

    @tf.function
    def train_step(x):
        toy.step.assign_add(1)
        return {"loss": tf.math.log(x)}  # log(-1) = nan

    settings = loop.LoopSettings(total_steps=4, batch_size=1, log_every=1, sample_every=10,
                                 checkpoint_every=1, keep_checkpoints=5)
    values = [1.0, -1.0, 1.0, 1.0]
    with pytest.raises(FloatingPointError, match=r"non-finite loss at step 2 .*ckpt-1"):
        loop.run(workdir=workdir, settings=settings, checkpoint=tf.train.Checkpoint(toy=toy),
                 step=toy.step, train_step=train_step, progress_stream=io.StringIO(),
                 make_batches=lambda start: (tf.constant(v) for v in values[start:]))
    assert tf.train.latest_checkpoint(os.path.join(workdir, wd.CHECKPOINT_DIR)).endswith("ckpt-1")
