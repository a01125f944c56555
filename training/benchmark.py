"""Throughput of CycleGAN-family train steps: ours (TensorFlow or JAX) against a PyTorch reference.

    python -m training.benchmark --variant=long --image_size=128 --batch_size=1 [--xla=both]
    python -m training.benchmark --variant=vanilla --backend=jax --reference=torch [--precision=mixed_bfloat16]

Random inputs (no data loading), full-size networks unless --ngf/--ndf/--n_blocks say otherwise.
Each side (ours with XLA on or off, or JAX; the reference) is compiled and warmed up first, then
all sides are timed round robin, --repeats times --steps steps, each block after --pause seconds of
idle; medians are reported. Per side it prints images/s, ms/step, the first step (trace + compile
+ run), GFLOP/s and its share of the CPU's estimated fp32 peak (training/step_flops.py,
training/cpu.py), and peak memory: on a GPU the framework's own figure (TF get_memory_info, JAX
memory_stats, torch max_memory_allocated); on a CPU the growth of the resident set.
``--reference=torch`` adds the official CycleGAN step in PyTorch eager mode
(training/torch_reference.py) on the same inputs, on as many threads, and the ratio ours /
reference of images/s per precision: with --precision=mixed_bfloat16 both sides are also timed in
float32, and the reference's bf16 side runs under torch.autocast. A ratio whose repeats differ by
more than 20% is flagged.

Keras fixes its backend when first imported, and the flags import keras (flags.cycle ->
training.config -> models.cycle) before absl has parsed anything. So this module reads --backend
from sys.argv itself, first, and sets KERAS_BACKEND; with --backend=jax no TensorFlow is imported.
"""
import dataclasses
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
from flags import bootstrap  # noqa: E402, F401 (first: quiets TensorFlow's start-up logging)

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # JAX beside torch on one GPU

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from flags.common import run_main  # noqa: E402
from flags.cycle import cycle_config, define_cycle_flags  # noqa: E402
from training.bench_memory import DeviceMemory, RssMemory  # noqa: E402
from training.bench_memory import size as _size  # noqa: E402
from training.config import ConfigError  # noqa: E402
from training.cpu import cores  # noqa: E402

define_cycle_flags()
absl_flags.DEFINE_enum("backend", "tf", list(KERAS_BACKENDS), "Our train step: tf (training/"
                       "cycle_step.py) or jax (training/jax_step.py; imports no TensorFlow).")
absl_flags.DEFINE_enum("reference", "none", ["none", "torch"], "Also time the official CycleGAN "
                       "step in PyTorch eager mode and print ours / reference.")
absl_flags.DEFINE_boolean("verify_reference", False, "After timing, port our initial weights into "
                          "the torch reference and print how far its images and losses are from ours.")
absl_flags.DEFINE_integer("steps", 10, "Timed steps per side and repeat.", lower_bound=1)
absl_flags.DEFINE_integer("warmup", 2, "Untimed steps per side after compilation.", lower_bound=0)
absl_flags.DEFINE_integer("repeats", 3, "Timed repeats per side, interleaved round robin; the "
                          "median is reported, and ratios whose repeats disagree are flagged.",
                          lower_bound=1)
absl_flags.DEFINE_float("pause", 0.5, "Seconds of idle before each timed repeat, so that the other "
                        "side's threads have stopped spinning.", lower_bound=0.0)
absl_flags.DEFINE_enum("xla", "default", ["default", "both", "on", "off"], "Which modes to time "
                       "(tf backend): default is --jit_compile's choice (auto: XLA on GPUs; on a "
                       "CPU both, as a training run measures both and keeps the faster).")
# --precision (float32, mixed_bfloat16, mixed_float16) is the trainers' flag; the JAX step and the
# torch reference take float32 and mixed_bfloat16.
OTHER_PRECISIONS = {"float32": "float32", "mixed_bfloat16": "bfloat16"}
SHORT = {"float32": "fp32", "mixed_bfloat16": "bf16", "mixed_float16": "fp16"}
DISAGREEMENT = 1.2  # repeats whose ratios differ by more than 20% do not give one ratio


def _build(label, build, memory, warmup, batch, precision):
    """Compiles and warms up one side: ``run = build()`` (run() -> metrics with 'g/total')."""
    run, extra = build()
    t0 = time.perf_counter()
    _sync(run())
    first = time.perf_counter() - t0
    for _ in range(warmup):
        out = run()
    if warmup:
        _sync(out)
    return {"label": label, "run": run, "memory": memory, "batch": batch, "precision": precision,
            "first_step_s": first + extra.get("compile_s", 0.0), "note": extra.get("note", ""),
            "flops": extra.get("flops"), "times": []}


def _sync(out):
    return float(out["g/total"])  # a host read waits for the device


def _time_interleaved(sides, steps, repeats, pause):
    """Times every side ``repeats`` times, round robin, each after ``pause`` seconds of idle (so
    that neither framework's threads still spin while the other runs); the median is kept."""
    for r in range(repeats):
        for side in sides:
            time.sleep(pause)
            if r == 0:
                side["memory"].reset_peak()
            t0 = time.perf_counter()
            for _ in range(steps):
                out = side["run"]()
            _sync(out)
            side["times"].append((time.perf_counter() - t0) / steps)
            if r == 0:
                side["peak"] = side["memory"].peak()
    for side in sides:
        side["step_s"] = float(np.median(side["times"]))
        side["images_per_second"] = side["batch"] / side["step_s"]


def _inputs(config):
    rng = np.random.default_rng(0)
    shape = (config.batch_size, config.image_size, config.image_size, 3)
    return {k: rng.uniform(-1.0, 1.0, shape).astype(np.float32) for k in "ab"}


def tf_sides(config, length, warmup, jit_modes, precisions):
    import tensorflow as tf

    from training.cycle_step import make_cycle_train_step
    from training.cycle_trainer import build_state
    from training.step_flops import tf_step_flops

    gpu = bool(tf.config.list_logical_devices("GPU"))
    inputs = {k: tf.constant(v) for k, v in _inputs(config).items()}
    sides = []
    for precision in precisions:
        for jit in jit_modes:
            memory = (DeviceMemory("peak GPU memory (TF allocator)",
                                   lambda: tf.config.experimental.reset_memory_stats("GPU:0"),
                                   lambda: tf.config.experimental.get_memory_info("GPU:0")["peak"])
                      if gpu else RssMemory())

            def build(jit=jit, precision=precision):
                side_config = dataclasses.replace(config, precision=precision)
                state = build_state(side_config, total_steps=length)
                step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer,
                                             state.pool_a, state.pool_b, state.step, side_config,
                                             jit_compile=jit)
                return (lambda: step(inputs)), {"flops": tf_step_flops(step, inputs)}

            label = ("XLA on" if jit else "XLA off") + _precision_suffix(precision, precisions)
            sides.append(_build(label, build, memory, warmup, config.batch_size, precision))
    return sides


def _precision_suffix(precision, precisions):
    return "" if len(precisions) == 1 else f", {SHORT[precision]}"


def tf_device():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
        return f"TensorFlow {tf.__version__}, GPU:0 {name}"
    threads = tf.config.threading.get_intra_op_parallelism_threads() or cores()
    return f"TensorFlow {tf.__version__}, CPU ({threads} threads)"


def jax_sides(config, length, warmup, precisions):
    import jax

    from training import jax_step
    from training.step_flops import jax_step_flops

    device = jax.devices()[0]
    sides = []
    for precision in precisions:
        memory = (DeviceMemory("peak device memory (JAX, whole process)", lambda: None,
                               lambda: device.memory_stats()["peak_bytes_in_use"])
                  if device.platform != "cpu" else RssMemory())

        def build(precision=precision):
            model = jax_step.init(config, length, OTHER_PRECISIONS[precision])
            step = jax_step.make_jax_train_step(model.nets, model.g_optimizer, model.d_optimizer,
                                                config)
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

            return run, {"compile_s": compile_s, "note": note, "flops": jax_step_flops(compiled)}

        label = "JAX jit" + _precision_suffix(precision, precisions)
        sides.append(_build(label, build, memory, warmup, config.batch_size, precision))
    return sides


def jax_device():
    import jax

    d = jax.devices()[0]
    return f"JAX {jax.__version__}, {d.platform}:{d.id} {d.device_kind}"


def torch_sides(config, length, warmup, precisions):
    """The official step in eager mode; bfloat16 is torch.autocast on the step's device."""
    import torch

    from training.torch_reference import CycleReference, to_torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(cores())  # as many as TensorFlow's and XLA's intra-op pools
    sides = []
    for precision in precisions:
        memory = (DeviceMemory("peak CUDA memory (torch allocator)",
                               torch.cuda.reset_peak_memory_stats, torch.cuda.max_memory_allocated)
                  if device == "cuda" else RssMemory())

        def build(precision=precision):
            ref = CycleReference(config.variant, config.M, config.N, config.ngf, config.ndf,
                                 config.n_blocks, config.share_weights, config.lambda_cycle,
                                 config.lambda_sim, config.lambda_identity, config.pool_size,
                                 device=device, precision=OTHER_PRECISIONS[precision],
                                 seed=config.seed)
            a, b = (to_torch(v, device) for v in _inputs(config).values())
            return (lambda: ref.step(a, b)), {}

        label = "torch eager" + ("" if precision == "float32" else f", autocast {device} bf16")
        sides.append(_build(label, build, memory, warmup, config.batch_size, precision))
    return sides


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


def _format(side, flops, peak):
    from training.step_flops import describe

    memory = f"{side['memory'].label} {_size(side['peak'])}"
    note = f"; {side['note']}" if side["note"] else ""
    spread = (f", repeats {min(side['times']) * 1000:.0f}-{max(side['times']) * 1000:.0f}"
              if len(side["times"]) > 1 else "")
    return (f"  {side['label'] + ':':<24} {side['images_per_second']:8.2f} images/s "
            f"({1000 * side['step_s']:.1f} ms/step median{spread}; first step incl. compile "
            f"{side['first_step_s']:.1f} s; {describe(side['flops'] or flops, side['step_s'], peak)}; "
            f"{memory}{note})")


def ratios(ours, reference, tolerance=DISAGREEMENT):
    """(median ratio of images/s ours / reference over the interleaved repeats, the repeats'
    ratios, whether they disagree by more than ``tolerance``)."""
    per_repeat = [r / o for o, r in zip(ours["times"], reference["times"])]
    low, high = min(per_repeat), max(per_repeat)
    return float(np.median(per_repeat)), per_repeat, high > low * tolerance


def _print_ratios(sides, refs):
    for ref in refs:
        line, flagged = [], False
        for side in (s for s in sides if s["precision"] == ref["precision"]):
            median, per_repeat, disagree = ratios(side, ref)
            flagged |= disagree
            line.append(f"{side['label']} {median:.2f}x" + (
                f" (repeats {min(per_repeat):.2f}-{max(per_repeat):.2f}: DISAGREE)" if disagree else ""))
        print(f"  ours / reference, {SHORT[ref['precision']]} (images/s): " + ", ".join(line))
        if flagged:
            print(f"  warning: the repeats' ratios differ by more than {DISAGREEMENT - 1:.0%}: the "
                  f"machine is busy (load average {os.getloadavg()[0]:.1f}); rerun on a quiet one")


def run(fv):
    """Checks the flags, prints the header, times every side interleaved and prints the rows and
    the ratios (float32 against float32, bfloat16 against bfloat16)."""
    from training.cpu import cpu_model, fp32_peak

    config = cycle_config(fv)
    if keras.backend.backend() != KERAS_BACKENDS[fv.backend]:
        raise ConfigError(f"--backend={fv.backend}: keras was imported with the "
                          f"{keras.backend.backend()} backend before training.benchmark could choose")
    if config.precision not in OTHER_PRECISIONS and (fv.backend == "jax" or fv.reference == "torch"):
        raise ConfigError(f"--precision={config.precision}: the JAX step and the torch reference "
                          "run float32 or mixed_bfloat16")
    if fv.verify_reference and fv.reference != "torch":
        raise ConfigError("--verify_reference needs --reference=torch")
    if fv.reference == "torch":
        try:
            import torch  # noqa: F401
        except ImportError as e:
            raise ConfigError("--reference=torch needs PyTorch: pip install -e .[bench]") from e
    # A 16-bit run is also timed in float32, so that each precision has its own ratio.
    precisions = [config.precision] + (["float32"] if config.precision != "float32" else [])
    ours_device = tf_device() if fv.backend == "tf" else jax_device()
    peak, how = fp32_peak()
    gpu = "GPU" in ours_device or "gpu" in ours_device or "cuda" in ours_device
    print(f"{config.variant} M={config.M} N={config.N} image_size={config.image_size} "
          f"batch_size={config.batch_size} ngf={config.ngf} ndf={config.ndf} n_blocks={config.n_blocks} "
          f"precision={config.precision}; {fv.repeats} x {fv.steps} timed steps per side, interleaved, "
          f"after {fv.warmup} warm-up; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"  CPU: {cpu_model()}; fp32 peak {f'{peak / 1e9:.0f} GFLOP/s ({how})' if peak else how}")
    print(f"  ours ({fv.backend}): Keras {keras.__version__} on {ours_device}")
    if fv.reference == "torch":
        print(f"  reference: official CycleGAN step, eager, {torch_device()}")
    length = fv.steps * fv.repeats + fv.warmup + 1
    if fv.backend == "tf":
        from training.devices import use_xla  # noqa: PLC0415 (TensorFlow: the tf backend only)
        auto = use_xla(config.jit_compile) if gpu or config.jit_compile != "auto" else None
        modes = {"both": (True, False), "on": (True,), "off": (False,),
                 "default": (auto,) if auto is not None else (True, False)}[fv.xla]
        sides = tf_sides(config, length, fv.warmup, modes, precisions)
    else:
        sides = jax_sides(config, length, fv.warmup, precisions)
    refs = torch_sides(config, length, fv.warmup, precisions) if fv.reference == "torch" else []
    _time_interleaved(sides + refs, fv.steps, fv.repeats, fv.pause)
    flops = next((s["flops"] for s in sides if s["flops"]), None)
    for side in sides + refs:
        print(_format(side, flops, None if gpu else peak))
    if fv.xla == "default" and fv.backend == "tf" and len(modes) == 2:
        print("  (--jit_compile=auto on a CPU: a training run times both and keeps the faster)")
    _print_ratios(sides, refs)
    if fv.verify_reference:  # last, so that its allocations stay out of the peaks above
        diffs = verify_reference(config)
        print(f"  reference check, same weights, max |ours - torch|: images {diffs.pop('images'):.2e}, "
              f"loss terms {max(diffs.values()):.2e}")


def main(argv):
    run_main(lambda: run(absl_flags.FLAGS), argv)


if __name__ == "__main__":
    app.run(main)
