"""A tiny TIIF-Bench-shaped data set written for the tests (made-up prompts, not upstream's), and a scripted judge.

Every one of the 39 dimensions has one prompt with two questions expected "yes" then "no" (the text
dimension asks for two words, both expected "yes"). The scripted judge answers correctly except:

- ``shape+color``: "yes / yes"  -> 1 of 2 right: accuracy 0.5
- ``negation``: "1. yes / 2. no" -> genlens's reader: right (1.0); upstream's reader: no line starts with
  yes/no, so unread (a parse disagreement)
- ``style``: the first answer has one line only (miscounted), asked again it is right (1.0)

Hand-worked (short prompts, genlens's reader): basic_attribute = (0.5 + 1 + 1 + 1) / 4 = 0.875, every
other group 1.0; overall = (0.875 + 8) / 9 = 0.986111…; basic_avg = (11 + 0.5) / 12 = 0.958333…;
advanced_avg = 1.0.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from genlens.suites.tiif import DIMENSIONS
from tests.conftest import write_png

EXPECTED_OVERALL = (0.875 + 8) / 9
EXPECTED_BASIC_AVG = 11.5 / 12


def questions_for(dim: str) -> tuple[list[str], list[str]]:
    if dim == "text":
        return ["Is the text 'Hello' in the image?", "Is the text 'World' in the image?"], ["Yes", "Yes"]
    return [f"Is fixture {dim} first true?  ", f"Is fixture {dim} second true?"], ["yes", "no"]


def write_tiif_data(root: Path, subset: str = "testmini", dims: tuple[str, ...] = DIMENSIONS) -> Path:
    for dim in dims:
        prompts, evals = root / f"{subset}_prompts", root / f"{subset}_eval_prompts"
        prompts.mkdir(parents=True, exist_ok=True)
        evals.mkdir(parents=True, exist_ok=True)
        record = {"type": dim, "short_description": f"short fixture prompt for {dim}",
                  "long_description": f"a much longer fixture prompt describing {dim} in detail"}
        (prompts / f"{dim}_prompts.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
        asked, expected = questions_for(dim)
        (evals / f"{dim}_eval_prompts.jsonl").write_text(
            json.dumps({"type": dim, "yn_question_list": asked, "yn_answer_list": expected}) + "\n", encoding="utf-8")
    return root


def write_images(folder: Path, lengths: tuple[str, ...] = ("short",), dims: tuple[str, ...] = DIMENSIONS,
                 model: str | None = None) -> Path:
    """Upstream's layout, ``<type>/[<model>/]<length>_description/0.png``."""
    for n, dim in enumerate(dims):
        for length in lengths:
            base = folder / dim / model if model else folder / dim
            write_png(base / f"{length}_description" / "0.png", seed=n)
    return folder


class ScriptedJudge:
    """Answers by the dimension named in the questions; counts how often each was asked."""

    def __init__(self) -> None:
        self.asked: dict[str, int] = {}

    def __call__(self, text: str) -> str:
        match = re.search(r"Is fixture (\S+) first", text)
        dim = match.group(1) if match else "text"
        self.asked[dim] = self.asked.get(dim, 0) + 1
        if dim == "shape+color":
            return "yes, it is.\nYes, it is."
        if dim == "negation":
            return "1. yes, it is\n2. no, it is not"
        if dim == "style" and self.asked[dim] == 1:
            return "yes"
        if dim == "text":
            return "Yes, the text is there.\nyes, also there."
        return "yes, the first is true.\nNo, the second is not."
