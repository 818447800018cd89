"""--format latex (booktabs) and --figures (SVG + PDF): parseable, escaped, intervals and partial runs as results.json says."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from genlens.report import load_results
from genlens.report.fmt_latex import escape, render_latex


def partial_copy(run: Path, dest: Path) -> Path:
    """A copy of a run whose results say it covers 12 of 553 prompts (headline withheld, value in _partial)."""
    shutil.copytree(run, dest)
    results = json.loads((dest / "results.json").read_text())
    name = next(iter(results["headline"]))
    results["metrics"][f"{name}_partial"] = results["headline"][name]
    results["headline"][name] = None
    results["extra"] = {**(results.get("extra") or {}), "coverage": {"complete": False, "prompts": [12, 553], "images": [48, 2212]}}
    (dest / "results.json").write_text(json.dumps(results))
    return dest


def tabular_rows(table: str) -> list[list[str]]:
    body = table.split(r"\midrule", 1)[1].split(r"\bottomrule", 1)[0]
    rows = [line for line in body.splitlines() if line.strip().endswith(r"\\") and not line.startswith("\\")]
    return [re.split(r"(?<!\\)&", line.rstrip("\\ ").rstrip()) for line in rows]


def balanced(text: str) -> bool:
    depth = 0
    for match in re.finditer(r"(?<!\\)[{}]", text):
        depth += 1 if match.group() == "{" else -1
        if depth < 0:
            return False
    return depth == 0


def test_escape_makes_every_special_character_literal():
    assert escape("a&b_c%d$e#f{g}h~i^j\\k<l>") == (r"a\&b\_c\%d\$e\#f\{g\}h\textasciitilde{}i\textasciicircum{}j"
                                                    r"\textbackslash{}k\textless{}l\textgreater{}")


def test_latex_tables_parse_and_hold_the_results(fixture_runs, tmp_path: Path):
    partial = partial_copy(fixture_runs["geneval_b"], tmp_path / "geneval_partial")
    results = [load_results(fixture_runs["geneval_a"]), load_results(partial), load_results(fixture_runs["wise_a"])]
    results[0]["model"] = "evil & model_%$#"
    text = render_latex(results)
    assert text.startswith("% genlens report: tables need \\usepackage{booktabs}")
    assert balanced(text)
    tables = re.findall(r"\\begin\{table\}.*?\\end\{table\}", text, re.DOTALL)
    assert len(tables) == 2  # geneval, wise
    for table in tables:
        spec = re.search(r"\\begin\{tabular\}\{(l r*)\}", table.replace("rr", "r r").replace(" ", "")) or \
            re.search(r"\\begin\{tabular\}\{(l[r]*)\}", table)
        columns = len(spec.group(1).replace(" ", ""))
        for cells in tabular_rows(table):
            assert len(cells) == columns, cells
        for keyword in (r"\toprule", r"\midrule", r"\bottomrule"):
            assert keyword in table
    geneval = tables[0]
    assert r"evil \& model\_\%\$\#" in geneval
    head = results[0]["headline"]["overall"]
    interval = results[0]["intervals"]["overall"]
    assert f"{head:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]" in geneval
    assert r"$^\dagger$" in geneval and "partial run (12/553 prompts, 48/2212 images)" in geneval
    assert "GPT-4o" in geneval  # the published rows beside the runs
    if shutil.which("pdflatex"):  # a real compile where a TeX engine is installed
        doc = tmp_path / "doc.tex"
        doc.write_text("\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n" + text + "\\end{document}\n")
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]


def test_figures_are_written_as_svg_and_pdf_with_the_recorded_intervals(fixture_runs, tmp_path: Path):
    pytest.importorskip("matplotlib")
    from genlens.report.figures import headline_bars, write_figures
    from genlens.report.summary import summaries

    partial = partial_copy(fixture_runs["geneval_b"], tmp_path / "geneval_partial")
    results = [load_results(fixture_runs["geneval_a"]), load_results(partial), load_results(fixture_runs["wise_a"])]
    written = write_figures(results, tmp_path / "figs")
    names = {p.name for p in written}
    assert {"geneval_headline.svg", "geneval_headline.pdf", "geneval_categories.svg", "geneval_categories.pdf",
            "wise_headline.svg", "wise_headline.pdf"} <= names
    for path in written:
        if path.suffix == ".svg":
            assert ET.parse(path).getroot().tag.endswith("svg")
        else:
            assert path.read_bytes().startswith(b"%PDF")
    bars = headline_bars(summaries(results[:2])[0], results[:2])
    run_a = next(b for b in bars if b["kind"] == "run" and b["partial"] is None)
    assert run_a["interval"] == tuple(results[0]["intervals"]["overall"])  # the error bar is results.json's interval
    partial_bar = next(b for b in bars if b["partial"] is not None)
    assert partial_bar["interval"] is None and partial_bar["value"] == results[1]["metrics"]["overall_partial"]


def test_cli_latex_and_figures(cli, fixture_runs, tmp_path: Path):
    out = tmp_path / "tables.tex"
    result = cli("report", fixture_runs["geneval_a"], fixture_runs["geneval_b"], "--format", "latex", "--out", out,
                 "--figures", tmp_path / "figures")
    assert result.exit_code == 0, result.stderr
    assert r"\begin{tabular}" in out.read_text() and (tmp_path / "figures" / "geneval_headline.pdf").is_file()
    printed = cli("report", fixture_runs["wise_a"], "--format", "latex")
    assert printed.exit_code == 0 and r"\toprule" in printed.stdout
