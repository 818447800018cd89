"""Plant a distinctive API key and URL password, run every backend/judge path (errors and retries
included), then grep every artefact: run dir, judge cache, stdout/stderr and the logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from genlens.testing.fake_chat import FakeChat
from genlens.testing.fake_gemini import FakeGemini
from genlens.testing.fake_openai import FakeOpenAI
from genlens.testing.http import FakeServer, Fault

pytest.importorskip("openai")
pytestmark = pytest.mark.filterwarnings("ignore::Warning")

KEY = "sk-PLANTED-openai-3b9e1f0c77d2"
GEMINI_KEY = "gm-PLANTED-gemini-a81c5e2f90"
PASSWORD = "PLANTEDpw-6d1f0b"


@pytest.fixture
def planted(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))
    with FakeServer() as server, FakeServer() as gemini, FakeServer() as gemini_judge:
        FakeOpenAI().install(server)
        FakeChat(server, answer=lambda _text: '{"score": [8, 9], "reasoning": "ok"}')
        FakeGemini().install(gemini)
        FakeChat(gemini_judge, answer=lambda _text: '{"score": [8, 9], "reasoning": "ok"}')
        yield {"openai": (server, server), "gemini": (gemini, gemini_judge)}


def secret_url(server: FakeServer, scheme: str = "openai") -> str:
    return server.url.replace("http://", f"http://genuser:{PASSWORD}@") + ("/v1" if scheme == "openai" else "")


def basic_token() -> str:
    import base64

    return base64.b64encode(f"genuser:{PASSWORD}".encode()).decode()


def assert_clean(*roots: Path, texts: list[str]) -> int:
    needles = [KEY, GEMINI_KEY, PASSWORD, basic_token()]
    scanned = 0
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                scanned += 1
                data = path.read_bytes()
                for needle in needles:
                    assert needle.encode() not in data, f"{needle} found in {path}"
    for text in texts:
        for needle in needles:
            assert needle not in text, f"{needle} found in output: {text[:300]}"
    return scanned


@pytest.mark.parametrize("scheme", ["openai", "gemini"])
def test_planted_key_and_password_never_stored_or_printed(cli, planted, tmp_path, caplog, scheme):
    caplog.set_level(logging.DEBUG)
    server, judge_server = planted[scheme]
    run = tmp_path / "run"
    url = secret_url(server, scheme)
    model = "openai:gpt-image-1" if scheme == "openai" else "gemini:gemini-2.5-flash-image"
    judge = "openai:gpt-4o-2024-11-20" if scheme == "openai" else "gemini:gemini-2.5-flash"
    common = ["--model", model, "--model-arg", f"base_url={url}", "--model-arg", "max_retries=1",
              "--model-arg", "backoff_base=0.01", "--limit", "2", "--out", run,
              "--judge", judge, "--scorer-arg", f"base_url={secret_url(judge_server, scheme)}",
              "--scorer-arg", "max_retries=0"]
    outputs: list[str] = []
    # A 500 that quotes the request's headers (Authorization / x-goog-api-key) and URL: retried once, then recorded.
    server.add_fault(Fault(status=500, echo=True, path="/responses" if scheme == "openai" else "generateContent"), times=4)
    judge_server.add_fault(Fault(status=500, echo=True, path="/chat" if scheme == "openai" else "generateContent"), times=3)
    first = cli("run", "multiturn-edit", *common)
    outputs.append(first.output)
    assert first.exit_code == 1, first.output
    stored = (run / "genlens.sqlite").read_bytes()
    assert b"injected 500" in stored  # the echoed error body was stored, scrubbed
    # Resume: the errors are retried and succeed.
    second = cli("run", "multiturn-edit", *common)
    outputs.append(second.output)
    # A 401 that echoes the credentials stops the run with one line.
    server.add_fault(Fault(status=401, echo=True), times=3)
    third = cli("run", "multiturn-edit", *common[:-4], "--limit", "3", "--out", tmp_path / "run401")
    outputs.append(third.output)
    assert third.exit_code == 2 and "credentials" in third.output
    # A judge key given as an argument is refused before judge.json is written.
    refused = cli("score", run, "--scorer-arg", f"api_key={KEY}")
    outputs.append(refused.output)
    assert refused.exit_code == 2
    judge_json = json.loads((run / "judge.json").read_text())
    assert "api_key" not in judge_json["judge_args"]
    assert "***@" in judge_json["judge_args"]["base_url"]
    assert "***@" in json.loads((run / "run.json").read_text())["spec"]["params"].get("base_url", "***@")
    logs = "\n".join(record.getMessage() for record in caplog.records)
    scanned = assert_clean(tmp_path, texts=[*outputs, logs])
    assert scanned >= 5


def test_judge_json_with_masked_url_asks_for_it_again(cli, planted, tmp_path):
    from genlens.judges.scorer import judge_choice
    from genlens.suites.base import ScoreContext

    run = tmp_path / "run"
    run.mkdir()
    (run / "judge.json").write_text(json.dumps({"judge": "openai:gpt-4o", "judge_prompt": None,
                                                "judge_args": {"base_url": "http://***@127.0.0.1:9/v1"}}))
    from genlens.errors import SpecError

    with pytest.raises(SpecError, match="base_url"):
        judge_choice(ScoreContext(run_dir=run), "openai:gpt-4o")


def test_scrub_masks_userinfo_and_env_keys(monkeypatch):
    from genlens.redact import mask_url, scrub

    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-PLANTED-123456")
    assert mask_url(f"https://u:{PASSWORD}@example.test/v1") == "https://***@example.test/v1"
    text = scrub(f"failed: Authorization: Bearer tok-PLANTED-123456 and {PASSWORD}")
    assert "tok-PLANTED" not in text and PASSWORD not in text
