"""Table 8.2: inception scores of Poisson image blending, TPS warping, VITON and SwapGAN under the
thesis protocol (8.2.4), beside the thesis's numbers.

    python -m evaluation.table82 --swapgan=runs/swapgan/full --viton=runs/viton \\
        --dataset=deepfashion --data_dir=data/deepfashion [--out=DIR] [--max_references=N]

Every method turns the same (reference, condition) pairs (``evaluation.protocol``: every test image
as the reference, 25 seeded random conditions) into the reference wearing the condition's clothes
with the reference head pasted, at the SwapGAN run's image size; IS (8.20)-(8.21) over 10 splits,
and FID / KID against the real test images (beyond the thesis), all on one Inception network
whose name heads the column: the thesis used the 2015 TF Inception graph, so only our rows compare
with each other. The VITON row is "-" when --viton is not given or does not exist. Scores are
cached per method (``evaluation.swap_scores``); table82.{md,csv,json} go to --out (default: the
SwapGAN runs folder's results/), rewritten on each call.

Uncertainty (docs/uncertainty.md): IS gets a 95% bootstrap interval over its images, any
per-pair metric one over the pairs; the SwapGAN and VITON rows take the <workdir>-seed<N> folders
beside --swapgan / --viton as further seeds (mean ± std over seeds).
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
import csv
import io
import json
import os

from absl import app
from absl import flags as absl_flags

from evaluation import ground_truth as gt
from evaluation import swap_scores as ss
from evaluation.baselines import TPS_REGULARIZATION, PoissonBlending, TPSWarping
from evaluation.charts import bar_chart, table82_bars
from evaluation.outputs import check_output_dir
from evaluation.plan import seed_workdirs
from evaluation.swapgan_method import SwapGANMethod
from evaluation.uncertainty import RESAMPLES, numbers, score_intervals, seed_summary, seeds_text
from evaluation.uncertainty import SEED as BOOTSTRAP_SEED
from evaluation.uncertainty import text as interval_text
from evaluation.viton_method import VitonMethod
from flags.common import run_main
from training import workdir as wd
from training.config import ConfigError, SwapConfig, VitonConfig
from training.swapgan_trainer import TRAINER as SWAP_TRAINER
from training.viton_trainer import TRAINER as VITON_TRAINER

ROWS = (("poisson", "Poisson image blending"), ("tps", "TPS warping"), ("viton", "VITON"),
        ("swapgan", "SwapGAN"))
THESIS = {"poisson": (2.10, 0.14), "tps": (2.45, 0.12), "viton": (2.40, 0.05),
          "swapgan": (2.65, 0.09)}  # Table 8.2: IS mean and std
OUTPUT = {"swapgan": "x_gi_pasted"}  # the scored output of each method (others: "image")


def scorables(swapgan, viton, out, swapgan_step=None, viton_step=None):
    """{method: [Scorable, one per seed] (empty for a missing row)} and the notes on left-out
    rows. A run's seeds are its workdir and the <workdir>-seed<N> beside it
    (``evaluation.reproduce --seeds=K``); --swapgan_step / --viton_step apply to seed 0."""
    items, notes = {}, []
    items["swapgan"] = [ss.run_scorable("swapgan", w, "swapgan", SwapConfig, SWAP_TRAINER,
                                        SwapGANMethod.from_workdir, swapgan_step if not i else None,
                                        ss.swapgan_outputs)
                        for i, w in enumerate(seed_workdirs(swapgan))]
    size = items["swapgan"][0].image_size
    folder = os.path.join(out, ss.SCORES_DIR)
    items["poisson"] = [ss.Scorable("poisson", PoissonBlending, size, {"method": "poisson"}, folder,
                                    f"poisson_{size}px")]
    items["tps"] = [ss.Scorable("tps", TPSWarping, size,
                                {"method": "tps", "regularization": TPS_REGULARIZATION}, folder,
                                f"tps_{size}px")]
    if viton and os.path.exists(viton):
        items["viton"] = [ss.run_scorable("viton", w, "viton", VitonConfig, VITON_TRAINER,
                                          VitonMethod.from_workdir, viton_step if not i else None)
                          for i, w in enumerate(seed_workdirs(viton))]
        for item in items["swapgan"][1:] + items["viton"]:
            if item.image_size != size:
                raise ConfigError(f"--{'viton' if item.key == 'viton' else 'swapgan'}="
                                  f"{item.provenance['run']}: a {item.image_size} px run, but the "
                                  f"SwapGAN run is {size} px; the methods are compared at one size")
    else:
        items["viton"] = []
        notes.append(f"VITON: no run at {viton} (train one with python -m training.viton)"
                     if viton else "VITON: no --viton run given")
    return items, notes


def _seeds_of_row(key, items, data, classifier, **score_args):
    """A row's fields: each seed's numbers and intervals (per-pair lists and intervals are not
    copied into the table), their mean and std over seeds."""
    seeds = []
    for item in items:
        result, path, reused = ss.score(item, data, classifier, **score_args)
        scores = gt.flat(result["outputs"][OUTPUT.get(key, "image")])
        run = item.provenance.get("run")
        seeds.append({"seed": read_seed(run) if run else None, "workdir": run,
                      "step": item.provenance.get("step"), "ours": numbers(scores),
                      "intervals": score_intervals(scores), "score_file": os.path.abspath(path),
                      "reused": reused, "classifier": result["classifier"],
                      "counts": result["counts"]})
    first = seeds[0]
    fields = {"seeds": seeds, "score_file": first["score_file"], "classifier": first["classifier"],
              "reused": all(s["reused"] for s in seeds), "counts": first["counts"],
              "image_size": items[0].image_size}
    if "run" in items[0].provenance:
        fields.update(workdir=first["workdir"], step=first["step"],
                      settings=items[0].provenance["settings"])
    if len(seeds) == 1:
        return {**fields, "ours": first["ours"], "intervals": first["intervals"], "std": None}
    summary = seed_summary(s["ours"] for s in seeds)
    return {**fields, "intervals": None, "ours": {k: v["mean"] for k, v in summary.items()},
            "std": {k: v["std"] for k, v in summary.items()}}


def read_seed(workdir):
    """The --seed a run was trained with (from its config.json)."""
    with open(os.path.join(workdir, wd.CONFIG_FILE), encoding="utf-8") as f:
        return json.load(f)["config"].get("seed")


def table82(swapgan, viton=None, *, dataset=None, data_dir=None, out=None, protocol=None,
            classifier=None, swapgan_step=None, viton_step=None, overwrite=False,
            progress_stream=None):
    """Scores what is there (reusing cached scores), writes table82.{md,csv,json}; returns
    (table, paths)."""
    protocol = protocol or ss.Protocol()
    out = out or os.path.join(os.path.dirname(os.path.abspath(swapgan)), wd.RESULTS_DIR)
    check_output_dir(out, "out")
    if viton and not os.path.exists(viton):
        raise ConfigError(f"--viton={viton}: not found (leave --viton out for a table without "
                          "the VITON row)")
    items, notes = scorables(swapgan, viton, out, swapgan_step, viton_step)
    generators = items["swapgan"][0].provenance["settings"].get("generators")
    if generators != "I,II,III":
        raise ConfigError(f"--swapgan={swapgan}: a --generators={generators} run; Table 8.2's "
                          "SwapGAN row is the full model (--generators=I,II,III); ablations "
                          "belong in Table 8.3")
    settings = items["swapgan"][0].provenance["settings"]
    data = ss.TestData(dataset or settings["dataset"], data_dir or settings["data_dir"], protocol)
    classifier = classifier or ss.proto.Classifier(batch_size=protocol.batch_size)
    rows = []
    for key, label in ROWS:
        row = {"method": key, "label": label, "ours": None,
               "thesis": dict(zip(ss.IS_KEYS, THESIS[key]))}
        if items[key]:
            row.update(_seeds_of_row(key, items[key], data, classifier, overwrite=overwrite,
                                     progress_stream=progress_stream))
        rows.append(row)
    table = ss.table_header("8.2", rows, data, classifier, notes)
    table["uncertainty"] = {"interval": "95% percentile bootstrap of the images within each IS "
                            "split (IS) or of the protocol's pairs (per-pair metrics)",
                            "resamples": RESAMPLES, "seed": BOOTSTRAP_SEED}
    paths = ss.write_table(out, "table82", markdown(table), csv_text(table), table)
    bar_chart(*table82_bars(table), os.path.join(out, "table82.png"), title="Table 8.2, ours vs thesis")
    return table, paths


def spread(row, key, interval, digits, plain):
    """``plain`` (the value as printed without uncertainty) with ' [lo, hi]' of ``interval`` for
    one seed, or the mean ± std over several seeds; for a column of any per-pair metric:
    ``spread(row, "psnr", "psnr", 2, ss.number(ours.get("psnr")))``."""
    value = (row["ours"] or {}).get(key)
    if value is None:
        return plain
    if row.get("std"):
        return seeds_text({"mean": value, "std": row["std"].get(key), "n": len(row["seeds"])},
                          digits)
    ci = (row.get("intervals") or {}).get(interval)
    return plain if ci is None else f"{plain} [{ci['lo']:.{digits}f}, {ci['hi']:.{digits}f}]"


def markdown(table):
    """Our IS (and FID, KID) beside the thesis's IS, then the protocol and the settings."""
    head = ["Method", f"IS, ours ({table['classifier'] or 'no classifier'})",
            "IS, thesis (2015 TF Inception)", "FID, ours", "KID, ours", *gt.TRUTH_HEAD]
    lines = ["# Table 8.2: inception scores of clothing swapping (higher is better), ours beside "
             "the thesis's", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table["rows"]:
        ours = row["ours"] or {}
        cells = [row["label"],
                 ss.cell(row, ours.get("is_mean"), spread(
                     row, "is_mean", "is", 2, ss.pm(ours.get("is_mean"), ours.get("is_std")))),
                 ss.pm(*THESIS[row["method"]]),
                 ss.cell(row, ours.get("fid"), ss.number(ours.get("fid"))),
                 ss.cell(row, ours.get("kid_mean"),
                         ss.pm(ours.get("kid_mean"), ours.get("kid_std"), 4)),
                 *gt.truth_cells(table, row["ours"], row.get("intervals"), row.get("std"))]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "One seed: IS mean ± std over the splits and in brackets its 95% interval from "
              f"{RESAMPLES} bootstrap resamples of the images within each split; several seeds "
              "(SwapGAN, VITON): the mean over the seeds ± their std (each seed's intervals "
              "below). FID and KID: no interval.", ""] + ss.notes_lines(table)
    for row in table["rows"]:
        if row["ours"] is None:
            continue
        where = (f"{row['workdir']} at step {row['step']}, " + ss.describe(row["settings"])
                 if "workdir" in row else "no training")
        counts = ", ".join(f"{k} {v}" for k, v in sorted(row["counts"].items()))
        lines.append(f"- {row['label']}: {where}; {row['ours']['images']} images"
                     f"{'; ' + counts if counts else ''} ({'reused' if row['reused'] else 'wrote'} "
                     f"{row['score_file']}); {len(row['seeds'])} seed(s)")
        if len(row["seeds"]) > 1:
            for seed in row["seeds"]:
                found = [f"{m} {interval_text(ci)}" for m, ci in seed["intervals"].items()]
                lines.append(f"  - seed {seed['seed']} ({seed['workdir']}, step {seed['step']}): "
                             + (", ".join(found) or "no interval"))
    return "\n".join(lines) + "\n"


def csv_text(table):
    """One line per method: ours, the thesis's, and where ours came from."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = ("is_mean", "is_std", "fid", "kid_mean", "kid_std", "images")
    writer.writerow(["method", "run_seed", "seeds", *keys, "is_lo", "is_hi", "is_mean_seed_std",
                     "thesis_is_mean", "thesis_is_std", "workdir", "step", "image_size", "pairs",
                     "seed", "classifier", *gt.TRUTH_CSV])
    protocol = table["data"]["protocol"]
    for row in table["rows"]:
        seeds = row.get("seeds") or []
        lines = [("mean" if len(seeds) > 1 else (seeds[0]["seed"] if seeds else ""), row)]
        if len(seeds) > 1:
            lines += [(s["seed"], {**s, "std": None}) for s in seeds]
        for run_seed, r in lines:
            ours, ci = r.get("ours") or {}, (r.get("intervals") or {}).get("is") or {}
            writer.writerow([row["method"], "" if run_seed is None else run_seed, len(seeds),
                             *(ss.csv_number(ours.get(k)) for k in keys),
                             ss.csv_number(ci.get("lo")), ss.csv_number(ci.get("hi")),
                             ss.csv_number((r.get("std") or {}).get("is_mean")),
                             *THESIS[row["method"]], r.get("workdir") or "", r.get("step") or "",
                             row.get("image_size", ""), protocol["pairs"], protocol["seed"],
                             row.get("classifier") or "", *gt.truth_csv(ours, r.get("intervals"))])
    return buffer.getvalue()


def run_command(fv, progress_stream=None):
    """The command line's work: (table, paths)."""
    return table82(fv.swapgan, fv.viton, dataset=fv.dataset, data_dir=fv.data_dir, out=fv.out,
                   protocol=ss.protocol_from_flags(fv), classifier=ss.classifier_from_flags(fv),
                   swapgan_step=fv.swapgan_step, viton_step=fv.viton_step,
                   overwrite=fv.overwrite, progress_stream=progress_stream)


def main(argv):
    table, paths = run_main(lambda: run_command(absl_flags.FLAGS), argv)
    print(markdown(table))
    print("wrote " + ", ".join(paths.values()))


def define_flags(fv=absl_flags.FLAGS):
    absl_flags.DEFINE_string("swapgan", None, "The full SwapGAN workdir (generators I,II,III).",
                             required=True, flag_values=fv)
    absl_flags.DEFINE_string("viton", None, "The VITON workdir (python -m training.viton); the "
                             "row shows '-' without it.", flag_values=fv)
    absl_flags.DEFINE_enum("dataset", None, ["synthetic", "deepfashion", "deepfashion-swap"], "Test data (default: "
                           "the SwapGAN run's).", flag_values=fv)
    absl_flags.DEFINE_string("data_dir", None, "Test data folder (default: the SwapGAN run's).",
                             flag_values=fv)
    absl_flags.DEFINE_integer("swapgan_step", None, "Checkpoint step (default: newest).",
                              flag_values=fv)
    absl_flags.DEFINE_integer("viton_step", None, "Checkpoint step (default: newest).",
                              flag_values=fv)
    ss.define_protocol_flags(fv)
    absl_flags.adopt_module_key_flags(ss, flag_values=fv)  # --help shows --out, --max_references...


if __name__ == "__main__":
    define_flags()
    app.run(main)
