"""``diag-text``: exact strings in seven scripts at three lengths, read back by OCR.

The same three notices in English, Chinese, Japanese, Korean, Russian, Arabic and Hindi
(short / medium / long). Scoring reads each image with rapidocr (:mod:`genlens.scorers.ocr`):
character error rate = Levenshtein / expected length after NFKC, case folding and removing
whitespace and punctuation (capped at 1), and exact match of the same normalised text. Scripts
the recogniser cannot output are reported as not measurable (null with the reason), never as
zero; the per-script table says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genlens.args import Arg
from genlens.imageio import load_image
from genlens.scorers.base import Scorer
from genlens.stats import mean_or_none
from genlens.suites._diag import DiagSuite, base_row, mean_of, prompts, rate, rate_interval, require, score_each, split_scored
from genlens.suites.base import ScoreContext, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

SCRIPTS = ("en", "zh", "ja", "ko", "ru", "ar", "hi")
LENGTHS = ("short", "medium", "long")


class TextScorer(Scorer):
    name = "diag_text"
    version = "1"
    batch_size = 4

    def __init__(self, models: dict[str, str] | None = None):
        self.models = dict(models or {})

    def identity(self) -> dict[str, Any]:
        import rapidocr

        from genlens.scorers.ocr import default_rec_model

        return {"model": f"rapidocr {getattr(rapidocr, '__version__', '?')} ({default_rec_model().name})",
                "extra_recognisers": {k: v for k, v in sorted(self.models.items())}}

    def load(self) -> None:
        from genlens.scorers.ocr import ocr_engine

        ocr_engine()

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return score_each(batch, self.score_one)

    def score_one(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        from genlens.scorers.ocr import score_text

        rgb = np.asarray(load_image(inp.image_paths[0]).convert("RGB"))
        return "ok", score_text(rgb, inp.item.meta["text"], inp.item.meta["script"], self.models)


@register_suite
class DiagTextSuite(DiagSuite):
    meta = SuiteMeta(
        name="diag-text",
        version="1",
        title="Diagnostics: exact text in seven scripts (OCR character error rate)",
        task="generate",
        categories=SCRIPTS,
        needs=("ocr",),
        data_source="built in (genlens strings)",
        item_count=len(SCRIPTS) * len(LENGTHS),
        description="rapidocr CER and exact-match rate per script and length; scripts the recogniser lacks are 'not measurable', not zero.",
    )
    scorer_args = (Arg("ocr_model_*", "str", None, "a recognition model file per script, e.g. ocr_model_latin=PATH",
                       "ocr_model_latin=rec.onnx"),)

    def items(self) -> Sequence[Item]:
        data = prompts("text")
        out = []
        for script in SCRIPTS:
            for length in LENGTHS:
                text = data["strings"][script][length]
                out.append(Item(id=f"{script}-{length}", prompt=data["template"].format(text=text), category=script,
                                meta={"text": text, "script": script, "length": length}))
        return out

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        require(self.meta.name, "rapidocr", "onnxruntime")
        models = {key.removeprefix("ocr_model_"): str(value) for key, value in ctx.scorer_args.items() if key.startswith("ocr_model_")}
        return [TextScorer(models)]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        done, rows, counts = split_scored(scored, "diag_text")
        refused = {script: 0 for script in SCRIPTS}
        for entry in scored:
            if entry.generation.status == "refused":
                refused[entry.item.category] += 1
        measured = []
        reasons: dict[str, str] = {}
        for entry, value in done:
            row = {**base_row(entry), "length": entry.item.meta["length"], **value, "passed": value["exact"],
                   "text": {"expected": entry.item.meta["text"], "read": value.get("read")}}
            if value["cer"] is not None:
                row["score"] = 1.0 - value["cer"]
                row["values"] = {"cer": value["cer"]}
                measured.append(row)
            else:
                reasons[entry.item.category] = value["reason"]
            rows.append(row)
        categories: dict[str, dict[str, Any]] = {}
        for script in SCRIPTS:
            sub = [r for r in measured if r["category"] == script]
            # A refusal renders no text: CER 1, not an exact match (counted only where the script is measurable).
            penalties = [1.0] * refused[script] if sub else []
            cat: dict[str, Any] = {"cer": mean_or_none([r["cer"] for r in sub] + penalties),
                                   "exact_match_rate": rate([r["exact"] for r in sub] + [False] * len(penalties)),
                                   "n": len(sub) + len(penalties)}
            for length in LENGTHS:
                cat[f"cer_{length}"] = mean_of([r for r in sub if r["length"] == length], "cer")
            if sub:
                cat["measurable"] = True
            elif script in reasons:
                cat["measurable"] = False
                cat["n"] = 0
            categories[script] = cat
        measurable_scripts = [s for s in SCRIPTS if categories[s]["n"]]
        # The same refusal penalty as the per-script table: each refusal of a measurable script
        # (one with at least one image read) is CER 1 and not an exact match.
        penalised = sum(refused[s] for s in SCRIPTS if categories[s].get("measurable"))
        exact = [r["exact"] for r in measured] + [False] * penalised
        interval = rate_interval(exact)
        return SuiteResult(
            headline={"exact_match_rate": rate(exact)},
            metrics={"cer": mean_or_none([r["cer"] for r in measured] + [1.0] * penalised),
                     **{f"cer_{length}": mean_of([r for r in measured if r["length"] == length], "cer") for length in LENGTHS}},
            categories=categories,
            counts={"images_read": len(measured), "not_measurable": len(done) - len(measured), "refusals_penalised": penalised, **counts},
            intervals={"exact_match_rate": interval} if interval else {},
            extra={"measurable_scripts": measurable_scripts,
                   "not_measurable": {s: reasons[s] for s in SCRIPTS if s in reasons and s not in measurable_scripts}},
            provenance={"rule": ("CER = Levenshtein / expected length after NFKC + casefold + removing whitespace and punctuation, "
                                 "capped at 1; exact = equal normalised text; a script is measurable when the recogniser knows >= 99% "
                                 "of its characters; headline, overall CER and per-script figures cover measurable scripts only; there a refusal "
                                 "counts as CER 1 and not exact (per-length CER: images read only)"),
                        "ocr": "rapidocr PP-OCR, detection on <= 960 px, no angle classifier"},
            rows=rows,
        )
