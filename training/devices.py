"""Where and how a train step runs: XLA or TensorFlow's kernels, the precision policy, and the
tf.distribute strategy. Every trainer builds its state inside ``Runtime.scope()`` and compiles its
step with ``Runtime.compile``, so the three choices are made once, here.

* ``--jit_compile=auto`` (default) is XLA on GPUs; on a CPU the step is timed both ways on its
  first call and the faster is kept (training/autojit.py); ``true``/``false`` force it.
* ``--precision=mixed_bfloat16|mixed_float16`` computes convolutions in 16 bits; instance-norm
  statistics, network outputs, losses and the image pools stay float32 (models/layers.py reads the
  policy), and float16 uses dynamic loss scaling. ``float32`` builds exactly today's graph.
* ``--distribute=mirrored`` splits the global batch over the local GPUs (MirroredStrategy);
  ``multi_worker`` over machines configured by ``TF_CONFIG`` (MultiWorkerMirroredStrategy).
  Gradients are summed across replicas by the Keras optimiser, so each replica divides its loss
  by the replica count (``gradient_loss``). XLA is not used under a strategy.
"""
import contextlib
import dataclasses
import json
import os

from absl import logging
import keras
import tensorflow as tf

from training.autojit import MeasuredJit
from training.config import ConfigError
from training.optim import make_adam

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
DISTRIBUTE = ("none", "mirrored", "multi_worker")


def has_gpu():
    return bool(tf.config.list_physical_devices("GPU"))


def use_xla(jit_compile):
    """The --jit_compile setting ('auto', True, False) resolved for this machine without measuring:
    auto is XLA on GPUs and TensorFlow's kernels on CPUs (where a trainer's ``Runtime`` measures)."""
    return has_gpu() if jit_compile == "auto" else bool(jit_compile)


def measures_jit(jit_compile, distribute="none"):
    """Whether --jit_compile=auto is decided by timing the step (on a CPU, without a strategy)."""
    return jit_compile == "auto" and distribute == "none" and not has_gpu()


def make_strategy(distribute):
    if distribute == "mirrored":  # this machine's GPUs; without any, its logical CPU devices
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if distribute == "multi_worker":
        return multi_worker_strategy()
    return tf.distribute.get_strategy()  # the default (no-op) strategy


_MULTI_WORKER = []  # the process's one MultiWorkerMirroredStrategy, once created


def multi_worker_strategy():
    """The process's MultiWorkerMirroredStrategy (TF_CONFIG's cluster), created on first use.

    Collective ops are configured when TensorFlow's context starts, so this must run before
    anything creates a tensor (reading data, building a network): ``flags.common.run_main`` calls
    it first for ``--distribute=multi_worker``, and trainers reuse the same object."""
    if not _MULTI_WORKER:
        try:
            _MULTI_WORKER.append(tf.distribute.MultiWorkerMirroredStrategy())
        except RuntimeError as e:
            raise ConfigError("--distribute=multi_worker: TensorFlow was started before the "
                              f"strategy could be created ({e}); create it first, as "
                              "flags.common.run_main does") from e
    return _MULTI_WORKER[0]


def gradient_loss(loss, optimizer):
    """What a replica differentiates: its loss / replica count (the optimiser sums gradients over
    replicas), times the loss scale under float16 (the LossScaleOptimizer unscales). Call it
    inside the GradientTape, or the tape never sees these operations."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        loss = loss / replicas
    return optimizer.scale_loss(loss)  # the identity unless a loss scale is set


def step_counter():
    """The step variable of a run's state; under a strategy every replica advances it and the
    first replica's count is kept."""
    return tf.Variable(0, dtype=tf.int64, trainable=False, name="step",
                       aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


def replica_salt():
    """A per-replica integer for stateless randomness (0 without a strategy)."""
    context = tf.distribute.get_replica_context()
    if context is None or tf.distribute.get_strategy().num_replicas_in_sync == 1:
        return None
    return tf.cast(context.replica_id_in_sync_group, tf.int64)


@dataclasses.dataclass
class Runtime:
    """The resolved execution choices of one run."""

    strategy: object
    precision: str = "float32"
    xla: bool = False
    distributed: bool = False
    measure_jit: bool = False  # --jit_compile=auto on a CPU: the step's first call decides

    @classmethod
    def of(cls, config):
        distributed = config.distribute != "none"
        xla = use_xla(config.jit_compile)
        if distributed and xla:
            logging.info("--distribute=%s runs TensorFlow's kernels; XLA is not used under a strategy",
                         config.distribute)
            xla = False
        return cls(make_strategy(config.distribute), config.precision, xla, distributed,
                   measures_jit(config.jit_compile, config.distribute))

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync

    def workdir(self, workdir):
        """The chief trains in ``workdir``; other workers of a multi-worker run keep their own
        copy of the run (all workers must write checkpoints) in workers/<index>."""
        index = worker_index() if self.distributed else 0
        return workdir if index == 0 else os.path.join(workdir, "workers", str(index))

    @contextlib.contextmanager
    def scope(self):
        """Networks, optimisers, pools and the step counter are created inside this."""
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.precision)
        try:
            with self.strategy.scope():
                yield
        finally:
            keras.config.set_dtype_policy(previous)

    def adam(self, config, total_steps, name, variables):
        """The run's Adam (``training.optim.make_adam``), wrapped for float16 loss scaling and
        built for ``variables`` (its slots must exist before a checkpoint is restored or a step
        traced); call inside ``scope``."""
        optimizer = make_adam(config, total_steps, name)
        if self.precision == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer, name=optimizer.name)
        optimizer.build(variables)
        return optimizer

    def compile(self, step_fn):
        """``step_fn(batch) -> dict`` as one compiled call; under a strategy each replica runs it
        on its share of the batch and the returned values are averaged over replicas."""
        if self.measure_jit:
            return MeasuredJit(step_fn)
        if not self.distributed:
            return tf.function(step_fn, jit_compile=self.xla)
        strategy = self.strategy

        @tf.function
        def distributed_step(batch):
            out = strategy.run(step_fn, args=(batch,))
            return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in out.items()}

        return distributed_step

    def batches(self, dataset):
        """Splits each global batch of a tf.data stream over the replicas (in order)."""
        if not self.distributed:
            return dataset
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return self.strategy.experimental_distribute_dataset(dataset.with_options(options))

    def check_batch(self, batch_size):
        if batch_size % self.replicas:
            raise ConfigError(f"--batch_size={batch_size}: must be a multiple of the {self.replicas} "
                              "replicas of --distribute (it is the global batch)")


def _multi_worker_of(variable):
    strategy = getattr(variable, "distribute_strategy", None)
    return strategy if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) else None


def gather_across_workers(variable, value):
    """``value`` (an int) from every worker of the multi-worker strategy that owns ``variable``,
    as a list (one entry per replica); None without such a strategy. A collective: every worker
    must call it at the same point."""
    strategy = _multi_worker_of(variable)
    if strategy is None:
        return None

    @tf.function
    def gather():
        per_replica = strategy.run(lambda: tf.constant([value], tf.int64))
        return strategy.gather(per_replica, axis=0)

    return [int(v) for v in gather().numpy()]


def worker_index():
    """This machine's task index under TF_CONFIG (0 without it: the chief)."""
    task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {})
    return int(task.get("index", 0)) if task.get("type", "worker") in ("worker", "chief") else 0
