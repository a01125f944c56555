"""What a run survives, on a toy model through the shared loop (every trainer inherits it):
divergence, damaged or missing checkpoints, a second process, signals, torn metrics, a full disk."""
import errno
import io
import json
import os
import signal

import numpy as np
import pytest
import tensorflow as tf

from training import checkpoints as ckpt
from training import loop
from training import workdir as wd
from training.config import ConfigError, TrainConfig


class Toy(tf.Module):
    """w += x per step; the loss is 2w. ``poison`` makes the state NaN from that step on."""

    def __init__(self, poison=None, on_step=None):
        super().__init__()
        self.w = tf.Variable(0.0)
        self.slot = tf.Variable(0.0)  # stands for an optimiser slot: NaN before the loss is
        self.step = tf.Variable(0, dtype=tf.int64)
        self.poison, self.on_step = poison, on_step

    def train_step(self, x):
        self.step.assign_add(1)
        n = int(self.step.numpy())
        self.slot.assign(np.nan if self.poison and n >= self.poison else float(n))
        if self.poison and n >= self.poison + 1:
            self.w.assign(np.nan)
        else:
            self.w.assign_add(x)
        if self.on_step:
            self.on_step(n)
        return {"loss": self.w * 2.0}


def settings(total, log_every=1, checkpoint_every=1, keep=10):
    return loop.LoopSettings(total_steps=total, batch_size=1, log_every=log_every, sample_every=1000,
                             checkpoint_every=checkpoint_every, keep_checkpoints=keep)


def run_toy(workdir, total, toy=None, **kwargs):
    toy = toy or Toy()
    summary = loop.run(workdir=workdir, settings=settings(total, **kwargs),
                       checkpoint=tf.train.Checkpoint(toy=toy), step=toy.step, train_step=toy.train_step,
                       make_batches=lambda start: (tf.constant(1.0) for _ in range(start, total)),
                       shown=("loss",), progress_stream=io.StringIO())
    return summary, toy


def saved_values(workdir, step):
    path = ckpt.path_of(workdir, step)
    return {n: tf.train.load_variable(path, n) for n, _ in tf.train.list_variables(path)
            if n.startswith("toy/") and "OBJECT_GRAPH" not in n}


def steps_logged(workdir):
    return [r["step"] for r in wd.MetricsLog(workdir).records()]


@pytest.mark.parametrize("log_every", [1, 4])
def test_a_diverging_state_is_never_checkpointed_and_the_named_checkpoint_is_finite(tmp_path, log_every):
    workdir = str(tmp_path / "run")
    with pytest.raises(FloatingPointError, match=r"ckpt-4, is finite") as raised:
        run_toy(workdir, 60, Toy(poison=5), log_every=log_every)
    assert "at step 5" in str(raised.value)  # the slot went NaN at step 5, before the loss did
    assert ckpt.steps_on_disk(workdir) == [1, 2, 3, 4]
    for step in ckpt.steps_on_disk(workdir):
        assert all(np.all(np.isfinite(v)) for v in saved_values(workdir, step).values())
    summary, toy = run_toy(workdir, 6)  # resumes from the finite checkpoint
    assert summary["start_step"] == 4 and float(toy.w.numpy()) == 6.0


def test_non_finite_losses_between_checkpoints_stop_the_run(tmp_path):
    workdir = str(tmp_path / "run")
    with pytest.raises(FloatingPointError, match=r"non-finite loss at step 4 .*newest checkpoint is .*ckpt-2"):
        run_toy(workdir, 10, Toy(poison=3), checkpoint_every=2, log_every=1)
    assert ckpt.steps_on_disk(workdir) == [2]


@pytest.mark.parametrize("damage", ["deleted", "garbage"])
def test_a_lost_checkpoint_index_never_restarts_from_scratch(tmp_path, damage):
    workdir = str(tmp_path / "run")
    run_toy(workdir, 4)
    index = os.path.join(ckpt.directory(workdir), "checkpoint")
    if damage == "deleted":
        os.remove(index)
    else:
        with open(index, "w") as f:
            f.write("\x00garbage{{{")
    summary, toy = run_toy(workdir, 6)
    assert summary["start_step"] == 4 and float(toy.w.numpy()) == 6.0
    assert steps_logged(workdir) == [1, 2, 3, 4, 5, 6]
    assert tf.train.latest_checkpoint(ckpt.directory(workdir)).endswith("ckpt-6")


def test_a_truncated_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, caplog):
    workdir = str(tmp_path / "run")
    run_toy(workdir, 4)
    data = [f for f in os.listdir(ckpt.directory(workdir)) if f.startswith("ckpt-4.data")][0]
    path = os.path.join(ckpt.directory(workdir), data)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    summary, toy = run_toy(workdir, 5)
    assert summary["start_step"] == 3 and float(toy.w.numpy()) == 5.0
    assert "skipped" in caplog.text and "ckpt-4" in caplog.text
    assert os.path.exists(os.path.join(ckpt.directory(workdir), ckpt.DAMAGED_DIR, data))  # kept


def test_all_checkpoints_damaged_is_an_error_that_changes_nothing(tmp_path):
    workdir = str(tmp_path / "run")
    run_toy(workdir, 2)
    for f in os.listdir(ckpt.directory(workdir)):
        if f.endswith(".index"):
            with open(os.path.join(ckpt.directory(workdir), f), "wb") as out:
                out.write(b"not an sstable")
    before = sorted(os.listdir(ckpt.directory(workdir)))
    with pytest.raises(ckpt.CheckpointError, match=r"no checkpoint can be restored .*ckpt-2: "):
        run_toy(workdir, 4)
    assert sorted(os.listdir(ckpt.directory(workdir))) == before
    assert steps_logged(workdir) == [1, 2]


def test_leftovers_of_a_killed_save_are_removed(tmp_path):
    workdir = str(tmp_path / "run")
    run_toy(workdir, 2)
    os.makedirs(os.path.join(ckpt.directory(workdir), "ckpt-3_temp", "part"))
    open(os.path.join(ckpt.directory(workdir), "checkpoint.tmp1234"), "w").close()
    run_toy(workdir, 3)
    assert not [f for f in os.listdir(ckpt.directory(workdir)) if "_temp" in f or ".tmp" in f]


def test_a_second_process_on_the_workdir_is_refused_naming_the_first(tmp_path):
    workdir = str(tmp_path / "run")
    with wd.locked(workdir):
        with pytest.raises(ConfigError, match=rf"another process \(pid {os.getpid()}\) is training"):
            run_toy(workdir, 2)
    run_toy(workdir, 2)  # released on exit


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_finishes_the_step_logs_it_and_checkpoints(tmp_path, signum):
    workdir = str(tmp_path / "run")

    def send(n):
        if n == 5:
            os.kill(os.getpid(), signum)

    before = signal.getsignal(signum)
    with pytest.raises(loop.Interrupted) as raised:
        run_toy(workdir, 20, Toy(on_step=send), log_every=4, checkpoint_every=100)
    assert raised.value.signum == signum and signal.getsignal(signum) is before
    assert ckpt.steps_on_disk(workdir) == [5]
    assert steps_logged(workdir) == [4, 5]  # the partial interval is logged before the checkpoint
    summary, _ = run_toy(workdir, 8, log_every=4, checkpoint_every=100)
    assert summary["start_step"] == 5 and steps_logged(workdir) == [4, 5, 8]


def test_a_torn_metrics_line_is_dropped_on_resume(tmp_path):
    workdir = str(tmp_path / "run")
    run_toy(workdir, 3)
    with open(os.path.join(workdir, wd.METRICS_FILE), "a") as f:
        f.write('{"step": 4, "loss": 0.1')  # a crash mid-write
    run_toy(workdir, 5)
    lines = open(os.path.join(workdir, wd.METRICS_FILE)).read().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4, 5]


def test_a_full_disk_is_refused_up_front_and_reported_during_a_save(tmp_path, monkeypatch):
    workdir = str(tmp_path / "run")
    monkeypatch.setattr(wd.shutil, "disk_usage", lambda p: type("U", (), {"free": 10})())
    with pytest.raises(ConfigError, match=r"10 B free on its disk, the run's checkpoints need about"):
        run_toy(workdir, 2)
    assert not os.path.exists(os.path.join(workdir, wd.METRICS_FILE))
    monkeypatch.undo()

    def no_space(self, checkpoint_number=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tf.train.CheckpointManager, "save", no_space)
    with pytest.raises(ckpt.CheckpointError, match=r"disk full while writing checkpoint 1; the run "
                       r"needs about .* per checkpoint x \(--keep_checkpoints=10 \+ 1\)"):
        run_toy(workdir, 2)


def test_unusable_workdirs_are_refused_before_anything_is_written(tmp_path, monkeypatch):
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ConfigError, match=r"--workdir=.*file: is a file, not a folder"):
        run_toy(str(afile), 1)
    with pytest.raises(ConfigError, match=r"is a file, not a folder"):
        run_toy(str(afile / "sub"), 1)
    monkeypatch.setattr(wd.os, "access", lambda p, mode: False)  # root ignores chmod, so pretend
    with pytest.raises(ConfigError, match=r"--workdir=.*ro/run: .* is not writable"):
        run_toy(str(tmp_path / "ro" / "run"), 1)
    assert not (tmp_path / "ro").exists()


def test_record_refuses_other_settings_and_changed_data_and_extends_on_request(tmp_path):
    workdir = str(tmp_path / "run")
    os.makedirs(workdir)
    config = TrainConfig(workdir=workdir, max_steps=10)
    data = {"train_a": {"files": 8, "sha256": "aaaa"}}
    wd.record(workdir, config, "toy", data)
    wd.record(workdir, TrainConfig(workdir=workdir, max_steps=10, log_every=5), "toy", data)
    with pytest.raises(ConfigError, match=r"--learning_rate: 0\.0002 in .*config\.json, 0\.001 now"):
        wd.record(workdir, TrainConfig(workdir=workdir, max_steps=10, learning_rate=1e-3), "toy", data)
    with pytest.raises(ConfigError, match=r"(?s)may change with --extend.*--max_steps: 10 in .*, 20 now"):
        wd.record(workdir, TrainConfig(workdir=workdir, max_steps=20), "toy", data)
    changed = r"training data changed.*\n  train_a: 8 files \(fingerprint aaaa\) when the run started, 10 files"
    with pytest.raises(ConfigError, match=changed):
        wd.record(workdir, config, "toy", {"train_a": {"files": 10, "sha256": "bbbb"}})
    with pytest.raises(ConfigError, match="a 'toy' run, not a 'cycle' run"):
        wd.record(workdir, config, "cycle", data)
    wd.record(workdir, TrainConfig(workdir=workdir, max_steps=20), "toy", data, extend=True)
    saved = json.load(open(os.path.join(workdir, wd.CONFIG_FILE)))
    assert saved["config"]["max_steps"] == 20 and saved["data"] == data
    assert saved["history"][0]["extended"] == {"max_steps": [10, 20]}
    open(os.path.join(workdir, wd.CONFIG_FILE), "w").write("{broken")
    with pytest.raises(ConfigError, match="unreadable config"):
        wd.record(workdir, config, "toy", data)


def test_an_extended_run_continues_past_its_old_end(tmp_path):
    workdir = str(tmp_path / "run")
    run_toy(workdir, 3)
    summary, toy = run_toy(workdir, 3)
    assert summary == {"start_step": 3, "final_step": 3, "finished": True}
    summary, toy = run_toy(workdir, 5)
    assert summary["start_step"] == 3 and float(toy.w.numpy()) == 5.0
