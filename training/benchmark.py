"""Throughput of compiled CycleGAN-family train steps, with XLA on and off.

    python -m training.benchmark --variant=long --image_size=128 --batch_size=1

Random inputs (no data loading), full-size networks unless --ngf/--ndf/--n_blocks say otherwise.
Each mode is traced and warmed up first; only the timed steps count.
"""
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402
import tensorflow as tf  # noqa: E402

from flags.cycle import cycle_config, define_cycle_flags  # noqa: E402
from training.cycle_step import make_cycle_train_step  # noqa: E402
from training.cycle_trainer import build_state  # noqa: E402

define_cycle_flags()
absl_flags.DEFINE_integer("steps", 10, "Timed steps per mode.")
absl_flags.DEFINE_integer("warmup", 2, "Untimed steps per mode after compilation.")
absl_flags.DEFINE_enum("xla", "both", ["both", "on", "off"], "Which modes to time.")


def benchmark(config, steps, warmup, jit_modes):
    """[{'xla', 'first_step_s', 'step_s', 'images_per_second'}] for each mode."""
    size, batch = config.image_size, config.batch_size
    inputs = {k: tf.random.stateless_uniform([batch, size, size, 3], [i, 0], -1.0, 1.0)
              for i, k in enumerate("ab")}
    rows = []
    for jit in jit_modes:
        state = build_state(config, total_steps=steps + warmup + 1)
        step = make_cycle_train_step(state.nets, state.g_optimizer, state.d_optimizer, state.pool_a,
                                     state.pool_b, state.step, config, jit_compile=jit)
        t0 = time.perf_counter()
        out = step(inputs)
        float(out["g/total"])
        first = time.perf_counter() - t0
        for _ in range(warmup):
            out = step(inputs)
        float(out["g/total"])
        t0 = time.perf_counter()
        for _ in range(steps):
            out = step(inputs)
        float(out["g/total"])  # waits for the device
        per_step = (time.perf_counter() - t0) / steps
        rows.append({"xla": jit, "first_step_s": first, "step_s": per_step,
                     "images_per_second": batch / per_step})
    return rows


def main(argv):
    del argv
    fv = absl_flags.FLAGS
    config = cycle_config(fv)
    modes = {"both": (True, False), "on": (True,), "off": (False,)}[fv.xla]
    device = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    print(f"{config.variant} M={config.M} N={config.N} image_size={config.image_size} "
          f"batch_size={config.batch_size} ngf={config.ngf} n_blocks={config.n_blocks} on {device[0].name}")
    for row in benchmark(config, fv.steps, fv.warmup, modes):
        print(f"  XLA {'on ' if row['xla'] else 'off'}: {row['images_per_second']:8.2f} images/s "
              f"({1000 * row['step_s']:.1f} ms/step; first step incl. compile {row['first_step_s']:.1f} s)")


if __name__ == "__main__":
    app.run(main)
