"""Generators of SwapGAN (thesis 8.2.2): G_I and G_II (Fig. 8.11) and the mask U-Net G_III.

The discriminator D is the PatchGAN of ``models.discriminator`` over a channel-concatenated image
pair (Fig. 8.10); see ``models.swapgan``.

Decisions the thesis leaves open (it gives the layer counts, not the widths or kernels):

G_I / G_II (``swap_generator``)
  * Encoder, four convs: c7s1-ngf (reflect pad 3), then three 3x3 stride-2 convs (zero pad 1, as
    CycleGAN) to 2ngf, 4ngf, 4ngf. The third halving stops widening at 4ngf so the six residual
    blocks have CycleGAN's width; inputs must therefore be multiples of 8 pixels.
  * Six residual blocks at 4ngf and H/8, CycleGAN's (``models.generator.residual_block``).
  * Decoder, three stages, each: nearest-neighbour x2 upsampling, concatenation with the encoder map
    of that size (the U-Net skip; upsampled channels first), a 1x1 conv (``upsample_kernel=3``: a
    reflect-padded 3x3 conv), instance norm, ReLU. Each stage has the width of the encoder map it
    joins (4ngf, 2ngf, ngf), the mirror of the encoder.
  * Output: c7s1-3 with tanh (reflect pad 3), CycleGAN's last layer.
  Instance norm (no affine) and ReLU follow every conv but the last; weights N(0, 0.02), biases 0.

G_III (``mask_generator``), pix2pix's U-Net with eight convs down and eight transposed convs up
  * Down: 4x4 stride-2 convs (zero pad 1, pix2pix), widths ngf, 2ngf, 4ngf, 8ngf, 8ngf, ...,
    LeakyReLU 0.2, instance norm except the first. Up: 4x4 stride-2 transposed convs cropped like
    PyTorch ``padding=1``, ReLU and instance norm, the last to 1 channel with a sigmoid (a mask in
    [0, 1]); the output of up layer k is concatenated with the input of down layer k.
  * Stride rule: a down layer halves the map only while it is even and larger than 1 pixel; the
    others are 3x3 stride-1 convs (and 3x3 stride-1 transposed convs up) that keep the size.
    128 px: seven halvings to 1x1, then one stride-1 layer. (pix2pix's eight halvings need 256 px.)
  * Instance norm is left out wherever a layer's output is 1x1: it would set every channel to 0
    (pix2pix likewise has no norm on its innermost 1x1 conv).
  * Post-activation order (conv, norm, activation), as the CycleGAN networks here and TensorFlow's
    pix2pix; no dropout (pix2pix's dropout stands in for noise, which a mask predictor does not need).
"""
import keras
from keras import layers

from models.generator import residual_block
from models.layers import ReflectionPad2D, conv, conv_initializer, float32_under_mixed_precision, instance_norm

DOWNSAMPLING = 8  # G_I / G_II: three stride-2 convs
UPSAMPLE_KERNELS = (1, 3)


def check_swap_image_size(image_size):
    """Raise ValueError unless G_I / G_II can take ``image_size`` pixels (a positive multiple of 8)."""
    if image_size < DOWNSAMPLING or image_size % DOWNSAMPLING:
        raise ValueError(f"SwapGAN generators need an image size that is a positive multiple of "
                         f"{DOWNSAMPLING} (three stride-2 convs), got {image_size}")


def _norm_relu(h, name):
    return layers.ReLU(name=f"{name}_relu")(instance_norm(f"{name}_norm")(h))


def swap_generator(in_channels, ngf=64, n_blocks=6, upsample_kernel=1, out_channels=3, seed=0,
                   image_size=None, name="swap_generator"):
    """Generator I (in_channels 3 + 3, (8.12)) or II (3 + 6, (8.15)): encoder, residual blocks,
    interpolation decoder with U-Net skips, tanh output (Fig. 8.11; layout in the module doc).

    ``image_size`` fixes the input to image_size x image_size and checks it is a multiple of 8;
    None accepts any size, and a size that is not a multiple of 8 then fails at the first skip.
    """
    if ngf < 1 or n_blocks < 0 or in_channels < 1:
        raise ValueError(f"swap_generator needs ngf >= 1, n_blocks >= 0 and in_channels >= 1, "
                         f"got {ngf}, {n_blocks}, {in_channels}")
    if upsample_kernel not in UPSAMPLE_KERNELS:
        raise ValueError(f"upsample_kernel must be one of {UPSAMPLE_KERNELS}, got {upsample_kernel}")
    if image_size is not None:
        check_swap_image_size(image_size)
    seeds = keras.random.SeedGenerator(seed)
    x = keras.Input((image_size, image_size, in_channels), name=f"{name}_input")
    h = ReflectionPad2D(3, name="enc0_pad")(x)
    skips = [_norm_relu(conv(ngf, 7, 1, seeds, "enc0_conv")(h), "enc0")]
    for i, mult in enumerate((2, 4, 4), start=1):
        h = layers.ZeroPadding2D(1, name=f"enc{i}_pad")(skips[-1])
        skips.append(_norm_relu(conv(ngf * mult, 3, 2, seeds, f"enc{i}_conv")(h), f"enc{i}"))
    h = skips.pop()
    for b in range(n_blocks):
        h = residual_block(h, ngf * 4, seeds, f"res{b + 1}")
    for i, skip in enumerate(reversed(skips), start=1):
        h = layers.UpSampling2D(2, interpolation="nearest", name=f"dec{i}_up")(h)
        h = layers.Concatenate(name=f"dec{i}_skip")([h, skip])
        if upsample_kernel == 3:
            h = ReflectionPad2D(1, name=f"dec{i}_pad")(h)
        h = _norm_relu(conv(skip.shape[-1], upsample_kernel, 1, seeds, f"dec{i}_conv")(h), f"dec{i}")
    h = ReflectionPad2D(3, name="out_pad")(h)
    y = layers.Activation("tanh", name="out_tanh", dtype=float32_under_mixed_precision())(
        conv(out_channels, 7, 1, seeds, "out_conv")(h))
    return keras.Model(x, y, name=name)


def mask_strides(image_size, n_layers=8):
    """Stride of each down layer of G_III: 2 while the map is even and > 1 pixel, else 1."""
    strides, size = [], image_size
    for _ in range(n_layers):
        stride = 2 if size > 1 and size % 2 == 0 else 1
        strides.append(stride)
        size //= stride
    return strides


def _down(h, filters, stride, seeds, name):
    kernel = 4 if stride == 2 else 3
    h = layers.ZeroPadding2D(1, name=f"{name}_pad")(h)
    return conv(filters, kernel, stride, seeds, f"{name}_conv")(h)


def _up(h, filters, stride, seeds, name):
    """Transposed conv that exactly undoes ``_down``'s size change: PyTorch ConvTranspose2d with
    k=4, s=2, p=1 (2n pixels) or k=3, s=1, p=1 (n pixels); 'valid' output cropped by 1 each side."""
    kernel = 4 if stride == 2 else 3
    h = layers.Conv2DTranspose(filters, kernel, strides=stride, padding="valid",
                               kernel_initializer=conv_initializer(seeds),
                               bias_initializer="zeros", name=f"{name}_deconv")(h)
    return layers.Cropping2D(1, name=f"{name}_crop")(h)


def mask_generator(image_size, ngf=64, n_layers=8, in_channels=3, seed=0, name="g_iii"):
    """Generator III: image -> one-channel body mask in [0, 1], a U-Net of ``n_layers`` convs down
    and ``n_layers`` transposed convs up with symmetric skips (thesis 8.2.2; rules in module doc)."""
    if image_size < 1 or ngf < 1 or n_layers < 1:
        raise ValueError(f"mask_generator needs image_size, ngf and n_layers >= 1, "
                         f"got {image_size}, {ngf}, {n_layers}")
    seeds = keras.random.SeedGenerator(seed)
    strides = mask_strides(image_size, n_layers)
    sizes = [image_size]
    for stride in strides:
        sizes.append(sizes[-1] // stride)
    x = keras.Input((image_size, image_size, in_channels), name=f"{name}_input")
    h, encoder = x, []
    for i, stride in enumerate(strides):
        h = _down(h, ngf * min(2 ** i, 8), stride, seeds, f"down{i + 1}")
        if i > 0 and sizes[i + 1] > 1:
            h = instance_norm(f"down{i + 1}_norm")(h)
        h = layers.LeakyReLU(0.2, name=f"down{i + 1}_lrelu")(h)
        encoder.append(h)
    for i in range(n_layers - 1, 0, -1):
        skip = encoder[i - 1]
        h = _up(h, skip.shape[-1], strides[i], seeds, f"up{i + 1}")
        if sizes[i] > 1:
            h = instance_norm(f"up{i + 1}_norm")(h)
        h = layers.ReLU(name=f"up{i + 1}_relu")(h)
        h = layers.Concatenate(name=f"up{i + 1}_skip")([h, skip])
    h = _up(h, 1, strides[0], seeds, "up1")
    y = layers.Activation("sigmoid", name="out_sigmoid", dtype=float32_under_mixed_precision())(h)
    return keras.Model(x, y, name=name)
