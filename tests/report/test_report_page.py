"""The restructured HTML page in headless Chromium: summary first, badges beside the numbers, intervals drawn as
results.json says, galleries aligned by item with working filters, SVG/PDF/LaTeX exports, screenshots as CI artefacts.

Screenshots go to ``$GENLENS_ARTIFACTS`` when set (``.ci/run`` sets ``.ci/artifacts``), else to a temporary folder.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from genlens.report.compare import load_rows, outcome, sample_of

from .test_html import CHROMIUM, LAUNCH_ARGS

PARTIAL_COVERAGE = {"complete": False, "prompts": [6, 553], "images": [24, 2212], "tags": [6, 6]}
WISE_COVERAGE = {"complete": False, "prompts": [40, 1000], "images": [40, 1000], "tags": [6, 6]}
COST = {"calls": 24, "cost_usd": 1.234, "calls_with_cost": 24, "tokens_in": 12000, "tokens_out": 3400,
        "latency_p50_s": 1.5, "latency_p95_s": 3.25, "refusals": 1, "errors": 0}
PROVENANCE = {"judge": "openai:gpt-4o-2024-08-06", "caveat": "detector is not GenEval's Mask2Former <b>x</b>",
              "scorers": {"detector": {"id": "org/detector-weights", "revision": "0123456789abcdef0123"},
                          "clip": {"id": "openai/clip-vit-large-patch14", "sha256": "ffeeddccbbaa99887766"}}}


def _edit(run: Path, change) -> None:
    path = run / "results.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _make_partial(data: dict, coverage: dict, keep_value: bool = True) -> None:
    name = next(iter(data["headline"]))
    data["metrics"] = {f"{name}_partial": data["headline"][name] if keep_value else None, **data.get("metrics", {})}
    data["headline"][name] = None
    data["intervals"] = {}
    data["extra"] = {**(data.get("extra") or {}), "coverage": coverage}


@pytest.fixture(scope="module")
def runs(fixture_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """geneval_a (with cost and provenance), geneval_b, a partial copy of geneval_b, a partial WISE run without any value."""
    root = tmp_path_factory.mktemp("page_runs")
    out = {}
    for name in ("geneval_a", "geneval_b", "wise_a"):
        shutil.copytree(fixture_runs[name], root / name)
        out[name] = root / name
    shutil.copytree(fixture_runs["geneval_b"], root / "geneval_p")
    out["geneval_p"] = root / "geneval_p"
    _edit(out["geneval_a"], lambda d: d.update(cost=COST, provenance={**d["provenance"], **PROVENANCE}))
    _edit(out["geneval_p"], lambda d: (_make_partial(d, PARTIAL_COVERAGE), d.update(model="synthetic:partial", run="geneval_p")))
    _edit(out["wise_a"], lambda d: _make_partial(d, WISE_COVERAGE, keep_value=False))
    return out


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ["GENLENS_ARTIFACTS"]) if os.environ.get("GENLENS_ARTIFACTS") else tmp_path_factory.mktemp("artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """The page written by the CLI, opened in Chromium; yields (page, events, html path)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed at /usr/bin/chromium (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (genlens[browser])")
    from typer.testing import CliRunner

    from genlens.cli import app

    out = tmp_path_factory.mktemp("page") / "report.html"
    result = CliRunner().invoke(app, ["report", *map(str, runs.values()), "--format", "html", "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    events: dict[str, list[str]] = {"console": [], "errors": [], "requests": []}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        tab.on("console", lambda m: events["console"].append(f"{m.type}: {m.text}"))
        tab.on("pageerror", lambda e: events["errors"].append(str(e)))
        tab.on("request", lambda r: events["requests"].append(r.url))
        tab.goto(out.as_uri())
        tab.wait_for_load_state("load")
        yield tab, events, out
        browser.close()


def _results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text(encoding="utf-8"))


def test_page_loads_offline_without_errors(page) -> None:
    _tab, events, _out = page
    assert events["errors"] == [] and [m for m in events["console"] if m.startswith(("error", "warning"))] == []
    assert all(url.startswith(("file:", "data:")) for url in events["requests"]), events["requests"]


def test_summary_comes_first_with_models_as_columns_and_suites_as_rows(page, runs) -> None:
    tab, _events, _out = page
    first = tab.evaluate("document.querySelector('main section, main details').id")
    assert first == "summary"
    models = tab.eval_on_selector_all("#overview thead th[data-model]", "els => els.map(e => e.dataset.model)")
    assert models == ["synthetic:gradient", "synthetic:noise", "synthetic:partial"]
    suites = tab.eval_on_selector_all("#overview tbody tr", "els => els.map(e => e.dataset.suite)")
    assert suites == ["geneval", "wise"]
    # headline ± interval exactly as results.json, GPT-4o's published number beside it, the difference tinted
    data = _results(runs["geneval_a"])
    entry = tab.locator("#overview .entry[data-run='geneval_a']")
    assert float(entry.locator(".value").get_attribute("data-value")) == pytest.approx(data["headline"]["overall"])
    ci = entry.locator(".ci")
    assert [float(ci.get_attribute("data-lo")), float(ci.get_attribute("data-hi"))] == pytest.approx(data["intervals"]["overall"])
    assert tab.locator("#overview tr[data-suite='geneval'] td.ref .ref-value").text_content() == "0.840"
    assert tab.locator("#overview tr[data-suite='geneval'] td.ref .sub").text_content() == "GPT-4o"
    assert "below" in entry.get_attribute("class") and "-0.215 vs published" in entry.text_content()
    # cost and caveat badges beside the number; the caveat is escaped text
    assert "$1.23 (24 calls)" in entry.locator(".badge.cost").text_content()
    caveat = entry.locator("details.badge.caveat")
    caveat.locator("summary").click()
    assert "detector is not GenEval's Mask2Former <b>x</b>" in caveat.text_content()
    # the summary fits one screen of this 1400×900 viewport
    assert tab.evaluate("document.querySelector('#overview').getBoundingClientRect().bottom") < 900


def test_partial_run_shows_its_badge_and_no_tint(page) -> None:
    tab, _events, _out = page
    entry = tab.locator("#overview .entry[data-run='geneval_p']")
    classes = entry.get_attribute("class").split()
    assert not {"above", "below", "level"} & set(classes)
    assert entry.locator(".badge.nohead").text_content() == "no headline (partial: 6/553 prompts)"
    assert "vs published" not in entry.text_content()
    assert entry.locator(".partial-value").text_content() == "overall_partial 0.458"
    # the suite table: coverage beside the number, no tint, no difference to GPT-4o
    row = tab.locator("#summary-1 tr[data-run='geneval_p']")
    assert "not compared with published numbers" in row.text_content()
    for cell in row.locator("td[data-col]").all():
        assert not {"above", "below", "level"} & set(cell.get_attribute("class").split())
        assert cell.locator(".delta:not(.partial)").count() == 0
    # a partial run without any value: an explicit badge, never "— vs 0.800 ( )"
    wise = tab.locator("#overview .entry[data-run='wise_a']")
    assert wise.locator(".badge.nohead").text_content() == "no headline (partial: 40/1000 prompts)"
    text = tab.locator("body").text_content()
    assert "— vs" not in text and "( )" not in text
    assert tab.locator("table.metrics-wide td[data-run='wise_a'][data-metric='overall'] .badge.nohead").count() == 1


def _figure_marks(tab, suite: str) -> tuple[list[dict], list[dict]]:
    script = """(sel) => Array.from(document.querySelectorAll(sel)).map(g => {
        const box = g.querySelector('path').getBBox();
        return Object.assign({id: g.id, height: box.height}, g.dataset); })"""
    section = f"details.suite[data-suite='{suite}'] figure.figure-headline svg"
    return tab.evaluate(script, f"{section} g[id*='-bar-']"), tab.evaluate(script, f"{section} g[data-lo]")


def test_intervals_drawn_match_results_json(page, runs) -> None:
    tab, _events, _out = page
    bars, errors = _figure_marks(tab, "geneval")
    by_label = {r: _results(runs[r]) for r in ("geneval_a", "geneval_b", "geneval_p")}
    labels = {f"{d['model']} ({name})": d for name, d in by_label.items()}
    assert {e["label"] for e in errors} == {"synthetic:gradient (geneval_a)", "synthetic:noise (geneval_b)"}  # not the partial one
    bar_of = {b["label"]: b for b in bars}
    for err in errors:
        data = labels[err["label"]]
        assert [float(err["lo"]), float(err["hi"])] == pytest.approx(data["intervals"]["overall"])
        # the geometry says the same: bars start at zero, so pixels per unit = bar height / value
        bar = bar_of[err["label"]]
        per_unit = bar["height"] / float(bar["value"])
        assert err["height"] / per_unit == pytest.approx(float(err["hi"]) - float(err["lo"]), rel=0.02)
    partial = bar_of["synthetic:partial (geneval_p)"]
    assert partial["partial"] == "6/553 prompts, 24/2212 images, 6/6 tags"
    assert bar_of["GPT-4o"]["kind"] == "anchor"


def test_aligned_gallery_has_one_row_per_item_across_runs(page, runs) -> None:
    tab, _events, _out = page
    box = tab.locator("details.suite[data-suite='geneval'] div.aligned")
    header = box.locator("thead th").all_text_contents()[1:]
    assert header == ["synthetic:gradient (geneval_a)", "synthetic:noise (geneval_b)", "synthetic:partial (geneval_p)"]
    rows = box.locator("tr.aligned-row")
    items = [r.get_attribute("data-item") for r in rows.all()]
    assert len(items) == len(set(items)) == 24  # 6 categories × 4 items, each once
    per_run = {name: {r["item"]: r for r in load_rows(runs[name])} for name in ("geneval_a", "geneval_b", "geneval_p")}
    for row in rows.all()[:8]:
        item = row.get_attribute("data-item")
        cells = row.locator("td.cell")
        assert cells.count() == 3
        for cell, name in zip(cells.all(), ("geneval_a", "geneval_b", "geneval_p"), strict=True):
            expected = per_run[name][item]
            assert cell.locator(".verdict").text_content() == f"{int(expected['passed'])}/1 passed"
            if cell.locator("img").count():
                assert cell.locator("img").get_attribute("alt").startswith(f"{item} sample")


def _disagreeing_items(runs: dict[str, Path]) -> set[str]:
    seen: dict[tuple[str, int], set[float]] = {}
    for name in ("geneval_a", "geneval_b", "geneval_p"):
        for row in load_rows(runs[name]):
            seen.setdefault((row["item"], sample_of(row)), set()).add(outcome(row)[1])
    return {item for (item, _s), values in seen.items() if len(values) > 1}


def test_gallery_filters_by_category_and_disagreement(page, runs) -> None:
    tab, _events, _out = page
    box = tab.locator("details.suite[data-suite='geneval'] div.aligned")
    visible = "els => els.filter(e => !e.hidden).map(e => [e.dataset.item, e.dataset.category, e.dataset.disagree])"
    box.locator("select.f-cat").select_option("position")
    shown = box.locator("tr.aligned-row").evaluate_all(visible)
    assert shown and {c for _i, c, _d in shown} == {"position"} and len(shown) == 4
    box.locator("input.f-disagree").check()
    shown = box.locator("tr.aligned-row").evaluate_all(visible)
    expected = {i for i in _disagreeing_items(runs) if "-position-" in i}
    assert {i for i, _c, _d in shown} == expected and all(d == "1" for _i, _c, d in shown)
    assert box.locator(".shown").text_content() == f"{len(expected)} shown"
    box.locator("select.f-cat").select_option("")
    shown = box.locator("tr.aligned-row").evaluate_all(visible)
    assert {i for i, _c, _d in shown} == _disagreeing_items(runs)
    box.locator("input.f-disagree").uncheck()
    assert len(box.locator("tr.aligned-row").evaluate_all(visible)) == 24


def test_costs_and_provenance_are_in_sight(page) -> None:
    tab, _events, _out = page
    row = tab.locator("#runs-table tr[data-run='geneval_a']")
    text = row.text_content()
    for expected in ("openai:gpt-4o-2024-08-06", "detector: org/detector-weights@0123456789ab",
                     "clip: openai/clip-vit-large-patch14@ffeeddccbbaa", "$1.23 (24 calls)", "12,000 in / 3,400 out",
                     "p50 1.50 s, p95 3.25 s", "1 refused, 0 errors", "test"):
        assert expected in text, expected
    assert re.search(r"\d{4}-\d\d-\d\d", text)
    raw = tab.locator("#raw-provenance")
    assert raw.get_attribute("open") is None  # one click away
    raw.locator("summary").click()
    assert "org/detector-weights" in raw.locator("pre").first.text_content()


def test_navigation_stays_usable(page) -> None:
    tab, _events, _out = page
    assert tab.evaluate("getComputedStyle(document.getElementById('toc')).position") == "sticky"
    tab.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert tab.locator("#toc").is_visible() and tab.evaluate("document.getElementById('toc').getBoundingClientRect().top") > -1  # sub-pixel
    tab.locator("#collapse-all").click()
    assert tab.evaluate("Array.from(document.querySelectorAll('details.section')).every(d => !d.open)")
    tab.locator("#toc a[href='#suite-2']").click()  # following a contents link opens its section
    assert tab.evaluate("document.getElementById('suite-2').open")
    tab.locator("#overview a[href='#suite-1']").click()  # so does a suite's name in the summary
    assert tab.evaluate("document.getElementById('suite-1').open")
    tab.locator("#expand-all").click()
    assert tab.evaluate("Array.from(document.querySelectorAll('details.section')).every(d => d.open)")
    tab.evaluate("window.scrollTo(0, 0)")


def _data_uri(href: str, mime: str) -> bytes:
    prefix = f"data:{mime};base64,"
    assert href.startswith(prefix)
    return base64.b64decode(href[len(prefix):])


def pdf_is_sound(data: bytes) -> bool:
    """Header, trailer, and a startxref offset that lands on the cross-reference table (or stream object)."""
    if not data.startswith(b"%PDF-1.") or not data.rstrip().endswith(b"%%EOF"):
        return False
    match = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)
    if not match:
        return False
    offset = int(match.group(1))
    return data[offset:offset + 4] == b"xref" or re.match(rb"\d+ \d+ obj", data[offset:offset + 20]) is not None


def test_every_figure_downloads_as_svg_and_pdf(page) -> None:
    tab, _events, _out = page
    figures = tab.locator("figure.plot:has(svg.mpl)")
    assert figures.count() == 4  # headline + categories for geneval and wise
    for figure in figures.all():
        svg = _data_uri(figure.locator("a.dl-svg").get_attribute("href"), "image/svg+xml")
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert figure.locator("a.dl-svg").get_attribute("download").endswith(".svg")
        pdf = _data_uri(figure.locator("a.dl-pdf").get_attribute("href"), "application/pdf")
        assert pdf_is_sound(pdf)


def test_latex_and_figure_files_compile_or_parse(runs, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from genlens.cli import app

    from .test_latex_figures import balanced, tabular_rows

    tex, figures = tmp_path / "tables.tex", tmp_path / "figs"
    result = CliRunner().invoke(app, ["report", *map(str, runs.values()), "--format", "latex", "--out", str(tex),
                                      "--figures", str(figures)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for path in sorted(figures.glob("*.svg")):
        ET.parse(path)
    pdfs = sorted(figures.glob("*.pdf"))
    assert {p.stem for p in pdfs} == {"geneval_headline", "geneval_categories", "wise_headline", "wise_categories"}
    assert all(pdf_is_sound(p.read_bytes()) for p in pdfs)
    text = tex.read_text(encoding="utf-8")
    engine = next((e for e in ("pdflatex", "lualatex", "xelatex") if shutil.which(e)), None)
    if engine:
        doc = tmp_path / "doc.tex"
        doc.write_text("\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n" + text + "\\end{document}\n")
        done = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]
    else:  # no TeX engine here: parse it
        assert balanced(text)
        tables = re.findall(r"\\begin\{table\}.*?\\end\{table\}", text, re.DOTALL)
        assert len(tables) >= 2
        for table in tables:
            spec = re.search(r"\\begin\{tabular\}\{([lr ]+)\}", table)
            columns = len(spec.group(1).replace(" ", ""))
            assert all(len(cells) == columns for cells in tabular_rows(table))


def test_screenshots_of_summary_and_a_suite_are_saved(page, artifacts: Path) -> None:
    tab, _events, _out = page
    tab.evaluate("window.scrollTo(0, 0)")
    summary, suite = artifacts / "report_summary.png", artifacts / "report_suite_geneval.png"
    tab.locator("#summary").screenshot(path=str(summary))
    tab.locator("details.suite[data-suite='geneval']").screenshot(path=str(suite))
    for path in (summary, suite):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
