"""Wires a SwapConfig into person data, networks, optimisers, checkpoint, train step and loop."""
import dataclasses

from absl import logging
import numpy as np
import tensorflow as tf

from datasets.persons import sources
from datasets.persons.parsing import colorize
from datasets.persons.pipeline import fixed_pairs, pair_batches, steps_per_epoch
from models.swapgan import build_swap_nets, paste_head, swap_paths
from training import devices, loop
from training.config import SwapConfig
from training.summaries import grid
from training.swapgan_step import make_swapgan_train_step

TRAINER = "swapgan"
# Sample-grid columns in order; a generator set without some of them leaves those out.
COLUMNS = (("x_c", "X_c"), ("p_r", "P_r"), ("x_gi", "X_GI"), ("x_gi_pasted", "X_GI+H_r"),
           ("s_c", "S_c"), ("x_gii", "X_GII"), ("x_r", "X_r"), ("m_gi", "M(X_GI)"),
           ("m_gii", "M(X_GII)"))
CONDITION_KEYS = ("x_c", "p_c", "s_c", "m_c", "h_c")


@dataclasses.dataclass
class SwapState:
    """Everything that is trained or advances: the contents of the checkpoint."""

    nets: object
    g_optimizer: object
    d_optimizer: object
    step: tf.Variable

    def checkpoint(self):
        return tf.train.Checkpoint(step=self.step, g_optimizer=self.g_optimizer,
                                   d_optimizer=self.d_optimizer, **self.nets.networks())


def build_nets(config):
    return build_swap_nets(generators=config.generators, image_size=config.image_size,
                           ngf=config.ngf, ndf=config.ndf, n_blocks=config.n_blocks,
                           upsample_kernel=config.upsample_kernel, seed=config.seed)


def build_state(config, total_steps, runtime=None):
    """All training state, created under the run's precision policy and tf.distribute strategy."""
    runtime = runtime or devices.Runtime.of(config)
    with runtime.scope():
        nets = build_nets(config)
        g_opt = runtime.adam(config, total_steps, "g_optimizer", nets.generator_variables)
        d_opt = runtime.adam(config, total_steps, "d_optimizer", nets.discriminator_variables)
        return SwapState(nets, g_opt, d_opt, devices.step_counter())


def load_person_sets(config):
    """(train, test) PersonSets of the run's --dataset and --data_dir."""
    return sources.load_person_sets(config.dataset, config.data_dir,
                                    skip_corrupt_images=config.skip_corrupt_images)


def sample_batches(test_set, count, image_size):
    """Fixed sample inputs: 'pairs', the first test pairs (X_r is the target of X_GI), and 'swap',
    the same references each with the condition image of the next pair (usually another person),
    the test-time task of Fig. 8.14."""
    same = fixed_pairs(test_set, count, image_size)
    crossed = {k: (np.roll(v, -1, axis=0) if k in CONDITION_KEYS else v) for k, v in same.items()}
    return {"pairs": same, "swap": crossed}


def _shown(key, images):
    """Grid cells in [-1, 1]: masks from [0, 1], one-hot segmentation in COARSE_PALETTE colours."""
    images = np.asarray(images)
    if key == "s_c":
        return colorize(images.argmax(-1)).astype(np.float32) / 127.5 - 1.0
    if key.startswith("m_"):
        return images * 2.0 - 1.0
    return images


def swap_outputs(nets, batch):
    """The networks' outputs for a batch (keys of ``models.swapgan``, as the generator set has
    them) and X_GI with the reference head pasted ('x_gi_pasted', the test-phase result)."""
    paths = swap_paths(nets, batch, training=False)
    return {**paths, "x_gi_pasted": paste_head(paths["x_gi"], batch["x_r"], batch["h_r"])}


def swap_grid(values):
    """A labelled grid from numpy inputs and outputs: a row per example, columns X_c, P_r, X_GI,
    X_GI with H_r pasted, S_c, X_GII, X_r, M_GIII(X_GI), M_GIII(X_GII) (absent ones left out)."""
    columns = [(k, label) for k, label in COLUMNS if k in values]
    shown = {k: _shown(k, values[k]) for k, _ in columns}
    rows = [[shown[k][i] for k, _ in columns] for i in range(len(values["x_r"]))]
    return grid(rows, labels=[label for _, label in columns])


def sample_grids(nets, batches):
    """{name: swap_grid} for each fixed sample batch (``sample_batches``)."""
    out = {}
    for name, batch in batches.items():
        outputs = swap_outputs(nets, {k: tf.constant(v) for k, v in batch.items()})
        out[name] = swap_grid({**batch, **{k: np.asarray(v) for k, v in outputs.items()}})
    return out


def train(config: SwapConfig, progress_stream=None, extend=False):
    """Trains (or resumes) one run in ``config.workdir``; returns the loop's summary.

    ``extend`` lets a rerun change the run's length (see ``workdir.record``).
    """
    train_set, test_set = load_person_sets(config)  # fails on bad data before anything is written
    per_epoch = steps_per_epoch(train_set, config.batch_size)
    total = config.total_steps(per_epoch)
    logging.info("SwapGAN, generators %s, %d px; %d training pairs of %d images (segmentation: %s); "
                 "%d steps of batch %d (%d per epoch); workdir %s", config.generators,
                 config.image_size, train_set.num_pairs, train_set.num_images,
                 "keypoint-derived approximation" if train_set.approximate_segmentation
                 else "LIP parsing maps", total, config.batch_size, per_epoch, config.workdir)
    runtime = devices.Runtime.of(config)
    runtime.check_batch(config.batch_size)
    state = build_state(config, total, runtime)
    train_step = make_swapgan_train_step(state.nets, state.g_optimizer, state.d_optimizer,
                                         state.step, config, runtime=runtime)
    samples = sample_batches(test_set, config.num_samples, config.image_size)
    return loop.run(
        workdir=runtime.workdir(config.workdir), settings=loop.LoopSettings.of(config, total),
        checkpoint=state.checkpoint(), step=state.step, train_step=train_step,
        make_batches=lambda start: runtime.batches(pair_batches(
            train_set, seed=config.seed, batch_size=config.batch_size, image_size=config.image_size,
            start_step=start, total_steps=total, flip=config.flip)),
        make_samples=lambda: sample_grids(state.nets, samples),
        recording=loop.Recording(config, TRAINER, train_set.fingerprint(), extend),
        shown=("g/total", "d/total"), progress_stream=progress_stream)
