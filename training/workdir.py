"""The on-disk contract of a run (documented in WORKSPACE.md): its layout, the exclusive lock, the
recorded settings and data, and metrics.jsonl.

Every check that can refuse a run happens before the first byte is written, so a refused or
corrected rerun finds the workdir as it was.
"""
import contextlib
import datetime
import errno
import fcntl
import json
import os
import shutil

from training.checkpoints import CHECKPOINT_DIR, human_bytes, steps_on_disk  # noqa: F401 (CHECKPOINT_DIR: layout)
from training.config import RESUMABLE_FIELDS, ConfigError

CONFIG_FILE = "config.json"
FLAGS_FILE = "flags.txt"
METRICS_FILE = "metrics.jsonl"
LOCK_FILE = ".lock"
TENSORBOARD_DIR = "tensorboard"
SAMPLES_DIR = "samples"
RESULTS_DIR = "results"
# Fields --extend may change: the length of the run, from which the schedule is recomputed.
EXTENDABLE_FIELDS = frozenset({"epochs", "decay_epochs", "max_steps"})


def path(workdir, name):
    return os.path.join(workdir, name)


def _atomic_write(filename, text):
    tmp = filename + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, filename)


def _saved(workdir):
    filename = path(workdir, CONFIG_FILE)
    try:
        with open(filename, encoding="utf-8") as f:
            saved = json.load(f)
        if not isinstance(saved, dict) or not isinstance(saved.get("config"), dict):
            raise KeyError("config")
        return saved
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{filename}: unreadable config ({e})") from e


def read_config(workdir, config_cls, trainer):
    """The config a run was started with; errors name the file."""
    filename = path(workdir, CONFIG_FILE)
    if not os.path.exists(filename):
        raise ConfigError(f"{filename}: not found; is {workdir} a training workdir?")
    saved = _saved(workdir)
    if saved.get("trainer") != trainer:
        raise ConfigError(f"{filename}: a {saved.get('trainer')!r} run, not a {trainer!r} run")
    try:
        return config_cls.from_dict(saved["config"])
    except TypeError as e:
        raise ConfigError(f"{filename}: unreadable config ({e})") from e


def read_trainer(workdir):
    """Which trainer wrote a workdir ('cycle', 'swapgan', ...); errors name the file."""
    if not os.path.exists(path(workdir, CONFIG_FILE)):
        raise ConfigError(f"{path(workdir, CONFIG_FILE)}: not found; is {workdir} a training workdir?")
    return _saved(workdir).get("trainer")


def check_location(workdir):
    """Refuses a workdir that is a file or cannot be written, before anything is created."""
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise ConfigError(f"--workdir={workdir}: is a file, not a folder")
    probe = workdir
    while not os.path.exists(probe):
        parent = os.path.dirname(os.path.abspath(probe))
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise ConfigError(f"--workdir={workdir}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"--workdir={workdir}: {probe} is not writable")


@contextlib.contextmanager
def locked(workdir):
    """Holds an exclusive lock on the workdir for one process; released on any exit.

    flock locks die with their process, so a crashed run never leaves a stale lock behind.
    """
    check_location(workdir)
    try:
        os.makedirs(workdir, exist_ok=True)
        fd = os.open(path(workdir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise ConfigError(f"--workdir={workdir}: cannot be written ({e.strerror})") from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise ConfigError(f"--workdir={workdir}: another process (pid {holder}) is training "
                              "in it; wait for it to finish or stop it first") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def check_disk(workdir, needed_bytes, have_bytes=None):
    """Refuses to start when the checkpoints (size x (keep + 1)) do not fit on the disk."""
    have = shutil.disk_usage(workdir).free if have_bytes is None else have_bytes
    if have < needed_bytes:
        raise ConfigError(f"--workdir={workdir}: {human_bytes(have)} free on its disk, the run's "
                          f"checkpoints need about {human_bytes(needed_bytes)} (one checkpoint x "
                          "(--keep_checkpoints + 1)); free space or lower --keep_checkpoints")


def flag_lines(config):
    """The flagfile of a config: one line per flag that applies to it."""
    return "".join(f"--{k}={str(v).lower() if isinstance(v, bool) else v}\n"
                   for k, v in config.flag_items())


def record(workdir, config, trainer, data=None, extend=False, total_steps=None):
    """Writes config.json / flags.txt, or checks that a rerun asks for the same computation.

    A rerun may change only RESUMABLE_FIELDS (logging cadence, XLA); with ``extend`` also the
    length of the run (EXTENDABLE_FIELDS), which is logged in the file's "history". Anything else,
    or data whose fingerprint changed, raises a ConfigError listing the differences.
    ``data`` is a JSON-able description of the input files (counts and a fingerprint);
    ``total_steps`` the run's length, so that tools can tell a finished run from its files alone.
    """
    filename = path(workdir, CONFIG_FILE)
    current = config.to_dict()
    entry = {"trainer": trainer, "config": current, "data": data, "total_steps": total_steps,
             "history": []}
    if os.path.exists(filename):
        saved = _saved(workdir)
        if saved.get("trainer") != trainer:
            raise ConfigError(f"{filename}: a {saved.get('trainer')!r} run, not a {trainer!r} run; "
                              "choose another --workdir")
        before = read_config(workdir, type(config), trainer).to_dict()
        allowed = RESUMABLE_FIELDS | (EXTENDABLE_FIELDS if extend else frozenset())
        diffs = [f"--{k}: {before[k]!r} in {filename}, {current[k]!r} now" for k in current
                 if k not in allowed and before.get(k) != current[k]]
        if diffs:
            hint = (" (--epochs, --decay_epochs and --max_steps may change with --extend)"
                    if any(k in EXTENDABLE_FIELDS and before.get(k) != current[k] for k in current)
                    else "")
            raise ConfigError(f"{workdir} holds a run with other settings; resume it with the same "
                              f"flags{hint} or choose another --workdir.\n  " + "\n  ".join(diffs))
        if data is not None and saved.get("data") not in (None, data):
            raise ConfigError(f"{workdir}: the training data changed since the run started, so it "
                              "cannot resume exactly.\n  " + "\n  ".join(_data_diffs(saved["data"], data))
                              + "\nRestore the data, or train in a new --workdir.")
        entry["history"] = saved.get("history", [])
        changed = {k: [before[k], current[k]] for k in EXTENDABLE_FIELDS if before.get(k) != current[k]}
        if changed:
            entry["history"].append({"extended": changed, "time": _now()})
    _atomic_write(filename, json.dumps(entry, indent=2) + "\n")
    _atomic_write(path(workdir, FLAGS_FILE), flag_lines(config))


def append_history(workdir, entry):
    """Adds ``entry`` (with the time) to config.json's history, e.g. a --jit_compile=auto choice."""
    saved = _saved(workdir)
    saved.setdefault("history", []).append({**entry, "time": _now()})
    _atomic_write(path(workdir, CONFIG_FILE), json.dumps(saved, indent=2) + "\n")


def run_status(workdir):
    """{'trainer', 'step', 'total_steps', 'finished'} of a workdir from its files; 'step' is the
    newest checkpoint's (0 when none), total_steps None when the workdir has no config.json."""
    steps = steps_on_disk(workdir)
    step = steps[-1] if steps else 0
    if not os.path.exists(path(workdir, CONFIG_FILE)):
        return {"trainer": None, "step": step, "total_steps": None, "finished": False}
    saved = _saved(workdir)
    total = saved.get("total_steps")
    return {"trainer": saved.get("trainer"), "step": step, "total_steps": total,
            "finished": bool(total) and step >= total}


def _data_diffs(before, now):
    def describe(value):
        if isinstance(value, dict) and "files" in value:
            return f"{value['files']} files (fingerprint {value.get('sha256', '?')})"
        return "absent" if value is None else repr(value)

    keys = sorted(set(before) | set(now))
    return [f"{k}: {describe(before.get(k))} when the run started, {describe(now.get(k))} now"
            for k in keys if before.get(k) != now.get(k)]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class MetricsLog:
    """metrics.jsonl: one JSON object per logged step."""

    def __init__(self, workdir):
        self.filename = path(workdir, METRICS_FILE)

    def _read(self):
        """(records, number of unreadable lines)."""
        if not os.path.exists(self.filename):
            return [], 0
        records, torn = [], 0
        with open(self.filename, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    record = json.loads(line)
                    if isinstance(record, dict) and isinstance(record.get("step"), int):
                        records.append(record)
                        continue
                except json.JSONDecodeError:
                    pass
                torn += 1  # a line cut short by a crash; the resumed run rewrites that step
        return records, torn

    def records(self):
        return self._read()[0]

    def truncate_after(self, step):
        """Keeps the readable records up to the restored checkpoint; a resumed run redoes the rest.

        Also drops lines cut short by a crash, so the next record starts on a line of its own.
        """
        records, torn = self._read()
        kept = [r for r in records if r["step"] <= step]
        if torn or len(kept) != len(records):
            _atomic_write(self.filename, "".join(json.dumps(r) + "\n" for r in kept))

    def append(self, record):
        with open(self.filename, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
