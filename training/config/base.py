"""What every run configuration shares: TrainConfig, ConfigError and the validation helpers."""
import dataclasses
import json
import math
import os

from training.config.names import DISTRIBUTE, PRECISIONS, WEIGHT_DECAY_MODES

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


def absolute_data_dir(config, default):
    """Fills data_dir (default by dataset) and makes it absolute, so that a rerun from another
    folder cannot read other data."""
    resolve_default(config, "data_dir", default)
    if config.data_dir:
        object.__setattr__(config, "data_dir", os.path.abspath(os.path.expanduser(config.data_dir)))
