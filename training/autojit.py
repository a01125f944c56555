"""``--jit_compile=auto`` on a CPU: measure both compilations of the train step and keep the faster.

Whether XLA or TensorFlow's own kernels run a step faster depends on the CPU (XLA won by 30% on one
AMD EPYC and lost by 20% on an Intel CPU with AMX), so on a CPU the first call of the step compiles
it both ways, times a few steps of each after compilation (interleaved, the best of the repeats)
on the first real batch, puts every variable the step touches back as it was, and keeps the
faster. The two figures and the choice are logged, recorded in config.json's history by the loop,
and cached per machine and model shape (a JSON file in the user's cache directory), so that a
resumed run, or another run of the same shape, does not measure again.

A run too short to win back an XLA compilation (fewer than ``MEASURE_MIN_STEPS`` steps left) is
not measured: it runs TensorFlow's kernels, which compile in a fraction of XLA's time.
"""
import datetime
import hashlib
import json
import os
import time

from absl import logging
import tensorflow as tf

from training.cpu import cpu_model

MEASURE_MIN_STEPS = 500  # an XLA compile of a full-size step costs tens of steps; leave room
STEPS_PER_REPEAT = 2
REPEATS = 2
CACHE_NAME = "jit_compile.json"


def cache_path():
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "cyclegan-swapgan", CACHE_NAME)


def read_cache(path):
    try:
        with open(path, encoding="utf-8") as f:
            cache = json.load(f)
        return cache if isinstance(cache, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        logging.warning("%s: unreadable (%s); measuring again", path, e)
        return {}


def write_cache(path, key, entry):
    """Adds one decision, atomically (a reader never sees half a file); failures only warn."""
    try:
        cache = read_cache(path)
        cache[key] = entry
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(cache, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError as e:
        logging.warning("%s: the --jit_compile=auto decision was not cached (%s)", path, e)


def shape_key(machine, signature):
    """The cache key: the CPU model, TensorFlow's version and ``signature``, [the step's variables'
    (shape, dtype) in any order (a trace captures them in no fixed order), its inputs']."""
    variables, inputs = signature
    text = json.dumps([machine, tf.__version__, sorted(map(list, variables)), list(inputs)])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def decide(measure, *, remaining, key, cache_file, machine):
    """The decision record {'xla': bool, 'reason', ...}; ``measure() -> (tf s/step, xla s/step)``
    runs only when neither the cache nor a short run already decides."""
    cached = read_cache(cache_file).get(key)
    if isinstance(cached, dict) and isinstance(cached.get("xla"), bool):
        return {**cached, "reason": f"cached in {cache_file}"}
    if remaining < MEASURE_MIN_STEPS:
        return {"xla": False, "reason": f"{remaining} steps left, fewer than {MEASURE_MIN_STEPS}: "
                "not worth an XLA compilation; TensorFlow's kernels"}
    tf_s, xla_s = measure()
    entry = {"xla": bool(xla_s < tf_s), "tf_ms_per_step": round(1000 * tf_s, 2),
             "xla_ms_per_step": round(1000 * xla_s, 2), "cpu": machine,
             "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    write_cache(cache_file, key, entry)
    return {**entry, "reason": "measured"}


def describe(decision):
    choice = "XLA" if decision["xla"] else "TensorFlow's kernels"
    if "tf_ms_per_step" in decision:
        return (f"--jit_compile=auto: {choice} (TensorFlow's kernels {decision['tf_ms_per_step']:.1f} "
                f"ms/step, XLA {decision['xla_ms_per_step']:.1f} ms/step on {decision.get('cpu')}; "
                f"{decision['reason']})")
    return f"--jit_compile=auto: {choice} ({decision['reason']})"


class MeasuredJit:
    """A train step whose first call decides between XLA and TensorFlow's kernels (see above).

    ``remaining`` (steps this process will run) is set by the training loop before the first call;
    ``decision`` holds the record once made."""

    def __init__(self, step_fn, cache_file=None):
        self.plain = tf.function(step_fn, jit_compile=False)
        self.xla = tf.function(step_fn, jit_compile=True)
        self.cache_file = cache_file or cache_path()
        self.remaining = MEASURE_MIN_STEPS
        self.decision = None
        self._chosen = None

    def __call__(self, batch):
        if self._chosen is None:
            self._decide(batch)
        return self._chosen(batch)

    def _decide(self, batch):
        concrete = self.plain.get_concrete_function(batch)
        variables = list(concrete.variables)
        inputs = [(tuple(t.shape), t.dtype.name) for t in tf.nest.flatten(batch)]
        signature = [[(tuple(v.shape), v.dtype.name) for v in variables], inputs]
        machine = cpu_model()

        def measure():
            saved = [v.numpy() for v in variables]
            try:
                return _time_both(self.plain, self.xla, batch)
            finally:
                for v, value in zip(variables, saved):
                    v.assign(value)

        self.decision = decide(measure, remaining=self.remaining, key=shape_key(machine, signature),
                               cache_file=self.cache_file, machine=machine)
        logging.info(describe(self.decision))
        self._chosen = self.xla if self.decision["xla"] else self.plain


def _time_both(plain, xla, batch):
    """(TF kernels, XLA) seconds per step: each compiled and run once, then timed interleaved."""
    sync = lambda out: [float(v) for v in tf.nest.flatten(out)]  # noqa: E731 (waits for the step)
    for fn in (plain, xla):
        sync(fn(batch))
    best = {plain: float("inf"), xla: float("inf")}
    for _ in range(REPEATS):
        for fn in (plain, xla):
            t0 = time.perf_counter()
            for _ in range(STEPS_PER_REPEAT):
                out = fn(batch)
            sync(out)
            best[fn] = min(best[fn], (time.perf_counter() - t0) / STEPS_PER_REPEAT)
    return best[plain], best[xla]
