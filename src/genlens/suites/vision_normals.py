"""``vision-normals``: ask an edit-capable model for a surface-normal map, score its angular error.

The instruction asks for camera-space normals (x right, y up, z towards the viewer) coded as
RGB = (n + 1) / 2. Per image, after registration: n = 2c − 1 (c = RGB / 255), normalised; the 8
axis-sign conventions are tried and the one with the lowest mean angular error is kept and recorded
(a model may follow another convention, e.g. y down or z away). Metrics on valid ground-truth pixels:
mean and median angular error (degrees) and the share of pixels within 11.25°, 22.5° and 30°.
Per dataset: per-image means, and the same pooled over all pixels. Refusals and outputs that do not
register are failures (0 in ``within_30_with_failures``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genlens.scorers.base import Scorer
from genlens.suites._diag import base_row
from genlens.suites._vision_data import Sample, normals_truth
from genlens.suites._vision_suite import (
    DEFAULT_SCENES,
    FRAMING,
    VisionScorer,
    VisionSuite,
    flag_partial,
    mean_key,
    panel_path,
    require_scoring,
    split_vision,
    with_failures,
)
from genlens.suites.base import ScoreContext, SuiteMeta, SuiteResult, register_suite
from genlens.types import ScoredGeneration, ScoreInput

INSTRUCTION = ("Turn this photo into a surface normal map: colour every pixel by the direction its surface faces, in "
               "camera coordinates with x pointing right (red), y pointing up (green) and z pointing towards the camera "
               "(blue), coded as RGB = (n + 1) / 2 × 255, so a wall facing the camera is (128, 128, 255) and a floor is "
               f"(128, 255, 128). {FRAMING}")
METRICS = ("mean_angle", "median_angle", "within_11.25", "within_22.5", "within_30")


class NormalsScorer(VisionScorer):
    name = "vision_normals"
    version = "1"

    def measure(self, inp: ScoreInput, sample: Sample, source: np.ndarray, generated: Any, warp: Any,
                visible: np.ndarray) -> dict[str, Any]:
        from genlens.suites._vision import best_flip, colourise, decode_normals, normal_metrics, write_panels

        gt, valid = normals_truth(sample, inp.data_dir)
        rgb = warp(generated.rgb)
        if rgb.shape[:2] != gt.shape[:2]:
            import cv2

            rgb = cv2.resize(rgb, (gt.shape[1], gt.shape[0]), interpolation=cv2.INTER_LINEAR)
            visible = cv2.resize(visible.astype(np.uint8), (gt.shape[1], gt.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
        pred, usable = decode_normals(rgb)
        valid = valid & visible
        if not valid.any():
            return {"failure": "no valid ground-truth pixel is covered by the output"}
        flip, errors = best_flip(pred, gt, valid & usable)
        errors = np.where(usable, errors, 180.0)  # a zero vector points nowhere: worst error
        metrics = normal_metrics(errors[valid])
        panels = write_panels(inp.run_dir, panel_path(inp, "vision-normals"), [
            ("input", source), ("generated", generated.rgb),
            ("decoded (flipped)", (((pred * np.array(flip, dtype=np.float32)) + 1) / 2 * 255).clip(0, 255).astype(np.uint8)),
            ("ground truth", ((gt + 1) / 2 * 255).clip(0, 255).astype(np.uint8)),
            ("error 0-45°", colourise(errors, valid, 0.0, 45.0, cmap="viridis"))])
        return {**metrics, "flip": list(flip), "convention": convention_name(flip), "unusable_pixels": int((valid & ~usable).sum()),
                "panels": panels}


def convention_name(flip: Sequence[int]) -> str:
    """'as asked' or the axes the model flipped, e.g. 'y flipped' (y down)."""
    flipped = [axis for axis, sign in zip("xyz", flip, strict=True) if sign < 0]
    return "as asked" if not flipped else f"{'+'.join(flipped)} flipped"


def normals_table(values: Sequence[dict[str, Any]], failures: int) -> dict[str, float | int | None]:
    n_valid = sum(int(v.get("n_valid", 0)) for v in values)
    row: dict[str, float | int | None] = {m: mean_key(values, m) for m in METRICS}
    row["pooled_mean_angle"] = sum(float(v["sum_angle"]) for v in values) / n_valid if n_valid else None
    for threshold in ("11.25", "22.5", "30"):
        row[f"pooled_within_{threshold}"] = sum(int(v[f"hits_{threshold}"]) for v in values) / n_valid if n_valid else None
    row["flipped_share"] = (sum(1 for v in values if v.get("convention") != "as asked") / len(values)) if values else None
    row["failures"] = failures
    row["within_30_with_failures"] = with_failures([float(v["within_30"]) for v in values], failures)
    row["n"] = len(values) + failures
    return row


@register_suite
class VisionNormalsSuite(VisionSuite):
    task = "normals"
    meta = SuiteMeta(
        name="vision-normals",
        version="1",
        title="Vision by generation: surface normal maps scored by angular error",
        task="edit",
        categories=("scenes", "diode"),
        needs=("none",),
        data_source="built in (ray-cast scenes, exact normals); DIODE validation via `genlens data fetch vision-normals` or --data-dir",
        item_count=DEFAULT_SCENES,  # the built-in scenes; real sets: as many as the data dir holds
        description="n = 2c − 1 normalised, best of 8 axis conventions (recorded); mean/median angle, % within 11.25°/22.5°/30°.",
    )

    def instruction(self, sample: Sample) -> tuple[str, dict[str, Any]]:
        return INSTRUCTION, {"convention": "x right, y up, z to viewer; RGB = (n + 1) / 2"}

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        require_scoring(self.meta.name)
        return [NormalsScorer()]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        measured, rows, counts = split_vision(scored, "vision_normals")
        failures: dict[str, int] = {}
        for row in rows:
            if row.get("failure"):
                failures[row["category"]] = failures.get(row["category"], 0) + 1
        by_dataset: dict[str, list[dict[str, Any]]] = {}
        for entry, value in measured:
            by_dataset.setdefault(entry.item.category, []).append(value)
            rows.append({**base_row(entry), "dataset": entry.item.category, "score": value["within_30"], "passed": None,
                         "reason": (f"mean {value['mean_angle']:.1f}°, median {value['median_angle']:.1f}°, within 30° "
                                    f"{value['within_30']:.3f} (convention: {value['convention']}; {value['registration']})"),
                         "gallery_image": value.get("panels"), "convention": value["convention"],
                         "values": {k: value[k] for k in METRICS if isinstance(value.get(k), (int, float))}})
        categories = {ds: normals_table(by_dataset.get(ds, []), failures.get(ds, 0)) for ds in sorted(set(by_dataset) | set(failures))}
        all_values = [v for _e, v in measured]
        overall = normals_table(all_values, sum(failures.values()))
        result = SuiteResult(
            headline={"mean_angle": overall["mean_angle"]},
            metrics={k: overall[k] for k in ("median_angle", "within_11.25", "within_22.5", "within_30", "pooled_mean_angle",
                                             "flipped_share", "within_30_with_failures")},
            categories=categories,
            counts={"images_measured": len(all_values), "flipped_convention": sum(1 for v in all_values if v["convention"] != "as asked"),
                    "with_alpha": sum(1 for v in all_values if v.get("has_alpha")), **counts},
            provenance={"rule": ("n = 2·RGB/255 − 1 normalised (zero vectors: 180°); best of the 8 axis-sign conventions by "
                                 "mean angular error (recorded per image); mean/median angle and share < 11.25°, 22.5°, 30° "
                                 "on valid ground-truth pixels; dataset rows average per-image metrics (pooled_* over pixels); "
                                 "refusals and unregistered outputs are failures (0 in within_30_with_failures)")},
            rows=rows,
        )
        return flag_partial(result, self, measured, counts, ctx)
