"""Helpers shared by the SwapGAN test files."""
import contextlib
import warnings

from absl import flags as absl_flags
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from flags.swapgan import define_swapgan_flags, swapgan_config
from training import checkpoints as ckpt

TINY = dict(image_size=32, ngf=8, ndf=8, n_blocks=1, batch_size=2, seed=3)


def parse(*args):
    """The SwapConfig of a command line of ``python -m training.swapgan``."""
    fv = absl_flags.FlagValues()
    define_swapgan_flags(fv)
    fv(["prog", *args])
    return swapgan_config(fv)


@contextlib.contextmanager
def eagerly():
    """tf.functions run as Python: a tiny SwapGAN step costs about a CPU second eagerly, while
    tracing it costs about 12 and compiling it with XLA about 40."""
    tf.config.run_functions_eagerly(True)
    try:
        with warnings.catch_warnings():  # "... does not apply to tf.data functions": as intended
            warnings.filterwarnings("ignore", "Even though the `tf.config.experimental_run_functions")
            yield
    finally:
        tf.config.run_functions_eagerly(False)


def weights(nets):
    """{network name: [copies of its trainable variables]}."""
    return {name: [v.numpy().copy() for v in net.trainable_variables]
            for name, net in nets.networks().items()}


def checkpointed_objects(workdir, step):
    """Names of the objects a run's checkpoint holds at its root (networks, optimisers, step)."""
    reader = tf.train.load_checkpoint(ckpt.path_of(workdir, step))
    graph = trackable_object_graph_pb2.TrackableObjectGraph.FromString(
        reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    return {child.local_name for child in graph.nodes[0].children}
