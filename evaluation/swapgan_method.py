"""A trained SwapGAN run (``python -m training.swapgan``) as a swap method of Table 8.2.

``generate`` is the thesis's test-phase result, X_GI = G_I(X_c, P_r) with the reference head H_r
pasted (8.2.1), so SwapGAN enters the table exactly like Poisson, TPS and VITON; ``outputs`` also
gives X_GII and the masks (Table 8.3 scores X_GII).
"""
from evaluation.methods import EXAMPLE_KEYS, SwapMethod
from evaluation.swap import Swapper


class SwapGANMethod(SwapMethod):
    """SwapGAN's X_GI with H_r pasted, inference mode, at the run's image size."""

    name = "SwapGAN"
    reference_keys = EXAMPLE_KEYS  # Swapper.swap stacks every person map of both sides
    condition_keys = EXAMPLE_KEYS

    def __init__(self, swapper):
        super().__init__()
        self.swapper, self.config, self.step = swapper, swapper.config, swapper.step
        self.image_size = swapper.config.image_size

    @classmethod
    def from_workdir(cls, workdir, step=None):
        """The generators of a SwapGAN workdir at its newest checkpoint (or ``step``); ConfigError
        for a missing workdir or checkpoint, a run of another trainer, or non-finite weights."""
        return cls(Swapper.from_workdir(workdir, step))

    @property
    def has_g_ii(self):
        return "II" in self.config.generator_set

    def outputs(self, reference, condition):
        """numpy {x_gi, x_gi_pasted[, x_gii][, m_gi][, m_gii]} (images in [-1, 1])."""
        self.check(reference, condition)
        return self.swapper.swap(reference, condition)

    def _generate(self, reference, condition):
        return self.outputs(reference, condition)["x_gi_pasted"]
