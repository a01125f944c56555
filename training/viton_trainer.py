"""Wires a VitonConfig into person pairs, the network, the optimiser, checkpoint, train step and
loop: the VITON baseline of Table 8.2, trained on SwapGAN's pairs (X_r the target, X_c the clothes).
"""
import dataclasses

from absl import logging
import numpy as np
import tensorflow as tf

from datasets.persons import sources
from datasets.persons.pipeline import fixed_pairs, pair_batches, steps_per_epoch
from models.pretrained import WeightsError
from models.viton import body_shape, clothes_mask, vgg19_features, viton_generator
from training import devices, loop
from training.config import ConfigError, VitonConfig
from training.summaries import grid
from training.viton_step import make_viton_train_step, viton_batch_input

TRAINER = "viton"
COLUMNS = ("reference", "agnostic", "cond. clothes", "output", "mask")
CONDITION_KEYS = ("x_c", "p_c", "s_c", "m_c", "h_c", "heat_c")


@dataclasses.dataclass
class VitonState:
    """Everything that is trained or advances: the contents of the checkpoint. ``rng`` holds the
    dropout layer's seed state, so a resumed run draws the same dropout masks."""

    net: object
    optimizer: object
    step: tf.Variable

    def checkpoint(self):
        rng = [v for v in self.net.non_trainable_variables if "seed_generator" in v.path]
        return tf.train.Checkpoint(step=self.step, optimizer=self.optimizer, viton=self.net, rng=rng)


def build_net(config):
    return viton_generator(config.image_size, ngf=config.ngf, n_layers=config.n_layers,
                           dropout=config.dropout, seed=config.seed)


def build_state(config, total_steps, runtime=None):
    """All training state, created under the run's precision policy and tf.distribute strategy."""
    runtime = runtime or devices.Runtime.of(config)
    with runtime.scope():
        net = build_net(config)
        optimizer = runtime.adam(config, total_steps, "optimizer", net.trainable_variables)
        return VitonState(net, optimizer, devices.step_counter())


def load_features(config):
    """The frozen VGG19 of the perceptual term, or None (with an info log) when it is off;
    ConfigError naming --vgg_weights when the weights cannot be had."""
    if not config.vgg_weights:
        logging.info("no --vgg_weights: VITON trains without its perceptual term (L1 image + "
                     "mask only); pass --vgg_weights=PATH (Keras's VGG19 no-top .h5) or imagenet")
        return None
    if config.lambda_perceptual == 0:
        return None
    try:
        return vgg19_features(config.image_size, config.vgg_weights)
    except WeightsError as e:
        raise ConfigError(str(e)) from e


def load_person_sets(config):
    """(train, test) PersonSets of the run's --dataset and --data_dir."""
    return sources.load_person_sets(config.dataset, config.data_dir,
                                    skip_corrupt_images=config.skip_corrupt_images)


def sample_batches(test_set, count, image_size):
    """'pairs': the first test pairs (X_r is the target); 'swap': the same references each with
    the condition of the next pair, the test-time task."""
    same = fixed_pairs(test_set, count, image_size, heatmaps=True)
    crossed = {k: (np.roll(v, -1, axis=0) if k in CONDITION_KEYS else v) for k, v in same.items()}
    return {"pairs": same, "swap": crossed}


def agnostic_picture(batch, shape_side):
    """The agnostic representation as one picture: the blurred shape in grey, the pose heatmaps'
    maximum brightening it, the head in colour."""
    shape = np.asarray(body_shape(tf.constant(batch["m_r"]), shape_side))
    grey = np.clip(0.6 * shape + batch["heat_r"].max(-1, keepdims=True), 0.0, 1.0) * 2.0 - 1.0
    return batch["h_r"] * batch["x_r"] + (1.0 - batch["h_r"]) * np.repeat(grey, 3, axis=-1)


def sample_grids(net, batches, shape_side):
    """{name: labelled grid}: per row the reference, its agnostic representation, the condition's
    clothes, the output and its clothes mask."""
    out = {}
    for name, batch in batches.items():
        tensors = {k: tf.constant(v) for k, v in batch.items()}
        image, mask = net(viton_batch_input(tensors, shape_side), training=False)
        clothes = batch["x_c"] * np.asarray(clothes_mask(tensors["s_c"]))
        columns = [batch["x_r"], agnostic_picture(batch, shape_side), clothes, np.asarray(image),
                   np.asarray(mask) * 2.0 - 1.0]
        out[name] = grid([[c[i] for c in columns] for i in range(len(batch["x_r"]))],
                         labels=list(COLUMNS))
    return out


def train(config: VitonConfig, progress_stream=None, extend=False):
    """Trains (or resumes) one run in ``config.workdir``; returns the loop's summary.

    ``extend`` lets a rerun change the run's length (see ``workdir.record``).
    """
    train_set, test_set = load_person_sets(config)  # bad data and weights fail before any write
    features = load_features(config)
    per_epoch = steps_per_epoch(train_set, config.batch_size)
    total = config.total_steps(per_epoch)
    logging.info("VITON coarse stage, %d px, perceptual term %s; %d training pairs of %d images "
                 "(segmentation: %s); %d steps of batch %d (%d per epoch); workdir %s",
                 config.image_size, "on" if features is not None else "off", train_set.num_pairs,
                 train_set.num_images, "keypoint-derived approximation"
                 if train_set.approximate_segmentation else "LIP parsing maps", total,
                 config.batch_size, per_epoch, config.workdir)
    runtime = devices.Runtime.of(config)
    runtime.check_batch(config.batch_size)
    state = build_state(config, total, runtime)
    train_step = make_viton_train_step(state.net, state.optimizer, state.step, config, features,
                                       runtime=runtime)
    samples = sample_batches(test_set, config.num_samples, config.image_size)
    return loop.run(
        workdir=runtime.workdir(config.workdir), settings=loop.LoopSettings.of(config, total),
        checkpoint=state.checkpoint(), step=state.step, train_step=train_step,
        make_batches=lambda start: runtime.batches(pair_batches(
            train_set, seed=config.seed, batch_size=config.batch_size, image_size=config.image_size,
            start_step=start, total_steps=total, flip=config.flip, heatmaps=True)),
        make_samples=lambda: sample_grids(state.net, samples, config.shape_side),
        recording=loop.Recording(config, TRAINER, train_set.fingerprint(), extend),
        shown=("g/total", "g/image"), progress_stream=progress_stream)
