"""The checkpoints of a run: found from the files themselves, restored with fallback, saved only
from finite state, and sized for the disk check.

``checkpoints/checkpoint`` (TensorFlow's index) is a convenience we rewrite, never the truth: a
deleted or garbled index must not make a rerun start from scratch over good ``ckpt-N`` files, and a
damaged newest checkpoint must not hide the intact one before it.
"""
import errno
import glob
import os
import re
import shutil

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from training.config import ConfigError

CHECKPOINT_DIR = "checkpoints"
PREFIX = "ckpt"
DAMAGED_DIR = "damaged"
_STEP = re.compile(rf"^{PREFIX}-(\d+)\.index$")


class CheckpointError(ConfigError):
    """A workdir whose checkpoints cannot be used; the message names the files."""


def directory(workdir):
    return os.path.join(workdir, CHECKPOINT_DIR)


def steps_on_disk(workdir):
    """Steps N with a ckpt-N.index file, ascending (whatever the index file says)."""
    folder = directory(workdir)
    if not os.path.isdir(folder):
        return []
    return sorted(int(m.group(1)) for m in map(_STEP.match, os.listdir(folder)) if m)


def bytes_on_disk(workdir):
    """What the run's checkpoint files already take (they count towards the space it needs)."""
    folder = directory(workdir)
    return sum(os.path.getsize(os.path.join(folder, f)) for f in (os.listdir(folder) if
               os.path.isdir(folder) else ()) if f.startswith(PREFIX + "-"))


def path_of(workdir, step):
    return os.path.join(directory(workdir), f"{PREFIX}-{step}")


def tracked_variables(checkpoint):
    """Every tf.Variable a checkpoint object saves (Keras 3 variables unwrapped), deduplicated."""
    out, seen = [], set()
    for obj in tf.train.TrackableView(checkpoint).descendants():
        var = obj.value if isinstance(obj, keras.Variable) else obj
        if isinstance(var, tf.Variable) and id(var) not in seen:
            seen.add(id(var))
            out.append(var)
    return out


def size_bytes(checkpoint):
    """Bytes one checkpoint of this object takes on disk (the variables' payload)."""
    return sum(int(np.prod(v.shape)) * v.dtype.size for v in tracked_variables(checkpoint))


def make_finite_check(checkpoint):
    """A compiled ``() -> (all finite, number of non-finite tensors)`` over the saved floats."""
    floats = [v for v in tracked_variables(checkpoint) if v.dtype.is_floating]

    @tf.function
    def check():
        if not floats:
            return tf.constant(True), tf.constant(0)
        bad = tf.stack([tf.logical_not(tf.reduce_all(tf.math.is_finite(v))) for v in floats])
        return tf.logical_not(tf.reduce_any(bad)), tf.reduce_sum(tf.cast(bad, tf.int32))

    return check


def _write_index(workdir, steps):
    """Rewrites TensorFlow's index file so that its newest entry is steps[-1]."""
    lines = [f'model_checkpoint_path: "{PREFIX}-{steps[-1]}"\n'] if steps else []
    lines += [f'all_model_checkpoint_paths: "{PREFIX}-{s}"\n' for s in steps]
    tmp = os.path.join(directory(workdir), "checkpoint.tmp-rebuild")
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(lines)
    os.replace(tmp, os.path.join(directory(workdir), "checkpoint"))


def remove_partial_saves(workdir):
    """Deletes what a kill during a save leaves behind (ckpt-N_temp/, checkpoint.tmp*)."""
    folder = directory(workdir)
    leftovers = (glob.glob(os.path.join(folder, f"{PREFIX}-*_temp*"))
                 + glob.glob(os.path.join(folder, "checkpoint.tmp*")))
    for path in leftovers:
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)
    if leftovers:
        logging.info("removed %d leftovers of an interrupted checkpoint save: %s", len(leftovers),
                     ", ".join(os.path.basename(p) for p in leftovers))


def _set_aside(workdir, step, reason):
    """Moves a damaged checkpoint into checkpoints/damaged/, so nothing is deleted."""
    aside = os.path.join(directory(workdir), DAMAGED_DIR)
    os.makedirs(aside, exist_ok=True)
    for path in glob.glob(path_of(workdir, step) + ".*"):
        os.replace(path, os.path.join(aside, os.path.basename(path)))
    logging.warning("skipped %s (%s); moved to %s", path_of(workdir, step), reason, aside)


def _first_line(error):
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"[:300]


def restore_newest(workdir, checkpoint, at_most=None):
    """Restores the newest checkpoint that loads and holds finite values; returns its step or None.
    With ``at_most``, newer checkpoints are left on disk untouched and ignored.

    Damaged ones (unreadable, truncated, non-finite) are set aside with a warning naming the file
    and the reason. A workdir whose checkpoints are all damaged raises instead of starting over.
    """
    steps = [s for s in steps_on_disk(workdir) if at_most is None or s <= at_most]
    if not steps:
        return None
    finite = make_finite_check(checkpoint)
    failures = []
    for step in reversed(steps):
        path = path_of(workdir, step)
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
        except Exception as e:  # noqa: BLE001 - TF raises many kinds for one damaged file
            failures.append((step, _first_line(e)))
            continue
        ok, bad = finite()
        if not bool(ok):
            failures.append((step, f"{int(bad)} tensors hold NaN or Inf"))
            continue
        for damaged, reason in failures:
            _set_aside(workdir, damaged, reason)
        _write_index(workdir, [s for s in steps if s <= step])
        return step
    listing = "; ".join(f"{path_of(workdir, s)}: {why}" for s, why in failures)
    raise CheckpointError(f"{directory(workdir)}: no checkpoint can be restored ({listing}). The "
                          "workdir is left as it is; train in a new --workdir or repair the files.")


class Saver:
    """Saves numbered checkpoints (keeping the newest ``keep``), only from finite state."""

    def __init__(self, workdir, checkpoint, keep):
        self.workdir = workdir
        self.bytes = size_bytes(checkpoint)
        self.keep = keep
        self._finite = make_finite_check(checkpoint)
        self._manager = tf.train.CheckpointManager(checkpoint, directory(workdir), max_to_keep=keep,
                                                   checkpoint_name=PREFIX)

    @property
    def newest(self):
        steps = steps_on_disk(self.workdir)
        return path_of(self.workdir, steps[-1]) if steps else None

    def needed_bytes(self):
        """Disk the checkpoints need: ``keep`` of them plus the one being written."""
        return self.bytes * (self.keep + 1)

    def save(self, step):
        ok, bad = self._finite()
        if not bool(ok):
            raise FloatingPointError(
                f"the training state holds NaN or Inf in {int(bad)} tensors at step {step}; not "
                f"checkpointed. The newest checkpoint, {self.newest or 'none'}, is finite: lower "
                "--learning_rate, or resume from it")
        try:
            return self._manager.save(checkpoint_number=step)
        except (OSError, tf.errors.OpError) as e:
            if getattr(e, "errno", None) == errno.ENOSPC or "No space left" in str(e):
                remove_partial_saves(self.workdir)
                raise CheckpointError(
                    f"{directory(self.workdir)}: disk full while writing checkpoint {step}; the run "
                    f"needs about {human_bytes(self.needed_bytes())} there ({human_bytes(self.bytes)} "
                    f"per checkpoint x (--keep_checkpoints={self.keep} + 1)). Free space and rerun: "
                    f"it resumes from {self.newest or 'the start'}") from e
            raise


def human_bytes(n):
    """1536 -> '1.5 KB'."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
