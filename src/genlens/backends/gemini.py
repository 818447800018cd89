"""``gemini:<model>`` — Gemini image models and Imagen through the official ``google-genai`` SDK.

Gemini image models (``gemini-2.5-flash-image`` …): ``generate_content`` with image output for
text-to-image, the input image as an inline part for edits, and a chat (context kept) for
multi-round sessions. Models whose name starts with ``imagen`` use ``generate_images``
(text-to-image only), which google-genai 3.x serves only through Vertex AI: genlens uses Vertex
AI express mode with the same API key (``--model-arg vertexai=true`` does so for Gemini models too). The key comes from ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY`` only.

Model args: ``base_url`` (tests, proxies), ``aspect_ratio`` (overrides the nearest-to-request
choice), ``image_size`` (1K/2K for models that take it), ``price_in`` / ``price_out`` (USD per
1M tokens), ``concurrency``, ``rate``, ``max_retries``, ``timeout``.
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

from genlens.backends._calls import CallLayer, CallPolicy, TransientError, log
from genlens.backends._media import fit_input, mime_of, nearest_aspect
from genlens.backends.base import Backend, BackendInfo, Session, register_backend
from genlens.errors import Refused, SpecError
from genlens.imageio import sniff_format
from genlens.types import GeneratedImage, GenerationRequest

#: USD per 1M tokens (input, output) — Google list prices when written; override with price_in/price_out.
TOKEN_PRICES: dict[str, tuple[float, float]] = {
    "gemini-2.5-flash-image": (0.30, 30.00),
    "gemini-2.5-flash-image-preview": (0.30, 30.00),
}
#: USD per image for Imagen models — list prices when written.
IMAGEN_PRICES: dict[str, float] = {
    "imagen-4.0-generate-001": 0.04, "imagen-4.0-ultra-generate-001": 0.06,
    "imagen-4.0-fast-generate-001": 0.02, "imagen-3.0-generate-002": 0.03,
}
GEMINI_ASPECTS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
IMAGEN_ASPECTS = ("1:1", "3:4", "4:3", "9:16", "16:9")
#: Inline data must keep the whole request under 20 MB; base64 adds a third.
MAX_INLINE_BYTES = 14 * 2**20
REFUSAL_FINISH = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY",
                  "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}


def _name(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


@register_backend
class GeminiBackend(Backend):
    secret_env: ClassVar[str] = "GEMINI_API_KEY"
    runs_in_driver: ClassVar[bool] = True
    info: ClassVar[BackendInfo] = BackendInfo(
        scheme="gemini",
        syntax="gemini:<model>",
        description="Gemini image models (generate, edit, sessions with kept history) and imagen-* models, via google-genai",
        tasks=("generate", "edit", "multiturn"),
        requires="env GEMINI_API_KEY or GOOGLE_API_KEY; extra: api",
    )

    def __init__(self, target: str, params: dict[str, Any] | None = None):
        super().__init__(target, params)
        self.base_url = str(self.params.get("base_url") or "") or None
        if not (os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")) and self.base_url is None:
            raise SpecError("neither GEMINI_API_KEY nor GOOGLE_API_KEY is set",
                            fix="export GEMINI_API_KEY=… (`genlens doctor` shows whether it is set)")
        self.imagen = target.startswith("imagen")
        # google-genai 3.x serves generate_images only through Vertex AI (express mode takes an API key).
        self.vertex = self.imagen or bool(self.params.get("vertexai", False))
        self.calls = CallLayer(f"gemini:{target}", CallPolicy.from_params(self.params, concurrency=64))
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The google-genai client, made on first use (its own retries stay off: the layer retries)."""
        if self._client is None:
            from google import genai
            from google.genai import types

            key = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY") or "no-key-set"
            timeout_ms = int(self.calls.policy.timeout_s * 1000)
            if self.vertex:  # Vertex AI express mode: the same API key, Vertex paths
                options = types.HttpOptions(base_url=self.base_url, timeout=timeout_ms)
                self._client = genai.Client(vertexai=True, api_key=key, http_options=options)
            else:
                options = types.HttpOptions(base_url=self.base_url, api_version=str(self.params.get("api_version", "v1beta")),
                                            timeout=timeout_ms)
                self._client = genai.Client(api_key=key, http_options=options)
        return self._client

    async def aclose(self) -> None:
        if self.calls.stats.requests:
            log.info("%s: %s", self.calls.name, self.calls.stats.summary())
        if self._client is not None:
            try:
                await self._client.aio.aclose()
            except AttributeError:  # older SDKs have no async close
                pass
            self._client = None

    def _aspect(self, request: GenerationRequest, choices: tuple[str, ...]) -> tuple[str | None, dict[str, Any]]:
        if "aspect_ratio" in self.params:
            return str(self.params["aspect_ratio"]), {"aspect_ratio": str(self.params["aspect_ratio"])}
        if request.size is None:
            return None, {}
        aspect = nearest_aspect(request.size, choices)
        return aspect, {"aspect_ratio": aspect, "requested_size": list(request.size),
                        "size_rule": "the model takes an aspect ratio, not pixels: nearest of " + ", ".join(choices)}

    def _config(self, aspect: str | None) -> Any:
        from google.genai import types

        image_config: dict[str, Any] = {}
        if aspect:
            image_config["aspect_ratio"] = aspect
        if "image_size" in self.params:
            image_config["image_size"] = str(self.params["image_size"])
        return types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"],
                                           image_config=types.ImageConfig(**image_config) if image_config else None)

    def _cost(self, usage: dict[str, Any]) -> float | None:
        prices = TOKEN_PRICES.get(self.target)
        if "price_in" in self.params or "price_out" in self.params:
            base = prices or (0.0, 0.0)
            prices = (float(self.params.get("price_in", base[0])), float(self.params.get("price_out", base[1])))
        if prices is None or not usage:
            return None
        return (usage.get("prompt_token_count", 0) * prices[0] + usage.get("candidates_token_count", 0) * prices[1]) / 1e6

    def _finish(self, result: GeneratedImage, info: Any, meta: dict[str, Any]) -> GeneratedImage:
        usage = result.meta.get("usage") or {}
        cost = self._cost(usage) if not self.imagen else IMAGEN_PRICES.get(self.target)
        self.calls.stats.add_usage(usage.get("prompt_token_count", 0), usage.get("candidates_token_count", 0), cost)
        result.meta.update(meta, cost_usd=cost, latency_s=round(info.latency_s, 4), attempts=info.attempts, model=self.target)
        return result

    def _parts(self, images: list[bytes], meta: dict[str, Any]) -> list[Any]:
        from google.genai import types

        parts = []
        for index, data in enumerate(images):
            fitted, rule = fit_input(data, max_bytes=MAX_INLINE_BYTES // max(1, len(images)))
            if rule:
                meta.setdefault("resized", {})[f"image{index}"] = rule
            parts.append(types.Part.from_bytes(data=fitted, mime_type=mime_of(fitted)))
        return parts

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        if self.imagen:
            return await self._imagen(request)
        aspect, meta = self._aspect(request, GEMINI_ASPECTS)
        config = self._config(aspect)

        async def once() -> GeneratedImage:
            return image_from_response(await parsed(self.client.aio.models.generate_content(
                model=self.target, contents=[request.prompt], config=config)))

        result, info = await self.calls.call_with_info(once)
        return self._finish(result, info, meta)

    async def edit(self, request: GenerationRequest) -> GeneratedImage:
        if self.imagen:
            raise SpecError(f"{self.spec} cannot edit through the Gemini API", fix="use a gemini-*-image model for edits")
        if not request.images:
            raise SpecError("an edit request needs an input image", fix="check the suite's input images")
        aspect, meta = self._aspect(request, GEMINI_ASPECTS)
        contents = [*self._parts(request.images, meta), request.prompt]
        if request.mask is not None:
            meta["mask_ignored"] = "the Gemini API takes no edit mask; the instruction alone was sent"
        config = self._config(aspect)

        async def once() -> GeneratedImage:
            return image_from_response(await parsed(self.client.aio.models.generate_content(
                model=self.target, contents=contents, config=config)))

        result, info = await self.calls.call_with_info(once)
        return self._finish(result, info, meta)

    async def _imagen(self, request: GenerationRequest) -> GeneratedImage:
        from google.genai import types

        aspect, meta = self._aspect(request, IMAGEN_ASPECTS)
        config = types.GenerateImagesConfig(number_of_images=1, aspect_ratio=aspect, include_rai_reason=True)

        async def once() -> GeneratedImage:
            response = await parsed(self.client.aio.models.generate_images(
                model=self.target, prompt=request.prompt, config=config))
            generated = list(response.generated_images or [])
            if not generated:
                raise Refused("Imagen returned no image (filtered)")
            first = generated[0]
            if first.image is None or not first.image.image_bytes:
                raise Refused(str(first.rai_filtered_reason or "Imagen returned no image (filtered)"))
            data = first.image.image_bytes
            if sniff_format(data) == "bin":
                raise TransientError("the response's image is not a recognised image format")
            return GeneratedImage(data, sniff_format(data), {})

        result, info = await self.calls.call_with_info(once)
        return self._finish(result, info, meta)

    def session(self, request: GenerationRequest) -> Session:
        if self.imagen:
            raise SpecError(f"{self.spec} has no multi-round mode", fix="use a gemini-*-image model")
        return ChatSession(self, request)


async def parsed(call: Any) -> Any:
    """Await an SDK call; a response that fails the SDK's own parsing (e.g. bad base64) is transient."""
    from pydantic import ValidationError

    try:
        return await call
    except ValidationError as exc:
        if str(exc.title).endswith("Response"):
            raise TransientError(f"unreadable {exc.title}: {exc.errors()[0].get('msg', '')}") from None
        raise


def image_from_response(response: Any) -> GeneratedImage:
    """The (last) image of a generate_content answer; blocks and safety stops become Refused."""
    feedback = getattr(response, "prompt_feedback", None)
    if feedback is not None and getattr(feedback, "block_reason", None):
        message = getattr(feedback, "block_reason_message", None) or ""
        raise Refused(f"blocked: {_name(feedback.block_reason)} {message}".strip())
    candidates = list(response.candidates or [])
    if not candidates:
        raise TransientError("the response had no candidates")
    candidate = candidates[0]
    finish = _name(getattr(candidate, "finish_reason", None))
    parts = list(getattr(candidate.content, "parts", None) or []) if candidate.content else []
    images = [p.inline_data for p in parts if getattr(p, "inline_data", None) is not None and p.inline_data.data]
    if not images:
        if finish in REFUSAL_FINISH:
            raise Refused(f"stopped: {finish} {getattr(candidate, 'finish_message', None) or ''}".strip())
        text = " ".join(p.text for p in parts if getattr(p, "text", None))
        raise Refused(f"no image returned ({finish or 'no finish reason'}): {text[:300]}".strip())
    data = images[-1].data
    if sniff_format(data) == "bin":
        raise TransientError("the response's image is not a recognised image format")
    usage = response.usage_metadata.model_dump(exclude_none=True) if getattr(response, "usage_metadata", None) else {}
    meta: dict[str, Any] = {"usage": usage, "finish_reason": finish}
    if getattr(response, "model_version", None):
        meta["model_version"] = response.model_version
    texts = [p.text for p in parts if getattr(p, "text", None)]
    if texts:
        meta["text"] = " ".join(texts)[:500]
    return GeneratedImage(data, sniff_format(data), meta)


class ChatSession(Session):
    """Multi-round editing as one Gemini conversation: every round sends the kept history.

    The history is kept here (as ``chats`` does) so a retried round is sent once, never twice:
    a turn joins the history only after its answer was usable.
    """

    def __init__(self, backend: GeminiBackend, request: GenerationRequest):
        self.backend = backend
        aspect, self.meta = backend._aspect(request, GEMINI_ASPECTS)
        self.config = backend._config(aspect)
        self.history: list[Any] = []

    async def send(self, instruction: str, image: bytes | None = None) -> GeneratedImage:
        from google.genai import types

        meta = dict(self.meta)
        parts = [*(self.backend._parts([image], meta) if image is not None else []), types.Part.from_text(text=instruction)]
        turn = types.Content(role="user", parts=parts)
        started = time.perf_counter()

        async def once() -> tuple[Any, GeneratedImage]:
            response = await parsed(self.backend.client.aio.models.generate_content(
                model=self.backend.target, contents=[*self.history, turn], config=self.config))
            return response, image_from_response(response)

        (response, result), info = await self.backend.calls.call_with_info(once)
        self.history += [turn, response.candidates[0].content]
        meta["total_s"] = round(time.perf_counter() - started, 4)
        meta["history_turns"] = len(self.history) // 2
        return self.backend._finish(result, info, meta)
