"""SwapGAN networks (8.2.2), objectives (8.14-8.19) and forward composition (8.12, 8.15, 8.17)."""
import numpy as np
import pytest
import tensorflow as tf

from models import objectives as obj
from models.swap_generators import mask_generator, mask_strides, swap_generator
from models.swapgan import (
    GENERATOR_SETS,
    build_swap_nets,
    parse_generators,
    swap_discriminator_losses,
    swap_generator_losses,
    swap_inference,
    swap_paths,
)

TINY = dict(image_size=32, ngf=8, ndf=8, n_blocks=1)


def f(x):
    return float(np.asarray(x))


def conv_params(k, c_in, c_out):
    """k x k kernel plus bias; instance norm has no parameters."""
    return k * k * c_in * c_out + c_out


# --- networks -----------------------------------------------------------------------------------

def test_full_size_parameter_counts():
    nets = build_swap_nets(image_size=128, ngf=64, ndf=64, n_blocks=6)
    counts = {name: net.count_params() for name, net in nets.networks().items()}
    assert counts == {"g_i": 8_261_315, "g_ii": 8_270_723, "g_iii": 50_735_489, "d": 2_767_809}

    def generator(c_in):  # encoder 64-128-256-256, 6 blocks, 1x1 decoder on concatenated skips
        return (conv_params(7, c_in, 64) + conv_params(3, 64, 128) + conv_params(3, 128, 256)
                + conv_params(3, 256, 256) + 12 * conv_params(3, 256, 256)
                + conv_params(1, 256 + 256, 256) + conv_params(1, 256 + 128, 128)
                + conv_params(1, 128 + 64, 64) + conv_params(7, 64, 3))
    down = (conv_params(4, 3, 64) + conv_params(4, 64, 128) + conv_params(4, 128, 256)
            + conv_params(4, 256, 512) + 3 * conv_params(4, 512, 512) + conv_params(3, 512, 512))
    up = (conv_params(3, 512, 512) + 3 * conv_params(4, 1024, 512) + conv_params(4, 1024, 256)
          + conv_params(4, 512, 128) + conv_params(4, 256, 64) + conv_params(4, 128, 1))
    d = (conv_params(4, 6, 64) + conv_params(4, 64, 128) + conv_params(4, 128, 256)
         + conv_params(4, 256, 512) + conv_params(4, 512, 1))
    assert counts == {"g_i": generator(6), "g_ii": generator(9), "g_iii": down + up, "d": d}


@pytest.mark.parametrize("size,d_map", [(32, 2), (64, 6)])
def test_output_shapes_and_ranges(size, d_map):
    nets = build_swap_nets(**{**TINY, "image_size": size})
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, size, size, 3)).astype("float32")
    y_i = np.asarray(nets.g_i(np.concatenate([x, x], -1)))
    y_ii = np.asarray(nets.g_ii(np.concatenate([x, np.zeros((2, size, size, 6), "float32")], -1)))
    mask = np.asarray(nets.g_iii(x))
    assert y_i.shape == y_ii.shape == (2, size, size, 3)
    assert np.all(np.abs(y_i) <= 1) and np.all(np.abs(y_ii) <= 1)
    assert mask.shape == (2, size, size, 1) and np.all((mask >= 0) & (mask <= 1))
    assert nets.d(np.concatenate([x, x], -1)).shape == (2, d_map, d_map, 1)


def test_generator_encoder_decoder_layout_and_skips():
    g = swap_generator(6, ngf=8, n_blocks=2, image_size=32)
    widths = [g.get_layer(f"enc{i}_conv").output.shape[1:] for i in range(4)]
    assert widths == [(32, 32, 8), (16, 16, 16), (8, 8, 32), (4, 4, 32)]
    assert g.get_layer("res2_add").output.shape[1:] == (4, 4, 32)
    # each decoder conv sees the upsampled map concatenated with the encoder map of its size
    assert [tuple(g.get_layer(f"dec{i}_conv").kernel.shape) for i in (1, 2, 3)] == \
        [(1, 1, 64, 32), (1, 1, 48, 16), (1, 1, 24, 8)]
    assert all(g.get_layer(f"dec{i}_up").interpolation == "nearest" for i in (1, 2, 3))


def test_mask_generator_stride_rule_at_128():
    assert mask_strides(128) == [2] * 7 + [1]
    assert mask_strides(256) == [2] * 8               # pix2pix's own size: eight halvings
    assert mask_strides(24) == [2, 2, 2, 1, 1, 1, 1, 1]
    g = mask_generator(128, ngf=4)
    assert g.get_layer("down7_lrelu").output.shape[1:] == (1, 1, 32)
    innermost = g.get_layer("down8_conv")
    assert innermost.kernel.shape[:2] == (3, 3) and innermost.strides == (1, 1)
    assert g.get_layer("up8_deconv").kernel.shape[:2] == (3, 3)
    assert g.get_layer("up8_crop").output.shape[1:] == (1, 1, 32)
    assert g.get_layer("up7_crop").output.shape[1:] == (2, 2, 32)
    names = {layer.name for layer in g.layers}
    # no norm on 1x1 maps (it would zero them) nor on the first conv; every other layer has one
    assert {"down1_norm", "down7_norm", "down8_norm", "up8_norm", "up1_norm"}.isdisjoint(names)
    assert {f"down{i}_norm" for i in range(2, 7)} | {f"up{i}_norm" for i in range(2, 8)} <= names
    assert g(np.zeros((1, 128, 128, 3), "float32")).shape == (1, 128, 128, 1)


def test_upsampling_kernel_option():
    g1 = swap_generator(6, ngf=8, n_blocks=1, upsample_kernel=1)
    g3 = swap_generator(6, ngf=8, n_blocks=1, upsample_kernel=3)
    assert g3.get_layer("dec1_conv").kernel.shape == (3, 3, 64, 32)
    extra = sum(conv_params(3, c_in, c_out) - conv_params(1, c_in, c_out)
                for c_in, c_out in ((64, 32), (48, 16), (24, 8)))
    assert g3.count_params() - g1.count_params() == extra
    assert "dec1_pad" in {layer.name for layer in g3.layers}
    assert g3(np.zeros((1, 32, 32, 6), "float32")).shape == (1, 32, 32, 3)
    with pytest.raises(ValueError, match="upsample_kernel"):
        swap_generator(6, upsample_kernel=2)


@pytest.mark.parametrize("size", [36, 20, 0, 4])
def test_bad_image_sizes_raise(size):
    with pytest.raises(ValueError, match="multiple of 8"):
        build_swap_nets(**{**TINY, "image_size": size})
    with pytest.raises(ValueError, match="multiple of 8"):
        swap_generator(6, ngf=8, image_size=size)


def test_generator_strings():
    assert parse_generators("I,II,III") == frozenset({"I", "II", "III"})
    assert parse_generators(" III, I ") == frozenset({"I", "III"})
    assert [len(parse_generators(s)) for s in GENERATOR_SETS] == [3, 2, 2, 1]
    for bad in ("II,III", "I,I", "", "I,IV", "full", "I,II,III,"):
        with pytest.raises(ValueError, match="expected one of I,II,III, I,III, I,II, I"):
            parse_generators(bad)
    with pytest.raises(ValueError, match="expected one of"):
        build_swap_nets(generators="II", **TINY)


def test_initialisation_is_seeded_per_network():
    a = build_swap_nets(generators="I", seed=4, **TINY)
    b = build_swap_nets(generators="I,II,III", seed=4, **TINY)
    c = build_swap_nets(generators="I", seed=5, **TINY)
    kernel = lambda nets: np.asarray(nets.g_i.get_layer("res1_conv1").kernel)  # noqa: E731
    np.testing.assert_array_equal(kernel(a), kernel(b))    # G_I's init ignores the other generators
    assert not np.array_equal(kernel(a), kernel(c))
    assert abs(kernel(b).std() - 0.02) < 0.002
    assert not np.array_equal(kernel(b), np.asarray(b.g_ii.get_layer("res1_conv1").kernel))


# --- objectives (8.14-8.19) ---------------------------------------------------------------------

def test_adversarial_losses_8_14_and_8_16():
    assert f(obj.pose_adversarial_loss(np.array([1.0, 0.0, 3.0], "float32"))) == pytest.approx(5 / 3)
    patch = np.array([[[[1.0], [2.0]], [[0.0], [1.0]]]], "float32")      # (1, 2, 2, 1)
    assert f(obj.segmentation_adversarial_loss(patch)) == pytest.approx(0.5)


def test_mask_consistency_8_17():
    m_gi, m_r = np.array([[0.5, 1.0], [0.0, 0.0]], "float32"), np.array([[1.0, 1.0], [0.0, 1.0]], "float32")
    m_gii, m_c = np.array([[0.2, 0.8]], "float32"), np.array([[0.0, 1.0]], "float32")
    first, second = obj.mask_consistency_terms(m_gi, m_r, m_gii, m_c)
    assert (f(first), f(second)) == pytest.approx((0.375, 0.2))
    only, none = obj.mask_consistency_terms(m_gi, m_r)
    assert f(only) == pytest.approx(0.375) and none is None
    with pytest.raises(ValueError, match="both"):
        obj.mask_consistency_terms(m_gi, m_r, m_gii)


def test_full_objective_8_18_and_discriminator_8_19():
    assert f(obj.swap_generator_objective(0.5, 0.25, 0.575, 5.0)) == pytest.approx(3.625)
    assert f(obj.swap_generator_objective(0.5, 0.25)) == pytest.approx(0.75)
    assert f(obj.swap_generator_objective(0.5, mask=0.1, lambda_mask=2.0)) == pytest.approx(0.7)
    real = np.array([1.0, 0.0, 2.0], "float32")      # (r - 1)^2 -> 2/3
    fake_i = np.array([0.5, -1.0, 0.0], "float32")   # f^2 -> 1.25/3
    fake_ii = np.array([2.0], "float32")             # 4
    assert f(obj.swap_discriminator_loss(real, fake_i, fake_ii)) == pytest.approx(2 / 3 + 1.25 / 3 + 4)
    assert f(obj.swap_discriminator_loss(real, fake_i)) == pytest.approx(2 / 3 + 1.25 / 3)


# --- composition and ablations ------------------------------------------------------------------

def make_batch(size=32, n=2, seed=0):
    rng = np.random.default_rng(seed)
    image = lambda: rng.uniform(-1, 1, (n, size, size, 3)).astype("float32")  # noqa: E731
    labels = rng.integers(0, 6, (n, size, size))
    mask = lambda: (rng.uniform(size=(n, size, size, 1)) > 0.5).astype("float32")  # noqa: E731
    return {"x_r": image(), "x_c": image(), "p_r": image(), "s_c": np.eye(6, dtype="float32")[labels],
            "m_r": mask(), "m_c": mask(), "h_r": image()}


@pytest.fixture(scope="module")
def all_nets():
    return {s: build_swap_nets(generators=s, seed=1, **TINY) for s in GENERATOR_SETS}


def test_paths_follow_8_12_8_15_8_17(all_nets):
    nets, batch = all_nets["I,II,III"], make_batch()
    p = swap_paths(nets, batch)
    assert set(p) == {"x_gi", "x_gii", "m_gi", "m_gii"}
    x_gi = np.asarray(nets.g_i(np.concatenate([batch["x_c"], batch["p_r"]], -1)))
    np.testing.assert_allclose(np.asarray(p["x_gi"]), x_gi, atol=1e-6)
    np.testing.assert_allclose(np.asarray(p["x_gii"]),
                               np.asarray(nets.g_ii(np.concatenate([x_gi, batch["s_c"]], -1))), atol=1e-5)
    np.testing.assert_allclose(np.asarray(p["m_gii"]), np.asarray(nets.g_iii(p["x_gii"])), atol=1e-6)
    np.testing.assert_allclose(np.asarray(swap_inference(nets, batch["x_c"], batch["p_r"])), x_gi, atol=1e-6)


def test_discriminator_pairs_are_reference_pose_first(all_nets):
    nets, batch = all_nets["I,II,III"], make_batch()
    p = swap_paths(nets, batch)
    d = swap_discriminator_losses(nets, batch, p)
    score = lambda a, b: f(np.mean(np.square(np.asarray(nets.d(np.concatenate([a, b], -1))))))  # noqa: E731
    assert f(d["d/fake_i"]) == pytest.approx(score(np.asarray(p["x_gi"]), batch["x_c"]), rel=1e-5)
    assert f(d["d/fake_ii"]) == pytest.approx(score(batch["x_r"], np.asarray(p["x_gii"])), rel=1e-5)
    assert f(d["d/fake_i"]) != pytest.approx(score(batch["x_c"], np.asarray(p["x_gi"])), rel=1e-3)
    real = np.asarray(nets.d(np.concatenate([batch["x_r"], batch["x_c"]], -1)))
    assert f(d["d/real"]) == pytest.approx(float(np.mean((real - 1) ** 2)), rel=1e-5)
    assert f(d["d/total"]) == pytest.approx(f(d["d/real"]) + f(d["d/fake_i"]) + f(d["d/fake_ii"]), rel=1e-6)


@pytest.mark.parametrize("generators,g_keys,paths,d_keys", [
    ("I,II,III", {"adv_i", "adv_ii", "mask_r", "mask_c", "mask"}, {"x_gi", "x_gii", "m_gi", "m_gii"},
     {"real", "fake_i", "fake_ii"}),
    ("I,III", {"adv_i", "mask_r", "mask"}, {"x_gi", "m_gi"}, {"real", "fake_i"}),
    ("I,II", {"adv_i", "adv_ii"}, {"x_gi", "x_gii"}, {"real", "fake_i", "fake_ii"}),
    ("I", {"adv_i"}, {"x_gi"}, {"real", "fake_i"}),
])
def test_each_ablation_computes_exactly_its_terms(all_nets, generators, g_keys, paths, d_keys):
    nets, batch = all_nets[generators], make_batch()
    assert nets.generator_set == parse_generators(generators)
    assert set(nets.networks()) == {f"g_{n.lower()}" for n in nets.generator_set} | {"d"}
    terms, p = swap_generator_losses(nets, batch, lambda_mask=5.0)
    t = {k.removeprefix("g/"): f(v) for k, v in terms.items()}
    assert set(t) == g_keys | {"total"} and set(p) == paths
    expected = t["adv_i"] + t.get("adv_ii", 0.0) + 5.0 * t.get("mask", 0.0)
    assert t["total"] == pytest.approx(expected, rel=1e-6)
    if "mask" in t:
        assert t["mask"] == pytest.approx(t["mask_r"] + t.get("mask_c", 0.0), rel=1e-6)
    if generators == "I,II":
        assert t["total"] == f(terms["g/adv_i"] + terms["g/adv_ii"])
    d = swap_discriminator_losses(nets, batch, p)
    assert set(d) == {f"d/{k}" for k in d_keys} | {"d/total"}
    assert f(d["d/total"]) == pytest.approx(sum(f(d[f"d/{k}"]) for k in d_keys), rel=1e-6)


def test_mask_loss_never_reaches_d_and_g_iii_learns_only_from_it(all_nets):
    nets, batch = all_nets["I,II,III"], make_batch()
    with tf.GradientTape(persistent=True) as tape:
        terms, paths = swap_generator_losses(nets, batch)
        adversarial = terms["g/adv_i"] + terms["g/adv_ii"]
        d_terms = swap_discriminator_losses(nets, batch, paths)
    grad = tape.gradient
    assert all(g is None for g in grad(terms["g/mask"], nets.discriminator_variables))
    for net in (nets.g_i, nets.g_ii, nets.g_iii):   # L_GIII trains all three generators
        grads = grad(terms["g/mask"], net.trainable_variables)
        assert any(g is not None and np.any(np.asarray(g)) for g in grads)
    assert all(g is None for g in grad(adversarial, nets.g_iii.trainable_variables))
    assert all(g is not None for g in grad(terms["g/adv_ii"], nets.g_i.trainable_variables))  # (8.16)
    # D's loss stops at the fakes even though this tape also recorded the generators
    assert all(g is None for g in grad(d_terms["d/total"], nets.generator_variables))
    assert all(g is not None for g in grad(d_terms["d/total"], nets.discriminator_variables))
    del tape


def test_missing_batch_keys_are_named(all_nets):
    batch = make_batch()
    del batch["m_c"]
    swap_generator_losses(all_nets["I,III"], batch)   # I,III needs no M_c
    with pytest.raises(KeyError, match="m_c"):
        swap_generator_losses(all_nets["I,II,III"], batch)
    with pytest.raises(KeyError, match="s_c"):
        swap_paths(all_nets["I,II"], {k: v for k, v in make_batch().items() if k != "s_c"})
