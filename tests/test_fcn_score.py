"""FCN-score and Table 8.1 end to end on tiny trained workdirs: the label->photo chain, scoring a run
and the Oracle, cached reuse and refusal to overwrite, the table files, and every bad path."""
import io
import json
import os
import shutil

import numpy as np
import pytest

from datasets.labels import get_label_set
from datasets.segmentation import fixed_pairs, load_labelled_images
from evaluation import fcn_score as fs
from evaluation.scores import confusion_matrix, fcn_scores
from evaluation.table81 import ROWS, THESIS, find_runs, find_seed_runs, table81
from evaluation.uncertainty import verdict
from tests.support import FCN_TINY as TINY
from tests.support import tiny_facades
from training import cycle_trainer, fcn_trainer
from training.config import ConfigError, CycleConfig, FCNConfig

QUIET = dict(jit_compile=False, progress_stream=io.StringIO())


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory, facades):
    """A 64-px FCN (3 steps) and a 32-px Long CycleGAN (2 steps) on a slice of the facades."""
    root = tmp_path_factory.mktemp("score")
    data = tiny_facades(root / "data", facades, n_train=6, n_test=5)
    fcn = str(root / "fcn")
    fcn_trainer.train(FCNConfig(workdir=fcn, data_dir=data, max_steps=3, **TINY),
                      progress_stream=io.StringIO())
    run = str(root / "runs" / "long")
    cycle_trainer.train(CycleConfig(workdir=run, variant="long", dataset="unpaired", data_dir=data,
                                    image_size=32, ngf=8, ndf=8, n_blocks=1, max_steps=2,
                                    log_every=1, sample_every=1000, num_samples=1,
                                    jit_compile=False), progress_stream=io.StringIO())
    return root, data, fcn, run


def _copy_run(src, dst, **config):
    """A fake run: ``src``'s checkpoints under another name, its config.json edited."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("results"))
    path = os.path.join(dst, "config.json")
    saved = json.load(open(path))
    saved["config"].update(config)
    json.dump(saved, open(path, "w"))
    return str(dst)


def test_label_to_photo_chain_honours_the_direction():
    assert fs.label_to_photo_chain("AtoB") == "b2a"  # A photo, B label: labels go B -> A
    assert fs.label_to_photo_chain("BtoA") == "a2b"  # domains swapped: the label side is a
    with pytest.raises(ConfigError, match="--direction=sideways"):
        fs.label_to_photo_chain("sideways")


def test_scoring_a_run_writes_its_provenance_and_one_confusion_matrix(workdirs):
    root, data, fcn, run = workdirs
    result, path, reused = fs.fcn_score(fcn, run, batch_size=3, **QUIET)  # 5 = 3 + 2 (padded)
    assert not reused
    assert path == os.path.join(run, "results", f"fcn_score_step2_{fs.fcn_tag(fcn, 3)}.json")
    assert json.load(open(path)) == result
    prov, scores = result["provenance"], result["scores"]
    assert prov["chain"] == "b2a" and prov["run_step"] == 2 and prov["fcn_step"] == 3
    assert (prov["run_image_size"], prov["fcn_image_size"], prov["test_images"]) == (32, 64, 5)
    assert prov["data_dir"] == data and prov["label_set"] == "facades"
    assert scores["num_pixels"] == 5 * 64 * 64 == np.sum(scores["confusion"])  # no void in CMP
    per_image = fs.image_confusions(scores)
    assert per_image.shape == (5, 12, 12) and per_image.sum((1, 2)).tolist() == [64 * 64] * 5
    np.testing.assert_array_equal(per_image.sum(0), scores["confusion"])
    assert {k: v for k, v in scores.items() if k != "image_confusions"} == fcn_scores(
        scores["confusion"], scores["class_names"])
    ci = fs.intervals(scores)
    for metric in ("per_pixel_acc", "per_class_acc", "class_iou"):
        assert ci[metric]["value"] == pytest.approx(scores[metric])
        assert 0 <= ci[metric]["lo"] <= ci[metric]["hi"] <= 1
    assert f"per-pixel acc {scores['per_pixel_acc']:.3f} [{ci['per_pixel_acc']['lo']:.3f}, " in \
        fs.summary(result, path, reused)
    assert len(scores["class_ious"]) == 12 and set(scores["absent_classes"]) < set(
        scores["class_names"])


def test_the_oracle_segments_the_real_test_photos(workdirs):
    root, data, fcn, _ = workdirs
    result, path, _ = fs.fcn_score(fcn, oracle=True, batch_size=2, **QUIET)
    assert path == os.path.join(fcn, "results", "fcn_score_oracle_step3.json")
    assert result["provenance"]["kind"] == "oracle" and "run" not in result["provenance"]
    # the same numbers by hand: every test photo through the restored FCN, one matrix
    config, model, _ = fs.load_fcn(fcn)
    photos, ids = fixed_pairs(load_labelled_images("unpaired", data, "test"), 5, get_label_set(config.label_set), 64)
    predicted = np.argmax(np.asarray(model(photos, training=False)), -1)
    assert result["scores"]["confusion"] == confusion_matrix(ids, predicted, 12).tolist()


def test_a_run_trained_BtoA_is_scored_through_a2b(workdirs, tmp_path):
    _, _, fcn, run = workdirs
    swapped = _copy_run(run, tmp_path / "swapped", direction="BtoA")
    result, _, _ = fs.fcn_score(fcn, swapped, batch_size=5, **QUIET)
    assert (result["provenance"]["direction"], result["provenance"]["chain"]) == ("BtoA", "a2b")


def test_scores_are_reused_and_never_silently_overwritten(workdirs):
    _, _, fcn, run = workdirs
    first, path, _ = fs.fcn_score(fcn, run, batch_size=3, **QUIET)
    again, same_path, reused = fs.fcn_score(fcn, run, **QUIET)
    assert reused and same_path == path and again == first
    saved = json.load(open(path))
    saved["provenance"]["data_dir"] = "/elsewhere"
    json.dump(saved, open(path, "w"))
    with pytest.raises(ConfigError, match=r"holds a score of another computation; pass "
                                          r"--overwrite(.|\n)*data_dir: '/elsewhere' there"):
        fs.fcn_score(fcn, run, **QUIET)
    redone, _, reused = fs.fcn_score(fcn, run, overwrite=True, **QUIET)
    assert not reused and redone["scores"] == first["scores"]
    assert json.load(open(path))["provenance"]["data_dir"] == first["provenance"]["data_dir"]
    older = json.load(open(path))  # written before per-image matrices were kept: recomputed
    del older["scores"]["image_confusions"]
    json.dump(older, open(path, "w"))
    completed, _, reused = fs.fcn_score(fcn, run, **QUIET)
    assert not reused and completed["scores"] == first["scores"]


def test_bad_paths_fail_with_clear_messages(workdirs, tmp_path):
    root, _, fcn, run = workdirs
    cases = [
        (dict(fcn=fcn, run=str(tmp_path / "none")), r"--run=.*none: .*config.json: not found"),
        (dict(fcn=fcn, run=fcn), r"--run=.*fcn: .*a 'fcn' run, not a 'cycle' run"),
        (dict(fcn=run, run=run), r"--fcn=.*long: .*a 'cycle' run, not a 'fcn' run"),
        (dict(fcn=fcn), "--run: required .* unless --oracle"),
        (dict(fcn=fcn, run=run, oracle=True), "--oracle scores the real test photos"),
        (dict(fcn=fcn, run=run, step=7), r"no checkpoint at step 7; kept steps: \[2\]"),
        (dict(fcn=fcn, run=run, batch_size=0), "--batch_size=0: must be >= 1"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ConfigError, match=message):
            fs.fcn_score(**kwargs, **QUIET)
    broken = tmp_path / "broken_fcn"
    shutil.copytree(fcn, broken, ignore=shutil.ignore_patterns("results"))
    for name in os.listdir(broken / "checkpoints"):
        if name.startswith("ckpt-3.data"):
            os.remove(broken / "checkpoints" / name)  # the weights file is gone
    with pytest.raises(ConfigError, match=r"ckpt-3: cannot be restored"):
        fs.fcn_score(str(broken), oracle=True, **QUIET)
    shutil.rmtree(broken / "checkpoints")
    with pytest.raises(ConfigError, match="no checkpoint; has the run saved one yet"):
        fs.fcn_score(str(broken), oracle=True, **QUIET)


def test_table81_collects_the_rows_beside_the_thesis(workdirs, tmp_path):
    root, _, fcn, run = workdirs
    runs = tmp_path / "runs"
    _copy_run(run, runs / "long")
    _copy_run(run, runs / "nest-lambda1", variant="nest")  # found by its recorded variant
    _copy_run(run, runs / "vanilla", variant="vanilla", M=1, N=1)  # restores g_ab_1, g_ba_1
    _copy_run(run, runs / "long-seed1", seed=1)  # a second seed (here the same weights)
    os.makedirs(runs / "notes")  # not a workdir: skipped
    assert find_runs(str(runs)) == {"gan": None, "vanilla": str(runs / "vanilla"),
                                    "long": str(runs / "long"), "nest": str(runs / "nest-lambda1")}
    assert find_seed_runs(str(runs))["long"] == [str(runs / "long"), str(runs / "long-seed1")]
    table, paths = table81(fcn, str(runs), **QUIET)
    assert paths == {**{ext: str(runs / "results" / f"table81.{ext}") for ext in ("md", "csv", "json")},
                     "orderings_csv": str(runs / "results" / "table81_orderings.csv")}
    rows = {r["method"]: r for r in table["datasets"]["facades"]["rows"]}
    assert rows["gan"]["ours"] is None and rows["long"]["step"] == 2
    assert rows["nest"]["settings"]["variant"] == "nest" and rows["vanilla"]["settings"]["M"] == 1
    assert rows["oracle"]["score_file"].startswith(fcn)
    # Long: two seeds of equal weights: the mean is each seed's value, the std 0
    long, nest, vanilla = rows["long"], rows["nest"], rows["vanilla"]
    assert [s["seed"] for s in long["seeds"]] == [0, 1] and long["interval"] is None
    assert long["seeds"][0]["ours"] == long["seeds"][1]["ours"] == long["ours"]
    assert long["std"] == {m: 0.0 for m in long["ours"]}
    assert long["seeds"][0]["interval"] == long["seeds"][1]["interval"]
    assert nest["interval"] == nest["seeds"][0]["interval"] and nest["std"]["class_iou"] is None
    md = open(paths["md"]).read()
    assert "| GAN | - (0.32) | - (0.12) | - (0.07) | - (0.50) |" in md
    ours = long["ours"]["per_pixel_acc"]
    assert f"| Long CycleGAN | {ours:.2f} ± 0.00 (2 seeds) (0.43) |" in md and "(0.86)" in md
    ci = vanilla["interval"]["per_pixel_acc"]
    assert (f"| Vanilla CycleGAN | {vanilla['ours']['per_pixel_acc']:.2f} [{ci['lo']:.2f}, "
            f"{ci['hi']:.2f}] (0.35) |") in md
    assert "64 px, width 4, fc 256" in md  # the settings that produced ours
    # the orderings: the paired difference of neighbouring rows, seed by seed
    orderings = {(o["lower"], o["higher"]): o for o in table["datasets"]["facades"]["orderings"]}
    assert orderings[("gan", "vanilla")]["metrics"] is None
    for (lower, higher), o in orderings.items():
        if o["metrics"] is None:
            continue
        assert o["seeds"] == 1
        for metric, r in o["metrics"].items():
            expected = rows[higher]["seeds"][0]["ours"][metric] - rows[lower]["seeds"][0]["ours"][metric]
            assert r["seeds"][0]["value"] == pytest.approx(expected, abs=1e-12)
            assert r["verdict"] == r["seeds"][0]["verdict"] == verdict(r["seeds"][0])
            assert f"| {dict(ROWS)[lower]} < {dict(ROWS)[higher]} | " in md
    assert "| GAN < Vanilla CycleGAN | - | - | - | n/a: a row has no run |" in md
    lines = open(paths["csv"]).read().splitlines()
    assert len(lines) == 13 and lines[0].startswith("dataset,method,seed,seeds,per_pixel_acc,"
                                                    "per_pixel_acc_lo,per_pixel_acc_hi,")
    assert lines[3].startswith(f"facades,long,mean,2,{ours:.4f},,,0.0000,")
    assert ",0.43,0.19,0.13," in lines[3]
    ci = long["seeds"][1]["interval"]["per_pixel_acc"]
    assert lines[5].startswith(f"facades,long,1,2,{ours:.4f},{ci['lo']:.4f},{ci['hi']:.4f},,")
    ordering_lines = open(paths["orderings_csv"]).read().splitlines()
    assert ordering_lines[1] == "facades,gan,vanilla,,,,,,n/a,,0,a row has no run"
    assert len(ordering_lines) == 1 + 1 + 2 * 3 * 2  # header, gan<vanilla, 2 orderings x 3 x 2
    thesis = json.load(open(paths["json"]))["thesis"]
    assert thesis["cityscapes"]["oracle"] == {"per_pixel_acc": 0.86, "per_class_acc": 0.45,
                                              "class_iou": 0.37}
    assert [tuple(v.values()) for v in thesis["facades"].values()] == list(THESIS["facades"].values())
    again, _ = table81(fcn, str(runs), **QUIET)  # every score reused
    assert all(r["reused"] for r in again["datasets"]["facades"]["rows"] if r["ours"])


def test_table81_refuses_what_it_cannot_use(workdirs, tmp_path):
    _, _, fcn, run = workdirs
    with pytest.raises(ConfigError, match="--runs=.*: folder not found"):
        table81(fcn, str(tmp_path / "none"), **QUIET)
    _copy_run(run, tmp_path / "two" / "a")
    _copy_run(run, tmp_path / "two" / "b")
    with pytest.raises(ConfigError, match=r"several --variant=long runs \(a, b\)"):
        find_runs(str(tmp_path / "two"))
    _copy_run(run, tmp_path / "wrong" / "gan")
    with pytest.raises(ConfigError, match="gan/ holds a --variant=long run"):
        find_runs(str(tmp_path / "wrong"))
    _copy_run(run, tmp_path / "seeds" / "nest", variant="nest")
    _copy_run(run, tmp_path / "seeds" / "nest-seed1", seed=1)
    with pytest.raises(ConfigError, match="nest-seed1/ holds a --variant=long run"):
        find_seed_runs(str(tmp_path / "seeds"))
    with pytest.raises(ConfigError, match="--cityscapes_runs=.*: needs --cityscapes_fcn"):
        table81(fcn, None, cityscapes_runs=str(tmp_path), **QUIET)
    with pytest.raises(ConfigError, match="--cityscapes_fcn=.*: an FCN of --label_set=facades"):
        table81(fcn, None, cityscapes_fcn=fcn, **QUIET)
    with pytest.raises(ConfigError, match=r"--fcn=.*long: .*not a 'fcn' run"):
        table81(run, None, **QUIET)


def test_every_row_is_scored_on_the_oracles_test_set(workdirs, tmp_path, facades):
    _, _, fcn, run = workdirs
    other = tiny_facades(tmp_path / "other", facades, n_train=6, n_test=3)
    runs = tmp_path / "runs"
    _copy_run(run, runs / "long")
    _copy_run(run, runs / "nest", variant="nest", data_dir=other)
    with pytest.raises(ConfigError, match=r"nest: trained on --dataset=unpaired --data_dir=.*other "
                                          r"\(3 test images\), but the FCN's Oracle row uses "
                                          r"(.|\n)*\(5\)"):
        table81(fcn, str(runs), **QUIET)
    assert not os.path.exists(runs / "results")
    (tmp_path / "afile").write_text("mine")
    shutil.rmtree(runs / "nest")
    with pytest.raises(ConfigError, match=r"--out=.*afile: is a file, not a folder"):
        table81(fcn, str(runs), out=str(tmp_path / "afile"), **QUIET)
    assert (tmp_path / "afile").read_text() == "mine"


def test_label_maps_of_another_label_set_or_photos_are_refused(workdirs, tmp_path, facades):
    from datasets.files import DataError
    from datasets.labels import CITYSCAPES, FACADES, palette_share
    _, data, fcn, run = workdirs
    exact = np.array(FACADES.palette)[None].repeat(4, 0)  # 4 x 12 pixels, all palette colours
    assert palette_share(exact, FACADES) == 1.0
    near = exact.astype(int) + np.array([11, -11, 11])  # 19 away (JPEG noise): still counted
    assert palette_share(np.clip(near, 0, 255), FACADES) == 1.0
    far = exact.astype(int) + np.array([12, -12, 12])  # 20.8 away where no channel clips
    share = palette_share(np.clip(far, 0, 255), FACADES)
    clipped = [c for c in FACADES.palette if np.linalg.norm(np.clip(np.array(c, int) + [12, -12, 12],
                                                                    0, 255) - c) <= 20]
    assert share == pytest.approx(len(clipped) / 12) and share < 1
    assert palette_share(np.full((4, 4, 3), 128), FACADES) == 0.0
    assert load_labelled_images("unpaired", data, "train", label_set=FACADES)
    swapped = tmp_path / "swapped"  # photos as labels
    for split in ("train", "test"):
        swapped.mkdir(exist_ok=True)
        os.symlink(os.path.join(data, split + "A"), swapped / (split + "B"))
        os.symlink(os.path.join(data, split + "B"), swapped / (split + "A"))
    with pytest.raises(DataError, match=r"swapped/testB/.*\.jpg: only 0% of its pixels are facades label "
                                        r"colours .*--label_set=facades"):
        load_labelled_images("unpaired", str(swapped), "test", label_set=FACADES)
    with pytest.raises(DataError, match=r"trainB/.*\.png: only \d+% of its pixels are cityscapes"):
        load_labelled_images("unpaired", data, "train", label_set=CITYSCAPES)
    # a Cityscapes FCN cannot score a facades run (its label set is not the run's labels)
    city = _copy_run(fcn, tmp_path / "city_fcn", label_set="cityscapes", dataset="pix2pix",
                     data_dir=str(tmp_path / "none"))
    with pytest.raises(DataError, match=r"testB/.*: only \d+% of its pixels are cityscapes"):
        fs.fcn_score(city, run, **QUIET)
