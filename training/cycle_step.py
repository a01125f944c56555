"""Train-step factory of the CycleGAN family: generators first, then discriminators."""
import tensorflow as tf

from models.cycle import discriminator_losses, generator_losses
from training.devices import gradient_loss
from training.optim import add_l2_penalty, l2_weight_decay

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
        with tf.GradientTape() as tape:
            g_terms, paths = generator_losses(nets, a, b, training=True, **loss_kwargs)
            g_terms = add_l2_penalty(g_terms, "g", g_vars, l2)
            g_target = gradient_loss(g_terms["g/total"], g_optimizer)  # recorded by the tape
        g_grads = tape.gradient(g_target, g_vars)
        g_optimizer.apply_gradients(zip(g_grads, g_vars))
        fake_a = pool_a(tf.stop_gradient(paths["b2a"]), pool_seed(POOL_SALT_A))
        fake_b = pool_b(tf.stop_gradient(paths["a2b"]), pool_seed(POOL_SALT_B))
        with tf.GradientTape() as tape:
            d_terms = add_l2_penalty(discriminator_losses(nets, a, b, fake_a, fake_b,
                                                          halve=config.halve_d_loss), "d", d_vars, l2)
            d_target = gradient_loss(d_terms["d/total"], d_optimizer)
        d_grads = tape.gradient(d_target, d_vars)
        d_optimizer.apply_gradients(zip(d_grads, d_vars))
        step.assign_add(1)
        return {**g_terms, **d_terms, "lr": lr}

    return runtime.compile(train_step) if runtime else tf.function(train_step, jit_compile=jit_compile)
