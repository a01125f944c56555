"""Flags -> CycleConfig: thesis defaults, derived values and clear errors naming the flag."""
import os

from absl import flags as absl_flags
import pytest

from flags.cycle import cycle_config, define_cycle_flags
from training.config import ConfigError, CycleConfig


def parse(*args):
    fv = absl_flags.FlagValues()
    define_cycle_flags(fv)
    fv(["prog", *args])
    return cycle_config(fv)


def test_defaults_are_the_thesis_settings():
    c = parse()
    assert (c.variant, c.M, c.N, c.batch_size, c.epochs, c.decay_epochs) == ("long", 2, 2, 1, 200, 100)
    assert (c.learning_rate, c.beta1, c.beta2, c.weight_decay) == (2e-4, 0.5, 0.999, 5e-4)
    assert (c.lambda_cycle, c.lambda_identity, c.pool_size) == (10.0, 0.0, 50)
    assert (c.image_size, c.load_size, c.n_blocks, c.ngf, c.ndf) == (256, 286, 9, 64, 64)
    assert c.dataset == "unpaired" and c.data_dir == os.path.abspath("data/facades")
    assert c == CycleConfig()  # the library defaults and the flag defaults agree


def test_derived_defaults_follow_the_variant_and_size():
    assert (parse("--variant=vanilla").M, parse("--variant=gan").N) == (1, 1)
    assert (parse("--M=3").M, parse("--M=3").N) == (3, 3)
    assert parse("--M=3", "--N=1").N == 1
    small = parse("--image_size=128")
    assert (small.load_size, small.n_blocks) == (143, 6)
    assert parse("--dataset=synthetic").data_dir.endswith(os.path.join("data", "synthetic-facades"))
    assert parse("--epochs=10").decay_epochs == 5


@pytest.mark.parametrize("args,message", [
    (["--M=0"], r"^--M=0: must be >= 1"),
    (["--variant=nest", "--N=-1"], r"^--N=-1: must be >= 1"),
    (["--variant=vanilla", "--M=2"], r"^--M=2: --variant=vanilla has one generator per direction"),
    (["--image_size=30"], r"^--image_size=30: must be a multiple of 4"),
    (["--image_size=16"], r"^--image_size=16: .*>= 32"),
    (["--image_size=64", "--load_size=60"], r"^--load_size=60: must be >= --image_size=64"),
    (["--batch_size=0"], r"^--batch_size=0"),
    (["--epochs=10", "--decay_epochs=11"], r"^--decay_epochs=11: must lie in \[0, --epochs=10\]"),
    (["--lambda_cycle=-1"], r"^--lambda_cycle=-1.0: must be >= 0"),
    (["--variant=long", "--lambda_sim=2"], r"--lambda_sim is used by --variant=nest only"),
    (["--pool_size=-3"], r"^--pool_size=-3"),
    (["--log_every=0"], r"^--log_every=0"),
    (["--seed=-1"], r"^--seed=-1: must lie in \[0, 2\^31\)"),
    (["--learning_rate=inf"], r"^--learning_rate=inf: must be a finite number"),
    (["--weight_decay=inf"], r"^--weight_decay=inf: must be a finite number"),
    (["--lambda_cycle=nan"], r"^--lambda_cycle=nan: must be a finite number"),
])
def test_bad_values_name_their_flag(args, message):
    with pytest.raises(ConfigError, match=message):
        parse(*args)


def test_unknown_enum_values_are_rejected_by_absl():
    with pytest.raises(absl_flags.IllegalFlagValueError):
        parse("--variant=cyclic")


def test_config_round_trips_through_its_dict():
    c = parse("--variant=nest", "--M=3", "--N=2", "--share_weights")
    assert CycleConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ConfigError, match="unknown CycleConfig fields: bogus"):
        CycleConfig.from_dict({**c.to_dict(), "bogus": 1})


@pytest.mark.parametrize("args", [["--variant=gan"], ["--variant=vanilla"], ["--variant=long", "--M=3"],
                                  ["--variant=nest", "--M=2", "--N=3", "--lambda_sim=0.5"]])
def test_the_flags_file_of_a_run_reproduces_its_config(tmp_path, args):
    from training.workdir import flag_lines
    config = parse(*args, "--image_size=64", "--weight_decay_mode=l2", "--nojit_compile")
    flagfile = tmp_path / "flags.txt"
    flagfile.write_text(flag_lines(config))
    assert ("--lambda_sim=" in flagfile.read_text()) == (config.variant == "nest")
    assert parse(f"--flagfile={flagfile}") == config
