"""A tiny WISE-shaped data set written for the tests (not the real prompts), and scripted judge answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

from genlens.testing.fake_chat import ChatAnswer
from tests.conftest import write_png

# prompt_id -> category by the legacy ranges: 1-400 cultural, 401-567 time, 568-700 space,
# 701-800 biology, 801-900 physics, 901-1000 chemistry.
LEGACY_IDS = {
    "legacy/cultural_common_sense.json": [1, 2],
    "legacy/spatio-temporal_reasoning.json": [401, 568],
    "legacy/natural_science.json": [701, 801, 901, 902, 903],
}

# What the fake judge answers for each id, and the WiScore (0.7C + 0.2R + 0.1A) / 2 it must give.
ANSWERS: dict[int, str | ChatAnswer] = {
    1: "Consistency: 2\nRealism: 1\nAesthetic Quality: 1",                      # (1.4+0.2+0.1)/2 = 0.85
    2: "**Consistency**: 1\n**Realism**: 2\n**Aesthetic Quality**: 0",          # (0.7+0.4+0.0)/2 = 0.55
    401: '```json\n{"Consistency": 0, "Realism": 1, "Aesthetic Quality": 2}\n```',  # (0+0.2+0.2)/2 = 0.20
    568: "2\n2\n2",                                                              # (1.4+0.4+0.2)/2 = 1.00
    701: "Consistency: 1\nRealism: 1\nAesthetic Quality: 1",                    # (0.7+0.2+0.1)/2 = 0.50
    801: "Consistency：2\nRealism：0\nAesthetic Quality：0",                     # (1.4+0+0)/2   = 0.70
    901: "Consistency: 0\nRealism: 0\nAesthetic Quality: 0",                    # 0.00
    902: "The picture looks lovely, well done.",                                 # unparsed
    903: ChatAnswer(refusal="I can't evaluate this image."),                     # refused -> counted
}
# cultural = (0.85 + 0.55) / 2 = 0.70; time 0.20; space 1.00; biology 0.50; physics 0.70; chemistry 0.00 (902, 903 not scored)
# overall = 0.4*0.70 + 0.167*0.20 + 0.133*1.00 + 0.1*0.50 + 0.1*0.70 + 0.1*0.00
#         = 0.28 + 0.0334 + 0.133 + 0.05 + 0.07 + 0 = 0.5664
EXPECTED_CATEGORIES = {"cultural": 0.70, "time": 0.20, "space": 1.00, "biology": 0.50, "physics": 0.70, "chemistry": 0.00}
EXPECTED_OVERALL = 0.5664


def write_wise_data(root: Path) -> Path:
    """``root/legacy/*.json`` in the WISE record shape, with made-up prompts."""
    for name, ids in LEGACY_IDS.items():
        records = [{"Prompt": f"fixture-{pid}: a scene that needs some knowledge", "Explanation": f"what fixture {pid} must show",
                    "Category": "fixture", "Subcategory": "fixture", "prompt_id": pid} for pid in ids]
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return root


def write_images(folder: Path) -> Path:
    """The official image layout: ``<prompt_id>.png`` in one folder."""
    for ids in LEGACY_IDS.values():
        for pid in ids:
            write_png(folder / f"{pid}.png", seed=pid)
    return folder


def scripted_answer(text: str) -> str | ChatAnswer:
    match = re.search(r"fixture-(\d+)", text)
    return ANSWERS[int(match.group(1))] if match else "no fixture id in the request"


# WISE Verified ranges: 1-400 cultural, 401-520 time, 521-640 space, 641-760 biology, 761-880 physics, 881-1000 chemistry.
VERIFIED_IDS = [1, 2, 401, 521, 641, 761, 881]


def write_verified_data(root: Path) -> Path:
    """``root/verified/merge.json`` in the WISE record shape, with made-up prompts."""
    records = [{"Prompt": f"fixture-{pid}: a scene that needs some knowledge", "Explanation": f"what fixture {pid} must show",
                "Category": "fixture", "Subcategory": "fixture", "prompt_id": pid} for pid in VERIFIED_IDS]
    path = root / "verified" / "merge.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records), encoding="utf-8")
    for pid in VERIFIED_IDS:
        write_png(root.parent / "verified_images" / f"{pid}.png", seed=pid)
    return root
