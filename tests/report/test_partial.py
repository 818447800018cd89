"""A partial run shows its number only as <headline>_partial with its coverage, never tinted against a published row."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from genlens.report import render
from genlens.report.summary import suite_summary
from genlens.report.tables import _wide, to_markdown

COVERAGE = {"complete": False, "prompts": [6, 553], "images": [24, 2212], "tags": [6, 6]}
TEXT = "6/553 prompts, 24/2212 images, 6/6 tags"


def _partial(result: dict) -> dict:
    value = result["headline"]["overall"]
    return {**result, "headline": {"overall": None}, "metrics": {"overall_partial": value, **result.get("metrics", {})},
            "intervals": {}, "extra": {**result.get("extra", {}), "coverage": COVERAGE}}


def _results(fixture_runs: dict[str, Path]) -> tuple[dict, dict]:
    full = json.loads((fixture_runs["geneval_a"] / "results.json").read_text())
    return full, _partial(full)


def test_summary_shows_the_partial_value_with_coverage_and_no_difference(fixture_runs):
    full, partial = _results(fixture_runs)
    summary = suite_summary("geneval", [full, partial])
    complete_row, partial_row = summary.run_rows
    # 0.625 = mean(1, .75, .5, .75, .25, .5); GPT-4o's published 0.84 -> -0.215 for the complete run only
    assert complete_row.deltas["overall"] == pytest.approx(-0.215) and complete_row.partial is None
    assert partial_row.values["overall"] == 0.625 and partial_row.partial == TEXT
    assert partial_row.deltas == {}  # never tinted: no difference to any published column


def test_markdown_and_terminal_table_carry_the_coverage(fixture_runs):
    _full, partial = _results(fixture_runs)
    md = to_markdown([partial])
    assert f"**synthetic:gradient (geneval_a)** — partial: {TEXT}; not compared with published numbers | 0.625 (partial) |" in md
    assert "(-0.215)" not in md
    _header, body = _wide([partial])
    cells = {(r[1], r[2]): r[3] for r in body}
    assert cells[("headline", "overall")] == "—"
    assert cells[("run", "overall_partial")] == f"0.625 (partial: {TEXT})"
    assert cells[("run", "coverage")] == f"partial: {TEXT}"


def test_html_says_partial_and_draws_no_difference(fixture_runs, tmp_path: Path):
    run = tmp_path / "geneval_a"
    shutil.copytree(fixture_runs["geneval_a"], run)
    full = json.loads((run / "results.json").read_text())
    (run / "results.json").write_text(json.dumps(_partial(full)))
    html = render([run], "html", None)
    assert f"partial: {TEXT} — not compared with published numbers" in html
    assert ('no headline (partial: 6/553 prompts)</span> overall_partial 0.625 over what was scored '
            f"({TEXT}), not compared with published numbers") in html
    assert "vs GPT-4o&#39;s published" not in html and "vs GPT-4o's published" not in html
    assert '<span class="delta">-0.215</span>' not in html
