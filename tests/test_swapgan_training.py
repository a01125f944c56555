"""SwapGAN training in-process: config and flags, the eager train step, each generator
set through the trainer, L_GIII never moving D, exact resumption. 32 px, tiny widths."""
import io
import json
import os
import shutil

from absl import flags as absl_flags
import cv2
import numpy as np
import pytest
import tensorflow as tf

from datasets.files import DataError
from datasets.persons.deepfashion import load_person_set
from datasets.persons.pipeline import fixed_pairs
from evaluation.restore import restore_networks
from models.swapgan import GENERATOR_SETS, paste_head
from tests.support import tiny_run
from tests.swapgan_helpers import TINY, checkpointed_objects, eagerly, parse, weights
from training import checkpoints as ckpt
from training import swapgan_trainer
from training import workdir as wd
from training.config import ConfigError, SwapConfig
from training.swapgan_step import make_swapgan_train_step

TERMS = {
    "I,II,III": {"g/adv_i", "g/adv_ii", "g/mask_r", "g/mask_c", "g/mask", "d/real", "d/fake_i", "d/fake_ii"},
    "I,III": {"g/adv_i", "g/mask_r", "g/mask", "d/real", "d/fake_i"},
    "I,II": {"g/adv_i", "g/adv_ii", "d/real", "d/fake_i", "d/fake_ii"},
    "I": {"g/adv_i", "d/real", "d/fake_i"},
}
GRID_COLUMNS = {"I,II,III": 9, "I,III": 7, "I,II": 7, "I": 6}  # X_c P_r X_GI pasted S_c [X_GII] X_r [masks]


# --- config and flags ---------------------------------------------------------------------------

def test_defaults_are_the_thesis_settings():
    c = parse()
    assert (c.learning_rate, c.beta1, c.beta2, c.weight_decay) == (2e-4, 0.5, 0.999, 0.0)
    assert (c.batch_size, c.epochs, c.decay_epochs, c.image_size) == (8, 100, 50, 128)
    assert (c.generators, c.lambda_mask, c.ngf, c.ndf, c.n_blocks, c.upsample_kernel) == \
        ("I,II,III", 5.0, 64, 64, 6, 1)
    assert (c.flip, c.dataset, c.workdir) == (False, "synthetic", "runs/swapgan")
    assert c.data_dir == os.path.abspath("data/synthetic-persons")
    assert parse("--dataset=deepfashion").data_dir == os.path.abspath("data/deepfashion")
    assert c == SwapConfig()  # the library defaults and the flag defaults agree
    assert SwapConfig(generators=" III, I").generators == "I,III"  # canonical spelling


@pytest.mark.parametrize("args,message", [
    (["--image_size=36"], r"^--image_size=36: must be a multiple of 8"),
    (["--image_size=24"], r"^--image_size=24: .*>= 32"),
    (["--upsample_kernel=2"], r"^--upsample_kernel=2: must be 1"),
    (["--lambda_mask=-1"], r"^--lambda_mask=-1.0: must be >= 0"),
    (["--generators=I,II", "--lambda_mask=2"], r"^--lambda_mask is used with Generator III only"),
    (["--ngf=0"], r"^--ngf=0: must be >= 1"),
    (["--n_blocks=-1"], r"^--n_blocks=-1: must be >= 0"),
    (["--batch_size=0"], r"^--batch_size=0"),
    (["--epochs=10", "--decay_epochs=20"], r"^--decay_epochs=20: must lie in \[0, --epochs=10\]"),
    (["--data_dir="], r"^--data_dir=: must not be empty"),
])
def test_bad_values_name_their_flag(args, message):
    with pytest.raises(ConfigError, match=message):
        parse(*args)


def test_bad_generator_sets_and_datasets_are_refused():
    with pytest.raises(ConfigError, match=r"^--generators=II,III: must be one of I,II,III, I,III"):
        SwapConfig(generators="II,III")
    for args in (["--generators=II"], ["--dataset=viton"]):
        with pytest.raises(absl_flags.IllegalFlagValueError):
            parse(*args)


@pytest.mark.parametrize("generators", GENERATOR_SETS)
def test_the_flags_file_reproduces_the_config(tmp_path, generators):
    run = tmp_path / "run"
    run.mkdir()
    config = parse(f"--generators={generators}", "--image_size=64", "--max_steps=7", "--flip",
                   "--weight_decay_mode=l2", "--weight_decay=1e-4", "--upsample_kernel=3",
                   f"--workdir={run}")
    wd.record(str(run), config, swapgan_trainer.TRAINER)  # what a run writes
    text = (run / wd.FLAGS_FILE).read_text()
    assert f"--generators={generators}\n" in text
    assert ("--lambda_mask=5.0\n" in text) == ("III" in generators)
    assert parse(f"--flagfile={run / wd.FLAGS_FILE}") == config


# --- the train step -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def batch(synthetic_persons):
    train = load_person_set(synthetic_persons, "train")
    return {k: tf.constant(v) for k, v in fixed_pairs(train, 2, 32).items()}


def one_step(config, batch):
    """One eager train step from the config's initialisation: (state, weights before, outputs).
    (The XLA-compiled step runs in test_swapgan_cli, where the command line trains with it.)"""
    state = swapgan_trainer.build_state(config, total_steps=10)
    before = weights(state.nets)
    step = make_swapgan_train_step(state.nets, state.g_optimizer, state.d_optimizer, state.step,
                                   config, jit_compile=False)
    with eagerly():
        out = step(batch)
    return state, before, {k: float(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def stepped(batch):
    return one_step(SwapConfig(**TINY), batch)


def test_one_step_updates_g_i_g_ii_g_iii_and_d_with_finite_losses(stepped):
    state, before, out = stepped
    assert set(out) == TERMS["I,II,III"] | {"g/total", "d/total", "lr"}
    assert all(np.isfinite(v) for v in out.values()), out
    assert out["lr"] == pytest.approx(2e-4) and int(state.step.numpy()) == 1
    assert out["g/total"] == pytest.approx(out["g/adv_i"] + out["g/adv_ii"] + 5 * out["g/mask"], rel=1e-5)
    after = weights(state.nets)
    for name in ("g_i", "g_ii", "g_iii", "d"):
        unchanged = sum(np.array_equal(b, a) for b, a in zip(before[name], after[name]))
        assert unchanged == 0, f"{unchanged} variables of {name} did not change"


def test_l2_weight_decay_mode_adds_the_penalty_to_both_players(batch):
    config = SwapConfig(**TINY, generators="I", weight_decay=1e-3, weight_decay_mode="l2")
    state, before, out = one_step(config, batch)
    for player, variables in (("g", before["g_i"]), ("d", before["d"])):
        kernels = [v for v in variables if v.ndim >= 2]
        expected = 1e-3 * 0.5 * sum(float(np.sum(np.square(k))) for k in kernels)
        assert out[f"{player}/l2"] == pytest.approx(expected, rel=1e-4)
    assert out["g/total"] == pytest.approx(out["g/adv_i"] + out["g/l2"], rel=1e-5)
    assert out["d/total"] == pytest.approx(out["d/real"] + out["d/fake_i"] + out["d/l2"], rel=1e-5)


def test_the_mask_loss_never_moves_d(stepped, batch):
    """D learns from the fakes of the step's generator forward pass, and L_GIII (8.17) never
    reaches it: with lambda = 0 instead of 5 the generators' update differs, D's is the same."""
    state5, _, out5 = stepped
    state0, _, out0 = one_step(SwapConfig(**TINY, lambda_mask=0.0), batch)
    assert out0["g/total"] == pytest.approx(out0["g/adv_i"] + out0["g/adv_ii"], rel=1e-6)
    assert out0["d/total"] == out5["d/total"] and out0["g/mask"] == out5["g/mask"]
    for a, b in zip(weights(state0.nets)["d"], weights(state5.nets)["d"]):
        np.testing.assert_array_equal(a, b)
    for name in ("g_i", "g_ii", "g_iii"):  # the mask term did train all three generators
        assert any(not np.array_equal(a, b) for a, b in zip(weights(state0.nets)[name],
                                                            weights(state5.nets)[name])), name


# --- the trainer --------------------------------------------------------------------------------

@pytest.mark.parametrize("generators", ["I,III", "I,II", "I"])
def test_each_generator_set_trains_exactly_its_networks_and_terms(tmp_path, synthetic_persons, generators):
    """The Table 8.3 ablations and the pose-only baseline, one step each (the full model: the
    command-line run of test_swapgan_cli)."""
    config = tiny_run(tmp_path / "run", synthetic_persons, generators=generators, max_steps=1)
    with eagerly():
        summary = swapgan_trainer.train(config, progress_stream=io.StringIO())
    assert summary == {"start_step": 0, "final_step": 1, "finished": True}
    record = wd.MetricsLog(config.workdir).records()[-1]
    assert {k for k in record if k[:2] in ("g/", "d/")} == TERMS[generators] | {"g/total", "d/total"}
    nets = swapgan_trainer.build_state(config, 1).nets  # the run's initialisation (same seed)
    names = {f"g_{g.lower()}" for g in config.generator_set} | {"d"}
    assert set(nets.networks()) == names
    assert checkpointed_objects(config.workdir, 1) == names | {"step", "g_optimizer", "d_optimizer",
                                                               "save_counter"}
    initial = weights(nets)
    restore_networks(config.workdir, nets.networks())
    for name, values in weights(nets).items():
        assert not any(np.array_equal(a, b) for a, b in zip(values, initial[name])), name
    for grid_name in ("pairs", "swap"):
        image = cv2.imread(os.path.join(config.workdir, wd.SAMPLES_DIR, f"{grid_name}_step0000001.png"))
        assert image.shape[1] == GRID_COLUMNS[generators] * 34 + 2


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path, synthetic_persons):
    run1, run2 = tmp_path / "run1", tmp_path / "run2"
    settings = dict(max_steps=4, checkpoint_every=2, keep_checkpoints=5)  # 3 steps per epoch
    with eagerly():
        swapgan_trainer.train(tiny_run(run1, synthetic_persons, **settings), progress_stream=io.StringIO())
        shutil.copytree(run1, run2)  # run2: run1 stopped after its step-2 checkpoint
        for f in os.listdir(run2 / wd.CHECKPOINT_DIR):
            if f.startswith("ckpt-4"):
                os.remove(run2 / wd.CHECKPOINT_DIR / f)
        summary = swapgan_trainer.train(tiny_run(run2, synthetic_persons, **settings),
                                        progress_stream=io.StringIO())
        assert summary == {"start_step": 2, "final_step": 4, "finished": True}
        again = swapgan_trainer.train(tiny_run(run2, synthetic_persons, **settings),
                                      progress_stream=io.StringIO())
        assert again == {"start_step": 4, "final_step": 4, "finished": True}
    values = [{n: tf.train.load_variable(ckpt.path_of(str(r), 4), n)
               for n, _ in tf.train.list_variables(ckpt.path_of(str(r), 4)) if "OBJECT_GRAPH" not in n}
              for r in (run1, run2)]
    assert values[0].keys() == values[1].keys() and len(values[0]) > 100
    for name in values[0]:
        np.testing.assert_allclose(values[1][name], values[0][name], rtol=1e-5, atol=1e-7, err_msg=name)
    records = [wd.MetricsLog(str(r)).records() for r in (run1, run2)]
    assert [r["step"] for r in records[1]] == [1, 2, 3, 4]
    for a, b in zip(*records):
        assert b["g/total"] == pytest.approx(a["g/total"], rel=1e-4)


def test_missing_or_foreign_data_is_named_before_anything_is_written(tmp_path):
    missing = tiny_run(tmp_path / "run", str(tmp_path / "none"), dataset="deepfashion")
    with pytest.raises(DataError, match=r"none: no dataset there \(--dataset=deepfashion\)\.\nExpected"):
        swapgan_trainer.train(missing)
    foreign = tmp_path / "facades"
    foreign.mkdir()
    (foreign / "synthetic.json").write_text('{"n_train": 400}')  # another generator's manifest
    with pytest.raises(DataError, match=r"facades: a synthetic dataset, but not of persons"):
        swapgan_trainer.train(tiny_run(tmp_path / "run", str(foreign)))
    assert (foreign / "synthetic.json").exists() and not (tmp_path / "run").exists()


def test_a_deepfashion_layout_without_parsing_maps_trains_on_keypoints(tmp_path, synthetic_persons):
    """The public DeepFashion files have keypoints but no parsing: S, M and H come from keypoints."""
    root = tmp_path / "deepfashion"
    shutil.copytree(synthetic_persons, root, ignore=shutil.ignore_patterns("parsing", "synthetic.json"))
    config = tiny_run(tmp_path / "run", str(root), dataset="deepfashion", max_steps=1)
    with eagerly():
        swapgan_trainer.train(config, progress_stream=io.StringIO())
    saved = json.loads((tmp_path / "run" / wd.CONFIG_FILE).read_text())
    assert saved["data"]["approximate_segmentation"] is True and saved["config"]["dataset"] == "deepfashion"
    record = wd.MetricsLog(config.workdir).records()[-1]
    assert record["step"] == 1 and all(np.isfinite(v) for v in record.values())


def test_paste_head_takes_the_reference_where_the_head_map_is_one():
    x_gi = np.full((1, 2, 2, 3), -0.5, np.float32)
    x_r = np.full((1, 2, 2, 3), 0.75, np.float32)
    h_r = np.array([1, 0, 0, 1], np.float32).reshape(1, 2, 2, 1)
    pasted = np.asarray(paste_head(x_gi, x_r, h_r))
    np.testing.assert_array_equal(pasted[..., 0], [[[0.75, -0.5], [-0.5, 0.75]]])
