"""The trainers, by the name a workdir's config.json records: what configures, runs and rebuilds each.

A new trainer is one entry here plus its modules (docs/architecture.md, "Adding a trainer"). The
registry imports no TensorFlow: ``Trainer.library()`` loads the trainer module when it is needed, so
planning a reproduction or refusing a flag stays fast.

Every trainer module provides ``TRAINER`` (its registry name), ``build_state(config, total_steps,
runtime=None)`` (all training state, one ``tf.train.Checkpoint`` from ``state.checkpoint()``),
``train(config, progress_stream=None, extend=False)`` (the shared loop with its step and sample
grids), and its step factory in ``<name>_step``.
"""
import dataclasses
import importlib

from training.config import ConfigError, CycleConfig, FCNConfig, SwapConfig, TrainConfig, VitonConfig


@dataclasses.dataclass(frozen=True)
class Trainer:
    name: str               # config.json's "trainer", the preset file's stem
    config: type            # its frozen TrainConfig subclass
    command: str            # python -m <command> trains it
    module: str             # the library module: build_state, train, sample grids
    step_module: str        # the module of its train-step factory
    flags: str              # its flags module: define_<name>_flags(fv), <name>_config(fv)
    summary: str

    def library(self):
        return importlib.import_module(self.module)

    def flag_functions(self):
        """(define_flags(fv), config(fv)) of its flags module; for entry points only (flags/)."""
        module = importlib.import_module(self.flags)
        return getattr(module, f"define_{self.name}_flags"), getattr(module, f"{self.name}_config")


TRAINERS = {t.name: t for t in (
    Trainer("cycle", CycleConfig, "training.cycle", "training.cycle_trainer", "training.cycle_step", "flags.cycle",
            "GAN / Vanilla / Long / Nest CycleGAN (8.1, Table 8.1)"),
    Trainer("swapgan", SwapConfig, "training.swapgan", "training.swapgan_trainer",
            "training.swapgan_step", "flags.swapgan", "SwapGAN and its ablations (8.2, Tables 8.2 and 8.3)"),
    Trainer("viton", VitonConfig, "training.viton", "training.viton_trainer", "training.viton_step", "flags.viton",
            "VITON's coarse stage, the baseline of Table 8.2"),
    Trainer("fcn", FCNConfig, "training.fcn", "training.fcn_trainer", "training.fcn_step", "flags.fcn",
            "the FCN-8s behind the FCN-score (8.1.4, Table 8.1)"),
)}


def get(name):
    """The registered trainer ``name``; a ConfigError lists the known ones."""
    try:
        return TRAINERS[name]
    except KeyError:
        raise ConfigError(f"unknown trainer {name!r}; known: {', '.join(TRAINERS)}") from None


def of_command(command):
    """The trainer that ``python -m <command>`` trains."""
    for trainer in TRAINERS.values():
        if trainer.command == command:
            return trainer
    raise ConfigError(f"not a training command: {command}")


def of_config(config: TrainConfig):
    """The trainer whose configuration class ``config`` is (exactly, not a subclass)."""
    for trainer in TRAINERS.values():
        if type(config) is trainer.config:
            return trainer
    raise ConfigError(f"no trainer takes a {type(config).__name__}")
