"""``diag-blur``: does a model blur when asked, or sharpen anyway?

Five scenes are requested sharp and in four soft styles (soft focus, motion blur, fog, low
detail); three photos are edited in the same four styles. Every soft image is compared with its
reference — the sharp request of the same scene and sample, or for an edit its own input
resized (bicubic) to the output's width and height — after both are area-resized to 512 pixels
on the long side (sharpness depends on scale).
Measures: Laplacian variance, high-frequency energy share (> 0.25 cycles/px) and edge blur σ
(:mod:`genlens.scorers.image_stats`). Rule: a soft request *complies* when its Laplacian
variance is at most half its reference's (``lap_ratio`` ≤ 0.5); it was *sharpened* when the
ratio exceeds 1 (crisper than the sharp reference — GPT-ImgEval's forced sharpening). Sharp
requests are references, not scored for compliance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from genlens.imageio import load_image
from genlens.scorers.base import Scorer
from genlens.suites._diag import (
    DiagSuite,
    base_row,
    input_name,
    load_input_rgb,
    mean_of,
    prompts,
    rate,
    rate_interval,
    require,
    score_each,
    split_scored,
)
from genlens.suites.base import ScoreContext, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

WORK_SIDE = 512
COMPLIANCE_RATIO = 0.5
STYLES = ("soft-focus", "motion-blur", "fog", "low-detail")


def sharpness(rgb: np.ndarray) -> dict[str, float | None]:
    """Sharpness measures of an RGB array after area-resizing to ``WORK_SIDE`` on the long side."""
    from genlens.scorers.image_stats import edge_blur_sigma, high_frequency_share, laplacian_variance, luminance

    image = Image.fromarray(rgb)
    factor = WORK_SIDE / max(image.size)
    if factor != 1:
        image = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))), Image.BOX)
    gray = luminance(image)
    return {"laplacian_var": laplacian_variance(gray), "hf_share": high_frequency_share(gray), "edge_blur_sigma": edge_blur_sigma(gray)}


def compliance(soft: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """Ratios soft / reference and the verdict (Laplacian variance at most half the reference's)."""
    lap_ref = reference["laplacian_var"]
    if not lap_ref:
        return {"lap_ratio": None, "hf_ratio": None, "complied": None}
    lap_ratio = soft["laplacian_var"] / lap_ref
    hf_ratio = soft["hf_share"] / reference["hf_share"] if reference["hf_share"] else None
    return {"lap_ratio": lap_ratio, "hf_ratio": hf_ratio, "complied": lap_ratio <= COMPLIANCE_RATIO}


def edit_reference(source: np.ndarray, output_shape: tuple[int, ...]) -> np.ndarray:
    """An edit's sharp reference: its input resized (bicubic) to the output's width and height.

    Sharpness depends on scale, so an input compared at its own size would make any unchanged
    but upscaled answer look softer (Laplacian ratio 0.4–0.7) and "comply" with a blur request.
    """
    height, width = output_shape[:2]
    if source.shape[:2] == (height, width):
        return source
    return np.asarray(Image.fromarray(source).resize((width, height), Image.BICUBIC))


class BlurScorer(Scorer):
    name = "diag_blur"
    version = "2"
    batch_size = 8

    def identity(self) -> dict[str, Any]:
        return {"model": "none (weight-free)", "work_side": WORK_SIDE}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return score_each(batch, self.score_one)

    def score_one(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        output = np.asarray(load_image(inp.image_paths[0]).convert("RGB"))
        value: dict[str, Any] = sharpness(output)
        if inp.item.kind == "edit":
            value["reference"] = sharpness(edit_reference(load_input_rgb(inp.item.input_images[0], inp.data_dir), output.shape))
        return "ok", value


@register_suite
class DiagBlurSuite(DiagSuite):
    meta = SuiteMeta(
        name="diag-blur",
        version="1",
        title="Diagnostics: blur, soft focus and fog when asked (no forced sharpening)",
        task="generate+edit",
        categories=(*STYLES, "sharp"),
        needs=("none",),
        data_source="built in (genlens prompts; edit inputs from scikit-image's bundled photos)",
        item_count=len(prompts("blur")["scenes"]) * (len(STYLES) + 1) + len(prompts("blur")["edits"]["photos"]) * len(STYLES),
        description="Laplacian variance / high-frequency share of soft requests against matched sharp ones; compliance = at most half.",
    )

    def items(self) -> Sequence[Item]:
        data = prompts("blur")
        out = []
        for s_index, scene in enumerate(data["scenes"]):
            for style in ("sharp", *STYLES):
                out.append(Item(id=f"gen-s{s_index}-{style}", prompt=data["styles"][style].format(scene=scene), category=style,
                                meta={"scene": s_index, "style": style}))
        for photo_name in data["edits"]["photos"]:
            for style in STYLES:
                out.append(Item(id=f"edit-{photo_name}-{style}", prompt=data["edits"]["instructions"][style], kind="edit",
                                input_images=(input_name("blur", photo_name),), category=style, meta={"style": style}))
        return out

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        require(self.meta.name, "cv2", "skimage")
        return [BlurScorer()]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        done, rows, counts = split_scored(scored, "diag_blur")
        sharp = {(e.item.meta.get("scene"), e.generation.sample): v for e, v in done if e.item.category == "sharp"}
        judged = []
        missing_reference = 0
        for entry, value in done:
            row = {**base_row(entry), "kind": entry.item.kind, **{k: value[k] for k in ("laplacian_var", "hf_share", "edge_blur_sigma")}}
            if entry.item.category == "sharp":
                rows.append({**row, "passed": None, "reason": "sharp reference", "values": _values(value)})
                continue
            reference = value.get("reference") if entry.item.kind == "edit" else sharp.get((entry.item.meta.get("scene"), entry.generation.sample))
            if reference is None:
                missing_reference += 1
                rows.append({**row, "passed": None, "reason": "no sharp reference image for this scene and sample", "values": _values(value)})
                continue
            verdict = compliance(value, reference)
            row.update({**verdict, "reference_laplacian_var": reference["laplacian_var"], "passed": verdict["complied"],
                        "values": {**_values(value), **{k: v for k, v in verdict.items() if isinstance(v, float)}}})
            row["reason"] = (f"Laplacian variance {verdict['lap_ratio']:.2f}× the reference's "
                             f"({'softer' if verdict['complied'] else 'not measurably softer'}; rule <= {COMPLIANCE_RATIO})"
                             if verdict["lap_ratio"] is not None else "flat reference")
            rows.append(row)
            judged.append(row)
        categories: dict[str, dict[str, float | int | None]] = {}
        for style in STYLES:
            sub = [r for r in judged if r["category"] == style]
            categories[style] = {"compliance_rate": rate([r["complied"] for r in sub]),
                                 "sharpened_rate": rate([r["lap_ratio"] > 1.0 if r["lap_ratio"] is not None else None for r in sub]),
                                 "geo_mean_lap_ratio": _geo_mean([r["lap_ratio"] for r in sub]),
                                 "mean_hf_ratio": mean_of(sub, "hf_ratio"), "n": len(sub)}
        sharp_rows = [r for r in rows if r.get("category") == "sharp" and "laplacian_var" in r]
        categories["sharp"] = {"mean_laplacian_var": mean_of(sharp_rows, "laplacian_var"), "mean_hf_share": mean_of(sharp_rows, "hf_share"),
                               "n": len(sharp_rows)}
        complied = [r["complied"] for r in judged]
        interval = rate_interval(complied)
        return SuiteResult(
            headline={"compliance_rate": rate(complied)},
            metrics={"geo_mean_lap_ratio": _geo_mean([r["lap_ratio"] for r in judged]), "mean_hf_ratio": mean_of(judged, "hf_ratio"),
                     "sharpened_rate": rate([r["lap_ratio"] > 1.0 if r["lap_ratio"] is not None else None for r in judged]),
                     "generate_compliance_rate": rate([r["complied"] for r in judged if r["kind"] == "generate"]),
                     "edit_compliance_rate": rate([r["complied"] for r in judged if r["kind"] == "edit"])},
            categories=categories,
            counts={"soft_images_judged": len(judged), "missing_reference": missing_reference, **counts},
            intervals={"compliance_rate": interval} if interval else {},
            provenance={"rule": (f"a soft request complies when Laplacian variance <= {COMPLIANCE_RATIO} × its reference's "
                                 f"(generation: the sharp request of the same scene and sample; edit: its input resized bicubic to the "
                                 f"output's size), both area-resized "
                                 f"to {WORK_SIDE} px on the long side; refusals and errors are not judged")},
            rows=rows,
        )


def _values(value: dict[str, Any]) -> dict[str, float]:
    return {k: float(value[k]) for k in ("laplacian_var", "hf_share", "edge_blur_sigma") if value.get(k) is not None}


def _geo_mean(values: Sequence[float | None]) -> float | None:
    """Geometric mean of positive ratios (ratios multiply, so they average in log space)."""
    logs = [math.log(v) for v in values if v is not None and v > 0]
    return math.exp(sum(logs) / len(logs)) if logs else None
