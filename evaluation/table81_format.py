"""Table 8.1's rows, the thesis's numbers and the file formats (Markdown, CSV, the orderings' CSV)
of ``evaluation.table81``, which scores the runs."""
import csv
import io

from evaluation.uncertainty import (
    ORDERING_CSV_HEAD,
    RESAMPLES,
    ordering_csv_rows,
    ordering_markdown,
    over_seeds,
    seeds_text,
    text,
)

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
ORDERING = ("gan", "vanilla", "long", "nest")  # the thesis: each row scores below the next
RUN_SETTINGS = ("variant", "M", "N", "share_weights", "image_size", "ngf", "ndf", "n_blocks",
                "batch_size", "epochs", "max_steps", "data_dir")
FCN_SETTINGS = ("label_set", "image_size", "width", "fc_width", "upsampling", "backbone_weights",
                "batch_size", "epochs", "max_steps", "data_dir")


def _number(value):
    return "-" if value is None else f"{value:.2f}"


def _cell(row, metric):
    """'0.43 [0.40, 0.46]' for one seed (its interval), '0.43 ± 0.02 (3 seeds)' for several."""
    if row is None or row["ours"] is None:
        return "-"
    if row["interval"] is not None:
        return text(row["interval"][metric])
    return seeds_text(over_seeds(s["ours"][metric] for s in row["seeds"]))


def _row_of(table, dataset, row_index):
    part = table["datasets"].get(dataset)
    return part["rows"][row_index] if part else None


def markdown(table):
    """The thesis's layout (both datasets side by side), each cell 'ours (thesis)', then the
    orderings, each seed's numbers and the settings that produced ours."""
    head = ["Method"] + [f"{d}: {m}" for _, d in DATASETS for _, m in METRICS]
    lines = ["# Table 8.1: FCN-scores of label->photo, ours (thesis)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, (key, label) in enumerate(ROWS):
        cells = [label]
        for dataset, _ in DATASETS:
            row = _row_of(table, dataset, i)
            cells += [f"{_cell(row, m)} ({THESIS[dataset][key][j]:.2f})"
                      for j, (m, _) in enumerate(METRICS)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Ours: one confusion matrix over the whole test set; per-class accuracy and "
              "class IOU average over every class of the label set (a class absent from the test "
              "labels counts 0). One seed: the value and its 95% interval [lo, hi] from "
              f"{RESAMPLES} bootstrap resamples of the test images (each resample scored from the "
              "sum of its images' confusion matrices); several seeds: mean ± std over the seeds "
              "(each seed's interval below). '-': no run found.", ""]
    for dataset, title in DATASETS:
        part = table["datasets"].get(dataset)
        if part:
            lines += [f"## {title}: the thesis's ordering GAN < Vanilla < Long < Nest", ""]
            lines += ordering_markdown(part["orderings"], dict(ROWS), dict(METRICS))
            lines += _settings_lines(part, title)
    return "\n".join(lines)


def _settings_lines(part, title):
    f = part["fcn"]
    lines = [f"## {title}: runs and settings", "",
             f"- FCN: {f['workdir']} at step {f['step']}: {f['image_size']} px, width "
             f"{f['width']}, fc {f['fc_width']}, {f['upsampling']} upsampling, backbone "
             f"{f['backbone_weights']}, batch {f['batch_size']}, "
             f"{_length(f)}; data {f['data_dir']}"]
    for row in part["rows"]:
        if row["ours"] is None:
            lines.append(f"- {row['label']}: no run found under {part['runs'] or '(no --runs)'}")
            continue
        if row["method"] == "oracle":
            lines.append(f"- Oracle: the real test photos ({row['test_images']} images) at "
                         f"{f['image_size']} px")
        else:
            s = row["settings"]
            lines.append(f"- {row['label']}: {row['workdir']} at step {row['step']}: "
                         f"M={s['M']} N={s['N']}{' shared' if s['share_weights'] else ''}, "
                         f"{s['image_size']} px, ngf {s['ngf']}, ndf {s['ndf']}, "
                         f"{s['n_blocks']} blocks, batch {s['batch_size']}, {_length(s)}; "
                         f"{row['test_images']} test images; {len(row['seeds'])} seed(s)")
        for seed in row["seeds"]:
            where = "" if seed["workdir"] is None else \
                f"seed {seed['seed']} ({seed['workdir']}, step {seed['step']}): "
            lines.append("  - " + where + ", ".join(
                f"{label} {text(seed['interval'][m])}" for m, label in METRICS))
    return lines + [""]


def _length(settings):
    return (f"{settings['max_steps']} steps" if settings["max_steps"]
            else f"{settings['epochs']} epochs")


def csv_text(table):
    """One line per dataset and method (ours: the value and its interval for one seed, the mean
    and std for several), then with several seeds one line per seed; the thesis's numbers and
    where ours came from."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["dataset", "method", "seed", "seeds"]
                    + [f"{m}{part}" for m, _ in METRICS for part in ("", "_lo", "_hi", "_std")]
                    + [f"thesis_{m}" for m, _ in METRICS]
                    + ["workdir", "step", "image_size", "fcn_workdir", "fcn_step",
                       "fcn_image_size"])

    def number(value):
        return "" if value is None else f"{value:.4f}"

    for dataset, _ in DATASETS:
        part = table["datasets"].get(dataset)
        fcn = part["fcn"] if part else {}
        for i, (key, _) in enumerate(ROWS):
            row = part["rows"][i] if part else {}
            seeds = row.get("seeds") or []
            size = (row.get("settings") or {}).get("image_size", fcn.get("image_size")
                                                   if seeds and key == "oracle" else "")
            tail = list(THESIS[dataset][key])
            where = [fcn.get("workdir", ""), fcn.get("step", ""), fcn.get("image_size", "")]
            lines = [("mean" if len(seeds) > 1 else (seeds[0]["seed"] if seeds else ""),
                      row.get("ours") or {}, row.get("std") or {}, row.get("interval") or {},
                      row.get("workdir") or "", row.get("step", ""))]
            if len(seeds) > 1:
                lines += [(s["seed"], s["ours"], {}, s["interval"], s["workdir"], s["step"])
                          for s in seeds]
            for seed, ours, std, interval, workdir, step in lines:
                values = []
                for m, _ in METRICS:
                    ci = interval.get(m) or {}
                    values += [number(ours.get(m)), number(ci.get("lo")), number(ci.get("hi")),
                               number(std.get(m))]
                writer.writerow([dataset, key, "" if seed is None else seed, len(seeds)] + values
                                + tail + [workdir, step, size] + where)
    return buffer.getvalue()


def orderings_csv(table):
    """``uncertainty.ordering_csv_rows`` of each dataset, the dataset first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["dataset"] + ORDERING_CSV_HEAD)
    for dataset, _ in DATASETS:
        part = table["datasets"].get(dataset) or {}
        writer.writerows([dataset] + r for r in ordering_csv_rows(part.get("orderings", []), 4))
    return buffer.getvalue()
