"""The reproduction planner: which steps, in which order, what a rerun skips or resumes."""
import io
import json
import os
import re

import pytest

from evaluation import plan as planner
from evaluation.reproduce import reproduce
from training.config import ConfigError


def fake_run(plan_step, step, total, **changed):
    """A workdir as the step's command leaves it: config.json with the config it builds (with
    ``changed`` fields replaced) and its length, checkpoint files up to ``step``."""
    import dataclasses

    from evaluation.reproduce import trainer_flags
    from evaluation.step_check import step_config
    config = dataclasses.replace(step_config(plan_step, "--cycle_flags", trainer_flags), **changed)
    trainer = {"training.cycle": "cycle", "training.fcn": "fcn"}[plan_step.module]
    workdir = plan_step.workdir
    os.makedirs(os.path.join(workdir, "checkpoints"), exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump({"trainer": trainer, "config": config.to_dict(), "total_steps": total}, f)
    if step:
        open(os.path.join(workdir, "checkpoints", f"ckpt-{step}.index"), "w").close()


def bare_run(workdir, trainer, step, total):
    """A workdir holding only what the planner reads: config.json with its length, checkpoints."""
    os.makedirs(os.path.join(workdir, "checkpoints"), exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump({"trainer": trainer, "config": {}, "total_steps": total}, f)
    if step:
        open(os.path.join(workdir, "checkpoints", f"ckpt-{step}.index"), "w").close()


def test_table_81_plan_trains_the_fcn_and_four_rows_then_writes_the_table(tmp_path):
    root, steps = planner.plan_table("8.1", "small", str(tmp_path), data_dir="/data/facades",
                                     overrides={"cycle": "--epochs=3 --ngf=8"})
    assert root == str(tmp_path / "table8.1-small")
    assert [s.name for s in steps] == ["fcn-facades", "facades/gan", "facades/vanilla", "facades/long",
                                       "facades/nest", "table"]
    long = steps[3]
    assert long.module == "training.cycle" and long.workdir == os.path.join(root, "facades", "long")
    args = list(long.args)
    assert args[0] == f"--flagfile={planner.preset_file('small', 'cycle')}"
    assert args.index("--epochs=3") > 0 and "--M=2" in args and "--data_dir=/data/facades" in args
    assert args[-1] == f"--workdir={long.workdir}"  # overrides come after the preset, the workdir last
    assert steps[0].module == "training.fcn" and "--epochs=3" not in steps[0].args
    assert steps[-1].workdir is None and f"--runs={os.path.join(root, 'facades')}" in steps[-1].args


def test_table_83_and_82_plans(tmp_path):
    _, steps = planner.plan_table("8.3", "tiny", str(tmp_path))
    assert [s.name for s in steps] == ["swapgan/i_iii", "swapgan/i_ii", "swapgan/full", "table"]
    assert "--generators=I,III" in steps[0].args and "--dataset=synthetic" in steps[0].args
    _, steps = planner.plan_table("8.2", "tiny", str(tmp_path), data_dir=str(tmp_path / "deepfashion"))
    assert [s.name for s in steps] == ["swapgan/full", "viton", "table"]
    assert "--dataset=deepfashion" in steps[0].args and steps[-1].module == "evaluation.table82"


def test_seeds_train_every_row_k_times_beside_the_seed_0_workdir(tmp_path):
    root, one = planner.plan_table("8.1", "tiny", str(tmp_path))
    _, three = planner.plan_table("8.1", "tiny", str(tmp_path), seeds=3,
                                  overrides={"cycle": "--seed=9"})
    assert [s.name for s in three] == ["fcn-facades"] + [
        f"facades/{v}{suffix}" for v in ("gan", "vanilla", "long", "nest")
        for suffix in ("", "-seed1", "-seed2")] + ["table"]
    by_name = {s.name: s for s in three}
    # seed 0 is today's step (existing runs stay valid); seed i adds --seed=i after the overrides
    assert by_name["facades/long"].args[:-1] == one[3].args[:-1] + ("--seed=9",)
    seed2 = by_name["facades/long-seed2"]
    assert seed2.workdir == os.path.join(root, "facades", "long-seed2")
    assert seed2.args[-2:] == ("--seed=2", f"--workdir={seed2.workdir}")
    assert seed2.args.index("--seed=9") < seed2.args.index("--seed=2")
    assert by_name["table"].args == one[-1].args  # the table finds the seed folders by name
    # one warm-up per row: seed i is estimated by seed 0's command
    assert seed2.estimate_as == by_name["facades/long"].command()
    assert by_name["facades/long"].estimate_as is None
    out = io.StringIO()
    reproduce("8.1", "tiny", str(tmp_path), dry_run=True, warmup=False, stream=out, seeds=2)
    assert "Table 8.1, preset tiny, 2 seeds per row: 10 steps in" in out.getvalue()
    assert "  7. facades/long-seed1: not started; estimate ?\n" in out.getvalue()
    _, swap = planner.plan_table("8.2", "tiny", str(tmp_path), seeds=2)
    assert [s.name for s in swap] == ["swapgan/full", "swapgan/full-seed1", "viton", "viton-seed1",
                                      "table"]
    with pytest.raises(ConfigError, match=r"--seeds=0: must be >= 1"):
        planner.plan_table("8.3", "tiny", str(tmp_path), seeds=0)
    for name in ("long", "long-seed2", "long-seed10", "long-seedx", "longer-seed1", "long-seed3"):
        bare_run(str(tmp_path / "runs" / name), "cycle", 1, 1)
    os.remove(tmp_path / "runs" / "long-seed3" / "config.json")  # not a run (yet)
    assert planner.seed_workdirs(str(tmp_path / "runs" / "long")) == [
        str(tmp_path / "runs" / n) for n in ("long", "long-seed2", "long-seed10")]


def test_status_of_finished_interrupted_and_missing_steps(tmp_path):
    _, steps = planner.plan_table("8.1", "tiny", str(tmp_path))
    fake_run(steps[1], 6, 6)
    fake_run(steps[2], 3, 6)
    fake_run(steps[3], 0, 6)
    assert planner.step_status(steps[1]) == ("done", 6, 6)
    assert planner.step_status(steps[2]) == ("partial", 3, 6)
    assert planner.step_status(steps[3]) == ("todo", 0, 6)
    assert planner.step_status(steps[4]) == ("todo", 0, None)
    assert planner.step_status(steps[5])[0] == "always"
    out = io.StringIO()
    reproduce("8.1", "tiny", str(tmp_path), dry_run=True, warmup=False, stream=out)
    text = out.getvalue()
    assert "facades/gan: done (6 steps)" in text and "facades/vanilla: resumes at step 3 of 6" in text
    assert "facades/nest: not started" in text and "python -m training.cycle --flagfile=" in text
    assert not os.path.exists(os.path.join(str(tmp_path), "table8.1-tiny", "fcn-facades"))


def test_unknown_presets_and_tables_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"--preset=huge: no .*huge.fcn\.flags"):
        planner.plan_table("8.1", "huge", str(tmp_path))
    with pytest.raises(ConfigError, match=r"--table=9\.9"):
        planner.plan_table("9.9", "tiny", str(tmp_path))
    custom = tmp_path / "mine"
    custom.mkdir()
    for trainer in ("cycle", "fcn"):
        (custom / f"{trainer}.flags").write_text("--max_steps=1\n")
    root, steps = planner.plan_table("8.1", str(custom), str(tmp_path))
    assert root.endswith("table8.1-mine") and steps[1].args[0] == f"--flagfile={custom / 'cycle.flags'}"


def test_durations_read_naturally():
    assert [planner.duration(s) for s in (None, 0.2, 20, 59.4, 90, 59 * 60, 3 * 3600 + 5 * 60)] == [
        "?", "1 s", "20 s", "59 s", "2 min", "59 min", "3 h 05 min"]


@pytest.mark.e2e
def test_tiny_table_81_end_to_end_and_an_interrupted_reproduction_resumes(tmp_path, facades):
    import subprocess
    import sys

    from tests.conftest import REPO
    data = tmp_path / "facades"
    for split in ("trainA", "trainB", "testA", "testB"):
        (data / split).mkdir(parents=True)
        for name in sorted(os.listdir(os.path.join(facades, split)))[:4]:
            os.symlink(os.path.join(facades, split, name), data / split / name)
    command = [sys.executable, "-m", "evaluation.reproduce", "--table=8.1", "--preset=tiny",
               f"--out={tmp_path / 'repro'}", f"--data_dir={data}"]
    first = subprocess.run(command + ["--nowarmup"], cwd=REPO, capture_output=True, text=True,
                           timeout=1200)
    assert first.returncode == 0, first.stderr[-3000:]
    root = tmp_path / "repro" / "table8.1-tiny"
    table = (root / "table81.md").read_text()
    assert "| Nest CycleGAN | " in table and "(0.49)" in table and "| Oracle | " in table
    assert "[6/6] table: done" in first.stdout
    # an interruption of the last run: its final checkpoint never got written
    for f in os.listdir(root / "facades" / "nest" / "checkpoints"):
        if f.startswith("ckpt-6"):
            os.remove(root / "facades" / "nest" / "checkpoints" / f)
    (root / "table81.md").unlink()
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert again.returncode == 0, again.stderr[-3000:]
    out = again.stdout
    assert re.search(r"facades/nest: resumes at step 3 of 6; estimate \d+ (s|min)\n", out)  # a warm-up
    assert "facades/long: done (6 steps)\n" in out  # nothing left to estimate
    assert "[2/6] facades/gan: already done, skipped" in out and "[5/6] facades/nest: running" in out
    assert (root / "table81.md").exists()
    assert json.load(open(root / "facades" / "nest" / "config.json"))["total_steps"] == 6
    single = json.load(open(root / "table81.json"))["datasets"]["facades"]
    long = single["rows"][2]
    assert len(long["seeds"]) == 1 and set(long["interval"]) == {"per_pixel_acc", "per_class_acc",
                                                                  "class_iou"}
    # --seeds=K: planned in test_seeds_train_every_row_k_times_beside_the_seed_0_workdir, tables of
    # several seeds in test_fcn_score.py and test_tables.py (a full second-seed reproduction would
    # double this test's cost).


def test_a_rerun_with_other_settings_is_refused_with_the_differences(tmp_path):
    out = str(tmp_path / "repro")
    _, steps = planner.plan_table("8.1", "tiny", out, data_dir="/data/facades")
    for step in steps[:-1]:
        fake_run(step, 6, 6)
    text = io.StringIO()  # the same command: everything is done, nothing refused
    reproduce("8.1", "tiny", out, data_dir="/data/facades", dry_run=True, stream=text)
    assert "facades/nest: done (6 steps)" in text.getvalue()
    with pytest.raises(ConfigError) as e:
        reproduce("8.1", "tiny", out, data_dir="/data/facades", dry_run=True,
                  overrides={"cycle": "--ngf=16"})
    message = str(e.value)
    assert "facades/gan" in message and "--ngf: 8 in config.json, 16 now" in message
    assert "fcn-facades" not in message and "another --out" in message
    with pytest.raises(ConfigError, match=r"--data_dir: '/data/facades' in config.json, "
                                          r"'/elsewhere' now"):
        reproduce("8.1", "tiny", out, data_dir="/elsewhere", dry_run=True)
    # logging cadence may change on a resume, as the trainers allow
    reproduce("8.1", "tiny", out, data_dir="/data/facades", dry_run=True,
              overrides={"cycle": "--log_every=1"}, stream=io.StringIO())


def test_a_bad_flag_names_the_flag_the_file_and_the_step(tmp_path):
    custom = tmp_path / "mine"
    custom.mkdir()
    (custom / "fcn.flags").write_text("--max_steps=1\n")
    (custom / "cycle.flags").write_text("--max_steps=1\n--ngff=8\n")
    with pytest.raises(ConfigError, match=r"step facades/gan: .*mine/cycle\.flags: .*ngff"):
        reproduce("8.1", str(custom), str(tmp_path), dry_run=True)
    (custom / "cycle.flags").write_text("--max_steps=1\n")
    with pytest.raises(ConfigError, match=r"step fcn-facades: --fcn_flags: .*max_steps.*abc"):
        reproduce("8.1", str(custom), str(tmp_path), dry_run=True, overrides={"fcn": "--max_steps=abc"})


def test_a_dry_run_starts_nothing_and_a_bad_cache_is_estimated_again(tmp_path, monkeypatch):
    from evaluation import reproduce as module

    def no_process(*args, **kwargs):
        raise AssertionError("a process was started")

    monkeypatch.setattr(module.subprocess, "Popen", no_process)
    root = tmp_path / "table8.3-tiny"
    root.mkdir()
    (root / "estimates.json").write_text('{"python -m training.swapgan": {"seconds_per')
    text = io.StringIO()
    reproduce("8.3", "tiny", str(tmp_path), dry_run=True, warmup=True, stream=text)
    assert "estimates.json: unreadable" in text.getvalue() and "estimating again" in text.getvalue()
    assert "total estimate: ? (+ steps without an estimate)" in text.getvalue()
    assert "a dry run starts no warm-up" in text.getvalue()
    # a real run measures again and writes the cache whole (atomically)
    _, steps = planner.plan_table("8.3", "tiny", str(tmp_path))
    monkeypatch.setattr(module, "measure", lambda step, scratch: (0.5, 4))
    times = module.estimates(str(root), steps, warmup=True, stream=io.StringIO())
    assert times["swapgan/full"] == 2.0 and times["table"] is None
    cache = json.loads((root / "estimates.json").read_text())
    assert cache[steps[0].command()] == {"seconds_per_step": 0.5, "total_steps": 4}
    assert os.listdir(root) == ["estimates.json"]
    text = io.StringIO()  # a dry run uses what was measured before
    reproduce("8.3", "tiny", str(tmp_path), dry_run=True, stream=text)
    assert "swapgan/i_iii: not started; estimate 2 s" in text.getvalue()



def test_a_warm_up_estimate_ignores_compilation_and_one_slow_interval():
    from evaluation.reproduce import seconds_per_step

    # steps 2..10 every 2 steps at 0.1 s/step, but the interval 6 -> 8 took 4 s (a retrace)
    times = {2: 30.0, 4: 30.2, 6: 30.4, 8: 34.4, 10: 34.6}
    records = [{"step": k, "time": t} for k, t in times.items()]
    assert seconds_per_step(records) == pytest.approx(0.1)  # the mean would say 0.575
    assert seconds_per_step(records[:3]) == pytest.approx(0.1)
    assert seconds_per_step(records[2:4]) == pytest.approx(2.0)  # one interval: that interval


CHILD = """
import signal, sys, time
def stop(signum, frame):
    time.sleep(1.5)  # a checkpoint that takes its time
    open(sys.argv[1], "w").write(signal.Signals(signum).name)
    sys.exit(128 + signum)
signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
open(sys.argv[1] + ".started", "w").close()
time.sleep(60)
"""


@pytest.mark.parametrize("signum", [2, 15])
def test_a_signal_is_passed_to_the_step_and_its_checkpoint_awaited(tmp_path, signum):
    import sys
    import threading
    import time

    from evaluation.reproduce import Signals
    saved = tmp_path / "saved"

    def interrupt():
        deadline = time.time() + 30
        while not os.path.exists(f"{saved}.started") and time.time() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signum)  # the reproduction only: the step has its own process group

    threading.Thread(target=interrupt, daemon=True).start()
    start = time.time()
    with Signals() as signals:
        code = signals.run([sys.executable, "-c", CHILD, str(saved)])
    assert code == 128 + signum and signals.signum == signum
    assert saved.read_text() == ("SIGINT" if signum == 2 else "SIGTERM")
    assert 1.5 <= time.time() - start < 30


@pytest.mark.e2e
def test_sigterm_stops_the_running_trainer_after_its_checkpoint_and_leaves_no_orphan(tmp_path,
                                                                                      facades):
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO
    data = tmp_path / "facades"
    for split in ("trainA", "trainB", "testA", "testB"):
        (data / split).mkdir(parents=True)
        for name in sorted(os.listdir(os.path.join(facades, split)))[:4]:
            os.symlink(os.path.join(facades, split, name), data / split / name)
    preset = tmp_path / "long"
    preset.mkdir()
    (preset / "fcn.flags").write_text("--image_size=32\n--width=4\n--fc_width=16\n--batch_size=2\n"
                                      "--max_steps=100000\n--nojit_compile\n--log_every=1\n"
                                      "--sample_every=100000\n--checkpoint_every=100000\n")
    (preset / "cycle.flags").write_text("--max_steps=1\n")
    proc = subprocess.Popen([sys.executable, "-m", "evaluation.reproduce", "--table=8.1",
                             f"--preset={preset}", f"--out={tmp_path / 'repro'}",
                             f"--data_dir={data}", "--nowarmup"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workdir = tmp_path / "repro" / "table8.1-long" / "fcn-facades"
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            metrics = workdir / "metrics.jsonl"
            if metrics.exists() and len(metrics.read_text().splitlines()) >= 2:
                break
            time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        trainer = int((workdir / ".lock").read_text())
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=300)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert "fcn-facades: interrupted (SIGTERM); rerun the same command to continue" in output
    assert any(f.startswith("ckpt-") for f in os.listdir(workdir / "checkpoints"))
    with pytest.raises(ProcessLookupError):  # the trainer ended with the reproduction
        os.kill(trainer, 0)
