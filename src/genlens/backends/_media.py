"""Image bytes helpers shared by the API backends: base64, sizes, recorded resize rules."""

from __future__ import annotations

import base64
import binascii
import io
import math
from collections.abc import Sequence
from typing import Any

from PIL import Image

from genlens.backends._calls import TransientError
from genlens.imageio import sniff_format

MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif", "bmp": "image/bmp"}


def decode_b64_image(text: str | None, *, what: str = "image") -> bytes:
    """Provider base64 to image bytes; unusable payloads are transient (the call is retried)."""
    if not text:
        raise TransientError(f"the response carried no {what} data")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TransientError(f"the response carried invalid base64 for the {what} ({exc})") from None
    if sniff_format(data) == "bin":
        raise TransientError(f"the response's {what} is not a recognised image format")
    return data


def mime_of(data: bytes) -> str:
    return MIME.get(sniff_format(data), "application/octet-stream")


def image_dims(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def fit_input(data: bytes, *, max_side: int | None = None, max_bytes: int | None = None) -> tuple[bytes, dict[str, Any] | None]:
    """Input image bytes within a provider's limits, unchanged when they already fit.

    Rule (recorded in the returned dict, which callers put in ``meta["resized"]``): scale
    uniformly so the longest side is at most ``max_side`` (Lanczos), then, while the PNG is
    larger than ``max_bytes``, scale by a further 0.75. Never applied silently.
    """
    width, height = image_dims(data)
    too_big_side = max_side is not None and max(width, height) > max_side
    too_big_bytes = max_bytes is not None and len(data) > max_bytes
    if not (too_big_side or too_big_bytes):
        return data, None
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGBA" if "A" in opened.getbands() else "RGB")
    scale = min(1.0, max_side / max(width, height)) if max_side else 1.0
    while True:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        buffer = io.BytesIO()
        image.resize(size, Image.Resampling.LANCZOS).save(buffer, format="PNG")
        out = buffer.getvalue()
        if max_bytes is None or len(out) <= max_bytes or min(size) <= 16:
            break
        scale *= 0.75
    rule = {"from": [width, height], "to": list(size), "from_bytes": len(data), "to_bytes": len(out),
            "rule": f"uniform Lanczos downscale to longest side <= {max_side} px"
                    + (f", then x0.75 steps until PNG <= {max_bytes} bytes" if max_bytes else "")}
    return out, rule


def nearest_size(requested: tuple[int, int], supported: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The supported size closest in aspect ratio (|ln ratio|), then in area."""
    req_w, req_h = requested

    def distance(size: tuple[int, int]) -> tuple[float, float]:
        width, height = size
        return abs(math.log((width / height) / (req_w / req_h))), abs(math.log((width * height) / (req_w * req_h)))

    return min(supported, key=distance)


def nearest_aspect(requested: tuple[int, int], ratios: Sequence[str]) -> str:
    """The aspect-ratio label ("16:9") closest to the requested size."""
    req_w, req_h = requested

    def distance(label: str) -> float:
        width, _, height = label.partition(":")
        return abs(math.log((float(width) / float(height)) / (req_w / req_h)))

    return min(ratios, key=distance)


def parse_size_arg(value: Any) -> tuple[int, int] | None:
    """``--model-arg size=1024x768`` (or an int for a square) to (width, height)."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value, value
    text = str(value).lower().strip()
    if text == "auto":
        return None
    width, sep, height = text.partition("x")
    if not sep:
        return int(width), int(width)
    return int(width), int(height)
