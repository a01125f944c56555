"""`python -m training.swapgan` and `python -m evaluation.swap` end to end on tiny synthetic persons
(32 px), the Python swap API, and every bad input of the swap command."""
import io
import json
import os
import shutil
import subprocess
import sys

from absl import flags as absl_flags
import cv2
import numpy as np
import pytest

from datasets.files import DataError
from datasets.persons.pipeline import person_example
from evaluation import swap as swap_eval
from evaluation.restore import restore_networks
from tests.conftest import REPO
from tests.swapgan_helpers import checkpointed_objects, eagerly, parse, weights
from training import swapgan_trainer
from training import workdir as wd
from training.config import ConfigError, CycleConfig
from training.summaries import to_uint8

pytestmark = pytest.mark.e2e  # every test here starts the command or trains

TINY_FLAGS = ["--image_size=32", "--ngf=8", "--ndf=8", "--n_blocks=1", "--batch_size=2", "--seed=3",
              "--num_samples=2"]
REFERENCE, CONDITION = "syn_00006_1front.jpg", "syn_00007_2front.jpg"  # test identities 6 and 7


def _command(module, *args):
    return [sys.executable, "-m", module, *args]


def _start(command):
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run_all(*commands, timeout=600):
    """Runs commands concurrently (start-up and tracing dominate); their CompletedProcess-likes."""
    procs = [_start(c) for c in commands]
    results = []
    for command, p in zip(commands, procs):
        out, err = p.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(command, p.returncode, out, err))
    return results


def _train_args(workdir, data, *extra):
    return ["--dataset=synthetic", f"--data_dir={data}", *TINY_FLAGS, "--max_steps=3", "--log_every=1",
            "--sample_every=3", "--checkpoint_every=2", f"--workdir={workdir}", *extra]


@pytest.fixture(scope="module")
def cli_process(tmp_path_factory, synthetic_persons):
    """The command line training with its defaults' XLA-compiled step, started in the background
    so that the eager reference run of the first test overlaps its compilation."""
    workdir = str(tmp_path_factory.mktemp("swapcli") / "run")
    process = _start(_command("training.swapgan", *_train_args(workdir, synthetic_persons)))
    yield workdir, process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def trained(cli_process):
    workdir, process = cli_process
    _, err = process.communicate(timeout=900)
    assert process.returncode == 0, err[-3000:]
    return workdir, err


def test_the_xla_compiled_cli_run_matches_an_eager_run(cli_process, synthetic_persons, tmp_path, request):
    """The same three steps in-process, eagerly, from the same initialisation and batches, log
    the same losses; in both runs every variable of G_I, G_II, G_III and D has moved."""
    eager_dir = str(tmp_path / "eager")
    config = parse(*_train_args(eager_dir, synthetic_persons, "--nojit_compile"))
    with eagerly():
        swapgan_trainer.train(config, progress_stream=io.StringIO())
    workdir, _ = request.getfixturevalue("trained")
    compiled, eager = wd.MetricsLog(workdir).records(), wd.MetricsLog(eager_dir).records()
    assert [r["step"] for r in compiled] == [r["step"] for r in eager] == [1, 2, 3]
    for a, b in zip(compiled, eager):
        for k in (k for k in b if k[:2] in ("g/", "d/")):
            assert np.isfinite(a[k]) and a[k] == pytest.approx(b[k], rel=1e-3, abs=1e-5), (a["step"], k)
    nets = swapgan_trainer.build_nets(config)
    initial = weights(nets)
    for run in (workdir, eager_dir):
        restore_networks(run, nets.networks())
        for name, values in weights(nets).items():
            assert not any(np.array_equal(a, b) for a, b in zip(values, initial[name])), (run, name)


def test_training_writes_the_whole_workdir(trained):
    workdir, log = trained
    saved = json.loads(open(os.path.join(workdir, wd.CONFIG_FILE)).read())
    assert saved["trainer"] == "swapgan" and saved["config"]["generators"] == "I,II,III"
    assert saved["data"]["pairs"] == 6 and saved["data"]["approximate_segmentation"] is False
    assert "--generators=I,II,III" in open(os.path.join(workdir, wd.FLAGS_FILE)).read().splitlines()
    records = wd.MetricsLog(workdir).records()
    assert [r["step"] for r in records] == [1, 2, 3]
    assert {"g/adv_i", "g/adv_ii", "g/mask", "g/total", "d/real", "d/fake_i", "d/fake_ii", "d/total",
            "lr", "images_per_second"} <= set(records[-1])
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == sorted(
        ["checkpoint", "ckpt-2.index", "ckpt-2.data-00000-of-00001", "ckpt-3.index",
         "ckpt-3.data-00000-of-00001"])
    assert checkpointed_objects(workdir, 3) == {"g_i", "g_ii", "g_iii", "d", "g_optimizer",
                                                "d_optimizer", "step", "save_counter"}
    for name in ("pairs", "swap"):  # 2 rows of 9 labelled 32-px columns
        grid = cv2.imread(os.path.join(workdir, "samples", f"{name}_step0000003.png"))
        assert grid.shape[1] == 9 * 34 + 2 and grid.shape[0] > 2 * 34 + 2
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(os.path.join(workdir, "tensorboard")))
    assert "step 3/3" in log and "segmentation: LIP parsing maps" in log


def test_reruns_finish_or_refuse_changed_settings(trained, synthetic_persons, tmp_path):
    """In-process through the same flags -> config -> train path (no new process, no tracing)."""
    workdir, _ = trained
    summary = swapgan_trainer.train(parse(*_train_args(workdir, synthetic_persons)),
                                    progress_stream=io.StringIO())
    assert summary == {"start_step": 3, "final_step": 3, "finished": True}
    refused = r"(?s)choose another --workdir.*--lambda_mask: 5\.0 in .*, 2\.0 now"
    with pytest.raises(ConfigError, match=refused):
        swapgan_trainer.train(parse(*_train_args(workdir, synthetic_persons, "--lambda_mask=2")))
    with pytest.raises(ConfigError, match=r"a 'swapgan' run, not a 'cycle' run"):
        wd.record(workdir, CycleConfig(), "cycle")


def test_swap_command_and_python_api(trained, synthetic_persons, tmp_path):
    workdir, _ = trained
    test_dir = os.path.join(synthetic_persons, "test")
    reference, condition = os.path.join(test_dir, REFERENCE), os.path.join(test_dir, CONDITION)
    out = str(tmp_path / "swapped.png")
    (single,) = _run_all(_command("evaluation.swap", f"--workdir={workdir}", f"--reference={reference}",
                                  f"--condition={condition}", f"--out={out}", "--grid"))
    assert single.returncode == 0, single.stderr[-2000:]
    assert f"{out} (step 3) and {tmp_path / 'swapped_grid.png'}" in single.stdout
    written = cv2.cvtColor(cv2.imread(out), cv2.COLOR_BGR2RGB)
    assert written.shape == (32, 32, 3)
    assert cv2.imread(str(tmp_path / "swapped_grid.png")).shape[1] == 9 * 34 + 2
    # the command writes the API's result: X_GI with the reference's head pasted on
    result = swap_eval.swap(workdir, reference, condition)
    assert set(result) == {"x_gi", "x_gi_pasted", "x_gii", "m_gi", "m_gii"}
    np.testing.assert_array_equal(written, to_uint8(result["x_gi_pasted"]))
    index = swap_eval.Annotations([os.path.join(synthetic_persons, "fasion-annotation-test.csv")])
    ref = person_example(reference, index.keypoints(reference, 256),
                         swap_eval.parsing_path(reference), image_size=32)
    head = ref["h"][..., 0] > 0
    assert 0 < head.sum() < head.size / 4
    np.testing.assert_allclose(result["x_gi_pasted"][head], ref["x"][head], atol=1e-6)
    np.testing.assert_allclose(result["x_gi_pasted"][~head], result["x_gi"][~head], atol=1e-6)
    # the same images again: refused, the earlier result stays
    again = _swap_flags(f"--workdir={workdir}", f"--reference={reference}",
                        f"--condition={condition}", f"--out={out}")
    with pytest.raises(ConfigError, match="swapped.png: exists; pass --overwrite"):
        swap_eval.run_command(again)


def test_swap_pairs_file_in_batches(trained, synthetic_persons, tmp_path, capsys):
    """The dataset's own test pairs, two per forward pass (in-process: the path after flag parsing
    is the command's)."""
    workdir, _ = trained
    fv = _swap_flags(f"--workdir={workdir}", "--step=2", "--batch_size=2",
                     f"--pairs={os.path.join(synthetic_persons, 'fashion-pairs-test.csv')}",
                     f"--out_dir={tmp_path / 'pairs'}", "--grid")
    assert swap_eval.run_command(fv) == f"3 swapped images (step 2) in {tmp_path / 'pairs'}"
    assert "step 2/3" in capsys.readouterr().err  # the progress line after the first batch
    # from,to = condition, reference: outputs are named <reference>__<condition>
    stems = ["syn_00006_2front__syn_00006_1front", "syn_00007_2front__syn_00007_1front",
             "syn_00008_2front__syn_00008_1front"]
    assert sorted(os.listdir(tmp_path / "pairs")) == sorted(
        [f"{s}.png" for s in stems] + [f"{s}_grid.png" for s in stems])
    assert cv2.imread(str(tmp_path / "pairs" / f"{stems[0]}.png")).shape == (32, 32, 3)
    # Fig. 8.14's matrix: references along the top, conditions down the side
    test_dir = os.path.join(synthetic_persons, "test")
    references = [os.path.join(test_dir, n) for n in ("syn_00006_1front.jpg", "syn_00007_1front.jpg",
                                                      "syn_00008_1front.jpg")]
    fv = _swap_flags(f"--workdir={workdir}", f"--references={','.join(references)}",
                     f"--conditions={references[2]},{references[0]}", f"--out={tmp_path / 'm.png'}")
    assert swap_eval.run_command(fv).endswith("(step 3): 2 x 3 swaps")
    matrix = cv2.imread(str(tmp_path / "m.png"))
    assert matrix.shape == (3 * 34 + 2, 4 * 34 + 2, 3)
    assert (matrix[2:34, 2:34] == 255).all()  # the white corner


def _swap_flags(*args):
    fv = absl_flags.FlagValues()
    swap_eval.define_flags(fv)
    fv(["prog", *args])
    return fv


@pytest.fixture
def inputs(trained, synthetic_persons, tmp_path):
    test_dir = os.path.join(synthetic_persons, "test")
    return dict(workdir=trained[0], reference=os.path.join(test_dir, REFERENCE),
                condition=os.path.join(test_dir, CONDITION), out=str(tmp_path / "out.png"))


@pytest.mark.parametrize("case,error,message", [
    ("missing run", ConfigError, r"config\.json: not found; is .* a training workdir"),
    ("cycle run", ConfigError, r"config\.json: a 'cycle' run, not a 'swapgan' run"),
    ("no keypoint row", DataError,
     r"stranger\.jpg: no keypoint row for stranger\.jpg in .*fasion-annotation-train\.csv"),
    ("missing image", DataError, r"nobody\.jpg: image not found \(condition\)"),
    ("existing out", ConfigError, r"out\.png: exists; pass --overwrite"),
    ("no extension", ConfigError, r"out: the output must end in one of"),
    ("pairs and single", ConfigError, r"give one of .* \(got --reference/--condition and --pairs\)"),
    ("no condition", ConfigError, r"--condition missing"),
    ("bad parsing dir", DataError, r"syn_00006_1front\.png: parsing map of .* not found \(--parsing_dir\)"),
    ("out under a file", ConfigError, r"--out=.*: .*afile is a file, not a folder"),
    ("out_dir a file", ConfigError, r"--out_dir=.*afile: is a file, not a folder"),
])
def test_swap_bad_inputs_are_named(inputs, tmp_path, case, error, message):
    args = dict(inputs)
    extra = []
    if case == "missing run":
        args["workdir"] = str(tmp_path / "none")
    elif case == "cycle run":
        (tmp_path / "cycle").mkdir()
        (tmp_path / "cycle" / wd.CONFIG_FILE).write_text(json.dumps({"trainer": "cycle", "config": {}}))
        args["workdir"] = str(tmp_path / "cycle")
    elif case == "no keypoint row":
        shutil.copy(args["reference"], tmp_path / "stranger.jpg")
        args["reference"] = str(tmp_path / "stranger.jpg")
    elif case == "missing image":
        args["condition"] = str(tmp_path / "nobody.jpg")
    elif case == "existing out":
        open(args["out"], "w").close()
    elif case == "no extension":
        args["out"] = str(tmp_path / "out")
    elif case == "pairs and single":
        extra = [f"--pairs={tmp_path / 'p.csv'}"]
    elif case == "no condition":
        del args["condition"]
    elif case == "bad parsing dir":
        extra = [f"--parsing_dir={tmp_path}"]
    elif case in ("out under a file", "out_dir a file"):
        (tmp_path / "afile").write_text("mine")
        args["out"] = str(tmp_path / "afile" / "out.png")
        if case == "out_dir a file":
            persons = os.path.dirname(os.path.dirname(args.pop("reference")))
            del args["condition"], args["out"]
            extra = [f"--pairs={os.path.join(persons, 'fashion-pairs-test.csv')}",
                     f"--out_dir={tmp_path / 'afile'}"]
    fv = _swap_flags(*[f"--{k}={v}" for k, v in args.items()], *extra)
    with pytest.raises(error, match=message):
        swap_eval.run_command(fv)
    assert not os.path.exists(tmp_path / "out.png") or case == "existing out"
