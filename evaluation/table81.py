"""Table 8.1: FCN-scores of GAN / Vanilla / Long / Nest CycleGAN (label->photo) and the Oracle,
beside the thesis's numbers.

    python -m evaluation.table81 --fcn=runs/fcn/facades --runs=runs/facades \\
        [--cityscapes_fcn=runs/fcn/cityscapes --cityscapes_runs=runs/cityscapes] [--out=DIR]

Under each --runs folder the four workdirs are found by name (gan/, vanilla/, long/, nest/) or, when
no folder has that name, by the variant their config.json records (it must then be unique). Each is
scored with ``evaluation.fcn_score`` at its newest checkpoint (earlier scores of the same provenance
are reused), the Oracle row scores the real test photos, and Markdown, CSV and JSON go to --out
(default <--runs>/results/): table81.md, table81.csv, table81.json and table81_orderings.csv,
rewritten on each call (they only collect the score files, which are never overwritten silently).
Missing rows show "-".

Uncertainty (docs/uncertainty.md): each number has a 95% bootstrap interval over the test images
(``evaluation.uncertainty``; resampled images scored from the sum of their confusion matrices).
A row may have several seeds: beside its workdir, the folders <name>-seed<N> that
``evaluation.reproduce --seeds=K`` trains; the table then shows the mean ± std over the seeds
and lists each seed's intervals. The thesis's ordering GAN < Vanilla < Long < Nest is tested
between neighbouring rows, paired over the same test images, seed i against seed i.
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
import json
import os

from absl import app
from absl import flags as absl_flags

from evaluation.charts import bar_chart, table81_bars
from evaluation.fcn_score import fcn_score, image_confusions, intervals, plan, read_fcn_config, read_run_config
from evaluation.outputs import check_output_dir
from evaluation.plan import SEED_FOLDER, seed_workdirs
from evaluation.scores import fcn_metrics
from evaluation.table81_format import (
    DATASETS,
    FCN_SETTINGS,
    METRICS,
    ORDERING,
    ROWS,
    RUN_SETTINGS,
    THESIS,
    VARIANT_ROWS,
    csv_text,
    markdown,
    orderings_csv,
)
from evaluation.uncertainty import (
    RESAMPLES,
    ordering,
    over_seeds,
)
from evaluation.uncertainty import SEED as BOOTSTRAP_SEED
from flags.common import AutoBooleanFlag, run_main
from training import workdir as wd
from training.config import ConfigError


def find_runs(runs_dir):
    """{variant: workdir or None} for the four rows; ConfigError for an ambiguous folder."""
    if not os.path.isdir(runs_dir):
        raise ConfigError(f"--runs={runs_dir}: folder not found")
    cycle = {}
    for name in sorted(os.listdir(runs_dir)):
        workdir = os.path.join(runs_dir, name)
        if not os.path.isfile(os.path.join(workdir, wd.CONFIG_FILE)):
            continue  # results/, notes, ...: not a workdir
        if wd.read_trainer(workdir) == "cycle":
            with open(os.path.join(workdir, wd.CONFIG_FILE), encoding="utf-8") as f:
                cycle[name] = json.load(f)["config"].get("variant")
    found = {}
    for variant, _ in VARIANT_ROWS:
        if cycle.get(variant) == variant:
            found[variant] = os.path.join(runs_dir, variant)
            continue
        if variant in cycle:
            raise ConfigError(f"--runs={runs_dir}: {variant}/ holds a --variant={cycle[variant]} "
                              "run; rename it so that each folder is named after its variant")
        matches = sorted(n for n, v in cycle.items() if v == variant and n not in dict(VARIANT_ROWS)
                         and not SEED_FOLDER.fullmatch(n))
        if len(matches) > 1:
            raise ConfigError(f"--runs={runs_dir}: several --variant={variant} runs "
                              f"({', '.join(matches)}); name the one for the table {variant}/")
        found[variant] = os.path.join(runs_dir, matches[0]) if matches else None
    return found


def find_seed_runs(runs_dir):
    """{variant: [workdir, ...]}: the row's run as ``find_runs`` finds it (seed 0), then its seed
    folders <name>-seed<N> (``evaluation.reproduce --seeds=K``), which must hold that variant."""
    out = {}
    for variant, workdir in find_runs(runs_dir).items():
        out[variant] = seed_workdirs(workdir) if workdir else []
        for seed_dir in out[variant][1:]:
            if (recorded := read_run_config(seed_dir).variant) != variant:
                raise ConfigError(f"--runs={runs_dir}: {os.path.basename(seed_dir)}/ holds a "
                                  f"--variant={recorded} run; rename it so that each folder is "
                                  "named after its variant")
    return out


def _settings(config, names):
    values = config.to_dict()
    return {k: values[k] for k in names if k in values}


def _seed(fcn, workdir, kind, **score_args):
    """One scored run (or the Oracle): its numbers, their intervals, and where they came from;
    and its per-image confusion matrices (for the comparisons, not written)."""
    result, path, reused = fcn_score(fcn, workdir, oracle=kind == "oracle", **score_args)
    prov, scores = result["provenance"], result["scores"]
    entry = {"seed": read_run_config(workdir).seed if workdir else None,
             "workdir": workdir and os.path.abspath(workdir),
             "ours": {m: scores[m] for m, _ in METRICS}, "interval": intervals(scores),
             "score_file": os.path.abspath(path), "reused": reused,
             "test_images": prov["test_images"], "test_data": prov["test_data"],
             "absent_classes": scores["absent_classes"], "fcn_step": prov["fcn_step"]}
    if workdir:
        entry["step"] = prov["run_step"]
    return entry, image_confusions(scores)


def _row(key, label, label_set, workdirs, fcn, score_args, matrices):
    """A row: the mean ± std over its seeds, each seed with its interval (module doc)."""
    row = {"method": key, "label": label, "workdir": workdirs[0] if workdirs else None,
           "ours": None, "thesis": dict(zip((m for m, _ in METRICS), THESIS[label_set][key]))}
    if key != "oracle" and not workdirs:
        return row
    seeds = []
    for workdir in workdirs or [None]:
        entry, matrices_of_seed = _seed(fcn, workdir, key, **score_args)
        seeds.append(entry)
        matrices.setdefault(key, []).append(matrices_of_seed)
    summary = {m: over_seeds(s["ours"][m] for s in seeds) for m, _ in METRICS}
    first = seeds[0]
    row.update(ours={m: summary[m]["mean"] for m, _ in METRICS},
               std={m: summary[m]["std"] for m, _ in METRICS},
               interval=first["interval"] if len(seeds) == 1 else None, seeds=seeds,
               score_file=first["score_file"], reused=all(s["reused"] for s in seeds),
               test_images=first["test_images"], absent_classes=first["absent_classes"])
    if workdirs:
        row.update(workdir=first["workdir"], step=first["step"],
                   settings=_settings(read_run_config(workdirs[0]), RUN_SETTINGS))
    return row


def orderings(rows, matrices):
    """The thesis's ordering GAN < Vanilla < Long < Nest, neighbour by neighbour: per metric the
    paired difference (higher - lower) over the same test images, seed i against seed i."""
    by_key = {r["method"]: r for r in rows}
    out = []
    for lower, higher in zip(ORDERING, ORDERING[1:]):
        entry = {"lower": lower, "higher": higher, "seeds": 0, "metrics": None, "note": None}
        low, high = by_key[lower].get("seeds") or [], by_key[higher].get("seeds") or []
        if not low or not high:
            entry["note"] = "a row has no run"
        elif len({json.dumps(s["test_data"], sort_keys=True) for s in low + high}) > 1:
            entry["note"] = "the rows were scored on different test images"
        else:
            entry["metrics"] = ordering(matrices[lower], matrices[higher], _fcn_statistic)
            entry["seeds"] = min(len(low), len(high))
        out.append(entry)
    return out


def _fcn_statistic(confusions):
    return dict(zip((m for m, _ in METRICS), fcn_metrics(confusions.sum(0))))


def check_test_sets(fcn, found):
    """Every row of a table is scored on the test set of the FCN's Oracle: a run trained (and so
    scored) on other data is refused by name."""
    oracle = plan(fcn, oracle=True)[0]
    for workdir in (w for seeds in found.values() for w in seeds):
        run = plan(fcn, workdir)[0]
        if run["test_data"] != oracle["test_data"]:
            raise ConfigError(
                f"{workdir}: trained on --dataset={run['dataset']} --data_dir={run['data_dir']} "
                f"({run['test_images']} test images), but the FCN's Oracle row uses "
                f"--dataset={oracle['dataset']} --data_dir={oracle['data_dir']} "
                f"({oracle['test_images']}); every row of Table 8.1 must be scored on one test "
                "set: move the run out of --runs, or train it on the FCN's data")


def dataset_rows(fcn, runs, *, overwrite=False, jit_compile=False, progress_stream=None):
    """One dataset's part of the table: the FCN's settings, the five rows (our mean over seeds,
    None where the run is missing, with each seed's interval; the thesis's; the runs' workdirs,
    steps and settings) and the orderings."""
    fcn_config = read_fcn_config(fcn)
    found = find_seed_runs(runs) if runs else {}
    check_test_sets(fcn, found)
    score_args = dict(overwrite=overwrite, jit_compile=jit_compile, progress_stream=progress_stream)
    matrices = {}
    rows = [_row(key, label, fcn_config.label_set, found.get(key, []), fcn, score_args, matrices)
            for key, label in ROWS]
    fcn_step = next((r["seeds"][0]["fcn_step"] for r in rows if r.get("seeds")), None)
    return {"fcn": {"workdir": os.path.abspath(fcn), "step": fcn_step,
                    **_settings(fcn_config, FCN_SETTINGS)},
            "runs": runs and os.path.abspath(runs), "rows": rows,
            "orderings": orderings(rows, matrices)}


def table81(fcn, runs, *, cityscapes_fcn=None, cityscapes_runs=None, out=None, overwrite=False,
            jit_compile=False, progress_stream=None):
    """Scores what is there, writes table81.{md,csv,json} into ``out``; returns (table, paths)."""
    if cityscapes_runs and not cityscapes_fcn:
        raise ConfigError(f"--cityscapes_runs={cityscapes_runs}: needs --cityscapes_fcn, the FCN "
                          "trained on Cityscapes (python -m training.fcn --label_set=cityscapes)")
    out = out or os.path.join(runs or fcn, wd.RESULTS_DIR)
    check_output_dir(out, "out")
    table = {"thesis": {d: {key: dict(zip((m for m, _ in METRICS), THESIS[d][key]))
                            for key, _ in ROWS} for d, _ in DATASETS}, "datasets": {}}
    for name, fcn_dir, runs_dir, flag in (("facades", fcn, runs, "fcn"),
                                          ("cityscapes", cityscapes_fcn, cityscapes_runs,
                                           "cityscapes_fcn")):
        if not fcn_dir:
            continue
        label_set = read_fcn_config(fcn_dir).label_set
        if label_set != name:
            raise ConfigError(f"--{flag}={fcn_dir}: an FCN of --label_set={label_set}, "
                              f"not {name}")
        table["datasets"][name] = dataset_rows(fcn_dir, runs_dir, overwrite=overwrite,
                                               jit_compile=jit_compile,
                                               progress_stream=progress_stream)
    table["uncertainty"] = {"interval": "95% percentile bootstrap over the test images",
                            "resamples": RESAMPLES, "seed": BOOTSTRAP_SEED}
    os.makedirs(out, exist_ok=True)
    paths = {ext: os.path.join(out, f"table81.{ext}") for ext in ("md", "csv", "json")}
    paths["orderings_csv"] = os.path.join(out, "table81_orderings.csv")
    for key, content in (("md", markdown(table)), ("csv", csv_text(table)),
                         ("json", json.dumps(table, indent=1) + "\n"),
                         ("orderings_csv", orderings_csv(table))):
        wd._atomic_write(paths[key], content)
    bar_chart(*table81_bars(table), os.path.join(out, "table81.png"), title="Table 8.1, ours vs thesis")
    return table, paths


def main(argv):
    fv = absl_flags.FLAGS
    table, paths = run_main(lambda: table81(
        fv.fcn, fv.runs, cityscapes_fcn=fv.cityscapes_fcn, cityscapes_runs=fv.cityscapes_runs,
        out=fv.out, overwrite=fv.overwrite, jit_compile=fv.jit_compile), argv)
    print(markdown(table))
    print("wrote " + ", ".join(paths.values()))


if __name__ == "__main__":
    absl_flags.DEFINE_string("fcn", None, "The FCN workdir of the facades (training.fcn).",
                             required=True)
    absl_flags.DEFINE_string("runs", None, "Folder holding the facades gan/ vanilla/ long/ nest/ "
                             "workdirs (without it: the Oracle row only).")
    absl_flags.DEFINE_string("cityscapes_fcn", None, "The FCN workdir of Cityscapes.")
    absl_flags.DEFINE_string("cityscapes_runs", None, "Folder of the Cityscapes workdirs.")
    absl_flags.DEFINE_string("out", None, "Output folder (default: <--runs>/results, else "
                             "<--fcn>/results).")
    absl_flags.DEFINE_boolean("overwrite", False, "Recompute scores whose files hold another "
                              "provenance.")
    absl_flags.DEFINE_flag(AutoBooleanFlag("jit_compile", "auto", "Compile with XLA: auto (on GPUs "
                                           "only), true or false."))
    app.run(main)
