"""training/jax_step.py computes what training/cycle_step.py (XLA-compiled, the default) computes.

Keras has one backend per process, so each side runs tests/step_helper.py in its own, all at once;
they start from the same weights and batch and are compared here. Losses and pools are compared in
float32, the arithmetic of a run. Gradients, Adam's slots and the updated weights are compared in
float64: in float32 a few ReLU inputs lie within round-off of zero at this size and flip sign with
the summation order, moving whole kernels' gradients by up to 1e-2 relative, in any pair of
implementations (the official PyTorch step differs from its own float64 result as much). In float64
both sides agree to about 1e-8 of the largest gradient.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from tests import step_helper
from tests.conftest import REPO

pytestmark = pytest.mark.e2e  # four processes compile and step two networks each

LR, BETA1, BETA2, EPS = 2e-4, 0.5, 0.999, 1e-8
# Biases of convs followed by instance norm: the norm removes them, so their gradient is round-off
# and Adam's first step moves them by an arbitrary share of lr on either side.
UNNORMED = {"g": ("out_conv",), "d": ("c0_conv", "out_conv")}
# float64 round-off through these chains stays below 1e-10 of the largest gradient; 1e-7 leaves room
# for any summation order and is still 1e5 times below the float32 disagreements this test excludes.
GRAD_TOL = 1e-7


def _normed_bias(group, path):
    return path.endswith("bias") and path.split("/")[0] not in UNNORMED[group]


def helper_env(backend):
    env = dict(os.environ, KERAS_BACKEND={"tf": "tensorflow", "jax": "jax"}[backend],
               JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    # LLVM optimisation off: compiling dominates a one-step test (it about halves it on 2 cores).
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()
    return env


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    """{(backend, dtype): results} of the four helper processes."""
    root = tmp_path_factory.mktemp("steps")
    procs = {}
    for backend in ("tf", "jax"):
        for dtype in ("float32", "float64"):
            name = f"{backend}-{dtype}"
            with open(root / f"{name}.log", "w") as log:  # files, not pipes: none can block
                command = [sys.executable, "-m", "tests.step_helper", backend, dtype, str(root / f"{name}.npz")]
                procs[backend, dtype] = subprocess.Popen(command, cwd=REPO, env=helper_env(backend),
                                                         stdout=log, stderr=subprocess.STDOUT)
    results = {}
    for (backend, dtype), proc in procs.items():
        proc.wait(timeout=900)
        name = f"{backend}-{dtype}"
        assert proc.returncode == 0, f"{name}: {(root / f'{name}.log').read_text()[-3000:]}"
        with np.load(root / f"{name}.npz") as f:
            results[backend, dtype] = dict(f)
    return results


def _case(results, case):
    return {k: v for k, v in results.items() if k.startswith(case + "/")}


def test_the_jax_process_ran_on_jax_without_tensorflow(sides):
    for dtype in ("float32", "float64"):
        assert str(sides["tf", dtype]["keras_backend"]) == "tensorflow"
        assert bool(sides["tf", dtype]["tensorflow_imported"])
        assert str(sides["jax", dtype]["keras_backend"]) == "jax"
        assert not bool(sides["jax", dtype]["tensorflow_imported"])


@pytest.mark.parametrize("case", list(step_helper.CASES))
def test_same_losses_and_pools_in_float32(sides, case):
    ours, theirs = _case(sides["tf", "float32"], case), _case(sides["jax", "float32"], case)
    assert set(ours) == set(theirs)
    metrics = [k for k in ours if "/metric/" in k]
    assert len(metrics) == {"vanilla": 11, "nest": 14}[case]
    for k in metrics:
        np.testing.assert_allclose(theirs[k], ours[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert int(theirs[f"{case}/step"]) == int(ours[f"{case}/step"]) == 1
    for pool in ("pool_a", "pool_b"):  # still filling: slot 0 holds this step's fake, the rest zeros
        assert int(theirs[f"{case}/{pool}/count"]) == int(ours[f"{case}/{pool}/count"]) == 1
        images = ours[f"{case}/{pool}/images"]
        np.testing.assert_allclose(theirs[f"{case}/{pool}/images"], images, rtol=0, atol=1e-5)
        assert np.abs(images[0]).max() > 0.01 and not images[1:].any()


def _check_updates(ours, theirs, case, group, paths):
    """Adam slots after one step (iteration 1, m = (1 - beta1) g, v = (1 - beta2) g^2) and weights."""
    slot = lambda side, j: side[f"{case}/{group}_opt/{j}"]  # noqa: E731
    assert int(slot(ours, 0)) == int(slot(theirs, 0)) == 1
    grads = {side: [slot(values, 1 + 2 * i) / (1 - BETA1) for i in range(len(paths))]
             for side, values in (("tf", ours), ("jax", theirs))}
    largest = max(np.abs(g).max() for g in grads["tf"])
    assert largest > 1e-3  # a real gradient, not a dead network
    tol = GRAD_TOL * largest
    for i, path in enumerate(paths):
        g_tf, g_jax = grads["tf"][i], grads["jax"][i]
        assert g_tf.dtype == g_jax.dtype == np.float64, path
        w_tf, w_jax = ours[f"{case}/{group}/{i}"], theirs[f"{case}/{group}/{i}"]
        if _normed_bias(group, path):  # both must see a vanishing gradient; Adam's step is then noise
            assert np.abs(g_tf).max() < 1e3 * tol and np.abs(g_jax).max() < 1e3 * tol, path
            np.testing.assert_allclose(w_jax, w_tf, rtol=0, atol=2.01 * LR, err_msg=path)
            continue
        np.testing.assert_allclose(g_jax, g_tf, rtol=1e-6, atol=tol, err_msg=path)
        abs_g_tf, abs_g_jax = (np.sqrt(slot(side, 2 + 2 * i) / (1 - BETA2)) for side in (ours, theirs))
        np.testing.assert_allclose(abs_g_jax, abs_g_tf, rtol=1e-6, atol=tol, err_msg=path)
        # Adam's first step is lr * g / (|g| + eps): where |g| is within the gradient tolerance of 0
        # the sign may differ, and the weights by up to 2 lr; elsewhere a gradient difference of at
        # most tol moves the step by at most lr * tol * eps / (|g| - tol + eps)^2 (its derivative).
        # One backend forms Adam's bias correction sqrt(1 - beta2^t) from float32 betas: 1 - 0.999 is
        # then 1.3e-5 off, and the step size 6.4e-6 of lr (1e-5 lr allowed).
        unsure = np.abs(g_tf) < tol
        assert unsure.mean() < 0.01, path
        slope = EPS / (np.maximum(np.abs(g_tf) - tol, 0.0) + EPS) ** 2
        allowed = np.where(unsure, 2.01 * LR, LR * tol * slope + 1e-5 * LR)
        diff = np.abs(w_jax - w_tf)
        assert not np.any(diff > allowed), (path, diff.max())


@pytest.mark.parametrize("case", list(step_helper.CASES))
def test_same_gradients_slots_and_weights_in_float64(sides, case):
    ours, theirs = _case(sides["tf", "float64"], case), _case(sides["jax", "float64"], case)
    assert set(ours) == set(theirs)
    for k in (k for k in ours if "/metric/" in k and not k.endswith("/lr")):
        np.testing.assert_allclose(theirs[k], ours[k], rtol=1e-6, err_msg=k)  # float32 outputs
    for group in ("g", "d"):
        paths = ours[f"{case}/paths/{group}"].tolist()
        assert paths == theirs[f"{case}/paths/{group}"].tolist()
        assert len([k for k in ours if k.startswith(f"{case}/{group}_opt/")]) == 1 + 2 * len(paths)
        _check_updates(ours, theirs, case, group, paths)
