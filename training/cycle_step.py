"""Train-step factory of the CycleGAN family: generators first, then discriminators."""
import tensorflow as tf

from models.cycle import discriminator_losses, generator_losses
from training.optim import l2_weight_decay
from training.update import player_update

POOL_SALT_A, POOL_SALT_B = 1, 2


def make_cycle_train_step(nets, g_optimizer, d_optimizer, pool_a, pool_b, step, config, *,
                          jit_compile=True, runtime=None):
    """Returns ``train_step(batch) -> dict`` compiled with ``tf.function(jit_compile=...)``, or by
    ``runtime.compile`` (precision, tf.distribute and XLA as the run's --flags say).

    One call: the generator objective of ``config.variant`` and one Adam update of all generators;
    the newest fakes go through the image pools (pool_a holds fakes of A, for D_A); one Adam update
    of both discriminators; ``step`` += 1. The returned dict holds every loss term ('g/...', 'd/...')
    and the learning rate used ('lr'). ``config`` needs variant, lambda_cycle, lambda_sim,
    lambda_identity, halve_d_loss, seed, weight_decay and weight_decay_mode; with
    --weight_decay_mode=l2 each total includes its network's ``l2_penalty`` ('g/l2', 'd/l2').
    """
    g_vars, d_vars = nets.generator_variables, nets.discriminator_variables
    loss_kwargs = dict(variant=config.variant, lambda_cycle=config.lambda_cycle,
                       lambda_sim=config.lambda_sim, lambda_identity=config.lambda_identity)
    seed = int(config.seed)
    l2 = l2_weight_decay(config)

    def pool_seed(salt):
        return tf.stack([tf.constant(seed * 16 + salt, tf.int64), tf.cast(step, tf.int64)])

    def train_step(batch):
        a, b = batch["a"], batch["b"]
        lr = tf.cast(g_optimizer.learning_rate, tf.float32)
        g_terms, paths = player_update(
            g_optimizer, g_vars, lambda: generator_losses(nets, a, b, training=True, **loss_kwargs),
            total="g/total", l2_weight=l2, l2_key="g/l2")
        fake_a = pool_a(tf.stop_gradient(paths["b2a"]), pool_seed(POOL_SALT_A))
        fake_b = pool_b(tf.stop_gradient(paths["a2b"]), pool_seed(POOL_SALT_B))
        d_terms, _ = player_update(
            d_optimizer, d_vars,
            lambda: (discriminator_losses(nets, a, b, fake_a, fake_b, halve=config.halve_d_loss), None),
            total="d/total", l2_weight=l2, l2_key="d/l2")
        step.assign_add(1)
        return {**g_terms, **d_terms, "lr": lr}

    return runtime.compile(train_step) if runtime else tf.function(train_step, jit_compile=jit_compile)
