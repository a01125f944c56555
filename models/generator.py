"""ResNet generator of CycleGAN (thesis 8.1.2): encoder, residual blocks, decoder."""
import keras
from keras import layers

from models.layers import ReflectionPad2D, conv, float32_under_mixed_precision, instance_norm, upsample_conv


def residual_block(x, filters, seed_generator, name):
    """Two reflect-padded 3x3 convs (norm + ReLU between, norm after) and the identity skip."""
    h = ReflectionPad2D(1, name=f"{name}_pad1")(x)
    h = conv(filters, 3, 1, seed_generator, f"{name}_conv1")(h)
    h = instance_norm(f"{name}_norm1")(h)
    h = layers.ReLU(name=f"{name}_relu1")(h)
    h = ReflectionPad2D(1, name=f"{name}_pad2")(h)
    h = conv(filters, 3, 1, seed_generator, f"{name}_conv2")(h)
    h = instance_norm(f"{name}_norm2")(h)
    return layers.Add(name=f"{name}_add")([x, h])


def resnet_generator(ngf=64, n_blocks=9, in_channels=3, out_channels=3, seed=0, name="generator"):
    """c7s1-ngf, d2ngf, d4ngf, n_blocks x R4ngf, u2ngf, ungf, c7s1-out with tanh.

    Instance norm and ReLU follow every conv but the last. Fully convolutional: any input whose
    height and width are multiples of 4 comes back at the same size. With ngf=64 and 9 blocks it
    has 11,378,179 parameters, the count of the official PyTorch CycleGAN.
    """
    if ngf < 1 or n_blocks < 0:
        raise ValueError(f"resnet_generator needs ngf >= 1 and n_blocks >= 0, got {ngf}, {n_blocks}")
    seeds = keras.random.SeedGenerator(seed)
    x = keras.Input((None, None, in_channels), name=f"{name}_input")
    h = ReflectionPad2D(3, name="enc0_pad")(x)
    h = conv(ngf, 7, 1, seeds, "enc0_conv")(h)
    h = layers.ReLU(name="enc0_relu")(instance_norm("enc0_norm")(h))
    for i, mult in enumerate((2, 4), start=1):
        h = layers.ZeroPadding2D(1, name=f"enc{i}_pad")(h)
        h = conv(ngf * mult, 3, 2, seeds, f"enc{i}_conv")(h)
        h = layers.ReLU(name=f"enc{i}_relu")(instance_norm(f"enc{i}_norm")(h))
    for b in range(n_blocks):
        h = residual_block(h, ngf * 4, seeds, f"res{b + 1}")
    for i, mult in enumerate((2, 1), start=1):
        h = upsample_conv(h, ngf * mult, seeds, f"dec{i}_deconv")
        h = layers.ReLU(name=f"dec{i}_relu")(instance_norm(f"dec{i}_norm")(h))
    h = ReflectionPad2D(3, name="out_pad")(h)
    h = conv(out_channels, 7, 1, seeds, "out_conv")(h)
    y = layers.Activation("tanh", name="out_tanh", dtype=float32_under_mixed_precision())(h)
    return keras.Model(x, y, name=name)
