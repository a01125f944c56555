"""FCN-8s: shapes, parameter counts, bilinear upsampling init, bad sizes, a training step, and the
VGG16 weight loader (on a random VGG16 saved locally; nothing is downloaded)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from models.fcn import bilinear_kernel, fcn8s, load_vgg16_weights
from models.pretrained import VGG16_IMAGENET_NOTOP, WeightsError


def _images(n=2, size=64, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")


def _expected_params(k, width, fc_width):
    widths = [width * m for m in (1, 2, 4, 8, 8)]
    convs, c_in = 0, 3
    for w, n in zip(widths, (2, 2, 3, 3, 3)):
        for _ in range(n):
            convs += 9 * c_in * w + w
            c_in = w
    fc = 49 * c_in * fc_width + fc_width + fc_width * fc_width + fc_width
    scores = (fc_width + 1) * k + (widths[3] + 1) * k + (widths[2] + 1) * k
    upsampling = 2 * 16 * k * k + 256 * k * k
    return convs + fc + scores + upsampling


def test_parameter_counts():
    assert fcn8s(12, width=4).count_params() == _expected_params(12, 4, 256)
    assert fcn8s(5, width=8, fc_width=32).count_params() == _expected_params(5, 8, 32)
    assert fcn8s(5, width=8, fc_width=32, upsampling="bilinear").count_params() == \
        _expected_params(5, 8, 32) - (2 * 16 + 256) * 25
    # width 64 is VGG16 + fc6/fc7 of 4096: 134,360,420 parameters for the 12 facade classes
    assert _expected_params(12, 64, 4096) == 134_360_420


@pytest.mark.parametrize("upsampling", ["learned", "bilinear"])
def test_logits_have_the_input_size(upsampling):
    model = fcn8s(7, width=4, upsampling=upsampling)
    assert model(_images()).shape == (2, 64, 64, 7)
    assert model(_images(1, 96)[:, :, :64]).shape == (1, 96, 64, 7)
    assert model.name == "fcn8s"


def test_untrained_logits_are_uniform_and_seeded():
    a, b = fcn8s(4, width=4, seed=3), fcn8s(4, width=4, seed=3)
    np.testing.assert_array_equal(np.asarray(a(_images())), 0.0)  # zero-initialised score layers
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_layer("block1_conv1").get_weights()[0],
                              fcn8s(4, width=4, seed=4).get_layer("block1_conv1").get_weights()[0])


def test_learned_upsampling_starts_as_bilinear_interpolation():
    taps = np.array([0.25, 0.75, 0.75, 0.25])
    kernel = bilinear_kernel(4, 2, 2)
    np.testing.assert_allclose(kernel[:, :, 1, 1], np.outer(taps, taps))
    np.testing.assert_array_equal(kernel[:, :, 0, 1], 0.0)
    model = fcn8s(3, width=4)
    up8, up2 = model.get_layer("upscore8"), model.get_layer("upscore2")
    constant = np.full((1, 4, 4, 3), 2.5, "float32")
    out = np.asarray(up8(constant))
    assert out.shape == (1, 32, 32, 3)
    np.testing.assert_allclose(out[:, 4:-4, 4:-4], 2.5, rtol=1e-6)  # constant interior
    assert out[0, 0, 0, 0] < 2.5  # edges see one input pixel, with a weight below 1
    # the interior equals half-pixel bilinear resizing, channel by channel (no mixing)
    x = np.random.default_rng(1).normal(size=(1, 4, 5, 3)).astype("float32")
    for layer, factor, border in ((up8, 8, 4), (up2, 2, 1)):
        resized = tf.image.resize(x, (4 * factor, 5 * factor), method="bilinear")
        crop = (slice(None), slice(border, -border), slice(border, -border))
        np.testing.assert_allclose(np.asarray(layer(x))[crop], np.asarray(resized)[crop], atol=1e-5)


def test_inputs_must_be_multiples_of_32():
    model = fcn8s(3, width=4)
    with pytest.raises(ValueError, match="input 48x64 is not a multiple of 32"):
        model(np.zeros((1, 48, 64, 3), "float32"))
    with pytest.raises(ValueError, match="upsampling must be one of"):
        fcn8s(3, upsampling="nearest")
    with pytest.raises(ValueError, match="preprocessing must be one of"):
        fcn8s(3, preprocessing="caffe")
    with pytest.raises(ValueError, match="dropout must be in"):
        fcn8s(3, dropout=1.0)


@pytest.mark.parametrize("upsampling", ["learned", "bilinear"])
def test_one_gradient_step_reduces_the_loss(upsampling):
    model = fcn8s(3, width=4, upsampling=upsampling, dropout=0.0)
    x = _images(2, 64, seed=2)
    y = (x[..., 0] > 0).astype("int32") + (x[..., 1] > 0.5).astype("int32")
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(1e-3)

    def loss():
        return loss_fn(y, model(x, training=True))

    before = float(loss())
    assert before == pytest.approx(np.log(3), rel=1e-5)
    with tf.GradientTape() as tape:
        value = loss()
    optimizer.apply_gradients(zip(tape.gradient(value, model.trainable_variables),
                                  model.trainable_variables))
    assert float(loss()) < before


def test_vgg16_weights_load_into_the_encoder(tmp_path):
    vgg = keras.applications.VGG16(include_top=False, weights=None)
    path = tmp_path / VGG16_IMAGENET_NOTOP.fname  # the legacy .h5 kind Keras downloads
    vgg.save(path)
    model = fcn8s(4, width=64, fc_width=8, preprocessing="vgg")
    fc6_before = model.get_layer("fc6").get_weights()[0].copy()
    assert load_vgg16_weights(model, str(path)) is model
    for name in ("block1_conv1", "block3_conv2", "block5_conv3"):
        for got, want in zip(model.get_layer(name).get_weights(), vgg.get_layer(name).get_weights()):
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(model.get_layer("fc6").get_weights()[0], fc6_before)
    # preprocessing='vgg' feeds the encoder what Keras's VGG16 expects of a [-1, 1] RGB image
    x = _images(1, 32)
    caffe = keras.applications.vgg16.preprocess_input((x + 1.0) * 127.5)
    encoder = keras.Model(model.input, model.get_layer("block5_pool").output)
    np.testing.assert_allclose(np.asarray(encoder(x)), np.asarray(vgg(caffe)), rtol=1e-4, atol=1e-3)


def test_vgg16_loader_errors(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="width 4; VGG16 weights need width 64"):
        load_vgg16_weights(fcn8s(3, width=4, preprocessing="vgg"))
    model = fcn8s(3, width=64, fc_width=8)
    with pytest.raises(ValueError, match="without preprocessing='vgg'"):
        load_vgg16_weights(model)
    model = fcn8s(3, width=64, fc_width=8, preprocessing="vgg")
    with pytest.raises(WeightsError, match=f"--backbone_weights={tmp_path}/x.h5: file not found"):
        load_vgg16_weights(model, str(tmp_path / "x.h5"))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(WeightsError, match=r"--backbone_weights=PATH") as error:
        load_vgg16_weights(model)
    assert VGG16_IMAGENET_NOTOP.origin in str(error.value) and "\n" not in str(error.value)
