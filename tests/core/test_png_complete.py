"""The engine's completeness check of generated images agrees with Pillow's full decode.

``check_complete`` vouches for a plain PNG without unfiltering its rows and sends everything else to
Pillow; whatever the bytes, it must accept exactly what ``decode`` accepts. Every truncation and
hundreds of byte flips of PNGs of each colour type and bit depth are compared one by one."""

from __future__ import annotations

import io
import random
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from genlens.errors import InputError
from genlens.imageio import ImageTooLarge, _png_plainly_complete, check_complete, decode


def _png(mode: str, size: tuple[int, int] = (13, 7), **save: object) -> bytes:
    rng = np.random.default_rng(len(mode) + size[0])
    if mode in ("1", "L", "P"):
        pixels = rng.integers(0, 256 if mode != "1" else 2, size[::-1], dtype=np.uint8)
        image = Image.fromarray(pixels * (255 if mode == "1" else 1), "L").convert(mode)
        if mode == "P":
            image = Image.fromarray(pixels, "P")
            image.putpalette(list(rng.integers(0, 256, 768, dtype=np.uint8)))
    else:
        image = Image.fromarray(rng.integers(0, 256, (*size[::-1], len(mode)), dtype=np.uint8), mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save)
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)))


def _raw_png(width: int, height: int, depth: int, colour: int, rows: bytes, *, extra: bytes = b"", split: int = 0,
             interlace: int = 0) -> bytes:
    """A PNG written by hand (16-bit colour, palettes without PLTE, IDAT split in pieces, interlaced …)."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace))
    packed = zlib.compress(rows)
    pieces = [packed[i:i + split] for i in range(0, len(packed), split)] if split else [packed]
    return b"\x89PNG\r\n\x1a\n" + header + extra + b"".join(_chunk(b"IDAT", p) for p in pieces) + _chunk(b"IEND", b"")


def _pillow_accepts(data: bytes) -> bool:
    try:
        decode(data)
    except InputError:
        return False
    return True


def _ours_accepts(data: bytes) -> bool:
    try:
        check_complete(data)
    except InputError:
        return False
    return True


def _rows(width: int, height: int, row_bytes: int, seed: int, filter_type: int = 1) -> bytes:
    rng = random.Random(seed)
    return b"".join(bytes([filter_type]) + bytes(rng.randrange(256) for _ in range(row_bytes)) for _ in range(height))


SAMPLES = {
    "RGB level 1": _png("RGB", compress_level=1),
    "RGB level 9": _png("RGB", (40, 31), compress_level=9),
    "RGBA": _png("RGBA"),
    "LA": _png("LA"),
    "L": _png("L"),
    "1-bit": _png("1", (17, 5)),
    "palette": _png("P", (9, 9)),
    "16-bit grey by hand": _raw_png(6, 5, 16, 0, _rows(6, 5, 12, 7)),
    "16-bit RGB by hand": _raw_png(5, 4, 16, 2, _rows(5, 4, 30, 1)),
    "4-bit palette by hand": _raw_png(7, 3, 4, 3, _rows(7, 3, 4, 2), extra=_chunk(b"PLTE", bytes(48))),
    "IDAT in 16-byte pieces": _raw_png(8, 8, 8, 2, _rows(8, 8, 24, 3), split=16),
    "with text": _raw_png(6, 2, 8, 0, _rows(6, 2, 6, 4), extra=_chunk(b"tEXt", b"k\x00v")),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_plain_pngs_are_vouched_for_without_pillow_and_pillow_agrees(name):
    data = SAMPLES[name]
    assert _pillow_accepts(data)
    assert _png_plainly_complete(data), "a plain PNG should not need the full decode"
    check_complete(data)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_truncation_and_many_byte_flips_get_pillows_verdict(name):
    data = SAMPLES[name]
    cases = [data[:cut] for cut in range(len(data))]
    rng = random.Random(name)
    for _ in range(400):
        mutated = bytearray(data)
        position = rng.randrange(len(data))
        mutated[position] ^= 1 << rng.randrange(8)
        cases.append(bytes(mutated))
    disagreements = [(len(c), c != data) for c in cases if _ours_accepts(c) != _pillow_accepts(c)]
    assert disagreements == []


def test_what_it_cannot_vouch_for_goes_to_pillow():
    # interlaced, no PLTE for a palette image, a bad filter type, pixel data short by one row, IDAT split by
    # another chunk, an unknown chunk: never vouched for here, and Pillow's verdict stands either way
    interlaced = _raw_png(1, 1, 8, 2, b"\x00\xff\x00\x00", interlace=1)  # Adam7: one pixel, in the first pass
    rows = _rows(4, 3, 12, 5)
    bad_filter = _raw_png(4, 3, 8, 2, bytes([7]) + rows[1:])
    short = _raw_png(4, 3, 8, 2, rows[:-13])
    no_palette = _raw_png(4, 3, 8, 3, _rows(4, 3, 4, 6))
    unknown = _raw_png(4, 3, 8, 2, rows, extra=_chunk(b"zzZz", b"x"))
    for data in (interlaced, bad_filter, short, no_palette, unknown):
        assert not _png_plainly_complete(data)
        assert _ours_accepts(data) == _pillow_accepts(data)
    assert _pillow_accepts(interlaced) and _ours_accepts(interlaced)
    assert not _ours_accepts(bad_filter)
    assert _pillow_accepts(short)  # Pillow's leniency, kept: rows missing from a stream that ends cleanly


def test_over_the_pixel_cap_is_the_same_refusal_as_decode(monkeypatch):
    monkeypatch.setenv("GENLENS_MAX_IMAGE_PIXELS", "50")
    data = SAMPLES["RGB level 1"]  # 13 x 7 = 91 pixels
    with pytest.raises(ImageTooLarge):
        check_complete(data)


def test_a_stream_that_inflates_far_beyond_its_rows_is_not_inflated_here():
    """A 1x1 image whose IDAT inflates to 64 MB: left to Pillow (which reads only the rows it needs)."""
    bomb = _raw_png(1, 1, 8, 0, b"\x00" + bytes(64 * 2**20))
    assert len(bomb) < 100_000
    assert not _png_plainly_complete(bomb)
    assert _ours_accepts(bomb) == _pillow_accepts(bomb)


def test_an_ihdr_of_the_wrong_length_is_pillows_to_judge():
    good = SAMPLES["L"]
    body = good[16:29]
    short = good[:8] + _chunk(b"IHDR", body[:12]) + good[33:]
    assert not _png_plainly_complete(short)
    assert _ours_accepts(short) == _pillow_accepts(short)
