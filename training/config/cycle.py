"""The CycleGAN-family run configuration (thesis 8.1)."""
import dataclasses

from training.config.base import TrainConfig, absolute_data_dir, check_flag, resolve_default
from training.config.names import DATASETS, DEFAULT_DATA_DIRS, DIRECTIONS, VARIANTS


@dataclasses.dataclass(frozen=True)
class CycleConfig(TrainConfig):
    """A CycleGAN-family run (thesis 8.1). Defaults are the thesis settings (8.1.3).

    Fields left None get derived defaults: M = 2 for long/nest and 1 otherwise, N = M for
    long/nest, data_dir by dataset, load_size = image_size * 286 / 256, n_blocks 9 at >= 256 px
    and 6 below (CycleGAN's choices).
    """

    workdir: str = "runs/cycle"
    variant: str = "long"
    M: int | None = None
    N: int | None = None
    share_weights: bool = False
    dataset: str = "unpaired"
    data_dir: str | None = None
    direction: str = "AtoB"
    skip_corrupt_images: bool = False
    cache_decoded: bool = False
    image_size: int = 256
    load_size: int | None = None
    flip: bool = True
    ngf: int = 64
    ndf: int = 64
    n_blocks: int | None = None
    lambda_cycle: float = 10.0
    lambda_sim: float = 1.0
    lambda_identity: float = 0.0
    halve_d_loss: bool = True
    pool_size: int = 50

    def __post_init__(self):
        super().__post_init__()
        chains = self.variant in ("long", "nest")
        resolve_default(self, "M", 2 if chains else 1)
        resolve_default(self, "N", self.M if chains else 1)
        absolute_data_dir(self, DEFAULT_DATA_DIRS.get(self.dataset, ""))
        resolve_default(self, "load_size", self.image_size * 286 // 256)
        resolve_default(self, "n_blocks", 9 if self.image_size >= 256 else 6)
        check_flag(self.variant in VARIANTS, "variant", self.variant, f"must be one of {', '.join(VARIANTS)}")
        for name in ("M", "N"):
            value = getattr(self, name)
            check_flag(value >= 1, name, value, "must be >= 1")
            if self.variant in ("gan", "vanilla"):
                check_flag(value == 1, name, value,
                           f"--variant={self.variant} has one generator per direction; "
                           "use --variant=long or --variant=nest for chains")
        check_flag(self.dataset in DATASETS, "dataset", self.dataset, f"must be one of {', '.join(DATASETS)}")
        check_flag(bool(self.data_dir), "data_dir", self.data_dir, "must not be empty")
        check_flag(self.direction in DIRECTIONS, "direction", self.direction, "must be AtoB or BtoA")
        check_flag(self.image_size >= 32 and self.image_size % 4 == 0, "image_size", self.image_size,
                   "must be a multiple of 4 (two stride-2 convs in the generator) and >= 32 "
                   "(the PatchGAN map is empty below 24 px)")
        check_flag(self.load_size >= self.image_size, "load_size", self.load_size,
                   f"must be >= --image_size={self.image_size} (images are resized, then cropped)")
        for name in ("ngf", "ndf"):
            check_flag(getattr(self, name) >= 1, name, getattr(self, name), "must be >= 1")
        check_flag(self.n_blocks >= 0, "n_blocks", self.n_blocks, "must be >= 0")
        for name in ("lambda_cycle", "lambda_sim", "lambda_identity"):
            check_flag(getattr(self, name) >= 0, name, getattr(self, name), "must be >= 0")
        check_flag(self.pool_size >= 0, "pool_size", self.pool_size, "must be >= 0 (0 disables the pool)")

    def inapplicable_fields(self):
        return frozenset() if self.variant == "nest" else frozenset({"lambda_sim"})
