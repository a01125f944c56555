"""Tables 8.2 and 8.3 and the figures end to end on tiny runs (32 px, one training step each): the
protocol's pair list, the numbers against a direct computation, the thesis numbers in md/csv/json,
cached reuse and refusal to overwrite, the "no Inception weights" path, and every bad path.

IS runs through a random InceptionV3 at 75 px whose last layer is scaled up, so its softmax is
peaked and image-dependent (IS > 1); everything runs eagerly (tracing costs more than it saves)."""
import io
import json
import os
import shutil
import subprocess
import sys

from absl import flags as absl_flags
import cv2
import keras
import numpy as np
import pytest

from datasets.persons.deepfashion import load_person_set
from datasets.pipeline import read_image, resize, to_unit_range
from evaluation import figures, metrics, plan, protocol, swap_scores, table82, table83, uncertainty
from evaluation import ground_truth as gt
from evaluation.baselines import PoissonBlending
from evaluation.inception import InceptionRunner, load_inception
from evaluation.methods import person_batch
from evaluation.swapgan_method import SwapGANMethod
from tests.conftest import REPO
from tests.support import VITON_TINY, tiny_facades, tiny_run
from tests.swapgan_helpers import eagerly
from training import cycle_trainer, swapgan_trainer, viton_trainer
from training import workdir as wd
from training.config import ConfigError, CycleConfig, VitonConfig
from training.summaries import to_uint8

# The tiny preset: 4 of the 6 test images as references x 2 conditions = 8 pairs, IS over 2 splits.
S, INCEPTION_SIZE, K, REFS = 32, 75, 2, 4
PAIRS = REFS * K
QUIET = dict(progress_stream=io.StringIO())


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    keras.utils.set_random_seed(0)  # the same random classifier whatever ran before in this process
    model = keras.applications.InceptionV3(include_top=True, weights=None,
                                           input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
    dense = model.get_layer("predictions")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * 1e5, bias])  # random pool features are ~1e-4: make logits O(1)
    path = tmp_path_factory.mktemp("inception") / "random_inception_v3.weights.h5"
    model.save_weights(path)
    return str(path)


@pytest.fixture(scope="module")
def repro(tmp_path_factory, synthetic_persons):
    """The layout evaluation.plan gives the tiny preset: table8.3-tiny/swapgan/{i_iii,i_ii,full}
    and table8.2-tiny/{swapgan/full (the same run), viton}."""
    root = tmp_path_factory.mktemp("repro")
    runs = root / "table8.3-tiny" / "swapgan"
    with eagerly():
        for name, generators in (("i_iii", "I,III"), ("i_ii", "I,II"), ("full", "I,II,III")):
            swapgan_trainer.train(tiny_run(runs / name, synthetic_persons, generators=generators,
                                           max_steps=1), progress_stream=io.StringIO())
        viton_trainer.train(VitonConfig(workdir=str(root / "table8.2-tiny" / "viton"),
                                        dataset="synthetic", data_dir=synthetic_persons,
                                        **{**VITON_TINY, "max_steps": 1}),
                            progress_stream=io.StringIO())
    (root / "table8.2-tiny" / "swapgan").mkdir()
    (root / "table8.2-tiny" / "swapgan" / "full").symlink_to(runs / "full")
    return root


def _table_flags(inception_file):
    return (f"--conditions_per_reference={K} --splits=2 --batch_size=4 "
            f"--inception_size={INCEPTION_SIZE} --inception_weights={inception_file}")


def _parsed(module, args):
    fv = absl_flags.FlagValues()
    module.define_flags(fv)
    fv(["prog", *args])
    return fv


def _planned(table, repro, data, inception_file):
    """The flags of the table step of ``python -m evaluation.reproduce --preset=tiny``."""
    _, steps = plan.plan_table(table, "tiny", str(repro), data,
                               overrides={"table": _table_flags(inception_file)})
    return _parsed(table83 if table == "8.3" else table82, steps[-1].args)


def _pairs(data):
    test = load_person_set(data, "test")
    return test, test.posed()[protocol.protocol_pairs(len(test.posed()), K, 0, max_references=REFS)]


def _direct(outputs, inception_file, targets=None):
    """IS (and SSIM against ``targets``) of generated images, computed here in one go."""
    runner = InceptionRunner(load_inception(inception_file, INCEPTION_SIZE), batch_size=4)
    probs, _ = runner.predict(to_uint8(outputs))
    return dict(is_mean=metrics.inception_score(probs, splits=2)[0],
                ssim=None if targets is None else metrics.mean_ssim(
                    to_uint8(outputs), to_uint8(targets), 255))


def _direct_truth(outputs, test, pairs, reference):
    """Mean GT SSIM, PSNR and L1 of generated images against the rendered targets, here in one go."""
    targets = gt.GroundTruth(test).batch(pairs, S)
    masks = (targets[1] == 1) | (reference["m"] == 1)
    scores = [metrics.masked_scores(a, b, m, 255)
              for a, b, m in zip(to_uint8(outputs), targets[0], masks)]
    return {k: np.mean([s[k] for s in scores]) for k in gt.TRUTH_METRICS}


def _gt_cells(md, label):
    line = next(x for x in md.splitlines() if x.startswith(f"| {label} |"))
    assert line.endswith(" |")
    return line[:-2].split(" | ")[-3:]


# --- the protocol ------------------------------------------------------------------------------

def test_protocol_pairs_cover_every_reference_with_distinct_other_conditions():
    pairs = protocol.protocol_pairs(30, 25, seed=4)
    assert pairs.shape == (30 * 25, 2)
    np.testing.assert_array_equal(pairs[:, 0], np.repeat(np.arange(30), 25))
    for r in range(30):
        conditions = pairs[pairs[:, 0] == r, 1]
        assert len(set(conditions)) == 25 and r not in conditions and conditions.max() < 30
    np.testing.assert_array_equal(pairs, protocol.protocol_pairs(30, 25, seed=4))
    assert not np.array_equal(pairs, protocol.protocol_pairs(30, 25, seed=5))
    subset = protocol.protocol_pairs(30, 25, seed=4, max_references=7)
    references = np.unique(subset[:, 0])
    assert len(references) == 7 and len(subset) == 7 * 25
    for r in references:  # a reference keeps its conditions however many references are taken
        np.testing.assert_array_equal(subset[subset[:, 0] == r], pairs[pairs[:, 0] == r])
    assert len(protocol.protocol_pairs(1372, 25)) == 34_300  # the thesis's "about 34,000"
    for args, message in (((6, 6), r"--conditions_per_reference=6: must lie in 1\.\.5"),
                          ((6, 0), r"--conditions_per_reference=0"), ((1, 1), r"at least 2"),
                          ((6, 2, 0, 0), r"--max_references=0: must be >= 1")):
        with pytest.raises(ConfigError, match=message):
            protocol.protocol_pairs(*args)


def test_fid_of_small_sets_is_the_exact_low_rank_value():
    rng = np.random.default_rng(3)
    for n1, n2 in ((10, 40), (40, 10), (8, 8), (50, 25)):  # rows <= 30 features: singular S
        f1 = rng.normal(size=(n1, 30)) * rng.uniform(0.5, 2, 30)
        f2 = rng.normal(size=(n2, 30)) + 0.3
        slow = metrics.frechet_distance(*metrics.feature_statistics(f1),
                                        *metrics.feature_statistics(f2))
        assert metrics.fid(f1, f2) == pytest.approx(slow, rel=1e-6)
    assert metrics.fid(f1, f1) == pytest.approx(0.0, abs=1e-9)


# --- Table 8.3 ---------------------------------------------------------------------------------

def test_table83_end_to_end_reuse_and_refusal(repro, synthetic_persons, inception_file, monkeypatch):
    fv = _planned("8.3", repro, synthetic_persons, inception_file)
    with eagerly():
        table, paths = table83.run_command(fv, **QUIET)
    root = repro / "table8.3-tiny"
    assert paths == {**{ext: str(root / f"table83.{ext}") for ext in ("md", "csv", "json")},
                     "orderings_csv": str(root / "table83_orderings.csv")}
    md = open(paths["md"]).read()
    for thesis in ("2.47 ± 0.11", "2.36 ± 0.14", "2.66 ± 0.12", "0.708", "2.85 ± 0.12", "0.717"):
        assert thesis in md
    assert "keras InceptionV3 (random_inception_v3.weights.h5, 1000 classes)" in md
    i_iii = next(line for line in md.splitlines() if line.startswith("| Generator I&III"))
    assert i_iii.split(" | ")[3:7] == ["-", "-", "-", "-"]  # no G_II: IS-condition and SSIM
    saved = json.load(open(paths["json"]))
    assert saved["data"]["protocol"]["pairs"] == PAIRS and saved["data"]["protocol"]["seed"] == 0
    assert saved["inception"]["input_size"] == INCEPTION_SIZE and saved["batch_size"] == 4
    assert [r["step"] for r in saved["rows"]] == [1, 1, 1]
    assert saved["rows"][0]["ours"]["condition"] is None
    assert len(open(paths["csv"]).read().splitlines()) == 4
    # the numbers are those of a direct computation on the same pairs
    test, pairs = _pairs(synthetic_persons)
    method = SwapGANMethod.from_workdir(str(root / "swapgan" / "full"))
    with eagerly():
        reference, condition = person_batch(test, pairs[:, 0], S), person_batch(test, pairs[:, 1], S)
        outputs = method.outputs(reference, condition)
        direct = _direct(outputs["x_gii"], inception_file, condition["x"])
        direct_reference = _direct(outputs["x_gi_pasted"], inception_file)
    full = table["rows"][2]["ours"]
    assert full["condition"]["is_mean"] == pytest.approx(direct["is_mean"], rel=1e-4)
    assert full["condition"]["ssim"] == pytest.approx(direct["ssim"], rel=1e-9)
    # X_GI with the reference head pasted varies enough after one step for an IS clearly above 1
    assert full["reference"]["is_mean"] == pytest.approx(direct_reference["is_mean"], rel=1e-4)
    assert full["reference"]["is_mean"] > 1.01
    assert full["condition"]["images"] == full["reference"]["images"] == PAIRS
    for side in ("reference", "condition"):
        assert np.isfinite(full[side]["fid"]) and np.isfinite(full[side]["kid_mean"])
    # the ground truth of X_GI with H_r pasted, in every variant; per-pair lists in the score file
    direct_truth = _direct_truth(outputs["x_gi_pasted"], test, pairs, reference)
    for k in gt.TRUTH_METRICS:
        assert full["reference"][f"gt_{k}"] == pytest.approx(direct_truth[k], rel=1e-9)
    assert "gt_ssim" not in full["condition"] and "GT SSIM (in-mask)" in md
    for row in table["rows"]:
        truth = json.load(open(row["score_file"]))["outputs"]["x_gi_pasted"]["ground_truth"]
        assert len(truth["per_pair"]["l1"]) == truth["pairs"] == PAIRS
        ours = row["ours"]["reference"]
        assert "gt_l1_per_pair" not in ours
        assert row["score_file"].endswith(".json") and "-gt_" in row["score_file"]
        ci = row["intervals"]["reference"]["gt_ssim"]
        assert ci == uncertainty.mean_interval(truth["per_pair"]["ssim"])
        cells = _gt_cells(md, row["label"])
        assert cells[0] == f"{ours['gt_ssim']:.3f} [{ci['lo']:.3f}, {ci['hi']:.3f}]", cells
        values = [float(c.split(" [")[0]) for c in cells]
        assert 0 < values[0] < 1 and 0 < values[1] < 100 and 0 < values[2] < 1
    assert "GT columns (beyond the thesis)" in md
    assert open(paths["csv"]).read().splitlines()[0].endswith(
        ",gt_ssim,gt_ssim_lo,gt_ssim_hi,gt_psnr,gt_psnr_lo,gt_psnr_hi,gt_l1,gt_l1_lo,gt_l1_hi,gt_pairs")
    assert saved["ground_truth"]["available"] and saved["ground_truth"]["layout_version"] == 2
    # the intervals: SSIM from the per-pair values kept in the score file, IS from the images
    row = table["rows"][2]
    kept = json.load(open(row["score_file"]))["outputs"]["x_gii"]
    assert len(kept["ssim_per_pair"]) == PAIRS
    assert np.mean(kept["ssim_per_pair"]) == pytest.approx(full["condition"]["ssim"], rel=1e-12)
    assert "ssim_per_pair" not in full["condition"] and "is_interval" not in full["condition"]
    ssim_ci = row["intervals"]["condition"]["ssim"]
    assert ssim_ci == uncertainty.mean_interval(kept["ssim_per_pair"])
    assert ssim_ci["lo"] <= full["condition"]["ssim"] <= ssim_ci["hi"]
    is_ci = row["intervals"]["reference"]["is"]
    assert is_ci["value"] == pytest.approx(full["reference"]["is_mean"], rel=1e-9)
    assert is_ci["lo"] < is_ci["hi"]
    ssim_cell = f"{full['condition']['ssim']:.3f} [{ssim_ci['lo']:.3f}, {ssim_ci['hi']:.3f}]"
    full_line = next(line for line in md.splitlines() if line.startswith("| Full Model"))
    assert full_line.split(" | ")[5] == ssim_cell
    # I&II < full on SSIM, paired over the same pairs
    (entry,) = table["orderings"]
    i_ii = json.load(open(table["rows"][1]["score_file"]))["outputs"]["x_gii"]["ssim_per_pair"]
    assert entry["seeds"] == 1 and entry["metrics"]["ssim"]["seeds"][0] == {
        **uncertainty.difference(np.array(kept["ssim_per_pair"]), np.array(i_ii), np.mean),
        "verdict": entry["metrics"]["ssim"]["verdict"]}
    assert "| Generator I&II < Full Model | SSIM (condition) | " in md
    assert len(open(paths["orderings_csv"]).read().splitlines()) == 3

    def no_inception(*args, **kwargs):
        raise AssertionError("a cached table must not need Inception")

    monkeypatch.setattr(protocol, "load_inception", no_inception)
    again, _ = table83.run_command(fv, **QUIET)
    assert [r["reused"] for r in again["rows"]] == [True] * 3
    assert [r["ours"] for r in again["rows"]] == [r["ours"] for r in table["rows"]]
    cache = table["rows"][0]["score_file"]
    result = json.load(open(cache))
    result["provenance"]["test_data"]["sha256"] = "0" * 64  # as if the data had changed
    open(cache, "w").write(json.dumps(result))
    with pytest.raises(ConfigError, match=r"holds a score of another computation; pass "
                                          r"--overwrite.*\n  test_data"):
        table83.run_command(fv, **QUIET)
    monkeypatch.undo()
    fv.overwrite = True
    with eagerly():
        redone, _ = table83.run_command(fv, **QUIET)
    assert [r["reused"] for r in redone["rows"]] == [False, True, True]
    assert redone["rows"][0]["ours"] == table["rows"][0]["ours"]
    older = json.load(open(table["rows"][2]["score_file"]))  # written before per-pair values
    del older["outputs"]["x_gii"]["ssim_per_pair"]
    open(table["rows"][2]["score_file"], "w").write(json.dumps(older))
    assert not swap_scores.complete(older) and swap_scores.complete(result)
    with eagerly():
        completed, _ = table83.run_command(fv, **QUIET)
    assert [r["reused"] for r in completed["rows"]] == [True, True, False]
    assert completed["rows"][2]["ours"] == table["rows"][2]["ours"]


def test_without_inception_weights_is_na_and_ssim_is_still_computed(repro, tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    runs = str(repro / "table8.3-tiny" / "swapgan")
    with eagerly():
        table, paths = table83.table83(
            runs, out=str(tmp_path), protocol=swap_scores.Protocol(K, batch_size=4),
            classifier=protocol.Classifier("imagenet", INCEPTION_SIZE), **QUIET)
    md = open(paths["md"]).read()
    assert table["classifier"] is None and "IS on no classifier" in md
    full = next(line for line in md.splitlines() if line.startswith("| Full Model")).split(" | ")
    assert full[1] == "n/a" and full[3] == "n/a" and full[7:11] == ["n/a"] * 4
    assert 0 < float(full[11].split(" [")[0]) < 1 and full[13].endswith(" |")  # GT needs no weights
    assert float(full[5].split(" [")[0]) > 0 and full[6] == "0.717"
    note = next(line for line in md.splitlines() if "IS, FID and KID: n/a" in line)
    assert "--inception_weights=PATH" in note and \
        "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5" in note
    ssim = [r["ours"]["condition"]["ssim"] for r in table["rows"][1:]]
    assert all(0 < s < 1 for s in ssim)
    assert all(r["score_file"].endswith("_noinception.json") for r in table["rows"])
    # two seeds of the full model (here the same weights): mean ± std over seeds, paired per seed
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "i_ii").symlink_to(repro / "table8.3-tiny" / "swapgan" / "i_ii")
    shutil.copytree(repro / "table8.3-tiny" / "swapgan" / "full", seeds / "full",
                    ignore=shutil.ignore_patterns("results"))
    shutil.copytree(seeds / "full", seeds / "full-seed1")
    saved = json.load(open(seeds / "full-seed1" / wd.CONFIG_FILE))
    saved["config"]["seed"] = 1
    (seeds / "full-seed1" / wd.CONFIG_FILE).write_text(json.dumps(saved))
    with eagerly():
        two, paths = table83.table83(
            str(seeds), out=str(tmp_path / "two"), protocol=swap_scores.Protocol(K, batch_size=4),
            classifier=protocol.Classifier("imagenet", INCEPTION_SIZE), **QUIET)
    full = two["rows"][2]
    first_seed = json.load(open(seeds / "full" / wd.CONFIG_FILE))["config"]["seed"]
    assert [s["seed"] for s in full["seeds"]] == [first_seed, 1] and full["intervals"] is None
    assert full["ours"]["condition"]["ssim"] == pytest.approx(ssim[1]) and \
        full["std"]["condition"]["ssim"] == 0.0
    md = open(paths["md"]).read()
    assert f"| {ssim[1]:.3f} ± 0.000 (2 seeds) | 0.717 |" in md
    assert two["rows"][0]["ours"] is None and two["orderings"][0]["seeds"] == 1
    lines = open(paths["csv"]).read().splitlines()
    assert len(lines) == 1 + 1 + 1 + 3 and lines[3].startswith("full,\"I,II,III\",mean,2,")


# --- Table 8.2 ---------------------------------------------------------------------------------

def test_table82_end_to_end_and_a_missing_viton(repro, synthetic_persons, inception_file, tmp_path):
    fv = _planned("8.2", repro, synthetic_persons, inception_file)
    with eagerly():
        table, paths = table82.run_command(fv, **QUIET)
    root = repro / "table8.2-tiny"
    assert paths["md"] == str(root / "table82.md")
    md = open(paths["md"]).read()
    for label, thesis in (("Poisson image blending", "2.10 ± 0.14"), ("TPS warping", "2.45 ± 0.12"),
                          ("VITON", "2.40 ± 0.05"), ("SwapGAN", "2.65 ± 0.09")):
        line = next(x for x in md.splitlines() if x.startswith(f"| {label} |")).split(" | ")
        assert line[2] == thesis and " ± " in line[1] and line[3] != "-", line
    assert [r["method"] for r in table["rows"]] == ["poisson", "tps", "viton", "swapgan"]
    assert {r["image_size"] for r in table["rows"]} == {S}
    assert table["rows"][2]["step"] == table["rows"][3]["step"] == 1
    assert os.path.dirname(table["rows"][0]["score_file"]) == str(root / "scores")
    assert f"{PAIRS} pairs" in md and "IS, ours (keras InceptionV3 (random_inception_v3" in md
    csv_lines = open(paths["csv"]).read().splitlines()
    assert len(csv_lines) == 5 and csv_lines[1].startswith("poisson,") and ",2.1,0.14," in csv_lines[1]
    test, pairs = _pairs(synthetic_persons)
    with eagerly():
        poisson = PoissonBlending().generate(person_batch(test, pairs[:, 0], S),
                                             person_batch(test, pairs[:, 1], S))
        direct = _direct(poisson, inception_file)
    assert table["rows"][0]["ours"]["is_mean"] == pytest.approx(direct["is_mean"], rel=1e-4)
    # the ground-truth columns of every method, Poisson's against a direct computation
    direct_truth = _direct_truth(poisson, test, pairs, person_batch(test, pairs[:, 0], S))
    for k in gt.TRUTH_METRICS:
        assert table["rows"][0]["ours"][f"gt_{k}"] == pytest.approx(direct_truth[k], rel=1e-9)
    head = next(x for x in md.splitlines() if x.startswith("| Method |"))
    assert head.endswith("| GT SSIM (in-mask) | GT PSNR dB (in-mask) | GT L1 (in-mask) |")
    for row, line in zip(table["rows"], csv_lines[1:]):
        ours, ci = row["ours"], row["intervals"]
        assert _gt_cells(md, row["label"]) == [
            f"{ours['gt_' + k]:.{d}f} [{ci['gt_' + k]['lo']:.{d}f}, {ci['gt_' + k]['hi']:.{d}f}]"
            for k, d in (("ssim", 3), ("psnr", 2), ("l1", 4))]
        assert line.endswith(f",{ours['gt_l1']:.6g},{ci['gt_l1']['lo']:.6g},{ci['gt_l1']['hi']:.6g},{PAIRS}")
    # DeepFashion has no ground truth: the columns say n/a and why
    deepfashion = json.loads(json.dumps(table))
    deepfashion["ground_truth"] = {"available": False, "reason": gt.NO_TRUTH}
    for row in deepfashion["rows"]:
        row["ours"] = {k: v for k, v in row["ours"].items() if not k.startswith("gt_")}
        row["intervals"] = {k: v for k, v in row["intervals"].items() if not k.startswith("gt_")}
    md_df = table82.markdown(deepfashion)
    assert _gt_cells(md_df, "SwapGAN") == ["n/a"] * 3
    assert "- GT columns: n/a: DeepFashion has no image of a reference wearing" in md_df
    assert table82.csv_text(deepfashion).splitlines()[1].endswith("," * 10)
    swapgan = table["rows"][3]
    ci = swapgan["intervals"]["is"]
    assert ci["value"] == pytest.approx(swapgan["ours"]["is_mean"], rel=1e-9) and ci["lo"] < ci["hi"]
    assert f"{swapgan['ours']['is_std']:.2f} [{ci['lo']:.2f}, {ci['hi']:.2f}] |" in md
    assert csv_lines[4].startswith(f"swapgan,{swapgan['seeds'][0]['seed']},1,")
    # a second SwapGAN seed beside the first (here the same weights): mean ± std over seeds
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "full").symlink_to(root / "swapgan" / "full")
    shutil.copytree(root / "swapgan" / "full", seeds / "full-seed1",
                    ignore=shutil.ignore_patterns("results"))
    with eagerly():
        two, two_paths = table82.table82(
            str(seeds / "full"), str(root / "viton"), out=str(tmp_path / "two"),
            protocol=swap_scores.protocol_from_flags(fv),
            classifier=swap_scores.classifier_from_flags(fv), **QUIET)
    pair = two["rows"][3]
    assert len(pair["seeds"]) == 2 and pair["intervals"] is None and pair["std"]["is_mean"] == 0.0
    assert pair["ours"]["is_mean"] == pytest.approx(swapgan["ours"]["is_mean"])
    assert f"| SwapGAN | {swapgan['ours']['is_mean']:.2f} ± 0.00 (2 seeds) |" in open(
        two_paths["md"]).read()
    assert len(open(two_paths["csv"]).read().splitlines()) == 1 + 4 + 2
    fv.viton = None
    without, _ = table82.run_command(fv, **QUIET)
    assert without["rows"][2]["ours"] is None and all(r["reused"] for r in without["rows"] if r["ours"])
    md = open(paths["md"]).read()
    assert "| VITON | - | 2.40 ± 0.05 | - | - |" in md and "VITON: no --viton run given" in md
    fv.viton = str(root / "no-viton")  # a path given explicitly must exist
    with pytest.raises(ConfigError, match=r"--viton=.*no-viton: not found"):
        table82.run_command(fv, **QUIET)


# --- bad paths ---------------------------------------------------------------------------------

def test_bad_runs_data_and_weights_are_named(repro, synthetic_persons, inception_file, tmp_path):
    root = repro / "table8.2-tiny"
    full, viton = str(root / "swapgan" / "full"), str(root / "viton")
    cases = [
        (lambda: table83.table83(str(tmp_path / "none")), r"--runs=.*none: folder not found"),
        (lambda: table83.table83(str(root)), r"no SwapGAN workdir there"),
        (lambda: table82.table82(str(tmp_path / "none")),
         r"--swapgan=.*none: .*config.json: not found"),
        (lambda: table82.table82(viton), r"--swapgan=.*viton: .*a 'viton' run, not a 'swapgan' run"),
        (lambda: table82.table82(full, full), r"--viton=.*full: .*a 'swapgan' run, not a 'viton'"),
        (lambda: protocol.Classifier(str(tmp_path / "w.h5")),
         r"--inception_weights=.*w.h5: file not found"),
        (lambda: swap_scores.Protocol(batch_size=0), r"--batch_size=0: must be >= 1"),
    ]
    (tmp_path / "junk.h5").write_bytes(b"junk" * 10)
    cases.append((lambda: protocol.Classifier(str(tmp_path / "junk.h5")), r"junk.h5: not an HDF5 file"))
    misnamed = tmp_path / "runs" / "i_ii"
    misnamed.mkdir(parents=True)
    (misnamed / wd.CONFIG_FILE).write_text(json.dumps({"trainer": "swapgan",
                                                       "config": {"generators": "I,III"}}))
    cases.append((lambda: table83.find_runs(str(tmp_path / "runs")),
                  r"i_ii/ holds a --generators=I,III run, not I,II; rename it"))
    other = tmp_path / "other" / "i_ii"  # a cycle run where the I,II run belongs
    other.mkdir(parents=True)
    (other / wd.CONFIG_FILE).write_text(json.dumps({"trainer": "cycle", "config": {}}))
    cases.append((lambda: table83.find_runs(str(tmp_path / "other")),
                  r"i_ii/ holds a run of another trainer \('cycle'\), not a SwapGAN run"))
    ablation = str(repro / "table8.3-tiny" / "swapgan" / "i_ii")
    cases.append((lambda: table82.table82(ablation, out=str(tmp_path)),
                  r"--swapgan=.*i_ii: a --generators=I,II run; Table 8.2's SwapGAN row is the full"))
    (tmp_path / "afile").write_text("mine")
    cases.append((lambda: table82.table82(full, out=str(tmp_path / "afile")),
                  r"--out=.*afile: is a file, not a folder"))
    cases.append((lambda: table83.table83(str(repro / "table8.3-tiny" / "swapgan"),
                                          out=str(tmp_path / "afile" / "t")),
                  r"--out=.*t: .*afile is a file, not a folder"))
    few = swap_scores.Protocol(1, max_references=2)
    cases.append((lambda: table82.table82(full, out=str(tmp_path), protocol=few,
                                          classifier=protocol.Classifier(inception_file)),
                  r"--splits=10: the protocol gives only 2 pairs"))
    for work, message in cases:
        with pytest.raises(ConfigError, match=message):
            work()
    for module in (table82, table83):  # --help shows the protocol's flags, not only --helpfull
        fv = absl_flags.FlagValues()
        module.define_flags(fv)
        shown = {f.name for f in fv.get_key_flags_for_module(module.__name__)}
        assert {"out", "max_references", "inception_weights"} <= shown
    bad = subprocess.run([sys.executable, "-m", "evaluation.table82", f"--swapgan={full}",
                          f"--inception_weights={tmp_path / 'missing.h5'}"], cwd=REPO, text=True,
                         capture_output=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1] == (
        f"error: --inception_weights={tmp_path / 'missing.h5'}: file not found")


# --- figures -----------------------------------------------------------------------------------

def _cells(image, rows, cols, size=S, pad=2):
    """The grid's cells (rows x cols of size x size) below its label band."""
    assert image.shape[1] == cols * (size + pad) + pad
    top = image.shape[0] - (rows * (size + pad) + pad)
    assert top >= 0
    return [[image[top + pad + i * (size + pad):top + pad + i * (size + pad) + size,
                   pad + j * (size + pad):pad + j * (size + pad) + size] for j in range(cols)]
            for i in range(rows)]


def _figure(out, *args):
    with eagerly():
        figures.run_command(_parsed(figures, [*args, f"--out={out}"]))
    return cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)


def test_person_figures(repro, synthetic_persons, tmp_path):
    root = repro / "table8.2-tiny"
    full = str(root / "swapgan" / "full")
    swap = _figure(tmp_path / "swap.png", "--kind=swap", f"--swapgan={full}")
    assert swap.shape == (5 * (S + 2) + 2,) * 2 + (3,)  # Fig. 8.14: 4 references x 4 conditions
    methods = _figure(tmp_path / "methods.png", "--kind=methods", f"--swapgan={full}",
                      f"--viton={root / 'viton'}")
    cells = _cells(methods, 3, 6)  # Fig. 8.15: reference, condition, Poisson, TPS, VITON, SwapGAN
    test = load_person_set(synthetic_persons, "test")
    refs, conds = figures.chosen_pairs(test, None, None, 3, 0, "methods")
    assert len(set(refs)) == 1 and len(set(conds)) == 3 and refs[0] not in conds
    method = SwapGANMethod.from_workdir(full)
    with eagerly():
        reference, condition = person_batch(test, refs, S), person_batch(test, conds, S)
        swapped = to_uint8(method.generate(reference, condition))
        chosen = person_batch(test, [0], S), person_batch(test, [3], S)
        expected = to_uint8(method.generate(*chosen))
    for i in range(3):
        np.testing.assert_array_equal(cells[i][0], to_uint8(reference["x"][i]))
        np.testing.assert_array_equal(cells[i][1], to_uint8(condition["x"][i]))
        np.testing.assert_array_equal(cells[i][5], swapped[i])
    ablation = _figure(tmp_path / "ablation.png", "--kind=ablation",
                       f"--runs={repro / 'table8.3-tiny' / 'swapgan'}",
                       f"--references={test.names[0]}", f"--conditions={test.names[3]}")
    cells = _cells(ablation, 1, 5)  # Fig. 8.16: condition, reference, I&III, I&II, full
    np.testing.assert_array_equal(cells[0][0], to_uint8(chosen[1]["x"][0]))
    np.testing.assert_array_equal(cells[0][1], to_uint8(chosen[0]["x"][0]))
    np.testing.assert_array_equal(cells[0][4], expected[0])
    assert not np.array_equal(cells[0][2], cells[0][4])  # other generators, other images
    bad = [(["--kind=swap", f"--swapgan={root / 'viton'}"], r"a 'viton' run, not a 'swapgan'"),
           (["--kind=methods", f"--swapgan={full}", "--references=nobody.jpg", "--conditions=x.jpg"],
            r"--references: nobody.jpg not among the 6 test images"),
           (["--kind=ablation"], r"--kind=ablation needs --runs"),
           (["--kind=swap", f"--swapgan={full}", "--count=0"], r"--count=0: must be >= 1")]
    for args, message in bad:
        with pytest.raises(ConfigError, match=message):
            figures.run_command(_parsed(figures, [*args, f"--out={tmp_path / 'new.png'}"]))
    for out, message in ((tmp_path / "swap.png", r"swap.png: exists; pass --overwrite"),
                         ("x.jpg", r"--out=x.jpg: give the .png file"),
                         (tmp_path / "swap.png" / "f.png", r"--out=.*f\.png: .*swap\.png is a file"),
                         (tmp_path / "d.png", r"--out=.*d\.png: is a folder")):
        os.makedirs(tmp_path / "d.png", exist_ok=True)
        with pytest.raises(ConfigError, match=message):
            figures.run_command(_parsed(figures, ["--kind=swap", f"--swapgan={full}", f"--out={out}"]))


def test_cycle_figure(tmp_path, facades, repro):
    data = tiny_facades(tmp_path / "data", facades, n_train=2, n_test=3)
    run = tmp_path / "runs" / "long"
    with eagerly():
        cycle_trainer.train(CycleConfig(workdir=str(run), variant="long", M=2, dataset="unpaired",
                                        data_dir=data, image_size=S, ngf=8, ndf=8, n_blocks=1,
                                        max_steps=1, log_every=1, sample_every=1000, num_samples=1,
                                        jit_compile=False), progress_stream=io.StringIO())
    image = _figure(tmp_path / "cycle.png", "--kind=cycle", f"--runs={tmp_path / 'runs'}",
                    f"--input={data}/testB", "--count=2")
    cells = _cells(image, 2, 2)  # Figs. 8.3-8.6: input, then each variant found (here Long)
    inputs = sorted(os.listdir(os.path.join(data, "testB")))[:2]
    for i, name in enumerate(inputs):
        expected = to_uint8(to_unit_range(resize(read_image(os.path.join(data, "testB", name)), S)))
        np.testing.assert_array_equal(cells[i][0], expected)
        assert not np.array_equal(cells[i][1], cells[i][0])
    with pytest.raises(ConfigError, match=r"no CycleGAN-family workdir"):
        figures.cycle_figure(str(repro / "table8.3-tiny" / "swapgan"), f"{data}/testB",
                             str(tmp_path / "c.png"))
    with pytest.raises(ConfigError, match=r"--kind=cycle needs --input"):
        figures.run_command(_parsed(figures, ["--kind=cycle", f"--runs={run}", "--out=c.png"]))
