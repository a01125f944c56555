"""Keras layers that wrap the generators for use outside this repository: uint8 in, uint8 out.

They repeat, op for op, what evaluation does around the networks, so that an exported model gives
the images ``evaluation.translate`` and ``evaluation.swap`` write:

- ``ToUnitRange``: uint8 images -> [-1, 1] floats at the model's size (``datasets.pipeline``:
  bicubic resize with antialiasing, clipped to [0, 255], then x / 127.5 - 1); optionally first
  widened to a square frame by repeating the edge columns, as the person pipeline pads the
  256 x 176 DeepFashion crop.
- ``ToUint8``: [-1, 1] -> uint8, round half up and clip (``training.summaries.to_uint8``).
- ``PasteHead``: the test-phase head paste of SwapGAN (``models.swapgan.paste_head``) with a
  uint8 head mask (nonzero = head).

Importing this module registers them (and, through ``models.layers``, the generators' own layer),
which is all ``keras.saving.load_model`` needs to read an exported .keras file.
"""
import keras
from keras import layers, ops

from models import layers as _generator_layers  # noqa: F401 (registers ReflectionPad2D)
from models.swapgan import paste_head


@keras.saving.register_keras_serializable(package="cyclegan_swapgan")
class ToUnitRange(layers.Layer):
    """uint8 (B, H, W, C) -> float32 (B, S, S, C) in [-1, 1]; no resize when image_size is None."""

    def __init__(self, image_size=None, frame=None, **kwargs):
        super().__init__(**kwargs)
        self.image_size = image_size and int(image_size)
        self.frame = frame and int(frame)

    def build(self, input_shape):
        # A variable, not a constant: TensorFlow's graph optimiser turns x / 127.5 into
        # x * (1 / 127.5), which differs in the last bit from the division evaluation does.
        self.half_range = self.add_weight(shape=(), initializer=keras.initializers.Constant(127.5),
                                          trainable=False, name="half_range")

    def call(self, images):
        x = images
        if self.frame:
            width = ops.shape(x)[2]
            columns = ops.clip(ops.arange(self.frame) - (self.frame - width) // 2, 0, width - 1)
            x = ops.take(x, columns, axis=2)
        x = ops.cast(x, "float32")
        if self.image_size:
            x = ops.image.resize(x, (self.image_size, self.image_size), interpolation="bicubic",
                                 antialias=True)
            x = ops.clip(x, 0.0, 255.0)
        return x / self.half_range - 1.0

    def compute_output_shape(self, input_shape):
        size = self.image_size
        height = size or input_shape[1]
        width = size or (self.frame or input_shape[2])
        return (input_shape[0], height, width, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size, "frame": self.frame}


@keras.saving.register_keras_serializable(package="cyclegan_swapgan")
class ToUint8(layers.Layer):
    """[-1, 1] floats -> uint8, (x + 1) * 127.5 rounded half up, clipped to [0, 255]."""

    def call(self, x):
        x = ops.cast(x, "float32")
        return ops.cast(ops.clip((x + 1.0) * 127.5 + 0.5, 0.0, 255.0), "uint8")

    def compute_output_spec(self, x):
        return keras.KerasTensor(x.shape, dtype="uint8")


@keras.saving.register_keras_serializable(package="cyclegan_swapgan")
class PasteHead(layers.Layer):
    """[X_GI, X_r, H_r] -> H_r * X_r + (1 - H_r) * X_GI, with H_r a uint8 mask (nonzero: head)."""

    def call(self, inputs):
        x_gi, x_r, h_r = inputs
        return paste_head(x_gi, x_r, ops.cast(ops.greater(h_r, 0), x_gi.dtype))

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]
