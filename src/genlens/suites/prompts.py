"""``prompts``: your own prompt set, scored with the scorers you pick, tabled per category.

Data (``--data`` or ``--suite-arg data=…``): a ``.jsonl`` file (one JSON object per line), a
``.csv`` file (a header row), or ``hf:<dataset>[:split]`` (a Hugging Face dataset through
``datasets``; ``--suite-arg revision=<commit>`` pins it; a directory written by
``Dataset.save_to_disk`` works too). Columns:

- ``prompt`` (required); ``id`` (default: the row number, 5 digits); ``category`` (default ``all``);
- ``size``: ``1024x1024`` or ``[1024, 1024]``, the size requested from the model;
- ``image``: a reference image (path relative to the data file): the item becomes an *edit* of it,
  with ``prompt`` as the instruction;
- ``questions``: yes/no questions for the ``vqa`` scorer (a JSON list, or ``q1 | q2`` in a CSV).

Scorers (``--suite-arg scorers=props,clip,judge,vqa``; default ``props``):

- ``props``: weight-free image properties: decodes, exact requested size, not blank (image-props' rules);
- ``clip``: CLIPScore = 100 · max(cos(image, prompt), 0) with ``--clip`` weights (default CLIP ViT-L/14);
- ``judge``: a VLM judge with your rubric (``--judge SPEC --judge-prompt rubric.txt``; the rubric's
  ``{prompt}`` placeholder gets the item's prompt, and the answer must contain ``Score: <number>``);
- ``vqa``: for each question, the yes-probability (VQAScore-style): with a ``local:`` judge the
  probability of the token ``Yes`` first in the answer; with an API judge its yes/no answer (1 / 0).
  The item's score is the mean over its questions.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genlens.args import Arg
from genlens.errors import InputError, SpecError
from genlens.imageio import load_rgb
from genlens.scorers.base import Scorer
from genlens.stats import mean_or_none
from genlens.suites.base import ScoreContext, Suite, SuiteMeta, SuiteResult, register_suite
from genlens.suites.image_props import image_properties
from genlens.types import Item, ScoredGeneration, ScoreInput

SCORER_CHOICES = ("props", "clip", "judge", "vqa")
COLUMNS = ("id", "prompt", "category", "size", "image", "questions")
#: The headline metric of each scorer (mean over scored images).
METRICS = {"props": "pass_rate", "clip": "clip_score", "judge": "judge_score", "vqa": "vqa_score"}
_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")
_SCORE = re.compile(r"score\s*[:=]\s*\**\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
VQA_TEMPLATE = "Does this image show what the question asks? Question: {question} Answer yes or no."


# -- reading a prompt set ------------------------------------------------------------------------
def _size(value: Any, where: str) -> tuple[int, int] | None:
    if value in (None, ""):
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    match = _SIZE.match(str(value))
    if not match:
        raise InputError(f"{where}: size {value!r} is not WIDTHxHEIGHT", fix="write e.g. 1024x1024 (or leave it empty)")
    return int(match.group(1)), int(match.group(2))


def _questions(value: Any, where: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise InputError(f"{where}: questions is not a JSON list", fix='write ["q1", "q2"] or q1 | q2') from None
        else:
            return [q.strip() for q in text.split("|") if q.strip()]
    if not isinstance(value, list) or not all(isinstance(q, str) for q in value):
        raise InputError(f"{where}: questions must be a list of strings", fix='write ["Is there a cat?", "Is it red?"]')
    return [q.strip() for q in value if q.strip()]


def record_to_item(record: dict[str, Any], row: int, where: str, base: Path | None) -> Item:
    """One row of a prompt set as an :class:`Item` (a one-line error names the row and the fix)."""
    prompt = record.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError(f"{where}: no 'prompt'", fix=f"every row needs a prompt (columns: {', '.join(COLUMNS)})")
    item_id = str(record.get("id") if record.get("id") not in (None, "") else f"{row:05d}")
    image = record.get("image") or record.get("reference")
    inputs: tuple[str, ...] = ()
    if image:
        path = Path(str(image)).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise InputError(f"{where}: reference image not found", path=path, fix="give a path relative to the data file")
        inputs = (str(path),)
    questions = _questions(record.get("questions"), where)
    return Item(id=item_id, prompt=prompt.strip(), category=str(record.get("category") or "all"),
                kind="edit" if inputs else "generate", input_images=inputs, size=_size(record.get("size"), where),
                meta={"questions": questions} if questions else {})


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number} is not JSON ({exc.msg})", path=path, fix="one JSON object per line") from None
        if not isinstance(record, dict):
            raise InputError(f"line {number} is not a JSON object", path=path, fix='write {"id": "a", "prompt": "…"}')
        rows.append(record)
    return rows


def _read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "prompt" not in reader.fieldnames:
            raise InputError("the CSV has no 'prompt' column", path=path, fix=f"first row: {','.join(COLUMNS)} (id, category … optional)")
        return [dict(row) for row in reader]


def _read_hf(spec: str, revision: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        import datasets
    except ImportError:
        raise SpecError("hf: prompt sets need the datasets package", fix="pip install datasets") from None
    name, _, split = spec.partition(":")
    split = split or "train"
    local = Path(name).expanduser()
    try:
        if local.is_dir():
            loaded = datasets.load_from_disk(str(local))
            data = loaded[split] if isinstance(loaded, datasets.DatasetDict) else loaded
        else:
            data = datasets.load_dataset(name, split=split, revision=revision)
    except (FileNotFoundError, ValueError, KeyError, ConnectionError) as exc:
        raise InputError(f"cannot load dataset {name!r} split {split!r} ({str(exc).splitlines()[0][:200]})",
                         fix="check the name and split; offline, the dataset must be in the datasets cache") from None
    source = {"dataset": name, "split": split, "revision": revision, "fingerprint": getattr(data, "_fingerprint", None),
              "rows": len(data)}
    return [dict(row) for row in data], source


def read_prompt_set(source: str, revision: str | None = None) -> tuple[list[Item], dict[str, Any]]:
    """Items and provenance (file sha256, or dataset name/split/revision/fingerprint) of a prompt set."""
    if source.startswith("hf:"):
        records, provenance = _read_hf(source[3:], revision)
        base = None
        label = source
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise InputError("prompt file not found", path=path, fix="give --data prompts.jsonl, prompts.csv or hf:<dataset>[:split]")
        suffix = path.suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            raise InputError(f"unknown prompt file type {suffix or '(none)'}", path=path, fix="use .jsonl or .csv (or hf:<dataset>)")
        try:
            records = _read_jsonl(path) if suffix == ".jsonl" else _read_csv(path)
        except UnicodeDecodeError:
            raise InputError("prompt file is not UTF-8 text", path=path, fix="save it as UTF-8") from None
        provenance = {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "rows": len(records)}
        base = path.parent
        label = str(path)
    items = [record_to_item(r, i, f"{label} row {i + 1}", base) for i, r in enumerate(records)]
    if not items:
        raise InputError("the prompt set is empty", path=label, fix="add rows with at least a 'prompt'")
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.id in seen:
            raise InputError(f"rows {seen[item.id] + 1} and {index + 1} share the id {item.id!r}", path=label,
                             fix="give every row its own id (or leave ids out to number the rows)")
        seen[item.id] = index
    return items, provenance


# -- scorers -------------------------------------------------------------------------------------
class PropsScorer(Scorer):
    name = "props"
    version = "1"
    batch_size = 32

    def identity(self) -> dict[str, Any]:
        return {"model": "none (weight-free)"}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return [("ok", image_properties(inp.image_paths[-1], inp.item.size)) for inp in batch]


def clip_score(cosine: float) -> float:
    """CLIPScore as torchmetrics defines it: 100 · max(cosine, 0)."""
    return 100.0 * max(float(cosine), 0.0)


class ClipScoreScorer(Scorer):
    name = "clip"
    version = "1"
    batch_size = 16

    def __init__(self, weights: str | None, device: str | None = None):
        from genlens.scorers.clip import DEFAULT_CLIP

        self.weights = weights or DEFAULT_CLIP
        self.device = device
        self.model: Any = None

    def identity(self) -> dict[str, Any]:
        from genlens.scorers.clip import resolve_pretrained

        return {"clip": resolve_pretrained(self.weights, what="CLIP model").identity, "formula": "100*max(cos,0)"}

    def load(self) -> None:
        if self.model is None:
            from genlens.scorers.clip import ClipModel

            self.model = ClipModel.load(self.weights, device=self.device)

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        self.load()
        images = [load_rgb(inp.image_paths[-1]) for inp in batch]
        image_emb = self.model.image_embeddings(images)
        text_emb = self.model.text_embeddings([inp.item.prompt for inp in batch])
        cosines = (image_emb * text_emb).sum(axis=1)
        return [("ok", {"cosine": float(c), "clip_score": clip_score(c)}) for c in cosines]


def parse_rubric_score(raw: str) -> dict[str, float] | None:
    """The number after ``Score:`` in a judge's answer (the last one, as a verdict comes last)."""
    found = _SCORE.findall(raw or "")
    return {"score": float(found[-1])} if found else None


def parse_yes_no(raw: str) -> float | None:
    """1.0 for an answer starting with yes, 0.0 for no, None otherwise."""
    word = re.match(r"\W*(\w+)", raw or "")
    if not word:
        return None
    return {"yes": 1.0, "no": 0.0}.get(word.group(1).lower())


class VqaScorer(Scorer):
    """Yes-probability per question, averaged over the item's questions (VQAScore-style)."""

    name = "vqa"
    version = "1"
    threaded = False

    def __init__(self, judge: Any):
        self.judge = judge
        self.batch_size = 8
        self.concurrency = 1 if judge.scheme == "local" else judge.concurrency

    def identity(self) -> dict[str, Any]:
        method = "p(Yes) first token" if self.judge.scheme == "local" else "yes/no answer"
        return {"judge": self.judge.spec, "settings": self.judge.settings(), "template": VQA_TEMPLATE, "method": method}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        raise NotImplementedError("VqaScorer is async")

    async def aclose(self) -> None:
        await self.judge.aclose()

    async def score_batch(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        from genlens.judges.base import JudgeRequest

        requests, owners = [], []
        for index, inp in enumerate(batch):
            image = (inp.run_dir / inp.generation.images[-1]).read_bytes()
            for question in inp.item.meta.get("questions", []):
                requests.append(JudgeRequest(None, VQA_TEMPLATE.replace("{question}", question), [image]))
                owners.append(index)
        answers: list[tuple[float | None, str]] = []
        if requests and hasattr(self.judge, "yes_probability"):
            answers = [(p, "") for p in await self.judge.yes_probability(requests)]
        elif requests:
            replies = await self.judge.ask_batch(requests)
            answers = [(parse_yes_no(r.raw) if r.status == "ok" else None, r.raw) for r in replies]
        results: list[tuple[str, dict[str, Any]]] = []
        for index, inp in enumerate(batch):
            mine = [answers[i] for i, owner in enumerate(owners) if owner == index]
            questions = inp.item.meta.get("questions", [])
            if not questions:
                results.append(("unparsed", {"vqa_score": None, "reason": "the item has no questions"}))
                continue
            values = [p for p, _raw in mine]
            if any(v is None for v in values):
                results.append(("unparsed", {"vqa_score": None, "answers": [raw for _p, raw in mine],
                                             "reason": "a judge answer was neither yes nor no"}))
                continue
            results.append(("ok", {"vqa_score": sum(values) / len(values),  # type: ignore[arg-type]
                                   "per_question": dict(zip(questions, values, strict=True))}))
        return results


def rubric_scorer(ctx: ScoreContext) -> Scorer:
    from genlens.judges.base import JudgeRequest, make_judge
    from genlens.judges.scorer import JudgeScorer, judge_choice
    from genlens.judges.templates import load_template_file

    if ctx.judge_prompt is None:
        raise SpecError("the judge scorer needs a rubric", fix="add --judge-prompt rubric.txt (with a {prompt} placeholder; the answer must hold 'Score: N')")
    choice = judge_choice(ctx, "")
    template = load_template_file(ctx.judge_prompt, required=("prompt",))
    judge = make_judge(choice.spec, concurrency=ctx.concurrency, params=choice.params)

    def build(inp: ScoreInput, tmpl: Any) -> JudgeRequest:
        system, text = tmpl.render(prompt=inp.item.prompt)
        return JudgeRequest(system, text, [(inp.run_dir / inp.generation.images[-1]).read_bytes()])

    return JudgeScorer(name="judge", version="1", judge=judge, template=template, build=build,
                       parse=parse_rubric_score, parser_id="rubric-score")


# -- the suite -----------------------------------------------------------------------------------
@register_suite
class PromptsSuite(Suite):
    meta = SuiteMeta(
        name="prompts",
        version="1",
        title="Your own prompts (scorers you pick, per-category tables)",
        task="generate+edit",
        categories=(),
        needs=("as picked: props (none), clip, judge, vqa",),
        data_source="--data prompts.jsonl | prompts.csv | hf:<dataset>[:split]",
        default_samples=1,
        description="id, prompt, category, size, image (reference to edit), questions",
    )
    uses = frozenset({"judge", "clip"})
    args = (
        Arg("data", "str", None, "the prompt set (CSV / JSONL file, or hub dataset)", "prompts.csv"),
        Arg("scorers", "str", "props", "a comma list of scorers to run (props, clip, judge, vqa)", "props,clip"),
        Arg("revision", "str", None, "hub dataset revision", "main"),
    )

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        data = self.suite_args.get("data")
        if data and not str(data).startswith("hf:"):
            self.suite_args["data"] = str(Path(str(data)).expanduser().resolve())
        self._items: list[Item] | None = None
        self.provenance: dict[str, Any] = {}

    def picked(self) -> list[str]:
        raw = str(self.suite_args.get("scorers", "props"))
        chosen = [s.strip() for s in raw.split(",") if s.strip()]
        unknown = [s for s in chosen if s not in SCORER_CHOICES]
        if unknown or not chosen:
            raise SpecError(f"unknown prompts scorer(s): {', '.join(unknown) or '(none)'}",
                            fix=f"--suite-arg scorers= a comma list of {', '.join(SCORER_CHOICES)}")
        return chosen

    def items(self) -> Sequence[Item]:
        if self._items is None:
            data = self.suite_args.get("data")
            if not data:
                raise InputError("the prompts suite needs a prompt set",
                                 fix="add --data prompts.jsonl (or .csv, or hf:<dataset>[:split]); rows: "
                                     '{"id": "cat1", "prompt": "a red cat", "category": "animals", "size": "1024x1024"}')
            revision = self.suite_args.get("revision")
            self._items, self.provenance = read_prompt_set(str(data), str(revision) if revision else None)
        return self._items

    def preflight(self, ctx: ScoreContext) -> list[Any]:
        from genlens.runs.preflight import Missing, _judge, _weights
        from genlens.scorers.clip import DEFAULT_CLIP

        missing: list[Any] = []
        picked = self.picked()
        if "clip" in picked:
            missing += _weights("CLIP", ctx.clip or DEFAULT_CLIP, "--clip")
        if "judge" in picked or "vqa" in picked:
            missing += _judge(self, ctx, required=True)
        if "judge" in picked and ctx.judge_prompt is None:
            missing.append(Missing("a rubric for the judge scorer", "add --judge-prompt rubric.txt ({prompt} placeholder; answers hold 'Score: N')"))
        if "vqa" in picked and self._items and not any(i.meta.get("questions") for i in self._items):
            missing.append(Missing("questions for the vqa scorer", "add a 'questions' column to the prompt set"))
        return missing

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        out: list[Scorer] = []
        for name in self.picked():
            if name == "props":
                out.append(PropsScorer())
            elif name == "clip":
                out.append(ClipScoreScorer(ctx.clip, device=ctx.scorer_args.get("device")))
            elif name == "judge":
                out.append(rubric_scorer(ctx))
            elif name == "vqa":
                from genlens.judges.base import make_judge
                from genlens.judges.scorer import judge_choice

                choice = judge_choice(ctx, "")
                if not choice.spec:
                    raise SpecError("the vqa scorer needs a judge", fix="add --judge local:<VLM dir> or --judge openai:<model>")
                out.append(VqaScorer(make_judge(choice.spec, concurrency=ctx.concurrency, params=choice.params)))
        return out

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        picked = self.picked()
        values: dict[str, dict[str, list[float]]] = {}  # category -> metric -> values
        counts: dict[str, int] = {"images": 0, "not_generated": 0}
        rows = []
        for entry in scored:
            gen = entry.generation
            row: dict[str, Any] = {"item": entry.item.id, "sample": gen.sample, "category": entry.item.category,
                                   "prompt": entry.item.prompt, "status": gen.status}
            if gen.status != "ok":
                counts["not_generated"] += 1
                row["reason"] = gen.reason
                rows.append(row)
                continue
            counts["images"] += 1
            for name in picked:
                record = entry.scores.get(name)
                metric = METRICS[name]
                if record is None or record.status != "ok":
                    counts[f"{name}_{record.status if record else 'unscored'}"] = counts.get(f"{name}_{record.status if record else 'unscored'}", 0) + 1
                    row[metric] = None
                    continue
                value = {"props": lambda v: 1.0 if v.get("passed") else 0.0, "clip": lambda v: v["clip_score"],
                         "judge": lambda v: v["scores"]["score"], "vqa": lambda v: v["vqa_score"]}[name](record.value)
                row[metric] = value
                if name == "props":
                    row["reason"] = record.value.get("reason")
                for category in (entry.item.category, "all"):
                    values.setdefault(category, {}).setdefault(metric, []).append(float(value))
            rows.append(row)
        overall = values.get("all", {})
        headline = {METRICS[picked[0]]: mean_or_none(overall.get(METRICS[picked[0]], []))}
        metrics = {METRICS[name]: mean_or_none(overall.get(METRICS[name], [])) for name in picked}
        categories = {
            category: {"n": max((len(v) for v in by_metric.values()), default=0),
                       **{metric: mean_or_none(v) for metric, v in by_metric.items()}}
            for category, by_metric in sorted(values.items()) if category != "all"
        }
        self.items()
        return SuiteResult(headline=headline, metrics=metrics, categories=categories, counts=counts,
                           provenance={"prompt_set": self.provenance, "scorers_picked": picked}, rows=rows)
