"""Translate a folder of images with a trained run's generator chain.

    python -m evaluation.translate --workdir=runs/long --input=data/facades/testB --direction=b2a

Writes <output>/<name>.png for every input (default output: <workdir>/results/<direction>_step<N>/),
optionally with every intermediate generator output beside it.
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
import os

from absl import app
from absl import flags as absl_flags
import numpy as np
import tensorflow as tf

from datasets.files import list_images, scan_images
from datasets.pipeline import read_image, resize, to_unit_range
from evaluation.outputs import check_output_dir
from evaluation.restore import load_cycle_generators
from flags.common import run_main
from models.cycle import apply_chain
from training import workdir as wd
from training.config import ConfigError
from training.summaries import to_uint8, write_png


def output_names(paths):
    """<stem>.png per input; inputs sharing a stem (x.jpg, x.png) keep their extension in the
    name (x_jpg.png, x_png.png), so that no output overwrites another."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    clash = {s for s in stems if stems.count(s) > 1}
    return [f"{s}_{os.path.splitext(p)[1].lstrip('.').lower()}" if s in clash else s
            for s, p in zip(stems, paths)]


def check_outputs(output_dir, input_dir, names, intermediate, overwrite):
    """Refuses, before any computing, an output folder that cannot be written or is (or lies in)
    the input folder, and one holding earlier outputs of these names unless ``overwrite``."""
    check_output_dir(output_dir, "output", {"input": input_dir})
    existing = [os.path.join(output_dir, n + ".png") for n in names
                if os.path.exists(os.path.join(output_dir, n + ".png"))]
    if intermediate and os.path.isdir(os.path.join(output_dir, "intermediate")):
        existing.append(os.path.join(output_dir, "intermediate"))
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise ConfigError(f"{existing[0]}{more}: exists; pass --overwrite to replace earlier results")


def translate_folder(workdir, input_dir, direction, output_dir=None, step=None, batch_size=8,
                     intermediate=False, skip_corrupt_images=False, overwrite=False):
    """Runs the a2b or b2a chain over every image of input_dir; returns the output folder."""
    if batch_size < 1:
        raise ConfigError(f"--batch_size={batch_size}: must be >= 1")
    if direction not in ("a2b", "b2a"):
        raise ConfigError(f"--direction={direction}: must be a2b or b2a")
    config, nets, restored = load_cycle_generators(workdir, step)
    chain = nets.a2b if direction == "a2b" else nets.b2a
    paths, _ = scan_images(list_images(input_dir), skip_corrupt=skip_corrupt_images)
    names = output_names(paths)
    output_dir = output_dir or os.path.join(workdir, wd.RESULTS_DIR, f"{direction}_step{restored}")
    check_outputs(output_dir, input_dir, names, intermediate, overwrite)
    run = tf.function(lambda x: apply_chain(chain, x, training=False))
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        images = to_unit_range(tf.stack([resize(read_image(p), config.image_size) for p in chunk]))
        outputs = [np.asarray(o) for o in run(images)]
        for i, stem in enumerate(names[start:start + batch_size]):
            write_png(os.path.join(output_dir, stem + ".png"), to_uint8(outputs[-1][i]))
            if intermediate:
                for k, o in enumerate(outputs[:-1], start=1):
                    write_png(os.path.join(output_dir, "intermediate", f"{stem}_{direction}_{k}.png"),
                              to_uint8(o[i]))
    return output_dir


def main(argv):
    del argv
    fv = absl_flags.FLAGS
    print(run_main(lambda: translate_folder(fv.workdir, fv.input, fv.direction, fv.output, fv.step,
                                            fv.batch_size, fv.intermediate, fv.skip_corrupt_images,
                                            fv.overwrite)))


if __name__ == "__main__":
    absl_flags.DEFINE_string("workdir", None, "A training workdir.", required=True)
    absl_flags.DEFINE_string("input", None, "Folder of input images.", required=True)
    absl_flags.DEFINE_enum("direction", "a2b", ["a2b", "b2a"], "Which chain to run (domains as in "
                           "training, i.e. after its --direction).")
    absl_flags.DEFINE_string("output", None, "Output folder (not the --input folder).")
    absl_flags.DEFINE_boolean("overwrite", False, "Replace outputs of an earlier call.")
    absl_flags.DEFINE_integer("step", None, "Checkpoint step (default: newest).")
    absl_flags.DEFINE_integer("batch_size", 8, "Images per forward pass.")
    absl_flags.DEFINE_boolean("intermediate", False, "Also write every intermediate generator output.")
    absl_flags.DEFINE_boolean("skip_corrupt_images", False, "Skip undecodable inputs with a counted "
                              "warning instead of stopping.")
    app.run(main)
