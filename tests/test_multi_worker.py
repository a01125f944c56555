"""A real multi-worker run: two worker processes of ``python -m training.cycle
--distribute=multi_worker`` on 127.0.0.1, each with its own TF_CONFIG (the documented launch).

They train a tiny Vanilla run; one worker is killed (SIGKILL) after the first checkpoint, both are
restarted with the same command and resume to the end. The chief's final checkpoint must then
equal a single-process run on the same global batch, within the spread that float32 summation
order alone causes: the same single-process run compiled with XLA (the same function, another
summation order) gives that spread per variable.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import REPO

STEPS = 16
FLAGS = ["--variant=vanilla", "--dataset=unpaired", "--image_size=32", "--load_size=36", "--ngf=8",
         "--ndf=8", "--n_blocks=1", "--batch_size=2", "--pool_size=0", f"--max_steps={STEPS}",
         "--checkpoint_every=2", "--log_every=1", "--sample_every=1000", "--num_samples=1",
         "--keep_checkpoints=10"]  # all 8 kept
LEARNING_RATE = 2e-4  # the default --learning_rate


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _env(extra=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    env.pop("TF_CONFIG", None)
    return {**env, **(extra or {})}


def _start(args, log, extra_env=None):
    return subprocess.Popen([sys.executable, "-m", "training.cycle", *FLAGS, *args], cwd=REPO,
                            env=_env(extra_env), stdout=log, stderr=subprocess.STDOUT)


def _workers(workdir, data, logs):
    cluster = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    return [_start([f"--workdir={workdir}", f"--data_dir={data}", "--distribute=multi_worker"], log,
                   {"TF_CONFIG": json.dumps({"cluster": {"worker": cluster},
                                             "task": {"type": "worker", "index": i}})})
            for i, log in enumerate(logs)]


def _wait(procs, timeout):
    deadline = time.monotonic() + timeout
    try:
        return [p.wait(timeout=max(deadline - time.monotonic(), 0.1)) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        raise


def _steps(workdir):
    folder = workdir / "checkpoints"
    return sorted(int(f[5:-6]) for f in os.listdir(folder)
                  if f.startswith("ckpt-") and f.endswith(".index")) if folder.is_dir() else []


def _variables(path):
    import tensorflow as tf

    return {n: tf.train.load_variable(str(path), n) for n, _ in tf.train.list_variables(str(path))
            if "_CHECKPOINTABLE_OBJECT_GRAPH" not in n}


def _text(path):
    return path.read_text(errors="replace")


def _tail(path):
    return _text(path)[-3000:]


@pytest.mark.e2e
@pytest.mark.timeout(1800)  # a minute on a quiet 2-core machine
def test_two_loopback_workers_train_resume_after_a_kill_and_equal_one_process(tmp_path, facades):
    run = tmp_path / "run"
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(2)]  # noqa: SIM115
    workers = _workers(run, facades, logs)
    deadline = time.monotonic() + 600
    other = run / "workers" / "1"
    while (not (_steps(run) and _steps(other)) and time.monotonic() < deadline
           and workers[0].poll() is None):
        time.sleep(0.01)
    workers[1].send_signal(signal.SIGKILL)
    assert _steps(run) and _steps(run)[-1] < STEPS, _tail(tmp_path / "worker0.log")
    try:  # the chief cannot go on without its peer: it fails, or it is killed as well
        workers[0].wait(timeout=20)
    except subprocess.TimeoutExpired:
        workers[0].kill()
        workers[0].wait()
    # A worker killed during a save leaves the other one checkpoint ahead: both resume from the
    # newest step they both hold.
    killed_at = min(_steps(run)[-1], _steps(other)[-1])

    logs = [open(tmp_path / f"worker{i}.restart.log", "w") for i in range(2)]  # noqa: SIM115
    codes = _wait(_workers(run, facades, logs), timeout=600)
    restart = [_text(tmp_path / f"worker{i}.restart.log") for i in range(2)]
    shown = "\n".join(text[-3000:] for text in restart)
    assert codes == [0, 0], shown
    assert all(f"finished at step {STEPS}" in text for text in restart), shown
    assert "resuming from step" in restart[0], shown
    resumed = int(restart[0].split("resuming from step ")[1].split()[0])
    assert resumed == killed_at and 0 < resumed < STEPS
    assert f"resuming from step {resumed}" in restart[1]
    assert _steps(other)[-1] == STEPS  # the other worker's own copy

    # Single-process references: TensorFlow's kernels, and XLA for the summation-order spread.
    singles = {jit: _start([f"--workdir={tmp_path / jit}", f"--data_dir={facades}",
                            f"--jit_compile={jit}"], open(tmp_path / f"{jit}.log", "w"))
               for jit in ("false", "true")}
    assert _wait(list(singles.values()), timeout=600) == [0, 0], _tail(tmp_path / "false.log")
    for at in (2, STEPS):
        chief, single, xla = (_variables(folder / "checkpoints" / f"ckpt-{at}")
                              for folder in (run, tmp_path / "false", tmp_path / "true"))
        assert chief.keys() == single.keys()
        kernel_spreads = _compare(chief, single, xla, at)
        if at == 2:
            # The check can fail: a wrong gradient reduction moves weights by Adam steps of up to
            # lr each, while float32 summation order moves the kernels far less in the first steps.
            # (Adam turns any difference into steps of its own size within a few steps, so by the
            # last step the spread, and with it the bound, is of the order of lr.)
            assert len(kernel_spreads) > 10 and np.median(kernel_spreads) < LEARNING_RATE / 10


def _compare(chief, single, xla, at):
    """Checks chief == single within the summation-order spread, per variable; returns the root
    mean square spread of every convolution kernel."""
    kernel_spreads = []
    for name, value in single.items():
        if not np.issubdtype(np.asarray(value).dtype, np.floating):  # step and iteration counts
            np.testing.assert_array_equal(chief[name], value, err_msg=f"step {at}: {name}")
            continue
        # The root mean square of |chief - single| within 8 x that of |XLA - TF kernels| of the
        # single-process run (the spread that summation order alone causes) plus 4 float32 ulps.
        # Noise-driven values (biases in front of an instance norm, whose true gradient is zero,
        # and their Adam moments) have a large spread and get a large bound.
        rms = lambda x: float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))  # noqa: E731
        spread = rms(xla[name] - value)
        bound = 8 * spread + 4 * rms(np.spacing(np.abs(value).astype(np.float32)))
        assert rms(chief[name] - value) <= bound, (f"step {at}: {name}: rms difference "
                                                   f"{rms(chief[name] - value):.3g} > {bound:.3g}")
        if "_trainable_variables" in name and np.ndim(value) == 4:  # a network's conv kernel
            kernel_spreads.append(spread)
    return kernel_spreads
