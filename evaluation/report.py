"""A self-contained HTML report of a reproduction: one file to open, mail or archive.

``write_report(out_dir)`` writes <out_dir>/report.html covering every table folder under
``out_dir`` (``evaluation.reproduce`` makes one per table and preset, e.g. table8.1-tiny/): the
table as its command wrote it (table8x.md), the bar chart beside it (table8x.png), the loss
curves of its runs (``evaluation.plot``), the newest sample grid of each run, and the settings:
the planned commands and each run's config.json. Every picture is embedded as a base64 PNG and
the style sheet is inline, so the file refers to nothing outside itself.

The commands of a plan are given by the caller (``commands``) and kept in <table folder>/
commands.txt, so that a later report, after another table was reproduced, still shows them.
To rebuild the report of a reproduction folder: ``python -m evaluation.report --out=runs/repro``.
"""
from flags import bootstrap  # noqa: F401 (first: quiets TensorFlow's start-up logging)

# isort: split
import base64
import datetime
import html
import io
import json
import os
import re
import tempfile

from absl import app
from absl import flags as absl_flags

from training import workdir as wd
from training.config import ConfigError

REPORT_FILE = "report.html"
COMMANDS_FILE = "commands.txt"
TABLE_FILE = re.compile(r"table8[123]\.md")
SAMPLE_FILE = re.compile(r"(?P<name>.+)_step(?P<step>[0-9]+)\.png")
MAX_DEPTH = 3  # table folder / runs folder / workdir
STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; }
th { background: #eee; }
img { max-width: 100%; border: 1px solid #ddd; }
pre { background: #f6f6f6; padding: 0.6em; font-size: 0.8em; white-space: pre-wrap;
      overflow-wrap: anywhere; }
img.sample { image-rendering: pixelated; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
section.table { border-top: 2px solid #444; margin-top: 2em; }
"""


def png_data(path_or_bytes):
    """A data: URI of a PNG file (or of PNG bytes)."""
    data = path_or_bytes
    if isinstance(path_or_bytes, str):
        with open(path_or_bytes, "rb") as f:
            data = f.read()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _inline(text):
    """Escaped text with `code` spans and **bold**."""
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)


def markdown_html(text):
    """The Markdown the table commands write (headings, pipe tables, lists, paragraphs) as HTML."""
    out, table, items = [], [], []

    def flush():
        if table:
            rows = [r for r in table if not re.fullmatch(r"\|?[\s:|-]+\|?", r)]
            cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
            body = "".join("<tr>" + "".join(f"<{'th' if i == 0 else 'td'}>{_inline(c)}"
                                             f"</{'th' if i == 0 else 'td'}>" for c in row) + "</tr>"
                           for i, row in enumerate(cells))
            out.append(f"<table>{body}</table>")
            table.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            table.append(stripped)
            continue
        if stripped.startswith(("- ", "* ")):
            items.append(stripped[2:])
            continue
        flush()
        heading = re.match(r"(#{1,4})\s+(.*)", stripped)
        if heading:
            level = min(len(heading.group(1)) + 2, 6)  # the report's own headings come first
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif stripped:
            out.append(f"<p>{_inline(stripped)}</p>")
    flush()
    return "\n".join(out)


def table_folders(out_dir):
    """Folders under (or equal to) ``out_dir`` that hold a table8x.md, sorted."""
    found = []
    for folder, dirs, files in os.walk(out_dir):
        dirs.sort()
        if any(TABLE_FILE.fullmatch(f) for f in files):
            found.append(folder)
        if os.path.relpath(folder, out_dir).count(os.sep) >= 1:
            dirs.clear()  # tables sit at most one level down
    return sorted(found)


def workdirs(folder):
    """Training workdirs (folders with config.json) under a table folder, in path order."""
    found = []
    for path, dirs, files in os.walk(folder):
        dirs.sort()
        depth = os.path.relpath(path, folder).count(os.sep) + (path != folder)
        if wd.CONFIG_FILE in files and path != folder:
            found.append(path)
            dirs.clear()
        elif depth >= MAX_DEPTH:
            dirs.clear()
    return found


def newest_samples(workdir):
    """[(name, step, path)] of the newest sample grid of each name a run has written."""
    folder = os.path.join(workdir, wd.SAMPLES_DIR)
    newest = {}
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        match = SAMPLE_FILE.fullmatch(name)
        if match and int(match["step"]) >= newest.get(match["name"], (-1, ""))[0]:
            newest[match["name"]] = (int(match["step"]), os.path.join(folder, name))
    return [(name, step, path) for name, (step, path) in sorted(newest.items())]


def png_width(data):
    """The width of a PNG from its IHDR header (0 if it is not a PNG)."""
    return int.from_bytes(data[16:20], "big") if data[:8] == b"\x89PNG\r\n\x1a\n" else 0


def _figure(data_uri, caption, width=None):
    size = f' class="sample" width="{width}"' if width else ""
    return (f'<figure><img src="{data_uri}"{size} alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _sample(path, caption):
    """A sample grid, small ones (32 px images) scaled up by a whole factor to about 500 px."""
    with open(path, "rb") as f:
        data = f.read()
    natural = png_width(data)
    return _figure(png_data(data), caption, natural * max(1, min(4, 500 // max(natural, 1))))


def _curves(folder, runs):
    """The loss-curve figure of the runs that have logged, or '' (none yet)."""
    from evaluation.plot import plot_runs

    logged = [w for w in runs if wd.MetricsLog(w).records()]
    if not logged:
        return ""
    with tempfile.TemporaryDirectory(prefix="report-") as scratch:
        png = os.path.join(scratch, "curves.png")
        plot_runs(logged, png)
        with open(png, "rb") as f:
            data = f.read()
    return _figure(png_data(data), f"Losses and images/s of {len(logged)} run(s) "
                                   f"(python -m evaluation.plot)")


def _settings(folder, runs):
    parts = []
    commands_file = os.path.join(folder, COMMANDS_FILE)
    if os.path.isfile(commands_file):
        with open(commands_file, encoding="utf-8") as f:
            parts.append("<h3>Commands</h3><pre>" + html.escape(f.read()) + "</pre>")
    for run in runs:
        with open(os.path.join(run, wd.CONFIG_FILE), encoding="utf-8") as f:
            text = f.read()
        try:
            text = json.dumps(json.loads(text), indent=1)
        except json.JSONDecodeError:
            pass  # shown as it is
        name = os.path.relpath(run, folder)
        parts.append(f"<details><summary>{html.escape(name)}/config.json</summary>"
                     f"<pre>{html.escape(text)}</pre></details>")
    return "<h3>Settings</h3>" + "\n".join(parts) if parts else ""


def table_section(folder, out_dir):
    """The HTML of one table folder."""
    name = os.path.relpath(folder, out_dir) if folder != out_dir else os.path.basename(folder)
    parts = [f'<section class="table"><h2>{html.escape(name)}</h2>']
    for md in sorted(f for f in os.listdir(folder) if TABLE_FILE.fullmatch(f)):
        with open(os.path.join(folder, md), encoding="utf-8") as f:
            parts.append(markdown_html(f.read()))
        chart = os.path.join(folder, md[:-3] + ".png")
        if os.path.isfile(chart):
            parts.append(_figure(png_data(chart), f"{md[:-3]}: ours (error bars where an interval "
                                                  "or spread exists) against the thesis"))
    runs = workdirs(folder)
    curves = _curves(folder, runs)
    if curves:
        parts.append("<h3>Training curves</h3>" + curves)
    samples = [(run, s) for run in runs for s in newest_samples(run)]
    if samples:
        parts.append("<h3>Samples</h3>")
        parts += [_sample(path, f"{os.path.relpath(run, folder)}: {sample} at step {step}")
                  for run, (sample, step, path) in samples]
    parts.append(_settings(folder, runs))
    parts.append("</section>")
    return "\n".join(parts)


def write_report(out_dir, commands=None, title="Reproduction report"):
    """Writes <out_dir>/report.html; returns its path. ``commands``: {table folder: [command
    lines]} of plans just run, kept in the folder's commands.txt for later reports."""
    for folder, lines in (commands or {}).items():
        os.makedirs(folder, exist_ok=True)
        wd._atomic_write(os.path.join(folder, COMMANDS_FILE), "\n".join(lines) + "\n")
    folders = table_folders(out_dir)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = f"{html.escape(os.path.abspath(out_dir))}, written {stamp}; {len(folders)} table(s)."
    body = [f"<h1>{html.escape(title)}</h1>", f"<p>{where}</p>"]
    body += [table_section(f, out_dir) for f in folders] or ["<p>No table written yet.</p>"]
    page = io.StringIO()
    page.write(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
               f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n")
    page.write("\n".join(body))
    page.write("\n</body></html>\n")
    path = os.path.join(out_dir, REPORT_FILE)
    os.makedirs(out_dir, exist_ok=True)
    wd._atomic_write(path, page.getvalue())
    return path



def rebuild(out_dir):
    """The command line's work: the report of an existing reproduction folder."""
    if not os.path.isdir(out_dir):
        raise ConfigError(f"--out={out_dir}: folder not found")
    return write_report(out_dir)


def main(argv):
    from flags.common import run_main  # noqa: PLC0415 (the command line only)

    print(run_main(lambda: rebuild(absl_flags.FLAGS.out), argv))


if __name__ == "__main__":
    absl_flags.DEFINE_string("out", "runs/repro", "The --out folder of evaluation.reproduce.")
    app.run(main)
