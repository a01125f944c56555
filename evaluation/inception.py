"""The Inception v3 classifier behind IS (Tables 8.2, 8.3), FID and KID.

One forward pass gives both the 1000-way softmax (for IS) and the 2048-d global-average-pool
features (for FID / KID). The network is ``keras.applications.InceptionV3`` with Keras's ImageNet
weights, not the 2015 TensorFlow graph (1008 classes) that published inception scores used, so our
IS values are comparable with each other but not digit for digit with the thesis's (that graph is
read by ``inception_graph.py``, --inception_graph); every IS column should print
``InceptionRunner.label`` beside it.

    runner = InceptionRunner(load_inception(FLAGS.inception_weights))
    probs, features = runner.predict(images)          # images: uint8 or [-1, 1], (N, H, W, 3)
    is_mean, is_std = metrics.inception_score(probs)
"""
import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from models.pretrained import INCEPTION_V3_IMAGENET, WeightsError, check_weights_file, load_weights_file, resolve

__all__ = ["Inception", "InceptionRunner", "WeightsError", "load_inception"]

FLAG = "inception_weights"
INPUT_SIZE = 299  # Inception v3's training resolution; it accepts >= 75
NUM_CLASSES = 1000
FEATURE_DIM = 2048


@dataclasses.dataclass(frozen=True)
class Inception:
    """A two-output model (probs (N, 1000), features (N, 2048)) and a label naming its weights."""

    model: keras.Model
    label: str
    input_size: int


def load_inception(weights="imagenet", input_size=INPUT_SIZE):
    """Inception v3 with ``weights``: "imagenet" (Keras's file, fetched into ~/.keras once) or the
    path of a Keras weights / model file (.weights.h5, .h5, .keras) of InceptionV3 with its top.

    Raises WeightsError (a ValueError) with a one-line message when the ImageNet file cannot be
    fetched (it names --inception_weights=PATH, the URL and the file name) or when the path is
    missing, corrupt or holds another network. ``input_size`` (>= 75) is the square size images
    are resized to; the weights do not depend on it.
    """
    if input_size < 75:
        raise ValueError(f"load_inception: input_size {input_size} < 75, InceptionV3's minimum")
    path = check_weights_file(resolve(weights, INCEPTION_V3_IMAGENET, FLAG), FLAG)  # fail fast
    base = keras.applications.InceptionV3(include_top=True, weights=None,
                                          input_shape=(input_size, input_size, 3),
                                          classes=NUM_CLASSES)
    load_weights_file(base, path, FLAG)
    model = keras.Model(base.input, [base.output, base.get_layer("avg_pool").output],
                        name="inception_v3_probs_and_pool")
    source = "ImageNet" if weights == "imagenet" else os.path.basename(path)
    return Inception(model, f"keras InceptionV3 ({source}, {NUM_CLASSES} classes)", input_size)


def _batches(images, batch_size):
    """Re-batches an (N, H, W, 3) array or an iterable of such arrays into chunks of batch_size;
    each input chunk is copied at most once (joined with the < batch_size rows left over)."""
    if isinstance(images, np.ndarray) or tf.is_tensor(images):
        images = [images]
    left = None
    for chunk in images:
        chunk = np.asarray(chunk)
        if chunk.ndim == 3:
            chunk = chunk[None]
        if chunk.ndim != 4 or chunk.shape[-1] != 3:
            raise ValueError(f"InceptionRunner: images must be (N, H, W, 3), got {chunk.shape}")
        if left is not None and len(left):
            chunk = np.concatenate([left, chunk])
        full = len(chunk) - len(chunk) % batch_size
        for start in range(0, full, batch_size):
            yield chunk[start:start + batch_size]
        left = chunk[full:]
    if left is not None and len(left):
        yield left


def predict_in_batches(forward, images, batch_size, progress, name):
    """(probs, features) of ``forward`` over ``images`` in batches, as float64 numpy arrays;
    ``progress(done)`` after every batch."""
    probs, features, done = [], [], 0
    for batch in _batches(images, batch_size):
        p, f = forward(batch)
        probs.append(np.asarray(p, np.float64))
        features.append(np.asarray(f, np.float64))
        done += len(batch)
        if progress is not None:
            progress(done)
    if not done:
        raise ValueError(f"{name}.predict: no images")
    return np.concatenate(probs), np.concatenate(features)


def _to_unit_range(batch):
    """float32 in [-1, 1]: uint8 is scaled by x / 127.5 - 1 (Inception's preprocessing); floats
    must already be in [-1, 1] (a [0, 1] or [0, 255] float batch is refused, not guessed)."""
    if batch.dtype == np.uint8:
        return batch.astype(np.float32) / 127.5 - 1.0
    if not np.issubdtype(batch.dtype, np.floating):
        raise ValueError(f"InceptionRunner: images must be uint8 or float in [-1, 1], "
                         f"got {batch.dtype}")
    lo, hi = float(batch.min()), float(batch.max())
    if lo < -1.001 or hi > 1.001:
        raise ValueError(f"InceptionRunner: float images must lie in [-1, 1], got [{lo:.3g}, "
                         f"{hi:.3g}]; pass uint8 for 0-255 data")
    return batch.astype(np.float32)


class InceptionRunner:
    """Batched, compiled Inception forward passes: ``predict(images) -> (probs, features)``.

    Images of any size are resized bilinearly (no antialiasing, as the usual TF ports do) to the
    network's input size inside the compiled function. ``images`` may be one array or an iterable
    of arrays (e.g. a generator over files), so a 34,000-image test set need not fit in memory.
    """

    def __init__(self, inception, batch_size=50, label=None):
        if isinstance(inception, Inception):
            model, size, label = inception.model, inception.input_size, label or inception.label
        else:  # a bare two-output keras.Model
            size = inception.input_shape[1] or INPUT_SIZE
            model, label = inception, label or inception.name
        if batch_size < 1:
            raise ValueError(f"InceptionRunner: batch_size must be >= 1, got {batch_size}")
        self.model, self.input_size, self.label, self.batch_size = model, size, label, batch_size

        @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)],
                     reduce_retracing=True)
        def forward(x):
            x = tf.image.resize(x, (size, size), method="bilinear")
            probs, features = model(x, training=False)
            return probs, features

        self._forward = forward

    def predict(self, images, progress=None):
        """(probs (N, 1000), features (N, 2048)) as float64 numpy arrays.

        ``progress(done)`` is called after every batch with the number of images done so far.
        """
        return predict_in_batches(lambda batch: self._forward(tf.convert_to_tensor(_to_unit_range(batch))),
                                  images, self.batch_size, progress, "InceptionRunner")
