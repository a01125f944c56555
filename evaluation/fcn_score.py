"""FCN-score of a label->photo run (thesis 8.1.4, Table 8.1), or of the real photos (the Oracle).

    python -m evaluation.fcn_score --fcn=runs/fcn/facades --run=runs/facades/long [--step=N]
    python -m evaluation.fcn_score --fcn=runs/fcn/facades --oracle

Protocol: every TEST label map is translated to a photo by the run's label->photo chain, at the
run's --image_size (the whole map resized like a training input, no crop); the generated photo is
quantised to 8 bits (what a saved result holds), resized to the FCN's --image_size if that differs,
and segmented by the FCN; the predicted ids are scored against the ground-truth ids at the FCN's
size (label colours -> ids by nearest palette colour, then nearest-neighbour resizing) with ONE
confusion matrix over the whole test set (``evaluation.scores``), the sum of the per-image matrices
that the file also keeps, so that a bootstrap over the test images (``evaluation.uncertainty``)
gives each number its 95% interval. ``--oracle`` segments the real test
photos instead. The test data default to the run's own --dataset/--data_dir (the FCN's for the
Oracle).

The JSON goes into the evaluated workdir's results/ (``fcn_score_step<N>_<fcn>.json``; the Oracle's
into the FCN workdir's, ``fcn_score_oracle_step<M>.json``) with its provenance. An existing file of
the same provenance is reused; one of another provenance is never overwritten without --overwrite.
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
import datetime
import hashlib
import json
import os
import re
import time

from absl import app
from absl import flags as absl_flags
import numpy as np
import tensorflow as tf

from datasets.labels import get_label_set
from datasets.segmentation import SEGMENTATION_DATASETS, evaluation_batches, load_labelled_images
from evaluation.restore import checkpoint_path, load_cycle_generators, restore_networks
from evaluation.scores import confusion_matrix, fcn_intervals, fcn_scores
from evaluation.uncertainty import text
from flags.common import AutoBooleanFlag, run_main
from models.cycle import apply_chain
from training import workdir as wd
from training.config import ConfigError, CycleConfig, FCNConfig
from training.cycle_trainer import TRAINER as CYCLE_TRAINER
from training.devices import use_xla
from training.fcn_trainer import TRAINER as FCN_TRAINER
from training.fcn_trainer import build_fcn
from training.progress import ProgressBar

# The evaluated workdir itself: its results/ move with it, so a moved run keeps its scores.
MOVABLE = frozenset({"run"})
IMAGE_CONFUSIONS = "image_confusions"  # per image, each row-major flattened


def label_to_photo_chain(direction):
    """The chain that turns label maps into photos. In our layouts A is the photo and B the label,
    so it is b2a; a run trained with --direction=BtoA swapped the domains, so there it is a2b."""
    if direction == "AtoB":
        return "b2a"
    if direction == "BtoA":
        return "a2b"
    raise ConfigError(f"--direction={direction}: must be AtoB or BtoA")


def _read(workdir, flag, config_cls, trainer):
    if not workdir:
        raise ConfigError(f"--{flag}: required")
    try:
        return wd.read_config(workdir, config_cls, trainer)
    except ConfigError as e:
        raise ConfigError(f"--{flag}={workdir}: {e}") from e


def read_fcn_config(workdir):
    """The FCNConfig of an FCN workdir; a ConfigError naming --fcn for anything else."""
    return _read(workdir, "fcn", FCNConfig, FCN_TRAINER)


def read_run_config(workdir):
    """The CycleConfig of a CycleGAN-family workdir; a ConfigError naming --run otherwise."""
    return _read(workdir, "run", CycleConfig, CYCLE_TRAINER)


def resolve_step(workdir, step=None):
    """The step of the newest checkpoint (or check that ``step`` was kept)."""
    return int(os.path.basename(checkpoint_path(workdir, step)).rsplit("-", 1)[1])


def load_fcn(workdir, step=None):
    """(config, model, step): the FCN of a workdir restored (non-finite weights refused)."""
    config = read_fcn_config(workdir)
    model = build_fcn(config)
    return config, model, restore_networks(workdir, {"fcn": model}, step)


def fcn_tag(workdir, step):
    """Names an FCN checkpoint in result file names: folder name, step, hash of its full path."""
    path = os.path.abspath(workdir)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", os.path.basename(path.rstrip(os.sep))) or "fcn"
    return f"{name}-step{step}-{hashlib.sha1(path.encode()).hexdigest()[:6]}"


def _normalised(value):
    return json.loads(json.dumps(value))


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def plan(fcn, run=None, *, step=None, fcn_step=None, oracle=False, dataset=None, data_dir=None):
    """(provenance, output path, fcn config, test data) of a score, without building a network."""
    if oracle and run:
        raise ConfigError(f"--run={run}: --oracle scores the real test photos; leave out --run")
    if not oracle and not run:
        raise ConfigError("--run: required (a CycleGAN-family workdir), unless --oracle")
    fcn_config = read_fcn_config(fcn)
    fcn_step = resolve_step(fcn, fcn_step)
    source = fcn_config if oracle else read_run_config(run)
    dataset = dataset or source.dataset
    data_dir = os.path.abspath(os.path.expanduser(data_dir or source.data_dir))
    # the FCN's label set must be the test labels' (a facades run under a Cityscapes FCN is refused)
    test = load_labelled_images(dataset, data_dir, "test", label_set=get_label_set(fcn_config.label_set))
    provenance = {
        "kind": "oracle" if oracle else "run",
        "fcn": os.path.abspath(fcn), "fcn_step": fcn_step, "fcn_image_size": fcn_config.image_size,
        "label_set": fcn_config.label_set, "dataset": dataset, "data_dir": data_dir,
        "test_images": len(test), "test_data": test.fingerprint(),
    }
    if oracle:
        path = os.path.join(fcn, wd.RESULTS_DIR, f"fcn_score_oracle_step{fcn_step}.json")
    else:
        run_config, run_step = source, resolve_step(run, step)
        provenance.update(run=os.path.abspath(run), run_step=run_step, variant=run_config.variant,
                          direction=run_config.direction,
                          chain=label_to_photo_chain(run_config.direction),
                          run_image_size=run_config.image_size)
        path = os.path.join(run, wd.RESULTS_DIR,
                            f"fcn_score_step{run_step}_{fcn_tag(fcn, fcn_step)}.json")
    return _normalised(provenance), path, fcn_config, test


def cached(path, provenance, overwrite=False):
    """The saved result at ``path`` if its provenance is ``provenance`` (up to where the run lies);
    None if there is none (or --overwrite); a ConfigError if it holds another computation."""
    if overwrite or not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        before = saved["provenance"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: unreadable earlier result ({e}); pass --overwrite to "
                          "recompute it") from e
    diffs = [f"{k}: {before.get(k)!r} there, {provenance.get(k)!r} now"
             for k in sorted(set(before) | set(provenance))
             if k not in MOVABLE and before.get(k) != provenance.get(k)]
    if not diffs:
        return saved
    raise ConfigError(f"{path}: holds a score of another computation; pass --overwrite to replace "
                      "it.\n  " + "\n  ".join(diffs))


def _segmenter(fcn_model, size, chain=None, jit_compile=False):
    """A compiled batch function: label maps (or photos) in [-1, 1] -> predicted ids at ``size``."""

    def segment(images):
        if chain is not None:
            photos = apply_chain(chain, images, training=False)[-1]
            # 8-bit like a saved result (as the pix2pix protocol scores written images)
            photos = tf.round(tf.clip_by_value((photos + 1.0) * 127.5, 0.0, 255.0))
            if photos.shape[1] != size:
                photos = tf.clip_by_value(tf.image.resize(photos, [size, size], method="bicubic",
                                                          antialias=True), 0.0, 255.0)
            images = photos / 127.5 - 1.0
        return tf.argmax(fcn_model(images, training=False), axis=-1, output_type=tf.int32)

    return tf.function(segment, jit_compile=use_xla(jit_compile))


def compute(fcn_config, fcn_model, test, chain=None, run_image_size=None, *, batch_size=8,
            jit_compile=False, progress_stream=None):
    """The scores dict (``evaluation.scores.fcn_scores``) of one test set: the real photos, or
    with ``chain`` the photos it makes of the label maps at ``run_image_size``."""
    label_set, size = get_label_set(fcn_config.label_set), fcn_config.image_size
    segment = _segmenter(fcn_model, size, chain, jit_compile)
    key = "photo" if chain is None else "label_image"
    batches = evaluation_batches(test, label_set, batch_size=batch_size, ids_size=size,
                                 **({"photo_size": size} if chain is None
                                    else {"label_image_size": run_image_size}))
    per_image = []  # one confusion matrix per test image: what the bootstrap resamples
    progress = ProgressBar(len(test), 0, 1, stream=progress_stream)
    done = 0
    for batch in batches:
        images, n = batch[key], int(batch["ids"].shape[0])
        if n < batch_size:  # pad the last batch: one shape, one compilation
            images = tf.concat([images, tf.repeat(images[-1:], batch_size - n, axis=0)], 0)
        predicted = segment(images).numpy()[:n]
        per_image += [confusion_matrix(ids, p, label_set.num_classes, label_set.ignore_id)
                      for ids, p in zip(batch["ids"].numpy(), predicted)]
        done += n
        progress.update(done, force=done == len(test))
    progress.close()
    per_image = np.stack(per_image)
    return {**fcn_scores(per_image.sum(0), label_set.class_names),
            IMAGE_CONFUSIONS: per_image.reshape(len(per_image), -1).tolist()}


def image_confusions(scores):
    """(N, K, K) per-test-image confusion matrices of a scores dict (None in a file written
    before they were kept)."""
    if IMAGE_CONFUSIONS not in scores:
        return None
    k = len(scores["class_names"])
    return np.asarray(scores[IMAGE_CONFUSIONS], np.int64).reshape(-1, k, k)


def intervals(scores, **bootstrap_args):
    """{metric: 95% interval} of a scores dict, resampling its test images."""
    return fcn_intervals(image_confusions(scores), **bootstrap_args)


def fcn_score(fcn, run=None, *, step=None, fcn_step=None, oracle=False, dataset=None,
              data_dir=None, batch_size=8, overwrite=False, jit_compile=False,
              progress_stream=None):
    """Scores a run (or the Oracle); returns (result dict, path of its JSON, reused: bool).

    result: {'provenance': {...}, 'scores': {per_pixel_acc, per_class_acc, class_iou, class_acc,
    class_ious, absent_classes, num_pixels, confusion, class_names, image_confusions},
    'seconds', 'written'}.
    """
    if batch_size < 1:
        raise ConfigError(f"--batch_size={batch_size}: must be >= 1")
    provenance, path, fcn_config, test = plan(fcn, run, step=step, fcn_step=fcn_step, oracle=oracle,
                                              dataset=dataset, data_dir=data_dir)
    saved = cached(path, provenance, overwrite)
    if saved is not None and IMAGE_CONFUSIONS in saved["scores"]:
        return saved, path, True
    # (a file of the same provenance written before per-image matrices were kept is recomputed:
    # the same numbers plus what the intervals need)
    start = time.perf_counter()
    _, fcn_model, _ = load_fcn(fcn, provenance["fcn_step"])
    chain = run_size = None
    if not oracle:
        run_config, nets, _ = load_cycle_generators(run, provenance["run_step"])
        chain, run_size = getattr(nets, provenance["chain"]), run_config.image_size
    scores = compute(fcn_config, fcn_model, test, chain, run_size,
                     batch_size=batch_size, jit_compile=jit_compile, progress_stream=progress_stream)
    result = {"provenance": provenance, "scores": scores,
              "seconds": round(time.perf_counter() - start, 1), "written": _now()}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    wd._atomic_write(path, json.dumps(result, indent=1) + "\n")
    return result, path, False


def summary(result, path, reused):
    s = result["scores"]
    absent = f"; classes absent from the test labels (score 0): {', '.join(s['absent_classes'])}" \
        if s["absent_classes"] else ""
    ci = intervals(s)
    return (f"per-pixel acc {text(ci['per_pixel_acc'], 3)}, per-class acc "
            f"{text(ci['per_class_acc'], 3)}, class IoU {text(ci['class_iou'], 3)} over "
            f"{result['provenance']['test_images']} test images (95% bootstrap intervals over "
            f"the test images){absent}\n{'reused ' if reused else 'wrote '}{path}")


def define_flags(fv=absl_flags.FLAGS):
    absl_flags.DEFINE_string("fcn", None, "An FCN workdir (python -m training.fcn).", flag_values=fv)
    absl_flags.DEFINE_string("run", None, "A CycleGAN-family workdir (python -m training.cycle).",
                             flag_values=fv)
    absl_flags.DEFINE_integer("step", None, "The run's checkpoint (default: newest).", flag_values=fv)
    absl_flags.DEFINE_integer("fcn_step", None, "The FCN's checkpoint (default: newest).",
                              flag_values=fv)
    absl_flags.DEFINE_boolean("oracle", False, "Score the real test photos (the Oracle row).",
                              flag_values=fv)
    absl_flags.DEFINE_enum("dataset", None, SEGMENTATION_DATASETS, "Layout of --data_dir (default: "
                           "the run's, or the FCN's with --oracle).", flag_values=fv)
    absl_flags.DEFINE_string("data_dir", None, "Dataset whose test split is scored (default: the "
                             "run's, or the FCN's with --oracle).", flag_values=fv)
    absl_flags.DEFINE_integer("batch_size", 8, "Images per forward pass.", flag_values=fv)
    absl_flags.DEFINE_boolean("overwrite", False, "Recompute and replace an earlier result of "
                              "other provenance.", flag_values=fv)
    absl_flags.DEFINE_flag(AutoBooleanFlag("jit_compile", "auto", "Compile with XLA: auto (on GPUs "
                                           "only), true or false."), flag_values=fv)


def main(argv):
    fv = absl_flags.FLAGS
    print(summary(*run_main(lambda: fcn_score(
        fv.fcn, fv.run, step=fv.step, fcn_step=fv.fcn_step, oracle=fv.oracle, dataset=fv.dataset,
        data_dir=fv.data_dir, batch_size=fv.batch_size, overwrite=fv.overwrite,
        jit_compile=fv.jit_compile), argv)))


if __name__ == "__main__":
    define_flags()
    app.run(main)
