"""Train-step factory of VITON's coarse stage: one network, one optimiser, no discriminator."""
import tensorflow as tf

from models.viton import clothes_mask, viton_input, viton_objective
from training.optim import l2_weight_decay
from training.update import player_update


def viton_batch_input(batch, shape_side):
    """The network input of a pair batch (``pair_batches(..., heatmaps=True)``): the reference's
    agnostic representation and the condition's clothes."""
    return viton_input(batch["heat_r"], batch["m_r"], batch["x_r"], batch["h_r"], batch["x_c"],
                       batch["s_c"], shape_side)


def make_viton_train_step(net, optimizer, step, config, features=None, *, jit_compile=True,
                          runtime=None):
    """Returns ``train_step(batch) -> dict`` compiled with ``tf.function(jit_compile=...)``, or by
    ``runtime.compile`` (the run's precision, tf.distribute and XLA).

    One call: the outputs of ``net`` for the reference's agnostic representation and the
    condition's clothes (training mode: batch statistics, dropout), VITON's objective against X_r
    and the reference's clothes mask, one Adam update of ``net``; ``step`` += 1. Returns 'g/image',
    'g/mask', 'g/perceptual' (with ``features``), 'g/total' (with 'g/l2' under
    --weight_decay_mode=l2) and 'lr'. ``features``: the frozen VGG19 of ``models.viton``, or None.
    """
    variables = net.trainable_variables
    l2 = l2_weight_decay(config)
    weights = dict(lambda_image=config.lambda_image, lambda_mask=config.lambda_mask,
                   lambda_perceptual=config.lambda_perceptual)

    def train_step(batch):
        lr = tf.cast(optimizer.learning_rate, tf.float32)
        def losses():
            image, mask = net(viton_batch_input(batch, config.shape_side), training=True)
            return viton_objective(image, mask, batch["x_r"], clothes_mask(batch["s_r"]),
                                   features=features, **weights), None

        terms, _ = player_update(optimizer, variables, losses, total="g/total", l2_weight=l2,
                                 l2_key="g/l2")
        step.assign_add(1)
        return {**terms, "lr": lr}

    return runtime.compile(train_step) if runtime else tf.function(train_step, jit_compile=jit_compile)
