"""DPG-Bench's scoring rules as ``dpg_bench/compute_dpg_bench.py`` (TencentQQGYLab/ELLA @ 3c228f1) computes them.

- Data: ``dpg_bench.csv`` rows (item_id, text, proposition_id, dependency, tuple, question_natural_language …),
  read in file order. The official reader **skips the first data row** (``if i == 0: continue`` over
  ``iterrows``), so the first prompt loses its first question; ``skip_first_row=True`` keeps that.
- An image is a 2×2 grid of ``resolution``-pixel tiles cropped at (0,0), (R,0), (0,R), (R,R) — the first
  ``pic_num`` of them, row by row. Each tile answers every question of its prompt; a question scores 1
  when the answer is ``yes`` (mPLUG answers lower case; the official test is ``answer == 'yes'``).
- Dependencies: walking the questions in file order, a question whose parent (any id but 0) now scores 0
  is set to 0, in place, so a zeroed child zeroes its own children further down. A parent id the prompt
  does not have raises in the official script and the whole image is dropped from every number.
- A tile's score is the sum of its (dependency-adjusted) scores over its question count; an image's is the
  mean over its tiles; DPG-Bench = 100 × the mean over images.
- Categories (L2 = the ``tuple`` text before ``(``, L1 = L2 before ``-``) are averaged over the **raw**
  answers (before the dependency rule) of the **last tile** only — ``qid2scores_orig`` is the copy taken in
  the last pass of the tile loop — pooled over images, × 100.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from genlens.errors import InputError

REQUIRED_COLUMNS = ("item_id", "text", "proposition_id", "dependency", "tuple", "question_natural_language")


@dataclass
class DpgPrompt:
    """One DPG prompt: its text and its questions keyed by proposition id, in file order."""

    item_id: str
    text: str
    questions: dict[int, str] = field(default_factory=dict)
    dependencies: dict[int, list[int]] = field(default_factory=dict)
    tuples: dict[int, str] = field(default_factory=dict)


class MissingParent(Exception):
    """A question depends on an id its prompt lacks (the official script fails on this image)."""


def read_csv(path: Path, *, skip_first_row: bool = True) -> dict[str, DpgPrompt]:
    """Prompts in file order, as ``prepare_dpg_data`` builds them (first data row skipped unless told not to)."""
    fix = "run `genlens data fetch dpg-bench --force` (or fix the file)"
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"DPG-Bench CSV lacks column(s) {', '.join(missing)}", path=path, fix=fix)
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the DPG-Bench CSV ({type(exc).__name__})", path=path, fix=fix) from None
    prompts: dict[str, DpgPrompt] = {}
    for number, row in enumerate(rows):
        if number == 0 and skip_first_row:
            continue
        try:
            qid = int(row["proposition_id"])
            parents = [int(d.strip()) for d in row["dependency"].split(",")]
        except (TypeError, ValueError):
            raise InputError(f"CSV row {number + 2}: proposition_id/dependency are not integers", path=path, fix=fix) from None
        item_id = row["item_id"].strip()
        prompt = prompts.setdefault(item_id, DpgPrompt(item_id, row["text"]))
        prompt.questions[qid] = row["question_natural_language"]
        prompt.dependencies[qid] = parents
        prompt.tuples[qid] = row["tuple"]
    if not prompts:
        raise InputError("the DPG-Bench CSV has no prompts", path=path, fix=fix)
    return prompts


def tile_boxes(resolution: int, pic_num: int) -> list[tuple[int, int, int, int]]:
    """The official crop boxes (left, top, right, bottom): the first ``pic_num`` tiles of a 2×2 grid, row by row."""
    r = resolution
    boxes = [(0, 0, r, r), (r, 0, 2 * r, r), (0, r, r, 2 * r), (r, r, 2 * r, 2 * r)]
    if not 1 <= pic_num <= 4:
        raise InputError(f"pic_num {pic_num} is not 1–4", fix="--suite-arg pic_num=4 (a 2×2 grid) or 1")
    return boxes[:pic_num]


def is_yes(answer: str, *, exact: bool) -> bool:
    """``exact`` (mPLUG, official): the answer is the string ``yes``; otherwise its first word, any case, is yes."""
    if exact:
        return answer == "yes"
    words = answer.strip().split()
    return bool(words) and words[0].strip(".,!:;\"'").lower() == "yes"


def apply_dependencies(scores: dict[int, float], dependencies: dict[int, list[int]]) -> dict[int, float]:
    """The official dependency rule on one tile's 0/1 scores (a new dict; file order, zeroing in place)."""
    out = dict(scores)
    for qid, parents in dependencies.items():
        for parent in parents:
            if parent == 0:
                continue
            if parent not in out:
                raise MissingParent(f"question {qid} depends on {parent}, which the prompt does not have")
            if out[parent] == 0:
                out[qid] = 0
                break
    return out


def tile_score(scores: dict[int, float], dependencies: dict[int, list[int]]) -> float:
    adjusted = apply_dependencies(scores, dependencies)
    return sum(adjusted.values()) / len(adjusted)


def image_score(tiles: Sequence[dict[int, float]], dependencies: dict[int, list[int]]) -> float:
    """Mean over tiles of each tile's dependency-adjusted yes rate (raises :class:`MissingParent`)."""
    return sum(tile_score(t, dependencies) for t in tiles) / len(tiles)


def l2_category(tuple_text: str) -> str:
    return tuple_text.split("(")[0].strip()


def l1_category(l2: str) -> str:
    return l2.split("-")[0].strip()


def category_scores(images: Sequence[tuple[dict[int, float], dict[int, str]]]) -> tuple[dict[str, float], dict[str, float], dict[str, int]]:
    """(L1, L2, question counts per L2) from each image's last-tile raw scores and its prompt's tuples, ×100."""
    l2: dict[str, list[float]] = {}
    for raw, tuples in images:
        for qid, value in raw.items():
            l2.setdefault(l2_category(tuples[qid]), []).append(value)
    l1: dict[str, list[float]] = {}
    for name, values in l2.items():
        l1.setdefault(l1_category(name), []).extend(values)
    mean = {name: 100 * sum(v) / len(v) for name, v in l2.items()}
    return ({name: 100 * sum(v) / len(v) for name, v in l1.items()}, dict(sorted(mean.items())),
            {name: len(v) for name, v in sorted(l2.items())})
