"""The configuration layer: TensorFlow-free, its name tuples agree with the builders, and the trainer
registry finds every trainer."""
import json
import subprocess
import sys

import pytest

from training import registry
from training.config import (
    GENERATOR_SETS,
    LABEL_SETS,
    SEGMENTATION_DATASETS,
    VARIANTS,
    ConfigError,
    CycleConfig,
    FCNConfig,
    SwapConfig,
    VitonConfig,
    names,
    parse_generators,
)

HEAVY = ("tensorflow", "keras", "jax", "torch", "cv2", "numpy")


def test_importing_flags_and_configs_loads_no_heavy_module():
    code = ("import json, sys; import flags.common, flags.cycle, flags.swapgan, flags.viton, flags.fcn, "
            "training.config, training.registry; "
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_a_bad_flag_is_refused_before_tensorflow_loads():
    # The error path itself must stay TensorFlow-free: any import of it would print TF's banner
    # and take seconds; checking sys.modules at exit proves it without timing anything.
    code = ("import sys, atexit\n"
            "atexit.register(lambda: print('HEAVY', any(m.split('.')[0] == 'tensorflow' "
            "for m in sys.modules)))\n"
            "sys.argv = ['training.cycle', '--M=0']\n"
            "import runpy; runpy.run_module('training.cycle', run_name='__main__')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2
    assert "error: --M=0: must be >= 1" in out.stderr
    assert "HEAVY False" in out.stdout


def test_name_tuples_match_what_the_builders_accept():
    from datasets import labels, segmentation
    from models import cycle, fcn, swapgan
    assert VARIANTS == cycle.VARIANTS
    assert GENERATOR_SETS == swapgan.GENERATOR_SETS
    assert tuple(LABEL_SETS) == tuple(labels.LABEL_SETS)
    assert SEGMENTATION_DATASETS == segmentation.SEGMENTATION_DATASETS
    assert (names.FCN_STRIDE, names.FCN_UPSAMPLING, names.FCN_PREPROCESSING) == (
        fcn.STRIDE, fcn.UPSAMPLING, fcn.PREPROCESSING)
    for text in GENERATOR_SETS + ("III, I", "II,I,III"):
        assert parse_generators(text) == swapgan.parse_generators(text)


@pytest.mark.parametrize("bad", ["I,I", "II", "I,IV", ""])
def test_parse_generators_refuses(bad):
    with pytest.raises(ValueError, match="expected one of"):
        parse_generators(bad)


def test_registry_maps_each_trainer_to_its_config_command_and_library():
    assert set(registry.TRAINERS) == {"cycle", "swapgan", "viton", "fcn"}
    for config, name in ((CycleConfig(), "cycle"), (SwapConfig(), "swapgan"), (VitonConfig(), "viton"),
                         (FCNConfig(), "fcn")):
        trainer = registry.of_config(config)
        assert trainer.name == name and trainer.command == f"training.{name}"
    library = registry.get("cycle").library()
    assert library.TRAINER == "cycle" and callable(library.train) and callable(library.build_state)
    with pytest.raises(ConfigError, match="unknown trainer 'gan'; known: cycle, swapgan, viton, fcn"):
        registry.get("gan")


def test_every_registered_library_names_itself_and_has_the_trainer_interface():
    import importlib
    for trainer in registry.TRAINERS.values():
        library = trainer.library()
        assert library.TRAINER == trainer.name
        assert callable(library.train) and callable(library.build_state)
        assert importlib.import_module(trainer.step_module)
        assert registry.of_command(trainer.command) is trainer


def test_each_trainers_flags_build_its_config():
    from absl import flags as absl_flags

    for trainer in registry.TRAINERS.values():
        define, make = trainer.flag_functions()
        fv = absl_flags.FlagValues()
        define(fv)
        fv([trainer.command, "--workdir=w", "--seed=3"])
        config = make(fv)
        assert type(config) is trainer.config and config.seed == 3 and config.workdir == "w"
    with pytest.raises(ConfigError, match="not a training command: evaluation.table81"):
        registry.of_command("evaluation.table81")
