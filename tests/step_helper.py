"""One train step per case on one Keras backend, for tests/test_jax_step.py (Keras has one backend
per process, so each side runs in its own):

    KERAS_BACKEND=tensorflow python -m tests.step_helper tf OUT.npz    # training/cycle_step.py, XLA
    KERAS_BACKEND=jax python -m tests.step_helper jax OUT.npz          # training/jax_step.py

Both sides give their networks ``case_weights`` and step on ``case_batch``, then save the weights,
optimiser slots, pools, step and metrics in one layout (``flatten``).
"""
import sys
import zlib
from unittest import mock

import numpy as np

CASES = {"vanilla": dict(variant="vanilla", M=1, N=1), "nest": dict(variant="nest", M=2, N=2)}
# pool_size 3 > batch 1: both pools are still filling and return the new fakes, whatever the RNG.
TINY = dict(image_size=32, load_size=32, ngf=8, ndf=8, n_blocks=1, pool_size=3, seed=7)
TOTAL_STEPS = 10


def case_config(case):
    from training.config import CycleConfig

    return CycleConfig(**CASES[case], **TINY)


def case_weights(nets):
    """Deterministic N(0, 0.02) weights, biases included (non-zero, unlike the initialiser), keyed
    by network name and weight index, so that both processes compute the same arrays."""
    for name, net in nets.networks().items():
        net.set_weights([np.random.default_rng(zlib.crc32(f"{name}/{i}".encode()))
                         .normal(0.0, 0.02, w.shape).astype(np.float32)
                         for i, w in enumerate(net.weights)])


def case_batch():
    rng = np.random.default_rng(0)
    return {k: rng.uniform(-1.0, 1.0, (1, 32, 32, 3)).astype(np.float32) for k in "ab"}


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


def _tf_step(config):
    import tensorflow as tf

    from training.cycle_step import make_cycle_train_step
    from training.cycle_trainer import build_state

    state = build_state(config, total_steps=TOTAL_STEPS)
    case_weights(state.nets)
    step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer, state.pool_a,
                                 state.pool_b, state.step, config, jit_compile=True)
    metrics = step({k: tf.constant(v) for k, v in case_batch().items()})
    snapshot = {"g": state.nets.generator_variables, "d": state.nets.discriminator_variables,
                "g_opt": state.g_optimizer.variables, "d_opt": state.d_optimizer.variables,
                "pool_a": {"images": state.pool_a.images, "count": state.pool_a.count},
                "pool_b": {"images": state.pool_b.images, "count": state.pool_b.count},
                "step": state.step}
    return state.nets, snapshot, metrics


def _jax_step(config):
    import keras

    from models.cycle import build_cycle_nets
    from training import jax_step
    from training.optim import make_adam

    # The weights are overwritten, so initialise with host zeros: eager JAX compiles every random
    # draw and fill once per shape, which costs more than the step on a 2-core CI machine.
    zeros = lambda self, shape, dtype=None: np.zeros(shape, dtype or "float32")  # noqa: E731
    with mock.patch.object(keras.initializers.RandomNormal, "__call__", zeros), \
            mock.patch.object(keras.initializers.Zeros, "__call__", zeros):
        nets = build_cycle_nets(M=config.M, N=config.N, ngf=config.ngf, ndf=config.ndf,
                                n_blocks=config.n_blocks, seed=config.seed)
        g_opt = make_adam(config, TOTAL_STEPS, "g_optimizer")
        d_opt = make_adam(config, TOTAL_STEPS, "d_optimizer")
        g_opt.build(nets.generator_variables)
        d_opt.build(nets.discriminator_variables)
    case_weights(nets)
    step = jax_step.make_jax_train_step(nets, g_opt, d_opt, config)
    state, metrics = step(jax_step.make_jax_state(nets, g_opt, d_opt, config), case_batch())
    return nets, state, metrics


def main(backend, path):
    import keras

    results = {}
    for case in CASES:
        nets, state, metrics = (_tf_step if backend == "tf" else _jax_step)(case_config(case))
        paths = {"g": [v.path for v in nets.generator_variables],
                 "d": [v.path for v in nets.discriminator_variables]}
        results.update(flatten(case, state, metrics, paths))
    results["tensorflow_imported"] = np.asarray("tensorflow" in sys.modules)
    results["keras_backend"] = np.asarray(keras.backend.backend())
    np.savez(path, **results)


if __name__ == "__main__":
    main(*sys.argv[1:])
