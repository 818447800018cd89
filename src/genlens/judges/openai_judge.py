"""``openai:<model>`` — any OpenAI-compatible chat-completions endpoint that takes images.

GPT-4o and friends on api.openai.com, or a local vLLM / SGLang / Ollama server through
``base_url`` (judge argument, else ``OPENAI_BASE_URL``). The key comes only from
``OPENAI_API_KEY`` (a local server with none set gets a placeholder). Temperature 0 and a fixed
seed by default; every call goes through the shared call layer (concurrency, rate, retries
honouring Retry-After, refusals never retried).
"""

from __future__ import annotations

import base64
import os
from typing import Any

from genlens.args import Arg
from genlens.errors import SpecError
from genlens.imageio import sniff_format
from genlens.judges.base import API_JUDGE_ARGS, ApiJudge, JudgeReply, price_of
from genlens.redact import mask_url

#: USD per million (input, output) tokens, for the cost line; override with price_in / price_out.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o-2024-05-13": (5.0, 15.0),
    "gpt-4o-2024-08-06": (2.5, 10.0),
    "gpt-4o-2024-11-20": (2.5, 10.0),
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
}
MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
# Statuses that mean "fix your setup", not "try again": stop the run with one line.
SETUP_ERRORS = {401: "the API key was rejected", 403: "access was denied", 404: "the model or endpoint was not found"}


def image_url(data: bytes) -> str:
    """A data URL with the image's real type (PNG, JPEG, WebP …)."""
    mime = MIME.get(sniff_format(data), "image/png")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def chat_messages(system: str | None, text: str, images: list[bytes], detail: str | None = None) -> list[dict[str, Any]]:
    """System message (if any), then one user message: the text, then the images in order."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for data in images:
        part: dict[str, Any] = {"url": image_url(data)}
        if detail:
            part["detail"] = detail
        content.append({"type": "image_url", "image_url": part})
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": content})
    return messages


class OpenAIJudge(ApiJudge):
    scheme = "openai"
    base_url_env = "OPENAI_BASE_URL"
    args = (
        *API_JUDGE_ARGS,
        Arg("image_detail", "choice", None, "the image_url detail level", "high", choices=("low", "high", "auto")),
        Arg("enable_thinking", "bool", None, "Qwen3-style servers: the chat template's thinking mode", "false"),
    )

    def __init__(self, target: str, *, concurrency: int = 4, params: dict[str, Any] | None = None):
        super().__init__(target, concurrency=concurrency, params=params)
        self.detail = self.params.get("image_detail")
        # Qwen3-style servers (vLLM / SGLang): switch the chat template's thinking mode off or on.
        thinking = self.params.get("enable_thinking")
        self.enable_thinking = None if thinking is None else str(thinking).lower() in ("true", "1", "yes")

    def settings(self) -> dict[str, Any]:
        out = super().settings()
        if self.detail:
            out["image_detail"] = self.detail
        if self.enable_thinking is not None:
            out["enable_thinking"] = self.enable_thinking
        return out

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "endpoint": mask_url(self.base_url or "https://api.openai.com/v1")}

    def _new_client(self) -> Any:
        from openai import AsyncOpenAI

        key = os.environ.get("OPENAI_API_KEY")
        if not key and not self.base_url:
            raise SpecError(f"judge {self.spec} needs OPENAI_API_KEY",
                            fix="export OPENAI_API_KEY=… (or give base_url for a local OpenAI-compatible server)")
        return AsyncOpenAI(api_key=key or "not-needed", base_url=self.base_url, max_retries=0,
                           timeout=self.layer.policy.timeout_s)

    async def _close_client(self, client: Any) -> None:
        await client.close()

    def _request(self, system: str | None, text: str, images: list[bytes]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.target, "messages": chat_messages(system, text, images, self.detail),
                                "temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.seed is not None:
            body["seed"] = self.seed
        if self.enable_thinking is not None:
            body["chat_template_kwargs"] = {"enable_thinking": self.enable_thinking}
        return body

    @staticmethod
    async def _post(client: Any, body: dict[str, Any]) -> Any:
        """POST /chat/completions with the SDK's generic request method.

        The typed ``chat.completions.create`` walks every message part through the SDK's
        TypedDict transform (~7 ms of CPU per image request here), which caps concurrency on a
        busy CPU; the body we send is already in wire format, so the generic method sends it
        as is and still parses the reply into the SDK's ``ChatCompletion``.
        """
        from openai.types.chat import ChatCompletion

        return await client.post("/chat/completions", body=body, cast_to=ChatCompletion)

    async def ask(self, *, system: str | None, text: str, images: list[bytes]) -> JudgeReply:
        client = self._client()
        body = self._request(system, text, images)
        outcome = await self._call(lambda: self._post(client, body),
                                   status=lambda exc: getattr(exc, "status_code", None), setup_errors=SETUP_ERRORS,
                                 fix="check OPENAI_API_KEY, the model name and base_url")
        return outcome if isinstance(outcome, JudgeReply) else self._reply(*outcome)

    def _reply(self, response: Any, latency_s: float) -> JudgeReply:
        model = getattr(response, "model", None) or self.target
        self.version = model
        usage_obj = getattr(response, "usage", None)
        usage = {"prompt_tokens": int(getattr(usage_obj, "prompt_tokens", 0) or 0),
                 "completion_tokens": int(getattr(usage_obj, "completion_tokens", 0) or 0)}
        fingerprint = getattr(response, "system_fingerprint", None)
        if fingerprint:
            usage["system_fingerprint"] = fingerprint  # type: ignore[assignment]
        cost = price_of(model, usage, self.params, PRICES_PER_MTOK)
        self.layer.stats.add_usage(usage["prompt_tokens"], usage["completion_tokens"], cost)
        if not response.choices:
            return JudgeReply("", model, "error", usage, cost, latency_s, error="the reply had no choices")
        choice = response.choices[0]
        content = choice.message.content or ""
        refusal = getattr(choice.message, "refusal", None)
        if refusal or choice.finish_reason == "content_filter":
            self.layer.stats.refusals += 1
            return JudgeReply(content, model, "refused", usage, cost, latency_s,
                              error=refusal or "finish_reason=content_filter")
        return JudgeReply(content, model, "ok", usage, cost, latency_s)
