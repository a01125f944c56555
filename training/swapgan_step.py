"""Train-step factory of SwapGAN (8.18, 8.19): the generators first, then the discriminator."""
import tensorflow as tf

from models.swapgan import swap_discriminator_losses, swap_generator_losses
from training.optim import l2_weight_decay
from training.update import player_update


def make_swapgan_train_step(nets, g_optimizer, d_optimizer, step, config, *, jit_compile=True,
                            runtime=None):
    """Returns ``train_step(batch) -> dict`` compiled with ``tf.function(jit_compile=...)``, or by
    ``runtime.compile`` (the run's precision, tf.distribute and XLA).

    One call: L_G (8.18) of the generators present and one Adam update of all their variables
    (G_I, G_II, G_III share ``g_optimizer``); then L_D (8.19) and one Adam update of D; ``step``
    += 1. The returned dict holds every loss term ('g/...', 'd/...') and the learning rate used
    ('lr'). ``batch`` is a dict from ``datasets.persons.pipeline.pair_batches``.

    Decisions the thesis leaves open: D learns from this step's fakes, the ones the generator
    loss saw (computed before the generator update, as the pix2pix and CycleGAN references do),
    with no image pool (the thesis mentions none for SwapGAN). L_GIII reaches no D variable:
    the masks never pass through D and D's loss stops the gradient at the fakes. With
    --weight_decay_mode=l2 each total includes its player's ``l2_penalty`` ('g/l2', 'd/l2').
    ``config`` needs lambda_mask, weight_decay and weight_decay_mode.
    """
    g_vars, d_vars = nets.generator_variables, nets.discriminator_variables
    lambda_mask = float(config.lambda_mask)
    l2 = l2_weight_decay(config)

    def train_step(batch):
        lr = tf.cast(g_optimizer.learning_rate, tf.float32)
        g_terms, paths = player_update(
            g_optimizer, g_vars,
            lambda: swap_generator_losses(nets, batch, lambda_mask=lambda_mask, training=True),
            total="g/total", l2_weight=l2, l2_key="g/l2")
        d_terms, _ = player_update(
            d_optimizer, d_vars, lambda: (swap_discriminator_losses(nets, batch, paths, training=True), None),
            total="d/total", l2_weight=l2, l2_key="d/l2")
        step.assign_add(1)
        return {**g_terms, **d_terms, "lr": lr}

    return runtime.compile(train_step) if runtime else tf.function(train_step, jit_compile=jit_compile)
