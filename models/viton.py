"""VITON's coarse stage (Han et al., CVPR 2018, stage 1), the encoder-decoder baseline of Table 8.2.

Thesis 8.2.3: "VITON: in contrast to non-parametric methods, it proposes an encoder-decoder network to
generate a new reference person image wearing the target clothes". VITON takes a flat product image;
the thesis adapts it to person-to-person swapping, so the clothes come from the condition person:
X_c times its clothes mask (upper- and lower-body clothes of S_c). The rest follows VITON's stage 1
(its public code):

* Clothing-agnostic person representation of the reference (``agnostic_representation``): 18 pose
  heatmaps (our Gaussian ones, sigma 6 at 256 px; VITON draws 11 x 11 squares), the body shape M_r
  area-downsampled to ``shape_side`` rows and bilinearly upsampled back (VITON: 16 x 12 at 256 x 192,
  so a blurred silhouette that says nothing of the clothes), and the head RGB X_r * H_r. 22 channels;
  with the clothes, 25 network inputs.
* Network (``viton_generator``): pix2pix's U-Net as VITON uses it. ``n_layers`` 4x4 stride-2 convs
  down, widths ngf, 2ngf, 4ngf, 8ngf, 8ngf, ... (VITON: 6 layers, to 4 x 3 at 256 x 192; ours reach
  2 x 2 at 128 px), LeakyReLU 0.2 before every conv but the first, batch norm after every conv but
  the first; up, 4x4 stride-2 transposed convs with ReLU before and batch norm after, each
  concatenated with the encoder map of its size, dropout 0.5 after the innermost one (training only);
  a last transposed conv to 4 channels: tanh on 3 (the image), sigmoid on 1 (the clothes mask;
  VITON puts tanh on all four). Weights N(0, 0.02); biases only where no batch norm follows.
  Batch-norm momentum 0.99 (Keras's; VITON's 0.999 needs far longer runs than our presets for its
  moving statistics to settle), epsilon 1e-5 as VITON.
* Objective (``viton_objective``, VITON eq. 1): L1 of the image to X_r + L1 of the mask to the
  reference's clothes mask + a perceptual term: L1 distances of VGG19 conv1_2 ... conv5_2 features
  with VITON's per-layer normalisers, weight 3. The perceptual term needs ImageNet VGG19 weights
  (``vgg19_features``); without them it is off.
"""
import keras
from keras import layers, ops

from models.layers import conv_initializer
from models.pretrained import KerasWeights, check_weights_file, load_weights_file, resolve

NUM_HEATMAPS = 18
AGNOSTIC_CHANNELS = NUM_HEATMAPS + 1 + 3  # heatmaps, body shape, head RGB
IN_CHANNELS = AGNOSTIC_CHANNELS + 3       # + the condition's clothes
# Coarse ids of upper- and lower-body clothes (datasets.persons.parsing.UPPER / LOWER; models may not
# import datasets, a test checks they agree).
CLOTHES_CLASSES = (4, 5)
BN_MOMENTUM = 0.99
BN_EPSILON = 1e-5
VGG_FLAG = "vgg_weights"
VGG_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv2", "block4_conv2", "block5_conv2")
# VITON's normalisers of conv1_2 ... conv5_2 (model_zalando_mask_content.py), then / 5 / 128.
VGG_LAYER_WEIGHTS = tuple(w / 5.0 / 128.0 for w in
                          (2.5 / 5.3, 1 / 2.7 / 1.2, 1 / 1.35 / 2.3, 1 / 0.67 / 8.2, 1 / 0.16))
VGG_BGR_MEAN = (103.939, 116.779, 123.68)
VGG19_IMAGENET_NOTOP = KerasWeights(
    "ImageNet VGG19 (no top)", "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
    "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6")


def check_viton_image_size(image_size, n_layers):
    """ValueError unless ``n_layers`` halvings of ``image_size`` stay whole (and >= 1 px)."""
    if n_layers < 1 or image_size < 2 ** n_layers or image_size % 2 ** n_layers:
        raise ValueError(f"VITON's U-Net with {n_layers} stride-2 layers needs an image size that "
                         f"is a positive multiple of {2 ** max(n_layers, 0)}, got {image_size}")


def clothes_mask(segmentation):
    """(N, S, S, 1) union of the clothes classes of a one-hot coarse segmentation (N, S, S, 6)."""
    upper, lower = CLOTHES_CLASSES
    return segmentation[..., upper:upper + 1] + segmentation[..., lower:lower + 1]


def body_shape(mask, shape_side=16):
    """VITON's blurred body shape: the mask area-averaged down to shape_side x shape_side, then
    bilinearly resized back to its size (which must be a multiple of ``shape_side``)."""
    size = mask.shape[1]
    if size % shape_side:
        raise ValueError(f"body_shape: image size {size} is not a multiple of shape_side {shape_side}")
    factor = size // shape_side
    small = ops.average_pool(mask, factor, strides=factor, padding="valid")
    return ops.image.resize(small, (size, mask.shape[2]), interpolation="bilinear")


def agnostic_representation(heat, mask, image, head, shape_side=16):
    """The reference's clothing-agnostic representation: [heatmaps (18), body shape (1), head RGB
    image * head (3)], (N, S, S, 22)."""
    return ops.concatenate([heat, body_shape(mask, shape_side), image * head], axis=-1)


def viton_input(heat_r, m_r, x_r, h_r, x_c, s_c, shape_side=16):
    """The 25-channel network input: the reference's agnostic representation and the condition's
    clothes X_c * (its clothes mask)."""
    return ops.concatenate([agnostic_representation(heat_r, m_r, x_r, h_r, shape_side),
                            x_c * clothes_mask(s_c)], axis=-1)


def _batch_norm(name):
    return layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)


def viton_generator(image_size, ngf=64, n_layers=6, dropout=0.5, seed=0, name="viton"):
    """VITON's stage-1 U-Net (module doc): (N, S, S, 25) -> [image (N, S, S, 3) in [-1, 1],
    clothes mask (N, S, S, 1) in [0, 1]]."""
    check_viton_image_size(image_size, n_layers)
    seeds = keras.random.SeedGenerator(seed)
    inputs = keras.Input((image_size, image_size, IN_CHANNELS), name="viton_input")
    widths = [ngf * min(2 ** k, 8) for k in range(n_layers)]
    skips = [layers.Conv2D(widths[0], 4, strides=2, padding="same",
                           kernel_initializer=conv_initializer(seeds), name="down_1")(inputs)]
    for k in range(1, n_layers):
        h = layers.LeakyReLU(0.2, name=f"down_{k + 1}_lrelu")(skips[-1])
        h = layers.Conv2D(widths[k], 4, strides=2, padding="same", use_bias=False,
                          kernel_initializer=conv_initializer(seeds), name=f"down_{k + 1}")(h)
        skips.append(_batch_norm(f"down_{k + 1}_norm")(h))
    h = skips[-1]
    for k in range(n_layers - 1, 0, -1):  # up to the size of skips[k - 1]
        if k < n_layers - 1:
            h = layers.Concatenate(name=f"up_{k + 1}_skip")([h, skips[k]])
        h = layers.ReLU(name=f"up_{k + 1}_relu")(h)
        h = layers.Conv2DTranspose(widths[k - 1], 4, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=conv_initializer(seeds), name=f"up_{k + 1}")(h)
        h = _batch_norm(f"up_{k + 1}_norm")(h)
        if k == n_layers - 1 and dropout:
            h = layers.Dropout(dropout, seed=seed + 1, name=f"up_{k + 1}_dropout")(h)
    if n_layers > 1:
        h = layers.Concatenate(name="up_1_skip")([h, skips[0]])
    h = layers.ReLU(name="up_1_relu")(h)
    h = layers.Conv2DTranspose(4, 4, strides=2, padding="same",
                               kernel_initializer=conv_initializer(seeds), name="up_1")(h)
    image = layers.Activation("tanh", name="image")(h[..., :3])
    mask = layers.Activation("sigmoid", name="mask")(h[..., 3:])
    return keras.Model(inputs, [image, mask], name=name)


def l1(a, b):
    """Mean absolute difference."""
    return ops.mean(ops.abs(a - b))


def perceptual_loss(fake_features, real_features, weights=VGG_LAYER_WEIGHTS):
    """VITON eq. 1's perceptual part: sum_i w_i * mean |phi_i(fake) - phi_i(real)| over the VGG19
    conv1_2 ... conv5_2 feature maps (VITON's normalisers as ``weights``)."""
    if len(fake_features) != len(weights) or len(real_features) != len(weights):
        raise ValueError(f"perceptual_loss: {len(fake_features)} / {len(real_features)} feature "
                         f"maps for {len(weights)} weights")
    return sum(w * l1(f, r) for w, f, r in zip(weights, fake_features, real_features))


def viton_objective(image, mask, target_image, target_mask, *, lambda_image=1.0, lambda_mask=1.0,
                    lambda_perceptual=3.0, features=None):
    """VITON's stage-1 objective (VITON eq. 1; not a thesis equation) -> dict of 'g/image',
    'g/mask', 'g/perceptual' (only with ``features``, a VGG19 feature extractor) and 'g/total'."""
    terms = {"g/image": l1(image, target_image), "g/mask": l1(mask, target_mask)}
    total = lambda_image * terms["g/image"] + lambda_mask * terms["g/mask"]
    if features is not None:
        terms["g/perceptual"] = perceptual_loss(features(image), features(target_image))
        total = total + lambda_perceptual * terms["g/perceptual"]
    terms["g/total"] = total
    return terms


def vgg_preprocess(images):
    """[-1, 1] RGB -> what Keras's ImageNet VGG expects: BGR, 0-255, ImageNet mean subtracted."""
    bgr = ops.flip((images + 1.0) * 127.5, axis=-1)
    return bgr - ops.convert_to_tensor(VGG_BGR_MEAN, dtype=bgr.dtype)


def vgg19_features(image_size, weights):
    """A frozen VGG19 (ImageNet weights: "imagenet" or a path to Keras's no-top file) returning the
    conv1_2 ... conv5_2 activations of [-1, 1] RGB images; WeightsError when it cannot be loaded."""
    path = check_weights_file(resolve(weights, VGG19_IMAGENET_NOTOP, VGG_FLAG), VGG_FLAG)
    vgg = keras.applications.VGG19(include_top=False, weights=None,
                                   input_shape=(image_size, image_size, 3))
    load_weights_file(vgg, path, VGG_FLAG)
    vgg.trainable = False
    inputs = keras.Input((image_size, image_size, 3), name="vgg_rgb")
    taps = keras.Model(vgg.input, [vgg.get_layer(n).output for n in VGG_LAYERS], name="vgg19_taps")
    return keras.Model(inputs, taps(vgg_preprocess(inputs)), name="vgg19_features")
