"""The train step of training/cycle_step.py as one stateless, jitted JAX function.

Same computation, explicit state: ``train_step(state, batch) -> (new_state, metrics)``, where
``state`` is a pytree of arrays (every generator and discriminator weight, both Adams' slots, both
image pools and the step) and ``metrics`` has the TF step's keys. The objectives are the unchanged
``models.cycle.generator_losses`` / ``discriminator_losses``, run inside ``keras.StatelessScope``
with the Keras variables mapped to the state's arrays; the updates are Keras' own Adam
(``training.optim.make_adam``) through ``optimizer.stateless_apply``. So the two steps differ only
in the backend's kernels and in the pools' random numbers (JAX's RNG, not TF's; same law).

Keras must run on the JAX backend in this process: set ``KERAS_BACKEND=jax`` before anything
imports keras. Nothing on this path imports TensorFlow (``training/cycle_step.py``, ``pool.py``
and ``cycle_trainer.py`` do, so this module imports none of them).

Precision: ``precision="bfloat16"`` builds the networks under Keras' ``mixed_bfloat16`` policy
(float32 weights, Adam slots, pools and losses' inputs; bfloat16 convolutions). ``float32`` is the
TF step's arithmetic. TF32 matmuls on GPUs follow JAX's default precision.
"""
import dataclasses

import jax
import jax.numpy as jnp
import keras

from models.cycle import build_cycle_nets, discriminator_losses, generator_losses
from training.optim import make_adam

POOL_SALT_A, POOL_SALT_B = 1, 2  # the salts of training/cycle_step.py (which imports TensorFlow)
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


@dataclasses.dataclass(frozen=True)
class JaxCycle:
    """The stateful Keras objects that define the step; their values live in ``state``."""

    nets: object
    g_optimizer: keras.optimizers.Optimizer
    d_optimizer: keras.optimizers.Optimizer
    state: dict


def _check_backend():
    if keras.backend.backend() != "jax":
        raise RuntimeError(f"training.jax_step needs Keras' JAX backend, but keras runs on "
                           f"{keras.backend.backend()!r}: set KERAS_BACKEND=jax before importing keras")


def init(config, total_steps, precision="float32"):
    """Networks, optimisers (built) and the initial state of a ``config`` run, as a JaxCycle.

    Networks are built exactly as ``training.cycle_trainer.build_nets`` builds them; ``precision``
    picks the Keras dtype policy they are built under (see the module doc).
    """
    _check_backend()
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(PRECISIONS[precision])
    try:
        nets = build_cycle_nets(M=config.M, N=config.N, ngf=config.ngf, ndf=config.ndf,
                                n_blocks=config.n_blocks, share_weights=config.share_weights,
                                seed=config.seed)
    finally:
        keras.config.set_dtype_policy(previous)
    g_opt = make_adam(config, total_steps, "g_optimizer")
    d_opt = make_adam(config, total_steps, "d_optimizer")
    g_opt.build(nets.generator_variables)
    d_opt.build(nets.discriminator_variables)
    return JaxCycle(nets, g_opt, d_opt, make_jax_state(nets, g_opt, d_opt, config))


def make_jax_state(nets, g_opt, d_opt, config):
    """The state pytree holding the current values of the Keras variables (not copies), empty pools
    of ``config.pool_size`` images of ``config.image_size`` and step 0. Optimisers must be built on
    ``nets.generator_variables`` / ``nets.discriminator_variables``, in that order."""
    _check_backend()
    for opt, variables in ((g_opt, nets.generator_variables), (d_opt, nets.discriminator_variables)):
        if not opt.built or [id(v) for v in opt._trainable_variables] != [id(v) for v in variables]:
            raise ValueError(f"{opt.name} must be built on exactly the variables it updates")
    shape = (config.pool_size, config.image_size, config.image_size, 3)
    pool = lambda: {"images": jnp.zeros(shape, jnp.float32), "count": jnp.zeros((), jnp.int32)}  # noqa: E731
    return {
        "g": [v.value for v in nets.generator_variables],
        "d": [v.value for v in nets.discriminator_variables],
        "g_opt": [v.value for v in g_opt.variables],
        "d_opt": [v.value for v in d_opt.variables],
        "pool_a": pool(), "pool_b": pool(),
        "step": jnp.zeros((), jnp.int32),
    }


def assign_state(state, nets, g_opt, d_opt):
    """Writes a state's weights and optimiser slots back into the Keras variables (e.g. to save)."""
    pairs = ((nets.generator_variables, state["g"]), (nets.discriminator_variables, state["d"]),
             (g_opt.variables, state["g_opt"]), (d_opt.variables, state["d_opt"]))
    for variables, values in pairs:
        for variable, value in zip(variables, values):
            variable.assign(value)


def pool_query(pool, images, key):
    """(new_pool, images to show D): training/pool.py's rule with explicit state.

    For each image: while filling, store and return it; afterwards, with probability 1/2 return a
    stored image and store the new one in its place, else return the new one.
    """
    size = pool["images"].shape[0]
    if size == 0:
        return pool, images
    buffer, count = pool["images"], pool["count"]
    outputs = []
    for i in range(images.shape[0]):  # static batch, like the TF pool
        coin, pick = jax.random.uniform(jax.random.fold_in(key, i), (2,))
        image = images[i].astype(buffer.dtype)
        filling = count < size
        index = jnp.where(filling, count, jnp.minimum((pick * size).astype(jnp.int32), size - 1))
        swap = jnp.logical_and(jnp.logical_not(filling), coin < 0.5)
        stored = buffer[index]
        outputs.append(jnp.where(swap, stored, image))
        buffer = buffer.at[index].set(jnp.where(jnp.logical_or(filling, swap), image, stored))
        count = jnp.minimum(count + 1, size)
    return {"images": buffer, "count": count}, jnp.stack(outputs)


def pool_key(seed, salt, step):
    """Stateless key of (seed, salt, step), as the TF step seeds its pools."""
    return jax.random.fold_in(jax.random.key(seed * 16 + salt), step)


def _mapping(variables, values):
    return list(zip(variables, values))


def make_jax_train_step(nets, g_opt, d_opt, config, *, jit=True, donate=None):
    """Returns ``train_step(state, batch) -> (new_state, metrics)``, ``jax.jit``-compiled.

    One call: the generator objective of ``config.variant`` and one Adam update of all generators;
    the newest fakes go through the pools; one Adam update of both discriminators; step += 1.
    ``metrics`` holds every 'g/...' and 'd/...' term and 'lr', as the TF step returns them.
    ``donate`` (default: on accelerators only, where XLA implements it) lets the new state reuse
    the old state's buffers: the arrays passed in, and so the Keras variables a fresh state was
    read from, are invalid afterwards (``assign_state`` writes a state back).
    """
    _check_backend()
    g_vars, d_vars = nets.generator_variables, nets.discriminator_variables
    loss_kwargs = dict(variant=config.variant, lambda_cycle=config.lambda_cycle,
                       lambda_sim=config.lambda_sim, lambda_identity=config.lambda_identity)
    seed, halve = int(config.seed), config.halve_d_loss

    def g_loss(g_values, d_values, a, b):
        with keras.StatelessScope(state_mapping=_mapping(g_vars, g_values) + _mapping(d_vars, d_values)):
            terms, paths = generator_losses(nets, a, b, training=True, **loss_kwargs)
        return terms["g/total"], (terms, paths["a2b"], paths["b2a"])

    def d_loss(d_values, a, b, fake_a, fake_b):
        with keras.StatelessScope(state_mapping=_mapping(d_vars, d_values)):
            terms = discriminator_losses(nets, a, b, fake_a, fake_b, halve=halve)
        return terms["d/total"], terms

    def train_step(state, batch):
        a, b = batch["a"], batch["b"]
        with keras.StatelessScope(state_mapping=_mapping(g_opt.variables, state["g_opt"])):
            lr = keras.ops.cast(g_opt.learning_rate, "float32")  # before the update, as the TF step
        (_, (g_terms, a2b, b2a)), g_grads = jax.value_and_grad(g_loss, has_aux=True)(
            state["g"], state["d"], a, b)
        g_new, g_opt_new = g_opt.stateless_apply(state["g_opt"], g_grads, state["g"])
        pool_a, fake_a = pool_query(state["pool_a"], b2a, pool_key(seed, POOL_SALT_A, state["step"]))
        pool_b, fake_b = pool_query(state["pool_b"], a2b, pool_key(seed, POOL_SALT_B, state["step"]))
        (_, d_terms), d_grads = jax.value_and_grad(d_loss, has_aux=True)(state["d"], a, b, fake_a, fake_b)
        d_new, d_opt_new = d_opt.stateless_apply(state["d_opt"], d_grads, state["d"])
        new_state = {"g": g_new, "d": d_new, "g_opt": g_opt_new, "d_opt": d_opt_new,
                     "pool_a": pool_a, "pool_b": pool_b, "step": state["step"] + 1}
        metrics = {k: v.astype(jnp.float32) for k, v in {**g_terms, **d_terms}.items()}
        return new_state, {**metrics, "lr": lr}

    if not jit:
        return train_step
    if donate is None:
        donate = jax.default_backend() != "cpu"
    return jax.jit(train_step, donate_argnums=(0,) if donate else ())
