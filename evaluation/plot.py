"""Loss curves and throughput of training runs, drawn from their metrics.jsonl.

    python -m evaluation.plot --workdir=runs/long --workdir=runs/nest --out=curves.png

One panel per group of logged values (generator losses ``g/*``, discriminator losses ``d/*``, other
values such as the FCN's loss, the learning rate, images/s), every run overlaid in its own colour.
Works on any workdir this project's trainers write (CycleGAN, SwapGAN, VITON, FCN), finished or still running.

Matplotlib is imported, and switched to its file-only Agg backend, inside the functions: importing
this module changes nothing for a caller that has its own backend.
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
import os

from absl import app
from absl import flags as absl_flags

from training import workdir as wd
from training.config import ConfigError

RATE = "images_per_second"
LEARNING_RATE = "lr"
NOT_PLOTTED = ("step", "time")
GROUPS = (("g", "generator losses"), ("d", "discriminator losses"),
          ("", "other logged values (FCN losses and accuracy, ...)"), (LEARNING_RATE, "learning rate"),
          (RATE, "images/s"))


def read_metrics(workdir):
    """The run's metrics.jsonl records; ConfigError naming the file when there is none."""
    log = wd.MetricsLog(workdir)
    if not os.path.isfile(log.filename):
        raise ConfigError(f"{log.filename}: not found; is {workdir} a training workdir that has "
                          "logged a step yet?")
    records = log.records()
    if not records:
        raise ConfigError(f"{log.filename}: no readable record; the run has not logged a step yet")
    return records


def group_of(key):
    """The panel of a logged value: its prefix before '/' ('g', 'd'), '' for the others."""
    if key in (RATE, LEARNING_RATE):
        return key
    prefix = key.split("/", 1)[0] if "/" in key else ""
    return prefix if prefix in ("g", "d") else ""


def series(records):
    """{key: (steps, values)} of every numeric value the records log, in step order; a resumed
    run's repeated steps keep their last record."""
    by_step = {}
    for record in records:
        by_step[record["step"]] = record
    out = {}
    for step in sorted(by_step):
        for key, value in by_step[step].items():
            if key in NOT_PLOTTED or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            steps, values = out.setdefault(key, ([], []))
            steps.append(step)
            values.append(float(value))
    return out


def run_label(workdir, workdirs):
    """A short name for a run: its folder, with its parent where two runs share a folder name."""
    names = [os.path.basename(os.path.normpath(w)) for w in workdirs]
    name = os.path.basename(os.path.normpath(workdir))
    if names.count(name) > 1:
        parent = os.path.basename(os.path.dirname(os.path.normpath(workdir)))
        return f"{parent}/{name}"
    return name


def plot_runs(workdirs, out_path, *, title=None, dpi=100):
    """Draws every run of ``workdirs`` into one PNG at ``out_path``; returns
    {"panels": [panel titles], "runs": [run labels]}."""
    if not workdirs:
        raise ConfigError("--workdir: give at least one training workdir")
    runs = [(run_label(w, workdirs), series(read_metrics(w))) for w in workdirs]
    panels = [(group, label) for group, label in GROUPS
              if any(group_of(k) == group for _, s in runs for k in s)]
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = [(line, marker) for marker in ("o", "s", "^", "x") for line in ("-", "--", ":", "-.")]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 2.8 * len(panels)), squeeze=False,
                             sharex=True)
    for (group, label), ax in zip(panels, axes[:, 0]):
        for i, (name, values) in enumerate(runs):
            keys = sorted(k for k in values if group_of(k) == group)
            for j, key in enumerate(keys):
                steps, ys = values[key]
                line, marker = styles[j % len(styles)]
                ax.plot(steps, ys, color=colours[i % len(colours)], linestyle=line,
                        marker=marker if len(steps) <= 40 else None, markersize=3,
                        label=f"{name}: {key}")
        ax.set_title(label)
        ax.grid(alpha=0.3)
        # Beside the panel, not over the curves: a run logs up to a dozen values per group.
        ax.legend(fontsize="x-small", ncol=1 + len(ax.get_lines()) // 12, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    axes[-1, 0].set_xlabel("step")
    axes[-1, 0].xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(out_path, dpi=dpi)
    plt.close(fig)
    return {"panels": [label for _, label in panels], "runs": [name for name, _ in runs]}


def main(argv):
    from flags.common import (
        run_main,  # the entry point's; the library above needs no flags
    )

    fv = absl_flags.FLAGS
    drawn = run_main(lambda: plot_runs(fv.workdir, fv.out, title=fv.title), argv)
    print(f"wrote {fv.out}: {', '.join(drawn['panels'])} of {len(drawn['runs'])} run(s)")


if __name__ == "__main__":
    absl_flags.DEFINE_multi_string("workdir", None, "A training workdir (repeat to overlay runs).",
                                   required=True)
    absl_flags.DEFINE_string("out", None, "Output PNG.", required=True)
    absl_flags.DEFINE_string("title", None, "Figure title.")
    app.run(main)
