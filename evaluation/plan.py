"""The steps that reproduce one thesis table, in order, and what each one still has to do.

A step is an ordinary command line on an ordinary workdir: training steps are
``python -m training.cycle`` / ``training.swapgan`` / ``training.viton`` / ``training.fcn``
runs, which resume and refuse changed settings on their own; the last step writes the table,
reusing cached scores. Reproducing a table is therefore running the plan's commands in order,
skipping the finished ones, and rerunning the reproduction continues where it stopped.

With --seeds=K every trained row is trained K times: seed 0 in the row's usual workdir, so that runs
made without --seeds stay valid, and seed i in ``<workdir>-seed<i>`` with ``--seed=i``; the table
steps find the seed folders by that name.

Presets are flagfiles shipped in ``evaluation/presets/<preset>/<trainer>.flags``; extra flags given
per trainer come after them on the command line and so override them.
"""
import dataclasses
import os
import re
import shlex
import sys

from training import registry
from training import workdir as wd
from training.config import ConfigError

PRESET_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "presets")
PRESETS = ("thesis", "small", "tiny")
TABLES = ("8.1", "8.2", "8.3")
MODULES = {name: trainer.command for name, trainer in registry.TRAINERS.items()}
CYCLE_ROWS = (("gan", []), ("vanilla", []), ("long", ["--M=2"]), ("nest", ["--M=2"]))
SWAP_ROWS = (("i_iii", "I,III"), ("i_ii", "I,II"), ("full", "I,II,III"))
SEED_FOLDER = re.compile(r"(?P<base>.+)-seed(?P<seed>[0-9]+)")  # seed i > 0 of a row's workdir
DEFAULT_DATA = {"8.1": "data/facades", "8.2": "data/synthetic-persons", "8.3": "data/synthetic-persons"}


@dataclasses.dataclass(frozen=True)
class Step:
    """One command of a plan. ``workdir`` is set for training steps (their progress lives there);
    ``estimate_as`` names the command whose warm-up estimates this one (seed i > 0 of a row runs
    at the speed of seed 0)."""

    name: str
    module: str
    args: tuple
    workdir: str | None = None
    estimate_as: str | None = None

    def argv(self):
        return [sys.executable, "-m", self.module, *self.args]

    def command(self):
        return " ".join(shlex.quote(a) for a in ["python", "-m", self.module, *self.args])


def preset_file(preset, trainer):
    """The flagfile of a preset for one trainer; ``preset`` may also be a folder of flagfiles."""
    folder = preset if os.path.isdir(preset) else os.path.join(PRESET_DIR, preset)
    path = os.path.join(folder, f"{trainer}.flags")
    if not os.path.isfile(path):
        known = ", ".join(PRESETS)
        raise ConfigError(f"--preset={preset}: no {path} (presets: {known}, or a folder holding "
                          f"<trainer>.flags files)")
    return path


def _table(name, module, preset, table, args, overrides):
    """The table step; a preset may hold ``table<t>.flags`` (e.g. a smaller protocol)."""
    folder = preset if os.path.isdir(preset) else os.path.join(PRESET_DIR, preset)
    flagfile = os.path.join(folder, f"table{table.replace('.', '')}.flags")
    preset_args = (f"--flagfile={flagfile}",) if os.path.isfile(flagfile) else ()
    return Step(name, module, (*preset_args, *args, *overrides.get("table", ())))


def _train(name, trainer, preset, workdir, extra, overrides, seeds=1):
    """The training steps of one row: seed 0 in ``workdir`` (the preset's seed), seed i > 0 in
    ``workdir``-seed<i> with --seed=i (after the overrides, so it wins)."""
    steps = []
    for seed in range(seeds):
        suffix, seed_args = (f"-seed{seed}", (f"--seed={seed}",)) if seed else ("", ())
        args = (f"--flagfile={preset_file(preset, trainer)}", *extra, *overrides.get(trainer, ()),
                *seed_args, f"--workdir={workdir}{suffix}")
        steps.append(Step(name + suffix, MODULES[trainer], args, workdir + suffix,
                          steps[0].command() if steps else None))
    return steps


def seed_workdirs(workdir):
    """[workdir, then its seed siblings <workdir>-seed<N> that hold a run (a config.json), in the
    order of N]."""
    parent, base = os.path.split(os.path.normpath(workdir))
    found = []
    for name in os.listdir(parent or ".") if os.path.isdir(parent or ".") else ():
        match = SEED_FOLDER.fullmatch(name)
        if match and match["base"] == base and \
                os.path.isfile(os.path.join(parent, name, wd.CONFIG_FILE)):
            found.append((int(match["seed"]), os.path.join(parent, name)))
    return [workdir] + [w for _, w in sorted(found)]


def plan_table(table, preset, out, data_dir=None, overrides=None, swap_dataset=None, seeds=1):
    """The steps reproducing ``table`` with ``preset`` under ``out``/table<table>-<preset>/, each
    trained row ``seeds`` times (``_train``; the FCN, the measuring instrument, once)."""
    if table not in TABLES:
        raise ConfigError(f"--table={table}: must be one of {', '.join(TABLES)}")
    if not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"--seeds={seeds}: must be >= 1")
    overrides = {k: tuple(shlex.split(v)) if isinstance(v, str) else tuple(v)
                 for k, v in (overrides or {}).items()}
    name = os.path.basename(os.path.normpath(preset)) if os.path.isdir(preset) else preset
    root = os.path.join(out, f"table{table}-{name}")
    data_dir = os.path.abspath(data_dir or DEFAULT_DATA[table])
    steps = []
    if table == "8.1":
        data = ["--dataset=unpaired", f"--data_dir={data_dir}"]
        fcn = os.path.join(root, "fcn-facades")
        runs = os.path.join(root, "facades")
        steps += _train("fcn-facades", "fcn", preset, fcn, data, overrides)
        for variant, extra in CYCLE_ROWS:
            steps += _train(f"facades/{variant}", "cycle", preset, os.path.join(runs, variant),
                            [f"--variant={variant}", *extra, *data], overrides, seeds)
        steps.append(_table("table", "evaluation.table81", preset, table,
                            (f"--fcn={fcn}", f"--runs={runs}", f"--out={root}"), overrides))
        return root, steps
    dataset = swap_dataset or ("synthetic" if data_dir.endswith("synthetic-persons") else "deepfashion")
    if swap_dataset is None and os.path.isfile(os.path.join(data_dir, "selection.json")):
        # a folder made by python -m datasets.prepare --name=deepfashion-swap
        dataset = "deepfashion-swap"
    data = [f"--dataset={dataset}", f"--data_dir={data_dir}"]
    runs = os.path.join(root, "swapgan")
    rows = SWAP_ROWS if table == "8.3" else SWAP_ROWS[-1:]
    for row, generators in rows:
        steps += _train(f"swapgan/{row}", "swapgan", preset, os.path.join(runs, row),
                        [f"--generators={generators}", *data], overrides, seeds)
    if table == "8.3":
        steps.append(_table("table", "evaluation.table83", preset, table,
                            (f"--runs={runs}", f"--out={root}"), overrides))
    else:
        viton = os.path.join(root, "viton")
        steps += _train("viton", "viton", preset, viton, data, overrides, seeds)
        steps.append(_table("table", "evaluation.table82", preset, table, (
            f"--swapgan={os.path.join(runs, 'full')}", f"--viton={viton}", f"--data_dir={data_dir}",
            f"--dataset={dataset}", f"--out={root}"), overrides))
    return root, steps


def step_status(step):
    """'done', 'partial' or 'todo' for a training step, with (step, total) when known;
    table steps always run (they reuse cached scores, so a rerun is cheap)."""
    if step.workdir is None:
        return "always", None, None
    if not os.path.isdir(step.workdir):
        return "todo", 0, None
    status = wd.run_status(step.workdir)
    if status["finished"]:
        return "done", status["step"], status["total_steps"]
    return ("partial" if status["step"] else "todo"), status["step"], status["total_steps"]


def duration(seconds):
    if seconds is None:
        return "?"
    if seconds < 59.5:
        return f"{max(round(seconds), 1)} s"
    minutes = int(round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
