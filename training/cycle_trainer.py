"""Wires a CycleConfig into data, networks, optimisers, pools, checkpoint, train step and loop."""
import dataclasses

from absl import logging
import numpy as np
import tensorflow as tf

from datasets.cycle_data import load_cycle_data
from models.cycle import build_cycle_nets, translate_paths
from training import devices, loop
from training.config import CycleConfig
from training.cycle_step import make_cycle_train_step
from training.pool import ImagePool
from training.summaries import grid

TRAINER = "cycle"


@dataclasses.dataclass
class CycleState:
    """Everything that is trained or advances: the contents of the checkpoint."""

    nets: object
    g_optimizer: object
    d_optimizer: object
    pool_a: ImagePool
    pool_b: ImagePool
    step: tf.Variable
    runtime: devices.Runtime

    def checkpoint(self):
        return tf.train.Checkpoint(step=self.step, g_optimizer=self.g_optimizer,
                                   d_optimizer=self.d_optimizer, pool_a=self.pool_a,
                                   pool_b=self.pool_b, **self.nets.networks())


def build_nets(config):
    return build_cycle_nets(M=config.M, N=config.N, ngf=config.ngf, ndf=config.ndf,
                            n_blocks=config.n_blocks, share_weights=config.share_weights,
                            seed=config.seed)


def build_state(config, total_steps, runtime=None):
    """All training state, created under the run's precision policy and tf.distribute strategy."""
    runtime = runtime or devices.Runtime.of(config)
    with runtime.scope():
        nets = build_nets(config)
        g_opt = runtime.adam(config, total_steps, "g_optimizer", nets.generator_variables)
        d_opt = runtime.adam(config, total_steps, "d_optimizer", nets.discriminator_variables)
        shape = (config.image_size, config.image_size, 3)
        return CycleState(nets, g_opt, d_opt, ImagePool(config.pool_size, shape, name="pool_a"),
                          ImagePool(config.pool_size, shape, name="pool_b"), devices.step_counter(),
                          runtime)


def sample_grids(nets, variant, images_a, images_b):
    """One grid per domain: each row an input, every generator output along its chain and, for
    cycle variants, every output of the return chain (the last is the reconstruction)."""
    shown = "gan" if variant == "gan" else "long"
    paths = translate_paths(nets, tf.constant(images_a), tf.constant(images_b), shown, training=False)
    M, N = len(nets.a2b), len(nets.b2a)
    cols_a = [f"a2b_{m}" for m in range(1, M + 1)]
    cols_b = [f"b2a_{n}" for n in range(1, N + 1)]
    if variant != "gan":
        cols_a += [f"a2b2a_{n}" for n in range(1, N + 1)]
        cols_b += [f"b2a2b_{m}" for m in range(1, M + 1)]
    out = {}
    for name, inputs, cols in (("a", images_a, cols_a), ("b", images_b, cols_b)):
        outputs = [np.asarray(paths[c]) for c in cols]
        out[name] = grid([[inputs[i]] + [o[i] for o in outputs] for i in range(len(inputs))],
                         labels=[name] + cols)
    return out


def train(config: CycleConfig, progress_stream=None, extend=False):
    """Trains (or resumes) one run in ``config.workdir``; returns the loop's summary.

    ``extend`` lets a rerun change the run's length (see ``workdir.record``).
    """
    data = load_cycle_data(config)  # fails on bad data before anything is written
    per_epoch = data.steps_per_epoch(config.batch_size)
    total = config.total_steps(per_epoch)
    logging.info("%s CycleGAN, M=%d N=%d, %d px; A: %d train images, B: %d; %d steps of batch %d "
                 "(%d per epoch); workdir %s", config.variant, config.M, config.N, config.image_size,
                 len(data.train_a), len(data.train_b), total, config.batch_size, per_epoch,
                 config.workdir)
    runtime = devices.Runtime.of(config)
    runtime.check_batch(config.batch_size)
    state = build_state(config, total, runtime)
    train_step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer,
                                       state.pool_a, state.pool_b, state.step, config, runtime=runtime)
    samples_a, samples_b = data.sample_images(config.num_samples, config.image_size)
    return loop.run(
        workdir=runtime.workdir(config.workdir), settings=loop.LoopSettings.of(config, total),
        checkpoint=state.checkpoint(), step=state.step, train_step=train_step,
        make_batches=lambda start: runtime.batches(data.train_batches(config, start, total)),
        make_samples=lambda: sample_grids(state.nets, config.variant, samples_a, samples_b),
        recording=loop.Recording(config, TRAINER, data.fingerprint(), extend),
        progress_stream=progress_stream)
