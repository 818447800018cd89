"""openai: judge against a real HTTP server on 127.0.0.1, through the official openai SDK."""

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


def png_bytes(color=(200, 10, 10)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def chat():
    with FakeServer() as server:
        yield server, FakeChat(server, reported_model={"gpt-4o": "gpt-4o-2024-05-13"})


def judge_for(server, **params):
    return make_judge("openai:gpt-4o", concurrency=2,
                      params={"base_url": f"{server.url}/v1", "backoff_base_s": 0.01, **params})


def ask(judge, text="rate it", images=None, system="be strict"):
    return asyncio.run(judge.ask(system=system, text=text, images=images or [png_bytes()]))


def test_well_formed_reply_records_exact_version_usage_and_request_shape(chat):
    server, fake = chat
    fake.script("Consistency: 2\nRealism: 1\nAesthetic Quality: 0")
    judge = judge_for(server)
    reply = ask(judge)
    assert reply.status == "ok"
    assert reply.raw == "Consistency: 2\nRealism: 1\nAesthetic Quality: 0"
    assert reply.model == "gpt-4o-2024-05-13"  # what the provider reported, not what we asked for
    assert judge.identity()["version"] == "gpt-4o-2024-05-13"
    assert reply.usage["prompt_tokens"] == 185 and reply.usage["completion_tokens"] == 7
    # gpt-4o-2024-05-13 at $5 / $15 per million tokens: (185*5 + 7*15) / 1e6 = (925 + 105) / 1e6 = 0.00103
    assert reply.cost_usd == pytest.approx(0.00103)
    body = fake.requests[0]
    assert body["temperature"] == 0.0 and body["seed"] == 0 and body["max_tokens"] == 2000
    assert body["messages"][0] == {"role": "system", "content": "be strict"}
    user = body["messages"][1]["content"]
    assert user[0] == {"type": "text", "text": "rate it"}
    url = user[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,") and base64.b64decode(url.split(",", 1)[1]) == png_bytes()
    assert server.log[0].headers["authorization"] == "Bearer sk-test-not-a-real-key"


def test_malformed_reply_is_ok_at_the_call_level_and_kept_verbatim(chat):
    server, fake = chat
    fake.script("I think the image is pretty good overall!")
    reply = ask(judge_for(server))
    assert reply.status == "ok" and reply.raw == "I think the image is pretty good overall!"


def test_refusals_are_recorded_not_retried(chat):
    server, fake = chat
    fake.script(ChatAnswer(refusal="I can't help with that."), ChatAnswer(text="", content_filter=True))
    judge = judge_for(server)
    first, second = ask(judge), ask(judge)
    assert (first.status, first.error) == ("refused", "I can't help with that.")
    assert second.status == "refused" and "content_filter" in second.error
    server.add_fault(Fault(status=400, body={"error": {"message": "blocked by policy", "code": "content_policy_violation"}}))
    third = ask(judge)
    assert third.status == "refused" and "blocked by policy" in third.error
    assert len(server.log) == 3  # no retries for any refusal


def test_429_with_retry_after_and_500_are_retried(chat):
    server, fake = chat
    server.add_fault(Fault(status=429, headers={"Retry-After": "0"}))
    server.add_fault(Fault(status=500))
    fake.script("Consistency: 1\nRealism: 1\nAesthetic Quality: 1")
    judge = judge_for(server)
    reply = ask(judge)
    assert reply.status == "ok" and len(server.log) == 3
    stats = judge.call_stats()
    assert stats["retries"] == 2 and stats["count"] == 1


def test_persistent_500_becomes_an_error_reply_after_the_retries(chat):
    server, _fake = chat
    server.add_fault(Fault(status=500), times=3)
    reply = ask(judge_for(server, max_retries=2))
    assert reply.status == "error" and "500" in reply.error and reply.raw == ""
    assert len(server.log) == 3


def test_rejected_key_stops_with_a_one_line_setup_error(chat):
    server, _fake = chat
    server.add_fault(Fault(status=401, body={"error": {"message": "Incorrect API key"}}))
    with pytest.raises(SpecError, match="API key was rejected"):
        ask(judge_for(server))


def test_no_key_and_no_base_url_is_a_setup_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(SpecError, match="OPENAI_API_KEY"):
        ask(make_judge("openai:gpt-4o"))


def test_keys_are_refused_as_judge_arguments():
    with pytest.raises(SpecError, match="environment"):
        make_judge("openai:gpt-4o", params={"api_key": "sk-x"})
    with pytest.raises(SpecError, match="judge spec"):
        make_judge("claude:opus")


def test_an_unreadable_answer_is_asked_again_up_to_three_times(tmp_path, monkeypatch):
    """WISE's protocol: up to 3 attempts when the answer cannot be read; earlier answers are kept."""
    import asyncio

    from genlens.judges.base import JudgeRequest, make_judge
    from genlens.judges.parsing import parse_scores
    from genlens.judges.scorer import JudgeScorer
    from genlens.judges.templates import Template
    from genlens.testing.fake_chat import FakeChat
    from genlens.testing.http import FakeServer

    labels = ["Consistency", "Realism", "Aesthetic Quality"]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with FakeServer() as server:
        chat = FakeChat(server)
        chat.script("Looks fine to me.", "Still no numbers.", "Consistency: 2\nRealism: 1\nAesthetic Quality: 0",
                    "nope", "nope", "nope")
        judge = make_judge("openai:gpt-4o", params={"base_url": f"{server.url}/v1"})
        scorer = JudgeScorer(name="t", version="1", judge=judge, template=Template("t", "sys", "q"),
                             build=lambda inp, t: inp, parse=lambda raw: parse_scores(raw, labels, (0, 1, 2)),
                             use_cache=False)

        async def run():
            request = JudgeRequest(system="sys", text="q", images=[])
            first = await scorer._answers([request])
            second = await scorer._answers([request])
            await judge.aclose()
            return first[0], second[0]

        readable, unreadable = asyncio.run(run())
    assert readable.raw.startswith("Consistency: 2") and readable.earlier == ["Looks fine to me.", "Still no numbers."]
    assert unreadable.raw == "nope" and unreadable.earlier == ["nope", "nope"]  # 3 attempts, then unparsed
    assert len(chat.requests) == 6
