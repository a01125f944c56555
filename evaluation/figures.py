"""The qualitative figures of chapter 8 as labelled PNG grids.

    python -m evaluation.figures --kind=cycle --runs=runs/facades --input=data/facades/testB \\
        --out=fig8_3a.png [--direction=b2a] [--count=4]                      # Figs. 8.3-8.6
    python -m evaluation.figures --kind=swap --swapgan=runs/swapgan/full --out=fig8_14.png \\
        [--references=A.jpg,B.jpg,.. --conditions=C.jpg,..] [--count=4]      # Fig. 8.14
    python -m evaluation.figures --kind=methods --swapgan=runs/swapgan/full --viton=runs/viton \\
        --out=fig8_15.png [--references=A.jpg --conditions=C.jpg,D.jpg,E.jpg]   # Fig. 8.15
    python -m evaluation.figures --kind=ablation --runs=runs/swapgan --out=fig8_16.png  # Fig. 8.16

cycle: the first --count images of --input in the first column and, beside them, each CycleGAN-
family run found under --runs (gan/ vanilla/ long/ nest/, as Table 8.1 finds them) translated by
its --direction chain (b2a: label -> photo in our layouts, so Figs. 8.3(a), 8.4(a); a2b the (b)
parts; the sketch <-> photo runs of Figs. 8.5-8.6 likewise). swap: ``evaluation.swap.swap_matrix``,
references along the top, conditions down the side. methods: per row a reference, a condition and
each method's result (Poisson, TPS, VITON when --viton exists, SwapGAN). ablation: per row the
condition, the reference and X_GI (head pasted) of each ablation run found under --runs (as Table
8.3 finds them). Person images are test images of --data_dir (default: the SwapGAN run's), named by
file name; without names they are drawn from the Table 8.2 pair list (--seed). An existing --out is
never replaced without --overwrite.
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
import os

from absl import app
from absl import flags as absl_flags
import numpy as np
import tensorflow as tf

from datasets.files import list_images
from datasets.persons.deepfashion import annotation_file
from datasets.pipeline import read_image, resize, to_unit_range
from evaluation import protocol as proto
from evaluation import swap as swap_eval
from evaluation import table81, table83
from evaluation.baselines import PoissonBlending, TPSWarping
from evaluation.methods import person_batch
from evaluation.outputs import check_output_file
from evaluation.restore import load_cycle_generators
from evaluation.swap_scores import load_test_set
from evaluation.swapgan_method import SwapGANMethod
from evaluation.viton_method import VitonMethod
from flags.common import run_main
from models.cycle import apply_chain
from training import workdir as wd
from training.config import ConfigError, SwapConfig
from training.summaries import grid, write_png
from training.swapgan_trainer import TRAINER as SWAP_TRAINER

KINDS = ("cycle", "swap", "methods", "ablation")
DEFAULT_COUNT = {"cycle": 4, "swap": 4, "methods": 3, "ablation": 2}


def _check_out(out, overwrite):
    if not out or not out.lower().endswith(".png"):
        raise ConfigError(f"--out={out}: give the .png file to write")
    check_output_file(out, "out")
    if os.path.exists(out) and not overwrite:
        raise ConfigError(f"{out}: exists; pass --overwrite to replace it")


def _fit(images, size):
    """[-1, 1] images resized (bilinear) to size x size, for one grid."""
    images = np.asarray(images, np.float32)
    if images.shape[1] == size:
        return images
    return np.clip(tf.image.resize(images, (size, size)).numpy(), -1.0, 1.0)


def cycle_figure(runs, input_dir, out, *, direction="b2a", count=4, overwrite=False):
    """Figs. 8.3-8.6: inputs, then each found variant's ``direction`` output; returns the labels."""
    _check_out(out, overwrite)
    if direction not in ("a2b", "b2a"):
        raise ConfigError(f"--direction={direction}: must be a2b or b2a")
    found = [(label, table81.find_runs(runs)[key]) for key, label in table81.VARIANT_ROWS]
    found = [(label, w) for label, w in found if w]
    if not found:
        raise ConfigError(f"--runs={runs}: no CycleGAN-family workdir (gan/, vanilla/, long/, nest/)")
    paths = list_images(input_dir)[:count]
    restored = [load_cycle_generators(w) for _, w in found]
    size = max(config.image_size for config, _, _ in restored)
    columns = [_fit(to_unit_range(tf.stack([resize(read_image(p), size) for p in paths])).numpy(),
                    size)]
    for config, nets, _ in restored:
        x = to_unit_range(tf.stack([resize(read_image(p), config.image_size) for p in paths]))
        chain = nets.a2b if direction == "a2b" else nets.b2a
        columns.append(_fit(apply_chain(chain, x, training=False)[-1], size))
    labels = ["Input"] + [label for label, _ in found]
    write_png(out, grid([[c[i] for c in columns] for i in range(len(paths))], labels=labels))
    return labels


def _persons(swapgan, dataset, data_dir):
    """(SwapConfig, test PersonSet) of the figure's persons."""
    try:
        config = wd.read_config(swapgan, SwapConfig, SWAP_TRAINER)
    except ConfigError as e:
        raise ConfigError(f"--swapgan={swapgan}: {e}") from e
    return config, load_test_set(dataset or config.dataset, data_dir or config.data_dir)


def _indices(test, names, flag):
    index = {n: i for i, n in enumerate(test.names)}
    missing = [n for n in names if n not in index]
    if missing:
        raise ConfigError(f"--{flag}: {', '.join(missing)} not among the {test.num_images} test "
                          f"images of {test.root}")
    return [index[n] for n in names]


def chosen_pairs(test, references, conditions, count, seed, kind):
    """(reference indices, condition indices) of the rows: named ones (one reference may serve
    every condition), else drawn from the protocol's pair list."""
    if references or conditions:
        refs, conds = _indices(test, references or [], "references"), \
            _indices(test, conditions or [], "conditions")
        if len(refs) == 1 and len(conds) > 1:
            refs = refs * len(conds)
        if not refs or len(refs) != len(conds):
            raise ConfigError(f"give as many --references as --conditions (or one reference), "
                              f"got {len(refs)} and {len(conds)}")
        return refs, conds
    posed = test.posed()
    k = min(count, len(posed) - 1)
    pairs = posed[proto.protocol_pairs(len(posed), k, seed)]
    if kind == "methods":  # Fig. 8.15: one reference, several conditions
        return list(pairs[:k, 0]), list(pairs[:k, 1])
    rows = pairs[::k][:count]  # one condition for each of several references
    return list(rows[:, 0]), list(rows[:, 1])


def swap_figure(swapgan, out, *, dataset=None, data_dir=None, references=None, conditions=None,
                count=4, seed=0, overwrite=False):
    """Fig. 8.14 through ``evaluation.swap.swap_matrix``; returns the restored step."""
    _check_out(out, overwrite)
    _, test = _persons(swapgan, dataset, data_dir)
    if references or conditions:
        refs, conds = (_indices(test, references or [], "references"),
                       _indices(test, conditions or [], "conditions"))
    else:
        order = np.random.default_rng([seed, proto.SALT]).permutation(test.posed())
        refs, conds = order[:count], order[::-1][:count]
    if not len(refs) or not len(conds):
        raise ConfigError("give both --references and --conditions (or neither)")
    return swap_eval.swap_matrix(swapgan, [test.paths[i] for i in refs],
                                 [test.paths[i] for i in conds], out,
                                 annotations=[annotation_file(test.root, "test")],
                                 overwrite=overwrite)


def _columns_figure(methods, out, test, refs, conds, size, lead):
    """A row per pair: the ``lead`` inputs, then each (label, method) output at ``size``."""
    reference, condition = person_batch(test, refs, size), person_batch(test, conds, size)
    inputs = {"Reference": reference["x"], "Condition": condition["x"]}
    columns = [inputs[name] for name in lead]
    for _, method in methods:
        columns.append(method.generate(reference, condition))
    labels = list(lead) + [label for label, _ in methods]
    write_png(out, grid([[c[i] for c in columns] for i in range(len(refs))], labels=labels))
    return labels


def methods_figure(swapgan, out, *, viton=None, dataset=None, data_dir=None, references=None,
                   conditions=None, count=3, seed=0, overwrite=False):
    """Fig. 8.15: reference, condition, Poisson, TPS, VITON (if any), SwapGAN; returns the labels."""
    _check_out(out, overwrite)
    config, test = _persons(swapgan, dataset, data_dir)
    refs, conds = chosen_pairs(test, references, conditions, count, seed, "methods")
    methods = [("Poisson", PoissonBlending()), ("TPS", TPSWarping())]
    if viton and os.path.exists(viton):
        methods.append(("VITON", VitonMethod.from_workdir(viton)))
        if methods[-1][1].image_size != config.image_size:
            raise ConfigError(f"--viton={viton}: a {methods[-1][1].image_size} px run, but the "
                              f"SwapGAN run is {config.image_size} px")
    methods.append(("SwapGAN", SwapGANMethod.from_workdir(swapgan)))
    return _columns_figure(methods, out, test, refs, conds, config.image_size,
                           ("Reference", "Condition"))


def ablation_figure(runs, out, *, dataset=None, data_dir=None, references=None, conditions=None,
                    count=2, seed=0, overwrite=False):
    """Fig. 8.16: condition, reference and each found ablation run's X_GI (head pasted)."""
    _check_out(out, overwrite)
    found = [(label, w) for (key, _, label) in table83.VARIANTS
             if (w := table83.find_runs(runs)[key])]
    methods = [(label, SwapGANMethod.from_workdir(w)) for label, w in found]
    sizes = {m.image_size for _, m in methods}
    if len(sizes) > 1:
        raise ConfigError(f"--runs={runs}: the runs differ in image size ({sorted(sizes)})")
    _, test = _persons(found[-1][1], dataset, data_dir)
    refs, conds = chosen_pairs(test, references, conditions, count, seed, "ablation")
    return _columns_figure(methods, out, test, refs, conds, sizes.pop(), ("Condition", "Reference"))


def run_command(fv):
    """The command line: one figure of --kind; returns what it wrote."""
    count = DEFAULT_COUNT[fv.kind] if fv.count is None else fv.count
    if count < 1:
        raise ConfigError(f"--count={count}: must be >= 1")
    needs = {"cycle": ("runs", "input"), "swap": ("swapgan",), "methods": ("swapgan",),
             "ablation": ("runs",)}[fv.kind]
    missing = [f"--{n}" for n in needs if not fv[n].value]
    if missing:
        raise ConfigError(f"--kind={fv.kind} needs {' and '.join(missing)}")
    persons = dict(dataset=fv.dataset, data_dir=fv.data_dir, references=fv.references,
                   conditions=fv.conditions, count=count, seed=fv.seed, overwrite=fv.overwrite)
    if fv.kind == "cycle":
        cycle_figure(fv.runs, fv.input, fv.out, direction=fv.direction, count=count,
                     overwrite=fv.overwrite)
    elif fv.kind == "swap":
        swap_figure(fv.swapgan, fv.out, **persons)
    elif fv.kind == "methods":
        methods_figure(fv.swapgan, fv.out, viton=fv.viton, **persons)
    else:
        ablation_figure(fv.runs, fv.out, **persons)
    return f"wrote {fv.out}"


def define_flags(fv=absl_flags.FLAGS):
    absl_flags.DEFINE_enum("kind", None, KINDS, "cycle: Figs. 8.3-8.6; swap: Fig. 8.14; methods: "
                           "Fig. 8.15; ablation: Fig. 8.16.", required=True, flag_values=fv)
    absl_flags.DEFINE_string("out", None, "The PNG to write.", required=True, flag_values=fv)
    absl_flags.DEFINE_string("runs", None, "cycle: folder of gan/ vanilla/ long/ nest/; ablation: "
                             "folder of i_iii/ i_ii/ full/.", flag_values=fv)
    absl_flags.DEFINE_string("input", None, "cycle: folder of input images (e.g. test label maps).",
                             flag_values=fv)
    absl_flags.DEFINE_enum("direction", "b2a", ["a2b", "b2a"], "cycle: the chain to apply.",
                           flag_values=fv)
    absl_flags.DEFINE_string("swapgan", None, "swap, methods: the SwapGAN workdir.", flag_values=fv)
    absl_flags.DEFINE_string("viton", None, "methods: the VITON workdir (column left out without "
                             "it).", flag_values=fv)
    absl_flags.DEFINE_enum("dataset", None, ["synthetic", "deepfashion", "deepfashion-swap"], "Persons' test data "
                           "(default: the SwapGAN run's).", flag_values=fv)
    absl_flags.DEFINE_string("data_dir", None, "Persons' data folder (default: the run's).",
                             flag_values=fv)
    absl_flags.DEFINE_list("references", None, "Reference test images by file name.",
                           flag_values=fv)
    absl_flags.DEFINE_list("conditions", None, "Condition test images by file name.",
                           flag_values=fv)
    absl_flags.DEFINE_integer("count", None, "Rows (cycle, methods, ablation) or references and "
                              "conditions (swap); default 4, 4, 3, 2.", flag_values=fv)
    absl_flags.DEFINE_integer("seed", 0, "Seed of the persons drawn when none are named.",
                              flag_values=fv)
    absl_flags.DEFINE_boolean("overwrite", False, "Replace an existing --out.", flag_values=fv)


def main(argv):
    print(run_main(lambda: run_command(absl_flags.FLAGS), argv))


if __name__ == "__main__":
    define_flags()
    app.run(main)
