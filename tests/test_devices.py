"""Execution choices: --jit_compile=auto, --precision, --distribute (two logical CPU devices)."""
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO
from training import devices
from training.config import CycleConfig
from training.cycle_step import make_cycle_train_step
from training.cycle_trainer import build_state

TINY = dict(image_size=32, load_size=32, ngf=8, ndf=8, n_blocks=1, pool_size=2, seed=3,
            jit_compile=False)


def _batch(batch=1):
    rng = np.random.default_rng(0)
    return {k: tf.constant(rng.uniform(-1, 1, (batch, 32, 32, 3)).astype("float32")) for k in "ab"}


def _variables(state):
    return [v.numpy().astype(np.float64) for v in
            state.nets.generator_variables + state.nets.discriminator_variables]


def test_auto_jit_is_xla_on_gpus_only():
    assert devices.use_xla("auto") == bool(tf.config.list_physical_devices("GPU"))
    assert devices.use_xla(True) and not devices.use_xla(False)
    assert CycleConfig().jit_compile == "auto"


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_a_mixed_precision_step_is_finite_and_moves_every_variable(precision):
    config = CycleConfig(variant="vanilla", precision=precision, **TINY)
    state = build_state(config, total_steps=10)
    before = _variables(state)
    assert all(v.dtype == tf.float32 for v in state.nets.generator_variables)  # float32 master weights
    g_a2b = state.nets.a2b[0]
    assert g_a2b.get_layer("enc0_conv").compute_dtype == precision.split("_")[1]
    # norms run in 16 bits with float32 statistics inside (tests/test_networks.py checks the values)
    assert g_a2b.get_layer("enc0_norm").compute_dtype == precision.split("_")[1]
    assert g_a2b.output.dtype == "float32" and state.nets.d_a.output.dtype == "float32"
    step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer, state.pool_a,
                                 state.pool_b, state.step, config, runtime=state.runtime)
    for _ in range(12):  # float16 skips the first updates while its loss scale (2^15) overflows
        out = step(_batch())
        assert all(np.isfinite(float(v)) for v in out.values()), out
        moved = [not np.array_equal(a, b) for a, b in zip(before, _variables(state))]
        if all(moved):
            break
    assert all(moved), f"{moved.count(False)} variables did not move"
    assert state.pool_a.images.dtype == tf.float32
    scaled = isinstance(state.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (precision == "mixed_float16")


def test_the_default_runtime_computes_exactly_the_plain_step():
    config = CycleConfig(variant="vanilla", **TINY)
    plain, runtime = build_state(config, 10), build_state(config, 10)
    step_plain = make_cycle_train_step(plain.nets, plain.g_optimizer, plain.d_optimizer, plain.pool_a,
                                       plain.pool_b, plain.step, config, jit_compile=False)
    step_runtime = make_cycle_train_step(runtime.nets, runtime.g_optimizer, runtime.d_optimizer,
                                         runtime.pool_a, runtime.pool_b, runtime.step, config,
                                         runtime=runtime.runtime)
    for _ in range(2):
        a, b = step_plain(_batch()), step_runtime(_batch())
        assert {k: float(v) for k, v in a.items()} == {k: float(v) for k, v in b.items()}
    for x, y in zip(_variables(plain), _variables(runtime)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.e2e
def test_mirrored_over_two_devices_equals_one_device_and_resumes_across_strategies(tmp_path, facades):
    script = REPO / "tests" / "distribute_check.py"
    result = subprocess.run([sys.executable, str(script), str(tmp_path), facades], cwd=REPO,
                            capture_output=True, text=True, timeout=900,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "mirrored == single: ok" in result.stdout and "resume across strategies: ok" in result.stdout
