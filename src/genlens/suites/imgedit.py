"""``imgedit`` and ``imgedit-uge``: ImgEdit-Bench (PKU-YuanGroup), judged 1–5 per criterion.

Protocol (PKU-YuanGroup/ImgEdit @ 547185d, ``Benchmark/Basic`` and ``Benchmark/UGE``; read, not copied):

- Basic: 737 edits in 9 types (add, adjust, extract, replace, remove, background, style, compose,
  action). Each edit's source image and the edited result go to the judge (GPT-4o upstream) with
  the rubric of its type, three criteria scored 1–5 (names per type below). The answer is read
  line by line: every line ``<label>: <digits>`` contributes its number; the item's score is the
  mean of those numbers rounded to 2 decimals (``step1_get_avgscore.py``); an answer with none is
  dropped. Per type: the mean of its items (``step2_typescore.py``). Overall: the mean over all
  items (what lmms-eval's port prints as the overall; upstream's scripts stop at the type means,
  whose unweighted mean genlens reports beside it as ``overall_type_mean``).
- UGE: 47 hard edits, one rubric, read and averaged the same way; the score is the mean over items.
- Images are sent as upstream sends them: the files' own bytes, source then edited, at their own
  size (no resizing); an edited image of another size than its source is judged as it is and
  counted (``size_changed``), as diag-size measures it.

genlens's rubric wording is its own (default, one template for every type naming the type's three
criteria); the official per-type texts are fetched from the pinned commit (``genlens data fetch
imgedit``, sha256-checked) and used with ``--suite-arg prompt=official``. ``--scorer-arg
parse=official`` reads answers with upstream's line rule (any count of numbers, any value) instead
of genlens's strict reader (exactly the three criteria, each a whole number 1–5); answers the two
read differently are counted either way. A refused edit scores 1 on every criterion (the scale's
minimum; upstream has no rule: its judge call fails on a missing image). Generation errors leave
the item unscored: the headline is then withheld (``overall_partial``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from genlens.data.paths import inside_data_dir, relative_inside
from genlens.errors import InputError, SpecError
from genlens.judges.scorer import parse_disagreements
from genlens.scorers.base import Scorer
from genlens.stats import mean_or_none
from genlens.suites._coverage import Coverage
from genlens.suites._official_text import OfficialTextJudgedSuite
from genlens.suites.base import ImportedImage, ScoreContext, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

UPSTREAM = "PKU-YuanGroup/ImgEdit"
COMMIT = "547185d12c08267a862b94248576e1746e479937"
#: The 9 edit types and the three criteria each is judged on (names as upstream's rubrics label them).
CRITERIA: dict[str, tuple[str, str, str]] = {
    "add": ("Prompt Compliance", "Visual Naturalness", "Physical & Detail Coherence"),
    "adjust": ("Prompt Compliance", "Visual Seamlessness", "Physical & Detail Fidelity"),
    "extract": ("Object Identity", "Mask Precision", "Visual Quality"),
    "replace": ("Prompt Compliance", "Visual Naturalness", "Physical & Detail Integrity"),
    "remove": ("Prompt Compliance", "Visual Naturalness", "Physical & Detail Integrity"),
    "background": ("Instruction Compliance", "Visual Seamlessness", "Physical Consistency"),
    "style": ("Style Fidelity", "Content Preservation", "Rendering Quality"),
    "compose": ("Instruction Compliance", "Visual Naturalness", "Physical Consistency & Fine Detail"),
    "action": ("Action Fidelity", "Identity Preservation", "Visual & Anatomical Coherence"),
}
EDIT_TYPES = tuple(CRITERIA)
UGE_CRITERIA = ("Score",)
SCALE = range(1, 6)
BASIC_JSON = "basic_edit.json"
UGE_JSON = "UGE_edit.json"
PROMPTS_JSON = "prompts.json"
DATA_FIX = ("run `genlens data fetch imgedit` for the instructions and rubrics, and give --data-dir with ImgEdit's "
            "benchmark images (Benchmark.tar of the HF dataset sysuyy/ImgEdit, extracted)")

SYSTEM = ("You are a careful, impartial rater of AI image edits. You compare the images you are shown and answer "
          "only in the format you are asked for.")
BASIC_USER = """You are shown two images: first the original picture, then the result of an image-editing model asked to do this ({edit_type} edit):

"{instruction}"

Rate the result on each of these three criteria with a whole number from 1 to 5, where 1 means very poor and 5 means flawless:

{criteria_list}

A result that changes parts of the picture the instruction did not mention cannot score above 3 on any criterion. Answer in exactly this format, one line each:
Brief reasoning: <at most 20 words>
{answer_lines}"""
UGE_USER = """You are shown two images: first the original picture, then the result of an image-editing model asked to do this:

"{instruction}"

Rate the edit with one whole number from 1 to 5: 1 means the instruction was ignored or badly executed, 3 means it was carried out with minor deviations or visible artificiality, 5 means it was carried out exactly, naturally, and nothing else in the picture changed. If anything outside the requested edit changed, the score cannot exceed 3.

Answer in exactly this format:
Brief reasoning: <at most 20 words>
Score: <1-5>"""


# ---------------------------------------------------------------------------------------------
# answer readers
# ---------------------------------------------------------------------------------------------
def official_values(raw: str) -> dict[str, list[int]] | None:
    """Upstream's reader: every line that splits on ': ' into exactly two parts, the second all digits."""
    values = []
    for line in (raw or "").splitlines():
        parts = line.strip().split(": ")
        if len(parts) == 2 and parts[1].isdigit():
            try:
                values.append(int(parts[1]))
            except ValueError:  # str.isdigit() admits digits int() refuses (superscripts): upstream would crash
                return None
    return {"values": values} if values else None


def strict_values(raw: str, criteria: Sequence[str]) -> dict[str, list[int]] | None:
    """genlens's reader: every criterion of the rubric, each a whole number 1–5 (else unread)."""
    from genlens.judges.parsing import parse_scores

    parsed = parse_scores(raw, list(criteria), SCALE)
    if parsed is None:
        return None
    return {"values": [int(parsed[c]) for c in criteria]}


def item_score(values: Sequence[float]) -> float:
    """An item's score: the mean of the numbers read, rounded to 2 decimals (upstream's step 1)."""
    return round(sum(values) / len(values), 2)


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def instruction_dir(data_dir: Path | None) -> Path:
    """Where basic_edit.json / UGE_edit.json / prompts.json are: --data-dir when it holds them, else the fetch dir."""
    if data_dir is not None and (data_dir / BASIC_JSON).is_file():
        return data_dir
    from genlens.data.fetch import data_root

    return data_root() / "imgedit"


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("ImgEdit data file not found", path=path, fix=DATA_FIX) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"ImgEdit data file cannot be read ({exc})", path=path,
                         fix="fetch it again: genlens data fetch imgedit --force") from None


def basic_items(records: dict[str, Any]) -> list[Item]:
    items = []
    for key, rec in records.items():
        edit_type = rec.get("edit_type")
        if edit_type not in CRITERIA:
            raise InputError(f"ImgEdit record {key}: unknown edit_type {edit_type!r}", fix=DATA_FIX)
        items.append(Item(id=str(key), prompt=str(rec["prompt"]), category=edit_type, kind="edit",
                          input_images=(relative_inside(rec["id"], record=f"ImgEdit {key}", fix=DATA_FIX),), meta={"key": str(key)}))
    return items


def uge_items(records: dict[str, Any]) -> list[Item]:
    return [Item(id=str(key), prompt=str(rec["prompt"]), category="uge", kind="edit",
                 input_images=(relative_inside(rec["id"], record=f"ImgEdit {key}", fix=DATA_FIX),), meta={"key": str(key)})
            for key, rec in records.items()]


# ---------------------------------------------------------------------------------------------
# suites
# ---------------------------------------------------------------------------------------------
class _ImgEditBase(OfficialTextJudgedSuite):
    records_file = BASIC_JSON

    def _make_items(self, records: dict[str, Any]) -> list[Item]:
        raise NotImplementedError

    def items(self) -> Sequence[Item]:
        if self._items is None:
            records = read_json(instruction_dir(self.data_dir) / self.records_file)
            if not isinstance(records, dict):
                raise InputError(f"{self.records_file} is not a mapping of key -> edit", fix=DATA_FIX)
            self._items = self._make_items(records)
        return self._items

    def images_root(self) -> Path:
        """The folder holding the benchmark's source images (--data-dir, or its ``images/``)."""
        if self.data_dir is None:
            raise InputError("ImgEdit's source images are not fetched automatically", fix=DATA_FIX)
        first = self.items()[0].input_images[0] if self.items() else ""
        for root in (self.data_dir, self.data_dir / "images", self.data_dir / "Benchmark"):
            if (root / first).is_file():
                return root
        raise InputError(f"source image {first} not found under --data-dir (nor its images/ or Benchmark/)",
                         path=self.data_dir, fix=DATA_FIX)

    def input_path(self, name: str) -> Path:
        return inside_data_dir(self.images_root(), name, record=name)

    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        return [item.id]  # upstream's layout: <key>.png in one folder

    def import_layout(self, directory: Path) -> Iterator[ImportedImage]:
        """Upstream's output layout: ``<key>.png`` (any image extension) in one folder."""
        ids = {item.id for item in self.items()}
        for path in sorted(directory.iterdir()):
            if path.is_file() and path.stem in ids and path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
                yield ImportedImage(path.stem, 0, path)

    # -- judging -----------------------------------------------------------------------------
    def criteria(self, item: Item) -> tuple[str, ...]:
        raise NotImplementedError

    def official_texts(self) -> dict[str, str]:
        raise NotImplementedError

    def template(self) -> Any:
        """One template whose hash covers every text a verdict may have been asked with."""
        from genlens.judges.templates import Template

        if self.prompt_choice == "official":
            texts = self.official_texts()
            return Template(name=f"official:{UPSTREAM}@{COMMIT[:7]}/{self.meta.name}", system=None,
                            user=json.dumps(texts, sort_keys=True, ensure_ascii=False))
        return Template(name=f"genlens:{self.meta.name}-v1", system=SYSTEM, user=self.genlens_user())

    def genlens_user(self) -> str:
        raise NotImplementedError

    def request_text(self, item: Item, template: Any) -> tuple[str | None, str]:
        if self.prompt_choice == "official":
            texts = json.loads(template.user)
            return None, texts[item.category if item.category in texts else "uge"].replace("<edit_prompt>", item.prompt)
        criteria = self.criteria(item)
        return template.render(
            instruction=item.prompt, edit_type=item.category,
            criteria_list="\n".join(f"- {c}" for c in criteria),
            answer_lines="\n".join(f"{c}: <1-5>" for c in criteria),
        )

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        from genlens.suites._edit_judge import context_judge

        chosen = context_judge(ctx)
        if chosen is None:
            return []
        judge, prompt_file, params = chosen
        from genlens.judges.base import JudgeRequest
        from genlens.judges.official import parse_mode
        from genlens.judges.scorer import JudgeScorer
        from genlens.judges.templates import load_template_file

        template = load_template_file(prompt_file, required=("instruction",)) if prompt_file else self.template()
        by_id = {item.id: item for item in self.items()}
        official = parse_mode(params) == "official"

        def build(inp: ScoreInput, tmpl: Any) -> JudgeRequest:
            item = by_id.get(inp.item.id, inp.item)
            system, text = (tmpl.render(instruction=item.prompt) if prompt_file else self.request_text(item, tmpl))
            source = self.input_path(item.input_images[0]).read_bytes()
            return JudgeRequest(system=system, text=text, images=[source, inp.image_paths[0].read_bytes()])

        # A reader sees only the answer (it also re-reads stored answers on --rejudge), so the strict
        # reader accepts the criteria of any of the suite's rubrics: the judge was asked for its item's.
        label_sets = sorted({self.criteria(item) for item in self.items()})

        def read_strict(raw: str) -> Any:
            for labels in label_sets:
                parsed = strict_values(raw, labels)
                if parsed is not None:
                    return parsed
            return None

        main, check = (official_values, read_strict) if official else (read_strict, official_values)
        return [JudgeScorer(
            name="imgedit_judge", version="1", judge=judge, template=template, build=build, parse=main,
            parser_id=f"imgedit-{'official' if official else 'strict'}", check_parse=check,
            check_parser_id=f"imgedit-{'strict' if official else 'official'}",
        )]

    # -- aggregation -------------------------------------------------------------------------
    def item_rows(self, scored: Sequence[ScoredGeneration], run_dir: Path) -> tuple[list[dict[str, Any]], dict[str, int]]:
        rows: list[dict[str, Any]] = []
        counts = {"refused": 0, "errored": 0, "unparsed": 0, "judge_errors": 0, "size_changed": 0, "parse_disagreements": 0}
        for entry in scored:
            gen, item = entry.generation, entry.item
            row: dict[str, Any] = {"item": item.id, "sample": gen.sample, "category": item.category, "prompt": item.prompt,
                                   "status": gen.status, "image": gen.images[0] if gen.images else None, "score": None}
            record = entry.scores.get("imgedit_judge")
            counts["parse_disagreements"] += parse_disagreements([record])
            if gen.status == "error":
                counts["errored"] += 1
                rows.append({**row, "reason": gen.reason})
                continue
            if gen.status == "refused":
                counts["refused"] += 1
                rows.append({**row, "score": float(SCALE[0]), "reason": f"refused: {gen.reason}"})
                continue
            row["size_changed"] = self._size_changed(item, run_dir / entry.generation.images[0])
            counts["size_changed"] += int(bool(row["size_changed"]))
            if record is None:
                rows.append({**row, "reason": "not judged (no --judge)"})
                continue
            if record.status == "error":
                counts["judge_errors"] += 1
            elif record.status == "unparsed":
                counts["unparsed"] += 1
            values = (record.value.get("scores") or {}).get("values") if record.status == "ok" else None
            row["score"] = item_score(values) if values else None
            row["values"] = values
            row["judge"] = {"raw": record.value.get("raw"), "scores": record.value.get("scores")}
            row["reason"] = "" if values else f"judge answer {record.status}"
            rows.append(row)
        return rows, counts

    def _size_changed(self, item: Item, edited_path: Path) -> bool | None:
        """Whether the edited image's size differs from its source's (None when either cannot be read)."""
        from PIL import Image

        try:
            with Image.open(self.input_path(item.input_images[0])) as source, Image.open(edited_path) as edited:
                return source.size != edited.size
        except (OSError, InputError):
            return None


@register_suite
class ImgEditSuite(_ImgEditBase):
    meta = SuiteMeta(
        name="imgedit",
        version="1",
        title="ImgEdit-Bench basic: 737 edits in 9 types, judged 1-5 on three criteria",
        task="edit",
        categories=EDIT_TYPES,
        needs=("judge", "data"),
        data_source=f"{UPSTREAM} @ {COMMIT[:7]} (instructions, rubrics: genlens data fetch imgedit); images: HF sysuyy/ImgEdit",
        default_samples=1,
        item_count=737,
        description="Per item the mean of the three criterion scores (2 decimals); per type and overall the mean of items.",
    )

    def _make_items(self, records: dict[str, Any]) -> list[Item]:
        return basic_items(records)

    def criteria(self, item: Item) -> tuple[str, ...]:
        return CRITERIA[item.category]

    def official_texts(self) -> dict[str, str]:
        texts = read_json(instruction_dir(self.data_dir) / PROMPTS_JSON)
        if not isinstance(texts, dict) or set(texts) != set(CRITERIA):
            raise InputError("prompts.json does not hold the 9 ImgEdit rubrics", fix="genlens data fetch imgedit --force")
        return {k: str(v) for k, v in texts.items()}

    def genlens_user(self) -> str:
        return BASIC_USER

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        rows, counts = self.item_rows(scored, ctx.run_dir)
        scored_rows = [r for r in rows if r["score"] is not None]
        per_type = {t: [r["score"] for r in scored_rows if r["category"] == t] for t in EDIT_TYPES}
        categories = {t: {"score": mean_or_none(v), "n": len(v)} for t, v in per_type.items()}
        overall = mean_or_none([r["score"] for r in scored_rows])
        type_means = [c["score"] for c in categories.values() if c["score"] is not None]
        type_mean = sum(type_means) / len(type_means) if len(type_means) == len(EDIT_TYPES) else None
        expected = len(self.items())
        done = {r["item"] for r in scored_rows}
        coverage = Coverage(prompts=(len(done), expected), images=(len(scored_rows), len(rows) or expected),
                            tags=(len(type_means), len(EDIT_TYPES)))
        metrics: dict[str, Any] = {"overall_type_mean": type_mean}
        headline: dict[str, Any] = {"overall": overall if coverage.complete else None}
        notes = [
            "item score = mean of the numbers read from the judge answer, rounded to 2 decimals (upstream step 1); "
            "per type = mean of its items (step 2); overall = mean over all items; overall_type_mean = unweighted mean of "
            "the 9 type means",
            "images sent as their own file bytes, source then edited, no resizing (upstream)",
            "a refused edit scores 1 (the scale's minimum)",
        ]
        if not coverage.complete:
            metrics["overall_partial"] = overall
            notes.append(f"partial run ({coverage.text()}): no headline overall; overall_partial is the mean over what "
                         "was scored, not comparable with published numbers")
        return SuiteResult(headline=headline, metrics=metrics, categories=categories, counts=counts,
                           extra={"coverage": coverage.as_dict()}, provenance=self._provenance(ctx, notes), rows=rows)

    def _provenance(self, ctx: ScoreContext, notes: list[str]) -> dict[str, Any]:
        return imgedit_provenance(self, ctx, notes)


@register_suite
class ImgEditUGESuite(_ImgEditBase):
    meta = SuiteMeta(
        name="imgedit-uge",
        version="1",
        title="ImgEdit-Bench UGE: 47 understanding-grounding-editing hard cases, judged 1-5",
        task="edit",
        categories=("uge",),
        needs=("judge", "data"),
        data_source=f"{UPSTREAM} @ {COMMIT[:7]} (genlens data fetch imgedit); images: HF sysuyy/ImgEdit",
        default_samples=1,
        item_count=47,
        description="Per item the mean of the numbers read (2 decimals); the score is the mean over items.",
    )
    records_file = UGE_JSON

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        if self.prompt_choice == "official":
            raise SpecError("ImgEdit's UGE rubric lives inside its script, not in a data file genlens fetches",
                            fix="use the default wording, or pass the text with --judge-prompt FILE ({instruction} placeholder)")

    def _make_items(self, records: dict[str, Any]) -> list[Item]:
        return uge_items(records)

    def criteria(self, item: Item) -> tuple[str, ...]:
        return UGE_CRITERIA

    def official_texts(self) -> dict[str, str]:  # refused in __init__
        raise AssertionError("unreachable")

    def genlens_user(self) -> str:
        return UGE_USER

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        rows, counts = self.item_rows(scored, ctx.run_dir)
        scored_rows = [r for r in rows if r["score"] is not None]
        score = mean_or_none([r["score"] for r in scored_rows])
        expected = len(self.items())
        coverage = Coverage(prompts=(len({r["item"] for r in scored_rows}), expected), images=(len(scored_rows), len(rows) or expected))
        metrics: dict[str, Any] = {}
        notes = ["item score = mean of the numbers read, rounded to 2 decimals; score = mean over items (upstream)",
                 "a refused edit scores 1 (the scale's minimum)"]
        if not coverage.complete:
            metrics["score_partial"] = score
            notes.append(f"partial run ({coverage.text()}): no headline score")
        return SuiteResult(headline={"score": score if coverage.complete else None}, metrics=metrics,
                           categories={"uge": {"score": score, "n": len(scored_rows)}}, counts=counts,
                           extra={"coverage": coverage.as_dict()}, provenance=imgedit_provenance(self, ctx, notes), rows=rows)


def imgedit_provenance(suite: _ImgEditBase, ctx: ScoreContext, notes: list[str]) -> dict[str, Any]:
    from genlens.suites._edit_judge import configured_judge

    judge = configured_judge(ctx)
    out: dict[str, Any] = {"notes": list(notes), "upstream": f"{UPSTREAM}@{COMMIT}", "prompt": suite.prompt_choice,
                           "judge": judge}
    if judge is None:
        out["notes"].append("no --judge given: no scores")
        return out
    from genlens.judges.official import parse_mode
    from genlens.judges.scorer import judge_choice

    mode = parse_mode(judge_choice(ctx, "").params)
    out["parser"] = ("official: every '<label>: <digits>' line, any count, any value (upstream's reader)" if mode == "official"
                     else "genlens strict: each criterion once, a whole number 1-5; --scorer-arg parse=official for upstream's reader")
    out["notes"].append("published ImgEdit numbers used GPT-4o (unpinned snapshot, API default temperature); "
                        "BAGEL's evaluation pins gpt-4o-2024-11-20")
    return out
