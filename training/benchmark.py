"""Throughput of CycleGAN-family train steps: ours (TensorFlow or JAX) against a PyTorch reference.

    python -m training.benchmark --variant=long --image_size=128 --batch_size=1 [--xla=both]
    python -m training.benchmark --variant=vanilla --backend=jax --reference=torch [--precision=bfloat16]

Random inputs (no data loading), full-size networks unless --ngf/--ndf/--n_blocks say otherwise.
Each mode is compiled and warmed up first; only the timed steps count. Per mode it prints images/s,
ms/step, the first step (trace + compile + run) and peak memory: on a GPU the framework's own
figure (TF get_memory_info, JAX memory_stats, torch max_memory_allocated); on a CPU the growth of
the resident set from just before the model is built to its peak over the timed steps.
``--reference=torch`` adds the official CycleGAN step in PyTorch eager mode
(training/torch_reference.py) on the same inputs, and the ratio ours / reference of images/s.

Keras fixes its backend when first imported, and the flags import keras (flags.cycle ->
training.config -> models.cycle) before absl has parsed anything. So this module reads --backend
from sys.argv itself, first, and sets KERAS_BACKEND; with --backend=jax no TensorFlow is imported.
"""
import gc
import os
import sys
import time

KERAS_BACKENDS = {"tf": "tensorflow", "jax": "jax"}


def _argv_backend(argv):
    """The value of the last --backend in argv (absl's own syntax: --backend=x or --backend x)."""
    backend = "tf"
    for i, arg in enumerate(argv):
        if arg.startswith("--backend="):
            backend = arg.split("=", 1)[1]
        elif arg == "--backend" and i + 1 < len(argv):
            backend = argv[i + 1]
    return backend


if "keras" not in sys.modules and _argv_backend(sys.argv[1:]) in KERAS_BACKENDS:
    os.environ["KERAS_BACKEND"] = KERAS_BACKENDS[_argv_backend(sys.argv[1:])]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # JAX beside torch on one GPU

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from flags.common import refuse_positional_args  # noqa: E402
from flags.cycle import cycle_config, define_cycle_flags  # noqa: E402
from training.config import ConfigError  # noqa: E402

define_cycle_flags()
absl_flags.DEFINE_enum("backend", "tf", list(KERAS_BACKENDS), "Our train step: tf (training/"
                       "cycle_step.py) or jax (training/jax_step.py; imports no TensorFlow).")
absl_flags.DEFINE_enum("reference", "none", ["none", "torch"], "Also time the official CycleGAN "
                       "step in PyTorch eager mode and print ours / reference.")
absl_flags.DEFINE_boolean("verify_reference", False, "After timing, port our initial weights into "
                          "the torch reference and print how far its images and losses are from ours.")
absl_flags.DEFINE_integer("steps", 10, "Timed steps per mode.")
absl_flags.DEFINE_integer("warmup", 2, "Untimed steps per mode after compilation.")
absl_flags.DEFINE_enum("xla", "default", ["default", "both", "on", "off"], "Which modes to time "
                       "(tf backend): default is --jit_compile's choice (auto: XLA on GPUs only).")
# --precision (float32, mixed_bfloat16, mixed_float16) is the trainers' flag; the JAX step and the
# torch reference take float32 and mixed_bfloat16.
OTHER_PRECISIONS = {"float32": "float32", "mixed_bfloat16": "bfloat16"}


def _size(n):
    return f"{n / 2 ** 30:.2f} GiB" if n >= 2 ** 30 else f"{n / 2 ** 20:.0f} MiB"


class RssMemory:
    """CPU: peak resident set over the timed steps minus the resident set before the build. The peak
    is reset through /proc/self/clear_refs; where that is refused it is the process's peak."""

    label = "peak RSS growth"

    def __init__(self):
        gc.collect()
        self.base = self._status("VmRSS")

    @staticmethod
    def _status(key):
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))

    def reset_peak(self):
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
                f.write("5")
        except OSError:
            self.label = "peak RSS growth (process peak)"

    def peak(self):
        return self._status("VmHWM") - self.base


class DeviceMemory:
    """A framework's own peak on an accelerator, through the callables it offers."""

    def __init__(self, label, reset, peak):
        self.label, self.reset_peak, self.peak = label, reset, peak


def _measure(label, build, memory, steps, warmup, batch):
    """Times ``run = build()`` (run() -> metrics dict with 'g/total'): first call, then ``steps``."""
    run, extra = build()
    sync = lambda out: float(out["g/total"])  # noqa: E731  (a host read waits for the device)
    t0 = time.perf_counter()
    sync(run())
    first = time.perf_counter() - t0
    for _ in range(warmup):
        out = run()
    if warmup:
        sync(out)
    memory.reset_peak()
    t0 = time.perf_counter()
    for _ in range(steps):
        out = run()
    sync(out)
    per_step = (time.perf_counter() - t0) / steps
    return {"label": label, "first_step_s": first + extra.get("compile_s", 0.0), "step_s": per_step,
            "images_per_second": batch / per_step, "memory": memory.peak(),
            "memory_label": memory.label, "note": extra.get("note", "")}


def _inputs(config):
    rng = np.random.default_rng(0)
    shape = (config.batch_size, config.image_size, config.image_size, 3)
    return {k: rng.uniform(-1.0, 1.0, shape).astype(np.float32) for k in "ab"}


def tf_rows(config, steps, warmup, jit_modes):
    import tensorflow as tf

    from training.cycle_step import make_cycle_train_step
    from training.cycle_trainer import build_state

    gpu = bool(tf.config.list_logical_devices("GPU"))
    inputs = {k: tf.constant(v) for k, v in _inputs(config).items()}
    rows = []
    for jit in jit_modes:
        memory = (DeviceMemory("peak GPU memory (TF allocator)",
                               lambda: tf.config.experimental.reset_memory_stats("GPU:0"),
                               lambda: tf.config.experimental.get_memory_info("GPU:0")["peak"])
                  if gpu else RssMemory())

        def build(jit=jit):
            state = build_state(config, total_steps=steps + warmup + 1)
            step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer,
                                         state.pool_a, state.pool_b, state.step, config, jit_compile=jit)
            return (lambda: step(inputs)), {}

        rows.append(_measure("XLA on " if jit else "XLA off", build, memory, steps, warmup,
                             config.batch_size))
    return rows


def tf_device():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
        return f"TensorFlow {tf.__version__}, GPU:0 {name}"
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    return f"TensorFlow {tf.__version__}, CPU ({threads} threads)"


def jax_rows(config, steps, warmup, precision):
    import jax

    from training import jax_step

    device = jax.devices()[0]
    memory = (DeviceMemory("peak device memory (JAX, whole process)", lambda: None,
                           lambda: device.memory_stats()["peak_bytes_in_use"])
              if device.platform != "cpu" else RssMemory())

    def build():
        model = jax_step.init(config, steps + warmup + 1, precision)
        step = jax_step.make_jax_train_step(model.nets, model.g_optimizer, model.d_optimizer, config)
        batch = {k: jax.device_put(v) for k, v in _inputs(config).items()}
        t0 = time.perf_counter()
        compiled = step.lower(model.state, batch).compile()
        compile_s = time.perf_counter() - t0
        plan = compiled.memory_analysis()
        note = (f"XLA plan: arguments {_size(plan.argument_size_in_bytes)}, temporaries "
                f"{_size(plan.temp_size_in_bytes)}" if plan is not None else "")
        holder = {"state": model.state}

        def run():
            holder["state"], metrics = compiled(holder["state"], batch)
            return metrics

        return run, {"compile_s": compile_s, "note": note}

    return [_measure("JAX jit", build, memory, steps, warmup, config.batch_size)]


def jax_device():
    import jax

    d = jax.devices()[0]
    return f"JAX {jax.__version__}, {d.platform}:{d.id} {d.device_kind}"


def torch_rows(config, steps, warmup, precision):
    import torch

    from training.torch_reference import CycleReference, to_torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    memory = (DeviceMemory("peak CUDA memory (torch allocator)", torch.cuda.reset_peak_memory_stats,
                           torch.cuda.max_memory_allocated) if device == "cuda" else RssMemory())

    def build():
        ref = CycleReference(config.variant, config.M, config.N, config.ngf, config.ndf,
                             config.n_blocks, config.share_weights, config.lambda_cycle,
                             config.lambda_sim, config.lambda_identity, config.pool_size,
                             device=device, precision=precision, seed=config.seed)
        a, b = (to_torch(v, device) for v in _inputs(config).values())
        return (lambda: ref.step(a, b)), {}

    return [_measure("torch eager", build, memory, steps, warmup, config.batch_size)]


def torch_device():
    import torch

    if torch.cuda.is_available():
        return f"PyTorch {torch.__version__}, cuda:0 {torch.cuda.get_device_name(0)}"
    return f"PyTorch {torch.__version__}, CPU ({torch.get_num_threads()} threads)"


def verify_reference(config):
    """Max differences between our nets and the torch reference holding the same weights."""
    import torch

    from models.cycle import build_cycle_nets
    from training.torch_reference import compare_with_keras

    nets = build_cycle_nets(M=config.M, N=config.N, ngf=config.ngf, ndf=config.ndf,
                            n_blocks=config.n_blocks, share_weights=config.share_weights,
                            seed=config.seed)
    inputs = _inputs(config)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return compare_with_keras(nets, config, inputs["a"], inputs["b"], device=device)


def _format(row):
    memory = f"{row['memory_label']} {_size(row['memory'])}"
    note = f"; {row['note']}" if row["note"] else ""
    return (f"  {row['label'] + ':':<12} {row['images_per_second']:8.2f} images/s "
            f"({1000 * row['step_s']:.1f} ms/step; first step incl. compile {row['first_step_s']:.1f} s; "
            f"{memory}{note})")


def run(fv):
    """Checks the flags, prints the header, times every mode and prints the rows and ratios."""
    config = cycle_config(fv)
    if keras.backend.backend() != KERAS_BACKENDS[fv.backend]:
        raise ConfigError(f"--backend={fv.backend}: keras was imported with the "
                          f"{keras.backend.backend()} backend before training.benchmark could choose")
    precision = OTHER_PRECISIONS.get(config.precision)
    if precision is None and (fv.backend == "jax" or fv.reference == "torch"):
        raise ConfigError(f"--precision={config.precision}: the JAX step and the torch reference "
                          "run float32 or mixed_bfloat16")
    if fv.verify_reference and fv.reference != "torch":
        raise ConfigError("--verify_reference needs --reference=torch")
    if fv.reference == "torch":
        try:
            import torch  # noqa: F401
        except ImportError as e:
            raise ConfigError("--reference=torch needs PyTorch: pip install -e .[bench]") from e
    ours_device = tf_device() if fv.backend == "tf" else jax_device()
    print(f"{config.variant} M={config.M} N={config.N} image_size={config.image_size} "
          f"batch_size={config.batch_size} ngf={config.ngf} ndf={config.ndf} n_blocks={config.n_blocks} "
          f"precision={config.precision}; {fv.steps} timed steps after {fv.warmup} warm-up; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"  ours ({fv.backend}): Keras {keras.__version__} on {ours_device}")
    if fv.reference == "torch":
        print(f"  reference: official CycleGAN step, eager, {torch_device()}")
    if fv.backend == "tf":
        from training.devices import use_xla  # noqa: PLC0415 (TensorFlow: the tf backend only)
        modes = {"both": (True, False), "on": (True,), "off": (False,),
                 "default": (use_xla(config.jit_compile),)}[fv.xla]
        rows = tf_rows(config, fv.steps, fv.warmup, modes)
    else:
        rows = jax_rows(config, fv.steps, fv.warmup, precision)
    for row in rows:
        print(_format(row))
    if fv.reference == "torch":
        (ref,) = torch_rows(config, fv.steps, fv.warmup, precision)
        print(_format(ref))
        print("  ours / reference (images/s): " + ", ".join(
            f"{row['label'].strip()} {row['images_per_second'] / ref['images_per_second']:.2f}x"
            for row in rows))
    if fv.verify_reference:  # last, so that its allocations stay out of the peaks above
        diffs = verify_reference(config)
        print(f"  reference check, same weights, max |ours - torch|: images {diffs.pop('images'):.2e}, "
              f"loss terms {max(diffs.values()):.2e}")


def main(argv):
    refuse_positional_args(argv)
    try:
        run(absl_flags.FLAGS)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    app.run(main)
