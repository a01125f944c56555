"""FCN-8s (Long et al., CVPR 2015), the segmentation network behind the FCN-score of Table 8.1.

Thesis 8.1.4: "a fully convolutional network (FCN) for semantic segmentation was pre-trained using
the real training photos and ground-truth labels"; generated photos are then segmented by it. This
is our own FCN-8s, not a port of the Caffe model, so it uses 'same' padding throughout instead of
the original's 100-pixel input padding and crops: for inputs that are multiples of 32 every stage
lines up and the logits have exactly the input size.

Decisions the thesis leaves open (and the FCN paper's choices where we follow them):
- encoder: VGG16 shape (2, 2, 3, 3, 3 convs of 3x3 + ReLU, 2x2 max pools), widths
  ``width * (1, 2, 4, 8, 8)``; fc6 / fc7 as 7x7 and 1x1 convolutions with ReLU and dropout (0.5);
- encoder and fc convs He-normal (trainable from scratch without batch norm); score layers zero
  (as FCN), so an untrained model outputs uniform logits;
- fusion by addition: score(fc7) x2 + score(pool4), x2 + score(pool3), x8 to the input size
  (no 0.01 / 0.0001 scaling of the pool scores: that belongs to FCN's at-once training);
- ``upsampling="learned"``: transposed convs (4x4 stride 2, 16x16 stride 8) initialised as per-class
  bilinear interpolation; ``"bilinear"``: fixed ``UpSampling2D`` bilinear resizing;
- inputs are RGB in [-1, 1] (the project's image range, so generator outputs feed in directly);
  ``preprocessing="vgg"`` converts them to what Keras's ImageNet VGG16 expects (BGR, 0-255, ImageNet
  mean subtracted) and is required by ``load_vgg16_weights``; ``"none"`` feeds them as they are
  (training from scratch; 0-255 inputs would blow up a randomly initialised network).
"""
import keras
from keras import layers, ops
import numpy as np

from models.pretrained import VGG16_IMAGENET_NOTOP, check_weights_file, load_weights_file, resolve

VGG_BLOCKS = (2, 2, 3, 3, 3)
VGG_WIDTHS = (1, 2, 4, 8, 8)
STRIDE = 32  # five 2x2 pools
UPSAMPLING = ("learned", "bilinear")
PREPROCESSING = ("none", "vgg")
BACKBONE_FLAG = "backbone_weights"


@keras.saving.register_keras_serializable(package="cyclegan_swapgan")
class RequireMultiple(layers.Layer):
    """Identity that raises ValueError for an input whose known height or width is not a multiple of
    ``multiple`` (checked on static shapes: eager calls, fixed-shape graphs)."""

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def _check(self, shape):
        h, w = shape[1], shape[2]
        if any(d is not None and d % self.multiple for d in (h, w)):
            raise ValueError(f"{self.name}: input {h}x{w} is not a multiple of {self.multiple} "
                             "(FCN-8s pools five times); resize or crop the images")

    def call(self, x):
        self._check(tuple(x.shape))
        return x

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return input_shape

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="cyclegan_swapgan")
class VGGPreprocess(layers.Layer):
    """RGB in [-1, 1] -> Keras's ImageNet VGG16 input: BGR, 0-255, ImageNet mean subtracted."""

    MEAN_BGR = (103.939, 116.779, 123.68)

    def call(self, x):
        bgr = (ops.flip(x, axis=-1) + 1.0) * 127.5
        return bgr - ops.convert_to_tensor(self.MEAN_BGR, dtype=x.dtype)


@keras.saving.register_keras_serializable(package="cyclegan_swapgan")
class BilinearUpsampling(keras.initializers.Initializer):
    """Kernel (k, k, C, C) of a transposed conv that bilinearly upsamples each channel by stride
    ``(k + 1) // 2`` (FCN's ``upsample_filt``), channels not mixed."""

    def __call__(self, shape, dtype=None):
        return ops.convert_to_tensor(bilinear_kernel(shape[0], shape[2], shape[3]),
                                     dtype=dtype or "float32")

    def get_config(self):
        return {}


def bilinear_kernel(size, out_channels, in_channels):
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    taps = 1.0 - np.abs(np.arange(size) - center) / factor
    kernel = np.zeros((size, size, out_channels, in_channels), np.float32)
    for c in range(min(out_channels, in_channels)):
        kernel[:, :, c, c] = np.outer(taps, taps)
    return kernel


def _upsample(x, factor, num_classes, upsampling, name):
    if upsampling == "bilinear":
        return layers.UpSampling2D(factor, interpolation="bilinear", name=name)(x)
    # 'same' crops (k - s) / 2 on each side of the full output, centring every input pixel on its
    # s x s output block: the interior matches bilinear resizing with half-pixel centres.
    return layers.Conv2DTranspose(num_classes, 2 * factor, strides=factor, padding="same",
                                  use_bias=False, kernel_initializer=BilinearUpsampling(),
                                  name=name)(x)


def fcn8s(num_classes, width=64, fc_width=None, upsampling="learned", dropout=0.5,
          preprocessing="none", in_channels=3, seed=0, name="fcn8s"):
    """FCN-8s: (N, H, W, in_channels) in [-1, 1] -> logits (N, H, W, num_classes).

    H and W must be multiples of 32 (ValueError otherwise). ``width=64`` gives the VGG16 encoder;
    ``fc_width`` defaults to 64 * width (4096 at width 64). See the module docstring for the rest.
    """
    if num_classes < 1 or width < 1 or (fc_width is not None and fc_width < 1):
        raise ValueError(f"fcn8s: num_classes, width and fc_width must be >= 1, got "
                         f"{num_classes}, {width}, {fc_width}")
    if upsampling not in UPSAMPLING:
        raise ValueError(f"fcn8s: upsampling must be one of {UPSAMPLING}, got {upsampling!r}")
    if preprocessing not in PREPROCESSING:
        raise ValueError(f"fcn8s: preprocessing must be one of {PREPROCESSING}, got {preprocessing!r}")
    if preprocessing == "vgg" and in_channels != 3:
        raise ValueError("fcn8s: preprocessing='vgg' needs 3 input channels (RGB)")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"fcn8s: dropout must be in [0, 1), got {dropout}")
    fc_width = fc_width or 64 * width
    seeds = keras.random.SeedGenerator(seed)

    def conv(filters, size, layer_name, init=None):
        return layers.Conv2D(filters, size, padding="same",
                             activation=None if init == "zeros" else "relu",
                             kernel_initializer=init or keras.initializers.HeNormal(seed=seeds),
                             name=layer_name)

    inputs = keras.Input((None, None, in_channels), name=f"{name}_input")
    h = RequireMultiple(STRIDE, name="input_check")(inputs)
    if preprocessing == "vgg":
        h = VGGPreprocess(name="vgg_preprocess")(h)
    pools = []
    for b, (convs, mult) in enumerate(zip(VGG_BLOCKS, VGG_WIDTHS), start=1):
        for i in range(1, convs + 1):
            h = conv(width * mult, 3, f"block{b}_conv{i}")(h)
        h = layers.MaxPooling2D(2, name=f"block{b}_pool")(h)
        pools.append(h)
    for k, (layer_name, size) in enumerate((("fc6", 7), ("fc7", 1))):
        h = conv(fc_width, size, layer_name)(h)
        if dropout:
            h = layers.Dropout(dropout, seed=seed + k, name=f"{layer_name}_drop")(h)
    score = conv(num_classes, 1, "score_fr", "zeros")(h)
    for pool, stage, up_name in ((pools[3], "pool4", "upscore2"), (pools[2], "pool3", "upscore_pool4")):
        up = _upsample(score, 2, num_classes, upsampling, up_name)
        skip = conv(num_classes, 1, f"score_{stage}", "zeros")(pool)
        score = layers.Add(name=f"fuse_{stage}")([up, skip])
    logits = _upsample(score, 8, num_classes, upsampling, "upscore8")
    return keras.Model(inputs, logits, name=name)


def load_vgg16_weights(model, weights="imagenet"):
    """Copies Keras's VGG16 (include_top=False) conv weights into the encoder of an fcn8s model.

    ``weights``: "imagenet" (Keras's file, fetched into ~/.keras once) or a path to that file
    (--backbone_weights=PATH). The model must have width 64 and ``preprocessing="vgg"``; fc6, fc7 and
    the score layers keep their initialisation. Raises WeightsError when the file cannot be fetched
    or loaded, ValueError for a model of another shape. Returns the model.
    """
    if model.get_layer("block1_conv1").filters != 64:
        raise ValueError(f"load_vgg16_weights: {model.name} has width "
                         f"{model.get_layer('block1_conv1').filters}; VGG16 weights need width 64")
    if "vgg_preprocess" not in [layer.name for layer in model.layers]:
        raise ValueError(f"load_vgg16_weights: {model.name} was built without "
                         "preprocessing='vgg'; ImageNet VGG16 weights expect VGG's input convention")
    path = check_weights_file(resolve(weights, VGG16_IMAGENET_NOTOP, BACKBONE_FLAG), BACKBONE_FLAG)
    vgg = keras.applications.VGG16(include_top=False, weights=None)
    load_weights_file(vgg, path, BACKBONE_FLAG)
    for layer in vgg.layers:
        if isinstance(layer, layers.Conv2D):
            model.get_layer(layer.name).set_weights(layer.get_weights())
    return model
