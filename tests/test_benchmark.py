"""python -m training.benchmark: both backends, the torch reference, and bad flag combinations."""
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e  # each test runs the benchmark command

TINY = ["--variant=gan", "--image_size=32", "--ngf=8", "--ndf=8", "--n_blocks=1", "--steps=1", "--warmup=0",
        "--repeats=2", "--pause=0"]
# Runs the benchmark in this interpreter, then reports whether TensorFlow was ever imported.
IN_PROCESS = ("import runpy, sys\n"
              "sys.argv = ['benchmark'] + sys.argv[1:]\n"
              "try:\n    runpy.run_module('training.benchmark', run_name='__main__')\n"
              "except SystemExit as e:\n    assert not e.code, e.code\n"
              "print('tensorflow imported:', 'tensorflow' in sys.modules)\n")


def _run(*args, code=None):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()
    command = ["-c", code, *args] if code else ["-m", "training.benchmark", *args]
    return subprocess.run([sys.executable, *command], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)


def test_jax_backend_with_torch_reference_imports_no_tensorflow():
    result = _run("--backend", "jax", "--reference=torch", *TINY, code=IN_PROCESS)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "ours (jax): Keras" in out and "JAX " in out and "PyTorch " in out
    assert "JAX jit:" in out and "torch eager:" in out and "images/s" in out and "XLA plan" in out
    assert "ours / reference, fp32 (images/s): JAX jit " in out
    assert "CPU: " in out and "estimate: " in out
    assert out.strip().endswith("tensorflow imported: False")


def test_tf_backend_default_path_with_torch_reference():
    result = _run("--reference=torch", "--verify_reference", *TINY)  # --jit_compile=auto: off on CPU
    assert result.returncode == 0, result.stderr[-3000:]
    assert "reference check, same weights, max |ours - torch|: images " in result.stdout
    assert "ours (tf): Keras" in result.stdout and "TensorFlow " in result.stdout
    assert "XLA off:" in result.stdout and "torch eager:" in result.stdout
    assert "peak RSS growth" in result.stdout
    assert "ours / reference, fp32 (images/s): XLA on " in result.stdout  # auto on a CPU: both
    assert "XLA off " in result.stdout.split("ours / reference, fp32")[1]
    assert "GFLOP/step" in result.stdout and "% of the estimated fp32 peak" in result.stdout


def test_bad_flag_combinations_fail_clearly():
    result = _run("--backend=jax", "--precision=mixed_float16", *TINY)
    assert result.returncode == 2 and "--precision=mixed_float16: the JAX step and the torch" in result.stderr
    result = _run("--backend=jax", "--verify_reference", *TINY)
    assert result.returncode == 2 and "--verify_reference needs --reference=torch" in result.stderr
    for flag, why in (("--steps=0", "not a positive integer"), ("--warmup=-1", "not a non-negative"),
                      ("--repeats=0", "not a positive integer")):
        result = _run(*TINY, flag)
        assert result.returncode == 1 and f"flag {flag}: " in result.stderr and why in result.stderr
        assert "Traceback" not in result.stderr
