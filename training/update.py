"""One player's optimiser update, shared by every TensorFlow train step: the losses under a gradient
tape, the TF1-style L2 penalty (--weight_decay_mode=l2), loss scaling (--precision=mixed_float16),
gradients and the optimiser's apply."""
import tensorflow as tf

from training.devices import gradient_loss
from training.optim import l2_penalty


def player_update(optimizer, variables, losses, *, total, l2_weight=0.0, l2_key=None):
    """Runs ``losses() -> (terms, aux)`` under a tape and applies one ``optimizer`` step to
    ``variables`` on ``terms[total]``; returns ``(terms, aux)``.

    With ``l2_weight`` > 0 the penalty of ``variables`` is recorded as ``terms[l2_key]`` and added
    into ``terms[total]`` before differentiating, so the logged total is what was minimised.
    """
    with tf.GradientTape() as tape:
        terms, aux = losses()
        if l2_weight:
            terms[l2_key] = l2_penalty(variables, l2_weight)
            terms[total] = terms[total] + terms[l2_key]
        target = gradient_loss(terms[total], optimizer)  # scaled under a LossScaleOptimizer
    optimizer.apply_gradients(zip(tape.gradient(target, variables), variables))
    return terms, aux
