"""What every entry point shows a user before it runs: usage text and help wording."""
import ast
import pathlib
import re

from tests.conftest import REPO

ENTRY_POINTS = sorted(p for p in (*REPO.glob("training/*.py"), *REPO.glob("evaluation/*.py"),
                                  *REPO.glob("datasets/*.py"))
                      if "__main__" in p.read_text())


def test_usage_lines_carry_no_runs_of_spaces_from_line_continuations():
    assert len(ENTRY_POINTS) >= 14
    for path in ENTRY_POINTS:
        doc = ast.get_docstring(ast.parse(path.read_text()), clean=False) or ""
        for line in doc.splitlines():
            command = line.split("  #")[0].strip()  # aligned comments may keep their spaces
            assert not re.search(r"\S {2,}--", command), f"{pathlib.Path(path).name}: {line!r}"


def test_person_trainers_help_speaks_of_pairs_not_domains_or_pools():
    from absl import flags as absl_flags

    from flags.cycle import define_cycle_flags
    from flags.swapgan import define_swapgan_flags
    from flags.viton import define_viton_flags
    for define in (define_swapgan_flags, define_viton_flags):
        fv = absl_flags.FlagValues()
        define(fv)
        for name in ("seed", "precision", "num_samples"):
            assert "pool" not in fv[name].help and "domain" not in fv[name].help, (name, define)
        assert fv["num_samples"].help == "Test pairs (reference and condition) in each sample grid."
    fv = absl_flags.FlagValues()
    define_cycle_flags(fv)
    assert "pools" in fv["seed"].help and "per domain" in fv["num_samples"].help


def test_the_table_flags_example_is_a_flag_of_the_table_commands():
    from absl import flags as absl_flags

    from evaluation import table83
    source = (REPO / "evaluation" / "reproduce.py").read_text()
    example = re.search(r'"--(\w+)=100" \(Tables 8\.2 and 8\.3\)', source).group(1)
    fv = absl_flags.FlagValues()
    table83.define_flags(fv)
    assert example in fv


def test_datasets_benchmark_refuses_zero_batches():
    import pytest

    from datasets import benchmark
    from datasets.files import DataError
    with pytest.raises(DataError, match=r"--batches=0: must be >= 1"):
        benchmark.pipeline_rate(None, None, False, 0)


def test_run_main_turns_an_oserror_into_one_error_line(capsys):
    import errno

    import pytest

    from flags.common import run_main

    def unwritable():
        raise PermissionError(errno.EACCES, "Permission denied", "/results/table81.md")

    with pytest.raises(SystemExit) as e:
        run_main(unwritable)
    assert e.value.code == 2
    assert capsys.readouterr().err == "error: /results/table81.md: Permission denied\n"

    def unnamed():
        raise OSError("out.png: could not write image")

    with pytest.raises(SystemExit):
        run_main(unnamed)
    assert capsys.readouterr().err == "error: out.png: could not write image\n"


def test_native_noise_is_filtered_from_stderr_and_everything_else_kept(capfd):
    import os

    from flags.native_logs import StderrFilter
    quiet = StderrFilter()
    os.write(2, b"E0000 cuda_executor.cc:1228] failed call to cuInit: UNKNOWN ERROR (303)\n")
    os.write(2, b"Improper call to JPEG library in state 200\n")
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
    os.write(2, b"I0000 00:00:1796 port.cc:153] oneDNN custom operations are on. You may see slightly\n")
    os.write(2, b"E0000 meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: Mutation::Apply error: "
                b"fanout 'gradient_tape/d_b_1/c0_lrelu_1/LeakyRelu/LeakyReluGrad' exist for missing node\n")
    os.write(2, b"E0000 meta_optimizer.cc:967] layout failed: INVALID_ARGUMENT: something else\n")
    os.write(2, b"error: broken.jpg: cannot be decoded\n")
    os.write(2, b"partial line without newline")
    quiet.close()
    assert capfd.readouterr().err == ("E0000 meta_optimizer.cc:967] layout failed: INVALID_ARGUMENT: "
                                      "something else\n"
                                      "error: broken.jpg: cannot be decoded\n"
                                      "partial line without newline")


def test_no_line_is_lost_when_the_process_aborts():
    import subprocess
    import sys
    code = ("import os\nfrom flags.native_logs import StderrFilter\nStderrFilter()\n"
            "os.write(2, b'failed call to cuInit: no device\\nlast words\\n')\nos.abort()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, timeout=60,
                          env={"PYTHONPATH": str(REPO)})
    assert done.returncode < 0 and done.stderr == b"last words\n"



def _modules(node):
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def test_every_command_imports_the_bootstrap_before_any_library():
    """A command that loads absl, numpy, TensorFlow or one of our modules before flags.bootstrap
    prints TensorFlow's start-up lines and the CUDA noise on every run."""
    stdlib = {"os", "sys", "collections", "dataclasses", "glob", "subprocess", "tempfile", "time"}
    late = {}
    for path in ENTRY_POINTS:
        imported = [m for node in ast.parse(path.read_text()).body for m in _modules(node)]
        first = next((m for m in imported if m.split(".")[0] not in stdlib), None)
        if first != "flags.bootstrap":
            late[path.name] = first
    assert not late, f"imported before flags.bootstrap: {late}"
