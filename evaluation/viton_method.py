"""A trained VITON run (``python -m training.viton``) as a swap method of Table 8.2."""
import tensorflow as tf

from evaluation.methods import SwapMethod, paste_head
from evaluation.restore import restore_networks
from models.viton import viton_input
from training import workdir as wd
from training.config import VitonConfig
from training.viton_trainer import TRAINER, build_net


class VitonMethod(SwapMethod):
    """VITON's coarse output for the reference's agnostic representation and the condition's
    clothes, inference mode (moving batch-norm statistics, no dropout), reference head pasted."""

    name = "VITON"
    reference_keys = ("x", "m", "h", "heat")
    condition_keys = ("x", "s")

    def __init__(self, config, net, step):
        super().__init__()
        self.config, self.net, self.step = config, net, step
        self.image_size = config.image_size
        shape_side = config.shape_side

        def outputs(heat_r, m_r, x_r, h_r, x_c, s_c):
            return net(viton_input(heat_r, m_r, x_r, h_r, x_c, s_c, shape_side), training=False)

        self._run = tf.function(outputs, reduce_retracing=True)

    @classmethod
    def from_workdir(cls, workdir, step=None):
        """The network of a VITON workdir at its newest checkpoint (or ``step``); ConfigError for
        a missing workdir or checkpoint, a run of another trainer, or non-finite weights."""
        config = wd.read_config(workdir, VitonConfig, TRAINER)
        net = build_net(config)
        return cls(config, net, restore_networks(workdir, {"viton": net}, step))

    def outputs(self, reference, condition):
        """(image, clothes mask) numpy outputs of the network, before the head is pasted."""
        image, mask = self._run(reference["heat"], reference["m"], reference["x"], reference["h"],
                                condition["x"], condition["s"])
        return image.numpy(), mask.numpy()

    def _generate(self, reference, condition):
        return paste_head(self.outputs(reference, condition)[0], reference)
