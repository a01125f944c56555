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
--out (default <--runs>/results/), rewritten on each call; scores are cached in each run's
results/ (``evaluation.swap_scores``).
"""
import csv
import io
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

from evaluation import swap_scores as ss  # noqa: E402
from evaluation.outputs import check_output_dir  # noqa: E402
from evaluation.swapgan_method import SwapGANMethod  # noqa: E402
from flags.common import run_main  # noqa: E402
from training import workdir as wd  # noqa: E402
from training.config import ConfigError, SwapConfig  # noqa: E402
from training.swapgan_trainer import TRAINER  # noqa: E402

VARIANTS = (("i_iii", "I,III", "Generator I&III"), ("i_ii", "I,II", "Generator I&II"),
            ("full", "I,II,III", "Full Model"))
# Table 8.3: IS-reference and IS-condition (mean, std), SSIM; None where the thesis has "-".
THESIS = {"i_iii": ((2.47, 0.11), None, None), "i_ii": ((2.36, 0.14), (2.66, 0.12), 0.708),
          "full": ((2.65, 0.09), (2.85, 0.12), 0.717)}
SIDES = (("reference", "x_gi_pasted"), ("condition", "x_gii"))


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
        matches = [n for n, g in generators.items() if g == wanted and n not in names]
        if len(matches) > 1:
            raise ConfigError(f"--runs={runs_dir}: several --generators={wanted} runs "
                              f"({', '.join(matches)}); name the one for the table {variant}/")
        found[variant] = os.path.join(runs_dir, matches[0]) if matches else None
    return found


def _test_data(items, dataset, data_dir, protocol):
    """The test data: --dataset / --data_dir, else the runs' own (which must agree)."""
    own = {(i.provenance["settings"]["dataset"], os.path.abspath(i.provenance["settings"]["data_dir"]))
           for i in items.values() if i is not None}
    if not (dataset and data_dir) and len(own) > 1:
        raise ConfigError("the runs were trained on different data (" + "; ".join(
            f"{d} {p}" for d, p in sorted(own)) + "); pass --dataset and --data_dir")
    first_dataset, first_dir = sorted(own)[0]
    return ss.TestData(dataset or first_dataset, data_dir or first_dir, protocol)


def table83(runs, *, dataset=None, data_dir=None, out=None, protocol=None, classifier=None,
            overwrite=False, progress_stream=None):
    """Scores the ablation runs (reusing cached scores), writes table83.{md,csv,json}; returns
    (table, paths)."""
    protocol = protocol or ss.Protocol()
    found = find_runs(runs)
    out = out or os.path.join(runs, wd.RESULTS_DIR)
    check_output_dir(out, "out")
    items = {v: ss.run_scorable("swapgan", w, "runs", SwapConfig, TRAINER,
                                SwapGANMethod.from_workdir, outputs=ss.swapgan_outputs)
             if w else None for v, w in found.items()}
    data = _test_data(items, dataset, data_dir, protocol)
    classifier = classifier or ss.proto.Classifier(batch_size=protocol.batch_size)
    rows, notes = [], []
    for variant, generators, label in VARIANTS:
        ref, cond, ssim = THESIS[variant]
        row = {"method": variant, "label": label, "generators": generators, "ours": None,
               "thesis": {"is_reference": ref, "is_condition": cond, "ssim": ssim}}
        item = items[variant]
        if item is None:
            notes.append(f"{label}: no --generators={generators} run under {runs}")
        else:
            result, path, reused = ss.score(item, data, classifier, overwrite=overwrite,
                                            progress_stream=progress_stream)
            outputs = result["outputs"]
            row.update(ours={side: outputs.get(key) for side, key in SIDES},
                       score_file=os.path.abspath(path), reused=reused,
                       classifier=result["classifier"], image_size=item.image_size,
                       workdir=item.provenance["run"], step=item.provenance["step"],
                       settings=item.provenance["settings"])
        rows.append(row)
    table = ss.table_header("8.3", rows, data, classifier, notes)
    table["runs"] = os.path.abspath(runs)
    return table, ss.write_table(out, "table83", markdown(table), csv_text(table), table)


def _side(row, side):
    """The scores of one side of a row ({} where the row or the side is missing)."""
    return (row["ours"] or {}).get(side) or {}


def markdown(table):
    head = ["Method", "IS-reference, ours", "thesis", "IS-condition, ours", "thesis", "SSIM, ours",
            "thesis", "FID-ref., ours", "KID-ref., ours", "FID-cond., ours", "KID-cond., ours"]
    lines = [f"# Table 8.3: the SwapGAN ablation, ours beside the thesis's (IS on "
             f"{table['classifier'] or 'no classifier'})", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table["rows"]:
        ref, cond = _side(row, "reference"), _side(row, "condition")
        thesis = row["thesis"]
        cells = [row["label"]]
        for scores, theirs in ((ref, thesis["is_reference"]), (cond, thesis["is_condition"])):
            present = {"ours": scores or None}
            cells += [ss.cell(present, scores.get("is_mean"),
                              ss.pm(scores.get("is_mean"), scores.get("is_std"))),
                      ss.pm(*(theirs or (None, None)))]
        cells += [ss.number(cond.get("ssim"), 3), ss.number(thesis["ssim"], 3)]
        for scores in (ref, cond):
            present = {"ours": scores or None}
            cells += [ss.cell(present, scores.get("fid"), ss.number(scores.get("fid"))),
                      ss.cell(present, scores.get("kid_mean"),
                              ss.pm(scores.get("kid_mean"), scores.get("kid_std"), 4))]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "IS-reference: X_GI with the reference head pasted; IS-condition: X_GII, G_II's "
              "reconstruction of the condition person; SSIM: X_GII against the condition image "
              "X_c (Figure 8.17), scikit-image, Gaussian window sigma 1.5, population "
              "covariances, over RGB, 8-bit images with data range 255. '-': the variant has no "
              "G_II, or no run.", ""] + ss.notes_lines(table)
    for row in table["rows"]:
        if row["ours"] is not None:
            lines.append(f"- {row['label']}: {row['workdir']} at step {row['step']}, "
                         f"{ss.describe(row['settings'])}; {row['ours']['reference']['images']} "
                         f"images ({'reused' if row['reused'] else 'wrote'} {row['score_file']})")
    return "\n".join(lines) + "\n"


def csv_text(table):
    """One line per variant: ours (both sides), the thesis's, and where ours came from."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = ("is_mean", "is_std", "fid", "kid_mean", "kid_std")
    writer.writerow(["method", "generators"] + [f"{k}_{side}" for side, _ in SIDES for k in keys]
                    + ["ssim", "images", "thesis_is_reference_mean", "thesis_is_reference_std",
                       "thesis_is_condition_mean", "thesis_is_condition_std", "thesis_ssim",
                       "workdir", "step", "image_size", "pairs", "seed", "classifier"])
    protocol = table["data"]["protocol"]
    for row in table["rows"]:
        t = row["thesis"]
        writer.writerow([row["method"], row["generators"]]
                        + [ss.csv_number(_side(row, side).get(k)) for side, _ in SIDES for k in keys]
                        + [ss.csv_number(_side(row, "condition").get("ssim")),
                           ss.csv_number(_side(row, "reference").get("images")),
                           *(t["is_reference"]), *(t["is_condition"] or ("", "")),
                           "" if t["ssim"] is None else t["ssim"], row.get("workdir", ""),
                           row.get("step", ""), row.get("image_size", ""), protocol["pairs"],
                           protocol["seed"], row.get("classifier") or ""])
    return buffer.getvalue()


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
    absl_flags.DEFINE_enum("dataset", None, ["synthetic", "deepfashion"], "Test data (default: "
                           "the runs').", flag_values=fv)
    absl_flags.DEFINE_string("data_dir", None, "Test data folder (default: the runs').",
                             flag_values=fv)
    ss.define_protocol_flags(fv)
    absl_flags.adopt_module_key_flags(ss, flag_values=fv)  # --help shows --out, --max_references...


if __name__ == "__main__":
    define_flags()
    app.run(main)
