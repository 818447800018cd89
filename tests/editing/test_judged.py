"""The three editing suites judged end to end by an OpenAI-compatible chat server on 127.0.0.1."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PIL import Image

from genlens.suites.gedit import GEditSuite
from genlens.suites.reason_edit import load_items
from genlens.testing.fake_chat import ChatAnswer, FakeChat, count_images
from genlens.testing.http import FakeServer

JUDGE = "openai:gpt-4o-2024-11-20"


@pytest.fixture(autouse=True)
def _fake_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def edit_judge(text: str) -> str | ChatAnswer:
    """Scripted verdicts: the SC question names 'Over-editing', the PQ one 'Naturalness'."""
    if "Naturalness" in text:
        return '{"reasoning": "clean", "score": [8, 6]}'
    if "right object in folder 3" in text:
        return "I am not able to rate this."  # unreadable: counted, never guessed
    if "folder 6" in text:
        return '```json\n{"reasoning": "wrong object", "score": [4, 8]}\n```'
    if "Remove" in text:
        return '{"reasoning": "partly", "score": [3, 9]}'
    if "对图片" in text:
        return ChatAnswer(content_filter=True)  # a judge refusal: counted like an unreadable answer
    return '{"reasoning": "done", "score": [9, 7]}'


@pytest.fixture
def chat_server():
    with FakeServer() as server:
        chat = FakeChat(server, answer=edit_judge, reported_model={JUDGE.split(":")[1]: "gpt-4o-2024-11-20"})
        yield server, chat


def _same_images(data: Path, items, out: Path) -> Path:
    for item in items:
        target = out / f"{item.id}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.open(data / item.input_images[0]).save(target)
    return out


def test_reason_edit_judged_end_to_end(reason_edit_dir: Path, tmp_path: Path, chat_server, cli):
    server, chat = chat_server
    edits = _same_images(reason_edit_dir, load_items(reason_edit_dir), tmp_path / "edits")
    run = tmp_path / "run"
    result = cli("run", "reason-edit", "--model", f"folder:{edits}", "--data-dir", reason_edit_dir, "--out", run,
                 "--judge", JUDGE, "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
    assert result.exit_code == 0, result.output
    res = json.loads((run / "results.json").read_text())
    # 12 images: 9 understanding with SC min(9,7) = 7, one unparsed (left out), 2 reasoning with min(4,8) = 4.
    # gpt_score = (9·7 + 2·4) / 11 / 10 = 71/110
    # one SC answer unparsed: 11 of the 12 prompts scored, so no headline; the same mean is gpt_score_partial
    assert res["headline"] == {"gpt_score": None} and res["metrics"]["gpt_score_partial"] == pytest.approx(71 / 110)
    assert res["extra"]["coverage"]["prompts"] == [11, 12] and not res["extra"]["coverage"]["complete"]
    assert res["categories"]["understanding"]["gpt_score"] == pytest.approx(0.7)
    assert res["categories"]["reasoning"]["gpt_score"] == pytest.approx(0.4)
    # PQ = min(8, 6) = 6 for all 12; overall = sqrt(SC·PQ): (9·sqrt(42) + 2·sqrt(24)) / 11 / 10
    assert res["metrics"]["pq"] == pytest.approx(0.6)
    assert res["metrics"]["overall"] == pytest.approx((9 * math.sqrt(42) + 2 * math.sqrt(24)) / 110)
    assert res["counts"]["unparsed_sc"] == 1 and res["counts"]["unparsed_pq"] == 0
    assert res["categories"]["1-Left-Right"]["psnr"] == 100.0
    sc_request = next(r for r in chat.requests if "Over-editing" in json.dumps(r))
    assert count_images(sc_request["messages"]) == 2
    # judged once: scoring again asks nothing (final verdicts, unparsed included)
    server.log.clear()
    assert cli("score", run, "--quiet").exit_code == 0
    assert server.log == []
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    assert any(r["reason"] == "judge answer unparsed" for r in rows)


def test_reason_edit_official_prompt_file_is_used_and_hashed(reason_edit_dir: Path, tmp_path: Path, chat_server, cli):
    server, chat = chat_server
    prompt = tmp_path / "official.txt"
    prompt.write_text("Rate this edit. Instruction: <instruction>. Return {\"score\": [a, b]}.", encoding="utf-8")
    edits = _same_images(reason_edit_dir, load_items(reason_edit_dir)[:2], tmp_path / "edits")
    run = tmp_path / "run"
    result = cli("run", "reason-edit", "--model", f"folder:{edits}", "--data-dir", reason_edit_dir, "--out", run, "--limit", "2",
                 "--judge", JUDGE, "--judge-prompt", prompt, "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
    assert result.exit_code == 0, result.output
    texts = [json.dumps(r, ensure_ascii=False) for r in chat.requests]
    assert any("Instruction: Turn the left object in folder 1 blue." in t for t in texts)
    res = json.loads((run / "results.json").read_text())
    assert res["provenance"]["scorers"]["judge_sc"]["template_name"] == "file:official.txt"


def test_gedit_judged_end_to_end(gedit_dir: Path, tmp_path: Path, chat_server, cli):
    server, _chat = chat_server
    suite = GEditSuite(data_dir=gedit_dir)
    model = tmp_path / "model"
    for item in suite.items():
        target = model / "fullset" / item.category / item.meta["language"] / f"{item.meta['key']}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(suite.input_path(item.input_images[0]).read_bytes())
    run = tmp_path / "run"
    result = cli("run", "gedit", "--model", f"folder:{model}", "--data-dir", gedit_dir, "--out", run,
                 "--judge", JUDGE, "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
    assert result.exit_code == 0, result.output
    res = json.loads((run / "results.json").read_text())
    # en: every task SC = min(9,7) = 7 (subject-remove's instruction has no "Remove"), PQ = min(8,6) = 6, O = sqrt(42)
    assert res["headline"]["overall_en"] == pytest.approx(math.sqrt(42))
    assert res["metrics"]["sc_en"] == pytest.approx(7.0) and res["metrics"]["pq_en"] == pytest.approx(6.0)
    # cn: every SC question is refused by the judge's content filter -> unparsed, no score invented
    assert res["headline"]["overall_cn"] is None and res["metrics"]["pq_cn"] == pytest.approx(6.0)
    assert res["counts"]["unparsed_sc"] == 11 and res["counts"]["judge_refused"] == 11
    assert res["categories"]["en/color_alter"]["n"] == 1


def test_multiturn_judged_success_per_round(tmp_path: Path, chat_server, cli):
    server, chat = chat_server
    run = tmp_path / "run"
    result = cli("run", "multiturn-edit", "--model", "synthetic:gradient", "--limit", "2", "--out", run,
                 "--judge", JUDGE, "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
    assert result.exit_code == 0, result.output
    res = json.loads((run / "results.json").read_text())
    # sequences mt-001/002: rounds add, recolour, move -> success 9/10; round 4 "Remove …" -> 3/10
    assert res["extra"]["curves"]["success"]["values"] == pytest.approx([0.9, 0.9, 0.9, 0.3])
    assert res["extra"]["curves"]["sc"]["values"] == pytest.approx([0.7, 0.7, 0.7, 0.3])
    assert res["categories"]["op:remove"]["success"] == pytest.approx(0.3)
    assert len(chat.requests) == 8 and all(count_images(r["messages"]) == 2 for r in chat.requests)


def _image_urls(request: dict) -> list[str]:
    return [part["image_url"]["url"] for m in request["messages"] if isinstance(m.get("content"), list)
            for part in m["content"] if part.get("type") == "image_url"]


def test_gedit_official_protocol_sends_jpeg_75_and_reads_as_upstream(gedit_dir: Path, tmp_path: Path, chat_server, cli):
    server, chat = chat_server
    suite = GEditSuite(data_dir=gedit_dir)
    model = tmp_path / "model"
    for item in suite.items():
        target = model / "fullset" / item.category / item.meta["language"] / f"{item.meta['key']}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(suite.input_path(item.input_images[0]).read_bytes())
    run = tmp_path / "run"
    result = cli("run", "gedit", "--model", f"folder:{model}", "--data-dir", gedit_dir, "--out", run, "--judge", JUDGE,
                 "--scorer-arg", f"base_url={server.url}/v1", "--scorer-arg", "parse=official", "--quiet")
    assert result.exit_code == 0, result.output
    urls = [u for r in chat.requests for u in _image_urls(r)]
    assert urls and all(u.startswith("data:image/jpeg;base64,") for u in urls)  # VIEScore's client re-encodes as JPEG
    res = json.loads((run / "results.json").read_text())
    assert res["provenance"]["judge_image_format"] == "JPEG q75"
    assert res["provenance"]["parser"].startswith("parse=official: VIEScore's mllm_output_to_dict")
    # every answer here is a {"score": [a, b]} JSON object: both readers agree, the numbers are the strict run's
    assert res["headline"]["overall_en"] == pytest.approx(math.sqrt(42)) and res["counts"]["parse_disagreements"] == 0


def test_gedit_default_records_png(gedit_dir: Path, tmp_path: Path, chat_server, cli):
    server, chat = chat_server
    suite = GEditSuite(data_dir=gedit_dir, suite_args={"language": "en"})
    model = tmp_path / "model"
    for item in suite.items():
        target = model / "fullset" / item.category / item.meta["language"] / f"{item.meta['key']}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(suite.input_path(item.input_images[0]).read_bytes())
    run = tmp_path / "run"
    assert cli("run", "gedit", "--model", f"folder:{model}", "--data-dir", gedit_dir, "--out", run, "--judge", JUDGE,
               "--suite-arg", "language=en", "--scorer-arg", f"base_url={server.url}/v1", "--quiet").exit_code == 0
    assert all(u.startswith("data:image/png;base64,") for r in chat.requests for u in _image_urls(r))
    res = json.loads((run / "results.json").read_text())
    assert res["provenance"]["judge_image_format"] == "PNG"
    assert any("JPEG quality 75" in n for n in res["provenance"]["notes"])
