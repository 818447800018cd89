"""--prompt-variant: part of the run's identity and every generation fingerprint, recorded in run.json and
results.json, shown beside the headline, and never set against published rows without saying so."""

from __future__ import annotations

import json

from genlens.report.summary import suite_summary
from genlens.report.tables import results_table, to_markdown
from genlens.runs.fingerprint import generation_fingerprint

BASE = {"suite": "geneval", "suite_version": "1", "item_id": "00001", "item_hash": "h", "model": "m", "params": {},
        "seed": 1, "sample": 0}


def test_fingerprint_changes_with_a_variant_and_original_keeps_old_fingerprints():
    old = generation_fingerprint(**BASE)
    assert generation_fingerprint(**BASE, prompt_variant="original") == old
    rewritten = generation_fingerprint(**BASE, prompt_variant="rewritten")
    assert rewritten != old and rewritten != generation_fingerprint(**BASE, prompt_variant="flux2-enhancer")


def test_run_records_the_variant_and_refuses_to_mix_variants(cli, tmp_path):
    run = tmp_path / "run"
    r = cli("run", "image-props", "-m", "synthetic:gradient", "--limit", "2", "--prompt-variant", "rewritten", "-o", run, "-q")
    assert r.exit_code == 0, r.output
    assert json.loads((run / "run.json").read_text())["spec"]["prompt_variant"] == "rewritten"
    results = json.loads((run / "results.json").read_text())
    assert results["prompt_variant"] == "rewritten" and results["provenance"]["prompt_variant"] == "rewritten"
    # the same directory with the original prompts is another run: refused, nothing mixed
    again = cli("run", "image-props", "-m", "synthetic:gradient", "--limit", "2", "-o", run, "-q")
    assert again.exit_code == 2 and "prompt_variant='rewritten'" in again.output
    report = cli("report", run, "--format", "md")
    assert report.exit_code == 0 and "(prompts: rewritten)" in report.output
    html = cli("report", run, "--format", "html", "--out", tmp_path / "report.html")
    assert html.exit_code == 0 and "prompts: rewritten" in (tmp_path / "report.html").read_text()
    plain = tmp_path / "plain"
    assert cli("run", "image-props", "-m", "synthetic:gradient", "--limit", "2", "-o", plain, "-q").exit_code == 0
    assert json.loads((plain / "results.json").read_text())["prompt_variant"] == "original"


def test_a_bad_variant_name_is_one_line_exit_2(cli, tmp_path):
    r = cli("run", "image-props", "-m", "synthetic:gradient", "--prompt-variant", "a b/c", "-o", tmp_path / "r", "-q")
    assert r.exit_code == 2 and "--prompt-variant" in r.output and "Traceback" not in r.output


def _geneval(variant: str) -> dict:
    return {"suite": "geneval", "suite_version": "1", "title": "GenEval", "model": "m", "run": f"run-{variant}",
            "headline": {"overall": 0.9}, "metrics": {}, "categories": {"counting": {"score": 0.8, "n": 80}},
            "extra": {}, "provenance": {"prompt_variant": variant}, "prompt_variant": variant}


def test_reports_show_the_variant_and_never_compare_it_with_published_rows():
    summary = suite_summary("geneval", [_geneval("rewritten"), _geneval("original")])
    rewritten, original = summary.run_rows
    assert rewritten.label.endswith("[prompts: rewritten]") and rewritten.variant == "rewritten"
    assert rewritten.deltas == {} and original.deltas  # the original-prompt run is set against GPT-4o's row
    markdown = to_markdown([_geneval("rewritten")])
    assert "0.900 (prompts: rewritten)" in markdown
    assert "not compared: the published rows used the original prompts" in markdown
    assert "prompts:" not in to_markdown([_geneval("original")]).split("###")[0]
    table = results_table([_geneval("rewritten")])
    assert any("prompts: rewritten" in str(cell) for column in table.columns for cell in column._cells)


def test_the_python_api_takes_the_variant(tmp_path):
    import pytest

    import genlens
    from genlens.errors import SpecError

    run = genlens.run("image-props", "synthetic:gradient", tmp_path / "api", limit=1, prompt_variant="flux2-enhancer")
    assert run.results["prompt_variant"] == "flux2-enhancer"
    with pytest.raises(SpecError, match="prompt-variant"):
        genlens.run("image-props", "synthetic:gradient", tmp_path / "bad", limit=1, prompt_variant="two words")
