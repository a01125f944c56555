"""training/torch_reference.py: the official PyTorch CycleGAN computes what our networks compute.

Our Keras weights are ported into the torch modules (NHWC -> NCHW); every image along every path
and every loss term must then agree, which re-checks our padding, transposed-conv cropping,
instance norm and objectives against an independent statement of the official architecture.
"""
import random

import numpy as np
import pytest
import torch

from training import torch_reference as tr
from training.config import CycleConfig
from training.cycle_trainer import build_nets

TINY = dict(image_size=32, load_size=32, ngf=8, ndf=8, n_blocks=1, seed=3)


def _batch(seed=0, n=2):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (n, 32, 32, 3)).astype(np.float32) for _ in "ab"]


def test_full_size_parameter_counts_are_the_official_ones():
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(tr.resnet_generator(64, 9)) == 11_378_179
    assert count(tr.nlayer_discriminator(64)) == 2_764_737


@pytest.mark.parametrize("overrides", [
    dict(variant="gan"), dict(variant="vanilla"), dict(variant="long", M=2, N=1),
    dict(variant="nest", M=2, N=3), dict(variant="nest", M=2, N=2, lambda_sim=0.5),
    dict(variant="long", M=2, N=2, share_weights=True, lambda_identity=0.5),
], ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_same_images_and_losses_from_the_same_weights(overrides):
    config = CycleConfig(**TINY, **overrides)
    a, b = _batch()
    diffs = tr.compare_with_keras(build_nets(config), config, a, b)
    expected = {"images", "g/adv_a", "g/adv_b", "g/total", "d/real_a", "d/fake_a", "d/real_b",
                "d/fake_b", "d/total"}
    if config.variant != "gan":
        expected |= {"g/cycle_a", "g/cycle_b"}
    if config.variant == "nest":
        expected |= {"g/inner_a", "g/inner_b", "g/sim"}
    if config.lambda_identity:
        expected |= {"g/identity_a", "g/identity_b"}
    assert set(diffs) == expected
    # a misplaced pad or crop changes images by ~1e-2; float32 round-off through 5 chained
    # generators stays below 1e-4
    assert diffs.pop("images") < 2e-4
    assert max(diffs.values()) < 1e-4, diffs


def test_loading_keras_weights_checks_count_and_shapes():
    config = CycleConfig(**TINY)
    nets = build_nets(config)
    weights = nets.d_a.get_weights()
    with pytest.raises(ValueError, match="torch convs"):
        tr.load_keras_weights(tr.nlayer_discriminator(8), weights[:-2])
    with pytest.raises(ValueError, match="does not fit"):
        tr.load_keras_weights(tr.nlayer_discriminator(16), weights)
    with pytest.raises(ValueError, match="torch convs"):
        tr.load_keras_weights(tr.resnet_generator(8, 1), weights)


def test_pool_fills_then_swaps_about_half_the_time():
    pool = tr.ImagePool(4, random.Random(0))
    outs = [float(pool.query(torch.full((1, 1, 2, 2), float(i)))[0, 0, 0, 0]) for i in range(1, 41)]
    assert outs[:4] == [1.0, 2.0, 3.0, 4.0]
    assert 8 <= sum(o != i for o, i in zip(outs[4:], range(5, 41))) <= 28
    assert len(pool.images) == 4
    replay = tr.ImagePool(4, random.Random(0))
    assert [float(replay.query(torch.full((1, 1, 2, 2), float(i)))[0, 0, 0, 0]) for i in range(1, 41)] == outs
    x = torch.ones(2, 3, 4, 4)
    assert tr.ImagePool(0, random.Random(0)).query(x) is x


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_step_updates_every_network_and_fills_the_pools(precision):
    ref = tr.CycleReference("nest", M=2, N=2, ngf=8, ndf=8, n_blocks=1, pool_size=3, precision=precision)
    nets = ref.a2b + ref.b2a + [ref.d_a, ref.d_b]
    before = [[p.detach().clone() for p in net.parameters()] for net in nets]
    a, b = (tr.to_torch(x) for x in _batch(n=1))
    out = ref.step(a, b)
    assert {"g/total", "g/inner_a", "g/sim", "d/total"} <= set(out)
    assert all(torch.isfinite(v) for v in out.values())
    for net, old in zip(nets, before):
        assert all(not torch.equal(p, q) for p, q in zip(net.parameters(), old))
        assert all(p.requires_grad for p in net.parameters())  # unfrozen after the G update
    assert len(ref.pool_a.images) == len(ref.pool_b.images) == 1


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown variant"):
        tr.CycleReference("swap")
    with pytest.raises(ValueError, match="precision"):
        tr.CycleReference("vanilla", ngf=8, ndf=8, n_blocks=1, precision="float16")


def test_layout_conversions_round_trip():
    x = np.random.default_rng(1).normal(size=(2, 5, 7, 3)).astype(np.float32)
    t = tr.to_torch(x)
    assert tuple(t.shape) == (2, 3, 5, 7)
    np.testing.assert_array_equal(tr.to_numpy(t), x)
