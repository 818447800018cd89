"""CVTG-2K: complex visual text generation, 2–5 text regions per prompt (NJU-PCALab/TextCrafter).

2,000 prompts in two halves (``CVTG``: plain, ``CVTG-Style``: with size/colour/font attributes),
each split by the number of text regions (2, 3, 4, 5). Published tables give Word Accuracy per
region count and on average, NED and CLIPScore. Upstream ships no scorer, so genlens states its
definition (:mod:`genlens.suites._cvtg_metrics`): the whole image is read by the bundled PP-OCR
(rapidocr, the PaddleOCR models), target words are those of the prompt's quoted strings, Word
Accuracy = matched / target words per image, NED = 1 − normalised edit distance, both averaged over
images; CLIPScore = 2.5 · max(cos, 0) of the image and the full prompt with ``--clip`` weights;
with ``--judge local:<VLM>`` also VQAScore (the yes-probability of t2v_metrics' question).

The data has no declared licence: it is never shipped. Download ``CVTG-2K.zip`` from the Hugging
Face dataset ``dnkdnk/CVTG-2K``, unzip it and point ``--data-dir`` at the folder holding ``CVTG/``
and ``CVTG-Style/`` (or put it in ``$GENLENS_DATA_DIR/cvtg``); the sha256 of every file read is
recorded in the results.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genlens.args import Arg
from genlens.errors import InputError
from genlens.imageio import load_image
from genlens.scorers.base import Scorer
from genlens.stats import mean_or_none
from genlens.suites import _cvtg_metrics as rules
from genlens.suites._coverage import Coverage, mark_partial, run_samples
from genlens.suites._diag import require, score_each
from genlens.suites.base import (
    ImportedImage,
    ScoreContext,
    Suite,
    SuiteMeta,
    SuiteResult,
    is_number,
    register_suite,
    sample_number,
)
from genlens.types import Item, ScoredGeneration, ScoreInput

UPSTREAM = "NJU-PCALab/TextCrafter @ 023a3132e5db5762ca111078b7239cf492aaff9f; data: huggingface.co/datasets/dnkdnk/CVTG-2K"
REGIONS = ("2", "3", "4", "5")
#: (item id prefix, folder names upstream uses: README says CVTG-style, eval.py says CVTG-Style)
SUBSETS = {"cvtg": ("CVTG",), "style": ("CVTG-Style", "CVTG-style")}
PUBLISHED_PROMPTS = 2000
OCR_SCORER = "cvtg_ocr"


def default_cvtg_dir() -> Path:
    """``$GENLENS_DATA_DIR/cvtg`` (default ``~/.cache/genlens/data/cvtg``)."""
    from genlens.data.fetch import data_root

    return data_root() / "cvtg"


def subset_dir(data_dir: Path, subset: str) -> Path | None:
    for name in SUBSETS[subset]:
        if (data_dir / name).is_dir():
            return data_dir / name
    return None


def read_data_list(path: Path) -> list[dict[str, Any]]:
    """The ``data_list`` of one CVTG-2K file, checked for ``index`` and ``prompt``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read CVTG-2K data ({type(exc).__name__})", path=path,
                         fix="unzip CVTG-2K.zip again (huggingface.co/datasets/dnkdnk/CVTG-2K)") from None
    records = data.get("data_list") if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise InputError("a CVTG-2K file must be a JSON object with a data_list", path=path,
                         fix="point --data-dir at the unzipped CVTG-2K folder (CVTG/2.json …)")
    for record in records:
        if not isinstance(record, dict) or "index" not in record or not isinstance(record.get("prompt"), str):
            raise InputError("a CVTG-2K record lacks index or prompt", path=path, fix="unzip CVTG-2K.zip again")
    return records


class CvtgOcrScorer(Scorer):
    """The whole image read once by rapidocr; Word Accuracy and NED against the prompt's quoted strings."""

    name = OCR_SCORER
    version = "1"
    batch_size = 4

    def identity(self) -> dict[str, Any]:
        import rapidocr

        from genlens.scorers.ocr import default_rec_model

        return {"ocr": f"rapidocr {getattr(rapidocr, '__version__', '?')} ({default_rec_model().name})",
                "rules": "cvtg-genlens-v1"}

    def load(self) -> None:
        from genlens.scorers.ocr import ocr_engine

        ocr_engine()

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return score_each(batch, self.score_one)

    def score_one(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        from genlens.scorers.ocr import read_text

        rgb = np.asarray(load_image(inp.image_paths[-1]).convert("RGB"))
        read, confidence = read_text(rgb)
        return "ok", {**measure(inp.item.meta["texts"], read), "confidence": confidence}


def measure(targets: list[str], read: str) -> dict[str, Any]:
    """Per-image Word Accuracy and NED of the text ``read`` against ``targets``."""
    matched, total = rules.word_accuracy(targets, read)
    return {"read": read, "matched_words": matched, "target_words": total,
            "word_accuracy": matched / total if total else None, "ned": rules.ned(targets, read)}


#: VQAScore's question (linzhiqiu/t2v_metrics' default template); the score is P(first answer token = "Yes").
VQA_QUESTION = 'Does this figure show "{}"? Please answer yes or no.'


class CvtgVqaScorer(Scorer):
    """VQAScore with a local VLM judge: the yes-probability of the VQAScore question about the full prompt."""

    name = "vqascore"
    version = "1"
    threaded = False

    def __init__(self, judge: Any):
        self.judge = judge
        self.batch_size = 8

    def identity(self) -> dict[str, Any]:
        return {"judge": self.judge.spec, "settings": self.judge.settings(), "question": VQA_QUESTION, "answer": "Yes"}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        raise NotImplementedError("CvtgVqaScorer is async")

    async def aclose(self) -> None:
        await self.judge.aclose()

    async def score_batch(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        from genlens.judges.base import JudgeRequest

        requests = [JudgeRequest(None, VQA_QUESTION.format(inp.item.prompt), [inp.image_paths[-1].read_bytes()]) for inp in batch]
        probabilities = await self.judge.yes_probability(requests)
        return [("ok", {"vqa_score": float(p)}) for p in probabilities]


def _chosen_judge(ctx: ScoreContext) -> str | None:
    from genlens.judges.scorer import read_judge_choice

    return ctx.judge or read_judge_choice(ctx.run_dir).get("judge")


@register_suite
class CvtgSuite(Suite):
    meta = SuiteMeta(
        name="cvtg", version="1", title="CVTG-2K: multi-region visual text (Word Accuracy, NED, CLIPScore)",
        task="generate", categories=REGIONS, needs=("ocr", "clip (unless --scorer-arg clipscore=off)", "judge"),
        data_source="huggingface.co/datasets/dnkdnk/CVTG-2K (CVTG-2K.zip; no licence declared: download it, then --data-dir)",
        default_samples=1, item_count=None,
        description="2,000 prompts with 2-5 quoted text regions; whole-image PP-OCR (rapidocr): Word Accuracy and NED "
                    "per image (genlens's stated rule, upstream has no scorer); CLIPScore 2.5*max(cos,0); "
                    "VQAScore with an optional --judge local:<VLM>.",
    )
    uses = frozenset({"clip", "judge"})
    scorer_args = (Arg("clipscore", "choice", "on", "compute CLIPScore (needs --clip weights or the cached default)", "off",
                       choices=("on", "off")),
                   Arg("device", "str", None, "torch device for CLIP", "cuda:0"))

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        self._items: list[Item] | None = None
        self._files: dict[str, str] = {}

    def preflight(self, ctx: ScoreContext) -> list[Any]:
        """CLIP weights only when CLIPScore is on (the ``needs`` word is not checked generically for that reason)."""
        from genlens.runs.preflight import _weights
        from genlens.scorers.clip import DEFAULT_CLIP

        if str(ctx.scorer_args.get("clipscore", "on")) == "off":
            return []
        return list(_weights("CLIP", ctx.clip or DEFAULT_CLIP, "--clip"))

    @property
    def cvtg_dir(self) -> Path:
        return self.data_dir or default_cvtg_dir()

    def items(self) -> Sequence[Item]:
        if self._items is None:
            self._items = self._load_items()
        return self._items

    def _load_items(self) -> list[Item]:
        items: list[Item] = []
        for subset in SUBSETS:
            folder = subset_dir(self.cvtg_dir, subset)
            if folder is None:
                raise InputError(f"CVTG-2K folder {SUBSETS[subset][0]}/ not found", path=self.cvtg_dir,
                                 fix="download CVTG-2K.zip from huggingface.co/datasets/dnkdnk/CVTG-2K, unzip it and "
                                     "pass --data-dir (the folder holding CVTG/ and CVTG-Style/)")
            for regions in REGIONS:
                path = folder / f"{regions}.json"
                if not path.is_file():
                    raise InputError(f"CVTG-2K file {folder.name}/{regions}.json not found", path=folder,
                                     fix="unzip the complete CVTG-2K.zip (2.json … 5.json in both folders)")
                self._files[f"{folder.name}/{regions}.json"] = hashlib.sha256(path.read_bytes()).hexdigest()
                for record in read_data_list(path):
                    texts = rules.target_texts(record["prompt"])
                    if not texts:
                        raise InputError(f"CVTG-2K prompt {record['index']} quotes no text", path=path,
                                         fix="unzip CVTG-2K.zip again (every prompt quotes its texts)")
                    items.append(Item(
                        id=f"{subset}-{regions}-{record['index']}", prompt=record["prompt"], category=regions,
                        meta={"subset": folder.name, "regions": int(regions), "index": record["index"], "texts": texts,
                              "carrier_list": record.get("carrier_list") or []}))
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                raise InputError(f"CVTG-2K index {item.meta['index']} appears twice in {item.meta['subset']}/{item.category}.json",
                                 path=self.cvtg_dir, fix="unzip CVTG-2K.zip again")
            seen.add(item.id)
        return items

    # -- layouts -------------------------------------------------------------------------------
    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        """TextCrafter's eval.py layout: ``<CVTG|CVTG-Style>/<regions>/<index>.png`` (one image per prompt)."""
        if sample:
            return []
        return [f"{name}/{item.category}/{item.meta['index']}" for name in SUBSETS[item.id.split("-")[0]]]

    def import_layout(self, directory: Path) -> Iterator[ImportedImage]:
        """``<dir>/CVTG[-Style]/<regions>/<index>.png`` (eval.py's layout), else genlens's generic layout."""
        ids = {item.id for item in self.items()}
        official = [(subset, directory / name) for subset, names in SUBSETS.items() for name in names if (directory / name).is_dir()]
        if not official:
            yield from super().import_layout(directory)
            return
        for subset, folder in official:
            for regions in REGIONS:
                for image in sorted((folder / regions).glob("*")) if (folder / regions).is_dir() else []:
                    stem = image.stem
                    if image.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp") or not is_number(stem):
                        continue  # eval.py also writes <index>_rec.json layouts beside the images
                    item_id = f"{subset}-{regions}-{sample_number(stem, image, 'index')}"
                    if item_id not in ids:
                        raise InputError(f"{image.name} is not a prompt of {folder.name}/{regions}.json", path=image,
                                         fix="name images <index>.png after the data_list index")
                    yield ImportedImage(item_id, 0, image)

    # -- scoring -------------------------------------------------------------------------------
    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        require(self.meta.name, "rapidocr", "onnxruntime")
        out: list[Scorer] = [CvtgOcrScorer()]
        if str(ctx.scorer_args.get("clipscore", "on")) == "on":
            from genlens.suites.prompts import ClipScoreScorer

            out.append(ClipScoreScorer(ctx.clip, device=ctx.scorer_args.get("device")))
        if _chosen_judge(ctx):  # optional VQAScore: needs a judge that gives a yes-probability (local:)
            from genlens.errors import SpecError
            from genlens.judges.base import make_judge
            from genlens.judges.scorer import judge_choice

            choice = judge_choice(ctx, "")
            params = {k: v for k, v in choice.params.items() if k != "clipscore"}
            judge = make_judge(choice.spec, concurrency=ctx.concurrency, params=params)
            if not hasattr(judge, "yes_probability"):
                raise SpecError(f"VQAScore needs the answer's yes-probability, which judge {choice.spec} does not give",
                                fix="use --judge local:<Qwen2.5-VL dir or hub id>, or drop --judge (VQAScore is optional)")
            out.append(CvtgVqaScorer(judge))
        return out

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        rows: list[dict[str, Any]] = []
        counts = {"images_scored": 0, "generation_refused": 0, "generation_errors": 0, "not_scored": 0, "scorer_errors": 0,
                  "no_clipscore": 0}
        measured: list[dict[str, Any]] = []
        for entry in scored:
            gen, item = entry.generation, entry.item
            row: dict[str, Any] = {"item": item.id, "sample": gen.sample, "category": item.category, "subset": item.meta["subset"],
                                   "prompt": item.prompt, "status": gen.status, "image": gen.images[0] if gen.images else None,
                                   "texts": item.meta["texts"], "score": None, "passed": None, "reason": gen.reason}
            rows.append(row)
            if gen.status == "refused":  # nothing rendered: every word missed, NED 0 (no CLIPScore)
                counts["generation_refused"] += 1
                total = len([w for t in item.meta["texts"] for w in rules.words(t)])
                row.update(word_accuracy=0.0, ned=0.0, matched_words=0, target_words=total, score=0.0, reason="refused: scored 0")
                measured.append(row)
                continue
            if gen.status != "ok":
                counts["generation_errors"] += 1
                continue
            record = entry.scores.get(OCR_SCORER)
            if record is None:
                counts["not_scored"] += 1
                row["reason"] = "not scored yet"
                continue
            if record.status != "ok":
                counts["scorer_errors"] += 1
                row["reason"] = f"scorer {record.status}: {record.value.get('reason', '')}"
                continue
            value = measure(item.meta["texts"], record.value["read"])  # the rules applied now to the stored reading
            row.update(value)
            row["score"], row["passed"] = value["word_accuracy"], value["matched_words"] == value["target_words"]
            row["reason"] = f"{value['matched_words']}/{value['target_words']} words read"
            clip = entry.scores.get("clip")
            if clip is not None and clip.status == "ok":
                row["clip_score"] = rules.clip_s(clip.value["cosine"])
            else:
                counts["no_clipscore"] += 1
            vqa = entry.scores.get("vqascore")
            if vqa is not None and vqa.status == "ok":
                row["vqa_score"] = vqa.value["vqa_score"]
            counts["images_scored"] += 1
            measured.append(row)

        def summary(sub: list[dict[str, Any]]) -> dict[str, Any]:
            return {"word_accuracy": mean_or_none([r["word_accuracy"] for r in sub if r["word_accuracy"] is not None]),
                    "ned": mean_or_none([r["ned"] for r in sub]),
                    "clip_score": mean_or_none([r["clip_score"] for r in sub if "clip_score" in r]),
                    "vqa_score": mean_or_none([r["vqa_score"] for r in sub if "vqa_score" in r]),
                    "n": len(sub)}

        categories = {regions: summary([r for r in measured if r["category"] == regions]) for regions in REGIONS}
        overall = summary(measured)
        per_region = [categories[r]["word_accuracy"] for r in REGIONS]
        matched = sum(r["matched_words"] for r in measured)
        total = sum(r["target_words"] for r in measured)
        items = self.items()
        samples = run_samples(ctx.run_dir, self.meta.default_samples)
        result = SuiteResult(
            headline={"word_accuracy": overall["word_accuracy"]},
            metrics={"ned": overall["ned"], "clip_score": overall["clip_score"], "vqa_score": overall["vqa_score"],
                     "word_accuracy_words": matched / total if total else None,
                     "word_accuracy_mean_of_regions": None if None in per_region else float(np.mean(per_region)),
                     **{f"word_accuracy_{s}": summary([r for r in measured if r["subset"] in SUBSETS[s]])["word_accuracy"]
                        for s in SUBSETS}},
            categories=categories, counts={**counts, "items_in_suite": len(items)}, rows=rows,
            extra={"data_files_sha256": dict(sorted(self._files.items()))},
        )
        caveats = [
            "upstream (TextCrafter) publishes no scorer: Word Accuracy/NED follow genlens's stated rule (docs/benchmarks/cvtg.md); "
            "published numbers come from private scripts with their own OCR and normalisation, so compare with care",
            "OCR: rapidocr PP-OCR ONNX models bundled in the wheel (PaddleOCR's models, not a specific PP-OCR version any paper used)",
        ]
        if len(items) != PUBLISHED_PROMPTS:
            caveats.append(f"the data holds {len(items)} prompts, CVTG-2K has {PUBLISHED_PROMPTS}: not the published benchmark")
        if overall["clip_score"] is not None:
            caveats.append("CLIPScore = 2.5*max(cos,0) of image and full prompt with the --clip weights; the CLIP model and "
                           "scale published tables used are not documented upstream")
        if overall["vqa_score"] is not None:
            caveats.append("VQAScore = P('Yes') to t2v_metrics' question 'Does this figure show \"<prompt>\"? Please answer yes or no.' "
                           "from the --judge VLM (a Qwen2.5-VL here, one of t2v_metrics' backbones; reports often use CLIP-FlanT5, "
                           "which transformers cannot load): compare only runs with the same judge")
        coverage = Coverage(prompts=(len({r["item"] for r in measured}), len(items)), images=(len(measured), len(items) * samples),
                            tags=(sum(1 for r in REGIONS if categories[r]["n"]), len(REGIONS)))
        partial = mark_partial(result, coverage, "refusals count as 0")
        if partial:
            caveats.insert(0, partial)
        result.provenance = {
            "protocol": (f"{UPSTREAM}. Targets: the prompt's quoted strings; words NFKC+casefold, punctuation stripped; "
                         "Word Accuracy = multiset-matched target words / target words per image, mean over images "
                         "(word_accuracy_words: pooled over words); NED = 1 - Levenshtein/max length of the joined words; "
                         "refused generations score 0"),
            "scorer": "rapidocr PP-OCR (whole image, detection on <= 960 px, no angle classifier)",
            "official_scorer": False,
            "caveats": caveats,
        }
        if partial:
            result.provenance["caveat"] = partial
        return result
