"""Bar charts of our table numbers against the thesis's, written beside each table.

``bar_chart`` draws one panel per metric with a pair of bars per method, ours (with error bars
where an interval exists) and the thesis's (hatched). The ``table8x_bars`` functions turn the
table dicts of ``evaluation.table81`` / ``table82`` / ``table83`` into its input, so that each table
command adds its chart with one line.

Error bars, per value, from the first that exists: a 95% interval (``{"lo", "hi"}`` or
``(lo, hi)``, as ``evaluation.uncertainty`` writes them), else ± the standard deviation the table
records (over seeds, or IS over splits, as the thesis reports its own IS).
"""
import os

FCN_METRICS = (("per_pixel_acc", "Per-pixel acc."), ("per_class_acc", "Per-class acc."),
               ("class_iou", "Class IOU"))
DATASET_NAMES = {"facades": "CMP-Facade", "cityscapes": "Cityscapes"}


def interval_of(value):
    """(lo, hi) of an interval given as {"lo", "hi"} or a pair; None for anything else."""
    if isinstance(value, dict) and value.get("lo") is not None and value.get("hi") is not None:
        return float(value["lo"]), float(value["hi"])
    if isinstance(value, (tuple, list)) and len(value) == 2 and None not in value:
        return float(value[0]), float(value[1])
    return None


def _spread(mean, std):
    return None if mean is None or std is None else (mean - std, mean + std)


def bar_chart(rows, thesis, out_path, *, title=None, dpi=100):
    """Writes a PNG of grouped bars; returns {"panels": [...], "methods": [...], "error_bars": n}.

    rows, thesis: iterables of (panel, method, value, interval): ``value`` a number or None (no
    bar), ``interval`` (lo, hi), {"lo", "hi"} or None (no error bar). Panels and methods keep
    the order in which they first appear in ``rows`` (then ``thesis``).
    """
    ours = {(p, m): (v, interval_of(i)) for p, m, v, i in rows}
    theirs = {(p, m): (v, interval_of(i)) for p, m, v, i in (thesis or ())}
    panels, methods = [], []
    for p, m in list(ours) + list(theirs):
        panels += [p] if p not in panels else []
        methods += [m] if m not in methods else []
    if not panels:
        raise ValueError(f"{out_path}: no values to chart")
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(max(4.0, 0.9 * len(methods)) * len(panels), 3.8),
                             squeeze=False)
    width, error_bars = 0.38, 0
    for panel, ax in zip(panels, axes[0]):
        for offset, values, name, style in ((-width / 2, ours, "ours", {"color": "tab:blue"}),
                                            (width / 2, theirs, "thesis",
                                             {"color": "white", "edgecolor": "tab:grey",
                                              "hatch": "//"})):
            xs, heights, lows, highs = [], [], [], []
            for x, method in enumerate(methods):
                value, interval = values.get((panel, method), (None, None))
                if value is None:
                    continue
                xs.append(x + offset)
                heights.append(value)
                lo, hi = interval or (value, value)
                lows.append(max(value - lo, 0.0))
                highs.append(max(hi - value, 0.0))
                error_bars += interval is not None
            bars = ax.bar(xs, heights, width, label=name, **style)
            if any(lows) or any(highs):
                ax.errorbar(xs, heights, yerr=[lows, highs], fmt="none", ecolor="black", capsize=3,
                            linewidth=1)
            ax.bar_label(bars, fmt="%.2f", fontsize="x-small", padding=2)
        ax.set_title(panel)
        ax.set_xticks(range(len(methods)))
        ax.set_xticklabels(methods, rotation=25, ha="right", fontsize="small")
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    fig.savefig(out_path, dpi=dpi)
    plt.close(fig)
    return {"panels": panels, "methods": methods, "error_bars": error_bars}


def _first_interval(row, key, mean, std):
    """An interval of row[key] from the places the tables keep one, else mean ± std."""
    ours = row.get("ours") or {}
    for candidate in ((row.get("interval") or {}).get(key), ours.get(f"{key}_interval"),
                      (ours.get("interval") or {}).get(key) if isinstance(ours.get("interval"), dict)
                      else None):
        if interval_of(candidate):
            return interval_of(candidate)
    return _spread(mean, std)


def table81_bars(table):
    """(rows, thesis) of a Table 8.1 dict: a panel per dataset and metric."""
    rows, thesis = [], []
    for dataset, part in table["datasets"].items():
        for row in part["rows"]:
            std = row.get("std") or {}
            for key, name in FCN_METRICS:
                panel = f"{DATASET_NAMES.get(dataset, dataset)}: {name}"
                value = (row["ours"] or {}).get(key)
                interval = None if value is None else _first_interval(row, key, value, std.get(key))
                rows.append((panel, row["label"], value, interval))
                thesis.append((panel, row["label"], row["thesis"][key], None))
    return rows, thesis


def table82_bars(table):
    """(rows, thesis) of a Table 8.2 dict: IS, ours and the thesis's, each ± its std."""
    rows, thesis = [], []
    for row in table["rows"]:
        ours = row["ours"] or {}
        mean = ours.get("is_mean")
        rows.append(("IS", row["label"], mean, _first_interval(row, "is_mean", mean,
                                                               ours.get("is_std"))))
        theirs = row["thesis"]
        thesis.append(("IS", row["label"], theirs["is_mean"],
                       _spread(theirs["is_mean"], theirs.get("is_std"))))
    return rows, thesis


def table83_bars(table):
    """(rows, thesis) of a Table 8.3 dict: IS-reference, IS-condition and SSIM."""
    rows, thesis = [], []
    for row in table["rows"]:
        ours = row["ours"] or {}
        for side, panel in (("reference", "IS-reference"), ("condition", "IS-condition")):
            scores = ours.get(side) or {}
            mean = scores.get("is_mean")
            interval = next((interval_of(c) for c in (scores.get("is_interval"),
                                                       (scores.get("interval") or {}).get("is_mean")
                                                       if isinstance(scores.get("interval"), dict)
                                                       else None) if interval_of(c)), None)
            rows.append((panel, row["label"], mean, interval or _spread(mean, scores.get("is_std"))))
            pair = row["thesis"][f"is_{side}"]
            thesis.append((panel, row["label"], pair and pair[0], pair and _spread(*pair)))
        condition = ours.get("condition") or {}
        rows.append(("SSIM", row["label"], condition.get("ssim"),
                     interval_of(condition.get("ssim_interval"))))
        thesis.append(("SSIM", row["label"], row["thesis"]["ssim"], None))
    return rows, thesis
