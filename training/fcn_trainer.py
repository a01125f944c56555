"""Wires an FCNConfig into data, the FCN-8s, Adam, checkpoint, train step and the shared loop: the
segmentation network of the FCN-score (thesis 8.1.4: "pre-trained using the real training photos
and ground-truth labels").

Only the evaluation uses it, but it trains through ``training.loop`` exactly like the CycleGAN
family (same workdir contract, resume, metrics, samples). Decisions the thesis leaves open, beside
those of ``models.fcn`` and ``datasets.segmentation``:
- optimiser: Adam (beta1 0.9, the usual value outside GAN training; lr 1e-4) with the project's
  constant-then-linear-decay schedule and decoupled weight decay 5e-4 (FCN's value) via
  ``training.optim.make_adam``;
- loss: pixel-wise softmax cross-entropy over the labelled pixels (ignore id 255 skipped);
- input: the whole photo resized to --image_size, random flips, no crop;
- dropout 0.5 in fc6/fc7 (FCN); its random state is checkpointed so that resumption is exact.
"""
import dataclasses

from absl import logging
import numpy as np
import tensorflow as tf

from datasets.labels import get_label_set, ids_to_colors
from datasets.segmentation import (
    fixed_pairs,
    has_test_split,
    load_labelled_images,
    segmentation_batches,
    steps_per_epoch,
)
from models.fcn import fcn8s, load_vgg16_weights
from models.pretrained import WeightsError
from training import checkpoints as ckpt
from training import devices, loop
from training.config import ConfigError, FCNConfig
from training.fcn_step import make_fcn_train_step
from training.summaries import grid

TRAINER = "fcn"
SHOWN = ("loss", "pixel_acc")


@dataclasses.dataclass
class FCNState:
    """Everything that is trained or advances: the contents of the checkpoint."""

    model: object
    optimizer: object
    step: tf.Variable

    def checkpoint(self):
        # Keras does not track the dropout layers' seed generators for tf.train.Checkpoint; saved
        # explicitly, a resumed run draws the same dropout masks as an uninterrupted one.
        seeds = {f"seed_{i}": v.value for i, v in enumerate(self.model.non_trainable_variables)}
        return tf.train.Checkpoint(step=self.step, optimizer=self.optimizer, fcn=self.model,
                                   dropout_seeds=seeds)


def build_fcn(config):
    return fcn8s(get_label_set(config.label_set).num_classes, width=config.width, fc_width=config.fc_width,
                 upsampling=config.upsampling, dropout=config.dropout,
                 preprocessing=config.preprocessing, seed=config.seed)


def build_state(config, total_steps, runtime=None):
    """All training state, created under the run's precision policy and tf.distribute strategy."""
    runtime = runtime or devices.Runtime.of(config)
    with runtime.scope():
        model = build_fcn(config)
        optimizer = runtime.adam(config, total_steps, "optimizer", model.trainable_variables)
        return FCNState(model, optimizer, devices.step_counter())


def load_backbone(config, model):
    """ImageNet VGG16 weights into a fresh run's encoder; a resumed run has them in its checkpoint
    already (and needs no network). Errors become one-line ConfigErrors naming the flag."""
    if config.backbone_weights == "none" or ckpt.steps_on_disk(config.workdir):
        return
    try:
        load_vgg16_weights(model, config.backbone_weights)
    except WeightsError as e:
        raise ConfigError(str(e)) from e


def colorize(ids, label_set):
    """Class ids -> RGB in [-1, 1] (the grids' range)."""
    return ids_to_colors(np.asarray(ids).astype(np.uint8), label_set).astype(np.float32) / 127.5 - 1


def sample_grid(model, label_set, photos, ids):
    """One row per fixed test photo: photo | ground truth | prediction."""
    predicted = np.argmax(np.asarray(model(tf.constant(photos), training=False)), axis=-1)
    rows = [[photos[i], colorize(ids[i], label_set), colorize(predicted[i], label_set)]
            for i in range(len(photos))]
    return {"segmentation": grid(rows, labels=["photo", "ground truth", "prediction"])}


def train(config: FCNConfig, progress_stream=None, extend=False):
    """Trains (or resumes) the FCN in ``config.workdir``; returns the loop's summary."""
    label_set = get_label_set(config.label_set)
    data = load_labelled_images(config.dataset, config.data_dir, "train",
                                skip_corrupt=config.skip_corrupt_images, label_set=label_set)
    test = data  # the sample grids show test photos where the dataset has a test split
    if has_test_split(config.dataset, config.data_dir):
        test = load_labelled_images(config.dataset, config.data_dir, "test",
                                    skip_corrupt=config.skip_corrupt_images)
    per_epoch = steps_per_epoch(data, config.batch_size)
    total = config.total_steps(per_epoch)
    runtime = devices.Runtime.of(config)
    runtime.check_batch(config.batch_size)
    state = build_state(config, total, runtime)
    logging.info("FCN-8s (%s, %d classes, width %d, fc %d, %s upsampling), %d params, %d px; %d "
                 "train pairs; %d steps of batch %d (%d per epoch); workdir %s", config.label_set,
                 label_set.num_classes, config.width, config.fc_width, config.upsampling,
                 state.model.count_params(), config.image_size, len(data), total,
                 config.batch_size, per_epoch, config.workdir)
    load_backbone(config, state.model)
    train_step = make_fcn_train_step(state.model, state.optimizer, state.step, config,
                                     runtime=runtime)
    photos, ids = fixed_pairs(test, config.num_samples, label_set, config.image_size)
    return loop.run(
        workdir=runtime.workdir(config.workdir), settings=loop.LoopSettings.of(config, total),
        checkpoint=state.checkpoint(), step=state.step, train_step=train_step,
        make_batches=lambda start: runtime.batches(segmentation_batches(
            data, label_set, seed=config.seed, batch_size=config.batch_size,
            image_size=config.image_size, flip=config.flip, start_step=start, total_steps=total)),
        make_samples=lambda: sample_grid(state.model, label_set, photos, ids),
        recording=loop.Recording(config, TRAINER, data.fingerprint(), extend),
        shown=SHOWN, progress_stream=progress_stream)
