"""Frozen run configurations: the one object an entry point builds from flags.

Every trainer's configuration lives in this package, with the names its fields may take
(``names``). Nothing here imports TensorFlow, Keras or our networks, so flags are parsed and refused
in about a second. Field names equal flag names, so a validation error can name the flag. A config
round-trips through ``config.json`` in the workdir, which is how resumed runs and evaluation rebuild
the same models.
"""
from training.config.base import (
                                  RESUMABLE_FIELDS,
                                  ConfigError,
                                  TrainConfig,
                                  absolute_data_dir,
                                  check_flag,
                                  resolve_default,
)
from training.config.cycle import CycleConfig
from training.config.fcn import FCNConfig
from training.config.names import (
                                  DATASETS,
                                  DEFAULT_DATA_DIRS,
                                  DIRECTIONS,
                                  DISTRIBUTE,
                                  GENERATOR_SETS,
                                  LABEL_SETS,
                                  PERSON_DATA_DIRS,
                                  PERSON_DATASETS,
                                  PRECISIONS,
                                  SEGMENTATION_DATASETS,
                                  VARIANTS,
                                  WEIGHT_DECAY_MODES,
                                  parse_generators,
)
from training.config.persons import PersonRunConfig, SwapConfig, VitonConfig

__all__ = ["RESUMABLE_FIELDS", "ConfigError", "TrainConfig", "absolute_data_dir", "check_flag",
           "resolve_default", "CycleConfig", "FCNConfig", "PersonRunConfig", "SwapConfig",
           "VitonConfig", "DATASETS", "DEFAULT_DATA_DIRS", "DIRECTIONS", "DISTRIBUTE", "GENERATOR_SETS",
           "LABEL_SETS", "PERSON_DATA_DIRS", "PERSON_DATASETS", "PRECISIONS", "SEGMENTATION_DATASETS",
           "VARIANTS", "WEIGHT_DECAY_MODES", "parse_generators"]
