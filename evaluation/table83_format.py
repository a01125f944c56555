"""Table 8.3's rows, the thesis's numbers and the file formats (Markdown, CSV, the orderings' CSV)
of ``evaluation.table83``, which scores the runs."""
import csv
import io

from evaluation import ground_truth as gt
from evaluation import swap_scores as ss
from evaluation.uncertainty import (
    ORDERING_CSV_HEAD,
    RESAMPLES,
    ordering_csv_rows,
    ordering_markdown,
    seeds_text,
)
from evaluation.uncertainty import text as interval_text

VARIANTS = (("i_iii", "I,III", "Generator I&III"), ("i_ii", "I,II", "Generator I&II"),
            ("full", "I,II,III", "Full Model"))
# Table 8.3: IS-reference and IS-condition (mean, std), SSIM; None where the thesis has "-".
THESIS = {"i_iii": ((2.47, 0.11), None, None), "i_ii": ((2.36, 0.14), (2.66, 0.12), 0.708),
          "full": ((2.65, 0.09), (2.85, 0.12), 0.717)}
SIDES = (("reference", "x_gi_pasted"), ("condition", "x_gii"))
# The thesis's orderings tested pairwise: (lower row, higher row, side, per-pair metric).
ORDERINGS = (("i_ii", "full", "condition", "ssim"),)



def _side(row, side):
    """The scores of one side of a row ({} where the row or the side is missing)."""
    return (row["ours"] or {}).get(side) or {}


def _spread(row, side, key, interval, digits, plain):
    """``plain`` (the value as the thesis prints it) with its uncertainty: ' [lo, hi]' of
    ``interval`` for one seed, or the mean ± std over several seeds."""
    value = _side(row, side).get(key)
    if value is None:
        return plain
    if row.get("std"):
        return seeds_text({"mean": value, "std": (row["std"].get(side) or {}).get(key),
                           "n": len(row["seeds"])}, digits)
    ci = ((row.get("intervals") or {}).get(side) or {}).get(interval)
    return plain if ci is None else f"{plain} [{ci['lo']:.{digits}f}, {ci['hi']:.{digits}f}]"


def markdown(table):
    head = ["Method", "IS-reference, ours", "thesis", "IS-condition, ours", "thesis", "SSIM, ours",
            "thesis", "FID-ref., ours", "KID-ref., ours", "FID-cond., ours", "KID-cond., ours",
            *gt.TRUTH_HEAD]
    lines = [f"# Table 8.3: the SwapGAN ablation, ours beside the thesis's (IS on "
             f"{table['classifier'] or 'no classifier'})", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table["rows"]:
        ref, cond = _side(row, "reference"), _side(row, "condition")
        thesis = row["thesis"]
        cells = [row["label"]]
        for side, scores, theirs in (("reference", ref, thesis["is_reference"]),
                                     ("condition", cond, thesis["is_condition"])):
            present = {"ours": scores or None}
            cells += [ss.cell(present, scores.get("is_mean"), _spread(
                          row, side, "is_mean", "is", 2,
                          ss.pm(scores.get("is_mean"), scores.get("is_std")))),
                      ss.pm(*(theirs or (None, None)))]
        cells += [_spread(row, "condition", "ssim", "ssim", 3, ss.number(cond.get("ssim"), 3)),
                  ss.number(thesis["ssim"], 3)]
        for scores in (ref, cond):
            present = {"ours": scores or None}
            cells += [ss.cell(present, scores.get("fid"), ss.number(scores.get("fid"))),
                      ss.cell(present, scores.get("kid_mean"),
                              ss.pm(scores.get("kid_mean"), scores.get("kid_std"), 4))]
        cells += gt.truth_cells(table, (row["ours"] or {}).get("reference"),
                                ((row.get("intervals") or {}).get("reference")),
                                ((row.get("std") or {}).get("reference")))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "IS-reference: X_GI with the reference head pasted; IS-condition: X_GII, G_II's "
              "reconstruction of the condition person; SSIM: X_GII against the condition image "
              "X_c (Figure 8.17), scikit-image, Gaussian window sigma 1.5, population "
              "covariances, over RGB, 8-bit images with data range 255. '-': the variant has no "
              "G_II, or no run. GT: the IS-reference image against the ground truth. One seed: IS "
              "mean ± std over the splits, SSIM, GT, and in brackets "
              f"the 95% interval from {RESAMPLES} bootstrap resamples (SSIM: of the protocol's "
              "pairs; IS: of the images within each split); several seeds: the mean over the "
              "seeds ± their std (each seed's intervals below). FID and KID: no interval.", ""]
    lines += ["## The thesis's orderings", ""] + ordering_markdown(
        table["orderings"], {v: label for v, _, label in VARIANTS},
        {metric: f"{metric.upper()} ({side})" for _, _, side, metric in ORDERINGS}, 3)
    lines += ss.notes_lines(table)
    for row in table["rows"]:
        if row["ours"] is None:
            continue
        lines.append(f"- {row['label']}: {row['workdir']} at step {row['step']}, "
                     f"{ss.describe(row['settings'])}; {row['ours']['reference']['images']} "
                     f"images ({'reused' if row['reused'] else 'wrote'} {row['score_file']}); "
                     f"{len(row['seeds'])} seed(s)")
        for seed in row["seeds"]:
            found = [f"{side} {metric} {interval_text(ci, 3)}"
                     for side, _ in SIDES for metric, ci in (seed["intervals"][side] or {}).items()]
            lines.append(f"  - seed {seed['seed']} ({seed['workdir']}, step {seed['step']}): "
                         + (", ".join(found) or "no interval (no per-pair values)"))
    return "\n".join(lines) + "\n"


UNCERTAIN = (("reference", "is"), ("condition", "is"), ("condition", "ssim"))  # CSV columns


def csv_text(table):
    """One line per variant: ours (both sides; for several seeds their mean, then one line per
    seed), intervals and std over seeds, the thesis's, and where ours came from."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = ("is_mean", "is_std", "fid", "kid_mean", "kid_std")
    spread = [f"{metric}_{side}_{part}" for side, metric in UNCERTAIN
              for part in ("lo", "hi", "seed_std")]
    writer.writerow(["method", "generators", "run_seed", "seeds"]
                    + [f"{k}_{side}" for side, _ in SIDES for k in keys]
                    + ["ssim", "images"] + spread
                    + ["thesis_is_reference_mean", "thesis_is_reference_std",
                       "thesis_is_condition_mean", "thesis_is_condition_std", "thesis_ssim",
                       "workdir", "step", "image_size", "pairs", "seed", "classifier",
                       *gt.TRUTH_CSV])
    protocol = table["data"]["protocol"]
    for row in table["rows"]:
        t = row["thesis"]
        seeds = row.get("seeds") or []
        lines = [("mean" if len(seeds) > 1 else (seeds[0]["seed"] if seeds else ""), row)]
        if len(seeds) > 1:
            lines += [(s["seed"], {**s, "std": None}) for s in seeds]
        for run_seed, r in lines:
            values = []
            for side, metric in UNCERTAIN:
                ci = ((r.get("intervals") or {}).get(side) or {}).get(metric) or {}
                std = ((r.get("std") or {}).get(side) or {}).get(
                    "is_mean" if metric == "is" else metric)
                values += [ss.csv_number(ci.get("lo")), ss.csv_number(ci.get("hi")),
                           ss.csv_number(std)]
            writer.writerow([row["method"], row["generators"], run_seed, len(seeds)]
                            + [ss.csv_number(_side(r, side).get(k)) for side, _ in SIDES
                               for k in keys]
                            + [ss.csv_number(_side(r, "condition").get("ssim")),
                               ss.csv_number(_side(r, "reference").get("images"))] + values
                            + [*(t["is_reference"]), *(t["is_condition"] or ("", "")),
                               "" if t["ssim"] is None else t["ssim"], r.get("workdir", ""),
                               r.get("step", ""), row.get("image_size", ""), protocol["pairs"],
                               protocol["seed"], row.get("classifier") or "",
                               *gt.truth_csv(_side(r, "reference"),
                                             (r.get("intervals") or {}).get("reference"))])
    return buffer.getvalue()


def orderings_csv(table):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([ORDERING_CSV_HEAD] + ordering_csv_rows(table["orderings"]))
    return buffer.getvalue()
