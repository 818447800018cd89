"""The slices of the OpenAI REST API genlens uses, served by :class:`genlens.testing.http.FakeServer`.

Routes: ``POST /v1/images/generations`` (JSON; ``stream: true`` answers with server-sent
``image_generation.partial_image`` / ``.completed`` events), ``POST /v1/images/edits``
(multipart, the same streaming events with the ``image_edit.`` prefix) and ``POST /v1/responses``
(the ``image_generation`` tool; ``previous_response_id`` continues a conversation, whose last
image the next round edits). Images are small PNG gradients of the requested size, seeded by
the prompt, so output is deterministic.

Content faults on top of the server's HTTP faults: a prompt containing :attr:`FakeOpenAI.refuse_word`
is refused (Images API: 400 ``moderation_blocked``; Responses API: a completed response whose
``image_generation_call`` failed with ``moderation_blocked``); :meth:`FakeOpenAI.corrupt_next`
makes the next responses carry invalid base64.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import io
import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from PIL import Image

from genlens.testing.http import Base64Faults, FakeServer, Request, Response

REFUSAL_MESSAGE = "Your request was rejected as a result of our safety system."


def draw_png(size: tuple[int, int], text: str, base: bytes | None = None) -> bytes:
    """A deterministic, non-blank PNG of ``size`` derived from ``text`` (and ``base``, for edits)."""
    width, height = size
    digest = hashlib.sha256(text.encode() + (base or b"")[:4096]).digest()
    y, x = np.mgrid[0:height, 0:width]
    arr = np.stack([(x * 255 // max(1, width - 1) + digest[0]) % 256,
                    (y * 255 // max(1, height - 1) + digest[1]) % 256,
                    ((x // 8 + y // 8) * 16 + digest[2]) % 256], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def parse_size(text: Any, default: tuple[int, int] = (1024, 1024)) -> tuple[int, int]:
    if not isinstance(text, str) or "x" not in text:
        return default
    width, _, height = text.partition("x")
    return int(width), int(height)


def parse_multipart(request: Request) -> tuple[dict[str, str], dict[str, list[bytes]]]:
    """Form fields and files of a multipart/form-data body (stdlib email parser)."""
    header = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + request.body)
    fields: dict[str, str] = {}
    files: dict[str, list[bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files.setdefault(str(name).removesuffix("[]"), []).append(payload)
        else:
            fields[str(name)] = payload.decode()
    return fields, files


def image_size_of(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


class FakeOpenAI(Base64Faults):
    """Install with ``FakeOpenAI().install(server)``; point the SDK at ``server.url + '/v1'``."""

    def __init__(self, refuse_word: str = "FORBIDDEN"):
        self.refuse_word = refuse_word
        self.responses: dict[str, bytes] = {}  # response id -> the last image of that response
        self._corrupt = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def install(self, server: FakeServer) -> FakeOpenAI:
        server.route("POST", r"/v1/images/generations", self.images_generations)
        server.route("POST", r"/v1/images/edits", self.images_edits)
        server.route("POST", r"/v1/responses", self.responses_create)
        return self

    def _refusal(self, prompt: str) -> Response | None:
        if self.refuse_word and self.refuse_word in prompt:
            return Response.json({"error": {"message": REFUSAL_MESSAGE, "type": "image_generation_user_error",
                                            "param": None, "code": "moderation_blocked"}}, 400)
        return None

    @staticmethod
    def _usage(prompt: str, size: tuple[int, int], input_images: int) -> dict[str, Any]:
        text_tokens = len(prompt.split())
        image_in = 65 * input_images
        output = size[0] * size[1] // 1024
        return {"input_tokens": text_tokens + image_in, "output_tokens": output,
                "total_tokens": text_tokens + image_in + output,
                "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_in}}

    def _answer(self, prefix: str, prompt: str, size: tuple[int, int], base: bytes | None, body: dict[str, Any]) -> Response:
        image = draw_png(size, prompt, base)
        usage = self._usage(prompt, size, 1 if base else 0)
        if not body.get("stream"):
            return Response.json({"created": int(time.time()), "data": [{"b64_json": self._b64(image), "revised_prompt": prompt}],
                                  "output_format": "png", "size": f"{size[0]}x{size[1]}", "usage": usage})
        partials = int(body.get("partial_images") or 0)

        def events() -> Iterator[bytes]:
            common = {"background": "opaque", "created_at": int(time.time()), "output_format": "png",
                      "quality": "medium", "size": f"{size[0]}x{size[1]}"}
            for index in range(partials):
                frame = draw_png((max(1, size[0] // 4), max(1, size[1] // 4)), f"{prompt}#partial{index}", base)
                event = {"type": f"{prefix}.partial_image", "partial_image_index": index, "b64_json": self._b64(frame), **common}
                yield f"event: {prefix}.partial_image\ndata: {json.dumps(event)}\n\n".encode()
            done = {"type": f"{prefix}.completed", "b64_json": self._b64(image), "usage": usage, **common}
            yield f"event: {prefix}.completed\ndata: {json.dumps(done)}\n\n".encode()

        return Response(200, headers={"Content-Type": "text/event-stream"}, stream=events)

    def images_generations(self, request: Request) -> Response:
        body = request.json()
        prompt = str(body.get("prompt", ""))
        refused = self._refusal(prompt)
        if refused:
            return refused
        return self._answer("image_generation", prompt, parse_size(body.get("size")), None, body)

    def images_edits(self, request: Request) -> Response:
        fields, files = parse_multipart(request)
        prompt = fields.get("prompt", "")
        refused = self._refusal(prompt)
        if refused:
            return refused
        images = files.get("image") or []
        if not images:
            return Response.json({"error": {"message": "image is required", "code": "invalid_value"}}, 400)
        size = parse_size(fields.get("size"), image_size_of(images[0]))
        body = {"stream": fields.get("stream") == "true", "partial_images": fields.get("partial_images")}
        response = self._answer("image_edit", prompt, size, images[0] + b"".join(files.get("mask") or []), body)
        return response

    def responses_create(self, request: Request) -> Response:
        body = request.json()
        text, image = _response_input(body.get("input"))
        if self.refuse_word and self.refuse_word in text:  # the tool call is blocked, the response itself completes
            return self._response(body, [{"type": "image_generation_call", "id": "ig_blocked", "status": "failed", "result": None,
                                          "error": {"code": "moderation_blocked", "message": REFUSAL_MESSAGE,
                                                    "type": "image_generation_user_error",
                                                    "moderation_details": {"categories": ["test"], "moderation_stage": "input"}}}],
                                  text, None)
        previous = body.get("previous_response_id")
        if previous:
            with self._lock:
                image = image or self.responses.get(previous)
            if image is None:
                return Response.json({"error": {"message": f"Previous response with id '{previous}' not found.",
                                                "type": "invalid_request_error", "code": "previous_response_not_found"}}, 400)
        tool = next((t for t in body.get("tools") or [] if t.get("type") == "image_generation"), {})
        size = parse_size(tool.get("size"), image_size_of(image) if image else (1024, 1024))
        result = draw_png(size, text, image)
        response_id = f"resp_{next(self._ids):06d}"
        with self._lock:
            self.responses[response_id] = result
        output = [
            {"type": "image_generation_call", "id": f"ig_{response_id}", "status": "completed",
             "result": self._b64(result), "revised_prompt": text, "output_format": "png", "size": f"{size[0]}x{size[1]}"},
            {"type": "message", "id": f"msg_{response_id}", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Here is the edited image.", "annotations": []}]},
        ]
        return self._response(body, output, text, image, response_id)

    def _response(self, body: dict[str, Any], output: list[dict[str, Any]], text: str, image: bytes | None,
                  response_id: str | None = None) -> Response:
        usage = {"input_tokens": len(text.split()) + (65 if image else 0), "output_tokens": 12, "total_tokens": 0,
                 "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        return Response.json({"id": response_id or f"resp_{next(self._ids):06d}", "object": "response",
                              "created_at": int(time.time()), "status": "completed",
                              "model": body.get("model"), "output": output, "usage": usage,
                              "previous_response_id": body.get("previous_response_id"), "tools": body.get("tools") or [],
                              "parallel_tool_calls": True, "tool_choice": body.get("tool_choice", "auto")})


def _response_input(value: Any) -> tuple[str, bytes | None]:
    """The text and the first input image (data URL) of a Responses API ``input``."""
    if isinstance(value, str):
        return value, None
    texts: list[str] = []
    image: bytes | None = None
    for message in value or []:
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
            continue
        for part in content or []:
            if part.get("type") == "input_text":
                texts.append(part.get("text", ""))
            elif part.get("type") == "input_image" and image is None:
                url = str(part.get("image_url", ""))
                image = base64.b64decode(url.partition(",")[2]) if url.startswith("data:") else None
    return " ".join(texts), image
