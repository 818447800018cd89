"""`--format md` escapes HTML in every cell; `--format csv` neutralises formula cells.

The payloads are the ones the HTML report is tested with (tests/report/conftest.py), plus the
classic spreadsheet formula starts.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from genlens.report.tables import to_csv, to_markdown
from tests.report.conftest import INJECTED_PROMPT

REASON = "<script>window.__pwned = 4</script>"
EVIL = "<b>evil</b>"
FORMULAS = ('=HYPERLINK("http://127.0.0.1/x","click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0")


def hostile_results() -> list[dict]:
    return [{
        "suite": "geneval", "run": REASON, "model": INJECTED_PROMPT,
        "headline": {"overall": 0.5}, "metrics": {EVIL: -0.25, FORMULAS[0]: 0.1},
        "categories": {INJECTED_PROMPT: {"score": 1.0, "n": 1}, FORMULAS[1]: {FORMULAS[2]: 0.5, "n": 1},
                       FORMULAS[3]: {"score": 0.0, "n": 1}},
    }]


def test_markdown_escapes_html_in_every_cell() -> None:
    text = to_markdown(hostile_results())
    for raw in ("<script", "<img", "<b>", "</b>"):
        assert raw not in text, raw
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;&lt;img src=x onerror=\"window.__pwned = 2\"&gt;" in text
    assert "&lt;script&gt;window.__pwned = 4&lt;/script&gt;" in text and "&lt;b&gt;evil&lt;/b&gt;" in text
    assert "-0.250" in text  # numbers unchanged


def test_csv_neutralises_formula_cells_and_keeps_numbers() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(hostile_results()))))
    cells = [value for row in rows for value in row.values() if value]
    for formula in FORMULAS:
        assert "'" + formula in cells, formula
        assert formula not in cells
    assert all(not c.startswith(("=", "+", "@")) for c in cells)
    assert all(not c.startswith("-") or float(c) < 0 for c in cells)  # only real negative numbers start with '-'
    assert {r["value"] for r in rows if r["metric"] == EVIL} == {"-0.25"}
    assert {r["model"] for r in rows} == {INJECTED_PROMPT}  # HTML is plain text in CSV: kept as it is


def test_md_and_csv_through_the_cli(cli, fixture_runs: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "hostile"
    shutil.copytree(fixture_runs["geneval_a"], run)
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    results["model"] = INJECTED_PROMPT
    results["categories"][FORMULAS[0]] = {"score": 0.5, "n": 1}
    results["categories"][REASON] = {"score": 0.5, "n": 1}
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    md = cli("report", run, "--format", "md")
    assert md.exit_code == 0
    assert "<script" not in md.stdout and "<img" not in md.stdout and "&lt;script&gt;" in md.stdout
    out = tmp_path / "r.csv"
    assert cli("report", run, "--format", "csv", "--out", out).exit_code == 0
    scopes = {row["scope"] for row in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))}
    assert "'" + FORMULAS[0] in scopes and FORMULAS[0] not in scopes
