"""Table 8.3: the SwapGAN ablation (Generator I&III, Generator I&II, the full model) by the test
procedure of Figure 8.17, beside the thesis's numbers.

    python -m evaluation.table83 --runs=runs/swapgan [--out=DIR] [--max_references=N]

Under --runs the three workdirs are found by name (i_iii/, i_ii/, full/) or, when no folder has
that name, by the generator set their config.json records (it must then be unique). Each is scored
on the protocol of Table 8.2 (``evaluation.protocol``), at its own image size, on its own test data
(they must agree; --dataset and --data_dir override): IS-reference is the IS of X_GI with the
reference head pasted (the test-phase result), IS-condition the IS of X_GII (G_II's
reconstruction of the condition person, as generated: no head pasted), SSIM that of X_GII against
the condition image X_c (8-bit images, data range 255). A variant without G_II has no X_GII: "-".
FID and KID of both against the real test images are extra columns. table83.{md,csv,json} go to
--out (default <--runs>/results/), with table83_orderings.csv, rewritten on each call; scores are
cached in each run's results/ (``evaluation.swap_scores``).

Uncertainty (docs/uncertainty.md): SSIM (and any per-pair metric a score file keeps as
``<metric>_per_pair``) gets a 95% bootstrap interval over the protocol's pairs, IS one over its
images; a variant's seeds are its workdir and the <name>-seed<N> folders beside it (mean ± std
over seeds); the thesis's "I&II < full model on SSIM" (ORDERINGS) is tested paired over the same
pairs, seed by seed.
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
import json
import os

from absl import app
from absl import flags as absl_flags
import numpy as np

from evaluation import ground_truth as gt
from evaluation import swap_scores as ss
from evaluation.charts import bar_chart, table83_bars
from evaluation.outputs import check_output_dir
from evaluation.plan import SEED_FOLDER, seed_workdirs
from evaluation.swapgan_method import SwapGANMethod
from evaluation.table83_format import (
    ORDERINGS,
    SIDES,
    THESIS,
    VARIANTS,
    csv_text,
    markdown,
    orderings_csv,
)
from evaluation.uncertainty import (
    PER_PAIR,
    RESAMPLES,
    numbers,
    ordering,
    score_intervals,
    seed_summary,
)
from evaluation.uncertainty import SEED as BOOTSTRAP_SEED
from flags.common import run_main
from training import workdir as wd
from training.config import ConfigError, SwapConfig
from training.swapgan_trainer import TRAINER


def find_runs(runs_dir):
    """{variant: workdir or None}; ConfigError for a missing folder, a misnamed run or several
    candidates, or a folder without any SwapGAN run."""
    if not os.path.isdir(runs_dir):
        raise ConfigError(f"--runs={runs_dir}: folder not found")
    generators, names = {}, {v for v, _, _ in VARIANTS}
    for name in sorted(os.listdir(runs_dir)):
        workdir = os.path.join(runs_dir, name)
        if not os.path.isfile(os.path.join(workdir, wd.CONFIG_FILE)):
            continue
        trainer = wd.read_trainer(workdir)
        if trainer == TRAINER:
            with open(os.path.join(workdir, wd.CONFIG_FILE), encoding="utf-8") as f:
                generators[name] = json.load(f)["config"].get("generators")
        elif name in names:
            raise ConfigError(f"--runs={runs_dir}: {name}/ holds a run of another trainer "
                              f"({trainer!r}), not a SwapGAN run; move it away")
    if not generators:
        raise ConfigError(f"--runs={runs_dir}: no SwapGAN workdir there (expected i_iii/, i_ii/ "
                          "and full/, trained with --generators=I,III, I,II and I,II,III)")
    found = {}
    for variant, wanted, _ in VARIANTS:
        if variant in generators:
            if generators[variant] != wanted:
                raise ConfigError(f"--runs={runs_dir}: {variant}/ holds a --generators="
                                  f"{generators[variant]} run, not {wanted}; rename it")
            found[variant] = os.path.join(runs_dir, variant)
            continue
        matches = [n for n, g in generators.items() if g == wanted and n not in names
                   and not SEED_FOLDER.fullmatch(n)]
        if len(matches) > 1:
            raise ConfigError(f"--runs={runs_dir}: several --generators={wanted} runs "
                              f"({', '.join(matches)}); name the one for the table {variant}/")
        found[variant] = os.path.join(runs_dir, matches[0]) if matches else None
    return found


def find_seed_runs(runs_dir):
    """{variant: [workdir, ...]}: the variant's run as ``find_runs`` finds it (seed 0), then its
    seed folders <name>-seed<N> (``evaluation.reproduce --seeds=K``), which must hold the same
    generator set."""
    out = {}
    for (variant, wanted, _), workdir in zip(VARIANTS, find_runs(runs_dir).values()):
        out[variant] = seed_workdirs(workdir) if workdir else []
        for seed_dir in out[variant][1:]:
            with open(os.path.join(seed_dir, wd.CONFIG_FILE), encoding="utf-8") as f:
                recorded = json.load(f)["config"].get("generators")
            if recorded != wanted:
                raise ConfigError(f"--runs={runs_dir}: {os.path.basename(seed_dir)}/ holds a "
                                  f"--generators={recorded} run, not {wanted}; rename it")
    return out


def _test_data(items, dataset, data_dir, protocol):
    """The test data: --dataset / --data_dir, else the runs' own (which must agree)."""
    own = {(i.provenance["settings"]["dataset"], os.path.abspath(i.provenance["settings"]["data_dir"]))
           for i in items if i is not None}
    if not (dataset and data_dir) and len(own) > 1:
        raise ConfigError("the runs were trained on different data (" + "; ".join(
            f"{d} {p}" for d, p in sorted(own)) + "); pass --dataset and --data_dir")
    first_dataset, first_dir = sorted(own)[0]
    return ss.TestData(dataset or first_dataset, data_dir or first_dir, protocol)


def table83(runs, *, dataset=None, data_dir=None, out=None, protocol=None, classifier=None,
            overwrite=False, progress_stream=None):
    """Scores the ablation runs, every seed (reusing cached scores), writes
    table83.{md,csv,json} and table83_orderings.csv; returns (table, paths)."""
    protocol = protocol or ss.Protocol()
    found = find_seed_runs(runs)
    out = out or os.path.join(runs, wd.RESULTS_DIR)
    check_output_dir(out, "out")
    items = {v: [ss.run_scorable("swapgan", w, "runs", SwapConfig, TRAINER,
                                 SwapGANMethod.from_workdir, outputs=ss.swapgan_outputs)
                 for w in workdirs] for v, workdirs in found.items()}
    data = _test_data([i for seeds in items.values() for i in seeds], dataset, data_dir, protocol)
    classifier = classifier or ss.proto.Classifier(batch_size=protocol.batch_size)
    rows, notes, kept = [], [], {}
    for variant, generators, label in VARIANTS:
        ref, cond, ssim = THESIS[variant]
        row = {"method": variant, "label": label, "generators": generators, "ours": None,
               "thesis": {"is_reference": ref, "is_condition": cond, "ssim": ssim}}
        if not items[variant]:
            notes.append(f"{label}: no --generators={generators} run under {runs}")
        else:
            row.update(_seeds_of_row(items[variant], data, classifier, kept.setdefault(variant, []),
                                     overwrite=overwrite, progress_stream=progress_stream))
        rows.append(row)
    table = ss.table_header("8.3", rows, data, classifier, notes)
    table["runs"] = os.path.abspath(runs)
    table["orderings"] = orderings(kept)
    table["uncertainty"] = {"interval": "95% percentile bootstrap over the protocol's pairs (SSIM "
                            "and per-pair metrics) or its images within each IS split (IS)",
                            "resamples": RESAMPLES, "seed": BOOTSTRAP_SEED}
    bar_chart(*table83_bars(table), os.path.join(out, "table83.png"), title="Table 8.3, ours vs thesis")
    paths = ss.write_table(out, "table83", markdown(table), csv_text(table), table)
    paths["orderings_csv"] = os.path.join(out, "table83_orderings.csv")
    wd._atomic_write(paths["orderings_csv"], orderings_csv(table))
    return table, paths


def _seeds_of_row(items, data, classifier, kept, **score_args):
    """A row's fields: each seed's numbers and intervals, their mean (± std over seeds); the
    per-pair values go to ``kept`` (for the orderings), not into the table."""
    seeds = []
    for item in items:
        result, path, reused = ss.score(item, data, classifier, **score_args)
        sides = {side: gt.flat(result["outputs"].get(key)) for side, key in SIDES}
        kept.append(sides)
        seeds.append({"seed": wd.read_config(item.provenance["run"], SwapConfig, TRAINER).seed,
                      "workdir": item.provenance["run"], "step": item.provenance["step"],
                      "ours": {side: numbers(v) for side, v in sides.items()},
                      "intervals": {side: score_intervals(v) for side, v in sides.items()},
                      "score_file": os.path.abspath(path), "reused": reused,
                      "classifier": result["classifier"]})
    first = seeds[0]
    fields = {"seeds": seeds, "score_file": first["score_file"],
              "reused": all(s["reused"] for s in seeds), "classifier": first["classifier"],
              "image_size": items[0].image_size, "workdir": first["workdir"],
              "step": first["step"], "settings": items[0].provenance["settings"]}
    if len(seeds) == 1:
        return {**fields, "ours": first["ours"], "intervals": first["intervals"], "std": None}
    summary = {side: seed_summary(s["ours"][side] for s in seeds) if first["ours"][side] else None
               for side, _ in SIDES}
    return {**fields, "intervals": None,
            "ours": {side: v and {k: x["mean"] for k, x in v.items()} for side, v in summary.items()},
            "std": {side: v and {k: x["std"] for k, x in v.items()} for side, v in summary.items()}}


def orderings(kept):
    """The thesis's orderings (ORDERINGS), paired over the same protocol pairs, seed i against
    seed i: per ordering the difference (higher - lower) of the metric's mean, its interval per
    seed and the verdict."""
    out = []
    for lower, higher, side, metric in ORDERINGS:
        entry = {"lower": lower, "higher": higher, "side": side, "seeds": 0, "metrics": None,
                 "note": None}
        values = [[(s.get(side) or {}).get(metric + PER_PAIR) for s in kept.get(key, [])]
                  for key in (lower, higher)]
        if not values[0] or not values[1]:
            entry["note"] = "a row has no run"
        elif any(v is None for v in values[0] + values[1]):
            entry["note"] = f"a run has no per-pair {metric}"
        else:
            result = ordering([np.asarray(v) for v in values[0]],
                              [np.asarray(v) for v in values[1]], np.mean)
            entry.update(metrics={metric: result}, seeds=len(result["seeds"]))
        out.append(entry)
    return out


def run_command(fv, progress_stream=None):
    """The command line's work: (table, paths)."""
    return table83(fv.runs, dataset=fv.dataset, data_dir=fv.data_dir, out=fv.out,
                   protocol=ss.protocol_from_flags(fv), classifier=ss.classifier_from_flags(fv),
                   overwrite=fv.overwrite, progress_stream=progress_stream)


def main(argv):
    table, paths = run_main(lambda: run_command(absl_flags.FLAGS), argv)
    print(markdown(table))
    print("wrote " + ", ".join(paths.values()))


def define_flags(fv=absl_flags.FLAGS):
    absl_flags.DEFINE_string("runs", None, "Folder holding the i_iii/ i_ii/ full/ SwapGAN "
                             "workdirs.", required=True, flag_values=fv)
    absl_flags.DEFINE_enum("dataset", None, ["synthetic", "deepfashion", "deepfashion-swap"], "Test data (default: "
                           "the runs').", flag_values=fv)
    absl_flags.DEFINE_string("data_dir", None, "Test data folder (default: the runs').",
                             flag_values=fv)
    ss.define_protocol_flags(fv)
    absl_flags.adopt_module_key_flags(ss, flag_values=fv)  # --help shows --out, --max_references...


if __name__ == "__main__":
    define_flags()
    app.run(main)
