"""One train step per case on one Keras backend, for tests/test_jax_step.py (Keras has one backend
per process, so each side runs in its own):

    KERAS_BACKEND=tensorflow python -m tests.step_helper tf float32 OUT.npz  # training/cycle_step.py, XLA
    KERAS_BACKEND=jax python -m tests.step_helper jax float64 OUT.npz        # training/jax_step.py

Both sides give their networks ``case_weights`` and step on ``case_batch``, then save the weights,
optimiser slots, pools, step and metrics in one layout (``flatten``). In float64 the networks,
optimisers and batch are float64 and the pools are off (pool_size 0: a filling pool returns the new
fakes anyway, and pools are float32 by design); that pass is where gradients are compared, because in
float32 a ReLU input within round-off of zero flips with the summation order and moves whole kernels'
gradients, differently in every pair of implementations.
"""
import sys
from unittest import mock
import zlib

import numpy as np

CASES = {"vanilla": dict(variant="vanilla", M=1, N=1), "nest": dict(variant="nest", M=2, N=2)}
# pool_size 3 > batch 1: both pools are still filling and return the new fakes, whatever the RNG.
TINY = dict(image_size=32, load_size=32, ngf=8, ndf=8, n_blocks=1, pool_size=3, seed=7)
TOTAL_STEPS = 10


def case_config(case, dtype="float32"):
    from training.config import CycleConfig

    return CycleConfig(**CASES[case], **{**TINY, **({"pool_size": 0} if dtype == "float64" else {})})


def case_weights(nets, dtype="float32"):
    """Deterministic N(0, 0.02) weights, biases included (non-zero, unlike the initialiser), keyed
    by network name and weight index, so that both processes compute the same arrays."""
    for name, net in nets.networks().items():
        net.set_weights([np.random.default_rng(zlib.crc32(f"{name}/{i}".encode()))
                         .normal(0.0, 0.02, w.shape).astype(dtype)
                         for i, w in enumerate(net.weights)])


def case_batch(dtype="float32"):
    rng = np.random.default_rng(0)
    return {k: rng.uniform(-1.0, 1.0, (1, 32, 32, 3)).astype(dtype) for k in "ab"}


def _nets_and_adams(config, dtype):
    """Networks and built Adams under a plain ``dtype`` policy (the trainers' float32 build)."""
    import keras

    from models.cycle import build_cycle_nets
    from training.optim import make_adam

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype)
    try:
        nets = build_cycle_nets(M=config.M, N=config.N, ngf=config.ngf, ndf=config.ndf,
                                n_blocks=config.n_blocks, seed=config.seed)
        g_opt = make_adam(config, TOTAL_STEPS, "g_optimizer")
        d_opt = make_adam(config, TOTAL_STEPS, "d_optimizer")
        g_opt.build(nets.generator_variables)
        d_opt.build(nets.discriminator_variables)
    finally:
        keras.config.set_dtype_policy(previous)
    return nets, g_opt, d_opt


def flatten(prefix, state, metrics, paths):
    """One npz-ready dict of a step's results."""
    out = {f"{prefix}/metric/{k}": np.asarray(v) for k, v in metrics.items()}
    for group in ("g", "d", "g_opt", "d_opt"):
        out.update({f"{prefix}/{group}/{i}": np.asarray(v) for i, v in enumerate(state[group])})
    for pool in ("pool_a", "pool_b"):
        out[f"{prefix}/{pool}/images"] = np.asarray(state[pool]["images"])
        out[f"{prefix}/{pool}/count"] = np.asarray(state[pool]["count"])
    out[f"{prefix}/step"] = np.asarray(state["step"])
    out.update({f"{prefix}/paths/{group}": np.asarray(names) for group, names in paths.items()})
    return out


def _pool_snapshot(pool):
    if pool.size == 0:
        return {"images": np.zeros((0,)), "count": np.asarray(0)}
    return {"images": pool.images, "count": pool.count}


def _tf_step(config, dtype):
    import tensorflow as tf

    from training import devices
    from training.cycle_step import make_cycle_train_step
    from training.cycle_trainer import build_state
    from training.pool import ImagePool

    if dtype == "float32":  # exactly what a run builds
        state = build_state(config, total_steps=TOTAL_STEPS)
        nets, g_opt, d_opt = state.nets, state.g_optimizer, state.d_optimizer
        pool_a, pool_b, step_var = state.pool_a, state.pool_b, state.step
    else:
        nets, g_opt, d_opt = _nets_and_adams(config, dtype)
        shape = (config.image_size, config.image_size, 3)
        pool_a, pool_b = ImagePool(0, shape, name="pool_a"), ImagePool(0, shape, name="pool_b")
        step_var = devices.step_counter()
    case_weights(nets, dtype)
    step = make_cycle_train_step(nets, g_opt, d_opt, pool_a, pool_b, step_var, config, jit_compile=True)
    metrics = step({k: tf.constant(v) for k, v in case_batch(dtype).items()})
    snapshot = {"g": nets.generator_variables, "d": nets.discriminator_variables,
                "g_opt": g_opt.variables, "d_opt": d_opt.variables,
                "pool_a": _pool_snapshot(pool_a), "pool_b": _pool_snapshot(pool_b), "step": step_var}
    return nets, snapshot, metrics


def _jax_step(config, dtype):
    import keras

    from training import jax_step

    # The weights are overwritten, so initialise with host zeros: eager JAX compiles every random
    # draw and fill once per shape, which costs more than the step on a 2-core CI machine.
    zeros = lambda self, shape, dtype=None: np.zeros(shape, dtype or "float32")  # noqa: E731
    with mock.patch.object(keras.initializers.RandomNormal, "__call__", zeros), \
            mock.patch.object(keras.initializers.Zeros, "__call__", zeros):
        nets, g_opt, d_opt = _nets_and_adams(config, dtype)
    case_weights(nets, dtype)
    step = jax_step.make_jax_train_step(nets, g_opt, d_opt, config)
    state, metrics = step(jax_step.make_jax_state(nets, g_opt, d_opt, config), case_batch(dtype))
    if config.pool_size == 0:
        state = {**state, "pool_a": {"images": np.zeros((0,)), "count": np.asarray(0)},
                 "pool_b": {"images": np.zeros((0,)), "count": np.asarray(0)}}
    return nets, state, metrics


def main(backend, dtype, path):
    if backend == "jax" and dtype == "float64":  # before any array exists: JAX demotes to 32 bits
        import jax
        jax.config.update("jax_enable_x64", True)
    import keras

    if backend == "jax" and dtype == "float64":
        # Keras's type promotion maps float64 to float32 on every backend but TensorFlow (to match
        # JAX's default): the instance norms' statistics and tanh would run in float32.
        from keras.src.backend.common import dtypes as keras_dtypes
        keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"

    # Keras converts float inputs and constants to floatx; left at float32, JAX computes part of the
    # float64 step in float32.
    keras.config.set_floatx(dtype)
    results = {}
    for case in CASES:
        nets, state, metrics = (_tf_step if backend == "tf" else _jax_step)(case_config(case, dtype), dtype)
        paths = {"g": [v.path for v in nets.generator_variables],
                 "d": [v.path for v in nets.discriminator_variables]}
        results.update(flatten(case, state, metrics, paths))
    results["tensorflow_imported"] = np.asarray("tensorflow" in sys.modules)
    results["keras_backend"] = np.asarray(keras.backend.backend())
    np.savez(path, **results)


if __name__ == "__main__":
    main(*sys.argv[1:])
