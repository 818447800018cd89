"""Editing suites through real backends: the fake OpenAI server (edits, Responses sessions) and a
tiny InstructPix2Pix pipeline, two models' multi-round curves side by side in one report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genlens.testing.fake_gemini import FakeGemini
from genlens.testing.fake_openai import FakeOpenAI
from genlens.testing.http import FakeServer


@pytest.fixture
def openai_server(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeServer() as server:
        yield server, FakeOpenAI().install(server)


@pytest.fixture
def gemini_server(monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", "gm-test-not-a-real-key")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with FakeServer() as server:
        yield server, FakeGemini().install(server)


def test_multiturn_native_and_reupload_on_the_openai_api_compared_in_one_report(openai_server, tmp_path: Path, cli):
    server, _fake = openai_server
    runs = {}
    for mode in ("native", "reupload"):
        runs[mode] = tmp_path / mode
        result = cli("run", "multiturn-edit", "--model", "openai:gpt-image-1", "--model-arg", f"base_url={server.url}/v1",
                     "--suite-arg", f"mode={mode}", "--limit", "2", "--out", runs[mode], "--quiet")
        assert result.exit_code == 0, result.output
    paths = [r.path for r in server.log]
    assert paths.count("/v1/responses") == 8 and paths.count("/v1/images/edits") == 8  # 2 sequences × 4 rounds each way
    native = json.loads((runs["native"] / "results.json").read_text())
    assert native["extra"]["mode"] == "native" and native["categories"]["round_4"]["n"] == 2
    assert all(v is not None for v in native["extra"]["curves"]["delta_e2000"]["values"])
    # the fake server answers at the input's size, so no round changed the size
    assert native["extra"]["curves"]["size_changed"]["values"] == pytest.approx([0.0] * 4)
    report = cli("report", runs["native"], runs["reupload"], "--format", "md")
    assert report.exit_code == 0
    row = next(line for line in report.stdout.splitlines() if "| round_4 | ssim |" in line)
    assert row.count("|") == 6  # suite | scope | metric | native | reupload


def test_reason_edit_with_a_tiny_instruct_pix2pix_pipeline(reason_edit_dir: Path, tmp_path: Path, cli):
    pytest.importorskip("diffusers")
    from genlens.testing.tiny_diffusers import build_instruct_pix2pix

    pipeline = build_instruct_pix2pix(tmp_path / "pix2pix")
    run = tmp_path / "run"
    args = ("run", "reason-edit", "--model", f"diffusers:{pipeline}", "--model-arg", "steps=2", "--model-arg", "size=32x32",
            "--data-dir", reason_edit_dir, "--limit", "3", "--out", run, "--quiet")
    result = cli(*args)
    assert result.exit_code == 0, result.output
    res = json.loads((run / "results.json").read_text())
    assert res["counts"]["generations_ok"] == 3
    assert res["categories"]["1-Left-Right"]["psnr"] is not None and res["categories"]["1-Left-Right"]["psnr"] < 100
    assert cli(*args).exit_code == 0  # resume: nothing redone


def test_gpt_image_and_gemini_chat_sessions_side_by_side(openai_server, gemini_server, tmp_path: Path, cli):
    """GPT-ImgEval's GPT-4o vs Gemini multi-round comparison, with numbers: both native conversations."""
    from genlens.report import load_results
    from genlens.suites.multiturn_edit import comparison_markdown

    runs = []
    for spec, server in (("openai:gpt-image-1", openai_server[0]), ("gemini:gemini-2.5-flash-image", gemini_server[0])):
        run = tmp_path / spec.split(":")[0]
        result = cli("run", "multiturn-edit", "--model", spec, "--model-arg", f"base_url={server.url}" + ("/v1" if "openai" in spec else ""),
                     "--limit", "2", "--out", run, "--quiet")
        assert result.exit_code == 0, result.output
        runs.append(run)
    assert any("generateContent" in r.path for r in gemini_server[0].log)
    table = comparison_markdown([load_results(r) for r in runs], metrics=["ssim", "delta_e2000"])
    header = table.splitlines()[0]
    assert "openai:gpt-image-1 [native]" in header and "gemini:gemini-2.5-flash-image [native]" in header
    assert len(table.splitlines()) == 2 + 2 * 4  # header, rule, 2 metrics × 4 rounds
    assert "—" not in table.split("| ssim | 1 |")[1].splitlines()[0]  # both models measured in round 1
