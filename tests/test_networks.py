"""Generator and discriminator: shapes, full-size parameter counts, padding conventions, init."""
import numpy as np
import pytest

from models.cycle import build_cycle_nets
from models.discriminator import patchgan_discriminator
from models.generator import resnet_generator
from models.layers import ReflectionPad2D, upsample_conv


def test_full_size_parameter_counts_match_official_cyclegan():
    assert resnet_generator(64, 9).count_params() == 11_378_179
    assert patchgan_discriminator(64).count_params() == 2_764_737


@pytest.mark.parametrize("size", [32, 64, 36])
def test_generator_keeps_the_input_size(size):
    g = resnet_generator(8, 2)
    x = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3)).astype("float32")
    y = np.asarray(g(x))
    assert y.shape == x.shape
    assert np.all(np.abs(y) <= 1.0)


@pytest.mark.parametrize("size,out", [(256, 30), (64, 6), (32, 2)])
def test_patchgan_map_size(size, out):
    d = patchgan_discriminator(8)
    assert d(np.zeros((1, size, size, 3), "float32")).shape == (1, out, out, 1)


def test_reflection_pad_mirrors_without_repeating_the_edge():
    x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    y = np.asarray(ReflectionPad2D(1)(x))[0, :, :, 0]
    np.testing.assert_array_equal(y[0], [4, 3, 4, 5, 4])
    np.testing.assert_array_equal(y[:, 0], [4, 1, 4, 7, 4])


def _torch_conv_transpose(x, kernel, bias):
    """numpy reference of torch ConvTranspose2d(k=3, stride=2, padding=1, output_padding=1), NHWC,
    with a Keras kernel [kh, kw, out, in]: every input pixel scatters kernel * value onto the
    full (2h+1)x(2w+1) output at stride 2; PyTorch's padding=1 then drops the first row/column."""
    n, h, w, _ = x.shape
    full = np.zeros((n, 2 * h + 1, 2 * w + 1, kernel.shape[2]), np.float64)
    for i in range(h):
        for j in range(w):
            full[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3] += np.einsum("nc,hwoc->nhwo", x[:, i, j], kernel)
    return full[:, 1:, 1:] + bias


def test_upsampling_aligns_like_pytorch_not_like_keras_same():
    import keras
    x_in = keras.Input((None, None, 2))
    model = keras.Model(x_in, upsample_conv(x_in, 3, keras.random.SeedGenerator(1), "up"))
    x = np.random.default_rng(1).normal(size=(1, 4, 5, 2)).astype("float32")
    kernel, bias = [np.asarray(v) for v in model.get_layer("up").weights]
    bias = np.random.default_rng(2).normal(size=bias.shape).astype("float32")
    model.get_layer("up").set_weights([kernel, bias])
    np.testing.assert_allclose(np.asarray(model(x)), _torch_conv_transpose(x, kernel, bias), atol=1e-5)


def test_initialisation_is_normal_002_with_zero_bias_and_seeded():
    g1, g2, g3 = resnet_generator(64, 1, seed=3), resnet_generator(64, 1, seed=3), resnet_generator(64, 1, seed=4)
    kernel = np.asarray(g1.get_layer("res1_conv1").kernel)
    assert abs(kernel.std() - 0.02) < 0.001 and abs(kernel.mean()) < 0.001
    assert not np.any(np.asarray(g1.get_layer("res1_conv1").bias))
    np.testing.assert_array_equal(kernel, np.asarray(g2.get_layer("res1_conv1").kernel))
    assert not np.array_equal(kernel, np.asarray(g3.get_layer("res1_conv1").kernel))
    # layers of one network differ from each other too
    assert not np.array_equal(kernel, np.asarray(g1.get_layer("res1_conv2").kernel))


def test_instance_norm_normalises_each_image_and_channel():
    g = resnet_generator(8, 0)
    norm = g.get_layer("enc0_norm")
    x = np.random.default_rng(0).normal(3.0, 5.0, (2, 8, 8, 8)).astype("float32")
    y = np.asarray(norm(x))
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 1, atol=1e-3)
    assert not norm.weights  # no affine parameters, as the reference


def test_chains_have_independent_networks_unless_shared():
    tiny = dict(ngf=8, ndf=8, n_blocks=1)
    one = resnet_generator(8, 1).count_params()
    nets = build_cycle_nets(M=3, N=2, **tiny)
    assert list(nets.generators()) == ["g_ab_1", "g_ab_2", "g_ab_3", "g_ba_1", "g_ba_2"]
    assert sum(g.count_params() for g in nets.generators().values()) == 5 * one
    w1, w2 = (np.asarray(g.get_layer("enc0_conv").kernel) for g in nets.a2b[:2])
    assert not np.array_equal(w1, w2)
    shared = build_cycle_nets(M=3, N=2, share_weights=True, **tiny)
    assert list(shared.generators()) == ["g_ab", "g_ba"] and shared.a2b[0] is shared.a2b[2]
    assert sum(g.count_params() for g in shared.generators().values()) == 2 * one
    assert len(shared.generator_variables) == 2 * len(resnet_generator(8, 1).trainable_variables)


def test_bad_network_arguments_raise():
    with pytest.raises(ValueError, match="M >= 1"):
        build_cycle_nets(M=0, N=1)
    with pytest.raises(ValueError, match="ngf"):
        resnet_generator(0, 1)


def _norm_and_grad(norm, x, dy):
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = norm(x)
        loss = tf.reduce_sum(tf.cast(y, tf.float64) * dy)
    return np.asarray(tf.cast(y, tf.float64)), np.asarray(tf.cast(tape.gradient(loss, x), tf.float64))


@pytest.mark.parametrize("batch", [1, 3])
def test_fused_instance_norm_computes_the_keras_ops_definition(batch):
    """TensorFlow's fused kernel against the keras.ops definition run in float64 (the float32
    difference is float32 round-off: about 1e-6 of values of order 1), forward and backward, for one
    image (a reshape) and several (laid side by side as channels)."""
    from models.layers import InstanceNorm, _fused_instance_norm_tf, instance_norm_reference

    rng = np.random.default_rng(batch)
    x = rng.normal(3.0, 5.0, (batch, 6, 5, 4)) * rng.uniform(0.1, 10.0, (1, 1, 1, 4))
    dy = rng.normal(size=x.shape)
    want_y, want_g = _norm_and_grad(lambda t: instance_norm_reference(t, 1e-5), x, dy)
    np.testing.assert_allclose(want_y.mean(axis=(1, 2)), 0, atol=1e-12)
    got_y, got_g = _norm_and_grad(lambda t: _fused_instance_norm_tf(t, 1e-5), x.astype("float32"), dy)
    np.testing.assert_allclose(got_y, want_y, atol=2e-6)
    np.testing.assert_allclose(got_g, want_g, atol=2e-5 * np.abs(want_g).max())
    layer = InstanceNorm()
    np.testing.assert_array_equal(np.asarray(layer(x.astype("float32"))), got_y.astype("float32"))
    # float64 runs the definition (the fused kernel has no float64)
    np.testing.assert_allclose(np.asarray(InstanceNorm(dtype="float64")(x)), want_y, atol=1e-12)


def test_instance_norm_in_bfloat16_keeps_float32_statistics():
    """A bfloat16 map comes out bfloat16 and is as close to the exact result as one bfloat16
    rounding of the output allows (relative 2^-8), even with a large mean: statistics computed in
    bfloat16 would lose everything below 2^-8 of the mean (here 1000 against values of spread 1)."""
    import tensorflow as tf

    from models.layers import InstanceNorm, instance_norm_reference

    x = np.random.default_rng(0).normal(0.0, 1.0, (2, 8, 8, 3)) + 1000.0
    x16 = tf.cast(x, tf.bfloat16)
    exact = np.asarray(instance_norm_reference(tf.cast(x16, tf.float64), 1e-5))
    y = InstanceNorm(dtype="mixed_bfloat16")(x16)
    assert y.dtype == tf.bfloat16
    np.testing.assert_allclose(np.asarray(tf.cast(y, tf.float64)), exact, rtol=2 ** -8, atol=1e-6)


def test_checkpoints_of_networks_with_keras_group_normalization_restore_into_instance_norm(
        monkeypatch, tmp_path):
    """Until InstanceNorm, the norms were Keras's GroupNormalization(groups=-1) without affine
    parameters. Neither has variables, so such a checkpoint restores into today's networks
    (assert_consumed: every saved value has a home) and gives the same images."""
    import keras
    import tensorflow as tf

    from models import generator as generator_module

    def group_norm(name):
        return keras.layers.GroupNormalization(groups=-1, center=False, scale=False, epsilon=1e-5,
                                               name=name)

    with monkeypatch.context() as patch:
        patch.setattr(generator_module, "instance_norm", group_norm)
        old = resnet_generator(8, 2, seed=5)
    assert type(old.get_layer("enc0_norm")).__name__ == "GroupNormalization"
    path = tf.train.Checkpoint(g=old).write(str(tmp_path / "ckpt"))
    new = resnet_generator(8, 2, seed=6)
    assert type(new.get_layer("enc0_norm")).__name__ == "InstanceNorm"
    tf.train.Checkpoint(g=new).read(path).assert_consumed()
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(new(x)), np.asarray(old(x)), atol=1e-5)


def test_with_a_gpu_visible_bfloat16_runs_the_definition(monkeypatch, request):
    import tensorflow as tf

    from models import layers as model_layers

    x = tf.cast(np.random.default_rng(1).normal(2.0, 3.0, (1, 8, 8, 4)), tf.bfloat16)
    norm = model_layers.InstanceNorm(dtype="mixed_bfloat16")
    fused = np.asarray(tf.cast(norm(x), tf.float32))
    calls = []
    real = model_layers._fused_instance_norm_tf
    monkeypatch.setattr(model_layers, "_fused_instance_norm_tf", lambda *a: calls.append(1) or real(*a))
    norm(x)
    assert calls == [1]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["a GPU"] if kind == "GPU" else [])
    model_layers._fused_dtypes.cache_clear()  # asked once per process; this test changes the answer
    request.addfinalizer(model_layers._fused_dtypes.cache_clear)  # the next test asks afresh
    defined = np.asarray(tf.cast(norm(x), tf.float32))
    assert calls == [1]  # not called again
    np.testing.assert_array_equal(  # both round float32 arithmetic to bfloat16 once
        defined, fused)
    model_layers.InstanceNorm()(tf.cast(x, tf.float32))
    assert calls == [1, 1]  # float32 still takes the fused kernel
