"""Translate a folder of images with a trained run's generator chain.

    python -m evaluation.translate --workdir=runs/long --input=data/facades/testB --direction=b2a

Writes <output>/<name>.png for every input (default output: <workdir>/results/<direction>_step<N>/),
optionally with every intermediate generator output beside it.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from datasets.files import DataError, list_images, scan_images  # noqa: E402
from datasets.pipeline import read_image, resize, to_unit_range  # noqa: E402
from evaluation.restore import load_cycle_generators  # noqa: E402
from models.cycle import apply_chain  # noqa: E402
from training import workdir as wd  # noqa: E402
from training.config import ConfigError  # noqa: E402
from training.summaries import to_uint8, write_png  # noqa: E402


def translate_folder(workdir, input_dir, direction, output_dir=None, step=None, batch_size=8,
                     intermediate=False):
    """Runs the a2b or b2a chain over every image of input_dir; returns the output folder."""
    config, nets, restored = load_cycle_generators(workdir, step)
    chain = nets.a2b if direction == "a2b" else nets.b2a
    paths, _ = scan_images(list_images(input_dir))
    output_dir = output_dir or os.path.join(workdir, wd.RESULTS_DIR, f"{direction}_step{restored}")
    run = tf.function(lambda x: apply_chain(chain, x, training=False))
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        images = to_unit_range(tf.stack([resize(read_image(p), config.image_size) for p in chunk]))
        outputs = [np.asarray(o) for o in run(images)]
        for i, p in enumerate(chunk):
            stem = os.path.splitext(os.path.basename(p))[0]
            write_png(os.path.join(output_dir, stem + ".png"), to_uint8(outputs[-1][i]))
            if intermediate:
                for k, o in enumerate(outputs[:-1], start=1):
                    write_png(os.path.join(output_dir, "intermediate", f"{stem}_{direction}_{k}.png"),
                              to_uint8(o[i]))
    return output_dir


def main(argv):
    del argv
    fv = absl_flags.FLAGS
    try:
        out = translate_folder(fv.workdir, fv.input, fv.direction, fv.output, fv.step, fv.batch_size,
                               fv.intermediate)
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(out)


if __name__ == "__main__":
    absl_flags.DEFINE_string("workdir", None, "A training workdir.", required=True)
    absl_flags.DEFINE_string("input", None, "Folder of input images.", required=True)
    absl_flags.DEFINE_enum("direction", "a2b", ["a2b", "b2a"], "Which chain to run (domains as in "
                           "training, i.e. after its --direction).")
    absl_flags.DEFINE_string("output", None, "Output folder.")
    absl_flags.DEFINE_integer("step", None, "Checkpoint step (default: newest).")
    absl_flags.DEFINE_integer("batch_size", 8, "Images per forward pass.")
    absl_flags.DEFINE_boolean("intermediate", False, "Also write every intermediate generator output.")
    app.run(main)
