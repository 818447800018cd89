"""Side files and results with text, NaN or inf where numbers belong: shown as missing, with a note, never a crash."""

from __future__ import annotations

import json
import math
from pathlib import Path

from PIL import Image

from genlens.report import plots, tables
from genlens.report.fmt_html import _probe_plots, detectors_of, fmt, load_views, probe_of, render
from genlens.report.gallery import thumbnail, valid_boxes
from genlens.report.summary import category_value, headline_value, summaries
from genlens.testing.fake_runs import FakeRun, make_run

NAN, INF = float("nan"), float("inf")


def test_detectors_of_turns_bad_numbers_into_missing_and_counts_them() -> None:
    data = {"detectors": {"fft": {"metrics": {"auc": "a", "accuracy": 0.8, "ap": NAN},
                                  "intervals": {"auc": ["x", 0.9], "accuracy": [0.7, 0.9]},
                                  "roc": {"fpr": [0, "b", 1], "tpr": [0, 0.5, INF]},
                                  "robustness": {"jpeg": {"auc": "c"}, "resize": 0.7}}}}
    notes: list[str] = []
    [det] = detectors_of(data, notes)
    assert det["metrics"] == {"auc": None, "accuracy": 0.8, "ap": None}
    assert det["intervals"] == {"accuracy": [0.7, 0.9]}  # a bound that is not a number drops the interval
    assert det["roc"] == {"fpr": [0.0, None, 1.0], "tpr": [0.0, 0.5, None]}
    assert det["robustness"] == {"jpeg": {"auc": None}, "resize": 0.7}
    # bad: auc "a", ap NaN, interval bound "x", fpr "b", tpr inf, robustness "c" = 6
    assert notes == ["detect.json: 6 value(s) that are not finite numbers are shown as missing"]


def test_detectors_of_without_bad_values_adds_no_note() -> None:
    notes: list[str] = []
    [det] = detectors_of({"detectors": [{"name": "d", "metrics": {"auc": 0.9, "n_real": 40}}]}, notes)
    assert det["name"] == "d" and det["metrics"] == {"auc": 0.9, "n_real": 40} and notes == []
    assert isinstance(det["metrics"]["n_real"], int) and fmt(det["metrics"]["n_real"]) == "40"  # a count stays a count


def test_probe_with_text_counts_draws_an_empty_histogram_and_a_note() -> None:
    notes: list[str] = []
    probe = probe_of({"histogram": {"bins": [0, 0.5, 1], "counts": {"x": ["a", "b"]}},
                      "heldout": {"accuracy": NAN, "n_images": "many"}, "threshold": INF}, notes)
    assert probe["histogram"]["counts"] == {"x": [None, None]}
    assert probe["heldout"]["accuracy"] is None and probe["heldout"]["n_images"] is None
    assert probe["threshold"] is None
    assert notes == ["probe.json: 5 value(s) that are not finite numbers are shown as missing"]  # a, b, NaN, many, inf

    class View:
        label = "run"
    view = View()
    view.probe = probe  # type: ignore[attr-defined]
    view.result = {"suite": "s", "run": "r"}  # type: ignore[attr-defined]
    [figure] = _probe_plots([view], 1)  # type: ignore[list-item]
    assert 'data-counts="[null,null]"' in figure.svg  # both counts missing: gaps, never zeros
    assert "nan" not in figure.svg.lower() and "inf" not in figure.svg.lower()


def test_plots_skip_non_finite_values() -> None:
    bars = plots.bar_chart(["a", "b", "c"], [plots.Series("s", [0.5, NAN, INF])])
    assert bars.count("<title>s ·") == 1  # only the finite bar is drawn
    line = plots.line_chart([("l", [1, 2, "x", 4], [0.1, INF, 0.3, 0.4])])
    assert line.count("<circle") == 2  # (1, 0.1) and (4, 0.4); (2, inf) and ("x", 0.3) are missing
    hist = plots.histogram([0, NAN, 1], {"k": [1, "z", INF]})
    assert hist.count('fill-opacity="0.5"') == 1  # only the count 1; edges fall back to bin numbers
    radar = plots.radar(["a", "b", "c"], [plots.Series("r", [INF, 0.5, NAN])])
    for svg in (bars, line, hist, radar):
        assert "nan" not in svg.lower() and "inf" not in svg.lower()


def test_summary_and_text_formats_treat_non_finite_as_missing() -> None:
    result = {"suite": "s", "run": "r", "model": "m", "headline": {"overall": NAN, "n": 4},
              "categories": {"x": {"accuracy": INF, "n": 2}, "y": {"accuracy": 0.5, "n": 2}}, "intervals": {"overall": [NAN, 0.6]}}
    assert headline_value(result) is None
    assert category_value(result["categories"]["x"], "accuracy") is None
    [summary] = summaries([result])
    assert summary.rows[0].values == {"overall": None, "x": None, "y": 0.5}
    assert fmt(NAN) == "—" and fmt(INF) == "—" and fmt(0.25) == "0.250"
    markdown = tables.to_markdown([result])
    assert "nan" not in markdown and "inf" not in markdown
    assert json.loads(tables.to_json([result]))[0]["headline"]["overall"] is None  # valid JSON: null, not NaN
    assert "nan" not in tables.to_csv([result]) and "inf" not in tables.to_csv([result])


def test_page_renders_runs_with_bad_side_files(tmp_path: Path) -> None:
    run = tmp_path / "run"
    make_run(run, FakeRun("diag", "synthetic:gradient", {"a": 0.5, "b": 1.0}, side_files={
        "detect.json": {"detectors": {"d": {"metrics": {"auc": "high"}, "roc": {"fpr": ["a", 1], "tpr": [0, 1]}}}},
        "probe.json": {"histogram": {"bins": [0, 1], "counts": {"x": ["a"]}}}}))
    results = json.loads((run / "results.json").read_text())
    results["headline"] = {name: NAN for name in results["headline"]}
    results["run_dir"] = str(run)
    html = render([results], tmp_path / "page.html")
    assert "detect.json: 2 value(s) that are not finite numbers are shown as missing" in html
    assert "probe.json: 1 value(s) that are not finite numbers are shown as missing" in html
    assert 'height="inf"' not in html and ">nan<" not in html
    [view] = load_views([results], tmp_path)
    assert view.detect[0]["metrics"] == {"auc": None}
    assert view.detect[0]["roc"]["fpr"] == [None, 1.0]


def test_boxes_with_non_finite_numbers_are_not_drawn(tmp_path: Path) -> None:
    row = {"boxes": [{"box": [0, 0, NAN, 10]}, {"box": [0, 0, 10, "x"]}, {"box": [2, 2, 10, 10], "score": NAN, "label": "k"},
                     {"box": [0, 0, 5, 5], "polygon": [[0, 0], [5, "y"], [0, 5]]}]}
    boxes = valid_boxes(row)
    assert [b["box"] for b in boxes] == [[2, 2, 10, 10], [0, 0, 5, 5]]
    path = tmp_path / "i.png"
    Image.new("RGB", (16, 16), "white").save(path)
    assert thumbnail(path, boxes).startswith("data:image/webp;base64,")  # NaN score: no tag number; bad polygon: no mask
    assert math.isnan(boxes[0]["score"])  # the row itself is left as it was
