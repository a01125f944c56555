"""The reproduction planner: which steps, in which order, what a rerun skips or resumes."""
import io
import json
import os

import pytest

from evaluation import plan as planner
from evaluation.reproduce import reproduce
from training.config import ConfigError


def fake_run(workdir, trainer, step, total):
    """A workdir as a run leaves it: config.json with its length, checkpoint files up to ``step``."""
    os.makedirs(os.path.join(workdir, "checkpoints"), exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump({"trainer": trainer, "config": {}, "total_steps": total}, f)
    if step:
        open(os.path.join(workdir, "checkpoints", f"ckpt-{step}.index"), "w").close()


def test_table_81_plan_trains_the_fcn_and_four_rows_then_writes_the_table(tmp_path):
    root, steps = planner.plan_table("8.1", "small", str(tmp_path), data_dir="/data/facades",
                                     overrides={"cycle": "--epochs=3 --ngf=8"})
    assert root == str(tmp_path / "table8.1-small")
    assert [s.name for s in steps] == ["fcn-facades", "facades/gan", "facades/vanilla", "facades/long",
                                       "facades/nest", "table"]
    long = steps[3]
    assert long.module == "training.cycle" and long.workdir == os.path.join(root, "facades", "long")
    args = list(long.args)
    assert args[0] == f"--flagfile={planner.preset_file('small', 'cycle')}"
    assert args.index("--epochs=3") > 0 and "--M=2" in args and "--data_dir=/data/facades" in args
    assert args[-1] == f"--workdir={long.workdir}"  # overrides come after the preset, the workdir last
    assert steps[0].module == "evaluation.fcn" and "--epochs=3" not in steps[0].args
    assert steps[-1].workdir is None and f"--runs={os.path.join(root, 'facades')}" in steps[-1].args


def test_table_83_and_82_plans(tmp_path):
    _, steps = planner.plan_table("8.3", "tiny", str(tmp_path))
    assert [s.name for s in steps] == ["swapgan/i_iii", "swapgan/i_ii", "swapgan/full", "table"]
    assert "--generators=I,III" in steps[0].args and "--dataset=synthetic" in steps[0].args
    _, steps = planner.plan_table("8.2", "tiny", str(tmp_path), data_dir=str(tmp_path / "deepfashion"))
    assert [s.name for s in steps] == ["swapgan/full", "viton", "table"]
    assert "--dataset=deepfashion" in steps[0].args and steps[-1].module == "evaluation.table82"


def test_seeds_train_every_row_k_times_beside_the_seed_0_workdir(tmp_path):
    root, one = planner.plan_table("8.1", "tiny", str(tmp_path))
    _, three = planner.plan_table("8.1", "tiny", str(tmp_path), seeds=3,
                                  overrides={"cycle": "--seed=9"})
    assert [s.name for s in three] == ["fcn-facades"] + [
        f"facades/{v}{suffix}" for v in ("gan", "vanilla", "long", "nest")
        for suffix in ("", "-seed1", "-seed2")] + ["table"]
    by_name = {s.name: s for s in three}
    # seed 0 is today's step (existing runs stay valid); seed i adds --seed=i after the overrides
    assert by_name["facades/long"].args[:-1] == one[3].args[:-1] + ("--seed=9",)
    seed2 = by_name["facades/long-seed2"]
    assert seed2.workdir == os.path.join(root, "facades", "long-seed2")
    assert seed2.args[-2:] == ("--seed=2", f"--workdir={seed2.workdir}")
    assert seed2.args.index("--seed=9") < seed2.args.index("--seed=2")
    assert by_name["table"].args == one[-1].args  # the table finds the seed folders by name
    # one warm-up per row: seed i is estimated by seed 0's command
    assert seed2.estimate_as == by_name["facades/long"].command()
    assert by_name["facades/long"].estimate_as is None
    out = io.StringIO()
    reproduce("8.1", "tiny", str(tmp_path), dry_run=True, warmup=False, stream=out, seeds=2)
    assert "Table 8.1, preset tiny, 2 seeds per row: 10 steps in" in out.getvalue()
    assert "  7. facades/long-seed1: not started; estimate ?\n" in out.getvalue()
    _, swap = planner.plan_table("8.2", "tiny", str(tmp_path), seeds=2)
    assert [s.name for s in swap] == ["swapgan/full", "swapgan/full-seed1", "viton", "viton-seed1",
                                      "table"]
    with pytest.raises(ConfigError, match=r"--seeds=0: must be >= 1"):
        planner.plan_table("8.3", "tiny", str(tmp_path), seeds=0)
    for name in ("long", "long-seed2", "long-seed10", "long-seedx", "longer-seed1", "long-seed3"):
        fake_run(str(tmp_path / "runs" / name), "cycle", 1, 1)
    os.remove(tmp_path / "runs" / "long-seed3" / "config.json")  # not a run (yet)
    assert planner.seed_workdirs(str(tmp_path / "runs" / "long")) == [
        str(tmp_path / "runs" / n) for n in ("long", "long-seed2", "long-seed10")]


def test_status_of_finished_interrupted_and_missing_steps(tmp_path):
    _, steps = planner.plan_table("8.1", "tiny", str(tmp_path))
    fake_run(steps[1].workdir, "cycle", 6, 6)
    fake_run(steps[2].workdir, "cycle", 3, 6)
    fake_run(steps[3].workdir, "cycle", 0, 6)
    assert planner.step_status(steps[1]) == ("done", 6, 6)
    assert planner.step_status(steps[2]) == ("partial", 3, 6)
    assert planner.step_status(steps[3]) == ("todo", 0, 6)
    assert planner.step_status(steps[4]) == ("todo", 0, None)
    assert planner.step_status(steps[5])[0] == "always"
    out = io.StringIO()
    reproduce("8.1", "tiny", str(tmp_path), dry_run=True, warmup=False, stream=out)
    text = out.getvalue()
    assert "facades/gan: done (6 steps)" in text and "facades/vanilla: resumes at step 3 of 6" in text
    assert "facades/nest: not started" in text and "python -m training.cycle --flagfile=" in text
    assert not os.path.exists(os.path.join(str(tmp_path), "table8.1-tiny", "fcn-facades"))


def test_unknown_presets_and_tables_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"--preset=huge: no .*huge.fcn\.flags"):
        planner.plan_table("8.1", "huge", str(tmp_path))
    with pytest.raises(ConfigError, match=r"--table=9\.9"):
        planner.plan_table("9.9", "tiny", str(tmp_path))
    custom = tmp_path / "mine"
    custom.mkdir()
    for trainer in ("cycle", "fcn"):
        (custom / f"{trainer}.flags").write_text("--max_steps=1\n")
    root, steps = planner.plan_table("8.1", str(custom), str(tmp_path))
    assert root.endswith("table8.1-mine") and steps[1].args[0] == f"--flagfile={custom / 'cycle.flags'}"


def test_durations_read_naturally():
    assert [planner.duration(s) for s in (None, 10, 59 * 60, 3 * 3600 + 5 * 60)] == [
        "?", "1 min", "59 min", "3 h 05 min"]


@pytest.mark.e2e
def test_tiny_table_81_end_to_end_and_an_interrupted_reproduction_resumes(tmp_path, facades):
    import subprocess
    import sys
    from tests.conftest import REPO
    data = tmp_path / "facades"
    for split in ("trainA", "trainB", "testA", "testB"):
        (data / split).mkdir(parents=True)
        for name in sorted(os.listdir(os.path.join(facades, split)))[:4]:
            os.symlink(os.path.join(facades, split, name), data / split / name)
    command = [sys.executable, "-m", "evaluation.reproduce", "--table=8.1", "--preset=tiny",
               f"--out={tmp_path / 'repro'}", f"--data_dir={data}"]
    first = subprocess.run(command + ["--nowarmup"], cwd=REPO, capture_output=True, text=True,
                           timeout=1200)
    assert first.returncode == 0, first.stderr[-3000:]
    root = tmp_path / "repro" / "table8.1-tiny"
    table = (root / "table81.md").read_text()
    assert "| Nest CycleGAN | " in table and "(0.49)" in table and "| Oracle | " in table
    assert "[6/6] table: done" in first.stdout
    # an interruption of the last run: its final checkpoint never got written
    for f in os.listdir(root / "facades" / "nest" / "checkpoints"):
        if f.startswith("ckpt-6"):
            os.remove(root / "facades" / "nest" / "checkpoints" / f)
    (root / "table81.md").unlink()
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert again.returncode == 0, again.stderr[-3000:]
    out = again.stdout
    assert "facades/nest: resumes at step 3 of 6; estimate 1 min" in out  # measured by a warm-up
    assert "facades/long: done (6 steps)\n" in out  # nothing left to estimate
    assert "[2/6] facades/gan: already done, skipped" in out and "[5/6] facades/nest: running" in out
    assert (root / "table81.md").exists()
    assert json.load(open(root / "facades" / "nest" / "config.json"))["total_steps"] == 6
    single = json.load(open(root / "table81.json"))["datasets"]["facades"]
    long = single["rows"][2]
    assert len(long["seeds"]) == 1 and set(long["interval"]) == {"per_pixel_acc", "per_class_acc",
                                                                  "class_iou"}
    # a second seed per row: the first seeds are reused, four runs more, mean ± std and orderings
    seeds = subprocess.run(command + ["--nowarmup", "--seeds=2"], cwd=REPO, capture_output=True,
                           text=True, timeout=1200)
    assert seeds.returncode == 0, seeds.stderr[-3000:]
    assert "[6/10] facades/long: already done, skipped" in seeds.stdout
    assert "[7/10] facades/long-seed1: running" in seeds.stdout
    assert json.load(open(root / "facades" / "long-seed1" / "config.json"))["config"]["seed"] == 1
    part = json.load(open(root / "table81.json"))["datasets"]["facades"]
    rows = {r["method"]: r for r in part["rows"]}
    assert [s["seed"] for s in rows["nest"]["seeds"]] == [0, 1] and rows["nest"]["interval"] is None
    assert rows["long"]["seeds"][0]["ours"] == long["ours"]  # seed 0 is the run made before
    assert rows["oracle"]["std"]["class_iou"] is None
    for entry in part["orderings"]:
        assert entry["seeds"] == 2
        for result in entry["metrics"].values():
            assert len(result["seeds"]) == 2 and result["verdict"] in ("holds", "reversed",
                                                                       "undecided")
    md = (root / "table81.md").read_text()
    assert "(2 seeds) (0.49)" in md and "| Long CycleGAN < Nest CycleGAN | Class IOU | " in md
    assert len((root / "table81_orderings.csv").read_text().splitlines()) == 1 + 3 * 3 * 3
