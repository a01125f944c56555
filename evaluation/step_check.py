"""Checks of a reproduction's training steps made before anything runs.

Each step's command line is parsed in-process by its trainer's own flag definitions, so that a bad
flag in a preset file (or in --<trainer>_flags) is reported with the flag, the file and the step,
and the config it builds is compared with the config.json of a workdir that already holds a run:
a finished step would otherwise be skipped with other settings than the plan asks for.
"""
import json
import os

from absl import flags as absl_flags

from training import workdir as wd
from training.config import RESUMABLE_FIELDS, ConfigError


def _parse(module, args, trainer_flags):
    _, define, make, _ = trainer_flags(module)
    fv = absl_flags.FlagValues()
    define(fv)
    fv([module, *args])
    return make(fv)


def step_config(step, extra_flag, trainer_flags):
    """The config a training step's command builds; a ConfigError naming the bad flag, the file
    (the preset's flagfile, or ``extra_flag``, where the user's extra flags came from) and the step.
    ``trainer_flags(module)``: (trainer, define(fv), config(fv), config class) of its trainer."""
    preset = [a for a in step.args if a.startswith("--flagfile=")]
    try:
        return _parse(step.module, step.args, trainer_flags)
    except (absl_flags.Error, ConfigError) as e:
        source = extra_flag
        try:
            _parse(step.module, preset, trainer_flags)
        except (absl_flags.Error, ConfigError):
            source = ", ".join(a.split("=", 1)[1] for a in preset) or extra_flag
        raise ConfigError(f"step {step.name}: {source}: {e}") from e


def settings_diffs(step, config, trainer_flags):
    """How the run already in ``step.workdir`` differs from ``config`` (empty if none, or if the
    workdir holds no run yet). Fields a resumed run may change (logging cadence, XLA) are left out."""
    filename = wd.path(step.workdir, wd.CONFIG_FILE)
    if not os.path.isfile(filename):
        return []
    trainer, _, _, config_cls = trainer_flags(step.module)
    try:
        with open(filename, encoding="utf-8") as f:
            saved = json.load(f)
        if saved.get("trainer") != trainer:
            return [f"a {saved.get('trainer')!r} run, not a {trainer!r} run"]
        before = config_cls.from_dict(saved["config"]).to_dict()
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ConfigError) as e:
        return [f"{filename}: unreadable ({e})"]
    now = config.to_dict()
    return [f"--{k}: {before.get(k)!r} in config.json, {now[k]!r} now" for k in now
            if k not in RESUMABLE_FIELDS and before.get(k) != now[k]]


def check_steps(root, steps, extra_flags, trainer_flags):
    """Parses every training step and refuses a plan whose workdirs hold runs of other settings,
    listing every difference and how to start over. ``extra_flags``: {module: flag name};
    ``trainer_flags`` as in ``step_config`` (given by the entry point: only it imports flags/)."""
    changed = []
    for step in steps:
        if step.workdir is None:
            continue
        config = step_config(step, extra_flags.get(step.module, "the step's flags"), trainer_flags)
        diffs = settings_diffs(step, config, trainer_flags)
        if diffs:
            changed.append(f"{step.name} ({step.workdir}):\n    " + "\n    ".join(diffs))
    if changed:
        raise ConfigError(
            f"{root} holds runs made with other settings than this command asks for:\n  "
            + "\n  ".join(changed) + "\nRerun with the settings they were made with (each "
            "workdir's flags.txt), or start over: remove those workdirs, or pass another --out.")
