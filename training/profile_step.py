"""Where the time of one CycleGAN-family train step goes on this machine: TensorFlow's profiler over
a few compiled steps (after compilation and warm-up), with the op time summed by op type.

    python -m training.profile_step --variant=vanilla --image_size=128 --batch_size=1 [--xla=both]

Prints, per mode (XLA off, XLA on), the wall time per step and the top op types with their share
of the summed op time (ops of TensorFlow's kernels, or XLA's fused HLO ops, on all CPU threads).
"""
import collections
import glob
import os
import tempfile
import time

from flags import bootstrap  # noqa: E402, F401 (first: quiets TensorFlow's start-up logging)

# isort: split
from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

from flags.common import run_main  # noqa: E402
from flags.cycle import cycle_config, define_cycle_flags  # noqa: E402

define_cycle_flags()
absl_flags.DEFINE_integer("steps", 3, "Profiled steps per mode.", lower_bound=1)
absl_flags.DEFINE_integer("top", 12, "Op types listed per mode.", lower_bound=1)
absl_flags.DEFINE_enum("xla", "both", ["both", "on", "off"], "Which compilations to profile.")


def op_times(logdir):
    """{op type: total microseconds} of the host-CPU op events in a profiler trace directory."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    totals = collections.Counter()
    for path in glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True):
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
        for plane in space.planes:
            if not plane.name.startswith("/host:CPU"):
                continue
            for line in plane.lines:
                for event in line.events:
                    name = plane.event_metadata[event.metadata_id].name
                    kind = _op_type(name)
                    if kind:
                        totals[kind] += event.duration_ps / 1e6
    return totals


def _op_type(name):
    """'gen/enc0_conv/convolution:Conv2D' -> 'Conv2D'; XLA's 'convolution.12' -> 'XLA convolution';
    runtime bookkeeping (executor, function calls, iterators) -> None."""
    name = name.strip()
    if name.startswith("__"):  # a whole tf.function call, which contains the ops
        return None
    if ":" in name and "::" not in name:
        kind = name.rsplit(":", 1)[1].strip()
        wrappers = ("_Retval", "_Arg", "StatefulPartitionedCall", "PartitionedCall", "XlaLaunch", "_XlaRun",
                    "_XlaCompile")
        return None if kind.startswith("__") or kind in wrappers else kind
    base = name.split(".")[0]
    if base and base.replace("-", "").replace("_", "").isalnum() and "." in name:
        return f"XLA {base}"
    return None


def profile(config, jit, steps):
    import tensorflow as tf

    from training.cycle_step import make_cycle_train_step
    from training.cycle_trainer import build_state

    shape = (config.batch_size, config.image_size, config.image_size, 3)
    inputs = {k: tf.random.stateless_uniform(shape, (0, i), -1.0, 1.0) for i, k in enumerate("ab")}
    state = build_state(config, total_steps=steps + 3)
    step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer, state.pool_a,
                                 state.pool_b, state.step, config, jit_compile=jit)
    for _ in range(2):  # compile, warm up
        float(step(inputs)["g/total"])
    logdir = tempfile.mkdtemp(prefix="profile_step_")
    tf.profiler.experimental.start(logdir)
    t0 = time.perf_counter()
    for _ in range(steps):
        out = step(inputs)
    float(out["g/total"])
    wall = (time.perf_counter() - t0) / steps
    tf.profiler.experimental.stop()
    return wall, op_times(logdir)


def run(fv):
    from training.cpu import cpu_model

    config = cycle_config(fv)
    print(f"{config.variant} M={config.M} N={config.N} {config.image_size} px batch "
          f"{config.batch_size} ngf={config.ngf} n_blocks={config.n_blocks}; {cpu_model()}; load "
          f"average {os.getloadavg()[0]:.2f}")
    for jit in {"both": (False, True), "on": (True,), "off": (False,)}[fv.xla]:
        wall, totals = profile(config, jit, fv.steps)
        total = sum(totals.values()) or 1.0
        print(f"XLA {'on' if jit else 'off'}: {1000 * wall:.0f} ms/step wall; op time summed "
              f"over threads {total / 1000 / fv.steps:.0f} ms/step")
        print("| op | ms/step | share |\n|---|---|---|")
        for kind, us in totals.most_common(fv.top):
            print(f"| {kind} | {us / 1000 / fv.steps:.1f} | {100 * us / total:.1f}% |")


def main(argv):
    run_main(lambda: run(absl_flags.FLAGS), argv)


if __name__ == "__main__":
    app.run(main)
