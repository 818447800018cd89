"""DPG-Bench: 1,065 dense prompts with question graphs (TencentQQGYLab/ELLA @ 3c228f1, ``dpg_bench/``).

Rules in :mod:`genlens.suites._dpg_rules` (the official ``compute_dpg_bench.py``, quirks included).
The official VQA model is mPLUG-large through ModelScope (``damo/mplug_visual-question-answering_coco_large_en``),
which needs modelscope with torchvision, timm and decord — not installable beside this project's CPU torch.
With ``--judge`` a VLM answers the questions instead: a **stand-in, not comparable** with published
DPG-Bench numbers, and every result says so.

Layouts: ``layout=separate`` (default) — genlens generates 4 images per prompt, sample k is tile k;
``layout=grid`` — one image per prompt holding a 2×2 grid (the official layout), cropped at the official boxes.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from genlens.args import Arg
from genlens.errors import InputError, SpecError
from genlens.scorers.base import Scorer
from genlens.suites import _dpg_rules as rules
from genlens.suites._coverage import Coverage, mark_partial, run_samples
from genlens.suites.base import (
    IMAGE_EXTENSIONS,
    ImportedImage,
    ScoreContext,
    Suite,
    SuiteMeta,
    SuiteResult,
    register_suite,
    scored_record,
)
from genlens.types import Item, ScoredGeneration, ScoreInput

UPSTREAM = "TencentQQGYLab/ELLA @ 3c228f1dc6c4d3cad0a47493816151a419f14db3"
CSV_FILE = "dpg_bench.csv"
MPLUG_MODEL = "damo/mplug_visual-question-answering_coco_large_en"
OFFICIAL_SCORER = f"modelscope:{MPLUG_MODEL}"
MPLUG_FIX = ("the official scorer needs `pip install modelscope` plus torchvision, timm and decord on a CUDA torch "
             "stack (ELLA's requirements-for-dpg_bench.txt); or score with a stand-in: --judge local:<Qwen2.5-VL dir> "
             "(not comparable)")


def default_data_dir() -> Path:
    from genlens.data.fetch import suite_data_dir

    return suite_data_dir("dpg-bench")


class MplugVqa:
    """The official VQA path: ModelScope's visual-question-answering pipeline with mPLUG-large."""

    official = True
    exact = True

    def __init__(self, model: str = MPLUG_MODEL, device: str | None = None):
        self.model = model
        self.device = device or "gpu"
        self.pipeline: Any = None

    @property
    def spec(self) -> str:
        return f"modelscope:{self.model}"

    def load(self) -> None:
        if self.pipeline is None:
            try:
                from modelscope.pipelines import pipeline
                from modelscope.utils.constant import Tasks
            except ImportError:
                raise SpecError("DPG-Bench's official scorer (mPLUG via ModelScope) is not installed", fix=MPLUG_FIX) from None
            self.pipeline = pipeline(Tasks.visual_question_answering, model=self.model, device=self.device)

    async def answers(self, pairs: list[tuple[Any, str]]) -> list[str]:
        import asyncio

        def run() -> list[str]:
            self.load()
            return [str(self.pipeline({"image": image, "question": question})["text"]) for image, question in pairs]

        return await asyncio.to_thread(run)

    async def aclose(self) -> None:
        self.pipeline = None


class JudgeVqa:
    """The stand-in: a genlens judge (``--judge``) answers each question; its first word decides yes."""

    official = False
    exact = False

    def __init__(self, judge: Any):
        self.judge = judge

    @property
    def spec(self) -> str:
        return self.judge.spec

    async def answers(self, pairs: list[tuple[Any, str]]) -> list[str]:
        from genlens.judges.base import JudgeRequest

        encoded: dict[int, bytes] = {}  # each tile once: every question of a tile then carries the same bytes
        requests = []
        for image, question in pairs:
            if id(image) not in encoded:
                buf = io.BytesIO()
                image.save(buf, format="PNG")
                encoded[id(image)] = buf.getvalue()
            requests.append(JudgeRequest(None, question, [encoded[id(image)]]))
        replies = await self.judge.ask_batch(requests)
        if any(r.status == "error" for r in replies):
            raise RuntimeError(next(r.error for r in replies if r.status == "error"))
        return [r.raw for r in replies]

    async def aclose(self) -> None:
        await self.judge.aclose()


class DpgScorer(Scorer):
    """Per image: every question of its prompt asked of each tile; raw answers and 0/1 scores stored."""

    name = "dpg"
    version = "1"
    threaded = False
    batch_size = 4

    def __init__(self, vqa: Any, *, layout: str, pic_num: int, resolution: int | None):
        self.vqa = vqa
        self.layout = layout
        self.pic_num = pic_num
        self.resolution = resolution

    def identity(self) -> dict[str, Any]:
        settings = self.vqa.judge.settings() if hasattr(self.vqa, "judge") else {}
        return {"vqa": self.vqa.spec, "official": self.vqa.official, "settings": settings, "layout": self.layout,
                "pic_num": self.pic_num if self.layout == "grid" else 1, "resolution": self.resolution,
                "yes_rule": "answer == 'yes'" if self.vqa.exact else "first word is yes (any case)"}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        raise NotImplementedError("DpgScorer is async")

    async def aclose(self) -> None:
        await self.vqa.aclose()

    def tiles(self, inp: ScoreInput) -> list[Any]:
        from PIL import Image

        with Image.open(inp.image_paths[-1]) as opened:
            image = opened.convert("RGB")
        if self.layout != "grid":
            return [image]
        resolution = self.resolution or image.width // 2
        return [image.crop(box) for box in rules.tile_boxes(resolution, self.pic_num)]

    async def score_batch(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        pairs, owners = [], []
        for index, inp in enumerate(batch):
            questions = inp.item.meta["questions"]
            for tile_index, tile in enumerate(self.tiles(inp)):
                for qid, question in questions:
                    pairs.append((tile, question))
                    owners.append((index, tile_index, qid))
        try:
            answers = await self.vqa.answers(pairs)
        except SpecError:
            raise
        except Exception as exc:  # these images stay unscored and are asked again next run
            message = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
            return [("error", {"reason": message}) for _ in batch]
        tiles: dict[int, dict[int, dict[str, Any]]] = {}
        for (index, tile_index, qid), answer in zip(owners, answers, strict=True):
            tile = tiles.setdefault(index, {}).setdefault(tile_index, {"answers": {}, "scores": {}})
            tile["answers"][str(qid)] = answer
            tile["scores"][str(qid)] = 1.0 if rules.is_yes(answer, exact=self.vqa.exact) else 0.0
        return [("ok", {"tiles": [tiles[i][t] for t in sorted(tiles[i])]}) for i in range(len(batch))]


@register_suite
class DpgBenchSuite(Suite):
    meta = SuiteMeta(
        name="dpg-bench",
        version="1",
        title="DPG-Bench (dense prompts, question graphs; official rules; mPLUG official, VLM stand-in)",
        task="generate",
        categories=("global", "entity", "attribute", "relation", "other"),
        needs=("data", "mplug (modelscope) or a --judge stand-in"),
        data_source=f"genlens data fetch dpg-bench ({UPSTREAM}, Apache-2.0)",
        default_samples=4,
        item_count=1065,
        description="4 images per prompt (or one 2×2 grid); DPG score ×100, L1/L2 categories as compute_dpg_bench.py",
    )
    uses = frozenset({"judge"})
    args = (
        Arg("layout", "choice", "separate", "separate images (sample k = tile k) or one 2×2 grid per image", "grid",
            choices=("separate", "grid")),
        Arg("pic_num", "int", 4, "tiles per prompt scored (official PIC_NUM)", "4", minimum=1, maximum=4),
        Arg("resolution", "int", None, "grid tile size in pixels (official --resolution; default: half the grid width)",
            "512", minimum=1, maximum=100_000),
        Arg("skip_first_row", "bool", True, "skip the CSV's first data row, as the official reader does", "true"),
    )
    scorer_args = (Arg("device", "str", None, "mPLUG device (ModelScope: gpu or cpu)", "gpu"),)

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        self._prompts: dict[str, rules.DpgPrompt] | None = None
        self._items: list[Item] | None = None
        self._csv_sha256 = ""

    @property
    def layout(self) -> str:
        return str(self.suite_args.get("layout", "separate"))

    @property
    def pic_num(self) -> int:
        return int(self.suite_args.get("pic_num", 4))

    @property
    def dpg_dir(self) -> Path:
        return self.data_dir or default_data_dir()

    def prompts(self) -> dict[str, rules.DpgPrompt]:
        if self._prompts is None:
            path = self.dpg_dir / CSV_FILE
            if not path.is_file():
                raise InputError("DPG-Bench data not found", path=path,
                                 fix="run `genlens data fetch dpg-bench` (or --data-dir a folder holding dpg_bench.csv)")
            self._csv_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
            skip = self.suite_args.get("skip_first_row", True)
            self._prompts = rules.read_csv(path, skip_first_row=bool(skip) and str(skip).lower() not in ("false", "0", "no"))
        return self._prompts

    def items(self) -> Sequence[Item]:
        if self._items is None:
            self._items = [Item(id=p.item_id, prompt=p.text, category="dpg",
                                meta={"questions": [[qid, q] for qid, q in p.questions.items()]})
                           for p in self.prompts().values()]
        return self._items

    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        """The official layout: one folder of ``<item_id>.<ext>`` grids (sample 0 only)."""
        return [item.id] if self.layout == "grid" and sample == 0 else []

    def import_layout(self, directory: Path) -> Iterator[ImportedImage]:
        if self.layout != "grid":
            yield from super().import_layout(directory)
            return
        ids = {item.id for item in self.items()}
        for entry in sorted(directory.iterdir()):
            key = entry.name.split(".")[0]  # as the official script keys an image: basename up to the first dot
            if entry.is_file() and entry.suffix.lower() in IMAGE_EXTENSIONS and key in ids:
                yield ImportedImage(key, 0, entry)

    def preflight(self, ctx: ScoreContext) -> list[Any]:
        from genlens.runs.preflight import Missing, _judge, _module_missing, judge_spec

        if judge_spec(self, ctx):
            return _judge(self, ctx)
        if _module_missing("modelscope") is not None:
            return [Missing("DPG-Bench's official scorer (mPLUG-large via ModelScope)", MPLUG_FIX)]
        return []

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        from genlens.judges.base import make_judge
        from genlens.judges.scorer import judge_choice

        choice = judge_choice(ctx, "")
        if choice.spec:
            params = {"max_new_tokens": 8, **{k: v for k, v in choice.params.items() if k != "device"}}
            vqa: Any = JudgeVqa(make_judge(choice.spec, concurrency=ctx.concurrency, params=params))
        else:
            vqa = MplugVqa(device=ctx.scorer_args.get("device"))
        resolution = self.suite_args.get("resolution")
        return [DpgScorer(vqa, layout=self.layout, pic_num=self.pic_num, resolution=int(resolution) if resolution else None)]

    # -- aggregation ---------------------------------------------------------------------------
    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        prompts = self.prompts()
        items = self.items()
        counts = {"images_scored": 0, "not_generated": 0, "unscored": 0, "official_failures": 0}
        per_item: dict[str, list[tuple[int, list[dict[str, Any]]]]] = {}
        rows: list[dict[str, Any]] = []
        for entry in scored:
            gen, item = entry.generation, entry.item
            row: dict[str, Any] = {"item": item.id, "sample": gen.sample, "category": item.category,
                                   "prompt": item.prompt, "status": gen.status}
            record = scored_record(entry, "dpg", row, counts)
            if record is not None:
                per_item.setdefault(item.id, []).append((gen.sample, record.value["tiles"]))
                row["answers"] = [t["answers"] for t in record.value["tiles"]]
            rows.append(row)
        # the official unit: one grid image per prompt (layout=grid), or the prompt's samples in order as its tiles
        units: list[tuple[str, list[dict[int, float]]]] = []
        for item_id, samples in sorted(per_item.items()):
            samples.sort(key=lambda s: s[0])
            order = list(prompts[item_id].questions)
            if self.layout == "grid":
                units.extend((item_id, [_ints(t["scores"], order) for t in tiles]) for _sample, tiles in samples)
            else:
                units.append((item_id, [_ints(tiles[0]["scores"], order) for _sample, tiles in samples[:self.pic_num]]))
        scores: list[float] = []
        category_input: list[tuple[dict[int, float], dict[int, str]]] = []
        unit_score: dict[str, list[float]] = {}
        for item_id, tiles in units:
            prompt = prompts[item_id]
            try:
                value = rules.image_score(tiles, prompt.dependencies)
            except rules.MissingParent:
                counts["official_failures"] += 1  # the official script drops this image from every number
                continue
            scores.append(value)
            unit_score.setdefault(item_id, []).append(value)
            category_input.append((tiles[-1], prompt.tuples))
        for row in rows:
            if row["item"] in unit_score and "answers" in row:  # the prompt's score; paired comparisons read "score"
                row["dpg_score"] = row["score"] = 100 * sum(unit_score[row["item"]]) / len(unit_score[row["item"]])
        l1, l2, l2_n = rules.category_scores(category_input)
        headline = {"dpg_score": 100 * sum(scores) / len(scores) if scores else None}
        categories: dict[str, dict[str, float | int | None]] = {name: {"score": value, "n": sum(
            n for l2_name, n in l2_n.items() if rules.l1_category(l2_name) == name)} for name, value in l1.items()}
        categories.update({f"L2:{name}": {"score": value, "n": l2_n[name]} for name, value in l2.items()})
        samples_needed = 1 if self.layout == "grid" else self.pic_num
        samples = run_samples(ctx.run_dir, self.meta.default_samples if self.layout != "grid" else 1)
        complete_units = {i for i, s in per_item.items() if len(s) >= samples_needed}
        coverage = Coverage(prompts=(len(complete_units), len(items)), images=(counts["images_scored"], len(items) * samples))
        scorer = self.scorers(ctx)[0]
        identity = scorer.identity()
        caveats = []
        if not identity["official"]:
            caveats.append(f"stand-in scorer {identity['vqa']} (not the official mPLUG-large via ModelScope): "
                           "not comparable with published DPG-Bench numbers")
        if counts["official_failures"]:
            caveats.append(f"{counts['official_failures']} image(s) have a question whose parent the prompt lacks; "
                           "the official script drops them from every number, and so does this one")
        if self.layout == "separate" and samples < self.pic_num:
            caveats.append(f"{samples} sample(s) per prompt but pic_num={self.pic_num}: each prompt is scored on fewer tiles than asked")
        result = SuiteResult(
            headline=headline,
            metrics={f"L1_{name}": value for name, value in l1.items()},
            categories=categories,
            counts={**counts, "items_in_suite": len(items)},
            extra={"L2": l2, "L2_questions": l2_n},
            provenance={
                "protocol": "DPG-Bench compute_dpg_bench.py: per tile yes-rate after the dependency rule, mean over tiles, "
                            "×100 mean over images; categories from the last tile's raw answers",
                "data": {"source": UPSTREAM, "file": CSV_FILE, "sha256": self._csv_sha256, "license": "Apache-2.0",
                         "skip_first_row": self.suite_args.get("skip_first_row", True)},
                "scorer": {"vqa": identity["vqa"], "official": identity["official"], "official_scorer": OFFICIAL_SCORER,
                           "layout": self.layout, "pic_num": self.pic_num},
                "caveats": caveats,
            },
            rows=rows,
        )
        partial = mark_partial(result, coverage)
        if partial:
            caveats.append(partial)
        return result


def _ints(scores: dict[str, float], order: list[int]) -> dict[int, float]:
    """Stored scores (JSON keys are strings) back to proposition ids, in the CSV's order (the dependency rule's)."""
    return {qid: float(scores[str(qid)]) for qid in order}
