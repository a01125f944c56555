"""The configuration of a VITON run (the coarse-stage baseline of Table 8.2), beside training.config.

Defaults follow SwapGAN's thesis setup (8.2.3) so that both train on the same pairs at the same size
and schedule: 128 px, batch 8, Adam 2e-4 (0.5, 0.999), 100 epochs with linear decay over the last 50,
no weight decay (VITON's code has none). Network and loss weights are VITON's stage 1 (see
``models.viton``): ngf 64, six stride-2 layers, dropout 0.5, L1 image and mask weights 1, perceptual
weight 3. The perceptual term needs VGG19 weights: ``vgg_weights`` "" turns it off.
"""
import dataclasses
import os

from training.config import PersonRunConfig, check_flag


@dataclasses.dataclass(frozen=True)
class VitonConfig(PersonRunConfig):
    """A VITON coarse-stage run on SwapGAN's training pairs (X_r is the target, X_c gives the
    clothes). Fields left None get derived defaults: data_dir by dataset."""

    workdir: str = "runs/viton"
    ngf: int = 64
    n_layers: int = 6
    dropout: float = 0.5
    shape_side: int = 16
    lambda_image: float = 1.0
    lambda_mask: float = 1.0
    lambda_perceptual: float = 3.0
    vgg_weights: str = ""

    def __post_init__(self):
        super().__post_init__()
        if self.vgg_weights and self.vgg_weights != "imagenet":
            object.__setattr__(self, "vgg_weights",
                               os.path.abspath(os.path.expanduser(self.vgg_weights)))
        check_flag(1 <= self.n_layers <= 10, "n_layers", self.n_layers, "must lie in [1, 10]")
        check_flag(self.image_size >= 32 and self.image_size % 2 ** self.n_layers == 0, "image_size",
                   self.image_size, f"must be >= 32 (VGG19's smallest input) and a multiple of "
                   f"{2 ** self.n_layers} (--n_layers={self.n_layers} stride-2 convs)")
        check_flag(self.ngf >= 1, "ngf", self.ngf, "must be >= 1")
        check_flag(0 <= self.dropout < 1, "dropout", self.dropout, "must lie in [0, 1)")
        check_flag(self.shape_side >= 1 and self.image_size % self.shape_side == 0, "shape_side",
                   self.shape_side, f"must divide --image_size={self.image_size} (the body shape is "
                   "area-downsampled by a whole factor)")
        for name in ("lambda_image", "lambda_mask", "lambda_perceptual"):
            check_flag(getattr(self, name) >= 0, name, getattr(self, name), "must be >= 0")

    @property
    def perceptual(self):
        """Whether the run trains with the VGG19 perceptual term."""
        return bool(self.vgg_weights) and self.lambda_perceptual > 0

    def inapplicable_fields(self):
        return frozenset() if self.vgg_weights else frozenset({"lambda_perceptual"})
