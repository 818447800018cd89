"""Test helpers for the text-rendering suites: images with known text drawn in them, fixture data."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont


def text_image(path: Path, lines: list[str], size: tuple[int, int] = (640, 360), font_size: int = 40) -> Path:
    """Black text lines on white, large enough for the bundled PP-OCR to read."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    for row, line in enumerate(lines):
        draw.text((20, 20 + row * int(font_size * 1.6)), line, fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


#: One prompt per (subset, region count): written for the tests in CVTG-2K's file layout (not upstream text).
CVTG_FIXTURE = {
    "2": ['A cafe front with a sign reading "OPEN DAILY" and a board saying "HOT COFFEE".'],
    "3": ['A bookshop window showing "NEW BOOKS", a poster with "SALE TODAY" and a tag "HALF PRICE".'],
    "4": ['A station with "PLATFORM 4", "EXIT", "TICKETS HERE" and "MIND THE GAP" on four signs.'],
    "5": ['A market stall with "FRESH", "FRUIT", "DAILY", "LOCAL" and "FARM" painted on crates.'],
}


def write_cvtg_fixture(root: Path) -> Path:
    """CVTG/{2..5}.json and CVTG-Style/{2..5}.json, one record each (index 0 and 1)."""
    for folder, index in (("CVTG", 0), ("CVTG-Style", 1)):
        for regions, prompts in CVTG_FIXTURE.items():
            records = [{"index": index, "prompt": p, "carrier_list": [], "sentence_list": []} for p in prompts]
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{regions}.json").write_text(json.dumps({"data_list": records}), encoding="utf-8")
    return root
