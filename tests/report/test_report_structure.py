"""The page's building blocks without a browser: run facts, the overview, aligned rows, figures' escaping, the radar rule."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

from genlens.report import load_results, render
from genlens.report.aligned import aligned_gallery
from genlens.report.facts import caveats_of, run_facts, weights_of
from genlens.report.figures import page_figures
from genlens.report.overview import metric_lines, overview
from genlens.report.summary import summaries
from genlens.testing.fake_runs import FakeRun, make_run


def test_facts_read_cost_weights_judge_and_caveats(fixture_runs, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(fixture_runs["geneval_a"], run)
    result = load_results(run)
    result["cost"] = {"calls": 10, "cost_usd": 0.5, "calls_with_cost": 8, "tokens_in": 0, "tokens_out": 0,
                      "latency_p50_s": None, "latency_p95_s": None, "refusals": 0, "errors": 2}
    result["provenance"] = {"judge_models": ["gpt-4o", "gpt-4o-mini"], "caveat": "A", "caveats": ["B", "A"], "notes": ["C"],
                            "scorers": {"clip": {"id": "openai/clip", "revision": "a" * 40}, "props": {}, "ocr": "rapidocr 1.2"}}
    facts = run_facts(result, rows=24)
    assert facts.cost_text == "$0.50 (10 calls, 8 priced)"
    assert facts.judge == "gpt-4o, gpt-4o-mini"
    assert facts.weights == ["clip: openai/clip@aaaaaaaaaaaa", "ocr: rapidocr 1.2"]
    assert facts.caveats == ["A", "B", "C"] and caveats_of({"provenance": "x"}) == []
    assert facts.images == 24 and facts.errors == 2 and facts.tokens is None and facts.latency is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", facts.created or "") and facts.genlens_version == "test"
    result.pop("cost")
    assert run_facts(result).cost_text == "—"
    assert weights_of({"scorers": {"det": {"path": "/w", "sha256": "0123456789abcdef"}}}) == ["det: /w@0123456789ab"]


def test_overview_never_compares_a_partial_run(fixture_runs) -> None:
    full = load_results(fixture_runs["geneval_a"])
    partial = json.loads(json.dumps(full))
    partial.update(run="p", model="other", headline={"overall": None}, metrics={"overall_partial": 0.6}, intervals={},
                   extra={"coverage": {"complete": False, "prompts": [40, 553]}})
    sums = summaries([full, partial])
    table = overview(sums, {"geneval": [run_facts(full), run_facts(partial)]})
    [row] = table.rows
    assert table.models == ["synthetic:gradient", "other"] and row.reference == 0.84
    [complete], [part] = row.cells
    assert complete.delta is not None and complete.tint == "below"
    assert part.delta is None and part.tint == "" and part.facts.coverage_short == "40/553 prompts"
    assert part.facts.value is None and part.facts.partial_value == 0.6


def test_metric_lines_put_runs_side_by_side(fixture_runs) -> None:
    a, b = load_results(fixture_runs["geneval_a"]), load_results(fixture_runs["geneval_b"])
    lines = {(line.scope, line.name): line for line in metric_lines([a, b])}
    head = lines[("headline", "overall")]
    assert head.values == [a["headline"]["overall"], b["headline"]["overall"]]
    assert head.intervals == [tuple(a["intervals"]["overall"]), tuple(b["intervals"]["overall"])]
    assert lines[("count", "images_scored")].values == [24, 24]


def _view(run: Path) -> SimpleNamespace:
    from genlens.report.compare import load_rows

    result = load_results(run)
    return SimpleNamespace(result=result, rows=load_rows(run), label=f"{result['model']} ({result['run']})")


def test_aligned_rows_pick_disagreements_first_and_mark_absent_items(tmp_path: Path) -> None:
    # run a passes everything, run b fails items 0 and 1 of "x": those two disagree; run b lacks category "y"
    a = FakeRun("s", "m:a", {"x": 1.0, "y": 1.0}, items_per_category=8)
    b = FakeRun("s", "m:b", {"x": 0.75}, items_per_category=8, seed=1)
    make_run(tmp_path / "a", a)
    make_run(tmp_path / "b", b)
    views = [_view(tmp_path / "a"), _view(tmp_path / "b")]
    failed = {r["item"] for r in views[1].rows if not r["passed"]}
    gallery = aligned_gallery(views, tmp_path, per_category=3)
    x_rows = [r for r in gallery.rows if r.category == "x"]
    assert len(x_rows) == 3 and {r.item for r in x_rows if r.disagree} == failed  # both disagreements shown
    assert gallery.disagree_total == 2 and gallery.items_total == 16 and gallery.binary
    y_rows = [r for r in gallery.rows if r.category == "y"]
    assert len(y_rows) == 3 and all(r.cells[1].verdict == "absent" and r.cells[1].tile is None for r in y_rows)
    assert all(r.cells[0].summary == "1/1 passed" for r in gallery.rows)


def test_aligned_cells_never_read_outside_the_run(tmp_path: Path) -> None:
    make_run(tmp_path / "a", FakeRun("s", "m:a", {"x": 1.0}, items_per_category=2))
    rows_path = tmp_path / "a" / "rows.jsonl"
    rows = [json.loads(line) for line in rows_path.read_text().splitlines()]
    rows[0]["image"] = "../../etc/passwd"
    rows_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    html = render([tmp_path / "a"], "html", tmp_path / "r.html") or (tmp_path / "r.html").read_text()
    assert "passwd" in html and "image path points outside the run directory" in html
    assert 'href="../../etc/passwd"' not in html


def test_figure_text_is_escaped_and_literal(fixture_runs, tmp_path: Path) -> None:
    result = load_results(fixture_runs["geneval_a"])
    result["model"] = "<script>alert(1)</script> $x^2$ & co"
    figures = page_figures([result])["geneval"]
    for figure in figures:
        assert "<script>" not in figure.svg
        assert "&lt;script&gt;alert(1)&lt;/script&gt; $x^2$ &amp; co" in figure.svg  # shown as typed, not mathtext


def _suite_runs(root: Path, suites: int) -> list[Path]:
    dirs = []
    for s in range(suites):
        for m in ("m:a", "m:b"):
            run = root / f"s{s}_{m[-1]}"
            make_run(run, FakeRun(f"suite{s}", m, {"x": 0.5, "y": 0.25}, items_per_category=2, seed=s))
            dirs.append(run)
    return dirs


def test_cross_suite_radar_needs_five_suites(tmp_path: Path) -> None:
    three = render(_suite_runs(tmp_path / "three", 3), "html", None)
    assert 'data-figure="fradar"' not in three
    five = render(_suite_runs(tmp_path / "five", 5), "html", None)
    assert 'data-figure="fradar"' in five and five.count('id="fradar-radar-') == 2
    # and every suite has its own collapsible section and contents link
    assert len(re.findall(r'<details class="section suite"', five)) == 5
    assert len(re.findall(r'<details class="section suite"[^>]*open>', five)) == 0  # more than 4 suites: collapsed
    assert len(re.findall(r'<details class="section suite"[^>]*open>', three)) == 3
    assert all(f'href="#suite-{n}"' in five for n in range(1, 6))


def test_figure_ids_and_marks_come_from_markup_only(fixture_runs) -> None:
    result = load_results(fixture_runs["geneval_a"])
    result["model"] = 'x id="f1h-bar-0" url(#p1)'  # looks like the markup the id rewrite touches
    headline = page_figures([result])["geneval"][0].svg
    assert len(re.findall(r'<g id="f1h-bar-0"', headline)) == 1  # the text shows it literally; one element has it
    assert 'data-label="x id=&quot;f1h-bar-0&quot; url(#p1) (geneval_a)"' in headline  # the label kept as typed
    ids = re.findall(r'<[^>]*\sid="([^"]+)"', headline)
    assert len(ids) == len(set(ids)) and all(i.startswith("f1h-") for i in ids)


def test_overview_sets_no_variant_run_and_no_overall_less_table_against_published() -> None:
    """A rewritten-prompt run and a table without an 'overall' column give no difference and no tint."""
    from genlens.report.facts import run_facts
    from genlens.report.overview import overview
    from genlens.report.summary import suite_summary

    plain = {"suite": "geneval", "run": "a", "model": "m1", "headline": {"overall": 0.5}}
    rewritten = {"suite": "geneval", "run": "b", "model": "m2", "headline": {"overall": 0.9}, "prompt_variant": "rewritten"}
    summary = suite_summary("geneval", [plain, rewritten])
    table = overview([summary], {"geneval": [run_facts(plain), run_facts(rewritten)]})
    (row,) = table.rows
    assert row.reference == 0.84  # GPT-4o's published overall (GPT-ImgEval Table 1)
    first, second = row.cells[0][0], row.cells[1][0]
    assert first.delta is not None and abs(first.delta - (0.5 - 0.84)) < 1e-9 and first.tint == "below"
    assert second.delta is None and second.tint == ""  # other prompts: never compared

    oneig = {"suite": "oneig", "run": "c", "model": "m3", "headline": {"alignment": 1.0}, "extra": {"lang": "en"}}
    table = overview([suite_summary("oneig", [oneig])], {"oneig": [run_facts(oneig)]})
    assert table.rows[0].reference is None and table.rows[0].cells[0][0].delta is None
