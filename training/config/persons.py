"""Run configurations on person pairs: SwapGAN (thesis 8.2) and its VITON baseline (Table 8.2)."""
import dataclasses
import os

from training.config.base import ConfigError, TrainConfig, absolute_data_dir, check_flag
from training.config.names import GENERATOR_SETS, PERSON_DATA_DIRS, PERSON_DATASETS, parse_generators


@dataclasses.dataclass(frozen=True)
class PersonRunConfig(TrainConfig):
    """Settings of runs on person pairs (SwapGAN, VITON): the thesis's 8.2.3 setup (batch 8, 100
    epochs with decay after 50, 128 px, no augmentation) and no weight decay, which the thesis
    states for CycleGAN only."""

    batch_size: int = 8
    epochs: int = 100
    weight_decay: float = 0.0
    dataset: str = "synthetic"
    data_dir: str | None = None
    skip_corrupt_images: bool = False
    image_size: int = 128
    flip: bool = False

    def __post_init__(self):
        super().__post_init__()
        absolute_data_dir(self, PERSON_DATA_DIRS.get(self.dataset, ""))
        check_flag(self.dataset in PERSON_DATASETS, "dataset", self.dataset,
                   f"must be one of {', '.join(PERSON_DATASETS)}")
        check_flag(bool(self.data_dir), "data_dir", self.data_dir, "must not be empty")


@dataclasses.dataclass(frozen=True)
class SwapConfig(PersonRunConfig):
    """A SwapGAN run (thesis 8.2). Defaults are the thesis settings (8.2.3): Adam 2e-4 (0.5,
    0.999), batch 8, 100 epochs with linear decay over the last 50, 128 px, lambda = 5 (8.18).

    The thesis states no weight decay for SwapGAN (it does for CycleGAN, 8.1.3), so none by
    default. ``generators`` is stored in its canonical spelling (one of GENERATOR_SETS).
    """

    workdir: str = "runs/swapgan"
    generators: str = "I,II,III"
    lambda_mask: float = 5.0
    ngf: int = 64
    ndf: int = 64
    n_blocks: int = 6
    upsample_kernel: int = 1

    def __post_init__(self):
        super().__post_init__()
        try:
            chosen = parse_generators(self.generators)
        except ValueError:
            raise ConfigError(f"--generators={self.generators}: must be one of "
                              f"{', '.join(GENERATOR_SETS)}") from None
        canonical = next(s for s in GENERATOR_SETS if frozenset(s.split(",")) == chosen)
        object.__setattr__(self, "generators", canonical)
        check_flag(self.lambda_mask >= 0, "lambda_mask", self.lambda_mask, "must be >= 0")
        check_flag(self.image_size >= 32 and self.image_size % 8 == 0, "image_size", self.image_size,
                   "must be a multiple of 8 (three stride-2 convs in Generators I and II) and >= 32 "
                   "(the pair PatchGAN map is empty below 24 px)")
        for name in ("ngf", "ndf"):
            check_flag(getattr(self, name) >= 1, name, getattr(self, name), "must be >= 1")
        check_flag(self.n_blocks >= 0, "n_blocks", self.n_blocks, "must be >= 0")
        check_flag(self.upsample_kernel in (1, 3), "upsample_kernel", self.upsample_kernel,
                   "must be 1 (the thesis's 1x1 conv after interpolation) or 3")

    @property
    def generator_set(self):
        return frozenset(self.generators.split(","))

    def inapplicable_fields(self):
        return frozenset() if "III" in self.generator_set else frozenset({"lambda_mask"})


@dataclasses.dataclass(frozen=True)
class VitonConfig(PersonRunConfig):
    """A VITON coarse-stage run (the baseline of Table 8.2) on SwapGAN's training pairs (X_r is the
    target, X_c gives the clothes). Fields left None get derived defaults: data_dir by dataset.

    Defaults follow SwapGAN's thesis setup (8.2.3) so that both train on the same pairs at the same
    size and schedule: 128 px, batch 8, Adam 2e-4 (0.5, 0.999), 100 epochs with linear decay over the
    last 50, no weight decay (VITON's code has none). Network and loss weights are VITON's stage 1
    (see ``models.viton``): ngf 64, six stride-2 layers, dropout 0.5, L1 image and mask weights 1,
    perceptual weight 3. The perceptual term needs VGG19 weights: ``vgg_weights`` "" turns it off.
    """

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
