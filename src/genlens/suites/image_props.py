"""``image-props``: does the model deliver a decodable, non-blank image of the requested size?

Weight-free, so it runs anywhere. Per image: ``decodes`` (the file decodes fully), ``exact_size``
(width × height equal the request), ``aspect_error`` = |ln(actual aspect / requested aspect)|,
``blank`` (8-bit luminance standard deviation below 2.0: a flat frame). An image *passes* when it
decodes, has the exact size and is not blank. A refused request counts as a failure; a
request that errored is left out of the rates (and counted) until a resume retries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genlens.errors import InputError
from genlens.imageio import load_image
from genlens.scorers.base import Scorer
from genlens.stats import mean_or_none, wilson_interval
from genlens.suites.base import ScoreContext, Suite, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

BLANK_STD = 2.0
SIZES: tuple[tuple[int, int], ...] = (
    (1024, 1024), (512, 512), (768, 768),
    (1536, 1024), (1792, 1024), (1280, 720), (1024, 768),
    (1024, 1536), (1024, 1792), (720, 1280), (768, 1024),
)
PROMPTS = (
    "a red apple on a wooden table",
    "a busy city street at night with neon signs",
    "a mountain lake at dawn with mist over the water",
)


def shape_category(width: int, height: int) -> str:
    if width == height:
        return "square"
    return "landscape" if width > height else "portrait"


def image_properties(path: Any, requested: tuple[int, int] | None) -> dict[str, Any]:
    """The measured properties of one image file against the requested size."""
    try:
        image = load_image(path)
    except InputError as exc:
        return {"decodes": False, "passed": False, "reason": str(exc)}
    width, height = image.size
    lum = np.asarray(image.convert("L"), dtype=np.float32)
    std = float(lum.std())
    out: dict[str, Any] = {"decodes": True, "width": width, "height": height, "luminance_std": std,
                           "blank": std < BLANK_STD, "mode": image.mode}
    if requested:
        req_w, req_h = requested
        out["exact_size"] = (width, height) == (req_w, req_h)
        out["aspect_error"] = abs(float(np.log((width / height) / (req_w / req_h))))
    else:
        out["exact_size"] = True
        out["aspect_error"] = 0.0
    out["passed"] = bool(out["decodes"] and out["exact_size"] and not out["blank"])
    reasons = []
    if not out["exact_size"]:
        reasons.append(f"size {width}x{height} != requested {requested[0]}x{requested[1]}" if requested else "size")
    if out["blank"]:
        reasons.append(f"blank (luminance std {std:.2f} < {BLANK_STD})")
    out["reason"] = "; ".join(reasons) or "ok"
    return out


class ImagePropsScorer(Scorer):
    name = "image_props"
    version = "1"
    batch_size = 32

    def identity(self) -> dict[str, Any]:
        return {"model": "none (weight-free)", "blank_std": BLANK_STD}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return [("ok", image_properties(inp.image_paths[0], inp.item.size)) for inp in batch]


@register_suite
class ImagePropsSuite(Suite):
    meta = SuiteMeta(
        name="image-props",
        version="1",
        title="Image properties (size honoured, decodes, not blank)",
        task="generate",
        categories=("square", "landscape", "portrait"),
        needs=("none",),
        data_source="built in (genlens)",
        default_samples=1,
        item_count=len(SIZES) * len(PROMPTS),
        description="Requested size and aspect ratio honoured, image decodes, not blank. Weight-free.",
    )

    def items(self) -> Sequence[Item]:
        out = []
        for p_index, prompt in enumerate(PROMPTS):
            for width, height in SIZES:
                out.append(Item(
                    id=f"p{p_index}-{width}x{height}", prompt=prompt, category=shape_category(width, height),
                    size=(width, height),
                ))
        return out

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        return [ImagePropsScorer()]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        rows: list[dict[str, Any]] = []
        counted: list[dict[str, Any]] = []
        errored = 0
        for entry in scored:
            gen = entry.generation
            base = {"item": entry.item.id, "sample": gen.sample, "category": entry.item.category,
                    "prompt": entry.item.prompt, "requested": list(entry.item.size or ()), "status": gen.status,
                    "image": gen.images[0] if gen.images else None}
            if gen.status == "error":
                errored += 1
                rows.append({**base, "passed": None, "reason": gen.reason})
                continue
            if gen.status == "refused":
                value = {"passed": False, "decodes": False, "exact_size": False, "blank": False,
                         "reason": f"refused: {gen.reason}"}
            else:
                record = entry.scores.get("image_props")
                if record is None:
                    continue  # not scored yet
                value = record.value
            counted.append({**value, "category": entry.item.category})
            rows.append({**base, **value})

        def rate(rows_: list[dict[str, Any]], key: str) -> float | None:
            return mean_or_none([1.0 if r.get(key) else 0.0 for r in rows_])

        categories: dict[str, dict[str, float | int | None]] = {}
        for category in self.meta.categories:
            sub = [r for r in counted if r["category"] == category]
            categories[category] = {
                "pass_rate": rate(sub, "passed"), "exact_size_rate": rate(sub, "exact_size"),
                "mean_aspect_error": mean_or_none([r["aspect_error"] for r in sub if "aspect_error" in r]),
                "n": len(sub),
            }
        passes = sum(1 for r in counted if r.get("passed"))
        interval = wilson_interval(passes, len(counted))
        return SuiteResult(
            headline={"pass_rate": rate(counted, "passed")},
            metrics={
                "exact_size_rate": rate(counted, "exact_size"),
                "decode_rate": rate(counted, "decodes"),
                "blank_rate": rate(counted, "blank"),
                "mean_aspect_error": mean_or_none([r["aspect_error"] for r in counted if "aspect_error" in r]),
            },
            categories=categories,
            counts={"images_scored": len(counted), "errored": errored},
            intervals={"pass_rate": interval} if interval else {},
            provenance={"rule": "pass = decodes and exact size and luminance std >= 2.0; refused = fail; errors excluded"},
            rows=rows,
        )
