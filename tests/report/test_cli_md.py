"""`genlens report --format md|html` through the CLI: published rows and paired comparisons included."""

from __future__ import annotations

from pathlib import Path

from genlens.report.compare import compare_runs
from genlens.report.summary import headline_value


def test_md_has_anchor_tables_and_comparison(cli, fixture_runs: dict[str, Path]) -> None:
    result = cli("report", *fixture_runs.values(), "--format", "md")
    assert result.exit_code == 0
    text = result.stdout
    assert "### geneval" in text and "### wise" in text and "### diag-text" in text
    assert "| GPT-4o (published) | 0.840 | 0.990 | 0.920 | 0.850 | 0.920 | 0.750 | 0.610 |" in text
    assert "| GPT4o (published) | 0.800 |" in text
    # geneval_a: single_object 1.000 vs 0.99 -> "+0.010"; its overall is the mean of the six tags
    line = next(line for line in text.splitlines() if line.startswith("| **synthetic:gradient (geneval_a)**"))
    assert "1.000 (+0.010)" in line
    assert "| TokenFlow-XL | 0.550 |" in text
    assert "### Paired comparisons" in text
    comp = next(line for line in text.splitlines() if line.startswith("| geneval | synthetic:gradient (geneval_a)"))
    from genlens.report import load_results

    [expected] = compare_runs([load_results(fixture_runs["geneval_a"]), load_results(fixture_runs["geneval_b"])])
    assert f"| {expected.n_pairs} | {expected.wins_a} | {expected.wins_b} | {expected.ties} |" in comp
    assert "McNemar exact" in comp


def test_md_pipes_in_names_do_not_break_the_table() -> None:
    from genlens.report.tables import to_markdown

    result = {"suite": "s", "run": "a|b", "model": "m|n", "headline": {"score": 0.5}, "categories": {"x|y": {"score": 1.0, "n": 1}}}
    lines = to_markdown([result]).splitlines()
    assert "| model | score | x\\|y |" in lines
    assert "| **m\\|n (a\\|b)** | 0.500 | 1.000 |" in lines


def test_html_via_cli_writes_the_file(cli, fixture_runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = cli("report", fixture_runs["geneval_a"], "--format", "html", "--out", out)
    assert result.exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    value = headline_value(__import__("json").loads((fixture_runs["geneval_a"] / "results.json").read_text()))
    assert f'data-value="{value}"' in html


def test_unknown_format_is_a_user_error(fixture_runs: dict[str, Path]) -> None:
    from typer.testing import CliRunner

    from genlens.cli import app

    result = CliRunner().invoke(app, ["report", str(fixture_runs["geneval_a"]), "--format", "pdf"])
    assert result.exit_code == 2
