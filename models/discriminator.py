"""70x70 PatchGAN discriminator (thesis 8.1.2; pix2pix / CycleGAN)."""
import keras
from keras import layers

from models.layers import conv, float32_under_mixed_precision, instance_norm


def patchgan_discriminator(ndf=64, n_layers=3, in_channels=3, seed=0, name="discriminator"):
    """C64 (no norm) - C128 - C256 (stride 2) - C512 (stride 1) - 1-channel logit map.

    Each 4x4 conv is preceded by zero padding 1, so a 256-px input gives a 30x30 map and the
    receptive field of one output is 70x70 pixels. LeakyReLU 0.2; no sigmoid (the LSGAN loss acts on
    raw scores). With ndf=64 it has 2,764,737 parameters, the official CycleGAN count. Inputs
    need at least 24 pixels per side for a non-empty map.
    """
    if ndf < 1 or n_layers < 1:
        raise ValueError(f"patchgan_discriminator needs ndf >= 1 and n_layers >= 1, got {ndf}, {n_layers}")
    seeds = keras.random.SeedGenerator(seed)
    x = keras.Input((None, None, in_channels), name=f"{name}_input")
    h = x
    for i in range(n_layers + 1):
        filters = ndf * min(2 ** i, 8)
        stride = 2 if i < n_layers else 1
        h = layers.ZeroPadding2D(1, name=f"c{i}_pad")(h)
        h = conv(filters, 4, stride, seeds, f"c{i}_conv")(h)
        if i > 0:
            h = instance_norm(f"c{i}_norm")(h)
        h = layers.LeakyReLU(0.2, name=f"c{i}_lrelu")(h)
    h = layers.ZeroPadding2D(1, name="out_pad")(h)
    y = conv(1, 4, 1, seeds, "out_conv", dtype=float32_under_mixed_precision())(h)
    return keras.Model(x, y, name=name)
