"""OpenAI-compatible chat completions (and Gemini generateContent) on a :class:`FakeServer`, with scripted answers.

``FakeChat(server, answer=fn)`` adds ``POST /v1/chat/completions`` and
``POST /v1[beta]/models/<model>:generateContent``. Each request takes the next scripted
:class:`ChatAnswer` if any is queued, else ``answer(request_text)``. A ``ChatAnswer`` is a
well-formed or malformed text, or a refusal (``refusal=`` text, or ``content_filter=True``);
HTTP 429/500 come from the server's faults (``server.add_fault(Fault(status=429, ...))``).
``reported_model`` maps a requested model to the exact version the reply claims, like the real API.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genlens.testing.http import FakeServer, Request, Response


@dataclass
class ChatAnswer:
    """One scripted reply: ``text``, or a refusal (``refusal`` text / ``content_filter``)."""

    text: str = ""
    refusal: str | None = None
    content_filter: bool = False


def request_text(messages: list[dict[str, Any]]) -> str:
    """All text parts of a chat request, joined (what a scripted answer function looks at)."""
    parts = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "\n".join(parts)


def count_images(messages: list[dict[str, Any]]) -> int:
    return sum(
        1 for m in messages if isinstance(m.get("content"), list)
        for p in m["content"] if isinstance(p, dict) and p.get("type") == "image_url"
    )


class FakeChat:
    """Scripted chat judge server state: queued answers, a default answer function, the requests seen."""

    def __init__(
        self, server: FakeServer, answer: Callable[[str], str | ChatAnswer] | None = None,
        reported_model: dict[str, str] | None = None, by_model: dict[str, Callable[[str], str | ChatAnswer]] | None = None,
    ):
        self.server = server
        self.answer = answer or (lambda _text: "Consistency: 1\nRealism: 1\nAesthetic Quality: 1")
        self.by_model = dict(by_model or {})  # requested model -> its own answer function
        self.reported_model = dict(reported_model or {})
        self.queue: list[ChatAnswer] = []
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server.route("POST", r"/v1/chat/completions", self._openai)
        server.route("POST", r"/v1(?:beta|alpha)?/models/(?P<model>[^/:]+):generateContent", self._gemini)

    def script(self, *answers: str | ChatAnswer) -> None:
        """Queue answers for the next requests, in order."""
        with self._lock:
            self.queue.extend(a if isinstance(a, ChatAnswer) else ChatAnswer(text=a) for a in answers)

    def _next(self, text: str, model: str = "") -> ChatAnswer:
        with self._lock:
            if self.queue:
                return self.queue.pop(0)
        answer = self.by_model.get(model, self.answer)(text)
        return answer if isinstance(answer, ChatAnswer) else ChatAnswer(text=answer)

    def _openai(self, request: Request) -> Response:
        body = request.json()
        with self._lock:
            self.requests.append(body)
        messages = body.get("messages") or []
        answer = self._next(request_text(messages), body.get("model", ""))
        model = self.reported_model.get(body.get("model", ""), body.get("model", ""))
        message: dict[str, Any] = {"role": "assistant", "content": answer.text or None, "refusal": answer.refusal}
        finish = "content_filter" if answer.content_filter else "stop"
        prompt_tokens = 100 + 85 * count_images(messages)
        completion_tokens = max(1, len(answer.text.split()))
        return Response.json({
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })

    def _gemini(self, request: Request) -> Response:
        body = request.json()
        with self._lock:
            self.requests.append(body)
        texts = [p.get("text", "") for c in body.get("contents") or [] for p in c.get("parts") or [] if "text" in p]
        images = sum(1 for c in body.get("contents") or [] for p in c.get("parts") or [] if "inlineData" in p)
        model = request.match.group("model") if request.match else ""
        answer = self._next("\n".join(texts), model)
        model = self.reported_model.get(model, model)
        usage = {"promptTokenCount": 100 + 258 * images, "candidatesTokenCount": max(1, len(answer.text.split()))}
        if answer.refusal is not None:
            return Response.json({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage, "modelVersion": model})
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": answer.text}]}, "finishReason": "STOP"}
        if answer.content_filter:
            candidate = {"finishReason": "SAFETY"}
        return Response.json({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model})
