"""``openai:<model>`` — the OpenAI Images API (and any OpenAI-compatible image server).

Text-to-image through ``images.generate``, instruction edits through ``images.edit`` (optional
mask), multi-round editing through the Responses API with the ``image_generation`` tool and
``previous_response_id``. Every request goes through the shared call layer (concurrency, rate,
timeout, retries, refusals). The key comes only from ``OPENAI_API_KEY``; ``base_url`` from
``--model-arg base_url=…`` or ``OPENAI_BASE_URL``.

Model args: ``size`` (WxH, overrides the item's), ``quality``, ``background``, ``output_format``,
``output_compression``, ``moderation``, ``input_fidelity``, ``partial_images`` (N>0 streams and
keeps the partial frames as the image's trace), ``responses_model`` (the Responses API model for
sessions, default gpt-4o), ``price_in`` / ``price_out`` (USD per 1M tokens), ``concurrency``,
``rate``, ``max_retries``, ``timeout``.
"""

from __future__ import annotations

import base64
import os
import time
from typing import Any, ClassVar

from genlens.backends._calls import CallLayer, CallPolicy, TransientError, log
from genlens.backends._media import decode_b64_image, fit_input, mime_of, nearest_size, parse_size_arg
from genlens.backends.base import Backend, BackendInfo, Session, register_backend
from genlens.errors import Refused, SpecError
from genlens.imageio import sniff_format
from genlens.types import GeneratedImage, GenerationRequest

#: USD per 1M tokens (text in, image in, image out) — OpenAI list prices when written; override
#: with --model-arg price_in=… price_out=… (price_in then applies to text and image input alike).
TOKEN_PRICES: dict[str, tuple[float, float, float]] = {
    "gpt-image-1": (5.00, 10.00, 40.00),
    "gpt-image-1-mini": (2.00, 2.50, 8.00),
}
#: USD per image for the DALL·E models (quality, size) — list prices when written.
IMAGE_PRICES: dict[str, dict[tuple[str, str], float]] = {
    "dall-e-3": {("standard", "1024x1024"): 0.040, ("standard", "1024x1792"): 0.080, ("standard", "1792x1024"): 0.080,
                 ("hd", "1024x1024"): 0.080, ("hd", "1024x1792"): 0.120, ("hd", "1792x1024"): 0.120},
    "dall-e-2": {("standard", "256x256"): 0.016, ("standard", "512x512"): 0.018, ("standard", "1024x1024"): 0.020},
}
SIZES: dict[str, tuple[tuple[int, int], ...]] = {
    "gpt-image": ((1024, 1024), (1536, 1024), (1024, 1536)),
    "dall-e-3": ((1024, 1024), (1792, 1024), (1024, 1792)),
    "dall-e-2": ((256, 256), (512, 512), (1024, 1024)),
}
#: Input limits for edits: (longest side px, bytes). gpt-image: 50 MB; dall-e-2: 4 MB square PNG.
INPUT_LIMITS = {"gpt-image": (4096, 50 * 2**20), "dall-e-2": (1024, 4 * 2**20)}
PASSTHROUGH = ("quality", "background", "output_format", "output_compression", "moderation", "input_fidelity", "style")


def _family(model: str) -> str:
    return "gpt-image" if model.startswith("gpt-image") else model


def token_cost(model: str, usage: dict[str, Any] | None, params: dict[str, Any]) -> float | None:
    """USD for one call from its token usage: text/image input and output at per-1M prices."""
    if not usage:
        return None
    prices = TOKEN_PRICES.get(model)
    if "price_in" in params or "price_out" in params:
        base = prices or (0.0, 0.0, 0.0)
        price_in = float(params.get("price_in", base[0]))
        prices = (price_in, float(params.get("price_in", base[1])), float(params.get("price_out", base[2])))
    if prices is None:
        return None
    details = usage.get("input_tokens_details") or {}
    text_in = details.get("text_tokens", usage.get("input_tokens", 0) - details.get("image_tokens", 0))
    image_in = details.get("image_tokens", 0)
    out = usage.get("output_tokens", 0)
    return (text_in * prices[0] + image_in * prices[1] + out * prices[2]) / 1e6


def _dump(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else dict(value)


@register_backend
class OpenAIBackend(Backend):
    secret_env: ClassVar[str] = "OPENAI_API_KEY"
    runs_in_driver: ClassVar[bool] = True
    info: ClassVar[BackendInfo] = BackendInfo(
        scheme="openai",
        syntax="openai:<model>",
        description="OpenAI Images API (gpt-image-1, dall-e-3 …; base_url=… for compatible servers): generate, edit, streamed partials; sessions via the Responses API",
        tasks=("generate", "edit", "multiturn"),
        requires="env OPENAI_API_KEY; extra: api",
    )

    def __init__(self, target: str, params: dict[str, Any] | None = None):
        super().__init__(target, params)
        if int(self.params.get("n", 1)) != 1:
            raise SpecError("--model-arg n must be 1 (each sample is its own request)", fix="use --samples N instead")
        self.base_url = str(self.params.get("base_url") or os.environ.get("OPENAI_BASE_URL") or "") or None
        if not os.environ.get("OPENAI_API_KEY") and self.base_url is None:
            raise SpecError("OPENAI_API_KEY is not set", fix="export OPENAI_API_KEY=… (`genlens doctor` shows whether it is set)")
        self.family = _family(target)
        self.partial_images = int(self.params.get("partial_images", 0))
        self.calls = CallLayer(f"openai:{target}", CallPolicy.from_params(self.params, concurrency=64))
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The AsyncOpenAI client, made on first use (SDK retries off: the call layer retries)."""
        if self._client is None:
            from openai import AsyncOpenAI

            # A compatible server without auth still needs a non-empty key for the SDK.
            key = os.environ.get("OPENAI_API_KEY") or "no-key-set"
            self._client = AsyncOpenAI(api_key=key, base_url=self.base_url, max_retries=0,
                                       timeout=self.calls.policy.timeout_s)
        return self._client

    async def aclose(self) -> None:
        if self.calls.stats.requests:
            log.info("%s: %s", self.calls.name, self.calls.stats.summary())
        if self._client is not None:
            await self._client.close()
            self._client = None

    # -- request building ------------------------------------------------------------------
    def _size(self, request: GenerationRequest) -> tuple[str | None, dict[str, Any]]:
        """The size string to send, and meta recording any mapping from the requested size."""
        forced = parse_size_arg(self.params.get("size"))
        if "size" in self.params and forced is None:
            return str(self.params["size"]), {}
        wanted = forced or request.size
        if wanted is None:
            return None, {}
        supported = SIZES.get(self.family)
        sent = wanted if supported is None or wanted in supported else nearest_size(wanted, supported)
        meta: dict[str, Any] = {"sent_size": f"{sent[0]}x{sent[1]}"}
        if sent != wanted:
            meta["requested_size"] = list(wanted)
            meta["size_rule"] = f"{self.target} accepts only {', '.join(f'{w}x{h}' for w, h in supported or ())}: nearest aspect ratio"
        return f"{sent[0]}x{sent[1]}", meta

    def _options(self, size: str | None) -> dict[str, Any]:
        options: dict[str, Any] = {"model": self.target}
        if size:
            options["size"] = size
        for name in PASSTHROUGH:
            if name in self.params:
                options[name] = self.params[name]
        if self.family in ("dall-e-3", "dall-e-2") or self.family not in SIZES:
            options.setdefault("response_format", "b64_json")  # gpt-image always returns base64 and rejects this
        if self.partial_images > 0:
            options.update(stream=True, partial_images=self.partial_images)
        return options

    def _cost(self, usage: dict[str, Any] | None, size: str | None) -> float | None:
        cost = token_cost(self.target, usage, self.params)
        if cost is None and self.target in IMAGE_PRICES:
            quality = str(self.params.get("quality", "standard"))
            cost = IMAGE_PRICES[self.target].get((quality, size or "1024x1024"))
        return cost

    # -- calls --------------------------------------------------------------------------------
    async def _once(self, kind: str, options: dict[str, Any], files: dict[str, Any]) -> GeneratedImage:
        """One HTTP request (and, streaming, its events) turned into a GeneratedImage."""
        images = self.client.images
        call = images.generate if kind == "generate" else images.edit
        response = await call(**options, **files)
        if options.get("stream"):
            return await self._collect_stream(response)
        data = (response.data or [None])[0]
        if data is None:
            raise TransientError("the response carried no image")
        if not data.b64_json and getattr(data, "url", None):
            raise SpecError("the server returned an image URL, not base64", fix="use a server that honours response_format=b64_json")
        payload = decode_b64_image(data.b64_json)
        meta: dict[str, Any] = {"usage": _dump(response.usage)}
        if getattr(data, "revised_prompt", None):
            meta["revised_prompt"] = data.revised_prompt
        return GeneratedImage(payload, sniff_format(payload), meta)

    async def _collect_stream(self, stream: Any) -> GeneratedImage:
        """Partial frames in ``partial_image_index`` order, then the completed image."""
        partials: list[tuple[int, bytes]] = []
        final: GeneratedImage | None = None
        try:
            async for event in stream:
                kind = getattr(event, "type", "")
                if kind.endswith(".partial_image"):
                    partials.append((event.partial_image_index, decode_b64_image(event.b64_json, what="partial image")))
                elif kind.endswith(".completed"):
                    payload = decode_b64_image(event.b64_json)
                    final = GeneratedImage(payload, sniff_format(payload), {"usage": _dump(getattr(event, "usage", None))})
        finally:
            await stream.close()  # also when a bad frame or a timeout ends the read early
        if final is None:
            raise TransientError("the stream ended before the completed image")
        final.trace = [frame for _index, frame in sorted(partials, key=lambda pair: pair[0])]
        final.meta["partial_images"] = len(final.trace)
        return final

    async def _run(self, kind: str, request: GenerationRequest, files: dict[str, Any], extra_meta: dict[str, Any]) -> GeneratedImage:
        size, size_meta = self._size(request)
        options = {**self._options(size), "prompt": request.prompt}
        result, info = await self.calls.call_with_info(lambda: self._once(kind, options, files))
        usage = result.meta.get("usage") or {}
        cost = self._cost(usage, size)
        self.calls.stats.add_usage(usage.get("input_tokens", 0), usage.get("output_tokens", 0), cost)
        result.meta.update(size_meta, **extra_meta, cost_usd=cost, latency_s=round(info.latency_s, 4),
                           attempts=info.attempts, model=self.target)
        return result

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        return await self._run("generate", request, {}, {})

    def _prepare_input(self, data: bytes, meta: dict[str, Any], key: str) -> tuple[str, bytes, str]:
        max_side, max_bytes = INPUT_LIMITS.get(self.family, (None, None))
        fitted, rule = fit_input(data, max_side=max_side, max_bytes=max_bytes)
        if rule:
            meta.setdefault("resized", {})[key] = rule
        ext = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(mime_of(fitted), "png")
        return f"{key}.{ext}", fitted, mime_of(fitted)

    async def edit(self, request: GenerationRequest) -> GeneratedImage:
        if not request.images:
            raise SpecError("an edit request needs an input image", fix="check the suite's input images")
        meta: dict[str, Any] = {}
        images = [self._prepare_input(data, meta, f"image{i}" if i else "image") for i, data in enumerate(request.images)]
        files: dict[str, Any] = {"image": images[0] if len(images) == 1 else images}
        if request.mask is not None:
            files["mask"] = self._prepare_input(request.mask, meta, "mask")
        return await self._run("edit", request, files, meta)

    def session(self, request: GenerationRequest) -> Session:
        return ResponsesSession(self, request)


def _data_url(data: bytes) -> str:
    return f"data:{mime_of(data)};base64,{base64.b64encode(data).decode()}"


class ResponsesSession(Session):
    """Multi-round editing in one Responses API conversation (``previous_response_id``)."""

    def __init__(self, backend: OpenAIBackend, request: GenerationRequest):
        self.backend = backend
        self.request = request
        self.previous_id: str | None = None

    def _tool(self) -> dict[str, Any]:
        tool: dict[str, Any] = {"type": "image_generation"}
        if self.backend.family == "gpt-image":
            tool["model"] = self.backend.target
        size, _meta = self.backend._size(self.request)
        if size and size in {f"{w}x{h}" for w, h in SIZES["gpt-image"]}:
            tool["size"] = size
        for name in ("quality", "background", "output_format", "moderation", "input_fidelity"):
            if name in self.backend.params:
                tool[name] = self.backend.params[name]
        return tool

    async def _once(self, content: list[dict[str, Any]]) -> tuple[Any, GeneratedImage]:
        response = await self.backend.client.responses.create(
            model=str(self.backend.params.get("responses_model", "gpt-4o")),
            input=[{"role": "user", "content": content}], tools=[self._tool()],
            tool_choice={"type": "image_generation"}, previous_response_id=self.previous_id,
        )
        calls = [item for item in response.output or [] if getattr(item, "type", "") == "image_generation_call"]
        if not calls:
            texts = [getattr(part, "refusal", None) or getattr(part, "text", "") for item in response.output or []
                     for part in getattr(item, "content", None) or []]
            raise Refused("no image returned: " + " ".join(t for t in texts if t)[:300])
        last = calls[-1]
        if last.status == "failed":
            error = getattr(last, "error", None)
            if error is not None and getattr(error, "code", None) in ("moderation_blocked", "content_policy_violation"):
                details = getattr(error, "moderation_details", None)
                stage = f" ({details.moderation_stage}: {', '.join(details.categories)})" if details else ""
                raise Refused(f"{error.message}{stage}")
            raise TransientError(f"image generation call failed: {getattr(error, 'message', 'no detail')}")
        payload = decode_b64_image(last.result)
        meta = {"usage": _dump(response.usage), "response_id": response.id}
        if getattr(last, "revised_prompt", None):
            meta["revised_prompt"] = last.revised_prompt
        return response, GeneratedImage(payload, sniff_format(payload), meta)

    async def send(self, instruction: str, image: bytes | None = None) -> GeneratedImage:
        content: list[dict[str, Any]] = [{"type": "input_text", "text": instruction}]
        meta: dict[str, Any] = {}
        if image is not None:
            max_side, max_bytes = INPUT_LIMITS["gpt-image"]
            fitted, rule = fit_input(image, max_side=max_side, max_bytes=max_bytes)
            if rule:
                meta["resized"] = {"image": rule}
            content.append({"type": "input_image", "image_url": _data_url(fitted)})
        started = time.perf_counter()
        (response, result), info = await self.backend.calls.call_with_info(lambda: self._once(content))
        self.previous_id = response.id
        usage = result.meta.get("usage") or {}
        cost = token_cost(str(self.backend.params.get("responses_model", "gpt-4o")), usage, self.backend.params)
        self.backend.calls.stats.add_usage(usage.get("input_tokens", 0), usage.get("output_tokens", 0), cost)
        result.meta.update(meta, cost_usd=cost, latency_s=round(info.latency_s, 4), attempts=info.attempts,
                           total_s=round(time.perf_counter() - started, 4), model=self.backend.target)
        return result
