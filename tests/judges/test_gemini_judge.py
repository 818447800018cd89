"""gemini: judge through the official google-genai SDK against a local server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import io

import pytest
from PIL import Image

from genlens.errors import SpecError
from genlens.judges import make_judge
from genlens.testing.fake_chat import ChatAnswer, FakeChat
from genlens.testing.http import FakeServer, Fault


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 255)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def gemini(monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", "test-gemini-key")
    with FakeServer() as server:
        chat = FakeChat(server, reported_model={"gemini-2.5-flash": "gemini-2.5-flash-preview-05-20"})
        judge = make_judge("gemini:gemini-2.5-flash", params={"base_url": server.url, "backoff_base_s": 0.01})
        yield server, chat, judge


def ask(judge):
    return asyncio.run(judge.ask(system="be strict", text="Score it.", images=[png_bytes()]))


def test_reply_version_usage_and_request(gemini):
    server, chat, judge = gemini
    chat.script("Score: 1")
    reply = ask(judge)
    assert (reply.status, reply.raw, reply.model) == ("ok", "Score: 1", "gemini-2.5-flash-preview-05-20")
    assert reply.usage == {"prompt_tokens": 358, "completion_tokens": 2}
    # gemini-2.5-flash at $0.30 / $2.50 per million: (358*0.30 + 2*2.50) / 1e6 = (107.4 + 5) / 1e6 = 0.0001124
    assert reply.cost_usd == pytest.approx(0.0001124)
    body = chat.requests[0]
    assert body["generationConfig"]["temperature"] == 0.0 and body["generationConfig"]["seed"] == 0
    assert body["systemInstruction"]["parts"][0]["text"] == "be strict"
    parts = body["contents"][0]["parts"]
    assert base64.b64decode(parts[0]["inlineData"]["data"]) == png_bytes() and parts[1]["text"] == "Score it."
    assert server.log[0].headers["x-goog-api-key"] == "test-gemini-key"


def test_blocked_prompt_and_safety_finish_are_refusals(gemini):
    _server, chat, judge = gemini
    chat.script(ChatAnswer(refusal="blocked"), ChatAnswer(content_filter=True))
    first, second = ask(judge), ask(judge)
    assert first.status == "refused" and "SAFETY" in first.error
    assert second.status == "refused" and second.error == "finish_reason=SAFETY"


def test_429_and_500_retried_by_the_call_layer_only(gemini):
    server, chat, judge = gemini
    server.add_fault(Fault(status=429, headers={"Retry-After": "0"}, body={"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}))
    server.add_fault(Fault(status=500, body={"error": {"code": 500, "message": "oops", "status": "INTERNAL"}}))
    chat.script("Score: 0")
    reply = ask(judge)
    assert reply.status == "ok" and reply.raw == "Score: 0" and len(server.log) == 3
    assert judge.call_stats()["retries"] == 2


def test_missing_key_is_a_setup_error(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(SpecError, match="GEMINI_API_KEY"):
        ask(make_judge("gemini:gemini-2.5-flash"))
