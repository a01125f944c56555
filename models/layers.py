"""Building blocks that Keras 3 lacks or that need the CycleGAN reference conventions.

The reference CycleGAN (PyTorch) pads explicitly; Keras' ``padding="same"`` pads asymmetrically for
stride 2 and keeps the size of 4x4 stride-1 convs, so a "same"-padded port computes a different
function. Every conv here is ``padding="valid"`` behind an explicit pad layer instead.
"""
import keras
from keras import layers, ops

INIT_STDDEV = 0.02  # N(0, 0.02) as in pix2pix / CycleGAN
INSTANCE_NORM_EPSILON = 1e-5  # PyTorch InstanceNorm2d; Keras GroupNormalization defaults to 1e-3


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
    while building), else None (the layer default). Norm statistics and network outputs use it, so
    that losses and pools stay float32 while convolutions run in 16 bits. A float64 build (how the
    numerics are checked against a reference) stays float64 throughout."""
    return "float32" if keras.config.dtype_policy().compute_dtype in ("float16", "bfloat16") else None


def instance_norm(name):
    """Instance normalisation without affine parameters, as the reference CycleGAN uses."""
    return layers.GroupNormalization(groups=-1, center=False, scale=False,
                                     epsilon=INSTANCE_NORM_EPSILON, name=name,
                                     dtype=float32_under_mixed_precision())


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
