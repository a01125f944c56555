"""Export a run's generators for use outside this repository: uint8 images in, uint8 images out.

    python -m evaluation.export --workdir=runs/nest --out=export/nest [--format=saved_model|keras] [--step=N]

The pre- and post-processing of ``evaluation.translate`` / ``evaluation.swap`` are part of the
exported model (``models.serving``), so it gives their images for the same inputs.

CycleGAN family (GAN, Vanilla, Long, Nest): one model per direction, ``a2b`` and ``b2a``, each the
whole generator chain. Input ``images``: uint8 (batch, height, width, 3), any size (resized to
the run's image size); output ``images``: uint8 (batch, S, S, 3).

SwapGAN: one model ``swap``, the test phase of 8.2.1 from the person representations to the
pasted result, X_GI = G_I(X_c, P_r) with the reference head H_r pasted on. Inputs:
``x_r`` and ``x_c``, the reference and condition photos, uint8 (batch, 256, W, 3) with W 256 or
176 (the DeepFashion crop, padded by its edge columns); ``p_r``, the reference's rendered pose
map, uint8 (batch, S, S, 3) (``datasets.persons.pose.render_pose_map`` of its keypoints scaled to
S); ``h_r``, its head mask, uint8 (batch, S, S, 1), nonzero on face and hair. Outputs
``x_gi_pasted`` (the result) and ``x_gi`` (before the paste), uint8 (batch, S, S, 3).

Formats: ``saved_model`` (the default) writes one TensorFlow SavedModel in --out with a serving
signature per model (``a2b`` and ``b2a``, or ``swap``; the first is also ``serving_default``),
loadable with TensorFlow alone; ``keras`` writes <out>/<model>.keras, which
``keras.saving.load_model`` reads once ``models.serving`` of this repository is imported. Both
write <out>/export.json describing the inputs and outputs. --out must not exist (or be empty)
unless --overwrite; the export is written beside it and moved in place when complete.
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
import json
import os
import shutil

from absl import app
from absl import flags as absl_flags
import keras
import tensorflow as tf

from datasets.persons.deepfashion import FRAME
from evaluation.restore import load_cycle_generators, restore_networks
from models.serving import PasteHead, ToUint8, ToUnitRange
from training import swapgan_trainer
from training import workdir as wd
from training.config import ConfigError, SwapConfig

FORMATS = ("saved_model", "keras")
EXPORT_FILE = "export.json"


def chain_model(chain, image_size, name):
    """uint8 images -> the generator chain -> uint8 images, as one Keras model."""
    images = keras.Input((None, None, 3), dtype="uint8", name="images")
    x = ToUnitRange(image_size, name="to_unit_range")(images)
    for generator in chain:
        x = generator(x, training=False)
    return keras.Model(images, ToUint8(name="to_uint8")(x), name=name)


def swap_model(nets, image_size):
    """uint8 photos and maps -> X_GI with H_r pasted (and X_GI), uint8, as one Keras model."""
    x_r = keras.Input((None, None, 3), dtype="uint8", name="x_r")
    x_c = keras.Input((None, None, 3), dtype="uint8", name="x_c")
    p_r = keras.Input((image_size, image_size, 3), dtype="uint8", name="p_r")
    h_r = keras.Input((image_size, image_size, 1), dtype="uint8", name="h_r")
    reference = ToUnitRange(image_size, FRAME, name="x_r_to_unit_range")(x_r)
    condition = ToUnitRange(image_size, FRAME, name="x_c_to_unit_range")(x_c)
    pose = ToUnitRange(name="p_r_to_unit_range")(p_r)
    x_gi = nets.g_i(keras.layers.Concatenate(axis=-1, name="g_i_input")([condition, pose]),
                    training=False)
    pasted = PasteHead(name="paste_head")([x_gi, reference, h_r])
    outputs = {"x_gi_pasted": ToUint8(name="x_gi_pasted")(pasted),
               "x_gi": ToUint8(name="x_gi")(x_gi)}
    return keras.Model({"x_r": x_r, "x_c": x_c, "p_r": p_r, "h_r": h_r}, outputs, name="swap")


def _images_endpoint(model):
    # A closure, not a default argument: a SavedModel signature takes tensors only.
    def endpoint(images):
        return {"images": model(images, training=False)}
    return endpoint


def _swap_endpoint(model):
    def swap(x_r, x_c, p_r, h_r):
        return model({"x_r": x_r, "x_c": x_c, "p_r": p_r, "h_r": h_r}, training=False)
    return swap


def _spec(shape, name):
    return tf.TensorSpec(shape, tf.uint8, name=name)


def build_exports(workdir, step=None):
    """(description, {name: (keras model, endpoint function, input signature)}) of a run."""
    trainer = wd.read_trainer(workdir)
    if trainer == "cycle":
        config, nets, restored = load_cycle_generators(workdir, step)
        size, models = config.image_size, {}
        for name, chain in (("a2b", nets.a2b), ("b2a", nets.b2a)):
            model = chain_model(chain, size, name)
            models[name] = (model, _images_endpoint(model), [_spec((None, None, None, 3), "images")])
        inputs = {"images": "uint8 (batch, height, width, 3), any size; resized to "
                            f"{size} x {size}"}
        outputs = {"images": f"uint8 (batch, {size}, {size}, 3)"}
        described = {"variant": config.variant, "M": config.M, "N": config.N}
    elif trainer == swapgan_trainer.TRAINER:
        config = wd.read_config(workdir, SwapConfig, trainer)
        nets = swapgan_trainer.build_nets(config)
        restored = restore_networks(workdir, nets.generators(), step)
        size = config.image_size
        model = swap_model(nets, size)

        models = {"swap": (model, _swap_endpoint(model), [_spec((None, FRAME, None, 3), "x_r"),
                                         _spec((None, FRAME, None, 3), "x_c"),
                                         _spec((None, size, size, 3), "p_r"),
                                         _spec((None, size, size, 1), "h_r")])}
        inputs = {"x_r": f"uint8 (batch, {FRAME}, {FRAME} or 176, 3): the reference photo",
                  "x_c": f"uint8 (batch, {FRAME}, {FRAME} or 176, 3): the condition photo",
                  "p_r": f"uint8 (batch, {size}, {size}, 3): the reference's rendered pose map",
                  "h_r": f"uint8 (batch, {size}, {size}, 1): the reference's head mask, nonzero "
                         "on face and hair"}
        outputs = {"x_gi_pasted": f"uint8 (batch, {size}, {size}, 3): the reference wearing the "
                                  "condition's clothes, reference head pasted",
                   "x_gi": f"uint8 (batch, {size}, {size}, 3): the same before the paste"}
        described = {"generators": config.generators}
    else:
        raise ConfigError(f"{wd.path(workdir, wd.CONFIG_FILE)}: a {trainer!r} run; export "
                          "handles CycleGAN-family ('cycle') and SwapGAN runs")
    description = {"workdir": os.path.abspath(workdir), "trainer": trainer, "step": restored,
                   "image_size": size, **described,
                   "models": {name: {"inputs": inputs, "outputs": outputs} for name in models}}
    return description, models


def _check_out(out, overwrite):
    if os.path.isfile(out):
        raise ConfigError(f"--out={out}: is a file; give a folder")
    if os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise ConfigError(f"--out={out}: exists and is not empty; pass --overwrite to replace it")


def export(workdir, out, export_format="saved_model", step=None, overwrite=False):
    """Writes the run's generators to ``out``; returns the export.json description."""
    if export_format not in FORMATS:
        raise ConfigError(f"--format={export_format}: must be one of {', '.join(FORMATS)}")
    _check_out(out, overwrite)
    description, models = build_exports(workdir, step)
    description["format"] = export_format
    staging = os.path.abspath(out).rstrip(os.sep) + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(os.path.dirname(staging), exist_ok=True)
    if export_format == "saved_model":
        archive = keras.export.ExportArchive()
        for name, (model, endpoint, signature) in models.items():
            archive.track(model)
            archive.add_endpoint(name, endpoint, input_signature=signature)
        archive.write_out(staging, verbose=False)
        description["signatures"] = list(models) + ["serving_default (= " + next(iter(models)) + ")"]
    else:
        os.makedirs(staging)
        for name, (model, _, _) in models.items():
            model.save(os.path.join(staging, f"{name}.keras"))
        description["files"] = [f"{name}.keras" for name in models]
    with open(os.path.join(staging, EXPORT_FILE), "w", encoding="utf-8") as f:
        json.dump(description, f, indent=1)
    if os.path.isdir(out):
        shutil.rmtree(out)  # empty, or --overwrite
    os.replace(staging, out)
    return description


def main(argv):
    from flags.common import run_main  # noqa: PLC0415 (entry point only)

    fv = absl_flags.FLAGS
    done = run_main(lambda: export(fv.workdir, fv.out, fv.format, fv.step, fv.overwrite), argv)
    print(f"wrote {fv.out} ({fv.format}): {', '.join(done['models'])} of {done['trainer']} run "
          f"at step {done['step']}")


if __name__ == "__main__":
    absl_flags.DEFINE_string("workdir", None, "A CycleGAN-family or SwapGAN workdir.", required=True)
    absl_flags.DEFINE_string("out", None, "Output folder.", required=True)
    absl_flags.DEFINE_enum("format", "saved_model", FORMATS, "saved_model (TensorFlow alone "
                           "serves it) or keras (.keras files).")
    absl_flags.DEFINE_integer("step", None, "Checkpoint step (default: newest).")
    absl_flags.DEFINE_boolean("overwrite", False, "Replace a non-empty --out.")
    app.run(main)
