"""Adam with the thesis schedule: constant learning rate, then linear decay to zero (8.1.3)."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="cyclegan_swapgan")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``base`` for steps < decay_start, then linear to 0 at ``total_steps``.

    CycleGAN's per-epoch rule, applied per step so that it also holds for --max_steps runs.
    """

    def __init__(self, base, decay_start, total_steps):
        self.base, self.decay_start, self.total_steps = float(base), int(decay_start), int(total_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        span = max(self.total_steps - self.decay_start, 1)
        frac = ops.clip((step - self.decay_start) / span, 0.0, 1.0)
        return self.base * (1.0 - frac)

    def get_config(self):
        return {"base": self.base, "decay_start": self.decay_start, "total_steps": self.total_steps}


def decay_start_step(total_steps, epochs, decay_epochs):
    """The step where decay begins: the same share of the run as (epochs - decay_epochs) / epochs."""
    return round(total_steps * (epochs - decay_epochs) / epochs)


def make_adam(config, total_steps, name):
    """One Adam per player (all generators; all discriminators), sharing the schedule.

    Weight decay (--weight_decay_mode=decoupled) is Keras' decoupled form, w -= lr * wd * w each
    step; with l2 the optimiser has none and the train step adds ``l2_penalty`` to the loss.
    Epsilon 1e-8 as in TF 1.x, where the thesis was implemented (Keras and TF1 add it to sqrt(v)
    before bias correction; PyTorch after).
    """
    schedule = ConstantThenLinearDecay(
        config.learning_rate, decay_start_step(total_steps, config.epochs, config.decay_epochs),
        total_steps)
    decoupled = config.weight_decay_mode == "decoupled" and config.weight_decay > 0
    return keras.optimizers.Adam(learning_rate=schedule, beta_1=config.beta1, beta_2=config.beta2,
                                 epsilon=1e-8, weight_decay=config.weight_decay if decoupled else None,
                                 name=name)


def l2_penalty(variables, weight_decay):
    """TF1-style coupled weight decay: weight_decay * sum(w^2) / 2 over the conv kernels (biases
    excluded), as ``tf.contrib.layers.l2_regularizer`` adds it to a loss."""
    kernels = [v for v in variables if len(v.shape) >= 2]
    return weight_decay * 0.5 * sum(ops.sum(ops.square(v)) for v in kernels)


def l2_weight_decay(config):
    """The weight of the L2 penalty a train step adds: --weight_decay under --weight_decay_mode=l2,
    else 0 (the optimiser decays, or nothing does)."""
    return config.weight_decay if config.weight_decay_mode == "l2" else 0.0
