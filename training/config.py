"""Frozen run configurations: the one object an entry point builds from flags.

Field names equal flag names, so a validation error can name the flag. A config round-trips through
``config.json`` in the workdir, which is how resumed runs and evaluation rebuild the same models.
"""
import dataclasses
import json
import math
import os

from datasets.persons import PERSON_DATA_DIRS, PERSON_DATASETS
from models.cycle import VARIANTS
from models.swapgan import GENERATOR_SETS, parse_generators

DATASETS = ("synthetic", "unpaired", "pix2pix")
DIRECTIONS = ("AtoB", "BtoA")
WEIGHT_DECAY_MODES = ("decoupled", "l2")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
DISTRIBUTE = ("none", "mirrored", "multi_worker")
DEFAULT_DATA_DIRS = {"unpaired": "data/facades", "pix2pix": "data/facades-pix2pix",
                     "synthetic": "data/synthetic-facades"}
# Fields that may change between a run and its resumption without changing what is computed.
RESUMABLE_FIELDS = frozenset({"workdir", "log_every", "sample_every", "checkpoint_every",
                              "keep_checkpoints", "num_samples", "jit_compile", "cache_decoded",
                              "distribute"})


class ConfigError(ValueError):
    """A flag value that cannot work; the message starts with the flag."""


def resolve_default(config, name, value):
    """Fills a field left as None with its derived default (the dataclass is frozen)."""
    if getattr(config, name) is None:
        object.__setattr__(config, name, value)


def check_flag(ok, flag, value, reason):
    if not ok:
        raise ConfigError(f"--{flag}={value}: {reason}")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Settings every trainer shares (loop, optimiser, schedule, logging)."""

    workdir: str = "runs/default"
    seed: int = 0
    batch_size: int = 1
    epochs: int = 200
    decay_epochs: int | None = None  # linear decay to zero over the last ones; None: epochs // 2
    max_steps: int = 0               # > 0 overrides the length given by epochs
    learning_rate: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 5e-4       # thesis 8.1.3
    weight_decay_mode: str = "decoupled"  # keras Adam's decoupled decay, or a TF1-style L2 penalty
    log_every: int = 100
    sample_every: int = 1000
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    num_samples: int = 4             # images per domain in the sample grids
    jit_compile: bool | str = "auto"  # "auto": XLA on GPUs, TensorFlow's kernels on CPUs
    precision: str = "float32"
    distribute: str = "none"

    def __post_init__(self):
        resolve_default(self, "decay_epochs", self.epochs // 2)
        for field in dataclasses.fields(self):  # nan/inf pass every comparison below unnoticed
            value = getattr(self, field.name)
            if isinstance(value, float):
                check_flag(math.isfinite(value), field.name, value, "must be a finite number")
        check_flag(bool(self.workdir), "workdir", self.workdir, "must not be empty")
        check_flag(0 <= self.seed < 2 ** 31, "seed", self.seed, "must lie in [0, 2^31)")
        check_flag(self.batch_size >= 1, "batch_size", self.batch_size, "must be >= 1")
        check_flag(self.epochs >= 1, "epochs", self.epochs, "must be >= 1")
        check_flag(0 <= self.decay_epochs <= self.epochs, "decay_epochs", self.decay_epochs,
                   f"must lie in [0, --epochs={self.epochs}]")
        check_flag(self.max_steps >= 0, "max_steps", self.max_steps, "must be >= 0 (0: use --epochs)")
        check_flag(self.learning_rate > 0, "learning_rate", self.learning_rate, "must be > 0")
        check_flag(0 <= self.beta1 < 1, "beta1", self.beta1, "must lie in [0, 1)")
        check_flag(0 <= self.beta2 < 1, "beta2", self.beta2, "must lie in [0, 1)")
        check_flag(self.weight_decay >= 0, "weight_decay", self.weight_decay, "must be >= 0")
        check_flag(self.weight_decay_mode in WEIGHT_DECAY_MODES, "weight_decay_mode",
                   self.weight_decay_mode, f"must be one of {', '.join(WEIGHT_DECAY_MODES)}")
        check_flag(self.jit_compile in (True, False, "auto"), "jit_compile", self.jit_compile,
                   "must be auto, true or false")
        check_flag(self.precision in PRECISIONS, "precision", self.precision,
                   f"must be one of {', '.join(PRECISIONS)}")
        check_flag(self.distribute in DISTRIBUTE, "distribute", self.distribute,
                   f"must be one of {', '.join(DISTRIBUTE)}")
        for name in ("log_every", "sample_every", "checkpoint_every", "keep_checkpoints", "num_samples"):
            check_flag(getattr(self, name) >= 1, name, getattr(self, name), "must be >= 1")

    def total_steps(self, steps_per_epoch):
        return self.max_steps or self.epochs * steps_per_epoch

    def to_dict(self):
        return dataclasses.asdict(self)

    def inapplicable_fields(self):
        """Fields whose flags this configuration does not use (left out of flags.txt)."""
        return frozenset()

    def flag_items(self):
        """(flag, value) pairs of a flagfile that reproduces this config."""
        skip = self.inapplicable_fields()
        return [(k, v) for k, v in self.to_dict().items() if k not in skip]

    @classmethod
    def from_dict(cls, values):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} fields: {', '.join(unknown)}")
        return cls(**values)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))


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




def absolute_data_dir(config, default):
    """Fills data_dir (default by dataset) and makes it absolute, so that a rerun from another
    folder cannot read other data."""
    resolve_default(config, "data_dir", default)
    if config.data_dir:
        object.__setattr__(config, "data_dir", os.path.abspath(os.path.expanduser(config.data_dir)))


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
