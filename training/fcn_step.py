"""The FCN's objective and train-step factory (the segmentation network behind Table 8.1)."""
import keras
from keras import ops
import tensorflow as tf

from datasets.labels import IGNORE_ID
from training.optim import l2_weight_decay
from training.update import player_update


def segmentation_loss(logits, labels, ignore_id=IGNORE_ID):
    """Pixel-wise softmax cross-entropy, averaged over the pixels whose label is not ``ignore_id``
    (FCN, Long et al. 2015; the thesis names no loss). logits (N, H, W, K), labels (N, H, W) ids.
    A batch with no labelled pixel has loss 0."""
    valid = ops.not_equal(labels, ignore_id)
    safe = ops.where(valid, labels, ops.zeros_like(labels))  # ignored pixels: any class, weight 0
    per_pixel = keras.losses.sparse_categorical_crossentropy(safe, logits, from_logits=True)
    weight = ops.cast(valid, per_pixel.dtype)
    return ops.sum(per_pixel * weight) / ops.maximum(ops.sum(weight), 1.0)


def pixel_accuracy(logits, labels, ignore_id=IGNORE_ID):
    """Share of labelled pixels whose arg-max class is right (the progress bar's 'pixel_acc')."""
    valid = ops.cast(ops.not_equal(labels, ignore_id), "float32")
    hits = ops.cast(ops.equal(ops.argmax(logits, axis=-1), ops.cast(labels, "int64")), "float32")
    return ops.sum(hits * valid) / ops.maximum(ops.sum(valid), 1.0)


def make_fcn_train_step(model, optimizer, step, config, *, jit_compile=True, runtime=None):
    """Returns ``train_step(batch) -> dict`` compiled with ``tf.function(jit_compile=...)``, or by
    ``runtime.compile`` (the run's precision, tf.distribute and XLA).

    One call: the loss of ``batch`` ({'photo', 'labels'}), one Adam update of every FCN weight,
    ``step`` += 1. Returns 'loss' (cross-entropy plus 'l2' with --weight_decay_mode=l2),
    'cross_entropy', 'pixel_acc' and the learning rate used ('lr').
    """
    variables = model.trainable_variables
    l2 = l2_weight_decay(config)

    def train_step(batch):
        lr = tf.cast(optimizer.learning_rate, tf.float32)
        def losses():
            logits = model(batch["photo"], training=True)
            cross_entropy = segmentation_loss(logits, batch["labels"])
            return {"cross_entropy": cross_entropy, "loss": cross_entropy}, logits

        terms, logits = player_update(optimizer, variables, losses, total="loss", l2_weight=l2, l2_key="l2")
        step.assign_add(1)
        return {**terms, "pixel_acc": pixel_accuracy(logits, batch["labels"]), "lr": lr}

    return runtime.compile(train_step) if runtime else tf.function(train_step, jit_compile=jit_compile)
