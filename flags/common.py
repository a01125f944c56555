"""Flags every trainer shares (defaults: the thesis settings, 8.1.3) and the exit conventions
every entry point shares."""
import signal
import sys

from absl import app
from absl import flags as absl_flags
from absl.flags import _argument_parser as absl_parsers
from absl.flags import _flag as absl_flag

from datasets.errors import DataError
from flags.native_logs import quiet_cpu_noise
from training import registry
from training.config import (
    DISTRIBUTE,
    PERSON_DATA_DIRS,
    PERSON_DATASETS,
    PRECISIONS,
    WEIGHT_DECAY_MODES,
    ConfigError,
    TrainConfig,
)

_DEFAULTS = TrainConfig()


class _AutoBooleanParser(absl_parsers.BooleanParser):
    """A boolean that may also be 'auto'."""

    def parse(self, argument):
        if isinstance(argument, str) and argument.lower() == "auto":
            return "auto"
        return super().parse(argument)

    def flag_type(self):
        return "bool or auto"


class AutoBooleanFlag(absl_flag.Flag):
    """--name, --noname, --name=true|false|auto (a boolean flag, so absl accepts --noname)."""

    def __init__(self, name, default, help_text):
        super().__init__(_AutoBooleanParser(), None, name, default, help_text, None, True)

    def _get_parsed_value_as_string(self, value):  # absl shows any truthy boolean as 'true'
        return repr("auto") if value == "auto" else super()._get_parsed_value_as_string(value)


def define_train_flags(fv=absl_flags.FLAGS, *, workdir, batch_size, epochs,
                       weight_decay=_DEFAULTS.weight_decay):
    """Loop, optimiser and logging flags; the trainer supplies its own workdir/batch/epochs (and
    weight decay, where its thesis setting differs from 8.1.3's)."""
    absl_flags.DEFINE_string("workdir", workdir, "Run directory: checkpoints, TensorBoard logs, "
                             "samples, metrics.jsonl, config.json. Rerunning resumes.", flag_values=fv)
    absl_flags.DEFINE_integer("seed", _DEFAULTS.seed, "Seed of initialisation, data order, "
                              "augmentation and image pools.", flag_values=fv)
    absl_flags.DEFINE_integer("batch_size", batch_size, "Mini-batch size.", flag_values=fv)
    absl_flags.DEFINE_integer("epochs", epochs, "Training epochs.", flag_values=fv)
    absl_flags.DEFINE_integer("decay_epochs", None, "Epochs of linear learning-rate decay to zero at "
                              "the end of training (default: half of --epochs).", flag_values=fv)
    absl_flags.DEFINE_integer("max_steps", 0, "If > 0, train this many steps instead of --epochs "
                              "epochs (the schedule decays over the same share of them).", flag_values=fv)
    absl_flags.DEFINE_float("learning_rate", _DEFAULTS.learning_rate, "Adam learning rate.", flag_values=fv)
    absl_flags.DEFINE_float("beta1", _DEFAULTS.beta1, "Adam beta1.", flag_values=fv)
    absl_flags.DEFINE_float("beta2", _DEFAULTS.beta2, "Adam beta2.", flag_values=fv)
    absl_flags.DEFINE_float("weight_decay", weight_decay, f"Weight decay (thesis: {weight_decay:g}).",
                            flag_values=fv)
    absl_flags.DEFINE_enum("weight_decay_mode", _DEFAULTS.weight_decay_mode, WEIGHT_DECAY_MODES,
                           "decoupled: Keras Adam's decay, w -= lr * wd * w per step (nearly inert "
                           "at 5e-4); l2: a TF1-style penalty wd * sum(w^2) / 2 over the conv kernels "
                           "added to each loss.", flag_values=fv)
    absl_flags.DEFINE_integer("log_every", _DEFAULTS.log_every, "Steps between metrics records "
                              "(means over the interval).", flag_values=fv)
    absl_flags.DEFINE_integer("sample_every", _DEFAULTS.sample_every, "Steps between sample grids.",
                              flag_values=fv)
    absl_flags.DEFINE_integer("checkpoint_every", _DEFAULTS.checkpoint_every,
                              "Steps between checkpoints.", flag_values=fv)
    absl_flags.DEFINE_integer("keep_checkpoints", _DEFAULTS.keep_checkpoints,
                              "Checkpoints kept on disk.", flag_values=fv)
    absl_flags.DEFINE_integer("num_samples", _DEFAULTS.num_samples,
                              "Images per domain in each sample grid.", flag_values=fv)
    absl_flags.DEFINE_flag(AutoBooleanFlag(
        "jit_compile", _DEFAULTS.jit_compile, "Compile the train step with XLA: auto (XLA on GPUs; "
        "on CPUs the first step times both and keeps the faster, cached per CPU and model shape), "
        "true or false."), flag_values=fv)
    absl_flags.DEFINE_enum("precision", _DEFAULTS.precision, PRECISIONS, "float32, or 16-bit "
                           "convolutions with float32 norms, outputs, losses and pools "
                           "(mixed_float16 adds dynamic loss scaling).", flag_values=fv)
    absl_flags.DEFINE_enum("distribute", _DEFAULTS.distribute, DISTRIBUTE, "none; mirrored: the "
                           "global batch split over this machine's GPUs; multi_worker: over the "
                           "machines of TF_CONFIG (see README).", flag_values=fv)
    absl_flags.DEFINE_boolean("extend", False, "Continue a finished (or running) run for longer: "
                              "--epochs, --decay_epochs and --max_steps may differ from config.json; "
                              "the learning-rate schedule is recomputed from the new length and the "
                              "change is recorded in config.json's history.", flag_values=fv)


def train_values(fv):
    """The TrainConfig fields from parsed flags (None where the config derives a default)."""
    return dict(
        workdir=fv.workdir, seed=fv.seed, batch_size=fv.batch_size, epochs=fv.epochs,
        decay_epochs=fv.decay_epochs,
        max_steps=fv.max_steps, learning_rate=fv.learning_rate, beta1=fv.beta1, beta2=fv.beta2,
        weight_decay=fv.weight_decay, weight_decay_mode=fv.weight_decay_mode, log_every=fv.log_every,
        sample_every=fv.sample_every,
        checkpoint_every=fv.checkpoint_every, keep_checkpoints=fv.keep_checkpoints,
        num_samples=fv.num_samples, jit_compile=fv.jit_compile, precision=fv.precision,
        distribute=fv.distribute)


def refuse_positional_args(argv):
    """Inside an absl main: none of our commands takes positional arguments."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")


def run_main(work, argv=None):
    """Runs an entry point's work: a one-line ``error:`` and status 2 for bad flags, data, files or
    workdirs (ConfigError, DataError; also an OSError, e.g. an output that cannot be written), 1
    for a diverged run, 128 + signal after an interrupt (the loop has checkpointed and said so).
    With ``argv`` (absl's), positional arguments are refused."""
    refuse_positional_args(argv or [])
    quiet_cpu_noise()
    try:
        _start_multi_worker(absl_flags.FLAGS)
        return work()
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # an output that cannot be written, found only when writing it
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        sys.exit(2)
    except FloatingPointError as e:
        print(f"error: training diverged: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt as e:
        sys.exit(128 + getattr(e, "signum", signal.SIGINT))


def run_trainer(make_config, argv=None):
    """Runs a trainer command: the config is built and checked before TensorFlow loads (a bad flag
    is refused in about a second), then its registered trainer trains it, with ``--extend``."""
    def work():
        config = make_config()
        trainer = registry.of_config(config).library()
        return trainer.train(config, extend=absl_flags.FLAGS.extend)
    return run_main(work, argv)
def _start_multi_worker(fv):
    """MultiWorkerMirroredStrategy must exist before TensorFlow starts (it configures collective
    ops at start-up), so it is created here, before the trainer reads data or builds networks."""
    if "distribute" in fv and fv["distribute"].value == "multi_worker":
        from training.devices import multi_worker_strategy  # noqa: PLC0415 (imports TensorFlow)
        multi_worker_strategy()


def define_person_data_flags(fv, defaults, *, image_size_help):
    """--dataset --data_dir --skip_corrupt_images --image_size --flip of the person-pair trainers."""
    absl_flags.DEFINE_enum("dataset", defaults.dataset, PERSON_DATASETS, "synthetic: built-in "
                           "articulated persons, generated on first use; deepfashion: a folder in "
                           "the DeepFashion pose-transfer layout (see README); deepfashion-swap: "
                           "the thesis's selection from such a folder (python -m datasets.prepare "
                           "--name=deepfashion-swap).", flag_values=fv)
    absl_flags.DEFINE_string("data_dir", None, "Dataset root (default: " + ", ".join(
        f"{k}: {v}" for k, v in PERSON_DATA_DIRS.items()) + ").", flag_values=fv)
    absl_flags.DEFINE_boolean("skip_corrupt_images", defaults.skip_corrupt_images, "Skip "
                              "undecodable images with a counted warning instead of stopping.",
                              flag_values=fv)
    absl_flags.DEFINE_integer("image_size", defaults.image_size, "Images and maps are resized to "
                              f"this ({image_size_help}).", flag_values=fv)
    absl_flags.DEFINE_boolean("flip", defaults.flip, "Random horizontal flips of a whole pair "
                              "(the thesis uses no augmentation).", flag_values=fv)
    # define_train_flags speaks of CycleGAN's domains and image pools, which these trainers lack
    fv["seed"].help = "Seed of initialisation, data order and augmentation."
    fv["num_samples"].help = "Test pairs (reference and condition) in each sample grid."
    fv["precision"].help = ("float32, or 16-bit convolutions with float32 norms, outputs and "
                            "losses (mixed_float16 adds dynamic loss scaling).")


def person_data_values(fv):
    return dict(dataset=fv.dataset, data_dir=fv.data_dir, skip_corrupt_images=fv.skip_corrupt_images,
                image_size=fv.image_size, flip=fv.flip)
