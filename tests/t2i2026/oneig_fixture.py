"""A small OneIG-Bench data folder written for the tests, in the fetched layout (own prompts, not upstream text)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

PROMPTS = [  # category, id, prompt, class
    ("Anime_Stylization", "000", "a fox in watercolor", "watercolor"),
    ("Anime_Stylization", "001", "two girls waving, anime", ""),
    ("Portrait", "000", "an old man smiling", ""),
    ("General_Object", "000", "a red cup on a table", ""),
    ("Text_Rendering", "000", 'a sign that reads "OPEN NOW"', ""),
    ("Knowledge_Reasoning", "000", "the boiling point of water at sea level", "physics"),
]
GRAPHS = {  # folder -> id -> (questions, dependencies)
    "anime": {"000": ({"1": "Is there a fox?", "2": "Is it watercolor?"}, {"1": [0], "2": [0]}),
              "001": ({"1": "Are there girls?", "2": "Are the girls waving?"}, {"1": [0], "2": [1]})},
    "human": {"000": ({"1": "Is there a man?", "2": "Is the man old?", "3": "Is he smiling?"}, {"1": [0], "2": [1], "3": [1]})},
    "object": {"000": ({"1": "Is there a cup?"}, {"1": [0]})},
    "multilingualism": {"000": ({"1": "Is there a lantern?"}, {"1": [0]})},
}


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_oneig_data(root: Path) -> Path:
    """The fetched layout under ``root`` (EN and ZH) and return it."""
    _csv(root / "OneIG-Bench.csv", ["category", "id", "prompt_en", "type", "prompt_length", "class"],
         [[c, i, p, "NP", "short", k] for c, i, p, k in PROMPTS])
    _csv(root / "OneIG-Bench-ZH.csv", ["category", "id", "prompt_cn", "class"],
         [[c, i, f"zh {p}", k] for c, i, p, k in PROMPTS] + [["Multilingualism", "000", "\u4e00\u76cf\u706f\u7b3c", ""]])
    for folder, graphs in GRAPHS.items():
        entries = {pid: {"question": json.dumps(q), "dependency": json.dumps(d)} for pid, (q, d) in graphs.items()}
        qd = root / "scripts" / "alignment" / "Q_D"
        qd.mkdir(parents=True, exist_ok=True)
        if folder != "multilingualism":
            (qd / f"{folder}.json").write_text(json.dumps(entries), encoding="utf-8")
        (qd / f"{folder}_zh.json").write_text(json.dumps(entries), encoding="utf-8")
    _csv(root / "scripts" / "text" / "text_content.csv", ["", "id", "prompt_en", "text_content"], [["0", "000", "x", "['OPEN NOW']"]])
    _csv(root / "scripts" / "text" / "text_content_zh.csv", ["", "id", "prompt_cn", "text_content"],
         [["0", "000", "x", "['\u5f00\u95e8']"]])
    answers = {"000": "Water boils at 100 degrees Celsius at sea level."}
    for name in ("gt_answer.json", "gt_answer_zh.json"):
        path = root / "scripts" / "reasoning" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(answers), encoding="utf-8")
    _csv(root / "scripts" / "style" / "style.csv", ["", "id", "class"], [["0", "000", "Watercolor"], ["1", "001", ""]])
    return root
