"""How sure a table number is: seeded percentile bootstrap over test items, paired comparisons of
two rows on the same items, and mean ± std over training seeds. Plain numpy, no TensorFlow.

Items are whatever a score is an average or a sum over: test images (per-image confusion
matrices of the FCN-score), protocol pairs (per-pair SSIM, PSNR, ...). A statistic is a function
of the items' arrays (leading axis = items) returning a float or a dict of floats; the bootstrap
draws ``resamples`` index vectors of n items with replacement from numpy's generator seeded with
(seed, SALT), recomputes the statistic on each, and reports the 2.5th and 97.5th percentiles
(a 95% interval). The draws depend only on (n, resamples, seed), so two rows scored on the same
items are resampled identically: ``difference`` uses exactly that to compare rows pairwise.

An interval is ``{"value": statistic of all items, "lo": ..., "hi": ...}`` (floats).
It measures the uncertainty from the choice of test items only; the spread over training seeds
is the other part (``over_seeds``), and a verdict of an ordering asks both (``verdict``).
"""
import numpy as np

RESAMPLES = 1000
SEED = 0
LEVEL = 0.95
SALT = 12  # keeps the bootstrap's draws apart from other streams seeded with the same seed
VERDICTS = ("holds", "reversed", "undecided")


def _arrays(items):
    """(tuple of arrays, n): ``items`` is one array or a tuple/list of arrays of one length."""
    arrays = tuple(np.asarray(a) for a in items) if isinstance(items, (tuple, list)) \
        else (np.asarray(items),)
    if not arrays or any(a.ndim == 0 for a in arrays):
        raise ValueError("bootstrap: need arrays whose leading axis is the items")
    n = len(arrays[0])
    if n < 1 or any(len(a) != n for a in arrays):
        raise ValueError(f"bootstrap: need a non-empty leading axis of one length, got "
                         f"{[len(a) for a in arrays]}")
    return arrays, n


def resample_indices(n, resamples=RESAMPLES, seed=SEED):
    """(resamples, n) int64 item indices drawn with replacement (the same for the same
    arguments)."""
    if resamples < 1:
        raise ValueError(f"bootstrap: resamples={resamples}: must be >= 1")
    return np.random.default_rng([seed, SALT]).integers(0, n, size=(resamples, n))


def _vector(value):
    """(keys or None, float64 vector) of a statistic's result."""
    if isinstance(value, dict):
        keys = tuple(value)
        return keys, np.array([float(value[k]) for k in keys], np.float64)
    return None, np.atleast_1d(np.asarray(value, np.float64))


def _interval(point, samples, level):
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(samples, [tail, 100.0 - tail], axis=0)
    return [{"value": float(p), "lo": float(a), "hi": float(b)} for p, a, b in zip(point, lo, hi)]


def _shape(keys, intervals):
    if keys is not None:
        return dict(zip(keys, intervals))
    return intervals[0] if len(intervals) == 1 else intervals


def _run(statistic, groups, n, resamples, seed, level):
    """Intervals of statistic(groups[0]) - statistic(groups[1]) - ... (one group: the statistic)."""

    def value(index):
        keys, total = None, None
        for sign, arrays in zip((1.0, *(-1.0,) * (len(groups) - 1)), groups):
            k, v = _vector(statistic(*(arrays if index is None else (a[index] for a in arrays))))
            keys, total = k, sign * v if total is None else total + sign * v
        return keys, total

    keys, point = value(None)
    samples = np.stack([value(index)[1] for index in resample_indices(n, resamples, seed)])
    return _shape(keys, _interval(point, samples, level))


def bootstrap(items, statistic, *, resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """The statistic of all items and its percentile interval over resampled items.

    ``items``: an array or a tuple of arrays (leading axis = items, one length), passed to
    ``statistic`` as its positional arguments. Returns an interval dict, or a dict of them when
    ``statistic`` returns a dict.
    """
    arrays, n = _arrays(items)
    return _run(statistic, (arrays,), n, resamples, seed, level)


def difference(a, b, statistic, *, resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """statistic(a) - statistic(b) and its interval, both rows resampled with the SAME item
    indices (a paired comparison: item i of ``a`` and of ``b`` are the same test item)."""
    arrays_a, n = _arrays(a)
    arrays_b, m = _arrays(b)
    if n != m:
        raise ValueError(f"difference: the rows hold {n} and {m} items; a paired comparison "
                         "needs the same items")
    return _run(statistic, (arrays_a, arrays_b), n, resamples, seed, level)


def mean_interval(values, **kwargs):
    """The mean of per-item values (e.g. per-pair SSIM) and its interval."""
    return bootstrap(np.asarray(values, np.float64), np.mean, **kwargs)


def per_pair_intervals(scores, suffix="_per_pair", **kwargs):
    """{metric: interval of its mean} for every ``<metric>_per_pair`` list in a score dict."""
    return {key[:-len(suffix)]: mean_interval(values, **kwargs)
            for key, values in scores.items() if key.endswith(suffix) and values}


def _entropy(p):
    return -(p * np.log(np.where(p > 0, p, 1.0))).sum(-1)


def inception_score_interval(probs, splits=10, *, resamples=RESAMPLES, seed=SEED, level=LEVEL,
                             block=250):
    """The IS of ``metrics.inception_score`` (mean over ``splits`` chunks in order) and its
    interval, the images resampled within each chunk (a stratified bootstrap: every resample keeps
    the chunk sizes). Each chunk's IS is exp(H(p(y)) - mean H(p(y|x))) (the KL to the marginal is
    the cross-entropy minus the entropy), so a resample costs one weighted sum of the chunk's
    rows: ``block`` resamples at a time as a matrix product."""
    p = np.asarray(probs, np.float64)
    n = len(p)
    if p.ndim != 2 or not 1 <= splits <= n:
        raise ValueError(f"inception_score_interval: {p.shape} probabilities, {splits} splits")
    entropy = _entropy(p)
    rng = np.random.default_rng([seed, SALT, splits])
    point, samples = 0.0, np.zeros(resamples)
    for i in range(splits):
        chunk = slice(i * n // splits, (i + 1) * n // splits)
        part, h = p[chunk], entropy[chunk]
        m = len(part)
        point += np.exp(_entropy(part.mean(0)) - h.mean()) / splits
        counts = rng.multinomial(m, np.full(m, 1.0 / m), size=resamples)
        for start in range(0, resamples, block):
            weights = counts[start:start + block] / m
            samples[start:start + block] += np.exp(_entropy(weights @ part) - weights @ h) / splits
    return _interval([point], samples[:, None], level)[0]


PER_PAIR, INTERVAL = "_per_pair", "_interval"


def score_intervals(scores):
    """{metric: interval} of one output's score dict: the ``<metric>_interval`` it holds (IS,
    computed where the probabilities were) and the mean of every ``<metric>_per_pair`` list."""
    if not scores:
        return {}
    held = {k[:-len(INTERVAL)]: v for k, v in scores.items() if k.endswith(INTERVAL) and v}
    return {**held, **per_pair_intervals(scores, PER_PAIR)}


def numbers(scores):
    """A score dict without its per-pair lists and intervals (what a table row shows)."""
    if scores is None:
        return None
    return {k: v for k, v in scores.items() if not k.endswith((PER_PAIR, INTERVAL))}


def seed_summary(score_dicts):
    """{key: ``over_seeds``} of every number in the score dicts of several seeds."""
    dicts = [d for d in score_dicts if d]
    keys = [k for k in (dicts[0] if dicts else {}) if not k.endswith((PER_PAIR, INTERVAL))]
    return {k: over_seeds(d.get(k) for d in dicts) for k in keys
            if all(isinstance(d.get(k), (int, float, type(None))) for d in dicts)}


def over_seeds(values):
    """{"mean", "std", "n"} of one number from several seeds; std with n - 1 in the
    denominator (None for a single seed); missing values (None) are left out."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return {"mean": None, "std": None, "n": 0}
    std = float(np.std(present, ddof=1)) if len(present) > 1 else None
    return {"mean": float(np.mean(present)), "std": std, "n": len(present)}


def verdict(interval):
    """'holds' when the interval of (expected larger - expected smaller) lies above 0, 'reversed'
    below 0, 'undecided' when it contains 0."""
    if interval["lo"] > 0:
        return "holds"
    if interval["hi"] < 0:
        return "reversed"
    return "undecided"


def overall_verdict(verdicts):
    """One verdict over seeds: 'holds' ('reversed') only when every seed's does; else
    'undecided'."""
    verdicts = list(verdicts)
    if verdicts and all(v == "holds" for v in verdicts):
        return "holds"
    if verdicts and all(v == "reversed" for v in verdicts):
        return "reversed"
    return "undecided"


def ordering(lower, higher, statistic, *, resamples=RESAMPLES, seed=SEED, level=LEVEL):
    """A thesis ordering "lower < higher" tested seed by seed on the same test items.

    ``lower`` and ``higher``: per-seed item arrays of the two rows (lists, seed i of one paired
    with seed i of the other; the shorter list decides how many pairs). Returns a dict keyed like
    the statistic's result (or one entry for a float statistic) of {"seeds": [interval of
    higher - lower, with its "verdict"], "mean": over_seeds of the differences, "holds_in":
    seeds where it holds, "verdict": ``overall_verdict``}.
    """
    pairs = list(zip(lower, higher))
    if not pairs:
        raise ValueError("ordering: no seed scored in both rows")
    per_seed = [difference(h, lo, statistic, resamples=resamples, seed=seed, level=level)
                for lo, h in pairs]
    keyed = isinstance(per_seed[0], dict) and "value" not in per_seed[0]
    keys = tuple(per_seed[0]) if keyed else (None,)
    out = {}
    for key in keys:
        seeds = [{**(d[key] if keyed else d)} for d in per_seed]
        for s in seeds:
            s["verdict"] = verdict(s)
        out[key] = {"seeds": seeds, "mean": over_seeds(s["value"] for s in seeds),
                    "holds_in": sum(s["verdict"] == "holds" for s in seeds),
                    "verdict": overall_verdict(s["verdict"] for s in seeds)}
    return out if keyed else out[None]


def text(interval, digits=2):
    """'0.43 [0.40, 0.46]', or '-'."""
    if interval is None:
        return "-"
    return (f"{interval['value']:.{digits}f} [{interval['lo']:.{digits}f}, "
            f"{interval['hi']:.{digits}f}]")


def signed(interval, digits=2):
    """'+0.03 [+0.01, +0.05]' for a difference."""
    return (f"{interval['value']:+.{digits}f} [{interval['lo']:+.{digits}f}, "
            f"{interval['hi']:+.{digits}f}]")


def seeds_text(summary, digits=2):
    """'0.43 ± 0.02 (3 seeds)', '0.43' for one seed, '-' for none."""
    if summary["mean"] is None:
        return "-"
    if summary["std"] is None:
        return f"{summary['mean']:.{digits}f}"
    return f"{summary['mean']:.{digits}f} ± {summary['std']:.{digits}f} ({summary['n']} seeds)"


# --- orderings in the table files ---------------------------------------------------------------
# An ordering entry: {"lower", "higher": row keys, "seeds": seeds compared, "note": why not
# compared (or None), "metrics": {metric: ``ordering`` result} or None}.

ORDERING_HEAD = ["| Ordering | Metric | Difference (higher - lower) [95% interval], per seed | "
                 "Holds in | Verdict |", "|---|---|---|---|---|"]
ORDERING_NOTE = ("Paired over the same test items (both rows resampled with the same indices), "
                 "seed i of one row against seed i of the other. Verdict: 'holds' when every "
                 "seed's interval lies above 0, 'reversed' when every seed's lies below 0, "
                 "otherwise 'undecided'.")
ORDERING_CSV_HEAD = ["lower", "higher", "metric", "seed", "difference", "lo", "hi", "verdict",
                     "holds_in", "seeds", "note"]


def ordering_markdown(entries, row_labels, metric_labels, digits=2):
    """Markdown lines: a table with one line per ordering and metric, then the note."""
    lines = list(ORDERING_HEAD)
    for entry in entries:
        name = f"{row_labels[entry['lower']]} < {row_labels[entry['higher']]}"
        if entry["metrics"] is None:
            lines.append(f"| {name} | - | - | - | n/a: {entry['note']} |")
            continue
        for metric, r in entry["metrics"].items():
            lines.append(f"| {name} | {metric_labels.get(metric, metric)} | "
                         f"{'; '.join(signed(x, digits) for x in r['seeds'])} | "
                         f"{r['holds_in']}/{entry['seeds']} seeds | {r['verdict']} |")
    return lines + ["", ORDERING_NOTE, ""]


def ordering_csv_rows(entries, digits=6):
    """CSV rows (ORDERING_CSV_HEAD): per ordering and metric one row per seed (the difference
    and its interval), then an 'all' row (mean difference over seeds, verdict, seeds where it
    holds); an ordering not compared gives one 'n/a' row with the note."""
    rows = []
    for entry in entries:
        names = [entry["lower"], entry["higher"]]
        if entry["metrics"] is None:
            rows.append(names + ["", "", "", "", "", "n/a", "", 0, entry["note"]])
            continue
        for metric, r in entry["metrics"].items():
            rows += [names + [metric, i] + [f"{x[k]:.{digits}f}" for k in ("value", "lo", "hi")]
                     + [x["verdict"], "", "", ""] for i, x in enumerate(r["seeds"])]
            rows.append(names + [metric, "all", f"{r['mean']['mean']:.{digits}f}", "", "",
                                 r["verdict"], r["holds_in"], entry["seeds"], ""])
    return rows
