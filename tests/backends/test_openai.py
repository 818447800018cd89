"""openai: backend through the official SDK against a local fake of the OpenAI REST API."""

from __future__ import annotations

import asyncio

import pytest

from genlens.backends.base import make_backend
from genlens.backends.openai import token_cost
from genlens.errors import Refused, SpecError
from genlens.imageio import decode
from genlens.testing.fake_openai import draw_png, parse_multipart
from genlens.testing.http import Fault
from genlens.types import GenerationRequest


def backend(server, model: str = "gpt-image-1", **args):
    return make_backend(f"openai:{model}", {"base_url": f"{server.url}/v1", "backoff_base": 0, **args})


def run(coro):
    return asyncio.run(coro)


async def _generate(b, request):
    try:
        return await b.generate(request)
    finally:
        await b.aclose()


def request(prompt: str = "a red apple", size=(1024, 1024), **kw) -> GenerationRequest:
    return GenerationRequest(item_id="i", prompt=prompt, sample=0, seed=1, size=size, **kw)


def test_generate_maps_size_records_usage_and_cost(openai_server):
    server, _fake = openai_server
    image = run(_generate(backend(server), request(size=(1280, 720))))
    assert decode(image.data).size == (1536, 1024) and image.format == "png"
    assert server.log[0].json()["size"] == "1536x1024"  # nearest aspect of 1024x1024 / 1536x1024 / 1024x1536
    assert image.meta["requested_size"] == [1280, 720] and "nearest aspect" in image.meta["size_rule"]
    # fake usage: 3 text tokens in, 1536*1024/1024 = 1536 image tokens out
    # cost = (3 * 5.00 + 0 * 10.00 + 1536 * 40.00) / 1e6 = 0.061455
    assert image.meta["usage"]["output_tokens"] == 1536
    assert image.meta["cost_usd"] == pytest.approx(0.061455)
    assert image.meta["attempts"] == 1 and image.meta["latency_s"] >= 0
    assert "response_format" not in server.log[0].json()  # gpt-image rejects it


def test_price_override_and_dalle_per_image_price():
    usage = {"input_tokens": 10, "output_tokens": 1000, "input_tokens_details": {"text_tokens": 4, "image_tokens": 6}}
    # price_in applies to text and image input: (10 * 1.0 + 1000 * 2.0) / 1e6 = 0.00201
    assert token_cost("gpt-image-1", usage, {"price_in": 1.0, "price_out": 2.0}) == pytest.approx(0.00201)
    # list prices: (4 * 5 + 6 * 10 + 1000 * 40) / 1e6 = 0.04008
    assert token_cost("gpt-image-1", usage, {}) == pytest.approx(0.04008)
    assert token_cost("my-local-model", usage, {}) is None


def test_dalle3_sends_b64_response_format_and_costs_per_image(openai_server):
    server, _fake = openai_server
    image = run(_generate(backend(server, "dall-e-3", quality="hd"), request(size=(1024, 1792))))
    sent = server.log[0].json()
    assert sent["response_format"] == "b64_json" and sent["size"] == "1024x1792" and sent["quality"] == "hd"
    assert image.meta["cost_usd"] == pytest.approx(0.12)  # dall-e-3 hd 1024x1792 list price


def test_streaming_partial_images_are_kept_in_order(openai_server):
    server, _fake = openai_server
    image = run(_generate(backend(server, partial_images=3), request(size=(1024, 1024))))
    sent = server.log[0].json()
    assert sent["stream"] is True and sent["partial_images"] == 3
    assert len(image.trace) == 3 and image.meta["partial_images"] == 3
    # frames are the fake's quarter-size drafts #partial0..2, in index order
    expected = [draw_png((256, 256), f"a red apple#partial{i}") for i in range(3)]
    assert image.trace == expected
    assert decode(image.data).size == (1024, 1024)


def test_edit_sends_multipart_image_and_mask(openai_server):
    server, _fake = openai_server
    source, mask = draw_png((64, 48), "source"), draw_png((64, 48), "mask")
    b = backend(server, quality="low")
    edit = GenerationRequest("i", "make the sky green", 0, 1, kind="edit", images=[source], mask=mask)

    async def go():
        try:
            return await b.edit(edit)
        finally:
            await b.aclose()

    image = run(go())
    fields, files = parse_multipart(server.log[0])
    assert server.log[0].path == "/v1/images/edits"
    assert fields["prompt"] == "make the sky green" and fields["quality"] == "low" and "size" not in fields
    assert files["image"] == [source] and files["mask"] == [mask]
    assert decode(image.data).size == (64, 48)  # no size asked: the provider keeps the input's


def test_oversized_edit_input_is_resized_by_a_recorded_rule(openai_server):
    server, _fake = openai_server
    big = draw_png((1200, 600), "big")
    b = backend(server, "dall-e-2")
    image = run(b.edit(GenerationRequest("i", "x", 0, 1, kind="edit", images=[big])))
    _fields, files = parse_multipart(server.log[0])
    assert decode(files["image"][0]).size == (1024, 512)  # dall-e-2: longest side <= 1024, uniform
    rule = image.meta["resized"]["image"]
    assert rule["from"] == [1200, 600] and rule["to"] == [1024, 512] and "1024" in rule["rule"]


def test_session_uses_responses_api_with_previous_response_id(openai_server):
    server, fake = openai_server
    source = draw_png((64, 64), "source")
    b = backend(server)

    async def go():
        session = b.session(GenerationRequest("i", "", 0, 1, kind="multiturn", images=[source]))
        first = await session.send("add a hat", source)
        second = await session.send("make the hat red")
        await session.close()
        await b.aclose()
        return first, second

    first, second = run(go())
    bodies = [r.json() for r in server.log]
    assert [r.path for r in server.log] == ["/v1/responses", "/v1/responses"]
    assert bodies[0].get("previous_response_id") is None and bodies[1]["previous_response_id"] == first.meta["response_id"]
    assert bodies[0]["tools"][0] == {"type": "image_generation", "model": "gpt-image-1"}
    assert any(p["type"] == "input_image" for p in bodies[0]["input"][0]["content"])
    assert not any(p["type"] == "input_image" for p in bodies[1]["input"][0]["content"])  # context, not re-upload
    assert second.data == draw_png((64, 64), "make the hat red", fake.responses[first.meta["response_id"]])


def test_refusal_is_refused_not_retried(openai_server):
    server, _fake = openai_server
    with pytest.raises(Refused, match="safety system"):
        run(_generate(backend(server), request("a FORBIDDEN thing")))
    assert len(server.log) == 1


@pytest.mark.parametrize("fault", [
    Fault(status=429, headers={"Retry-After": "0"}),
    Fault(status=500), Fault(status=503),
    Fault(truncate=True),
], ids=["429", "500", "503", "truncated"])
def test_transient_faults_are_retried(openai_server, fault):
    server, _fake = openai_server
    server.add_fault(fault, times=2)
    b = backend(server)
    image = run(_generate(b, request()))
    assert image.meta["attempts"] == 3 and len(server.log) == 3
    assert b.calls.stats.retries == 2


def test_retry_after_header_is_honoured(openai_server, monkeypatch):
    server, _fake = openai_server
    server.add_fault(Fault(status=429, headers={"Retry-After": "7"}))
    b = backend(server)
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    b.calls.sleep = record
    run(_generate(b, request()))
    assert slept == [7.0]


def test_slow_response_times_out_and_is_retried(openai_server):
    server, _fake = openai_server
    server.add_fault(Fault(delay=2.0))
    b = backend(server, timeout=0.5)
    image = run(_generate(b, request(size=(1024, 1024))))
    assert image.meta["attempts"] == 2


def test_invalid_base64_is_retried(openai_server):
    server, fake = openai_server
    fake.corrupt_next(1)
    image = run(_generate(backend(server), request(size=(1024, 1536))))
    assert image.meta["attempts"] == 2 and decode(image.data).size == (1024, 1536)


def test_client_error_is_not_retried(openai_server):
    server, _fake = openai_server
    server.add_fault(Fault(status=400, body={"error": {"message": "bad size", "code": "invalid_value"}}))
    import openai

    with pytest.raises(openai.BadRequestError):
        run(_generate(backend(server), request()))
    assert len(server.log) == 1


def test_key_as_model_arg_is_refused(api_keys):
    with pytest.raises(SpecError, match="OPENAI_API_KEY"):
        make_backend("openai:gpt-image-1", {"api_key": "sk-oops"})


def test_missing_key_is_a_one_line_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(SpecError, match="OPENAI_API_KEY is not set"):
        make_backend("openai:gpt-image-1", {})


def test_n_other_than_one_is_refused(api_keys):
    with pytest.raises(SpecError, match="--samples"):
        make_backend("openai:gpt-image-1", {"n": 4})


def test_streamed_edit_keeps_partial_frames(openai_server):
    server, _fake = openai_server
    source = draw_png((64, 48), "source")
    b = backend(server, partial_images=2)

    async def go():
        try:
            return await b.edit(GenerationRequest("i", "make it blue", 0, 1, kind="edit", images=[source]))
        finally:
            await b.aclose()

    image = asyncio.run(go())
    fields, _files = parse_multipart(server.log[0])
    assert fields["stream"] == "true" and fields["partial_images"] == "2"
    assert len(image.trace) == 2 and decode(image.trace[0]).size == (16, 12)  # the fake's quarter-size drafts
    assert decode(image.data).size == (64, 48)


def test_session_moderation_block_is_refused(openai_server):
    server, _fake = openai_server
    b = backend(server)

    async def go():
        session = b.session(GenerationRequest("i", "", 0, 1, kind="multiturn", images=[draw_png((8, 8), "s")]))
        try:
            return await session.send("make it FORBIDDEN", draw_png((8, 8), "s"))
        finally:
            await b.aclose()

    with pytest.raises(Refused, match=r"safety system.*\(input: test\)"):
        asyncio.run(go())
    assert len(server.log) == 1


def test_compatible_server_model_gets_size_as_asked(openai_server, monkeypatch):
    server, _fake = openai_server
    monkeypatch.delenv("OPENAI_API_KEY")  # local servers often need no key: base_url alone is enough
    image = run(_generate(backend(server, "my-local-sdxl"), request(size=(1280, 720))))
    sent = server.log[0].json()
    assert sent["size"] == "1280x720" and sent["response_format"] == "b64_json"
    assert decode(image.data).size == (1280, 720) and "requested_size" not in image.meta
    assert image.meta["cost_usd"] is None  # no price known, none given


def test_invalid_base64_in_a_stream_is_retried(openai_server):
    server, fake = openai_server
    fake.corrupt_next(1)  # the first partial frame of the first stream
    image = run(_generate(backend(server, partial_images=2), request()))
    assert image.meta["attempts"] == 2 and len(image.trace) == 2 and len(server.log) == 2
