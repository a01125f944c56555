"""Table 8.1: FCN-scores of GAN / Vanilla / Long / Nest CycleGAN (label->photo) and the Oracle,
beside the thesis's numbers.

    python -m evaluation.table81 --fcn=runs/fcn/facades --runs=runs/facades \\
        [--cityscapes_fcn=runs/fcn/cityscapes --cityscapes_runs=runs/cityscapes] [--out=DIR]

Under each --runs folder the four workdirs are found by name (gan/, vanilla/, long/, nest/) or, when
no folder has that name, by the variant their config.json records (it must then be unique). Each is
scored with ``evaluation.fcn_score`` at its newest checkpoint (earlier scores of the same provenance
are reused), the Oracle row scores the real test photos, and Markdown, CSV and JSON go to --out
(default <--runs>/results/): table81.md, table81.csv, table81.json, rewritten on each call (they
only collect the score files, which are never overwritten silently). Missing rows show "-".
"""
import csv
import io
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags as absl_flags  # noqa: E402

from evaluation.fcn_score import fcn_score, plan, read_fcn_config, read_run_config  # noqa: E402
from evaluation.outputs import check_output_dir  # noqa: E402
from flags.common import AutoBooleanFlag, run_main  # noqa: E402
from training import workdir as wd  # noqa: E402
from training.config import ConfigError  # noqa: E402

VARIANT_ROWS = (("gan", "GAN"), ("vanilla", "Vanilla CycleGAN"), ("long", "Long CycleGAN"),
                ("nest", "Nest CycleGAN"))
ROWS = VARIANT_ROWS + (("oracle", "Oracle"),)
METRICS = (("per_pixel_acc", "Per-pixel acc."), ("per_class_acc", "Per-class acc."),
           ("class_iou", "Class IOU"))
DATASETS = (("facades", "CMP-Facade"), ("cityscapes", "Cityscapes"))
# Table 8.1 of the thesis: (per-pixel acc., per-class acc., class IOU).
THESIS = {
    "facades": {"gan": (0.32, 0.12, 0.07), "vanilla": (0.35, 0.15, 0.10),
                "long": (0.43, 0.19, 0.13), "nest": (0.49, 0.22, 0.15),
                "oracle": (0.66, 0.51, 0.39)},
    "cityscapes": {"gan": (0.50, 0.11, 0.07), "vanilla": (0.51, 0.17, 0.12),
                   "long": (0.54, 0.18, 0.13), "nest": (0.57, 0.20, 0.14),
                   "oracle": (0.86, 0.45, 0.37)},
}
RUN_SETTINGS = ("variant", "M", "N", "share_weights", "image_size", "ngf", "ndf", "n_blocks",
                "batch_size", "epochs", "max_steps", "data_dir")
FCN_SETTINGS = ("label_set", "image_size", "width", "fc_width", "upsampling", "backbone_weights",
                "batch_size", "epochs", "max_steps", "data_dir")


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
        matches = sorted(n for n, v in cycle.items() if v == variant and n not in dict(VARIANT_ROWS))
        if len(matches) > 1:
            raise ConfigError(f"--runs={runs_dir}: several --variant={variant} runs "
                              f"({', '.join(matches)}); name the one for the table {variant}/")
        found[variant] = os.path.join(runs_dir, matches[0]) if matches else None
    return found


def _settings(config, names):
    values = config.to_dict()
    return {k: values[k] for k in names if k in values}


def check_test_sets(fcn, found):
    """Every row of a table is scored on the test set of the FCN's Oracle: a run trained (and so
    scored) on other data is refused by name."""
    oracle = plan(fcn, oracle=True)[0]
    for workdir in filter(None, found.values()):
        run = plan(fcn, workdir)[0]
        if run["test_data"] != oracle["test_data"]:
            raise ConfigError(
                f"{workdir}: trained on --dataset={run['dataset']} --data_dir={run['data_dir']} "
                f"({run['test_images']} test images), but the FCN's Oracle row uses "
                f"--dataset={oracle['dataset']} --data_dir={oracle['data_dir']} "
                f"({oracle['test_images']}); every row of Table 8.1 must be scored on one test "
                "set: move the run out of --runs, or train it on the FCN's data")


def dataset_rows(fcn, runs, *, overwrite=False, jit_compile=False, progress_stream=None):
    """One dataset's part of the table: the FCN's settings and the five rows, each with our scores
    (None where the run is missing), the thesis's, and the run's workdir, step and settings."""
    fcn_config = read_fcn_config(fcn)
    found = find_runs(runs) if runs else {}
    check_test_sets(fcn, found)
    rows, fcn_step = [], None
    for key, label in ROWS:
        workdir = found.get(key)
        row = {"method": key, "label": label, "workdir": workdir and os.path.abspath(workdir),
               "ours": None, "thesis": dict(zip((m for m, _ in METRICS),
                                                THESIS[fcn_config.label_set][key]))}
        if key == "oracle" or workdir:
            result, path, reused = fcn_score(
                fcn, workdir, oracle=key == "oracle", overwrite=overwrite, jit_compile=jit_compile,
                progress_stream=progress_stream)
            prov, scores = result["provenance"], result["scores"]
            fcn_step = prov["fcn_step"]
            row.update(ours={m: scores[m] for m, _ in METRICS}, score_file=os.path.abspath(path),
                       reused=reused, test_images=prov["test_images"],
                       absent_classes=scores["absent_classes"])
            if workdir:
                row.update(step=prov["run_step"],
                           settings=_settings(read_run_config(workdir), RUN_SETTINGS))
        rows.append(row)
    return {"fcn": {"workdir": os.path.abspath(fcn), "step": fcn_step,
                    **_settings(fcn_config, FCN_SETTINGS)},
            "runs": runs and os.path.abspath(runs), "rows": rows}


def table81(fcn, runs, *, cityscapes_fcn=None, cityscapes_runs=None, out=None, overwrite=False,
            jit_compile=False, progress_stream=None):
    """Scores what is there, writes table81.{md,csv,json} into ``out``; returns (table, paths)."""
    if cityscapes_runs and not cityscapes_fcn:
        raise ConfigError(f"--cityscapes_runs={cityscapes_runs}: needs --cityscapes_fcn, the FCN "
                          "trained on Cityscapes (python -m evaluation.fcn --label_set=cityscapes)")
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
    os.makedirs(out, exist_ok=True)
    paths = {ext: os.path.join(out, f"table81.{ext}") for ext in ("md", "csv", "json")}
    for ext, text in (("md", markdown(table)), ("csv", csv_text(table)),
                      ("json", json.dumps(table, indent=1) + "\n")):
        wd._atomic_write(paths[ext], text)
    return table, paths


def _number(value):
    return "-" if value is None else f"{value:.2f}"


def _ours(table, dataset, row_index):
    part = table["datasets"].get(dataset)
    return part["rows"][row_index]["ours"] if part else None


def markdown(table):
    """The thesis's layout (both datasets side by side), each cell 'ours (thesis)', then the
    settings that produced ours."""
    head = ["Method"] + [f"{d}: {m}" for _, d in DATASETS for _, m in METRICS]
    lines = ["# Table 8.1: FCN-scores of label->photo, ours (thesis)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, (key, label) in enumerate(ROWS):
        cells = [label]
        for dataset, _ in DATASETS:
            ours = _ours(table, dataset, i)
            cells += [f"{_number(ours and ours[m])} ({THESIS[dataset][key][j]:.2f})"
                      for j, (m, _) in enumerate(METRICS)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Ours: one confusion matrix over the whole test set; per-class accuracy and "
              "class IOU average over every class of the label set (a class absent from the test "
              "labels counts 0). '-': no run found.", ""]
    for dataset, title in DATASETS:
        part = table["datasets"].get(dataset)
        if not part:
            continue
        f = part["fcn"]
        lines += [f"## {title}", "",
                  f"- FCN: {f['workdir']} at step {f['step']}: {f['image_size']} px, width "
                  f"{f['width']}, fc {f['fc_width']}, {f['upsampling']} upsampling, backbone "
                  f"{f['backbone_weights']}, batch {f['batch_size']}, "
                  f"{_length(f)}; data {f['data_dir']}"]
        for row in part["rows"]:
            if row["ours"] is None:
                lines.append(f"- {row['label']}: no run found under {part['runs'] or '(no --runs)'}")
            elif row["method"] == "oracle":
                lines.append(f"- Oracle: the real test photos ({row['test_images']} images) at "
                             f"{f['image_size']} px")
            else:
                s = row["settings"]
                lines.append(f"- {row['label']}: {row['workdir']} at step {row['step']}: "
                             f"M={s['M']} N={s['N']}{' shared' if s['share_weights'] else ''}, "
                             f"{s['image_size']} px, ngf {s['ngf']}, ndf {s['ndf']}, "
                             f"{s['n_blocks']} blocks, batch {s['batch_size']}, {_length(s)}; "
                             f"{row['test_images']} test images")
        lines.append("")
    return "\n".join(lines)


def _length(settings):
    return (f"{settings['max_steps']} steps" if settings["max_steps"]
            else f"{settings['epochs']} epochs")


def csv_text(table):
    """One line per dataset and method: ours, the thesis's, and where ours came from."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["dataset", "method"] + [m for m, _ in METRICS]
                    + [f"thesis_{m}" for m, _ in METRICS]
                    + ["workdir", "step", "image_size", "fcn_workdir", "fcn_step", "fcn_image_size"])
    for dataset, _ in DATASETS:
        part = table["datasets"].get(dataset)
        for i, (key, _) in enumerate(ROWS):
            row = part["rows"][i] if part else {}
            ours = row.get("ours") or {}
            fcn = part["fcn"] if part else {}
            size = (row.get("settings") or {}).get("image_size", fcn.get("image_size")
                                                   if ours and key == "oracle" else "")
            writer.writerow([dataset, key] + [f"{ours[m]:.4f}" if m in ours else ""
                                              for m, _ in METRICS]
                            + list(THESIS[dataset][key])
                            + [row.get("workdir") or "", row.get("step", ""), size,
                               fcn.get("workdir", ""), fcn.get("step", ""),
                               fcn.get("image_size", "")])
    return buffer.getvalue()


def main(argv):
    fv = absl_flags.FLAGS
    table, paths = run_main(lambda: table81(
        fv.fcn, fv.runs, cityscapes_fcn=fv.cityscapes_fcn, cityscapes_runs=fv.cityscapes_runs,
        out=fv.out, overwrite=fv.overwrite, jit_compile=fv.jit_compile), argv)
    print(markdown(table))
    print("wrote " + ", ".join(paths.values()))


if __name__ == "__main__":
    absl_flags.DEFINE_string("fcn", None, "The FCN workdir of the facades (evaluation.fcn).",
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
