"""Size mapping and recorded resize rules shared by the API backends."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from genlens.backends._calls import TransientError
from genlens.backends._media import decode_b64_image, fit_input, image_dims, nearest_aspect, nearest_size, parse_size_arg


def noisy_png(size: tuple[int, int]) -> bytes:
    arr = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="PNG")
    return buffer.getvalue()


def test_nearest_size_by_aspect_then_area():
    gpt = [(1024, 1024), (1536, 1024), (1024, 1536)]
    # 1280x720: ln(1.778) = 0.575; |ln(1.5 / 1.778)| = 0.170 beats |ln(1 / 1.778)| = 0.575
    assert nearest_size((1280, 720), gpt) == (1536, 1024)
    assert nearest_size((768, 1024), gpt) == (1024, 1536)  # 0.75: |ln(0.667/0.75)| = 0.118 < |ln(1/0.75)| = 0.288
    assert nearest_size((512, 512), [(256, 256), (512, 512), (1024, 1024)]) == (512, 512)  # same aspect: nearest area


def test_nearest_aspect():
    ratios = ("1:1", "3:4", "4:3", "9:16", "16:9")
    assert nearest_aspect((1024, 768), ratios) == "4:3"
    assert nearest_aspect((720, 1280), ratios) == "9:16"
    assert nearest_aspect((1792, 1024), ratios) == "16:9"  # 1.75 vs 1.778 vs 1.333


def test_fit_input_unchanged_when_within_limits():
    data = noisy_png((40, 30))
    assert fit_input(data, max_side=64, max_bytes=10**6) == (data, None)


def test_fit_input_byte_limit_steps_down_and_records_the_rule():
    data = noisy_png((200, 100))  # random pixels: ~60 kB of PNG
    out, rule = fit_input(data, max_bytes=20_000)
    assert len(out) <= 20_000 and rule is not None
    width, height = image_dims(out)
    assert width == 2 * height  # uniform scaling keeps the aspect
    assert rule["from"] == [200, 100] and rule["to"] == [width, height] and rule["to_bytes"] == len(out)
    assert "0.75" in rule["rule"]


def test_decode_b64_image_errors_are_transient():
    with pytest.raises(TransientError, match="invalid base64"):
        decode_b64_image("iVBOR!!")
    with pytest.raises(TransientError, match="not a recognised image"):
        decode_b64_image("aGVsbG8=")  # "hello"
    with pytest.raises(TransientError, match="no image"):
        decode_b64_image(None)


def test_parse_size_arg():
    assert parse_size_arg("1024x768") == (1024, 768)
    assert parse_size_arg(512) == (512, 512)
    assert parse_size_arg("auto") is None and parse_size_arg(None) is None
