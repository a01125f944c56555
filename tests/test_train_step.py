"""The compiled train step, the image pool and the learning-rate schedule."""
import numpy as np
import pytest
import tensorflow as tf

from training.config import CycleConfig
from training.cycle_step import make_cycle_train_step
from training.cycle_trainer import build_state
from training.optim import ConstantThenLinearDecay, decay_start_step
from training.pool import ImagePool

TINY = dict(image_size=32, load_size=32, ngf=8, ndf=8, n_blocks=1, pool_size=3, seed=7)
VARIANT_KEYS = {
    "gan": {"g/adv_a", "g/adv_b"},
    "vanilla": {"g/adv_a", "g/adv_b", "g/cycle_a", "g/cycle_b"},
    "long": {"g/adv_a", "g/adv_b", "g/cycle_a", "g/cycle_b"},
    "nest": {"g/adv_a", "g/adv_b", "g/cycle_a", "g/cycle_b", "g/inner_a", "g/inner_b", "g/sim"},
}
D_KEYS = {"d/real_a", "d/fake_a", "d/real_b", "d/fake_b", "d/total"}


def _batch(seed=0, batch=1):
    rng = np.random.default_rng(seed)
    return {k: tf.constant(rng.uniform(-1, 1, (batch, 32, 32, 3)).astype("float32")) for k in "ab"}


def _snapshot(state):
    return [v.numpy().copy() for v in state.nets.generator_variables + state.nets.discriminator_variables]


def _one_step(config, jit):
    state = build_state(config, total_steps=10)
    before = _snapshot(state)
    step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer, state.pool_a,
                                 state.pool_b, state.step, config, jit_compile=jit)
    if jit:
        out = step(_batch())
    else:
        tf.config.run_functions_eagerly(True)
        try:
            out = step(_batch())
        finally:
            tf.config.run_functions_eagerly(False)
    return state, before, {k: float(v) for k, v in out.items()}


@pytest.mark.parametrize("variant,M", [("gan", 1), ("vanilla", 1), ("long", 2), ("nest", 2)])
def test_step_eager_and_compiled_update_every_variable_identically(variant, M):
    config = CycleConfig(variant=variant, M=M, N=M, **TINY)
    results = {jit: _one_step(config, jit) for jit in (False, True)}
    for jit, (state, before, out) in results.items():
        assert set(out) == VARIANT_KEYS[variant] | D_KEYS | {"g/total", "lr"}
        assert all(np.isfinite(v) for v in out.values()), out
        assert out["lr"] == pytest.approx(2e-4)
        assert int(state.step.numpy()) == 1
        after = _snapshot(state)
        unchanged = [i for i, (x, y) in enumerate(zip(before, after)) if np.array_equal(x, y)]
        assert not unchanged, f"jit={jit}: {len(unchanged)} variables did not change"
    (eager, initial, eager_out), (compiled, _, compiled_out) = results[False], results[True]
    for k in eager_out:
        assert compiled_out[k] == pytest.approx(eager_out[k], rel=1e-3, abs=1e-5), k
    # Adam's first step moves every weight by about +-lr, so compare update directions; biases
    # before instance norm get pure round-off gradients (IN removes them) and are left out.
    variables = eager.nets.generator_variables + eager.nets.discriminator_variables
    kernels = [i for i, v in enumerate(variables) if "kernel" in v.path]
    eager_now, compiled_now = _snapshot(eager), _snapshot(compiled)
    agreement = np.mean(np.concatenate([
        (np.sign(eager_now[i] - initial[i]) == np.sign(compiled_now[i] - initial[i])).ravel()
        for i in kernels]))
    assert agreement > 0.999, agreement


def test_long_with_one_generator_each_way_trains_exactly_like_vanilla():
    """The thesis's remark after (8.6), checked on whole train steps, not just on the losses."""
    finals = {}
    for variant in ("vanilla", "long"):
        config = CycleConfig(variant=variant, M=1, N=1, **TINY)
        state = build_state(config, total_steps=10)
        step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer, state.pool_a,
                                     state.pool_b, state.step, config, jit_compile=False)
        outs = [{k: float(v) for k, v in step(_batch(seed)).items()} for seed in range(2)]
        finals[variant] = (outs, _snapshot(state))
    assert finals["vanilla"][0] == finals["long"][0]
    for x, y in zip(finals["vanilla"][1], finals["long"][1]):
        np.testing.assert_array_equal(x, y)


def test_step_with_shared_weights_and_identity_loss():
    config = CycleConfig(variant="long", M=3, N=2, share_weights=True, lambda_identity=0.5, **TINY)
    state, before, out = _one_step(config, jit=True)
    assert {"g/identity_a", "g/identity_b"} <= set(out)
    assert len(state.nets.generators()) == 2
    assert not any(np.array_equal(x, y) for x, y in zip(before, _snapshot(state)))


def test_pool_fills_then_swaps_half_the_time_reproducibly():
    pool = ImagePool(4, (2, 2, 1))
    images = [np.full((1, 2, 2, 1), float(i), "float32") for i in range(1, 41)]
    seeds = [tf.constant([9, s], tf.int64) for s in range(40)]
    outs = [float(pool(x, s)[0, 0, 0, 0]) for x, s in zip(images, seeds)]
    assert outs[:4] == [1.0, 2.0, 3.0, 4.0]  # filling: the new image comes back
    assert int(pool.count.numpy()) == 4
    later = outs[4:]
    from_history = sum(o != i for o, i in zip(later, range(5, 41)))
    assert 8 <= from_history <= 28  # about half of 36 come from the history
    stored = sorted(pool.images.numpy()[:, 0, 0, 0].tolist())
    assert len(set(stored)) == 4 and all(1 <= v <= 40 for v in stored)
    replay = ImagePool(4, (2, 2, 1))
    assert [float(replay(x, s)[0, 0, 0, 0]) for x, s in zip(images, seeds)] == outs


def test_pool_handles_batches_and_size_zero():
    pool = ImagePool(2, (1, 1, 1))
    out = pool(tf.constant([[[[1.0]]], [[[2.0]]], [[[3.0]]]]), tf.constant([0, 0], tf.int64))
    assert out.shape == (3, 1, 1, 1) and out.numpy()[:2, 0, 0, 0].tolist() == [1.0, 2.0]
    x = tf.ones((2, 4, 4, 3))
    assert ImagePool(0, (4, 4, 3))(x, tf.constant([0, 0], tf.int64)) is x


def test_schedule_is_constant_then_linear_to_zero():
    schedule = ConstantThenLinearDecay(2e-4, decay_start=100, total_steps=200)
    lrs = [float(schedule(s)) for s in (0, 99, 100, 150, 199, 200, 250)]
    assert lrs == pytest.approx([2e-4, 2e-4, 2e-4, 1e-4, 2e-6, 0.0, 0.0], rel=1e-5)
    assert decay_start_step(80_000, 200, 100) == 40_000  # thesis: 200 epochs, decay over the last 100
    assert decay_start_step(20, 200, 100) == 10          # --max_steps runs decay over the same share


def test_l2_weight_decay_mode_adds_the_tf1_penalty_to_each_total():
    config = CycleConfig(variant="vanilla", weight_decay_mode="l2", weight_decay=1e-2, **TINY)
    state = build_state(config, total_steps=10)
    kernels = lambda vs: [v.numpy() for v in vs if v.ndim >= 2]  # noqa: E731
    expected_g = 1e-2 * 0.5 * sum(float(np.sum(k.astype(np.float64) ** 2))
                                  for k in kernels(state.nets.generator_variables))
    expected_d = 1e-2 * 0.5 * sum(float(np.sum(k.astype(np.float64) ** 2))
                                  for k in kernels(state.nets.discriminator_variables))
    assert state.g_optimizer.weight_decay is None  # the optimiser itself decays nothing
    step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer, state.pool_a,
                                 state.pool_b, state.step, config, jit_compile=False)
    out = {k: float(v) for k, v in step(_batch()).items()}
    assert out["g/l2"] == pytest.approx(expected_g, rel=1e-5)
    assert out["d/l2"] == pytest.approx(expected_d, rel=1e-5)
    g_terms = out["g/adv_a"] + out["g/adv_b"] + 10.0 * (out["g/cycle_a"] + out["g/cycle_b"])
    assert out["g/total"] == pytest.approx(g_terms + expected_g, rel=1e-5)
    decoupled = build_state(CycleConfig(variant="vanilla", **TINY), total_steps=10)
    assert decoupled.g_optimizer.weight_decay == pytest.approx(5e-4)
