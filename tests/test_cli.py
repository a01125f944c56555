"""The command line end to end on the real facades at 32 px: train, resume, infer, benchmark."""
import json
import os
import signal
import subprocess
import sys
import time

import cv2
import pytest

from tests.conftest import REPO

VARIANTS = {"gan": [], "vanilla": [], "long": ["--M=2"], "nest": ["--M=2", "--N=2"]}
# One one-step-per-direction and one chained variant through the command line; every variant's
# step is checked in-process (test_train_step.py), and four concurrent trainings cost minutes.
TRAINED = ("vanilla", "nest")
TINY_FLAGS = ["--image_size=32", "--ngf=8", "--ndf=8", "--n_blocks=2"]


def _command(module, *args):
    return [sys.executable, "-m", module, *args]


def _run(module, *args, timeout=600):
    return subprocess.run(_command(module, *args), cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def _train_args(workdir, facades, variant, *extra):
    return [f"--variant={variant}", *VARIANTS[variant], "--dataset=unpaired", f"--data_dir={facades}",
            *TINY_FLAGS, "--max_steps=3", "--log_every=2", "--sample_every=3", "--checkpoint_every=2",
            f"--workdir={workdir}", *extra]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, facades):
    """The TRAINED variants trained for 3 steps, concurrently (compilation dominates)."""
    root = tmp_path_factory.mktemp("cli")
    procs = {v: subprocess.Popen(_command("training.cycle", *_train_args(root / v, facades, v)), cwd=REPO,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for v in TRAINED}
    results = {}
    for v, p in procs.items():
        out, err = p.communicate(timeout=900)
        results[v] = (p.returncode, out, err)
    return root, results


@pytest.mark.e2e
@pytest.mark.parametrize("variant", TRAINED)
def test_training_writes_the_whole_workdir(trained, variant):
    root, results = trained
    code, _, err = results[variant]
    assert code == 0, err[-3000:]
    workdir = root / variant
    config = json.loads((workdir / "config.json").read_text())
    assert config["trainer"] == "cycle" and config["config"]["variant"] == variant
    assert f"--variant={variant}" in (workdir / "flags.txt").read_text().splitlines()
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 3]  # every --log_every steps and the final step
    expected = {"g/adv_a", "g/adv_b", "g/total", "d/real_a", "d/fake_a", "d/real_b", "d/fake_b", "d/total"}
    if variant != "gan":
        expected |= {"g/cycle_a", "g/cycle_b"}
    if variant == "nest":
        expected |= {"g/inner_a", "g/inner_b", "g/sim"}
    assert expected <= set(records[-1])
    assert sorted(os.listdir(workdir / "checkpoints")) == sorted(
        ["checkpoint", "ckpt-2.index", "ckpt-2.data-00000-of-00001", "ckpt-3.index", "ckpt-3.data-00000-of-00001"])
    grid = cv2.imread(str(workdir / "samples" / "a_step0000003.png"))
    M = 2 if variant in ("long", "nest") else 1
    columns = 1 + M + (0 if variant == "gan" else M)  # input, chain outputs, return-chain outputs
    header = grid.shape[0] - (4 * 34 + 2)  # --num_samples=4 rows under a band of column labels
    assert grid.shape[1] == columns * 34 + 2 and 8 <= header <= 20
    assert (grid[:header, 2:34] < 128).any()  # the label of the input column is drawn
    assert (workdir / "samples" / "b_step0000003.png").exists()
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(workdir / "tensorboard"))
    assert "step 3/3" in err  # the progress line


@pytest.mark.e2e
def test_rerunning_a_finished_run_says_so(trained, facades):
    root, _ = trained
    result = _run("training.cycle", *_train_args(root / "nest", facades, "nest"))
    assert result.returncode == 0
    assert "finished (step 3 of 3); nothing to do" in result.stderr


@pytest.mark.e2e
def test_rerunning_with_other_settings_is_refused(trained, facades):
    root, _ = trained
    result = _run("training.cycle", *_train_args(root / "vanilla", facades, "vanilla", "--lambda_cycle=5"))
    assert result.returncode == 2
    assert "--lambda_cycle: 10.0 in" in result.stderr and "choose another --workdir" in result.stderr


@pytest.mark.e2e
def test_translate_writes_one_image_per_input(trained, facades, tmp_path):
    root, _ = trained
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in sorted(os.listdir(os.path.join(facades, "testB")))[:3]:
        os.symlink(os.path.join(facades, "testB", name), inputs / name)
    result = _run("evaluation.translate", f"--workdir={root / 'nest'}", f"--input={inputs}",
                  "--direction=b2a", "--intermediate", f"--output={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr[-2000:]
    written = sorted(os.listdir(tmp_path / "out"))
    assert written == sorted([n.replace(".png", ".png") for n in os.listdir(inputs)] + ["intermediate"])
    assert cv2.imread(str(tmp_path / "out" / written[0])).shape == (32, 32, 3)
    assert len(os.listdir(tmp_path / "out" / "intermediate")) == 3
    missing = _run("evaluation.translate", f"--workdir={tmp_path / 'none'}", f"--input={inputs}")
    assert missing.returncode == 2 and "config.json: not found" in missing.stderr


@pytest.mark.parametrize("args,message", [
    (["--M=0"], "error: --M=0: must be >= 1"),
    (["--variant=vanilla", "--N=3"], "error: --N=3: --variant=vanilla has one generator per direction"),
    (["--image_size=30"], "error: --image_size=30: must be a multiple of 4"),
    (["extra_argument"], "unexpected arguments: extra_argument"),
])
def test_bad_command_lines_fail_clearly_and_write_nothing(tmp_path, args, message):
    # Refused before TensorFlow loads, so each of these processes takes well under a second (a
    # missing --data_dir, found by the trainer, is checked in-process in test_data.py).
    result = _run("training.cycle", f"--workdir={tmp_path / 'w'}", *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "w").exists()


@pytest.mark.e2e
def test_sigterm_stops_after_the_step_with_a_checkpoint_and_status_143(tmp_path, facades):
    workdir = tmp_path / "w"
    args = _train_args(workdir, facades, "gan", "--jit_compile=false")
    args = [a for a in args if not a.startswith(("--max_steps", "--log_every"))] + [
        "--max_steps=100000", "--log_every=1"]
    proc = subprocess.Popen(_command("training.cycle", *args), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    metrics = workdir / "metrics.jsonl"
    deadline = time.time() + 300
    while not (metrics.exists() and metrics.read_text().count("\n") >= 2) and time.time() < deadline:
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err[-2000:]
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert "SIGTERM received" in err and f"interrupted at step {steps[-1]}" in err
    assert (workdir / "checkpoints" / f"ckpt-{steps[-1]}.index").exists()
    assert steps == list(range(1, steps[-1] + 1))  # every step up to the checkpoint is logged


@pytest.mark.e2e
def test_offline_synthetic_run(tmp_path):
    result = _run("training.cycle", "--dataset=synthetic", f"--data_dir={tmp_path / 'syn'}",
                  "--variant=long", *TINY_FLAGS, "--max_steps=2", f"--workdir={tmp_path / 'w'}",
                  "--jit_compile=false")
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(os.listdir(tmp_path / "syn" / "testB")) == 206
    assert (tmp_path / "w" / "checkpoints" / "ckpt-2.index").exists()
