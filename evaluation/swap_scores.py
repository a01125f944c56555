"""Cached protocol scores of one swap method or SwapGAN run: what Tables 8.2 and 8.3 collect.

A score file holds the provenance it was computed from (method, run and step, image size, test
data fingerprint, the pair list's digest, the classifier) and, per output, the images scored,
IS mean and std (and its bootstrap interval, ``is_interval``), FID, KID mean and std and (X_GII)
SSIM with its per-pair values (``ssim_per_pair``, what the tables' intervals resample). Runs keep
theirs in ``<run>/results/``,
the baselines in ``<out>/scores/``; the file name holds the step, the protocol and the classifier,
so a rerun finds it and reuses it, and a file of the same name computed from something else (data
changed, another run moved in) is never replaced without ``--overwrite``. A score computed
without Inception weights (IS, FID, KID n/a) lives in its own file, so providing the weights later
simply computes the full one.

On the synthetic persons, each swap output also carries ``ground_truth``: SSIM, PSNR and L1
against the rendered target (``ground_truth.GroundTruth``), their means and per-pair lists (for
intervals). Such scores have "-gt" in their file name, so that scores computed before the ground
truth existed are neither reused for it nor replaced.
"""
import dataclasses
import datetime
import hashlib
import json
import os
import sys
import time

from absl import flags as absl_flags
import numpy as np

from datasets.files import DataError
from datasets.persons.deepfashion import load_person_set
from datasets.persons.selection import load_selected_set
from datasets.persons.sources import DEEPFASHION_HINT, ensure_synthetic
from evaluation import ground_truth as gt
from evaluation import protocol as proto
from evaluation.fcn_score import cached, resolve_step
from evaluation.inception import INPUT_SIZE
from training import workdir as wd
from training.config import ConfigError

SCORES_DIR = "scores"
IS_KEYS = ("is_mean", "is_std")


@dataclasses.dataclass(frozen=True)
class Protocol:
    """The protocol's settings (flags of the same names)."""

    conditions_per_reference: int = 25
    max_references: int | None = None
    seed: int = 0
    splits: int = 10
    batch_size: int = 32

    def __post_init__(self):
        if self.batch_size < 1:
            raise ConfigError(f"--batch_size={self.batch_size}: must be >= 1")
        if self.splits < 1:
            raise ConfigError(f"--splits={self.splits}: must be >= 1")

    def tag(self):
        refs = "all" if self.max_references is None else f"r{self.max_references}"
        splits = "" if self.splits == 10 else f"-s{self.splits}"
        return f"k{self.conditions_per_reference}-{refs}-seed{self.seed}{splits}"


def load_test_set(dataset, data_dir, flag="data_dir"):
    """The test PersonSet of --dataset at --data_dir (synthetic persons generated on first use)."""
    if dataset not in ("synthetic", "deepfashion", "deepfashion-swap"):
        raise ConfigError(f"--dataset={dataset}: must be synthetic, deepfashion or deepfashion-swap")
    if dataset == "synthetic":
        ensure_synthetic(data_dir)
    elif not os.path.isdir(data_dir):
        raise DataError(f"--{flag}={data_dir}: no dataset there (--dataset={dataset}).\n"
                        f"{DEEPFASHION_HINT}")
    if dataset == "deepfashion-swap":
        return load_selected_set(data_dir, "test")
    return load_person_set(data_dir, "test")


class TestData:
    """The test split, the protocol's pairs over its posed images, and the real-image features."""

    def __init__(self, dataset, data_dir, protocol):
        self.dataset, self.data_dir = dataset, os.path.abspath(data_dir)
        self.protocol = protocol
        self.test = load_test_set(dataset, self.data_dir)
        posed = self.test.posed()  # an image without any joint has empty pose maps: left out
        pairs = proto.protocol_pairs(len(posed), protocol.conditions_per_reference, protocol.seed,
                                     protocol.max_references)
        self.pairs = posed[pairs]
        if len(self.pairs) < protocol.splits:
            raise ConfigError(f"--splits={protocol.splits}: the protocol gives only "
                              f"{len(self.pairs)} pairs; use more --conditions_per_reference or "
                              "--max_references")
        self._real = {}
        self.provenance = {
            "dataset": dataset, "data_dir": self.data_dir, "test_images": self.test.num_images,
            "test_data": self.test.fingerprint(),
            "protocol": {**dataclasses.asdict(protocol), "pairs": len(self.pairs),
                         "references": int(len(np.unique(self.pairs[:, 0]))),
                         "pairs_sha256": proto.pairs_digest(self.test, self.pairs)},
        }
        self.provenance["protocol"].pop("batch_size")  # does not change a score
        self.truth, no_truth = gt.ground_truth(dataset, self.test)
        self.truth_info = ({"available": True, **self.truth.provenance} if self.truth
                           else {"available": False, "reason": no_truth})
        if self.truth is not None:
            self.provenance["ground_truth"] = self.truth.provenance

    def tag(self):
        where = hashlib.sha1(self.data_dir.encode()).hexdigest()[:6]
        return f"{self.protocol.tag()}_data-{where}{'-gt' if self.truth else ''}"

    def real(self, runner, image_size):
        """The real test images' Inception features at ``image_size`` (computed once)."""
        if image_size not in self._real:
            self._real[image_size] = proto.real_features(self.test, image_size, runner,
                                                         self.protocol.batch_size)
        return self._real[image_size]


def image_outputs(method):
    """The scored outputs of a SwapMethod: its ``generate`` result."""
    return lambda reference, condition: {"image": method.generate(reference, condition)}


def swapgan_outputs(method):
    """The scored outputs of a SwapGANMethod: X_GI with H_r pasted and (with G_II) X_GII."""
    keep = ("x_gi_pasted", "x_gii")
    return lambda reference, condition: {k: v for k, v in method.outputs(reference, condition).items()
                                         if k in keep}


@dataclasses.dataclass
class Scorable:
    """A method to score: ``make()`` builds the SwapMethod, ``outputs(method)`` gives the function
    of (reference batch, condition batch) -> {output name: images} that is scored."""

    key: str
    make: object
    image_size: int
    provenance: dict
    folder: str  # where its score files live
    stem: str  # file-name start
    outputs: object = image_outputs
    ssim_targets: tuple = ()


def run_scorable(key, workdir, flag, config_cls, trainer, make, step=None, outputs=image_outputs):
    """A Scorable of a trained run; ConfigError naming --flag for a missing or foreign run."""
    try:
        config = wd.read_config(workdir, config_cls, trainer)
        step = resolve_step(workdir, step)
    except ConfigError as e:
        raise ConfigError(f"--{flag}={workdir}: {e}") from e
    settings = {k: v for k, v in config.to_dict().items()
                if k in ("image_size", "generators", "ngf", "ndf", "n_blocks", "n_layers",
                         "batch_size", "epochs", "max_steps", "dataset", "data_dir")}
    provenance = {"method": key, "run": os.path.abspath(workdir), "step": step,
                  "trainer": trainer, "settings": settings}
    return Scorable(key, lambda: make(workdir, step), config.image_size, provenance,
                    os.path.join(workdir, wd.RESULTS_DIR), f"swap_scores_step{step}", outputs,
                    ("x_gii",) if "II" in settings.get("generators", "").split(",") else ())


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _cached(path, provenance, overwrite):
    """The saved result of the same provenance, else None; another provenance is a ConfigError
    unless ``overwrite`` (then recomputed)."""
    try:
        return cached(path, provenance)
    except ConfigError:
        if overwrite:
            return None
        raise


def complete(saved):
    """Whether a cached result can be reused: it exists and keeps what the intervals need, the
    per-pair SSIM and the IS interval (a file written before they were kept is recomputed once:
    same provenance, same numbers, more kept)."""
    return saved is not None and all(
        (scores.get("ssim") is None or "ssim_per_pair" in scores)
        and (scores.get("is_mean") is None or "is_interval" in scores)
        for scores in saved["outputs"].values())


def score(item, data, classifier, *, overwrite=False, progress_stream=None):
    """(result, path, reused) of one Scorable under the protocol (module doc)."""
    base = json.loads(json.dumps({**item.provenance, "image_size": item.image_size,
                                  **data.provenance}))

    def target(available):
        provenance = {**base, "inception": classifier.provenance(available)}
        name = f"{item.stem}_{data.tag()}_{classifier.tag(available)}.json"
        return provenance, os.path.join(item.folder, name)

    provenance, path = target(True)
    saved = _cached(path, provenance, overwrite)
    if complete(saved):
        return saved, path, True
    runner = classifier.runner()
    if runner is None:
        provenance, path = target(False)
        saved = _cached(path, provenance, overwrite)
        if complete(saved):
            return saved, path, True
    start = time.perf_counter()
    method = item.make()
    where = item.provenance.get("run")
    run = f" ({where}, step {item.provenance['step']})" if where else ""
    print(f"scoring {method.name}{run}: {len(data.pairs)} pairs at {item.image_size} px",
          file=progress_stream or sys.stderr, flush=True)
    outputs = proto.score_pairs(
        item.outputs(method), data.test, data.pairs, item.image_size, runner=runner,
        splits=data.protocol.splits, batch_size=data.protocol.batch_size,
        ssim_targets=item.ssim_targets,
        real=data.real(runner, item.image_size) if runner is not None else None,
        progress_stream=progress_stream, truth=data.truth)
    result = {"provenance": provenance, "outputs": outputs, "classifier": classifier.label,
              "counts": dict(method.counts), "seconds": round(time.perf_counter() - start, 1),
              "written": _now()}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    wd._atomic_write(path, json.dumps(result, indent=1) + "\n")
    return result, path, False


# --- what the two tables share ------------------------------------------------------------------

def define_protocol_flags(fv=absl_flags.FLAGS):
    absl_flags.DEFINE_integer("conditions_per_reference", 25, "Random condition images per "
                              "reference (8.2.4: 25).", flag_values=fv)
    absl_flags.DEFINE_integer("max_references", None, "Evaluate this many (seeded) references "
                              "instead of every test image, for small runs.", flag_values=fv)
    absl_flags.DEFINE_integer("seed", 0, "Seed of the pair list.", flag_values=fv)
    absl_flags.DEFINE_integer("splits", 10, "IS splits (8.20: 10).", flag_values=fv)
    absl_flags.DEFINE_integer("batch_size", 32, "Pairs per forward pass (and Inception batch).",
                              flag_values=fv)
    absl_flags.DEFINE_string("inception_weights", "imagenet", "imagenet (Keras's file, downloaded "
                             "once) or the path of InceptionV3 weights (.h5, .weights.h5, .keras); "
                             "without them IS, FID and KID show n/a.", flag_values=fv)
    absl_flags.DEFINE_string("inception_graph", None, "The 2015 TF Inception graph of published "
                             "inception scores: inception-2015-12-05.tgz or its "
                             "classify_image_graph_def.pb. When given it is the classifier of IS "
                             "(1008 classes, read as improved-GAN does) and FID/KID (pool_3); "
                             "--inception_weights and --inception_size are then unused.",
                             flag_values=fv)
    absl_flags.DEFINE_integer("inception_size", INPUT_SIZE, "Inception input size (299; smaller "
                              "only for smoke tests).", flag_values=fv)
    absl_flags.DEFINE_string("out", None, "Output folder of the table files.", flag_values=fv)
    absl_flags.DEFINE_boolean("overwrite", False, "Recompute (and replace) scores whose files "
                              "hold another computation; same-provenance scores are reused.",
                              flag_values=fv)


def protocol_from_flags(fv):
    return Protocol(fv.conditions_per_reference, fv.max_references, fv.seed, fv.splits,
                    fv.batch_size)


def classifier_from_flags(fv):
    return proto.Classifier(fv.inception_weights, fv.inception_size, fv.batch_size,
                            graph=fv.inception_graph)


def pm(mean, std, digits=2):
    """'2.65 ± 0.09', or '-' when missing."""
    return "-" if mean is None else f"{mean:.{digits}f} ± {std:.{digits}f}"


def number(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def cell(row, value, text):
    """``text``; '-' for a row without a run (or output), 'n/a' where Inception was missing."""
    if row["ours"] is None:
        return "-"
    return "n/a" if value is None else text


def csv_number(value):
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:.6g}"


def describe(settings):
    """A run's settings on one line."""
    steps, epochs = settings.get("max_steps"), settings.get("epochs")
    length = (f"{steps} step{'s' * (steps != 1)}" if steps else f"{epochs} epoch{'s' * (epochs != 1)}")
    parts = [f"generators {settings['generators']}"] if "generators" in settings else []
    parts += [f"{settings['image_size']} px"]
    parts += [f"{k} {settings[k]}" for k in ("ngf", "ndf", "n_blocks", "n_layers", "batch_size")
              if k in settings]
    return ", ".join(parts + [length, f"trained on {settings['data_dir']}"])


def table_header(name, rows, data, classifier, notes):
    """The JSON table of rows scored with ``classifier`` on ``data``: its settings and notes."""
    labels = [r["classifier"] for r in rows if r.get("classifier")]
    notes = list(notes)
    if classifier.note and any(r["ours"] is not None and r.get("classifier") is None for r in rows):
        notes.append(classifier.note)
    return {"table": name, "classifier": labels[0] if labels else None,
            "inception": classifier.provenance(), "data": data.provenance,
            "batch_size": data.protocol.batch_size, "notes": notes, "rows": rows,
            "ground_truth": data.truth_info}


def _classifier_note(table):
    """Whether our IS can be set beside the thesis's: only with the 2015 graph it used."""
    if (table.get("inception") or {}).get("graph"):
        return ("IS, FID and KID use the 2015 TF Inception graph (--inception_graph; IS from its "
                "1008-way softmax as improved-GAN computes it), the classifier of the thesis's IS.")
    return ("The thesis's IS used the 2015 TF Inception graph (1008 classes; --inception_graph): "
            "only values from one classifier compare.")


def notes_lines(table):
    """The protocol, the classifier caveat, the test data and the notes, as Markdown lines."""
    p, d = table["data"]["protocol"], table["data"]
    refs = ("every one of the" if p["max_references"] is None
            else f"{p['references']} seeded (--max_references) of the")
    return [f"Protocol (8.2.4): {refs} {d['test_images']} test images as the reference, each with "
            f"{p['conditions_per_reference']} random other test images as conditions (seed "
            f"{p['seed']}): {p['pairs']} pairs, one image each, scored as 8-bit images. IS: "
            f"(8.20)-(8.21) over {p['splits']} splits; FID and KID (beyond the thesis) against the "
            f"real test images at the same size. {_classifier_note(table)} '-': no run; 'n/a': no "
            f"Inception weights.", "",
            f"- Test data: --dataset={d['dataset']} {d['data_dir']} ({d['test_images']} images)",
            f"- {gt.truth_note(table)}"] + [f"- {note}" for note in table["notes"]]


def write_table(out, name, markdown, csv_text, table):
    """Writes <out>/<name>.{md,csv,json}; returns {ext: path}."""
    os.makedirs(out, exist_ok=True)
    paths = {ext: os.path.join(out, f"{name}.{ext}") for ext in ("md", "csv", "json")}
    for ext, text in (("md", markdown), ("csv", csv_text),
                      ("json", json.dumps(table, indent=1) + "\n")):
        wd._atomic_write(paths[ext], text)
    return paths
