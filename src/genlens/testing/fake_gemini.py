"""The slices of the Gemini REST API genlens uses, served by :class:`genlens.testing.http.FakeServer`.

Routes (Gemini Developer API paths, and the Vertex AI express-mode paths
``/v1beta1/publishers/google/models/…`` that Imagen uses): ``POST …/models/{model}:generateContent`` (text and ``inlineData`` image parts in,
an image part out; the image edits the last image found in ``contents``, so a chat's kept
context is visible in the output) and ``POST …/models/{model}:predict`` (Imagen:
``instances[].prompt`` -> ``predictions[].bytesBase64Encoded``). A prompt containing
:attr:`FakeGemini.block_word` is blocked (``promptFeedback.blockReason = SAFETY``; Imagen answers
with a ``raiFilteredReason``); :meth:`FakeGemini.corrupt_next` sends invalid base64 next.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

from genlens.testing.fake_openai import draw_png, image_size_of
from genlens.testing.http import Base64Faults, FakeServer, Request, Response

ASPECTS = {"1:1": (1024, 1024), "3:4": (896, 1152), "4:3": (1152, 896), "9:16": (768, 1344), "16:9": (1344, 768),
           "2:3": (832, 1248), "3:2": (1248, 832), "4:5": (928, 1152), "5:4": (1152, 928), "21:9": (1536, 672)}
#: Gemini Developer API (/v1beta/models/…) and Vertex AI express mode (/v1beta1/publishers/google/models/…).
MODEL_PATH = r"/v1(?:beta1?)?/(?:publishers/google/)?models/(?P<model>[^/:]+)"
BLOCK_MESSAGE = "The prompt was blocked by the safety filter."


def b64decode_any(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not (the SDK sends URL-safe)."""
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


class FakeGemini(Base64Faults):
    """Install with ``FakeGemini().install(server)``; point google-genai at ``server.url``."""

    def __init__(self, block_word: str = "FORBIDDEN"):
        self.block_word = block_word
        self._corrupt = 0
        self._lock = threading.Lock()

    def install(self, server: FakeServer) -> FakeGemini:
        server.route("POST", MODEL_PATH + ":generateContent", self.generate_content)
        server.route("POST", MODEL_PATH + ":predict", self.predict)
        return self

    def generate_content(self, request: Request) -> Response:
        body = request.json()
        texts: list[str] = []
        last_image: bytes | None = None
        for content in body.get("contents") or []:
            for part in content.get("parts") or []:
                if "text" in part and content.get("role", "user") == "user":
                    texts.append(part["text"])
                inline = part.get("inlineData") or part.get("inline_data")
                if inline:
                    last_image = b64decode_any(inline["data"])
        prompt = texts[-1] if texts else ""
        usage = {"promptTokenCount": sum(len(t.split()) for t in texts) + (258 if last_image else 0),
                 "candidatesTokenCount": 1290, "totalTokenCount": 0}
        usage["totalTokenCount"] = usage["promptTokenCount"] + usage["candidatesTokenCount"]
        if self.block_word and self.block_word in prompt:
            return Response.json({"promptFeedback": {"blockReason": "SAFETY", "blockReasonMessage": BLOCK_MESSAGE},
                                  "usageMetadata": usage})
        image_config = (body.get("generationConfig") or {}).get("imageConfig") or {}
        aspect = image_config.get("aspectRatio")
        size = ASPECTS.get(aspect) if aspect else (image_size_of(last_image) if last_image else (1024, 1024))
        image = draw_png(size or (1024, 1024), " | ".join(texts), last_image)
        parts: list[dict[str, Any]] = [{"text": "Here you go."},
                                       {"inlineData": {"mimeType": "image/png", "data": self._b64(image)}}]
        return Response.json({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP",
                                              "index": 0}],
                              "usageMetadata": usage, "modelVersion": request.match["model"] if request.match else ""})

    def predict(self, request: Request) -> Response:
        body = request.json()
        prompt = str(((body.get("instances") or [{}])[0]).get("prompt", ""))
        params = body.get("parameters") or {}
        if self.block_word and self.block_word in prompt:
            return Response.json({"predictions": [{"raiFilteredReason": "Unable to show generated images. " + BLOCK_MESSAGE}]})
        size = ASPECTS.get(params.get("aspectRatio") or "1:1", (1024, 1024))
        count = int(params.get("sampleCount") or 1)
        predictions = [{"bytesBase64Encoded": self._b64(draw_png(size, f"{prompt}#{i}")), "mimeType": "image/png"}
                       for i in range(count)]
        return Response.json({"predictions": predictions})
