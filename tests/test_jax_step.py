"""training/jax_step.py computes what training/cycle_step.py (XLA-compiled, the default) computes.

Keras has one backend per process, so each side runs tests/step_helper.py in its own, both at
once; they start from the same weights and batch and are compared here. The TF step is the
XLA-compiled one: without XLA (and in torch) float32 round-off at this tiny size moves some nest
gradients by up to 2% (relative norm), while XLA's, in TF as in JAX, stay within 3e-4 of a float64
computation of them and within 1e-4 of each other.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from tests import step_helper
from tests.conftest import REPO

LR, BETA1, BETA2 = 2e-4, 0.5, 0.999
# Biases of convs followed by instance norm: the norm removes them, so their gradient is round-off
# and Adam's first step moves them by an arbitrary share of lr on either side.
UNNORMED = {"g": ("out_conv",), "d": ("c0_conv", "out_conv")}


def _normed_bias(group, path):
    return path.endswith("bias") and path.split("/")[0] not in UNNORMED[group]


def helper_env(backend):
    env = dict(os.environ, KERAS_BACKEND={"tf": "tensorflow", "jax": "jax"}[backend],
               JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    # LLVM optimisation off: compiling dominates a one-step test (it about halves it on 2 cores).
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()
    return env


@pytest.fixture(scope="module")
def both_sides(tmp_path_factory):
    root = tmp_path_factory.mktemp("steps")
    procs = {}
    for b in ("tf", "jax"):
        with open(root / f"{b}.log", "w") as log:  # files, not pipes: neither process can block
            command = [sys.executable, "-m", "tests.step_helper", b, str(root / f"{b}.npz")]
            procs[b] = subprocess.Popen(command, cwd=REPO, env=helper_env(b), stdout=log,
                                        stderr=subprocess.STDOUT)
    results = {}
    for backend, proc in procs.items():
        proc.wait(timeout=600)
        assert proc.returncode == 0, f"{backend}: {(root / f'{backend}.log').read_text()[-3000:]}"
        with np.load(root / f"{backend}.npz") as f:
            results[backend] = dict(f)
    return results["tf"], results["jax"]


def test_the_jax_process_ran_on_jax_without_tensorflow(both_sides):
    tf_results, jax_results = both_sides
    assert str(tf_results["keras_backend"]) == "tensorflow" and bool(tf_results["tensorflow_imported"])
    assert str(jax_results["keras_backend"]) == "jax"
    assert not bool(jax_results["tensorflow_imported"])


def _check_updates(ours, theirs, case, group, paths):
    """Adam slots after one step (iteration 1, m = (1 - beta1) g, v = (1 - beta2) g^2) and weights."""
    slot = lambda side, j: side[f"{case}/{group}_opt/{j}"]  # noqa: E731
    assert int(slot(ours, 0)) == int(slot(theirs, 0)) == 1
    grads = {side: [slot(values, 1 + 2 * i) / (1 - BETA1) for i in range(len(paths))]
             for side, values in (("tf", ours), ("jax", theirs))}
    tol = 1e-4 * max(np.abs(g).max() for g in grads["tf"])  # float32 round-off through the chains
    for i, path in enumerate(paths):
        g_tf, g_jax = grads["tf"][i], grads["jax"][i]
        w_tf, w_jax = ours[f"{case}/{group}/{i}"], theirs[f"{case}/{group}/{i}"]
        if _normed_bias(group, path):  # both must see a vanishing gradient; Adam's step is then noise
            assert np.abs(g_tf).max() < 0.1 * tol and np.abs(g_jax).max() < 0.1 * tol, path
            np.testing.assert_allclose(w_jax, w_tf, rtol=0, atol=2.01 * LR, err_msg=path)
            continue
        np.testing.assert_allclose(g_jax, g_tf, rtol=1e-3, atol=tol, err_msg=path)
        abs_g_tf, abs_g_jax = (np.sqrt(slot(side, 2 + 2 * i) / (1 - BETA2)) for side in (ours, theirs))
        np.testing.assert_allclose(abs_g_jax, abs_g_tf, rtol=1e-3, atol=tol, err_msg=path)
        # Adam's first step is lr * g / (|g| + eps), about lr * sign(g): where |g| is within
        # round-off of 0 the sign may differ, and the weights by up to 2 lr.
        unsure = np.abs(g_tf) < tol
        assert unsure.mean() < 0.05, path  # most weights are checked to 1e-6
        diff = np.abs(w_jax - w_tf)
        assert not np.any(diff > np.where(unsure, 2.01 * LR, 1e-6)), (path, diff.max())


@pytest.mark.parametrize("case", list(step_helper.CASES))
def test_same_metrics_weights_slots_and_pools(both_sides, case):
    ours, theirs = both_sides  # ours: the TF step
    ours = {k: v for k, v in ours.items() if k.startswith(case + "/")}
    assert set(ours) == {k for k in theirs if k.startswith(case + "/")}
    metrics = [k for k in ours if "/metric/" in k]
    assert len(metrics) == {"vanilla": 11, "nest": 14}[case]
    for k in metrics:
        np.testing.assert_allclose(theirs[k], ours[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert int(theirs[f"{case}/step"]) == int(ours[f"{case}/step"]) == 1
    for group in ("g", "d"):
        paths = ours[f"{case}/paths/{group}"].tolist()
        assert paths == theirs[f"{case}/paths/{group}"].tolist()
        assert len([k for k in ours if k.startswith(f"{case}/{group}_opt/")]) == 1 + 2 * len(paths)
        _check_updates(ours, theirs, case, group, paths)
    for pool in ("pool_a", "pool_b"):  # still filling: slot 0 holds this step's fake, the rest zeros
        assert int(theirs[f"{case}/{pool}/count"]) == int(ours[f"{case}/{pool}/count"]) == 1
        images = ours[f"{case}/{pool}/images"]
        np.testing.assert_allclose(theirs[f"{case}/{pool}/images"], images, rtol=0, atol=1e-5)
        assert np.abs(images[0]).max() > 0.01 and not images[1:].any()
