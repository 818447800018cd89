"""LongText-Bench: long English and Chinese texts rendered in images, read back by a VLM (X-Omni).

160 English and 160 Chinese prompts (vendored, Apache-2.0, X-Omni-Team/X-Omni @ 2b8237b), eight
scene types (sign, label, print, webpage, slide, poster, caption, dialogue) × short/long. The
official scorer asks ``Qwen/Qwen2.5-VL-7B-Instruct`` (``textbench/evaluate_text_reward.py``) to
transcribe each image with a fixed instruction, then ``summary_scores.py`` counts matched words
(English) or characters (Chinese) over all images of a language (:mod:`genlens.suites._longtext_metrics`).

``--judge local:<Qwen2.5-VL dir or hub id>`` runs that VLM-as-OCR path with the official
instruction. Without a judge, the bundled PP-OCR (rapidocr) reads the images instead: a stand-in,
labelled not comparable with published numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from genlens.args import Arg
from genlens.errors import InputError
from genlens.imageio import load_image
from genlens.scorers.base import Scorer
from genlens.suites import _longtext_metrics as rules
from genlens.suites._coverage import Coverage, mark_partial, run_samples
from genlens.suites._diag import require, score_each
from genlens.suites.base import (
    IMAGE_EXTENSIONS,
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

UPSTREAM = "X-Omni-Team/X-Omni @ 2b8237bb3789638c290eeda3e83ed81bd3652c3b (textbench/)"
OFFICIAL_JUDGE = "local:Qwen/Qwen2.5-VL-7B-Instruct"
LANGUAGES = ("en", "zh")
FILES = {"en": "text_prompts.jsonl", "zh": "text_prompts_zh.jsonl"}
HEADLINE = {"en": "english", "zh": "chinese"}
#: Folder names a language's images may sit in (genlens's, then ImageEvalKit's).
FOLDERS = {"en": ("en", "text_prompts"), "zh": ("zh", "text_prompts_zh")}
VLM_SCORER, STAND_IN_SCORER = "longtext_vlm", "longtext_rapidocr"
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "longtext"


@cache
def load_prompts(language: str) -> tuple[dict[str, Any], ...]:
    """The vendored prompt records of one language, in file order."""
    path = DATA_DIR / FILES[language]
    return tuple(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def _chosen_judge(ctx: ScoreContext) -> bool:
    """True when a VLM reads the images: ``--judge`` now, or one remembered by the run."""
    from genlens.judges.scorer import read_judge_choice

    return bool(ctx.judge or read_judge_choice(ctx.run_dir).get("judge"))


class LongTextVlmScorer(Scorer):
    """The official path: the VLM transcribes each image with the official instruction; the reply is stored as is."""

    name = VLM_SCORER
    version = "1"
    threaded = False

    def __init__(self, judge: Any):
        self.judge = judge
        self.batch_size = 8
        self.concurrency = 1 if judge.scheme == "local" else judge.concurrency

    def identity(self) -> dict[str, Any]:
        return {"judge": self.judge.spec, "settings": self.judge.settings(), "prompt": rules.OCR_PROMPT}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        raise NotImplementedError("LongTextVlmScorer is async")

    async def aclose(self) -> None:
        await self.judge.aclose()

    async def score_batch(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        from genlens.judges.base import JudgeRequest

        requests = [JudgeRequest(None, rules.OCR_PROMPT, [inp.image_paths[-1].read_bytes()]) for inp in batch]
        replies = await self.judge.ask_batch(requests)
        out: list[tuple[str, dict[str, Any]]] = []
        for reply in replies:
            if reply.status != "ok":  # asked again on the next `genlens score`
                out.append(("error", {"reply": None, "model": reply.model, "reason": f"judge {reply.status}: {reply.error or reply.raw}"[:500]}))
            else:
                out.append(("ok", {"reply": reply.raw, "model": reply.model, "reader": "vlm"}))
        return out


class LongTextStandInScorer(Scorer):
    """Stand-in without a VLM: rapidocr's lines joined by spaces (not comparable with published numbers)."""

    name = STAND_IN_SCORER
    version = "1"
    batch_size = 4

    def identity(self) -> dict[str, Any]:
        import rapidocr

        from genlens.scorers.ocr import default_rec_model

        return {"ocr": f"rapidocr {getattr(rapidocr, '__version__', '?')} ({default_rec_model().name})"}

    def load(self) -> None:
        from genlens.scorers.ocr import ocr_engine

        ocr_engine()

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return score_each(batch, self.score_one)

    def score_one(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        from genlens.scorers.ocr import read_text

        read, confidence = read_text(np.asarray(load_image(inp.image_paths[-1]).convert("RGB")))
        # rapidocr puts no spaces between Chinese lines' characters; joining with spaces is harmless (whitespace is dropped for zh)
        return "ok", {"reply": read, "confidence": confidence, "reader": "rapidocr"}


@register_suite
class LongTextSuite(Suite):
    meta = SuiteMeta(
        name="longtext", version="1", title="LongText-Bench: long English and Chinese text, read by a VLM",
        task="generate", categories=LANGUAGES, needs=("judge",),
        data_source="vendored: X-Omni-Team/X-Omni @ 2b8237b textbench/ (Apache-2.0)",
        default_samples=4, item_count=320,
        description="160 EN + 160 ZH prompts; Qwen2.5-VL-7B transcribes (--judge local:...); score = matched words (EN) / "
                    "characters (ZH) over all images per language; without --judge a rapidocr stand-in (not comparable).",
    )
    uses = frozenset({"judge"})
    args = (Arg("language", "choice", "all", "which half to run: all, en or zh", "zh", choices=("all", "en", "zh")),)

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        self.languages = LANGUAGES if self.suite_args.get("language", "all") == "all" else (str(self.suite_args["language"]),)

    def items(self) -> Sequence[Item]:
        out = []
        for language in self.languages:
            for record in load_prompts(language):
                pid = int(record["prompt_id"])
                out.append(Item(id=f"{language}-{pid:04d}", prompt=record["prompt"], category=language,
                                meta={"language": language, "prompt_id": pid, "texts": list(record["text"]),
                                      "topic": record["category"], "length": record["length"]}))
        return out

    # -- layouts -------------------------------------------------------------------------------
    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        """The README's layout, one folder per language: ``<pid:04d>_<k>.png`` with k = sample + 1."""
        pid = item.meta["prompt_id"]
        names = [f"{folder}/{pid:04d}_{sample + 1}" for folder in FOLDERS[item.category]]
        if len(self.languages) == 1:  # one language selected: eval.sh's flat folder too
            names.append(f"{pid:04d}_{sample + 1}")
        return names + ([f"{folder}/{pid:04d}" for folder in FOLDERS[item.category]] if sample == 0 else [])

    def import_layout(self, directory: Path) -> Iterator[ImportedImage]:
        """``<dir>/<en|zh>/<prompt_id>_<k>.png`` (k from 1) or ``<prompt_id>.png``; ImageEvalKit's
        ``text_prompts/`` and ``text_prompts_zh/`` folder names too; with ``language=en|zh`` also the
        flat folder eval.sh reads. Else genlens's generic layout."""
        ids = {item.id for item in self.items()}
        found = [(lang, directory / name) for lang in self.languages for name in FOLDERS[lang] if (directory / name).is_dir()]
        if not found and len(self.languages) == 1:  # eval.sh's SAMPLE_FOLDER: one language's images, flat
            found = [(self.languages[0], directory)]
        if not found:
            yield from super().import_layout(directory)
            return
        for language, folder in found:
            seen: dict[tuple[str, int], Path] = {}
            for image in sorted(folder.iterdir()):
                if image.suffix.lower() not in IMAGE_EXTENSIONS:
                    continue
                pid_text, _, k_text = image.stem.partition("_")
                if not is_number(pid_text) or (k_text and not is_number(k_text)) or (k_text and int(k_text) < 1):
                    raise InputError(f"image name {image.name!r} is not <prompt_id>_<k>.png", path=image,
                                     fix="name images 0000_1.png … 0000_4.png (k counts from 1), as X-Omni's README shows")
                item_id = f"{language}-{sample_number(pid_text, image, 'prompt_id'):04d}"
                sample = sample_number(k_text, image) - 1 if k_text else 0
                if item_id not in ids:
                    raise InputError(f"{image.name}: prompt_id {int(pid_text)} is not a {language} prompt", path=image,
                                     fix="see `genlens items longtext` for the prompt ids")
                if (item_id, sample) in seen:
                    raise InputError(f"two images for {item_id} sample {sample + 1}: {seen[(item_id, sample)].name} and {image.name}",
                                     path=image, fix="keep one file per prompt and sample")
                seen[(item_id, sample)] = image
                yield ImportedImage(item_id, sample, image)

    # -- scoring -------------------------------------------------------------------------------
    def preflight(self, ctx: ScoreContext) -> list[Any]:
        """Without a judge the stand-in reads the images: it needs rapidocr (checked before any image is made)."""
        if _chosen_judge(ctx):
            return []
        from genlens.runs.preflight import _module_missing

        return [m for m in (_module_missing("rapidocr"), _module_missing("onnxruntime")) if m]

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        if _chosen_judge(ctx):
            from genlens.judges.base import make_judge
            from genlens.judges.scorer import judge_choice

            choice = judge_choice(ctx, OFFICIAL_JUDGE)
            # the official generate() call's limit (1024 new tokens), under the name the judge kind takes
            limit = "max_new_tokens" if choice.spec.startswith("local:") else "max_tokens"
            params = {limit: 1024, **choice.params}
            return [LongTextVlmScorer(make_judge(choice.spec, concurrency=ctx.concurrency, params=params))]
        require(self.meta.name, "rapidocr", "onnxruntime")
        return [LongTextStandInScorer()]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        scorer = VLM_SCORER if _chosen_judge(ctx) else STAND_IN_SCORER
        rows: list[dict[str, Any]] = []
        counts = {"images_scored": 0, "generation_refused": 0, "generation_errors": 0, "not_scored": 0, "reader_errors": 0}
        measured: list[dict[str, Any]] = []
        models: set[str] = set()
        for entry in scored:
            gen, item = entry.generation, entry.item
            language = item.meta["language"]
            row: dict[str, Any] = {"item": item.id, "sample": gen.sample, "category": language, "topic": item.meta["topic"],
                                   "length": item.meta["length"], "prompt": item.prompt, "status": gen.status,
                                   "image": gen.images[0] if gen.images else None, "score": None, "passed": None, "reason": gen.reason}
            rows.append(row)
            if gen.status == "refused":  # nothing rendered: no unit matched
                counts["generation_refused"] += 1
                matched, total = rules.match_counts(item.meta["texts"], "", language)
            elif gen.status != "ok":
                counts["generation_errors"] += 1
                continue
            else:
                record = entry.scores.get(scorer)
                if record is None:
                    counts["not_scored"] += 1
                    row["reason"] = "not read yet"
                    continue
                if record.status != "ok":
                    counts["reader_errors"] += 1
                    row["reason"] = str(record.value.get("reason", record.status))
                    continue
                if record.value.get("model"):
                    models.add(str(record.value["model"]))
                row["reply"] = record.value["reply"]
                matched, total = rules.match_counts(item.meta["texts"], record.value["reply"], language)
                counts["images_scored"] += 1
            row.update(matched=matched, target_units=total, score=matched / total if total else None, passed=matched == total,
                       reason=f"{matched}/{total} {'words' if language == 'en' else 'characters'} found")
            measured.append(row)

        def pooled(sub: list[dict[str, Any]]) -> float | None:
            return rules.text_score([(r["matched"], r["target_units"]) for r in sub])

        categories: dict[str, dict[str, Any]] = {}
        for language in self.languages:
            sub = [r for r in measured if r["category"] == language]
            categories[language] = {"score": pooled(sub), "n": len(sub),
                                    **{f"score_{length}": pooled([r for r in sub if r["length"] == length]) for length in ("short", "long")}}
        per_language: dict[str, float | None] = {HEADLINE[lang]: categories[lang]["score"] for lang in self.languages}
        headline: dict[str, float | None] = per_language
        if len(self.languages) == 2:  # the average (reports' first column) is the mean of the two languages
            values = [per_language["english"], per_language["chinese"]]
            average = None if None in values else (values[0] + values[1]) / 2  # type: ignore[operator]
            headline = {"average": average, **per_language}
        topics = sorted({r["topic"] for r in measured})
        items = self.items()
        samples = run_samples(ctx.run_dir, self.meta.default_samples)
        result = SuiteResult(
            headline=headline, categories=categories, rows=rows, counts={**counts, "items_in_suite": len(items)},
            extra={"languages": "+".join(self.languages), "by_topic": {lang: {t: pooled([r for r in measured if r["category"] == lang and r["topic"] == t]) for t in topics}
                                for lang in self.languages}},
        )
        caveats: list[str] = []
        if scorer == STAND_IN_SCORER:
            caveats.append("stand-in reader: rapidocr PP-OCR, not the official Qwen2.5-VL-7B-Instruct transcription; "
                           f"not comparable with published LongText-Bench numbers (give --judge {OFFICIAL_JUDGE} for the official path)")
        else:
            wanted = OFFICIAL_JUDGE.partition(":")[2]
            if models and not all(m.startswith(wanted) for m in models):
                caveats.append(f"reader model(s) {', '.join(sorted(models))} differ from the official {wanted} "
                               "(ImageEvalKit uses Qwen2.5-VL-32B-Instruct): not directly comparable")
            caveats.append("images reach the VLM through genlens's Qwen input builder (Qwen chat template, the checkpoint's "
                           "image processor, greedy decoding, max 1024 new tokens) instead of qwen_vl_utils")
        if counts["generation_refused"]:
            caveats.append(f"{counts['generation_refused']} refused generation(s) count as 0 matched (the official script scores only images on disk)")
        coverage = Coverage(prompts=(len({r["item"] for r in measured}), len(items)), images=(len(measured), len(items) * samples),
                            tags=(sum(1 for lang in self.languages if categories[lang]["n"]), len(self.languages)))
        partial = mark_partial(result, coverage)
        if partial:
            caveats.insert(0, partial)
        result.provenance = {
            "protocol": (f"{UPSTREAM}: reply minus 'No text recognized.'; keep CJK/ASCII letters+digits/French accents; "
                         "EN: words, lower-cased; ZH: characters; score = sum matched / sum target units over a language's images; "
                         "average = mean of English and Chinese"),
            "scorer": ("VLM transcription " + ", ".join(sorted(models))) if scorer == VLM_SCORER else "rapidocr stand-in",
            "official_scorer": scorer == VLM_SCORER and bool(models) and all(m.startswith(OFFICIAL_JUDGE.partition(":")[2]) for m in models),
            "ocr_prompt": rules.OCR_PROMPT,
            "caveats": caveats,
        }
        if partial:
            result.provenance["caveat"] = partial
        return result
