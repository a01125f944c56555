"""evaluation.plot, evaluation.charts and evaluation.report on hand-written workdirs and tables."""
import base64
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from evaluation import charts, plot, report
from training.config import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _workdir(root, name, records, config=None):
    folder = root / name
    folder.mkdir(parents=True)
    with open(folder / "metrics.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    (folder / "config.json").write_text(json.dumps(config or {"trainer": "cycle",
                                                              "config": {"variant": name}}))
    return str(folder)


def _cycle_records(steps, offset=0.0):
    return [{"step": s, "g/total": 2.0 - s / 10 + offset, "g/adv_a": 0.5, "d/total": 0.7,
             "images_per_second": 10.0 + s, "time": 1000.0 + s} for s in steps]


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == PNG_MAGIC


def test_series_keeps_the_last_record_of_a_repeated_step_and_skips_time():
    records = [{"step": 2, "g/total": 3.0, "time": 5.0}, {"step": 4, "g/total": 1.0},
               {"step": 2, "g/total": 2.5, "d/total": 0.1}]  # step 2 redone after a resume
    assert plot.series(records) == {"g/total": ([2, 4], [2.5, 1.0]), "d/total": ([2], [0.1])}
    assert [plot.group_of(k) for k in ("g/adv_a", "d/real", "loss", "lr", "images_per_second")] \
        == ["g", "d", "", "lr", "images_per_second"]


def test_plot_overlays_runs_in_panels_per_group(tmp_path):
    a = _workdir(tmp_path / "x", "long", _cycle_records([2, 4, 6]))
    b = _workdir(tmp_path / "y", "long", _cycle_records([2, 4], offset=0.5))
    c = _workdir(tmp_path, "fcn", [{"step": 2, "loss": 1.0, "images_per_second": 3.0}])
    out = tmp_path / "curves.png"
    drawn = plot.plot_runs([a, b, c], str(out))
    assert drawn == {"panels": ["generator losses", "discriminator losses",
                                "other logged values (FCN losses and accuracy, ...)", "images/s"],
                     "runs": ["x/long", "y/long", "fcn"]}
    assert _is_png(out)
    from PIL import Image
    with Image.open(out) as image:  # 11 x 2.8 inches per panel at 100 dpi
        assert image.size == (1100, 1120)


def test_plot_names_a_missing_or_empty_metrics_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere/metrics\.jsonl: not found"):
        plot.plot_runs([str(tmp_path / "nowhere")], str(tmp_path / "x.png"))
    empty = _workdir(tmp_path, "empty", [])
    with pytest.raises(ConfigError, match=r"empty/metrics\.jsonl: no readable record"):
        plot.plot_runs([empty], str(tmp_path / "x.png"))
    with pytest.raises(ConfigError, match="at least one"):
        plot.plot_runs([], str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()


@pytest.mark.e2e
def test_plot_command(tmp_path):
    run = _workdir(tmp_path, "gan", _cycle_records([1, 2]))
    out = tmp_path / "p.png"
    done = subprocess.run([sys.executable, "-m", "evaluation.plot", f"--workdir={run}",
                           f"--out={out}"], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "generator losses, discriminator losses, images/s of 1 run(s)" in done.stdout
    assert _is_png(out)


def test_interval_forms():
    assert charts.interval_of({"value": 0.5, "lo": 0.4, "hi": 0.6}) == (0.4, 0.6)
    assert charts.interval_of((0.1, 0.2)) == (0.1, 0.2)
    assert charts.interval_of(None) is None and charts.interval_of({"lo": None, "hi": 1}) is None


def test_bar_chart_draws_ours_and_thesis_with_error_bars_where_given(tmp_path):
    rows = [("IS", "A", 2.0, (1.8, 2.2)), ("IS", "B", None, None), ("SSIM", "A", 0.7, None)]
    thesis = [("IS", "A", 2.5, None), ("IS", "B", 2.4, {"lo": 2.3, "hi": 2.5}),
              ("SSIM", "A", 0.71, None)]
    drawn = charts.bar_chart(rows, thesis, str(tmp_path / "c.png"))
    assert drawn == {"panels": ["IS", "SSIM"], "methods": ["A", "B"], "error_bars": 2}
    assert _is_png(tmp_path / "c.png")


def _table81(interval):
    row = {"method": "nest", "label": "Nest CycleGAN",
           "ours": {"per_pixel_acc": 0.5, "per_class_acc": 0.2, "class_iou": 0.1},
           "thesis": {"per_pixel_acc": 0.49, "per_class_acc": 0.22, "class_iou": 0.15}}
    if interval:  # as evaluation.uncertainty writes them
        row["interval"] = {"per_pixel_acc": {"value": 0.5, "lo": 0.45, "hi": 0.55}}
    missing = {"method": "gan", "label": "GAN", "ours": None,
               "thesis": {"per_pixel_acc": 0.32, "per_class_acc": 0.12, "class_iou": 0.07}}
    return {"datasets": {"facades": {"rows": [missing, row]}}}


def test_table_bars_read_the_table_dicts():
    rows, thesis = charts.table81_bars(_table81(interval=True))
    assert rows[0] == ("CMP-Facade: Per-pixel acc.", "GAN", None, None)
    assert rows[3] == ("CMP-Facade: Per-pixel acc.", "Nest CycleGAN", 0.5, (0.45, 0.55))
    assert rows[4] == ("CMP-Facade: Per-class acc.", "Nest CycleGAN", 0.2, None)
    assert thesis[3] == ("CMP-Facade: Per-pixel acc.", "Nest CycleGAN", 0.49, None)
    table82 = {"rows": [{"label": "SwapGAN", "ours": {"is_mean": 2.0, "is_std": 0.25},
                         "thesis": {"is_mean": 2.65, "is_std": 0.09}}]}
    rows, thesis = charts.table82_bars(table82)
    assert rows == [("IS", "SwapGAN", 2.0, (1.75, 2.25))]
    assert thesis[0][:3] == ("IS", "SwapGAN", 2.65) and np.allclose(thesis[0][3], (2.56, 2.74))
    table83 = {"rows": [{"label": "Generator I&III", "ours": {"reference": {"is_mean": 1.5,
                                                                            "is_std": 0.5},
                                                              "condition": None},
                         "thesis": {"is_reference": (2.47, 0.11), "is_condition": None,
                                    "ssim": None}}]}
    rows, thesis = charts.table83_bars(table83)
    assert rows == [("IS-reference", "Generator I&III", 1.5, (1.0, 2.0)),
                    ("IS-condition", "Generator I&III", None, None),
                    ("SSIM", "Generator I&III", None, None)]
    assert [t[2] for t in thesis] == [2.47, None, None]


def test_markdown_html_renders_headings_tables_and_lists():
    text = "# Table 8.1: x < y\n\n| A | B |\n|---|---|\n| 1 | `c` |\n\n- one\n- two\nplain"
    assert report.markdown_html(text) == (
        "<h3>Table 8.1: x &lt; y</h3>\n<table><tr><th>A</th><th>B</th></tr>"
        "<tr><td>1</td><td><code>c</code></td></tr></table>\n<ul><li>one</li><li>two</li></ul>\n"
        "<p>plain</p>")


def _png_bytes(tmp_path, name, shade):
    import cv2
    path = str(tmp_path / name)
    cv2.imwrite(path, np.full((8, 8, 3), shade, np.uint8))
    with open(path, "rb") as f:
        return f.read()


def test_report_is_self_contained_with_tables_charts_samples_and_settings(tmp_path):
    out = tmp_path / "repro"
    root = out / "table8.1-tiny"
    run = _workdir(root / "facades", "nest", _cycle_records([2, 4]))
    os.makedirs(os.path.join(run, "samples"))
    for step, shade in ((2, 10), (4, 200)):
        png = _png_bytes(tmp_path, f"s{step}.png", shade)
        with open(os.path.join(run, "samples", f"a2b_step{step:07d}.png"), "wb") as f:
            f.write(png)
    (root / "table81.md").write_text("# Table 8.1\n\n| Method | IOU |\n|---|---|\n| Nest | 0.10 |\n")
    chart = _png_bytes(tmp_path, "chart.png", 99)
    (root / "table81.png").write_bytes(chart)
    path = report.write_report(str(out), {str(root): ["python -m training.cycle --variant=nest"]})
    assert path == str(out / "report.html")
    page = _read(path)
    assert "<td>Nest</td><td>0.10</td>" in page
    assert "python -m training.cycle --variant=nest" in page
    assert "facades/nest/config.json" in page and "&quot;variant&quot;: &quot;nest&quot;" in page
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    decoded = [base64.b64decode(i) for i in images]
    assert all(d.startswith(PNG_MAGIC) for d in decoded)
    assert chart in decoded and _png_bytes(tmp_path, "s4.png", 200) in decoded  # newest sample
    assert _png_bytes(tmp_path, "s2.png", 10) not in decoded
    assert len(images) == 3  # chart, curves, one sample
    assert "a2b at step 4" in page
    assert 'class="sample" width="32"' in page  # the 8 px grid shown 4 times as large
    # nothing outside the file: every src and href is a data: URI
    assert all(v.startswith("data:") for v in re.findall(r'(?:src|href)="([^"]*)"', page))
    assert not re.search(r"<(script|link|iframe)", page)
    # the commands are kept for a later report that is not given them
    again = _read(report.write_report(str(out)))
    assert "python -m training.cycle --variant=nest" in again


def test_report_of_an_empty_folder(tmp_path):
    page = _read(report.write_report(str(tmp_path)))
    assert "No table written yet." in page


def test_report_of_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"--out=.*nowhere: folder not found"):
        report.rebuild(str(tmp_path / "nowhere"))
    assert not (tmp_path / "nowhere").exists()
