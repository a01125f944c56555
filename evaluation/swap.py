"""Swap clothes with a trained SwapGAN run: one pair, a pairs file, a matrix, or in Python.

    python -m evaluation.swap --workdir=runs/swapgan --reference=IMG --condition=IMG --out=FILE [--grid]
    python -m evaluation.swap --workdir=runs/swapgan --pairs=CSV [--image_dir=DIR] --out_dir=DIR [--grid]
    python -m evaluation.swap --workdir=runs/swapgan --references=IMG,IMG,.. --conditions=IMG,.. --out=FILE

The result is the test phase of 8.2.1: X_GI = G_I(X_c, P_r) with the reference head H_r pasted on,
the reference person wearing the condition person's clothes. Keypoints come from annotation CSVs
(``--annotations``, default: the run's ``fasion-annotation-{train,test}.csv``). Parsing maps come
from ``--parsing_dir/<stem>.png``, else from the image's own DeepFashion layout
(``<root>/parsing/<split>/<stem>.png`` beside ``<root>/<split>/<image>``), else the segmentation
is approximated from the keypoints. A pairs file has the header ``from,to``: ``from`` is the
condition (the clothes come from it) and ``to`` the reference (the person, pose and head they go
to), as in pose-transfer pairs files; the dataset's own pairs file thus reconstructs ``to``. A
matrix is Fig. 8.14's layout: references along the top, conditions down the side. Outputs never
overwrite an earlier result unless ``--overwrite``.
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
import os

from absl import app, logging
from absl import flags as absl_flags
import numpy as np
from PIL import Image
import tensorflow as tf

from datasets.files import IMAGE_EXTENSIONS, DataError
from datasets.persons import keypoints as kp
from datasets.persons.deepfashion import CROP_OFFSET, CROP_WIDTH, FRAME, SPLITS, annotation_file, detect_keypoint_frame
from datasets.persons.pipeline import person_example
from evaluation.outputs import check_output_dir, check_output_file
from evaluation.restore import restore_networks
from flags.common import run_main
from training import workdir as wd
from training.config import ConfigError, SwapConfig
from training.progress import ProgressBar
from training.summaries import grid, to_uint8, write_png
from training.swapgan_trainer import TRAINER, build_nets, swap_grid, swap_outputs

EXAMPLE_KEYS = ("x", "p", "s", "m", "h")


class Annotations:
    """Keypoint rows of one or more annotation CSVs, looked up by image file name.

    Each CSV's frame (256 frame, or the 176-wide crop's with x - 40) is decided by the reader's
    rule (``datasets.persons.deepfashion``) for the image being looked up: a CSV can be in the
    crop frame only for a 176-wide image. The first CSV with a row for a name wins.
    """

    def __init__(self, paths):
        self.paths = list(paths)
        if not self.paths:
            raise DataError("no annotation CSV to read keypoints from (--annotations)")
        self.rows = [kp.read_annotations(p) for p in self.paths]
        self._xs = [np.concatenate([r[kp.present(r), 1] for r in rows.values()] or [np.zeros(0)])
                    for rows in self.rows]

    def keypoints(self, image, width):
        """(18, 2) int32 (y, x) in the 256 frame of the image file ``image`` ``width`` wide."""
        name = os.path.basename(image)
        for path, rows, xs in zip(self.paths, self.rows, self._xs):
            if name in rows:
                points = rows[name].copy()
                ok = kp.present(points)
                if not ok.any():
                    raise DataError(f"{image}: its row in {path} has no annotated joint, so its "
                                    "pose and segmentation maps would be empty")
                if detect_keypoint_frame(xs, width == CROP_WIDTH) == "crop":
                    points[ok, 1] += CROP_OFFSET
                if (points[ok] >= FRAME).any():
                    raise DataError(f"{path}: {name} has a joint outside the {FRAME}x{FRAME} frame")
                return points
        raise DataError(f"{image}: no keypoint row for {name} in {', '.join(self.paths)} "
                        "(--annotations)")


def default_annotation_files(config):
    """The run's own annotation CSVs (those that exist)."""
    found = [annotation_file(config.data_dir, s) for s in SPLITS
             if os.path.isfile(annotation_file(config.data_dir, s))]
    if not found:
        raise DataError(f"{config.data_dir}: no fasion-annotation-{{train,test}}.csv; pass "
                        "--annotations=CSV with the keypoints of the images")
    return found


def parsing_path(image, parsing_dir=None):
    """The LIP map of ``image``, or None (segmentation from keypoints); rules in the module doc."""
    stem = os.path.splitext(os.path.basename(image))[0] + ".png"
    if parsing_dir:
        path = os.path.join(parsing_dir, stem)
        if not os.path.isfile(path):
            raise DataError(f"{path}: parsing map of {image} not found (--parsing_dir)")
        return path
    folder = os.path.dirname(os.path.abspath(image))
    layout = os.path.join(os.path.dirname(folder), "parsing", os.path.basename(folder))
    if not os.path.isdir(layout):
        return None
    path = os.path.join(layout, stem)
    if not os.path.isfile(path):
        raise DataError(f"{path}: parsing map of {image} not found (its layout has {layout})")
    return path


def _stack(examples):
    """A batch dict {x, p, s, m, h} from one, or from a list of ``person_example`` dicts."""
    if isinstance(examples, dict):
        return {k: np.asarray(examples[k], np.float32) for k in EXAMPLE_KEYS}
    return {k: np.stack([e[k] for e in examples]).astype(np.float32) for k in EXAMPLE_KEYS}


class Swapper:
    """A restored run's generators as a batched swap function (the API of Tables 8.2 and 8.3)."""

    def __init__(self, config, nets, step):
        self.config, self.nets, self.step = config, nets, step
        self._run = tf.function(lambda batch: swap_outputs(nets, batch), reduce_retracing=True)

    @classmethod
    def from_workdir(cls, workdir, step=None):
        """Rebuilds the run's generators from config.json and its newest (or ``step``) checkpoint;
        the discriminator is not restored."""
        config = wd.read_config(workdir, SwapConfig, TRAINER)
        nets = build_nets(config)
        return cls(config, nets, restore_networks(workdir, nets.generators(), step))

    def example(self, image, keypoints, parsing=None):
        """``person_example`` at the run's image size (image: path or uint8 array)."""
        return person_example(image, keypoints, parsing, image_size=self.config.image_size)

    def swap(self, reference_examples, condition_examples):
        """numpy {x_gi, x_gi_pasted[, x_gii][, m_gi][, m_gii]} for batches of references and
        conditions (a dict of stacked ``person_example`` arrays, or a list of such dicts).
        Images in [-1, 1], masks in [0, 1]; x_gi_pasted is the thesis's test-phase result."""
        ref, cond = _stack(reference_examples), _stack(condition_examples)
        if len(ref["x"]) != len(cond["x"]):
            raise ValueError(f"{len(ref['x'])} references but {len(cond['x'])} conditions")
        batch = {"x_r": ref["x"], "p_r": ref["p"], "m_r": ref["m"], "h_r": ref["h"],
                 "x_c": cond["x"], "s_c": cond["s"], "m_c": cond["m"]}
        outputs = self._run({k: tf.constant(v) for k, v in batch.items()})
        return {k: np.asarray(v) for k, v in outputs.items()}


def _check_free(paths, overwrite):
    existing = [p for p in paths if os.path.exists(p)]
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise ConfigError(f"{existing[0]}{more}: exists; pass --overwrite to replace earlier results")


def _image_width(path, where):
    """Width of an image file from its header (the keypoint frame depends on it)."""
    if not os.path.isfile(path):
        raise DataError(f"{path}: image not found ({where})")
    try:
        with Image.open(path) as image:
            return image.size[0]
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read the image ({e})") from e


def _grid_path(out):
    stem, ext = os.path.splitext(out)
    return f"{stem}_grid{ext}"


def _checked_inputs(config, pairs, annotations, parsing_dir):
    """{image: (keypoints, parsing map or None)} of every image of ``pairs``, all checked."""
    index = Annotations(annotations or default_annotation_files(config))
    inputs = {}
    for pair in pairs:
        for image, role in zip(pair, ("reference", "condition")):
            if image not in inputs:
                width = _image_width(image, role)
                inputs[image] = (index.keypoints(image, width), parsing_path(image, parsing_dir))
    approximated = sorted(i for i, (_, parsing) in inputs.items() if parsing is None)
    if approximated:
        logging.warning("%d of %d images have no parsing map (first: %s): their S, M and H are "
                        "approximated from keypoints", len(approximated), len(inputs), approximated[0])
    return inputs


def _swapped(swapper, pairs, inputs, batch_size, progress_stream):
    """Yields (reference example, condition example, outputs) per pair, in order, batched."""
    bar = ProgressBar(len(pairs), 0, 1, stream=progress_stream)
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        refs = [swapper.example(r, *inputs[r]) for r, _ in chunk]
        conds = [swapper.example(c, *inputs[c]) for _, c in chunk]
        outputs = swapper.swap(refs, conds)
        bar.update(start + len(chunk), force=True)
        for i in range(len(chunk)):
            yield refs[i], conds[i], {k: v[i] for k, v in outputs.items()}
    bar.close()


def _checked_outputs(workdir, outs, overwrite, batch_size):
    """The run's config, once the outputs are known to be writable and free (or --overwrite)."""
    if batch_size < 1:
        raise ConfigError(f"--batch_size={batch_size}: must be >= 1")
    config = wd.read_config(workdir, SwapConfig, TRAINER)
    for out in outs:
        if not out.lower().endswith(IMAGE_EXTENSIONS):
            raise ConfigError(f"{out}: the output must end in one of {', '.join(IMAGE_EXTENSIONS)}")
        check_output_file(out, "out")
    _check_free(outs, overwrite)
    return config


def swap_files(workdir, pairs, out_paths, *, annotations=None, parsing_dir=None, step=None,
               batch_size=8, grid=False, overwrite=False, progress_stream=None):
    """Swaps every (reference, condition) image-file pair into the matching output file (and its
    ``<stem>_grid`` panel with ``grid``); returns the restored step. Everything (outputs free,
    images present, keypoint rows, parsing maps) is checked before the first output is written."""
    grids = [_grid_path(p) for p in out_paths] if grid else []
    config = _checked_outputs(workdir, list(out_paths) + grids, overwrite, batch_size)
    inputs = _checked_inputs(config, pairs, annotations, parsing_dir)
    swapper = Swapper.from_workdir(workdir, step)
    for k, (ref, cond, out) in enumerate(_swapped(swapper, pairs, inputs, batch_size, progress_stream)):
        write_png(out_paths[k], to_uint8(out["x_gi_pasted"]))
        if grid:
            write_png(grids[k], swap_grid({"x_r": ref["x"][None], "p_r": ref["p"][None],
                                           "x_c": cond["x"][None], "s_c": cond["s"][None],
                                           **{key: v[None] for key, v in out.items()}}))
    return swapper.step


def swap_matrix(workdir, references, conditions, out, *, annotations=None, parsing_dir=None,
                step=None, batch_size=8, overwrite=False, progress_stream=None):
    """Fig. 8.14's layout in one image: the references along the top row, the conditions down the
    first column, and in row i, column j reference j wearing the clothes of condition i (X_GI with
    H_r pasted). Returns the restored step."""
    config = _checked_outputs(workdir, [out], overwrite, batch_size)
    pairs = [(r, c) for c in conditions for r in references]
    inputs = _checked_inputs(config, pairs, annotations, parsing_dir)
    swapper = Swapper.from_workdir(workdir, step)
    results = list(_swapped(swapper, pairs, inputs, batch_size, progress_stream))
    n = len(references)
    top = [results[j][0]["x"] for j in range(n)]
    rows = [[np.ones_like(top[0])] + top]  # a white corner
    rows += [[results[i * n][1]["x"]] + [results[i * n + j][2]["x_gi_pasted"] for j in range(n)]
             for i in range(len(conditions))]
    write_png(out, grid(rows))
    return swapper.step


def swap(workdir, reference, condition, *, annotations=None, parsing_dir=None, step=None):
    """One pair of image files -> the numpy outputs of ``Swapper.swap`` without the batch axis
    (for many pairs build one ``Swapper`` and batch)."""
    swapper = Swapper.from_workdir(workdir, step)
    index = Annotations(annotations or default_annotation_files(swapper.config))
    examples = [swapper.example(image, index.keypoints(image, _image_width(image, role)),
                                parsing_path(image, parsing_dir))
                for image, role in ((reference, "reference"), (condition, "condition"))]
    return {k: v[0] for k, v in swapper.swap(examples[:1], examples[1:]).items()}


def pair_outputs(pairs_csv, image_dir, out_dir):
    """(pairs of (reference, condition) paths, output paths) of a ``from,to`` pairs file:
    ``<out_dir>/<reference stem>__<condition stem>.png``."""
    pairs, outs = [], []
    for condition, reference in kp.read_pairs(pairs_csv):
        pairs.append((os.path.join(image_dir, reference), os.path.join(image_dir, condition)))
        stems = [os.path.splitext(os.path.basename(n))[0] for n in (reference, condition)]
        outs.append(os.path.join(out_dir, f"{stems[0]}__{stems[1]}.png"))
    if not pairs:
        raise DataError(f"{pairs_csv}: no pairs")
    return pairs, outs


def run_command(fv):
    """The command line: one pair (--reference, --condition, --out), a matrix (--references,
    --conditions, --out) or a pairs file (--pairs); returns what it wrote."""
    modes = [name for name, given in (("--reference/--condition", fv.reference or fv.condition),
                                      ("--references/--conditions", fv.references or fv.conditions),
                                      ("--pairs", fv.pairs)) if given]
    if len(modes) != 1:
        raise ConfigError(f"give one of --reference and --condition, --references and --conditions, "
                          f"or --pairs (got {' and '.join(modes) or 'none'})")
    options = dict(annotations=fv.annotations, parsing_dir=fv.parsing_dir, step=fv.step,
                   batch_size=fv.batch_size, overwrite=fv.overwrite)
    if fv.pairs:
        if fv.out:
            raise ConfigError("--pairs writes to --out_dir, not --out")
        config = wd.read_config(fv.workdir, SwapConfig, TRAINER)
        image_dir = fv.image_dir or os.path.join(config.data_dir, "test")
        out_dir = fv.out_dir or os.path.join(fv.workdir, wd.RESULTS_DIR, "swap")
        check_output_dir(out_dir, "out_dir", {"image_dir": image_dir})
        pairs, outs = pair_outputs(fv.pairs, image_dir, out_dir)
        step = swap_files(fv.workdir, pairs, outs, grid=fv.grid, **options)
        return f"{len(outs)} swapped images (step {step}) in {out_dir}"
    if fv.out_dir or fv.image_dir:
        raise ConfigError("--out_dir and --image_dir go with --pairs")
    given = {"--out": fv.out}
    if fv.references or fv.conditions:
        given.update({"--references": fv.references, "--conditions": fv.conditions})
    else:
        given.update({"--reference": fv.reference, "--condition": fv.condition})
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise ConfigError(f"{', '.join(missing)} missing")
    if fv.references:
        step = swap_matrix(fv.workdir, fv.references, fv.conditions, fv.out, **options)
        return f"{fv.out} (step {step}): {len(fv.conditions)} x {len(fv.references)} swaps"
    step = swap_files(fv.workdir, [(fv.reference, fv.condition)], [fv.out], grid=fv.grid, **options)
    return f"{fv.out} (step {step})" + (f" and {_grid_path(fv.out)}" if fv.grid else "")


def define_flags(fv=absl_flags.FLAGS):
    absl_flags.DEFINE_string("workdir", None, "A SwapGAN training workdir.", required=True,
                             flag_values=fv)
    absl_flags.DEFINE_string("reference", None, "The person, pose and head (X_r).", flag_values=fv)
    absl_flags.DEFINE_string("condition", None, "The clothes (X_c).", flag_values=fv)
    absl_flags.DEFINE_list("references", None, "References along the top of a matrix (Fig. 8.14).",
                           flag_values=fv)
    absl_flags.DEFINE_list("conditions", None, "Conditions down the side of a matrix.", flag_values=fv)
    absl_flags.DEFINE_string("out", None, "Output image of a single swap or a matrix.", flag_values=fv)
    absl_flags.DEFINE_string("pairs", None, "A from,to CSV: from = condition, to = reference.",
                             flag_values=fv)
    absl_flags.DEFINE_string("image_dir", None, "Folder of the images a --pairs file names "
                             "(default: the run's data_dir/test).", flag_values=fv)
    absl_flags.DEFINE_string("out_dir", None, "Output folder of --pairs (default: "
                             "<workdir>/results/swap).", flag_values=fv)
    absl_flags.DEFINE_multi_string("annotations", None, "Keypoint CSV(s) (default: the run's "
                                   "fasion-annotation-{train,test}.csv).", flag_values=fv)
    absl_flags.DEFINE_string("parsing_dir", None, "Folder of LIP parsing maps <stem>.png (default: "
                             "the images' own layout, else keypoint-derived).", flag_values=fv)
    absl_flags.DEFINE_integer("step", None, "Checkpoint step (default: newest).", flag_values=fv)
    absl_flags.DEFINE_integer("batch_size", 8, "Pairs per forward pass.", flag_values=fv)
    absl_flags.DEFINE_boolean("grid", False, "Also write <out stem>_grid.png: a labelled panel of "
                              "inputs, maps and outputs.", flag_values=fv)
    absl_flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.", flag_values=fv)


def main(argv):
    print(run_main(lambda: run_command(absl_flags.FLAGS), argv))


if __name__ == "__main__":
    define_flags()
    app.run(main)
