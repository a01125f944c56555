"""Flags every trainer shares; defaults are the thesis settings (8.1.3)."""
from absl import flags as absl_flags

from training.config import TrainConfig

_DEFAULTS = TrainConfig()


def define_train_flags(fv=absl_flags.FLAGS, *, workdir, batch_size, epochs):
    """Loop, optimiser and logging flags; the trainer supplies its own workdir/batch/epochs."""
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
    absl_flags.DEFINE_float("weight_decay", _DEFAULTS.weight_decay, "Decoupled weight decay.",
                            flag_values=fv)
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
    absl_flags.DEFINE_boolean("jit_compile", _DEFAULTS.jit_compile,
                              "Compile the train step with XLA.", flag_values=fv)


def train_values(fv):
    """The TrainConfig fields from parsed flags (None where the config derives a default)."""
    return dict(
        workdir=fv.workdir, seed=fv.seed, batch_size=fv.batch_size, epochs=fv.epochs,
        decay_epochs=fv.decay_epochs,
        max_steps=fv.max_steps, learning_rate=fv.learning_rate, beta1=fv.beta1, beta2=fv.beta2,
        weight_decay=fv.weight_decay, log_every=fv.log_every, sample_every=fv.sample_every,
        checkpoint_every=fv.checkpoint_every, keep_checkpoints=fv.keep_checkpoints,
        num_samples=fv.num_samples, jit_compile=fv.jit_compile)
