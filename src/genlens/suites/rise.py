"""``rise``: RISEBench (PhoenixZ810/RISEBench), reasoning-informed edits judged on up to three dimensions.

Protocol (PhoenixZ810/RISEBench @ 5f22651, ``gpt_eval.py`` + ``utils.py``; read, not copied):

- Four categories: temporal, causal, spatial reasoning (judged on appearance consistency, reasoning
  and visual plausibility, each 1–5) and logical reasoning (consistency and reasoning, each judged
  0/1 and mapped to 1 or 5 as ``4·min(s, 1) + 1``). Items marked ``consistency_free`` skip the
  consistency question.
- What each question shows: consistency — the source image then the output (for logical items with
  a reference image, that reference then the output); reasoning — the output, plus the source first
  when the item has ``reasoning_img``, or the reference image first (spatial and logical items with
  ``reference_img``), with the text reference or answer in the prompt; plausibility — the output alone.
- Every image is sent as upstream's client sends it: converted to RGB, shrunk to fit 768×768, JPEG
  (Pillow's default quality 75). Judge: ``gpt-4.1-2025-04-14``, temperature 0.
- Reading: ``Final Score`` (optionally bold, optional colon) followed by digits, asterisks, spaces and
  commas; the first such match with digits gives all its numbers (``Final Scores`` as a fallback).
  The numbers of the questions are concatenated: three (or two for logical items) make the item's
  scores; anything else leaves it unscored (upstream's table would fall out of step: genlens counts it).
- Item score: temporal/causal/spatial 0.3·consistency + 0.5·reasoning + 0.2·plausibility
  (consistency-free: 0.2·plausibility + 0.8·reasoning); logical 0.3·consistency + 0.7·reasoning; a
  reasoning score of 1 halves the item score (at least 1). ``Score-Percentage`` = 25·(score − 1).
- **Headline: accuracy** — the share of items whose every judged dimension is 5 ("complete"), over
  all items, per category and overall. As upstream, an item whose answers cannot be read counts as
  not complete (in the accuracy's denominator) and is left out of the score means.

genlens sends its own wording of each question by default; ``--suite-arg prompt=official`` sends
upstream's texts, read out of ``utils.py`` at the pinned commit by ``genlens data fetch rise``
(sha256-checked). ``--scorer-arg parse=official`` reads answers with upstream's rule; genlens's strict
reader wants exactly one ``Final Score`` number on the question's scale. Disagreements are counted.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from genlens.data.paths import inside_data_dir, relative_inside
from genlens.errors import InputError
from genlens.judges.scorer import JudgeScorer, parse_disagreements
from genlens.scorers.base import Scorer
from genlens.stats import mean_or_none
from genlens.suites._coverage import Coverage
from genlens.suites._official_text import OfficialTextJudgedSuite
from genlens.suites.base import ImportedImage, ScoreContext, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

UPSTREAM = "PhoenixZ810/RISEBench"
COMMIT = "5f226519b25c005bb32fb83864bbd1845ab85c23"
CATEGORIES = ("temporal_reasoning", "causal_reasoning", "spatial_reasoning", "logical_reasoning")
DIMENSIONS = ("consistency", "reasoning", "plausibility")
DATA_JSON = "data_total.json"
JUDGE_IMAGE_SIDE = 768
JUDGE_JPEG_QUALITY = 75  # Pillow's default, which upstream's encoder uses
DATA_FIX = "run `genlens data fetch rise` (RISEBench-64), or give --data-dir with RISEBench-360 (HF PhoenixZ/RISEBench)"

# -- genlens's own wording of each question (the answer contract is upstream's: "Final Score: X") --
_ENDING = "\n\nExplain your judgement step by step, then end with one line in exactly this form:\nFinal Score: <{scale}>"
TEXTS: dict[str, str] = {
    "consistency": (
        "You are shown two images: an original and a version edited according to this instruction:\n\n\"{instruct}\"\n\n"
        "Judge only what the instruction did NOT ask to change (people's features, clothing, background, layout, colours, "
        "object positions). 5: identical apart from the requested change; 4: one minor difference; 3: one clear "
        "difference; 2: two or more clear differences; 1: almost everything unrelated to the instruction changed."
        + _ENDING.format(scale="1-5")),
    "reasoning_text": (
        "You are shown an image an editing model produced for this instruction:\n\n\"{instruct}\"\n\nThe correct "
        "result is described as: \"{reference}\"\n\nRate how well the image shows the described result. 5: matches "
        "it in every detail and degree; 4: small discrepancies; 3: partly matches, some details missing or different; "
        "2: important details missing or wrong; 1: does not show the described result at all."
        + _ENDING.format(scale="1-5")),
    "reasoning_text_with_input": (
        "You are shown the original image, then the image an editing model produced for this instruction:\n\n"
        "\"{instruct}\"\n\nThe correct result is described as: \"{reference}\"\n\nRate how well the second image shows "
        "the described result. 5: matches it in every detail and degree; 4: small discrepancies; 3: partly matches; "
        "2: important details missing or wrong; 1: does not show the described result at all."
        + _ENDING.format(scale="1-5")),
    "reasoning_reference_image": (
        "You are shown a reference image of the correct result, then the image an editing model produced for this "
        "instruction:\n\n\"{instruct}\"\n\nRate how closely the second image reaches the same result as the reference "
        "(arrangement, viewpoint, structure). 5: the same result; 3: partly; 1: a different result."
        + _ENDING.format(scale="1-5")),
    "plausibility": (
        "You are shown one generated image. Rate its realism and quality: clarity, natural appearance, physical "
        "plausibility. 5: flawless and realistic; 4: minor flaws; 3: noticeable flaws; 2: clear distortions; "
        "1: severely broken or implausible." + _ENDING.format(scale="1-5")),
    "logical_consistency": (
        "You are shown a puzzle image (or its reference solution), then the image an editing model produced for "
        "this instruction:\n\n\"{instruct}\"\n\nApart from the marks that solve the task, is everything in the "
        "second image (symbols, grid, colours, layout, style) the same as in the first? 1 if yes, 0 if anything "
        "else was changed." + _ENDING.format(scale="0 or 1")),
    "logical_reasoning_text": (
        "You are shown the image an editing model produced for this puzzle instruction:\n\n\"{instruct}\"\n\n"
        "The correct answer is: \"{reference}\"\n\nDoes the image show exactly this answer and nothing more? "
        "1 if yes, 0 otherwise." + _ENDING.format(scale="0 or 1")),
    "logical_reasoning_image": (
        "You are shown the reference solution of a puzzle, then the image an editing model produced for this "
        "instruction:\n\n\"{instruct}\"\n\nDoes the second image solve the puzzle exactly as the reference does "
        "(same marks, positions, shapes and colours, one answer only)? 1 if yes, 0 otherwise."
        + _ENDING.format(scale="0 or 1")),
}
#: genlens question -> upstream's constant in utils.py (for --suite-arg prompt=official)
OFFICIAL_NAMES = {
    "consistency": "prompt_consist", "spatial_consistency": "prompt_spatial_cons",
    "reasoning_text": "prompt_reasoning", "reasoning_text_with_input": "prompt_reasoning_w_input",
    "spatial_reasoning_text": "prompt_spatial_ref", "spatial_reasoning_text_with_input": "prompt_spatial_ref_w_input",
    "reasoning_reference_image": "prompt_spatial_ref_img", "plausibility": "prompt_generation",
    "spatial_plausibility": "prompt_spatial_qual", "logical_consistency_answer": "prompt_logical_cons_ans",
    "logical_consistency": "prompt_logical_cons", "logical_reasoning_text": "prompt_logical_txt",
    "logical_reasoning_image": "prompt_logical_img", "logical_reasoning_image_without_question": "prompt_logical_img_wo_q",
}
#: genlens's wording is the same for the spatial / answer variants as for the general ones
_GENLENS_ALIAS = {
    "spatial_consistency": "consistency", "spatial_reasoning_text": "reasoning_text",
    "spatial_reasoning_text_with_input": "reasoning_text_with_input", "spatial_plausibility": "plausibility",
    "logical_consistency_answer": "logical_consistency", "logical_reasoning_image_without_question": "logical_reasoning_image",
}


# ---------------------------------------------------------------------------------------------
# readers and arithmetic
# ---------------------------------------------------------------------------------------------
_FINAL = re.compile(r"\*?\*?Final Score\*?\*?:?\s*([\d*\s,\n]*)", re.IGNORECASE)
_FINALS = re.compile(r"\*?\*?Final Scores\*?\*?:?\s*([\d*\s,\n]*)", re.IGNORECASE)


def official_numbers(answer: str) -> list[int] | None:
    """Upstream's ``extract``: the numbers after the first ``Final Score`` that has any, else ``Final Scores``."""
    for match in _FINAL.findall(answer or ""):
        numbers = [int(n) for n in re.findall(r"\d+", match.replace("\n", " "))]
        if numbers:
            return numbers
    matches = _FINALS.findall(answer or "")
    if not matches:
        return None
    for match in matches:
        numbers = [int(n) for n in re.findall(r"\d+", match.replace("\n", " "))]
        if numbers:
            return numbers
    return []


def strict_number(answer: str, scale: range) -> list[int] | None:
    """genlens's reader: exactly one ``Final Score`` line whose one number is on the question's scale."""
    found = [m for m in _FINAL.findall(answer or "") if re.findall(r"\d+", m)]
    if len(found) != 1:
        return None
    numbers = [int(n) for n in re.findall(r"\d+", found[0])]
    return numbers if len(numbers) == 1 and numbers[0] in scale else None


def dimension_scores(category: str, consistency: list[int] | None, reasoning: list[int] | None,
                     plausibility: list[int] | None, consistency_free: bool) -> dict[str, float | None] | None:
    """Upstream's combination of the questions' numbers into the item's dimensions (None: unscored)."""
    if category == "logical_reasoning":
        if not consistency or not reasoning:
            return None
        joined = consistency + reasoning
        if len(joined) != 2:
            return None
        return {"consistency": 4 * min(joined[0], 1) + 1, "reasoning": 4 * min(joined[1], 1) + 1, "plausibility": None}
    if not reasoning or not plausibility or (not consistency_free and not consistency):
        return None
    joined = ([None] if consistency_free else list(consistency or [])) + reasoning + plausibility
    if len(joined) != 3:
        return None
    return {"consistency": joined[0], "reasoning": joined[1], "plausibility": joined[2]}


def item_score(category: str, dims: dict[str, Any], consistency_free: bool) -> float:
    """The weighted score of one item (halved, at least 1, when reasoning is 1)."""
    if category == "logical_reasoning":
        score = 0.3 * dims["consistency"] + 0.7 * dims["reasoning"]
    elif consistency_free:
        score = 0.2 * dims["plausibility"] + 0.8 * dims["reasoning"]
    else:
        score = 0.3 * dims["consistency"] + 0.5 * dims["reasoning"] + 0.2 * dims["plausibility"]
    if dims["reasoning"] == 1:
        score = max(1.0, score * 0.5)
    return float(score)


def complete(category: str, dims: dict[str, Any] | None, consistency_free: bool) -> bool:
    """Every judged dimension at 5 (an unscored item is not complete)."""
    if dims is None:
        return False
    if category == "logical_reasoning":
        return dims["consistency"] == 5 and dims["reasoning"] == 5
    if consistency_free:
        return dims["reasoning"] == 5 and dims["plausibility"] == 5
    return dims["consistency"] == 5 and dims["reasoning"] == 5 and dims["plausibility"] == 5


def as_percentage(score: float | None) -> float | None:
    return None if score is None else 25 * (score - 1)


def judge_image(path: Path) -> bytes:
    """An image as upstream's client sends it: RGB, shrunk to fit 768×768, JPEG at Pillow's default quality."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB") if image.mode != "RGB" else image.copy()
    image.thumbnail((JUDGE_IMAGE_SIDE, JUDGE_IMAGE_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JUDGE_JPEG_QUALITY)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# questions per item
# ---------------------------------------------------------------------------------------------
def question(item: Item, dimension: str) -> tuple[str, list[str]] | None:
    """(question name, images as "source" | "output" | a data path) for one dimension of an item; None if not asked."""
    meta, category = item.meta, item.category
    source = item.input_images[0]
    reference_img = meta.get("reference_img")
    if dimension == "consistency":
        if meta.get("consistency_free"):
            return None
        if category == "logical_reasoning":
            if meta.get("reference_txt"):
                return "logical_consistency_answer", [source, "output"]
            return "logical_consistency", [reference_img or source, "output"]
        return ("spatial_consistency" if category == "spatial_reasoning" else "consistency"), [source, "output"]
    if dimension == "plausibility":
        if category == "logical_reasoning":
            return None
        return ("spatial_plausibility" if category == "spatial_reasoning" else "plausibility"), ["output"]
    # reasoning
    if category == "logical_reasoning":
        if meta.get("reference_txt"):
            return "logical_reasoning_text", ["output"]
        name = "logical_reasoning_image_without_question" if meta.get("reasoning_wo_ins") else "logical_reasoning_image"
        return name, [reference_img or source, "output"]
    if category == "spatial_reasoning":
        if reference_img:
            return "reasoning_reference_image", [reference_img, "output"]
        if meta.get("reasoning_img"):
            return "spatial_reasoning_text_with_input", [source, "output"]
        return "spatial_reasoning_text", ["output"]
    if meta.get("reasoning_img"):
        return "reasoning_text_with_input", [source, "output"]
    return "reasoning_text", ["output"]


def scale_of(name: str) -> range:
    return range(0, 2) if name.startswith("logical") else range(1, 6)


class RiseDimensionScorer(JudgeScorer):
    """One dimension's question for every item that is asked it; items not asked get a 'not asked' record."""

    def __init__(self, *, dimension: str, suite: RiseSuite, **kwargs: Any):
        super().__init__(**kwargs)
        self.dimension = dimension
        self.suite = suite

    async def score_batch(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        asked = [i for i, inp in enumerate(batch) if question(inp.item, self.dimension) is not None]
        results: list[tuple[str, dict[str, Any]]] = [("ok", {"scores": None, "not_asked": True})] * len(batch)
        if asked:
            answers = await super().score_batch([batch[i] for i in asked])
            for index, answer in zip(asked, answers, strict=True):
                results[index] = answer
        return results


# ---------------------------------------------------------------------------------------------
# suite
# ---------------------------------------------------------------------------------------------
@register_suite
class RiseSuite(OfficialTextJudgedSuite):
    meta = SuiteMeta(
        name="rise",
        version="1",
        title="RISEBench: reasoning-informed visual editing (temporal, causal, spatial, logical); accuracy",
        task="edit",
        categories=CATEGORIES,
        needs=("judge", "data"),
        data_source=f"{UPSTREAM} @ {COMMIT[:7]} (RISEBench-64: genlens data fetch rise); RISEBench-360: HF PhoenixZ/RISEBench",
        default_samples=1,
        item_count=None,
        description="Accuracy = share of items with every judged dimension at 5; weighted score beside it.",
    )

    @property
    def root(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        from genlens.data.fetch import data_root

        return data_root() / "rise"

    def items(self) -> Sequence[Item]:
        if self._items is None:
            path = self.root / DATA_JSON
            try:
                records = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise InputError("RISEBench data not found", path=path, fix=DATA_FIX) from None
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"RISEBench data cannot be read ({exc})", path=path, fix=DATA_FIX) from None
            self._items = [self._item(rec) for rec in records]
        return self._items

    def _item(self, rec: dict[str, Any]) -> Item:
        index, category = str(rec.get("index")), rec.get("category")
        if category not in CATEGORIES:
            raise InputError(f"RISEBench record {index}: unknown category {category!r}", fix=DATA_FIX)
        meta: dict[str, Any] = {"index": index, "subtask": rec.get("subtask")}
        for key in ("reference", "reference_img", "reference_txt", "reasoning_img", "consistency_free", "reasoning_wo_ins"):
            value = rec.get(key)
            if value is not None and value == value and value != "":  # NaN-free, as upstream's pd.isna
                meta[key] = relative_inside(value, record=f"RISEBench {index}", fix=DATA_FIX) if key == "reference_img" else value
        return Item(id=index, prompt=str(rec["instruction"]), category=category, kind="edit",
                    input_images=(relative_inside(rec["image"], record=f"RISEBench {index}", fix=DATA_FIX),), meta=meta)

    def input_path(self, name: str) -> Path:
        return inside_data_dir(self.root, name, record=name)

    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        return [f"images/{item.category}/{item.id}", f"{item.category}/{item.id}"]

    def import_layout(self, directory: Path) -> Iterator[ImportedImage]:
        """Upstream's output layout: ``[images/]<category>/<index>.png|jpg|jpeg``."""
        root = directory / "images" if (directory / "images").is_dir() else directory
        ids = {item.id for item in self.items()}
        for category in CATEGORIES:
            for path in sorted((root / category).glob("*")) if (root / category).is_dir() else []:
                if path.stem in ids and path.suffix.lower() in (".png", ".jpg", ".jpeg"):
                    yield ImportedImage(path.stem, 0, path)

    # -- judging -----------------------------------------------------------------------------
    def texts(self) -> dict[str, str]:
        if self.prompt_choice == "genlens":
            return {name: TEXTS[_GENLENS_ALIAS.get(name, name)] for name in OFFICIAL_NAMES}
        return self.fetched_texts(OFFICIAL_NAMES, benchmark="RISEBench", source="utils.py")

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        from genlens.suites._edit_judge import context_judge

        chosen = context_judge(ctx)
        if chosen is None:
            return []
        judge, _prompt_file, params = chosen
        from genlens.judges.base import JudgeRequest
        from genlens.judges.official import parse_mode
        from genlens.judges.templates import Template

        texts = self.texts()
        official = parse_mode(params) == "official"
        scorers: list[Scorer] = []
        for dimension in DIMENSIONS:
            template = Template(name=f"{'official:' + UPSTREAM + '@' + COMMIT[:7] if self.prompt_choice == 'official' else 'genlens:rise-v1'}"
                                     f"/{dimension}", system=None, user=json.dumps(texts, sort_keys=True, ensure_ascii=False))

            def build(inp: ScoreInput, tmpl: Any, dimension: str = dimension) -> JudgeRequest:
                name, images = question(inp.item, dimension)  # type: ignore[misc]
                text = json.loads(tmpl.user)[name]
                meta = inp.item.meta
                reference = str(meta.get("reference_txt") or meta.get("reference") or "")
                text = text.replace("{instruct}", inp.item.prompt).replace("{reference}", reference)
                payload = [judge_image(inp.image_paths[0] if i == "output" else self.input_path(i)) for i in images]
                return JudgeRequest(system=None, text=text, images=payload)

            # Both readers accept either scale: a reader sees only the answer (and re-reads stored ones on --rejudge).
            def strict(raw: str) -> Any:
                numbers = strict_number(raw, range(0, 6))
                return {"numbers": numbers} if numbers else None

            def upstream(raw: str) -> Any:
                numbers = official_numbers(raw)
                return {"numbers": numbers} if numbers else None

            main, check = (upstream, strict) if official else (strict, upstream)
            scorers.append(RiseDimensionScorer(
                dimension=dimension, suite=self, name=f"rise_{dimension}", version="1", judge=judge, template=template,
                build=build, parse=main, parser_id=f"rise-{'official' if official else 'strict'}", check_parse=check,
                check_parser_id=f"rise-{'strict' if official else 'official'}",
            ))
        return scorers

    # -- aggregation -------------------------------------------------------------------------
    @staticmethod
    def _off_scale(item: Item, numbers: list[list[int] | None]) -> bool:
        """Whether a number the strict reader took lies outside its question's scale (1-5, or 0/1 for logical)."""
        for dimension, found in zip(DIMENSIONS, numbers, strict=True):
            asked = question(item, dimension)
            if asked is not None and found and found[0] not in scale_of(asked[0]):
                return True
        return False

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        from genlens.judges.official import parse_mode
        from genlens.judges.scorer import judge_choice

        strict_mode = parse_mode(judge_choice(ctx, "").params) != "official"
        rows: list[dict[str, Any]] = []
        counts = {"refused": 0, "errored": 0, "unscored": 0, "off_scale": 0, "parse_disagreements": 0}
        for entry in scored:
            gen, item = entry.generation, entry.item
            free = bool(item.meta.get("consistency_free"))
            row: dict[str, Any] = {"item": item.id, "sample": gen.sample, "category": item.category,
                                   "subtask": item.meta.get("subtask"), "prompt": item.prompt, "status": gen.status,
                                   "image": gen.images[0] if gen.images else None, "score": None, "complete": False}
            records = [entry.scores.get(f"rise_{d}") for d in DIMENSIONS]
            counts["parse_disagreements"] += parse_disagreements(records)
            if gen.status == "error":
                counts["errored"] += 1
                rows.append({**row, "complete": None, "reason": gen.reason})
                continue
            if gen.status == "refused":
                counts["refused"] += 1
                rows.append({**row, "reason": f"refused: {gen.reason}"})  # not complete, no score
                continue
            if any(r is None for r in records):
                rows.append({**row, "complete": None, "reason": "not judged (no --judge)"})
                continue
            numbers = [None if r.value.get("not_asked") else (r.value.get("scores") or {}).get("numbers") for r in records]
            if strict_mode and self._off_scale(item, numbers):
                counts["off_scale"] += 1
                rows.append({**row, "reason": "a judge answer is off its question's scale (genlens's strict reader)"})
                continue
            dims = dimension_scores(item.category, numbers[0], numbers[1], numbers[2], free)
            if dims is None:
                counts["unscored"] += 1
                rows.append({**row, "reason": "judge answers could not be combined into the item's scores"})
                continue
            if not strict_mode and any(v is not None and v not in range(1, 6) for v in dims.values()):
                counts["off_scale"] += 1  # kept as upstream keeps it (e.g. a 7 on a 1-5 question)
            row.update(dims)
            row["score"] = item_score(item.category, dims, free)
            row["complete"] = complete(item.category, dims, free)
            row["reason"] = "" if row["complete"] else "not every judged dimension is 5"
            rows.append(row)
        counted = [r for r in rows if r["complete"] is not None]  # generation errors and unjudged rows are missing
        categories: dict[str, dict[str, Any]] = {}
        for category in CATEGORIES:
            chosen = [r for r in counted if r["category"] == category]
            scores = [r["score"] for r in chosen if r["score"] is not None]
            categories[category] = {
                "accuracy": mean_or_none([float(r["complete"]) for r in chosen]),
                "score": mean_or_none(scores), "score_percentage": as_percentage(mean_or_none(scores)), "n": len(chosen),
                **{f"{d}_mean": mean_or_none([r[d] for r in chosen if r.get(d) is not None]) for d in DIMENSIONS},
            }
        subtasks: dict[str, dict[str, Any]] = {}  # upstream's per-subtask rows (the 360-item data has a subtask column)
        for key in sorted({(r["category"], r["subtask"]) for r in counted if r.get("subtask")}, key=str):
            chosen = [r for r in counted if (r["category"], r["subtask"]) == key]
            sub_scores = [r["score"] for r in chosen if r["score"] is not None]
            subtasks[f"{key[0]}-{key[1]}"] = {
                "accuracy": mean_or_none([float(r["complete"]) for r in chosen]), "score": mean_or_none(sub_scores),
                "score_percentage": as_percentage(mean_or_none(sub_scores)), "n": len(chosen)}
        accuracy = mean_or_none([float(r["complete"]) for r in counted])
        scores = [r["score"] for r in counted if r["score"] is not None]
        expected = len(self.items())
        present = {c for c in CATEGORIES if any(i.category == c for i in self.items())}
        coverage = Coverage(prompts=(len({r["item"] for r in counted}), expected), images=(len(counted), len(rows) or expected),
                            tags=(len({r["category"] for r in counted}), len(present)))
        metrics: dict[str, Any] = {"score": mean_or_none(scores), "score_percentage": as_percentage(mean_or_none(scores)),
                                   **{f"{d}_mean": mean_or_none([r[d] for r in counted if r.get(d) is not None]) for d in DIMENSIONS},
                                   "subtasks": subtasks}
        notes = [
            "accuracy = share of items with every judged dimension at 5 (unreadable answers count as not complete, as upstream)",
            "score: 0.3 consistency + 0.5 reasoning + 0.2 plausibility (logical 0.3/0.7; consistency-free 0.8/0.2), "
            "halved (at least 1) when reasoning is 1; score_percentage = 25*(score-1)",
            f"images sent to the judge as RGB JPEG q{JUDGE_JPEG_QUALITY}, at most {JUDGE_IMAGE_SIDE}px a side (upstream's client)",
            "a refused edit is not complete and has no score",
            "published RISEBench numbers: judge gpt-4.1-2025-04-14 at temperature 0 (the README says GPT-4o)",
        ]
        headline = {"accuracy": accuracy if coverage.complete else None}
        if not coverage.complete:
            metrics["accuracy_partial"] = accuracy
            notes.append(f"partial run ({coverage.text()}): no headline accuracy")
        from genlens.suites._edit_judge import configured_judge

        provenance = {"notes": notes, "upstream": f"{UPSTREAM}@{COMMIT}", "prompt": self.prompt_choice,
                      "judge": configured_judge(ctx), "items": expected}
        return SuiteResult(headline=headline, metrics=metrics, categories=categories, counts=counts,
                           extra={"coverage": coverage.as_dict()}, provenance=provenance, rows=rows)
