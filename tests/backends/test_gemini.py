"""gemini: backend through the official google-genai SDK against a local fake of the Gemini REST API."""

from __future__ import annotations

import asyncio
import base64

import pytest

from genlens.backends.base import make_backend
from genlens.errors import Refused, SpecError
from genlens.imageio import decode
from genlens.testing.fake_gemini import b64decode_any
from genlens.testing.fake_openai import draw_png
from genlens.testing.http import Fault
from genlens.types import GenerationRequest

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


def backend(server, model: str = "gemini-2.5-flash-image", **args):
    return make_backend(f"gemini:{model}", {"base_url": server.url, "backoff_base": 0, **args})


async def _call(b, method: str, request: GenerationRequest):
    try:
        return await getattr(b, method)(request)
    finally:
        await b.aclose()


def request(prompt: str = "a red apple", size=(1024, 1024), **kw) -> GenerationRequest:
    return GenerationRequest(item_id="i", prompt=prompt, sample=0, seed=1, size=size, **kw)


def test_generate_asks_for_image_output_with_nearest_aspect(gemini_server):
    server, _fake = gemini_server
    image = asyncio.run(_call(backend(server), "generate", request(size=(1280, 720))))
    body = server.log[0].json()
    assert server.log[0].path == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert "IMAGE" in body["generationConfig"]["responseModalities"]
    assert body["generationConfig"]["imageConfig"]["aspectRatio"] == "16:9"  # 1280/720 = 1.78 = 16:9 exactly
    assert decode(image.data).size == (1344, 768) and image.format == "png"
    assert image.meta["requested_size"] == [1280, 720] and image.meta["aspect_ratio"] == "16:9"
    # fake usage: 3 prompt tokens, 1290 output tokens; cost = (3 * 0.30 + 1290 * 30.00) / 1e6 = 0.0387009
    assert image.meta["cost_usd"] == pytest.approx(0.0387009)
    assert server.log[0].headers["x-goog-api-key"].startswith("gm-genlens-FAKE")


def test_edit_sends_the_image_inline(gemini_server):
    server, _fake = gemini_server
    source = draw_png((64, 48), "source")
    edit = request("make the sky green", size=None, kind="edit", images=[source], mask=source)
    image = asyncio.run(_call(backend(server), "edit", edit))
    parts = server.log[0].json()["contents"][0]["parts"]
    assert b64decode_any(parts[0]["inlineData"]["data"]) == source and parts[0]["inlineData"].get("mimeType", parts[0]["inlineData"].get("mime_type")) == "image/png"
    assert parts[1]["text"] == "make the sky green"
    assert decode(image.data).size == (64, 48)
    assert "mask_ignored" in image.meta  # recorded, not silent


def test_chat_session_keeps_context(gemini_server):
    server, _fake = gemini_server
    source = draw_png((64, 64), "source")
    b = backend(server)

    async def go():
        session = b.session(request(size=None, kind="multiturn", images=[source]))
        first = await session.send("add a hat", source)
        second = await session.send("make the hat red")
        await b.aclose()
        return first, second

    first, second = asyncio.run(go())
    contents = server.log[1].json()["contents"]
    # round 2 sends: user(source, "add a hat"), model(round-1 image), user("make the hat red")
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    model_image = next(p for p in contents[1]["parts"] if "inlineData" in p)["inlineData"]["data"]
    assert b64decode_any(model_image) == first.data
    assert second.meta["history_turns"] == 2


def test_block_and_safety_stop_are_refused(gemini_server):
    server, _fake = gemini_server
    with pytest.raises(Refused, match="SAFETY"):
        asyncio.run(_call(backend(server), "generate", request("a FORBIDDEN thing")))
    assert len(server.log) == 1


def test_text_only_answer_is_refused_with_the_text():
    from google.genai import types

    from genlens.backends.gemini import image_from_response

    response = types.GenerateContentResponse(candidates=[types.Candidate(
        content=types.Content(role="model", parts=[types.Part(text="I can't draw that.")]), finish_reason="STOP")])
    with pytest.raises(Refused, match="I can't draw that"):
        image_from_response(response)
    stopped = types.GenerateContentResponse(candidates=[types.Candidate(content=None, finish_reason="IMAGE_SAFETY")])
    with pytest.raises(Refused, match="IMAGE_SAFETY"):
        image_from_response(stopped)


@pytest.mark.parametrize("fault", [Fault(status=429, headers={"Retry-After": "0"}), Fault(status=503), Fault(truncate=True)],
                         ids=["429", "503", "truncated"])
def test_transient_faults_are_retried(gemini_server, fault):
    server, _fake = gemini_server
    server.add_fault(fault, times=2)
    image = asyncio.run(_call(backend(server), "generate", request()))
    assert image.meta["attempts"] == 3


def test_invalid_base64_is_retried(gemini_server):
    server, fake = gemini_server
    fake.corrupt_next(1)
    image = asyncio.run(_call(backend(server), "generate", request()))
    assert image.meta["attempts"] == 2 and decode(image.data).size == (1024, 1024)


def test_imagen_uses_generate_images_via_vertex_express(gemini_server):
    server, _fake = gemini_server
    image = asyncio.run(_call(backend(server, "imagen-4.0-generate-001"), "generate", request(size=(1024, 768))))
    sent = server.log[0]
    assert sent.path == "/v1beta1/publishers/google/models/imagen-4.0-generate-001:predict"
    assert sent.json()["parameters"]["aspectRatio"] == "4:3"
    assert decode(image.data).size == (1152, 896) and image.meta["cost_usd"] == pytest.approx(0.04)
    with pytest.raises(Refused, match="safety filter"):
        asyncio.run(_call(backend(server, "imagen-4.0-generate-001"), "generate", request("FORBIDDEN")))


def test_imagen_cannot_edit(gemini_server):
    server, _fake = gemini_server
    source = base64.b64decode(base64.b64encode(draw_png((8, 8), "s")))
    with pytest.raises(SpecError, match="cannot edit"):
        asyncio.run(_call(backend(server, "imagen-4.0-generate-001"), "edit", request(kind="edit", images=[source])))


def test_key_only_from_env(api_keys, monkeypatch):
    with pytest.raises(SpecError, match="GEMINI_API_KEY"):
        make_backend("gemini:gemini-2.5-flash-image", {"gemini_api_key": "x"})
    monkeypatch.delenv("GEMINI_API_KEY")
    with pytest.raises(SpecError, match="neither GEMINI_API_KEY nor GOOGLE_API_KEY"):
        make_backend("gemini:gemini-2.5-flash-image", {})
    monkeypatch.setenv("GOOGLE_API_KEY", "gk-fake")
    assert make_backend("gemini:gemini-2.5-flash-image", {}).spec == "gemini:gemini-2.5-flash-image"
