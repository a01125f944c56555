"""Rebuild a run's networks from its workdir (config.json + checkpoints/) for evaluation.

Checkpoints are found from the ``ckpt-N`` files themselves (not TensorFlow's index file), and a
checkpoint whose networks hold NaN or Inf is refused: evaluating a diverged run would write black
images and plausible-looking scores.
"""
import numpy as np
import tensorflow as tf

from training import checkpoints as ckpt
from training import workdir as wd
from training.config import ConfigError, CycleConfig
from training.cycle_trainer import TRAINER, build_nets


def checkpoint_path(workdir, step=None):
    """The newest checkpoint, or the one saved at ``step``; errors name what is missing."""
    kept = ckpt.steps_on_disk(workdir)
    if not kept:
        raise ConfigError(f"{ckpt.directory(workdir)}: no checkpoint; has the run saved one yet?")
    if step is None:
        return ckpt.path_of(workdir, kept[-1])
    if step not in kept:
        raise ConfigError(f"{ckpt.path_of(workdir, step)}: no checkpoint at step {step}; kept steps: {kept}")
    return ckpt.path_of(workdir, step)


def restore_networks(workdir, networks, step=None):
    """Restores ``networks`` ({checkpoint key: keras.Model}) from a run; returns the step.

    Other saved state (optimisers, discriminators not asked for) is ignored. Raises ConfigError if
    the checkpoint cannot be read or a restored weight is not finite.
    """
    path = checkpoint_path(workdir, step)
    restored_step = tf.Variable(0, dtype=tf.int64)
    try:
        status = tf.train.Checkpoint(step=restored_step, **networks).restore(path)
        status.expect_partial().assert_existing_objects_matched()
    except (tf.errors.OpError, AssertionError, ValueError, IndexError) as e:
        others = [s for s in ckpt.steps_on_disk(workdir) if ckpt.path_of(workdir, s) != path]
        raise ConfigError(f"{path}: cannot be restored ({type(e).__name__}: "
                          f"{str(e).strip().splitlines()[0][:200] if str(e).strip() else ''}); "
                          f"other steps: {others or 'none'} (--step)") from e
    bad = [v.path for net in networks.values() for v in net.weights
           if not np.all(np.isfinite(np.asarray(v.numpy(), np.float64)))]
    if bad:
        raise ConfigError(f"{path}: {len(bad)} weights hold NaN or Inf (first: {bad[0]}); the run "
                          "diverged, so there is nothing meaningful to evaluate at this step")
    return int(restored_step.numpy())


def load_cycle_generators(workdir, step=None):
    """(config, nets, step) with the generators restored; discriminators stay untrained."""
    config = wd.read_config(workdir, CycleConfig, TRAINER)
    nets = build_nets(config)
    return config, nets, restore_networks(workdir, nets.generators(), step)
