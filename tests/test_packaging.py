"""Packaging: the declared dependencies are exactly what the library imports, and no other installed
distribution provides our top-level package names (a non-editable install would overwrite it)."""
import ast
import importlib.metadata
import re
import sys
import tomllib

from tests.conftest import REPO

OURS = ("models", "training", "datasets", "evaluation", "flags")
# Imported only by optional features, declared as extras: the JAX step, the PyTorch reference.
OPTIONAL = {"jax": "jax", "torch": "bench"}
# Declared but never imported by name: tf.summary writes through it.
INDIRECT = {"tensorboard"}


def _project():
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _requirement_name(text):
    return re.split(r"[<>=!~;\[ ]", text, maxsplit=1)[0].strip().lower().replace("_", "-")


def _third_party_imports():
    found = set()
    for package in OURS:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return {m for m in found if m not in OURS and m not in sys.stdlib_module_names}


def test_no_other_distribution_provides_our_top_level_names():
    providers = importlib.metadata.packages_distributions()
    for name in OURS:
        others = {d for d in providers.get(name, []) if d.lower() != "cyclegan-swapgan"}
        assert not others, f"{name} is also provided by {sorted(others)}: install this project editable " \
                           "or into its own virtual environment"


def test_declared_dependencies_are_exactly_the_imported_ones():
    providers = importlib.metadata.packages_distributions()
    imported = _third_party_imports()
    assert {"tensorflow", "keras", "numpy", "cv2", "absl"} <= imported  # the scan sees the code
    declared = {_requirement_name(r) for r in _project()["dependencies"]}
    extras = {_requirement_name(r) for group in _project()["optional-dependencies"].values() for r in group}
    needed = set()
    for module in imported - set(OPTIONAL):
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        assert dists, f"{module} is imported but not installed"
        assert dists & declared, f"{module} (from {sorted(dists)}) is imported but not a declared dependency"
        needed |= dists & declared
    assert declared - needed == INDIRECT, f"declared but never imported: {sorted(declared - needed - INDIRECT)}"
    assert "pytest" not in declared  # a test tool, in the test extra only
    for module, extra in OPTIONAL.items():
        assert module in {_requirement_name(r) for r in _project()["optional-dependencies"][extra]}
        assert module in extras
