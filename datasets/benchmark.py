"""Input-pipeline throughput beside the train step's, so one sees whether data starves the step.

    python -m datasets.benchmark --dataset=unpaired --data_dir=../shared/data/facades --image_size=128

Times the CycleGAN training stream (decode, resize, crop, flip, batch) with and without
--cache_decoded, then runs ``python -m training.benchmark`` with the same flags in a subprocess
(datasets/ never imports training/) for the step rate. The pipeline must deliver faster than the
step consumes; on a GPU, where steps take milliseconds, decoding 256-px JPEGs on few cores may not.
"""
import dataclasses
import subprocess
import sys
import time

from flags import bootstrap  # noqa: E402, F401 (first: quiets TensorFlow's start-up logging)

# isort: split
from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

from datasets.cycle_data import load_cycle_data  # noqa: E402
from datasets.files import DataError  # noqa: E402
from datasets.pipeline import cache_bytes  # noqa: E402
from flags.common import run_main  # noqa: E402
from flags.cycle import cycle_config, define_cycle_flags  # noqa: E402


def define_flags(fv=absl_flags.FLAGS):
    define_cycle_flags(fv)
    absl_flags.DEFINE_integer("batches", 50, "Batches timed per pipeline mode (after 5 untimed "
                              "ones).", flag_values=fv)
    absl_flags.DEFINE_boolean("step_rate", True, "Also time the train step (training.benchmark).",
                              flag_values=fv)


def pipeline_rate(data, config, cache_decoded, batches):
    """(images/s of the stream, seconds spent before the first batch)."""
    if batches < 1:
        raise DataError(f"--batches={batches}: must be >= 1 (batches timed per pipeline mode)")
    config = dataclasses.replace(config, cache_decoded=cache_decoded)
    t0 = time.perf_counter()
    stream = iter(data.train_batches(config, 0, batches + 5))
    for _ in range(5):
        next(stream)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(batches):
        next(stream)
    return batches * config.batch_size / (time.perf_counter() - t0), setup


def main(argv):
    del argv

    def work():
        fv = absl_flags.FLAGS
        if fv.batches < 1:  # before the data are loaded
            pipeline_rate(None, None, False, fv.batches)
        config = cycle_config(fv)
        data = load_cycle_data(config)
        print(f"{config.dataset} {config.data_dir}: {len(data.train_a)} + {len(data.train_b)} images, "
              f"load {config.load_size} px, crop {config.image_size}, batch {config.batch_size}")
        for cached in (False, True):
            rate, setup = pipeline_rate(data, config, cached, fv.batches)
            size = cache_bytes(data.train_a, data.train_b, load_size=config.load_size) / 2 ** 20
            extra = f"; cache {size:.1f} MB" if cached else ""
            print(f"  pipeline, cache_decoded={str(cached).lower():5}: {rate:9.1f} images/s "
                  f"(first batches after {setup:.1f} s{extra})")
        if fv.step_rate:
            same = [f"--{k}={getattr(config, k)}" for k in ("variant", "M", "N", "image_size",
                                                             "batch_size", "ngf", "ndf", "n_blocks")]
            out = subprocess.run([sys.executable, "-m", "training.benchmark", *same, "--steps=5",
                                  "--warmup=1", "--xla=off"], capture_output=True, text=True)
            lines = [ln for ln in out.stdout.splitlines() if "images/s" in ln]
            print(f"  train step ({config.variant}, XLA off): " + (lines[0].split(":", 1)[1].strip()
                                                                    if lines else out.stderr[-300:]))
    run_main(work)


if __name__ == "__main__":
    define_flags()
    app.run(main)
