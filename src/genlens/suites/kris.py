"""``kris``: KRIS-Bench (mercurystraw/Kris_Bench), knowledge-based reasoning edits judged 1–5 per metric.

Protocol (mercurystraw/Kris_Bench, ``metrics_common.py``, ``metrics_knowledge.py``, ``metrics_view_change.py``,
``metrics_multi_element.py``, ``metrics_temporal_prediction.py``, ``utils/prompts.py``; read, not copied;
aggregation as lmms-eval's port of the authors' ``summarize.py``):

- 20 task folders (``KRIS_Bench/<folder>/annotation.json`` + images); temporal prediction splits by the
  frame to predict into reverse (frame 1), intermediate (2, 3) and forward (4) — 22 tasks. Three knowledge
  types: factual (attribute, spatial, temporal), conceptual (social and natural science), procedural
  (logical reasoning, instruction decomposition).
- One judge call per metric, each answered 1–5 in a small JSON object: **consistency** (source then
  edited; multi-element: every source then the composite; temporal: the frames in order with the
  generated one at its place), **instruction** (knowledge folders: one "dual" call that also returns
  **knowledge** plausibility, with the item's explanation; viewpoint change: the ground-truth view is
  shown third), **quality** (the edited image alone). The knowledge rubric tells the judge to give
  knowledge 1 when instruction ≤ 2; upstream's code does not enforce it, nor does genlens: answers
  breaking it are counted (``knowledge_rule_broken``).
- Scores are mapped to 0–100 by (s − 1)·25. Per metric: the mean over items that have it. Per item: the
  mean of its metrics (3, or 4 with knowledge). Per task, per knowledge type and overall: the mean of
  the item means, on the same scale.
- Images: the files' own bytes (temporal frames re-encoded as JPEG q85, as that script does), at their
  own size; an edited image of another size than its source is judged as it is and counted
  (``size_changed``), as diag-size measures it.

genlens's own wording is the default (same answer keys); ``--suite-arg prompt=official`` sends upstream's
texts, read out of ``utils/prompts.py`` at the pinned commit by ``genlens data fetch kris`` (sha256-checked).
In official mode genlens also keeps upstream's ``abnormality_correction`` check: the folder is called
``anomaly_correction``, so the explanation-aware prompt is never used and those items get the plain
instruction prompt, as in published numbers. ``--scorer-arg parse=official`` reads answers with upstream's
extractor (JSON block, then ``n/5``, ``n out of 5``, then the first lone digit 1–5); genlens's strict reader
wants the key once with a whole number 1–5. Disagreements between the two are counted.
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

UPSTREAM = "mercurystraw/Kris_Bench"
#: The commit whose ``utils/prompts.py`` holds the judge texts (the scripts importing ``utils.prompts``).
COMMIT = "bcdbaf1cafa9b8584488934fce0aeb48fa16316b"
#: The commit of the benchmark data (``KRIS_Bench/<folder>/annotation.json`` and images).
DATA_COMMIT = "800662d11b38d72747f39b11acd904fb8b0141d2"
DATA_FIX = ("give --data-dir with the KRIS_Bench folder of mercurystraw/Kris_Bench (git clone, then checkout "
            f"{DATA_COMMIT[:7]}); `genlens data fetch kris` gets the official judge texts")

COMMON = ("count_change", "color_change", "anomaly_correction", "position_movement", "size_adjustment",
          "part_completion", "multi-instruction_execution")
VIEWPOINT = "viewpoint_change"
MULTI = "multi-element_composition"
TEMPORAL = "temporal_prediction"
KNOWLEDGE = ("abstract_reasoning", "mathematics", "practical_knowledge", "medicine", "rule-based_reasoning",
             "biology", "geography", "chemistry", "humanities", "physics")
FOLDERS = (*COMMON, VIEWPOINT, MULTI, TEMPORAL, *KNOWLEDGE)
TEMPORAL_TASKS = {1: "temporal_reverse", 2: "temporal_intermediate", 3: "temporal_intermediate", 4: "temporal_forward"}
#: Knowledge type -> (sub-dimension -> task folders); the temporal folder is split by the frame to predict.
TAXONOMY: dict[str, dict[str, tuple[str, ...]]] = {
    "factual": {"attribute_perception": ("count_change", "color_change", "size_adjustment", "part_completion",
                                         "anomaly_correction"),
                "spatial_perception": ("position_movement", VIEWPOINT),
                "temporal_prediction": (TEMPORAL,)},
    "conceptual": {"social_science": ("practical_knowledge", "humanities"),
                   "natural_science": ("biology", "chemistry", "geography", "mathematics", "medicine", "physics")},
    "procedural": {"logical_reasoning": ("abstract_reasoning", "rule-based_reasoning"),
                   "instruction_decomposition": ("multi-instruction_execution", MULTI)},
}
KNOWLEDGE_TYPES = tuple(TAXONOMY)
METRICS = ("consistency", "instruction", "quality", "knowledge")
SCALE = range(1, 6)
TEMPORAL_JPEG_QUALITY = 85
#: Upstream's check for the explanation-aware prompt; the folder is ``anomaly_correction``, so it never matches.
UPSTREAM_ABNORMAL_CHECK = "abnormality_correction"

#: The official texts (constants of ``utils/prompts.py``) genlens fetches.
OFFICIAL_NAMES = ("prompt_consist", "prompt_quality", "prompt_instruction_following", "prompt_dual_evaluation",
                  "prompt_abnormal_instruction_following", "prompt_view_instruction_following",
                  "prompt_consist_temporal", "prompt_instruction_temporal", "prompt_consist_multi",
                  "prompt_instruction_multi")


def knowledge_type(folder: str) -> str:
    return next(kind for kind, groups in TAXONOMY.items() for folders in groups.values() if folder in folders)


def percent(score: float | None) -> float | None:
    """A 1–5 mean on KRIS-Bench's 0–100 scale: (s − 1)·25."""
    return None if score is None else (score - 1) * 25.0


# ---------------------------------------------------------------------------------------------
# genlens's own wording (the answer contract is upstream's: a JSON object with the score key)
# ---------------------------------------------------------------------------------------------
_INTRO = "You are an impartial expert rater of AI image edits."
_SCALE_WORDS = "5 = flawless, 4 = one small flaw, 3 = one clear flaw, 2 = several clear flaws or mostly wrong, 1 = fails entirely."
_JSON = "Think it through briefly, then end with a JSON object in exactly this shape:\n{shape}"
TEXTS: dict[str, str] = {
    "consistency": (
        _INTRO + " The first image is the original, the second an edit of it made for this instruction:\n\"{instruct}\"\n\n"
        "Rate from 1 to 5 how well everything the instruction did NOT ask to change stayed the same (people, objects, "
        "background, layout, colours, lighting). Ignore the requested change itself. " + _SCALE_WORDS + "\n\n"
        + _JSON.format(shape='{{"reasoning": "<one sentence>", "consistency_score": <1-5>}}')),
    "quality": (
        _INTRO + " Rate from 1 to 5 how the image looks as a picture: coherent structure and anatomy, natural lighting and "
        "perspective, no artifacts, duplicated parts, smears or garbled text. Do not penalise low resolution alone. "
        + _SCALE_WORDS + "\n\n" + _JSON.format(shape='{{"reasoning": "<one sentence>", "quality_score": <1-5>}}')),
    "instruction": (
        _INTRO + " The first image is the original, the second an edit of it made for this instruction:\n\"{instruct}\"\n\n"
        "Rate from 1 to 5 whether the requested change is present and correct: the right object, the right attribute, the "
        "right amount. Ignore unrelated changes. " + _SCALE_WORDS + "\n\n"
        + _JSON.format(shape='{{"reasoning": "<one sentence>", "instruction_score": <1-5>}}')),
    "anomaly": (
        _INTRO + " The first image is the original, which contains something implausible; the second an edit made for this "
        "instruction:\n\"{instruct}\"\n\nWhat a plausible image would show: {explanation}\n\nRate from 1 to 5 how fully "
        "the edit corrects the implausible parts as described. " + _SCALE_WORDS + "\n\n"
        + _JSON.format(shape='{{"reasoning": "<one sentence>", "instruction_score": <1-5>}}')),
    "dual": (
        _INTRO + " The first image is the original, the second an edit of it made for this instruction:\n\"{instruct}\"\n\n"
        "The knowledge behind the correct result: {explanation}\n\nGive two independent scores from 1 to 5. "
        "instruction_score: is the requested change present and correct? knowledge_score: does the result show what "
        "should really happen according to the knowledge above? If instruction_score is 1 or 2, knowledge_score must be "
        "1. " + _SCALE_WORDS + "\n\n"
        + _JSON.format(shape='{{"instruction_reasoning": "<one sentence>", "instruction_score": <1-5>, '
                             '"knowledge_reasoning": "<one sentence>", "knowledge_score": <1-5>}}')),
    "view": (
        _INTRO + " The first image is the original, the second an edit of it made for this instruction:\n\"{instruct}\"\n"
        "The third image shows the correct new viewpoint.\n\nRate from 1 to 5 how closely the edit's viewpoint matches "
        "the instruction and the third image (orientation, perspective, occlusion). " + _SCALE_WORDS + "\n\n"
        + _JSON.format(shape='{{"reasoning": "<one sentence>", "instruction_score": <1-5>}}')),
    "consistency_temporal": (
        _INTRO + " The images are frames of one sequence in order; the one labelled below as generated was made for this "
        "instruction:\n\"{instruct}\"\n\nFrame order: {frames}\n\nRate from 1 to 5 how consistent the generated frame is "
        "with the others in identity, style and scene, ignoring natural motion. " + _SCALE_WORDS + "\n\n"
        + _JSON.format(shape='{{"reasoning": "<one sentence>", "consistency_score": <1-5>}}')),
    "instruction_temporal": (
        _INTRO + " The images are frames of one sequence in order; the one labelled below as generated was made for this "
        "instruction:\n\"{instruct}\"\n\nFrame order: {frames}\n\nRate from 1 to 5 whether the generated frame is the "
        "right frame at its place in time. " + _SCALE_WORDS + "\n\n"
        + _JSON.format(shape='{{"reasoning": "<one sentence>", "instruction_score": <1-5>}}')),
    "consistency_multi": (
        _INTRO + " The last image was composed from the images before it for this instruction:\n\"{instruct}\"\n\n"
        "Rate from 1 to 5 how well the composite keeps everything the instruction did not ask to change from the source "
        "that serves as its background. " + _SCALE_WORDS + "\n\n"
        + _JSON.format(shape='{{"reasoning": "<one sentence>", "consistency_score": <1-5>}}')),
    "instruction_multi": (
        _INTRO + " The last image was composed from the images before it for this instruction:\n\"{instruct}\"\n\n"
        "Rate from 1 to 5 whether the composite carries out the instruction with the right elements from the right "
        "sources, placed and rendered correctly. " + _SCALE_WORDS + "\n\n"
        + _JSON.format(shape='{{"reasoning": "<one sentence>", "instruction_score": <1-5>}}')),
}
#: Which official constant each question uses.
OFFICIAL_OF = {"consistency": "prompt_consist", "quality": "prompt_quality", "instruction": "prompt_instruction_following",
               "anomaly": "prompt_abnormal_instruction_following", "dual": "prompt_dual_evaluation",
               "view": "prompt_view_instruction_following", "consistency_temporal": "prompt_consist_temporal",
               "instruction_temporal": "prompt_instruction_temporal", "consistency_multi": "prompt_consist_multi",
               "instruction_multi": "prompt_instruction_multi"}


# ---------------------------------------------------------------------------------------------
# answer readers
# ---------------------------------------------------------------------------------------------
_FALLBACKS = (r"([1-5])\s*/\s*5", r"([1-5])\s+out\s+of\s+5", r"\b([1-5])\b")


def _json_value(raw: str, key: str) -> tuple[bool, Any]:
    """Upstream's JSON step: the first ``{...}`` without nested braces that mentions ``key``, json-decoded."""
    match = re.search(r"\{[^{}]*" + re.escape(key) + r"[^{}]*\}", raw, re.DOTALL)
    if not match:
        return False, None
    try:
        return True, json.loads(match.group(0))
    except ValueError:
        return True, None


def official_score(raw: str, key: str) -> int | None:
    """Upstream's ``extract_score_and_reason``: the key's value from a JSON block (``int()`` of it, any value),
    else ``<key words>: n``, ``n/5``, ``n out of 5``, then the first lone digit 1–5."""
    raw = raw or ""
    _found, data = _json_value(raw, key)
    if isinstance(data, dict) and data.get(key) is not None:
        try:
            return int(data[key])
        except (TypeError, ValueError):
            pass
    words = key.replace("_score", "")
    for pattern in (words + r"[_\s]*score\s*[:：]?\s*([1-5])", *_FALLBACKS):
        match = re.search(pattern, raw, re.IGNORECASE | re.DOTALL)
        if match:
            return int(match.group(1))
    return None


def official_dual(raw: str) -> dict[str, int | None]:
    """Upstream's ``extract_dual_scores``: a JSON block with ``instruction_score`` (both values, ``int()``), else
    ``instruction score: n`` and ``knowledge score: n`` (colon required)."""
    raw = raw or ""
    _found, data = _json_value(raw, "instruction_score")
    if isinstance(data, dict):
        try:
            return {k: (int(data[f"{k}_score"]) if data.get(f"{k}_score") is not None else None)
                    for k in ("instruction", "knowledge")}
        except (TypeError, ValueError):
            pass
    out: dict[str, int | None] = {}
    for k in ("instruction", "knowledge"):
        match = re.search(k + r"[_\s]*score\s*[:：]\s*([1-5])", raw, re.IGNORECASE)
        out[k] = int(match.group(1)) if match else None
    return out


def strict_score(raw: str, key: str) -> int | None:
    """genlens's reader: the key given exactly once (JSON or ``key: n``) with a whole number 1–5, else None."""
    values = re.findall(r'"?' + re.escape(key) + r'"?\s*[:：]\s*"?(-?\d+(?:\.\d+)?)"?', raw or "", re.IGNORECASE)
    if len(values) != 1 or not re.fullmatch(r"\d", values[0]):
        return None
    value = int(values[0])
    return value if value in SCALE else None


def read_answer(raw: str, metric: str, official: bool) -> dict[str, int] | None:
    """The scores an answer to one metric's question holds ({metric: n}, plus ``knowledge`` for a dual answer).

    A reader sees only the answer: an instruction answer that mentions knowledge is read as the dual
    question's (upstream's ``extract_dual_scores``), any other with the single-score extractor.
    """
    raw = raw or ""
    found: dict[str, int | None]
    if official:
        if metric == "instruction" and re.search(r"knowledge[_\s]*score", raw, re.IGNORECASE):
            found = official_dual(raw)
        else:
            found = {metric: official_score(raw, f"{metric}_score")}
    else:
        found = {metric: strict_score(raw, f"{metric}_score")}
        if metric == "instruction" and re.search(r"knowledge[_\s]*score", raw, re.IGNORECASE):
            found["knowledge"] = strict_score(raw, "knowledge_score")
            if found["knowledge"] is None:
                return None  # a dual answer must hold both
    clean = {k: v for k, v in found.items() if v is not None}
    return clean if metric in clean else None


# ---------------------------------------------------------------------------------------------
# items and questions
# ---------------------------------------------------------------------------------------------
def frame_number(name: str) -> int | None:
    match = re.search(r"(\d+)-(\d+)", name)
    return int(match.group(2)) if match else None


def predicted_frame(references: Sequence[str]) -> int:
    """The frame to predict: the one of 1–4 missing from the references (upstream's rule; else the next one)."""
    numbers = [n for n in (frame_number(r) for r in references) if n is not None]
    missing = {1, 2, 3, 4} - set(numbers)
    if len(missing) == 1:
        return missing.pop()
    return max(numbers) + 1 if numbers else 1


def task_of(item: Item) -> str:
    """The reporting task: the folder, with temporal prediction split by the frame to predict."""
    if item.category == TEMPORAL:
        return TEMPORAL_TASKS.get(int(item.meta.get("frame") or 0), "temporal_unknown")
    return item.category


def questions(item: Item, official: bool) -> dict[str, str]:
    """metric question -> text key, for the item's folder."""
    folder = item.category
    if folder == MULTI:
        return {"consistency": "consistency_multi", "instruction": "instruction_multi", "quality": "quality"}
    if folder == TEMPORAL:
        return {"consistency": "consistency_temporal", "instruction": "instruction_temporal", "quality": "quality"}
    if folder in KNOWLEDGE:
        return {"consistency": "consistency", "instruction": "dual", "quality": "quality"}
    if folder == VIEWPOINT:
        return {"consistency": "consistency", "instruction": "view", "quality": "quality"}
    if folder == "anomaly_correction":
        # upstream checks for "abnormality_correction", which no folder is called: the plain prompt is sent
        anomaly = UPSTREAM_ABNORMAL_CHECK in folder if official else True
        return {"consistency": "consistency", "instruction": "anomaly" if anomaly else "instruction", "quality": "quality"}
    return {"consistency": "consistency", "instruction": "instruction", "quality": "quality"}


def reencoded(path: Path, quality: int) -> bytes:
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# suite
# ---------------------------------------------------------------------------------------------
@register_suite
class KrisSuite(OfficialTextJudgedSuite):
    meta = SuiteMeta(
        name="kris",
        version="1",
        title="KRIS-Bench: knowledge-based reasoning edits (factual, conceptual, procedural), judged 1-5 per metric",
        task="edit",
        categories=FOLDERS,
        needs=("judge", "data"),
        data_source=f"{UPSTREAM} @ {DATA_COMMIT[:7]} (KRIS_Bench folder, --data-dir); judge texts: genlens data fetch kris",
        default_samples=1,
        item_count=1267,
        description="Scores mapped (s-1)*25 to 0-100; per metric, per task, per knowledge type and overall (mean of item means).",
    )

    @property
    def root(self) -> Path:
        if self.data_dir is None:
            raise InputError("KRIS-Bench's images are not fetched automatically", fix=DATA_FIX)
        for root in (self.data_dir, self.data_dir / "KRIS_Bench"):
            if any((root / folder / "annotation.json").is_file() for folder in FOLDERS):
                return root
        raise InputError("no KRIS-Bench annotation.json under --data-dir (nor its KRIS_Bench/)", path=self.data_dir, fix=DATA_FIX)

    def items(self) -> Sequence[Item]:
        if self._items is None:
            items: list[Item] = []
            root = self.root
            for folder in FOLDERS:
                path = root / folder / "annotation.json"
                if not path.is_file():
                    continue  # a partial copy: coverage says which tasks are missing
                try:
                    records = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise InputError(f"KRIS-Bench annotation cannot be read ({exc})", path=path, fix=DATA_FIX) from None
                if not isinstance(records, dict):
                    raise InputError("annotation.json is not a mapping of id -> item", path=path, fix=DATA_FIX)
                items.extend(self._item(folder, str(key), rec) for key, rec in records.items())
            self._items = items
        return self._items

    def _item(self, folder: str, key: str, rec: dict[str, Any]) -> Item:
        where = f"KRIS-Bench {folder}/{key}"
        sources = rec.get("ori_img")
        sources = [sources] if isinstance(sources, str) else list(sources or [])
        if not sources:
            raise InputError(f"{where}: no ori_img", fix=DATA_FIX)
        # the annotation files at the pinned commit name the text ins_en / explain_en (older ones: instruction / explain)
        instruction = str(rec.get("ins_en") or rec.get("instruction") or "")
        meta: dict[str, Any] = {"key": key, "explain": str(rec.get("explain_en") or rec.get("explain") or "")}
        if rec.get("gt_img"):
            meta["gt_img"] = relative_inside(f"{folder}/{rec['gt_img']}", record=where, fix=DATA_FIX)
        if folder == TEMPORAL:
            meta["frames"] = [frame_number(s) for s in sources]
            meta["frame"] = predicted_frame(sources)
        return Item(id=f"{folder}__{key}", prompt=instruction, category=folder, kind="edit",
                    input_images=tuple(relative_inside(f"{folder}/{s}", record=where, fix=DATA_FIX) for s in sources),
                    meta=meta)

    def input_path(self, name: str) -> Path:
        return inside_data_dir(self.root, name, record=name)

    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        key = item.meta.get("key", item.id)
        return [f"{item.category}/{key}", item.id]

    def import_layout(self, directory: Path) -> Iterator[ImportedImage]:
        """Upstream's output layout: ``results/<model>/<folder>/<id>.jpg`` (any image extension)."""
        by_folder = {(i.category, str(i.meta.get("key"))): i.id for i in self.items()}
        for folder in FOLDERS:
            for path in sorted((directory / folder).glob("*")) if (directory / folder).is_dir() else []:
                item_id = by_folder.get((folder, path.stem))
                if item_id and path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
                    yield ImportedImage(item_id, 0, path)

    # -- judging -----------------------------------------------------------------------------
    def texts(self) -> dict[str, str]:
        if self.prompt_choice == "genlens":
            return dict(TEXTS)
        return self.fetched_texts(OFFICIAL_OF, benchmark="KRIS-Bench", source="utils/prompts.py")

    def preflight(self, ctx: ScoreContext) -> list[Any]:
        """The official texts must be fetched before a prompt=official run generates anything."""
        if self.prompt_choice != "official":
            return []
        from genlens.runs.preflight import Missing

        try:
            self.texts()
        except InputError as exc:
            return [Missing(f"KRIS-Bench's official judge texts ({exc.message})", exc.fix or "genlens data fetch kris")]
        return []

    def render(self, text: str, item: Item) -> str:
        """A text filled in as upstream's ``str.format`` call fills it (``{{``/``}}`` become braces)."""
        frames = ""
        if item.category == TEMPORAL:
            order = sorted([(n or 0, "Reference") for n in item.meta.get("frames", [])] + [(item.meta["frame"], "Generated")])
            frames = ", ".join(f"Frame {n} ({kind})" for n, kind in order)
        values = {"instruct": item.prompt, "explanation": str(item.meta.get("explain", "")),
                  "N": item.meta.get("frame", ""), "frames": frames}
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            raise InputError(f"a KRIS-Bench judge text has a placeholder genlens cannot fill ({exc})",
                             fix="genlens data fetch kris --force") from None

    def request_images(self, item: Item, question: str, edited: Path) -> tuple[list[str], list[bytes]]:
        """(labels, image bytes) in the order upstream's script sends them."""
        if question == "quality":
            return ["This is the image to evaluate:"], [edited.read_bytes()]
        sources = [self.input_path(p) for p in item.input_images]
        if item.category == MULTI:
            labels = [f"Reference Image {i}:" for i in range(1, len(sources) + 1)] + ["Predicted Image:"]
            return labels, [p.read_bytes() for p in sources] + [edited.read_bytes()]
        if item.category == TEMPORAL:
            frames = [(n or 0, "Reference", p) for n, p in zip(item.meta.get("frames", []), sources, strict=False)]
            frames.append((int(item.meta["frame"]), "Generated", edited))
            frames.sort(key=lambda f: f[0])
            return ([f"Frame {n} ({kind}):" for n, kind, _p in frames],
                    [reencoded(p, TEMPORAL_JPEG_QUALITY) for _n, _k, p in frames])
        labels = ["This is the original image:", "This is the edited image:"]
        images = [sources[0].read_bytes(), edited.read_bytes()]
        if question == "view" and item.meta.get("gt_img"):
            labels.append("This is the ground truth image:")
            images.append(self.input_path(item.meta["gt_img"]).read_bytes())
        return labels, images

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
        official_texts = self.prompt_choice == "official"
        official = parse_mode(params) == "official"
        name = f"official:{UPSTREAM}@{COMMIT[:7]}" if official_texts else "genlens:kris-v1"
        scorers: list[Scorer] = []
        for metric in ("consistency", "instruction", "quality"):
            template = Template(name=f"{name}/{metric}", system=None, user=json.dumps(texts, sort_keys=True, ensure_ascii=False))

            def build(inp: ScoreInput, tmpl: Any, metric: str = metric) -> JudgeRequest:
                item = inp.item
                question = questions(item, official_texts)[metric]
                text = self.render(json.loads(tmpl.user)[question], item)
                labels, images = self.request_images(item, question, inp.image_paths[0])
                # the judge layer sends the text, then the images in order: upstream's captions close the text
                text = text.rstrip("\n") + "\n\nThe images, in order: " + " / ".join(labels)
                return JudgeRequest(system=None, text=text, images=images)

            def strict(raw: str, metric: str = metric) -> Any:
                return read_answer(raw, metric, official=False)

            def upstream(raw: str, metric: str = metric) -> Any:
                return read_answer(raw, metric, official=True)

            main, check = (upstream, strict) if official else (strict, upstream)
            scorers.append(JudgeScorer(
                name=f"kris_{metric}", version="1", judge=judge, template=template, build=build, parse=main,
                parser_id=f"kris-{'official' if official else 'strict'}", check_parse=check,
                check_parser_id=f"kris-{'strict' if official else 'official'}",
            ))
        return scorers

    # -- aggregation -------------------------------------------------------------------------
    def _size_changed(self, item: Item, edited_path: Path) -> bool | None:
        from PIL import Image

        try:
            with Image.open(self.input_path(item.input_images[0])) as source, Image.open(edited_path) as edited:
                return source.size != edited.size
        except (OSError, InputError):
            return None

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        rows: list[dict[str, Any]] = []
        counts = {"refused": 0, "errored": 0, "unparsed": 0, "judge_errors": 0, "off_scale": 0, "size_changed": 0,
                  "knowledge_rule_broken": 0, "parse_disagreements": 0}
        for entry in scored:
            gen, item = entry.generation, entry.item
            row: dict[str, Any] = {"item": item.id, "sample": gen.sample, "category": item.category, "task": task_of(item),
                                   "knowledge_type": knowledge_type(item.category), "prompt": item.prompt,
                                   "status": gen.status, "image": gen.images[0] if gen.images else None, "score": None}
            records = {m: entry.scores.get(f"kris_{m}") for m in ("consistency", "instruction", "quality")}
            counts["parse_disagreements"] += parse_disagreements(records.values())
            if gen.status == "error":
                counts["errored"] += 1
                rows.append({**row, "reason": gen.reason})
                continue
            if gen.status == "refused":
                # upstream has no rule (no image: the item drops out of its means, which would reward refusing);
                # genlens scores every metric at the scale's minimum, as for ImgEdit
                counts["refused"] += 1
                floor = {m: SCALE[0] for m in ("consistency", "instruction", "quality")}
                if item.category in KNOWLEDGE:
                    floor["knowledge"] = SCALE[0]
                rows.append({**row, **floor, "score": float(SCALE[0]), "reason": f"refused: {gen.reason}"})
                continue
            row["size_changed"] = self._size_changed(item, ctx.run_dir / gen.images[0])
            counts["size_changed"] += int(bool(row["size_changed"]))
            if any(r is None for r in records.values()):
                rows.append({**row, "reason": "not judged (no --judge)"})
                continue
            scores: dict[str, int | None] = {}
            for metric, record in records.items():
                found = (record.value.get("scores") or {}) if record.status == "ok" else {}
                if record.status == "error":
                    counts["judge_errors"] += 1
                elif record.status == "unparsed":
                    counts["unparsed"] += 1
                scores[metric] = found.get(metric)
                if metric == "instruction" and item.category in KNOWLEDGE:
                    scores["knowledge"] = found.get("knowledge")
            for metric, value in scores.items():
                row[metric] = value
                if value is not None and value not in SCALE:
                    counts["off_scale"] += 1  # kept, as upstream keeps it (parse=official only: strict reads 1-5)
            if (item.category in KNOWLEDGE and scores.get("instruction") is not None and scores["instruction"] <= 2
                    and scores.get("knowledge") not in (None, 1)):
                counts["knowledge_rule_broken"] += 1
            present = [v for v in scores.values() if v is not None]
            row["score"] = sum(present) / len(present) if present else None
            missing = [m for m, v in scores.items() if v is None]
            row["reason"] = f"no {', '.join(missing)} score read" if missing else ""
            rows.append(row)
        return self._result(rows, counts, ctx)

    def _result(self, rows: list[dict[str, Any]], counts: dict[str, int], ctx: ScoreContext) -> SuiteResult:
        scored_rows = [r for r in rows if r["score"] is not None]

        def table(chosen: list[dict[str, Any]]) -> dict[str, Any]:
            out: dict[str, Any] = {"score": percent(mean_or_none([r["score"] for r in chosen])), "n": len(chosen)}
            for metric in METRICS:
                values = [r[metric] for r in chosen if r.get(metric) is not None]
                out[metric] = percent(mean_or_none(values))
            return out

        categories = {folder: table([r for r in scored_rows if r["category"] == folder]) for folder in FOLDERS}
        tasks = sorted({r["task"] for r in rows} | {v for v in TEMPORAL_TASKS.values()})
        by_task = {t: table([r for r in scored_rows if r["task"] == t]) for t in tasks}
        by_type = {k: table([r for r in scored_rows if r["knowledge_type"] == k]) for k in KNOWLEDGE_TYPES}
        by_sub = {f"{k}/{sub}": table([r for r in scored_rows if r["category"] in folders])
                  for k, groups in TAXONOMY.items() for sub, folders in groups.items()}
        overall = table(scored_rows)
        expected = len(self.items())
        present = {i.category for i in self.items()}
        coverage = Coverage(prompts=(len({r["item"] for r in scored_rows}), expected),
                            images=(len(scored_rows), len(rows) or expected),
                            tags=(len({r["category"] for r in scored_rows}), len(present)))
        complete = coverage.complete and len(present) == len(FOLDERS)
        headline: dict[str, Any] = {"overall": overall["score"] if complete else None}
        metrics: dict[str, Any] = {**{f"{k}": by_type[k]["score"] for k in KNOWLEDGE_TYPES},
                                   **{f"{m}_mean": overall[m] for m in METRICS},
                                   "knowledge_types": by_type, "dimensions": by_sub, "tasks": by_task}
        notes = [
            "0-100 = (s-1)*25 of the 1-5 judge scores; item score = mean of its metrics (knowledge only for the 10 "
            "knowledge tasks); task, knowledge type and overall = mean of item scores; per metric = mean over items with it",
            "knowledge_rule_broken: knowledge tasks whose answer gave instruction <= 2 and knowledge > 1 (the rubric asks for "
            "1; upstream does not enforce it and neither does genlens)",
            "images: the files' own bytes at their own size (temporal frames JPEG q85, in frame order), captions appended to "
            "the text because the judge layer sends text then images (upstream interleaves them)",
            "a refused edit scores 1 on every metric (0 on the 0-100 scale); upstream has no rule: an item without an "
            "image drops out of its means",
            "published KRIS-Bench numbers: judge gpt-4o (unpinned snapshot, default temperature, max_tokens 1000)",
        ]
        if self.prompt_choice == "official":
            notes.append("official texts: anomaly_correction gets the plain instruction prompt, as upstream (its check "
                         "looks for 'abnormality_correction')")
        if not complete:
            metrics["overall_partial"] = overall["score"]
            notes.append(f"partial run ({coverage.text()}; {len(present)} of {len(FOLDERS)} task folders present): no "
                         "headline overall, not comparable with published numbers")
        from genlens.suites._edit_judge import configured_judge

        provenance = {"notes": notes, "upstream": f"{UPSTREAM}@{COMMIT}", "data": f"{UPSTREAM}@{DATA_COMMIT}",
                      "prompt": self.prompt_choice, "judge": configured_judge(ctx), "items": expected}
        return SuiteResult(headline=headline, metrics=metrics, categories=categories, counts=counts,
                           extra={"coverage": coverage.as_dict()}, provenance=provenance, rows=rows)
