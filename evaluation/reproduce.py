"""One command per thesis table: plan, estimate, then run every step in order.

    python -m evaluation.reproduce --table=8.1 --preset=small --data_dir=../shared/data/facades
    python -m evaluation.reproduce --table=8.3 --preset=tiny --dry_run
    python -m evaluation.reproduce --table=8.1 --preset=small --seeds=3

It prints the plan first (each step's command, what is already done, and an estimate of its time
on this machine from a short measured warm-up: the real command on a scratch workdir, stopped
with SIGTERM after a few logged steps), then runs what is left, one ordinary workdir per step.
Rerunning continues where it stopped: finished steps are skipped, interrupted ones resume.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags as absl_flags

from evaluation import plan as planner
from flags.common import run_main
from training import workdir as wd
from training.config import ConfigError

TRAINERS = ("cycle", "fcn", "swapgan", "viton", "table")


def measure(step, scratch, records=4, timeout=1800):
    """(seconds per step, total steps) of a training step from a warm-up on a scratch workdir."""
    workdir = os.path.join(scratch, step.name.replace("/", "_"))
    args = [a for a in step.args if not a.startswith("--workdir=")] + [
        f"--workdir={workdir}", "--log_every=2", "--checkpoint_every=1000000000",
        "--sample_every=1000000000"]
    proc = subprocess.Popen([sys.executable, "-m", step.module, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    metrics, deadline = wd.MetricsLog(workdir), time.time() + timeout
    try:
        while proc.poll() is None and time.time() < deadline:
            if len(metrics.records()) >= records:
                break
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate()
    seen = metrics.records()
    status = wd.run_status(workdir) if os.path.isdir(workdir) else {"total_steps": None}
    shutil.rmtree(workdir, ignore_errors=True)
    if len(seen) < 2:
        tail = err.strip().splitlines()[-1] if err.strip() else f"exit status {proc.returncode}"
        raise ConfigError(f"the warm-up of step {step.name} failed: {tail}")
    first, last = seen[0], seen[-1]  # the first interval holds compilation: leave it out
    per_step = (last["time"] - first["time"]) / max(last["step"] - first["step"], 1)
    return per_step, status["total_steps"]


def estimates(root, steps, warmup):
    """{step name: seconds left or None}, cached in <root>/estimates.json by command."""
    cache_file = os.path.join(root, "estimates.json")
    cache = json.load(open(cache_file, encoding="utf-8")) if os.path.exists(cache_file) else {}
    out = {}
    with tempfile.TemporaryDirectory(prefix="warmup-") as scratch:
        for step in steps:
            state, done, total = planner.step_status(step)
            if state in ("done", "always") or not warmup:
                out[step.name] = 0.0 if state == "done" else None
                continue
            key = step.estimate_as or step.command()
            if key not in cache:
                print(f"  measuring {step.name} (a few steps on a scratch workdir) ...", flush=True)
                per_step, measured_total = measure(step, scratch)
                cache[key] = {"seconds_per_step": per_step, "total_steps": measured_total}
                os.makedirs(root, exist_ok=True)
                with open(cache_file, "w", encoding="utf-8") as f:
                    json.dump(cache, f, indent=2)
            total = total or cache[key]["total_steps"]
            out[step.name] = cache[key]["seconds_per_step"] * max(total - (done or 0), 0)
    return out


def describe(step):
    state, done, total = planner.step_status(step)
    if state == "done":
        return f"done ({done} steps)"
    if state == "partial":
        return f"resumes at step {done} of {total}"
    return "runs every time (cached scores are reused)" if state == "always" else "not started"


def reproduce(table, preset, out, data_dir=None, overrides=None, dry_run=False, warmup=True,
              stream=sys.stdout, seeds=1):
    root, steps = planner.plan_table(table, preset, out, data_dir, overrides, seeds=seeds)
    print(f"Table {table}, preset {preset}{f', {seeds} seeds per row' if seeds > 1 else ''}: "
          f"{len(steps)} steps in {root}", file=stream)
    times = estimates(root, steps, warmup)
    for i, step in enumerate(steps, start=1):
        left = "" if times[step.name] == 0.0 else f"; estimate {planner.duration(times[step.name])}"
        print(f"  {i}. {step.name}: {describe(step)}{left}\n     {step.command()}", file=stream)
    known = [t for t in times.values() if t is not None]
    print(f"  total estimate: {planner.duration(sum(known)) if known else '?'}"
          f"{'' if len(known) == len(times) else ' (+ steps without an estimate)'}", file=stream,
          flush=True)
    if dry_run:
        return root
    for i, step in enumerate(steps, start=1):
        if planner.step_status(step)[0] == "done":
            print(f"[{i}/{len(steps)}] {step.name}: already done, skipped", file=stream, flush=True)
            continue
        print(f"[{i}/{len(steps)}] {step.name}: running (estimate {planner.duration(times[step.name])})",
              file=stream, flush=True)
        start = time.time()
        code = subprocess.run(step.argv()).returncode
        if code in (128 + signal.SIGINT, 128 + signal.SIGTERM):
            print(f"[{i}/{len(steps)}] {step.name}: interrupted; rerun the same command to continue",
                  file=stream, flush=True)
            raise KeyboardInterrupt
        if code:
            raise ConfigError(f"step {step.name} failed (exit status {code}): {step.command()}")
        print(f"[{i}/{len(steps)}] {step.name}: done in {planner.duration(time.time() - start)}",
              file=stream, flush=True)
    print(f"Table {table} written under {root}", file=stream)
    return root


def main(argv):
    fv = absl_flags.FLAGS
    overrides = {t: fv[f"{t}_flags"].value for t in TRAINERS if fv[f"{t}_flags"].value}
    run_main(lambda: reproduce(fv.table, fv.preset, fv.out, fv.data_dir, overrides, fv.dry_run,
                               fv.warmup, seeds=fv.seeds), argv)


if __name__ == "__main__":
    absl_flags.DEFINE_enum("table", None, planner.TABLES, "Which thesis table.", required=True)
    absl_flags.DEFINE_string("preset", "small", "thesis (the thesis settings; GPU work), small "
                             "(reduced, about 2 h on 2 CPU cores), tiny (minutes), or a folder of "
                             "<trainer>.flags files.")
    absl_flags.DEFINE_string("out", "runs/repro", "Root of the reproduction's workdirs.")
    absl_flags.DEFINE_string("data_dir", None, "Dataset root (8.1: CMP facades, unpaired layout; "
                             "8.2/8.3: the DeepFashion layout; default: data/facades or the built-in "
                             "synthetic persons).")
    absl_flags.DEFINE_boolean("dry_run", False, "Print the plan and estimates only.")
    absl_flags.DEFINE_integer("seeds", 1, "Train each row with this many seeds (seed i > 0 in "
                              "<workdir>-seed<i>); the tables report mean ± std over seeds.")
    absl_flags.DEFINE_boolean("warmup", True, "Estimate each step's time from a short warm-up.")
    for trainer in TRAINERS:
        absl_flags.DEFINE_string(f"{trainer}_flags", None, f"Extra flags for every {trainer} "
                                 "command, after (so overriding) the preset's, e.g. \"--epochs=5\".")
    app.run(main)
