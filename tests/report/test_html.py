"""The HTML report opened in headless Chromium: values, images, escaping, no console errors, no network."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from genlens.report.summary import category_value, headline_name

from .conftest import INJECTED_PROMPT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report_page(fixture_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """Render the four fixture runs through the CLI and open the page; yields (page, events, html path)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed at /usr/bin/chromium (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (genlens[browser])")
    from typer.testing import CliRunner

    from genlens.cli import app

    out = tmp_path_factory.mktemp("html") / "sub dir" / "report.html"
    out.parent.mkdir()
    result = CliRunner().invoke(app, ["report", *map(str, fixture_runs.values()), "--format", "html", "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    events: dict[str, list[str]] = {"console": [], "errors": [], "requests": []}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: events["console"].append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: events["errors"].append(str(e)))
        page.on("request", lambda r: events["requests"].append(r.url))
        page.goto(out.as_uri())
        page.wait_for_load_state("load")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report_page.png"), full_page=True)
        yield page, events, out
        browser.close()


def test_page_has_no_console_errors_and_no_network(report_page) -> None:
    _page, events, _out = report_page
    assert events["errors"] == []
    assert [m for m in events["console"] if m.startswith(("error", "warning"))] == []
    assert all(url.startswith(("file:", "data:")) for url in events["requests"]), events["requests"]


def test_injected_script_did_not_run_and_shows_as_text(report_page) -> None:
    page, _events, _out = report_page
    assert page.evaluate("typeof window.__pwned") == "undefined"
    prompts = page.eval_on_selector_all(".prompt", "els => els.map(e => e.textContent)")
    assert INJECTED_PROMPT in prompts
    reasons = page.eval_on_selector_all(".reason", "els => els.map(e => e.textContent)")
    assert "<script>window.__pwned = 4</script>" in reasons
    assert page.locator("text=<b>evil</b>").count() >= 1  # a detector name shown literally
    # only our own inline script exists in the document
    assert page.evaluate("document.scripts.length") == 1


def test_summary_cells_match_results_json(report_page, fixture_runs: dict[str, Path]) -> None:
    page, _events, _out = report_page
    cells = page.eval_on_selector_all(
        "table.summary tr.run td[data-col]",
        "els => els.map(e => [e.closest('tr').dataset.run, e.dataset.col, e.dataset.value, e.firstChild.textContent])")
    seen = {(run, col): (value, text) for run, col, value, text in cells}
    checked = 0
    for name, run_dir in fixture_runs.items():
        results = json.loads((run_dir / "results.json").read_text())
        head = headline_name(results)
        expected = {("overall" if results["suite"] in ("geneval", "wise") else head): results["headline"][head]}
        for cat, metrics in results["categories"].items():
            expected[cat] = category_value(metrics, head)
        for col, value in expected.items():
            shown_value, shown_text = seen[(name, col)]
            assert float(shown_value) == pytest.approx(value, abs=1e-12)
            assert shown_text == f"{value:.3f}"
            checked += 1
    assert checked == 7 + 7 + 7 + 4
    gpt4o = page.eval_on_selector_all("table.summary tr.reference td[data-col='overall']", "els => els.map(e => e.dataset.value)")
    assert sorted(map(float, gpt4o)) == [0.8, 0.84]


def test_differences_are_highlighted(report_page, fixture_runs: dict[str, Path]) -> None:
    page, _events, _out = report_page
    # geneval_a single_object = 1.0 vs GPT-4o 0.99 -> above, +0.010; position 0.25 vs 0.75 -> below, -0.500
    cell = page.locator("tr[data-run='geneval_a'] td[data-col='single_object']")
    assert "above" in cell.get_attribute("class") and cell.locator(".delta").text_content() == "+0.010"
    cell = page.locator("tr[data-run='geneval_a'] td[data-col='position']")
    assert "below" in cell.get_attribute("class") and cell.locator(".delta").text_content() == "-0.500"


def test_every_gallery_image_loads(report_page) -> None:
    page, _events, _out = report_page
    widths = page.eval_on_selector_all(".card img", "els => els.map(e => e.complete && e.naturalWidth)")
    assert len(widths) >= 40
    assert all(w and w > 0 for w in widths)


def test_full_image_links_resolve_relative_to_the_page(report_page) -> None:
    page, _events, out = report_page
    hrefs = page.eval_on_selector_all(".card a", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs
    for href in hrefs:
        assert not href.startswith("/")
        assert (out.parent / unquote(href)).resolve().is_file(), href
    assert any("odd%20name%20%231" in h for h in hrefs)


def test_comparison_and_side_files_are_shown(report_page) -> None:
    page, _events, _out = report_page
    row = page.locator("#comparisons table tbody tr").first
    assert "McNemar exact" in row.text_content()
    assert page.locator("svg.plot").count() >= 8  # bars+radar ×2 suites, bars for diag-text, curve, ROC, histogram
    assert page.locator("text=consistency by round").count() == 1
    assert page.locator("text=OPEN 24 HOURS").count() >= 1
    assert page.locator(".judge details").count() >= 1
    assert page.locator("text=both sides resized to 256 px <b>").count() == 1  # detect.json's normalisation, as text
    assert page.locator("text=held-out accuracy of the probe: 0.910 [0.850, 0.950] on 40 images").count() == 1


def test_sorting_and_baseline_toggle_work(report_page) -> None:
    page, _events, _out = report_page
    table = page.locator("#summary-1")
    table.locator("th", has_text="overall").click()  # descending first
    first = table.locator("tbody tr").first.locator("td").first.text_content()
    assert first == "GPT-4o"
    page.locator("#toggle-baselines").uncheck()
    assert not page.locator("#summary-1 tr.baseline").first.is_visible()
    assert page.locator("#summary-1 tr.reference").is_visible()
    page.locator("#toggle-baselines").check()


def test_unreadable_side_file_and_missing_image_do_not_break_the_page(fixture_runs: dict[str, Path], tmp_path: Path) -> None:
    from genlens.report import render

    run = tmp_path / "copy"
    shutil.copytree(fixture_runs["ocr_a"], run)
    (run / "detect.json").write_text("{not json")
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    (run / rows[0]["image"]).unlink()
    html = render([run], "html", tmp_path / "r.html") or (tmp_path / "r.html").read_text()
    assert "detect.json could not be read" in html
    assert "image unreadable" in html


def test_opening_findings_say_where_each_run_stands(report_page) -> None:
    page, _events, _out = report_page
    items = page.eval_on_selector_all("ul.findings li", "els => els.map(e => e.textContent.replace(/\\s+/g, ' ').trim())")
    line = next(t for t in items if t.startswith("synthetic:gradient (geneval_a)"))
    # overall 0.625 (mean of 1, .75, .5, .75, .25, .5) vs 0.84 -> -0.215; the largest shortfall is
    # position (0.25 vs 0.75, -0.50); position has the most failures (3 of 4)
    assert "overall 0.625 vs GPT-4o's published 0.840 (-0.215)" in line
    assert "furthest behind: position 0.250 vs 0.750" in line
    assert "most common failure: “missing object in position” (3×)" in line
    assert any(t.startswith("synthetic:gradient (ocr_a) on diag-text: exact_rate 0.500; weakest: long 0.250") for t in items)


def test_runs_without_rows_still_render(fixture_runs: dict[str, Path], tmp_path: Path) -> None:
    from genlens.report import render

    copies = []
    for name in ("geneval_a", "geneval_b"):
        shutil.copytree(fixture_runs[name], tmp_path / name)
        (tmp_path / name / "rows.jsonl").unlink()  # e.g. a run scored by an older genlens
        copies.append(tmp_path / name)
    html = render(copies, "html", None)
    assert "no aligned images" in html
    assert "data:image/webp" not in html
    assert 'data-col="overall" data-value="0.625"' in html  # the tables still come from results.json
