"""Building blocks that Keras 3 lacks or that need the CycleGAN reference conventions.

The reference CycleGAN (PyTorch) pads explicitly; Keras' ``padding="same"`` pads asymmetrically for
stride 2 and keeps the size of 4x4 stride-1 convs, so a "same"-padded port computes a different
function. Every conv here is ``padding="valid"`` behind an explicit pad layer instead.
"""
import functools

import keras
from keras import layers, ops

INIT_STDDEV = 0.02  # N(0, 0.02) as in pix2pix / CycleGAN
INSTANCE_NORM_EPSILON = 1e-5  # PyTorch InstanceNorm2d's


@keras.saving.register_keras_serializable(package="cyclegan_swapgan")
class ReflectionPad2D(layers.Layer):
    """Pads height and width by mirroring (``torch.nn.ReflectionPad2d``), NHWC."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x):
        p = self.padding
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        grow = lambda d: None if d is None else d + 2 * self.padding  # noqa: E731
        return (n, grow(h), grow(w), c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def conv_initializer(seed_generator):
    """N(0, 0.02); a shared SeedGenerator gives each layer different, reproducible weights."""
    return keras.initializers.RandomNormal(0.0, INIT_STDDEV, seed=seed_generator)


def float32_under_mixed_precision():
    """'float32' while a 16-bit compute policy is set (Keras's global policy, which the trainers set
    while building), else None (the layer default). Network outputs use it, so that losses and pools
    stay float32 while convolutions and norms run in 16 bits (norm statistics are float32 inside
    ``InstanceNorm``). A float64 build (how the numerics are checked against a reference) stays
    float64 throughout."""
    return "float32" if keras.config.dtype_policy().compute_dtype in ("float16", "bfloat16") else None


def instance_norm(name):
    """Instance normalisation without affine parameters, as the reference CycleGAN uses."""
    return InstanceNorm(epsilon=INSTANCE_NORM_EPSILON, name=name)


def instance_norm_reference(x, epsilon=INSTANCE_NORM_EPSILON):
    """The definition, in keras.ops: (x - mean) / sqrt(var + eps) over each image's H, W per
    channel, with the biased variance (``torch.nn.InstanceNorm2d``). Statistics and arithmetic run
    in float32 for 16-bit inputs; the result has the input's dtype."""
    dtype = x.dtype
    y = ops.cast(x, "float32") if dtype in ("float16", "bfloat16") else x
    mean, variance = ops.moments(y, axes=(1, 2), keepdims=True)
    return ops.cast((y - mean) * ops.rsqrt(variance + epsilon), dtype)


def _fused_instance_norm_tf(x, epsilon):
    """The same function through TensorFlow's fused batch-norm kernel (oneDNN on CPU, cuDNN on GPU).

    One fused op forward and one backward instead of a dozen element-wise and reduction ops: 2.5x
    faster forward plus backward on a 128 px, 64-channel map on CPU. In training mode batch norm
    normalises each channel over (N, H, W) with the biased variance, so the images are first laid
    side by side as channels: (N, H, W, C) -> (1, H, W, N * C); for one image that is a reshape. A
    16-bit input keeps float32 statistics inside the kernel and gives a 16-bit output, so no cast
    of the whole map is needed, as ``torch.autocast`` runs its instance norm."""
    import tensorflow as tf

    n, h, w, c = x.shape
    if n is None or h is None or w is None:
        shape = tf.shape(x)
        n, h, w = (d if d is not None else shape[i] for i, d in enumerate((n, h, w)))
    single = isinstance(n, int) and n == 1
    y = x if single else tf.reshape(tf.transpose(x, (1, 2, 0, 3)), (1, h, w, n * c))
    ones = tf.ones((n * c,), tf.float32)
    zeros = tf.zeros((n * c,), tf.float32)
    empty = tf.zeros((0,), tf.float32)
    y = tf.raw_ops.FusedBatchNormV3(x=y, scale=ones, offset=zeros, mean=empty, variance=empty,
                                    epsilon=epsilon, is_training=True)[0]
    return y if single else tf.transpose(tf.reshape(y, (h, w, n, c)), (2, 0, 1, 3))


@functools.cache
def _fused_dtypes():
    """Dtypes the fused path takes: float32 and float16 everywhere; bfloat16 where measured and
    tested, on CPUs (oneDNN) and under XLA. With a GPU visible, bfloat16 runs the definition: TF's
    GPU kernel for it was never run here (no GPU with TensorFlow was available). Asked once per
    process: the layer is called on every eager forward pass."""
    import tensorflow as tf

    return ("float32", "float16") if tf.config.list_physical_devices("GPU") else \
        ("float32", "float16", "bfloat16")


@keras.saving.register_keras_serializable(package="cyclegan_swapgan")
class InstanceNorm(layers.Layer):
    """``torch.nn.InstanceNorm2d(affine=False)`` for NHWC maps, computing
    ``instance_norm_reference`` in the layer's compute dtype (bfloat16 under mixed precision, with
    float32 statistics either way).

    Models otherwise use keras.ops only. This layer is the one exception (docs/decisions.md): on
    the TensorFlow backend, for float32 and 16-bit maps (``_fused_dtypes``), it calls
    TensorFlow's fused batch-norm kernel, which computes the same function several times faster;
    float64 and every other backend (the JAX step) run the keras.ops definition.
    tests/test_networks.py checks they agree."""

    def __init__(self, epsilon=INSTANCE_NORM_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        if keras.backend.backend() == "tensorflow" and x.dtype in _fused_dtypes():
            return _fused_instance_norm_tf(x, self.epsilon)
        return instance_norm_reference(x, self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def conv(filters, kernel_size, strides, seed_generator, name, use_bias=True, dtype=None):
    return layers.Conv2D(filters, kernel_size, strides=strides, padding="valid", use_bias=use_bias,
                         kernel_initializer=conv_initializer(seed_generator),
                         bias_initializer="zeros", name=name, dtype=dtype)


def upsample_conv(x, filters, seed_generator, name):
    """3x3 stride-2 transposed conv matching PyTorch ``padding=1, output_padding=1``.

    The full ('valid') transposed conv of an n-pixel input has 2n+1 pixels; PyTorch drops the
    first row and column, whereas Keras' "same" drops the last one, shifting the output by a pixel.
    """
    x = layers.Conv2DTranspose(filters, 3, strides=2, padding="valid",
                               kernel_initializer=conv_initializer(seed_generator),
                               bias_initializer="zeros", name=name)(x)
    return layers.Cropping2D(((1, 0), (1, 0)), name=f"{name}_crop")(x)
