"""Shared fixtures: the facades (the real ones in ../shared, else the built-in synthetic ones) and
tiny CPU-sized configurations."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pathlib  # noqa: E402

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
FACADES = REPO.parent / "shared" / "data" / "facades"
TINY = dict(image_size=32, load_size=36, ngf=8, ndf=8, n_blocks=2)


def have_real_facades():
    return (FACADES / "trainA").is_dir()


@pytest.fixture(scope="session")
def real_facades():
    """The real CMP facades; tests of their contents skip, with the reason, where they are absent."""
    if not have_real_facades():
        pytest.skip(f"{FACADES}: the real facades are not beside the repository (../shared)")
    return str(FACADES)


@pytest.fixture(scope="session")
def facades(tmp_path_factory):
    """A facades folder in the unpaired layout: the real one in ../shared where it exists, else the
    built-in synthetic facades (same layout, photo/label pairs), so the suite runs anywhere."""
    if have_real_facades():
        return str(FACADES)
    from datasets.synthetic_facades import ensure_synthetic_facades

    return ensure_synthetic_facades(str(tmp_path_factory.mktemp("facades") / "synthetic-facades"),
                                    n_train=24, n_test=12, size=96)


@pytest.fixture
def tiny_config(tmp_path, facades):
    """A factory of 32-px CycleConfigs on the real facades, writing under tmp_path."""
    from training.config import CycleConfig

    def make(**overrides):
        values = dict(workdir=str(tmp_path / "run"), dataset="unpaired", data_dir=facades, **TINY,
                      log_every=1, sample_every=1000, checkpoint_every=1000, num_samples=2)
        values.update(overrides)
        return CycleConfig(**values)

    return make


@pytest.fixture(scope="session")
def synthetic_persons(tmp_path_factory):
    """A tiny synthetic persons set in the DeepFashion layout (6 training, 3 test identities of
    two poses each), shared by the SwapGAN tests; --dataset=synthetic uses it as it is."""
    from datasets.persons.synthetic import ensure_synthetic_persons

    root = tmp_path_factory.mktemp("persons") / "synthetic-persons"
    return ensure_synthetic_persons(str(root), n_train=6, n_test=3)


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: trains end to end through an entry point (slower)")
