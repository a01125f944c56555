"""Rebuild a run's generators from its workdir (config.json + checkpoints/)."""
import os

import tensorflow as tf

from training import workdir as wd
from training.config import ConfigError, CycleConfig
from training.cycle_trainer import TRAINER, build_nets


def checkpoint_path(workdir, step=None):
    """The newest checkpoint, or the one saved at ``step``; errors name what is missing."""
    directory = os.path.join(workdir, wd.CHECKPOINT_DIR)
    if step is None:
        latest = tf.train.latest_checkpoint(directory)
        if latest is None:
            raise ConfigError(f"{directory}: no checkpoint; has the run saved one yet?")
        return latest
    candidate = os.path.join(directory, f"ckpt-{step}")
    if not tf.io.gfile.exists(candidate + ".index"):
        state = tf.train.get_checkpoint_state(directory)
        paths = state.all_model_checkpoint_paths if state else []
        kept = sorted(int(p.rsplit("-", 1)[1]) for p in paths)
        raise ConfigError(f"{candidate}: no checkpoint at step {step}; kept steps: {kept or 'none'}")
    return candidate


def load_cycle_generators(workdir, step=None):
    """(config, nets, step) with the generators restored; discriminators stay untrained."""
    config = wd.read_config(workdir, CycleConfig, TRAINER)
    nets = build_nets(config)
    path = checkpoint_path(workdir, step)
    restored_step = tf.Variable(0, dtype=tf.int64)
    status = tf.train.Checkpoint(step=restored_step, **nets.generators()).restore(path)
    status.expect_partial().assert_existing_objects_matched()
    return config, nets, int(restored_step.numpy())
