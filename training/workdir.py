"""The on-disk layout of a run (documented in WORKSPACE.md) and its config bookkeeping."""
import json
import os

from training.config import RESUMABLE_FIELDS, ConfigError

CONFIG_FILE = "config.json"
FLAGS_FILE = "flags.txt"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"
TENSORBOARD_DIR = "tensorboard"
SAMPLES_DIR = "samples"
RESULTS_DIR = "results"


def path(workdir, name):
    return os.path.join(workdir, name)


def _atomic_write(filename, text):
    tmp = filename + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, filename)


def read_config(workdir, config_cls, trainer):
    """The config a run was started with; errors name the file."""
    filename = path(workdir, CONFIG_FILE)
    if not os.path.exists(filename):
        raise ConfigError(f"{filename}: not found; is {workdir} a training workdir?")
    try:
        with open(filename, encoding="utf-8") as f:
            saved = json.load(f)
        if saved.get("trainer") != trainer:
            raise ConfigError(f"{filename}: a {saved.get('trainer')!r} run, not a {trainer!r} run")
        return config_cls.from_dict(saved["config"])
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ConfigError(f"{filename}: unreadable config ({e})") from e


def prepare(workdir, config, trainer):
    """Creates the workdir, or checks that a rerun asks for the same computation.

    A rerun may change only RESUMABLE_FIELDS (logging cadence, XLA); anything else raises a
    ConfigError listing the differences, so a resumed run never silently mixes settings.
    """
    os.makedirs(workdir, exist_ok=True)
    filename = path(workdir, CONFIG_FILE)
    current = config.to_dict()
    if os.path.exists(filename):
        saved = read_config(workdir, type(config), trainer).to_dict()
        diffs = [f"--{k}: {saved[k]!r} in {filename}, {current[k]!r} now" for k in current
                 if k not in RESUMABLE_FIELDS and saved.get(k) != current[k]]
        if diffs:
            raise ConfigError(f"{workdir} holds a run with other settings; resume it with the same "
                              "flags or choose another --workdir.\n  " + "\n  ".join(diffs))
    _atomic_write(filename, json.dumps({"trainer": trainer, "config": current}, indent=2) + "\n")
    _atomic_write(path(workdir, FLAGS_FILE), "".join(
        f"--{k}={str(v).lower() if isinstance(v, bool) else v}\n" for k, v in current.items()))


class MetricsLog:
    """metrics.jsonl: one JSON object per logged step."""

    def __init__(self, workdir):
        self.filename = path(workdir, METRICS_FILE)

    def records(self):
        if not os.path.exists(self.filename):
            return []
        records = []
        with open(self.filename, encoding="utf-8") as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a line cut short by a crash; the resumed run rewrites that step
        return records

    def truncate_after(self, step):
        """Drops records newer than the restored checkpoint, which a resumed run will redo."""
        records = self.records()
        kept = [r for r in records if r["step"] <= step]
        if len(kept) != len(records):
            _atomic_write(self.filename, "".join(json.dumps(r) + "\n" for r in kept))

    def append(self, record):
        with open(self.filename, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
