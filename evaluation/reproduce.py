"""One command per thesis table: plan, estimate, then run every step in order.

    python -m evaluation.reproduce --table=8.1 --preset=small --data_dir=../shared/data/facades
    python -m evaluation.reproduce --table=8.3 --preset=tiny --dry_run
    python -m evaluation.reproduce --table=8.1 --preset=small --seeds=3

It prints the plan first (each step's command, what is already done, and an estimate of its time
on this machine from a short measured warm-up: the real command on a scratch workdir, stopped
with SIGTERM after a few logged steps), then runs what is left, one ordinary workdir per step.
Rerunning continues where it stopped: finished steps are skipped, interrupted ones resume.
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
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
from evaluation.report import write_report
from evaluation.step_check import check_steps
from flags.common import run_main
from training import registry
from training import workdir as wd
from training.config import ConfigError
from training.signals import Interrupted, SignalScope

TRAINERS = ("cycle", "fcn", "swapgan", "viton", "table")
CACHE_FILE = "estimates.json"


class Signals(SignalScope):
    """While a reproduction runs, SIGINT and SIGTERM go to the step that is running (started in its
    own process group, so a terminal's Ctrl-C reaches it once, through here): its own handler
    checkpoints and exits, and the reproduction waits for that however long it takes. With no step
    running (planning, a warm-up) they interrupt at once; a warm-up's scratch run is stopped."""

    def __init__(self):
        super().__init__()
        self.child = None

    def _handle(self, signum, frame):
        if self.child is not None and self.child.poll() is None:
            self.signum = self.signum or signum
            self.child.send_signal(signum)  # a second one stops the trainer at once, as its own does
            return
        raise Interrupted(signum)

    def run(self, argv):
        """Runs ``argv`` to its end, passing signals on; returns its exit status."""
        self.child = subprocess.Popen(argv, **child_options())
        try:
            return self.child.wait()
        finally:
            self.child = None


def trainer_flags(module):
    """(trainer name, define(fv), config(fv), config class) of a training module, for the checks of
    ``evaluation.step_check`` (the flags are this entry point's to import)."""
    trainer = registry.of_command(module)
    return (trainer.name, *trainer.flag_functions(), trainer.config)


def _die_with_parent():
    """In the child: SIGTERM when the reproduction dies without passing a signal on (SIGKILL), so
    that no trainer is left running without it (Linux only; elsewhere a no-op)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def child_options():
    return {"process_group": 0, "preexec_fn": _die_with_parent if sys.platform == "linux" else None}


def seconds_per_step(records):
    """Seconds per step from logged {step, time} records: the median over the intervals between
    consecutive records, leaving out everything before the first record (compilation). A median,
    so that one slow interval (a retrace, or another job taking the cores for a moment) does not
    multiply a whole run's estimate."""
    rates = sorted((b["time"] - a["time"]) / max(b["step"] - a["step"], 1)
                   for a, b in zip(records, records[1:]))
    middle = len(rates) // 2
    return rates[middle] if len(rates) % 2 else (rates[middle - 1] + rates[middle]) / 2


def measure(step, scratch, records=6, timeout=1800):
    """(seconds per step, total steps) of a training step from a warm-up on a scratch workdir."""
    workdir = os.path.join(scratch, step.name.replace("/", "_"))
    args = [a for a in step.args if not a.startswith("--workdir=")] + [
        f"--workdir={workdir}", "--log_every=2", "--checkpoint_every=1000000000",
        "--sample_every=1000000000"]
    proc = subprocess.Popen([sys.executable, "-m", step.module, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, **child_options())
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
    return seconds_per_step(seen), status["total_steps"]


def read_cache(cache_file, stream=sys.stdout):
    """The cached estimates {command: {seconds_per_step, total_steps}}; a bad file is reported and
    ignored (its steps are estimated again)."""
    if not os.path.exists(cache_file):
        return {}
    try:
        with open(cache_file, encoding="utf-8") as f:
            cache = json.load(f)
        if not isinstance(cache, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("seconds_per_step"), (int, float))
                for v in cache.values()):
            raise ValueError("not a map of commands to estimates")
    except (OSError, ValueError) as e:
        print(f"warning: {cache_file}: unreadable ({e}); estimating again", file=stream, flush=True)
        return {}
    return cache


def write_cache(cache_file, cache):
    os.makedirs(os.path.dirname(cache_file), exist_ok=True)
    wd._atomic_write(cache_file, json.dumps(cache, indent=2) + "\n")


def estimates(root, steps, warmup, stream=sys.stdout):
    """{step name: seconds left or None}, cached in <root>/estimates.json by command. Without
    ``warmup`` nothing is started: steps never measured get None."""
    cache_file = os.path.join(root, CACHE_FILE)
    cache = read_cache(cache_file, stream)
    out = {}
    with tempfile.TemporaryDirectory(prefix="warmup-") as scratch:
        for step in steps:
            state, done, total = planner.step_status(step)
            key = step.estimate_as or step.command()  # seed i runs at seed 0's speed
            if state == "done":
                out[step.name] = 0.0
                continue
            if state == "always" or (key not in cache and not warmup):
                out[step.name] = None
                continue
            if key not in cache:
                print(f"  measuring {step.name} (a few steps on a scratch workdir) ...", file=stream,
                      flush=True)
                per_step, measured_total = measure(step, scratch)
                cache[key] = {"seconds_per_step": per_step, "total_steps": measured_total}
                write_cache(cache_file, cache)
            total = total or cache[key].get("total_steps")
            out[step.name] = (None if total is None
                              else cache[key]["seconds_per_step"] * max(total - (done or 0), 0))
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
    """Plans, checks, estimates and runs a table (module doc); a dry run starts nothing."""
    root, steps = planner.plan_table(table, preset, out, data_dir, overrides, seeds=seeds)
    check_steps(root, steps, {module: f"--{trainer}_flags"
                              for trainer, module in planner.MODULES.items()}, trainer_flags)
    with Signals() as signals:
        return _reproduce(table, preset, root, steps, dry_run, warmup, stream, signals, seeds)


def _reproduce(table, preset, root, steps, dry_run, warmup, stream, signals, seeds=1):
    print(f"Table {table}, preset {preset}{f', {seeds} seeds per row' if seeds > 1 else ''}: "
          f"{len(steps)} steps in {root}", file=stream)
    times = estimates(root, steps, warmup and not dry_run, stream)
    for i, step in enumerate(steps, start=1):
        left = "" if times[step.name] == 0.0 else f"; estimate {planner.duration(times[step.name])}"
        print(f"  {i}. {step.name}: {describe(step)}{left}\n     {step.command()}", file=stream)
    known = [t for t in times.values() if t is not None]
    print(f"  total estimate: {planner.duration(sum(known)) if known else '?'}"
          f"{'' if len(known) == len(times) else ' (+ steps without an estimate)'}", file=stream,
          flush=True)
    if dry_run:
        if any(s.workdir and times[s.name] is None for s in steps):
            print("  (a dry run starts no warm-up: steps never measured have no estimate)",
                  file=stream)
        return root
    for i, step in enumerate(steps, start=1):
        if planner.step_status(step)[0] == "done":
            print(f"[{i}/{len(steps)}] {step.name}: already done, skipped", file=stream, flush=True)
            continue
        print(f"[{i}/{len(steps)}] {step.name}: running (estimate {planner.duration(times[step.name])})",
              file=stream, flush=True)
        start = time.time()
        code = signals.run(step.argv())
        stops = (signal.SIGINT, signal.SIGTERM)
        signum = signals.signum or next((s for s in stops if code in (128 + s, -s)), None)
        if signum:
            print(f"[{i}/{len(steps)}] {step.name}: interrupted ({signal.Signals(signum).name}); "
                  "rerun the same command to continue", file=stream, flush=True)
            raise Interrupted(signum)
        if code:
            status = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            raise ConfigError(f"step {step.name} failed ({status}): {step.command()}")
        print(f"[{i}/{len(steps)}] {step.name}: done in {planner.duration(time.time() - start)}",
              file=stream, flush=True)
    print(f"Table {table} written under {root}", file=stream)
    report = write_report(os.path.dirname(root), {root: [s.command() for s in steps]})
    print(f"Report: {report}", file=stream)
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
    absl_flags.DEFINE_boolean("dry_run", False, "Print the plan (and estimates measured earlier) "
                              "only; starts nothing.")
    absl_flags.DEFINE_integer("seeds", 1, "Train each row with this many seeds (seed i > 0 in "
                              "<workdir>-seed<i>); the tables report mean ± std over seeds.")
    absl_flags.DEFINE_boolean("warmup", True, "Estimate each step's time from a short warm-up.")
    for trainer in TRAINERS:
        example = ('"--max_references=100" (Tables 8.2 and 8.3)' if trainer == "table"
                   else '"--epochs=5"')
        absl_flags.DEFINE_string(f"{trainer}_flags", None, f"Extra flags for every {trainer} "
                                 f"command, after (so overriding) the preset's, e.g. {example}.")
    app.run(main)
