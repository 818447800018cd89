"""``vision-depth``: ask an edit-capable model for a depth map of a photo, score it against ground truth.

Per image: register the output to the input (an output that does not register is a failure, counted),
decode it (grey luminance, a 16-bit grey map at full precision, or inversion of the requested or the
detected named colormap, with off-colormap pixels counted), align it Marigold-style (least-squares
scale and shift in depth and in disparity, the better fit kept and recorded), clip to the dataset's
depth range, and measure AbsRel and δ1/δ2/δ3 on the dataset's valid mask (NYUv2: Eigen crop).
Per dataset: the mean of the per-image metrics (Marigold's reporting), the pooled metrics over all
valid pixels, the failure count and δ1 with failures counted as 0. ``--scorer-arg specialist=<hub id
or dir>`` adds a depth model run on the same inputs through transformers' ``pipeline("depth-estimation")``,
aligned and measured the same way, as its own rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genlens.args import Arg
from genlens.scorers.base import Scorer
from genlens.suites._diag import base_row
from genlens.suites._vision_data import DEPTH_RANGES, Sample, depth_truth
from genlens.suites._vision_suite import (
    DEFAULT_SCENES,
    FRAMING,
    SpecialistScorer,
    VisionScorer,
    VisionSuite,
    flag_partial,
    input_rgb,
    mean_key,
    panel_path,
    require_scoring,
    sample_of,
    specialist_args,
    specialist_values,
    split_vision,
    with_failures,
)
from genlens.suites.base import ScoreContext, SuiteMeta, SuiteResult, register_suite
from genlens.types import ScoredGeneration, ScoreInput

METRICS = ("abs_rel", "delta1", "delta2", "delta3")
PANEL_SIDE = 480


def depth_instruction(colormap: str) -> str:
    if colormap == "grey":
        how = "a greyscale image in which nearer surfaces are brighter and farther surfaces are darker"
    else:
        how = (f"an image coloured with the {colormap} colormap, nearer surfaces at the bright end of the colormap "
               f"and farther surfaces at the dark end")
    return f"Turn this photo into a depth map: {how}. {FRAMING}"


def measure_depth(pred: np.ndarray, sample: Sample, root: Path | None, visible: np.ndarray) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Align a relative prediction (source frame) to the ground truth and measure it; arrays for panels."""
    from genlens.suites._vision import align_depth, apply_fit

    gt, valid, depth_range = depth_truth(sample, root)
    if pred.shape != gt.shape:
        import cv2

        pred = cv2.resize(pred.astype(np.float32), (gt.shape[1], gt.shape[0]), interpolation=cv2.INTER_LINEAR)
        visible = cv2.resize(visible.astype(np.uint8), (gt.shape[1], gt.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    valid = valid & visible
    if valid.sum() < 2:
        return {"failure": "no valid ground-truth pixel is covered by the output"}, {}
    fit = align_depth(pred, gt, valid, depth_range)
    # The gallery panels need the aligned map and its error: made on a copy at most PANEL_SIDE wide.
    step = max(1, int(np.ceil(max(gt.shape) / PANEL_SIDE)))
    small_gt, small_valid = gt[::step, ::step], valid[::step, ::step]
    aligned = apply_fit(pred[::step, ::step], fit, depth_range)
    error = np.abs(aligned - small_gt) / np.where(small_gt > 0, small_gt, 1.0)
    return fit, {"aligned": aligned, "gt": small_gt, "valid": small_valid, "error": error}


def depth_panels(source: np.ndarray, generated: np.ndarray, arrays: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
    from genlens.suites._vision import colourise

    valid, gt = arrays["valid"], arrays["gt"]
    lo, hi = float(gt[valid].min()), float(gt[valid].max())
    # Near = bright in both panels: inverse depth through inferno.
    return [("input", source), ("generated", generated),
            ("aligned", colourise(-arrays["aligned"], valid, -hi, -lo)), ("ground truth", colourise(-gt, valid, -hi, -lo)),
            ("AbsRel 0-0.5", colourise(arrays["error"], valid, 0.0, 0.5, cmap="viridis"))]


class DepthScorer(VisionScorer):
    name = "vision_depth"
    version = "1"

    def measure(self, inp: ScoreInput, sample: Sample, source: np.ndarray, generated: Any, warp: Any,
                visible: np.ndarray) -> dict[str, Any]:
        from genlens.suites._vision import decode_depth, write_panels

        requested = str(inp.item.meta.get("colormap", "grey"))
        if generated.scalar is not None:
            values = warp(generated.scalar.astype(np.float32))
            info: dict[str, Any] = {"decoded_as": "grey (16-bit)", "requested_colormap": requested,
                                    "colormap_matches_request": requested == "grey", "off_colormap_pixels": 0, "off_colormap_share": 0.0}
        else:
            decoded, info = decode_depth(generated.rgb, requested)
            values = warp(decoded)
        value, arrays = measure_depth(values, sample, inp.data_dir, visible)
        value.update(info)
        if arrays:
            value["panels"] = write_panels(inp.run_dir, panel_path(inp, "vision-depth"),
                                           depth_panels(source, generated.rgb, arrays))
        return value


class SpecialistDepthScorer(SpecialistScorer):
    """A depth model on the same input photos (transformers ``pipeline("depth-estimation")``)."""

    task = "depth-estimation"
    what = "depth model"

    def run(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        import cv2
        from PIL import Image

        sample = sample_of(inp.item)
        source = input_rgb(sample, inp.data_dir)
        output = self.pipe(Image.fromarray(source))
        predicted = np.asarray(output["predicted_depth"].detach().float().cpu().numpy(), dtype=np.float32).squeeze()
        pred = cv2.resize(predicted, (source.shape[1], source.shape[0]), interpolation=cv2.INTER_LINEAR)
        value, _arrays = measure_depth(pred, sample, inp.data_dir, np.ones(source.shape[:2], dtype=bool))
        return "ok", {**value, "specialist": self.model}


def depth_table(values: Sequence[dict[str, Any]], failures: int) -> dict[str, float | int | None]:
    """One dataset's row: per-image means (Marigold), pooled over pixels, failures, δ1 with failures as 0."""
    n_valid = sum(int(v.get("n_valid", 0)) for v in values)
    row: dict[str, float | int | None] = {m: mean_key(values, m) for m in METRICS}
    row["pooled_abs_rel"] = sum(float(v["sum_abs_rel"]) for v in values) / n_valid if n_valid else None
    for k in (1, 2, 3):
        row[f"pooled_delta{k}"] = sum(int(v[f"hits_delta{k}"]) for v in values) / n_valid if n_valid else None
    row["failures"] = failures
    row["delta1_with_failures"] = with_failures([float(v["delta1"]) for v in values], failures)
    row["disparity_fit_share"] = (sum(1 for v in values if v.get("alignment") == "disparity") / len(values)) if values else None
    row["n"] = len(values) + failures
    return row


@register_suite
class VisionDepthSuite(VisionSuite):
    task = "depth"
    meta = SuiteMeta(
        name="vision-depth",
        version="1",
        title="Vision by generation: depth maps scored against ground truth (AbsRel, δ1)",
        task="edit",
        categories=("scenes", "nyuv2", "diode"),
        needs=("none",),
        data_source="built in (ray-cast scenes, exact depth); NYUv2 / DIODE via `genlens data fetch vision-depth` or --data-dir",
        item_count=DEFAULT_SCENES,  # the built-in scenes; real sets: as many as the data dir holds
        description="Register, decode (grey or colormap), Marigold affine alignment in depth or disparity; AbsRel, δ1–δ3 per dataset.",
    )
    args = (*VisionSuite.args, Arg("colormap", "str", "grey", "how depth is drawn (see genlens.suites._vision.COLORMAPS)", "grey"))

    def instruction(self, sample: Sample) -> tuple[str, dict[str, Any]]:
        from genlens.suites._vision import COLORMAPS

        colormap = str(self.suite_args.get("colormap", "grey"))
        if colormap not in COLORMAPS:
            from genlens.errors import SpecError

            raise SpecError(f"unknown colormap {colormap!r}", fix=f"--suite-arg colormap= one of {', '.join(COLORMAPS)}")
        return depth_instruction(colormap), {"colormap": colormap, "polarity": "near is bright"}

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        require_scoring(self.meta.name)
        specialist = specialist_args(ctx)
        return [DepthScorer(), *([SpecialistDepthScorer(specialist)] if specialist else [])]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        measured, rows, counts = split_vision(scored, "vision_depth")
        by_dataset: dict[str, list[dict[str, Any]]] = {}
        failures: dict[str, int] = {}
        for row in rows:
            if row.get("failure"):
                failures[row["category"]] = failures.get(row["category"], 0) + 1
        for entry, value in measured:
            by_dataset.setdefault(entry.item.category, []).append(value)
            reason = (f"AbsRel {value['abs_rel']:.3f}, δ1 {value['delta1']:.3f} ({value['alignment']} fit, "
                      f"decoded as {value['decoded_as']}, {value['registration']})")
            if not value.get("colormap_matches_request", True):
                reason += f"; asked for {value['requested_colormap']}"
            rows.append({**base_row(entry), "dataset": entry.item.category, "score": value["delta1"], "passed": None,
                         "reason": reason, "gallery_image": value.get("panels"),
                         "values": {k: value[k] for k in (*METRICS, "off_colormap_share", "scale", "shift") if isinstance(value.get(k), (int, float))},
                         **{k: value.get(k) for k in ("alignment", "decoded_as", "registration", "off_colormap_pixels", "n_valid")}})
        categories = {ds: depth_table(by_dataset.get(ds, []), failures.get(ds, 0))
                      for ds in sorted(set(by_dataset) | set(failures))}
        specialist = self._specialist(scored, categories)
        all_values = [v for _e, v in measured]
        total_failures = sum(failures.values())
        overall = depth_table(all_values, total_failures)
        mismatched = sum(1 for v in all_values if not v.get("colormap_matches_request", True))
        result = SuiteResult(
            headline={"abs_rel": overall["abs_rel"]},
            metrics={**{k: overall[k] for k in ("delta1", "delta2", "delta3", "pooled_abs_rel", "pooled_delta1",
                                                 "delta1_with_failures", "disparity_fit_share")},
                     "failure_rate": total_failures / (len(all_values) + total_failures) if all_values or total_failures else None,
                     "mean_off_colormap_share": mean_key(all_values, "off_colormap_share"), **specialist},
            categories=categories,
            counts={"images_measured": len(all_values), "colormap_not_as_requested": mismatched,
                    "grey_maps": sum(1 for v in all_values if str(v.get("decoded_as", "")).startswith("grey")),
                    "with_alpha": sum(1 for v in all_values if v.get("has_alpha")),
                    "resized": sum(1 for v in all_values if v.get("registration") == "resized"),
                    "registered": sum(1 for v in all_values if v.get("registration") == "registered"), **counts},
            provenance={"rule": ("register (same size: as is; same aspect: resized; else SIFT+RANSAC affine, failing = failure); "
                                 "decode grey luminance or nearest colour of the requested/detected matplotlib colormap; "
                                 "least-squares scale+shift on valid pixels in depth and in disparity (Marigold), the lower-AbsRel "
                                 "fit kept; clip to the dataset's depth range; AbsRel, δk = max(d̂/d, d/d̂) < 1.25^k; "
                                 "dataset rows average per-image metrics (pooled_* over all valid pixels); failures "
                                 "(refused, not registered) count 0 in delta1_with_failures"),
                        "depth_ranges": {k: list(v) for k, v in DEPTH_RANGES.items()},
                        **({"specialist": specialist_args(ctx)} if specialist_args(ctx) else {})},
            rows=rows,
        )
        return flag_partial(result, self, measured, counts, ctx)

    def _specialist(self, scored: Sequence[ScoredGeneration], categories: dict[str, Any]) -> dict[str, float | None]:
        """Specialist rows per dataset (one per item, not per sample) and its overall numbers."""
        by_dataset = specialist_values(scored)
        if not by_dataset:
            return {}
        for dataset, values in by_dataset.items():
            categories[f"{dataset} (specialist)"] = depth_table(values, 0)
        overall = depth_table([v for values in by_dataset.values() for v in values], 0)
        return {"specialist_abs_rel": overall["abs_rel"], "specialist_delta1": overall["delta1"]}
