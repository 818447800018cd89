"""The normalisation rule: crop size, JPEG-quality matching, and its statement in words."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from genlens.forensics.normalise import ImageInfo, centre_crop, choose_rule
from genlens.forensics.sources import image_info


def png(w, h):
    return ImageInfo(w, h, "png")


def jpg(w, h, q):
    return ImageInfo(w, h, "jpeg", q)


def test_crop_is_the_smallest_shorter_side_capped_and_a_multiple_of_8():
    assert choose_rule([png(1000, 700)], [png(1024, 1024)]).crop == 512  # capped
    assert choose_rule([png(300, 203)], [png(1024, 1024)]).crop == 200  # 203 -> multiple of 8
    assert choose_rule([png(300, 203)], [png(1024, 1024)], max_crop=128).crop == 128


def test_format_rule_cases():
    assert choose_rule([png(64, 64)], [png(64, 64)]).jpeg_quality is None  # both lossless
    assert choose_rule([jpg(64, 64, 90)], [jpg(64, 64, 90)]).jpeg_quality is None  # one shared JPEG quality
    assert choose_rule([jpg(64, 64, 90), jpg(64, 64, 75)], [png(64, 64)]).jpeg_quality == 75  # lowest source quality
    assert choose_rule([jpg(64, 64, 98)], [png(64, 64)]).jpeg_quality == 95  # capped at 95
    assert choose_rule([jpg(64, 64, 90)], [jpg(64, 64, 80)]).jpeg_quality == 80  # JPEG both sides, qualities differ
    assert choose_rule([png(64, 64)], [png(64, 64)], format_rule="jpeg").jpeg_quality == 95
    assert choose_rule([jpg(64, 64, 60)], [png(64, 64)], format_rule="none").jpeg_quality is None


def test_rule_in_words_names_crop_and_quality():
    text = choose_rule([jpg(640, 480, 80)], [png(1024, 1024)]).describe()
    assert "480x480" in text and "JPEG quality 80" in text and "real images are jpeg, generated are lossless" in text


# q5 and q100 broke the old sum-of-table estimate: libjpeg clamps entries to 1..255 (q <= 19 hits the
# 255 ceiling) and q100 is all ones, so the sum no longer scales with quality; the nearest-table
# match over all 100 libjpeg tables is exact for every quality.
@pytest.mark.parametrize("quality", [1, 5, 19, 30, 50, 75, 90, 95, 99, 100])
def test_jpeg_quality_is_read_back_from_the_file(tmp_path, quality):
    path = tmp_path / "x.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path, quality=quality)
    assert image_info(path) == ImageInfo(32, 32, "jpeg", quality)


def test_apply_crops_the_centre_and_reencodes(tmp_path):
    arr = np.zeros((40, 60, 3), dtype=np.uint8)
    arr[:, 30:] = 255
    image = Image.fromarray(arr)
    cropped = centre_crop(image, 16)
    assert cropped.size == (16, 16)
    assert np.asarray(cropped)[0, 0, 0] == 0 and np.asarray(cropped)[0, -1, 0] == 255  # centred on the edge at x=30
    rule = choose_rule([jpg(60, 40, 75)], [png(60, 40)])
    out = rule.apply(image.convert("RGBA"))
    assert out.size == (40, 40) and out.mode == "RGB" and out.format == "JPEG"
    buffer = io.BytesIO()
    out.save(buffer, format="PNG")


def test_lossy_webp_counts_as_lossy_and_is_reencoded(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 255, (32, 32, 4), dtype=np.uint8)
    Image.fromarray(pixels[..., :3]).save(tmp_path / "lossy.webp", "WEBP", quality=90)  # RIFF .. "VP8 "
    Image.fromarray(pixels).save(tmp_path / "alpha.webp", "WEBP", quality=90)  # "VP8X", "ALPH", then "VP8 "
    Image.fromarray(pixels[..., :3]).save(tmp_path / "lossless.webp", "WEBP", lossless=True)  # "VP8L"
    assert image_info(tmp_path / "lossy.webp") == ImageInfo(32, 32, "webp-lossy")
    assert image_info(tmp_path / "alpha.webp") == ImageInfo(32, 32, "webp-lossy")
    assert image_info(tmp_path / "lossless.webp") == ImageInfo(32, 32, "webp")
    lossy, lossless = image_info(tmp_path / "lossy.webp"), image_info(tmp_path / "lossless.webp")
    # lossy WebP vs PNG: one JPEG re-encode at the cap (a WebP's quality cannot be read), as for JPEG
    rule = choose_rule([lossy], [png(32, 32)])
    assert rule.jpeg_quality == 95 and "webp-lossy" in rule.reason
    assert choose_rule([lossy], [jpg(32, 32, 80)]).jpeg_quality == 80  # the lowest JPEG quality still wins
    assert choose_rule([lossy], [lossy]).jpeg_quality == 95  # unknown WebP qualities may differ: re-encode both
    assert choose_rule([lossless], [png(32, 32)]).jpeg_quality is None  # lossless WebP is lossless
