"""``vision-seg``: ask an edit-capable model for a semantic segmentation map, score it two ways.

The instruction gives a class → colour palette. Every output is scored in both modes:

- **palette mode** (the protocol): after registration (nearest-neighbour resampling), each pixel takes
  the class of its nearest palette colour in CIELAB (ΔE76). Per image: mIoU over the classes present
  in the ground truth or the prediction, pixel accuracy. Per dataset: mIoU from intersections and
  unions summed over all images (the ADE20K protocol), pixel accuracy pooled. Pixels farther than
  ΔE 25 from every palette colour are counted; when more than half are, the palette was ignored.
- **open mode** (an upper bound, labelled so): the output's colours are k-means clustered (k = the
  number of ground-truth segments) and clusters Hungarian-matched one-to-one to ground-truth segments
  for the largest total IoU; mIoU over segments (unmatched = 0), pixel accuracy.

Ground truth: built-in scenes' classes (floor, wall, box, sphere, cylinder); ADE20K's 150 classes
(0 = other, ignored). Refusals and outputs that do not register are failures (mIoU 0 in
``miou_with_failures``).

``--scorer-arg specialist=<hub id or dir>`` adds a segmentation model run on the same inputs through
transformers' ``pipeline("image-segmentation")``: its labels are matched to the palette's class
names (case-insensitive; first name of "a;b" or "a, b"), unmatched labels count as wrong pixels, and
its segments go through the same open-mode matching — shown as ``<dataset> (specialist)`` rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genlens.scorers.base import Scorer
from genlens.suites._diag import base_row
from genlens.suites._vision_data import Sample, palette_for, seg_truth
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


def seg_instruction(palette: dict[int, tuple[str, str, tuple[int, int, int]]]) -> str:
    entries = "; ".join(f"{name}: {colour} {rgb}" for name, colour, rgb in palette.values())
    return (f"Turn this photo into a semantic segmentation map: paint every pixel in the flat colour of its class, "
            f"using exactly these RGB colours — {entries}. No outlines, shading or texture. {FRAMING}")


class SegScorer(VisionScorer):
    name = "vision_seg"
    version = "1"
    nearest = True

    def measure(self, inp: ScoreInput, sample: Sample, source: np.ndarray, generated: Any, warp: Any,
                visible: np.ndarray) -> dict[str, Any]:
        from genlens.suites._vision import (
            PALETTE_IGNORED_SHARE,
            PALETTE_OFF_DELTA_E,
            cluster_colours,
            label_colours,
            palette_labels,
            write_panels,
        )

        classes, _instances, valid = seg_truth(sample, inp.data_dir)
        rgb = warp(generated.rgb)
        if rgb.shape[:2] != classes.shape:
            import cv2

            rgb = cv2.resize(rgb, (classes.shape[1], classes.shape[0]), interpolation=cv2.INTER_NEAREST)
            visible = cv2.resize(visible.astype(np.uint8), (classes.shape[1], classes.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
        valid = valid & visible
        if not valid.any():
            return {"failure": "no labelled ground-truth pixel is covered by the output"}
        palette = {int(k): tuple(v[2]) for k, v in (inp.item.meta.get("palette") or {}).items()}
        pred, distance = palette_labels(rgb, palette)
        gt_ids = np.flatnonzero(np.bincount(classes[valid].ravel()))
        off = float((distance[valid] > PALETTE_OFF_DELTA_E).mean())
        clusters = cluster_colours(rgb, len(gt_ids))
        measures = seg_measures(pred, clusters, classes, valid)
        wrong = valid & (pred != classes)
        error = np.zeros((*classes.shape, 3), dtype=np.uint8)
        error[valid & ~wrong] = (235, 235, 235)
        error[wrong] = (220, 30, 30)
        palette_rgb = {cid: tuple(int(x) for x in rgb_) for cid, rgb_ in palette.items()}
        panels = write_panels(inp.run_dir, panel_path(inp, "vision-seg"), [
            ("input", source), ("generated", generated.rgb), ("palette classes", label_colours(pred, palette_rgb)),
            ("ground truth", label_colours(np.where(valid, classes, 0), palette_rgb)), ("errors (red)", error)])
        return {**measures, "off_palette_share": off, "palette_ignored": off > PALETTE_IGNORED_SHARE, "panels": panels}


def seg_measures(pred: np.ndarray, segments: np.ndarray, classes: np.ndarray, valid: np.ndarray) -> dict[str, Any]:
    """Palette-mode IoU parts (class 0 = no class: wrong, never a class of its own) and open-mode matching."""
    from genlens.suites._vision import hungarian_match, intersection_union, mean_iou

    ids, inter, union = intersection_union(pred, classes, valid)
    keep = [i for i, cid in enumerate(ids) if cid != 0]
    ids, inter, union = [ids[i] for i in keep], inter[keep], union[keep]
    open_mode = hungarian_match(segments, classes, valid)
    correct = int(((pred == classes) & valid).sum())
    return {"miou": mean_iou(inter, union), "pixel_accuracy": correct / int(valid.sum()), "n_valid": int(valid.sum()),
            "correct": correct, "classes": ids, "intersection": inter.tolist(), "union": union.tolist(),
            "open_miou": open_mode["miou"], "open_pixel_accuracy": open_mode["pixel_accuracy"],
            "open_clusters": open_mode["clusters"], "open_segments": open_mode["segments"]}


def _name_key(name: str) -> str:
    return name.replace(";", ",").split(",")[0].strip().lower()


class SpecialistSegScorer(SpecialistScorer):
    """A segmentation model on the same input photos (transformers ``pipeline("image-segmentation")``)."""

    task = "image-segmentation"
    what = "image-segmentation model"

    def run(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        from PIL import Image

        sample = sample_of(inp.item)
        source = input_rgb(sample, inp.data_dir)
        classes, _instances, valid = seg_truth(sample, inp.data_dir)
        by_name = {_name_key(str(v[0])): int(k) for k, v in (inp.item.meta.get("palette") or {}).items()}
        pred = np.zeros(classes.shape, dtype=np.int32)
        segments = np.zeros(classes.shape, dtype=np.int32)
        matched: list[str] = []
        for index, segment in enumerate(self.pipe(Image.fromarray(source))):
            mask = np.asarray(segment["mask"].resize((classes.shape[1], classes.shape[0]), Image.NEAREST)) > 0
            cid = by_name.get(_name_key(str(segment.get("label", ""))), 0)
            pred[mask] = cid
            segments[mask] = index + 1
            if cid:
                matched.append(str(segment["label"]))
        return "ok", {**seg_measures(pred, segments, classes, valid), "specialist": self.model, "labels_matched": matched,
                      "palette_ignored": False}


def seg_table(values: Sequence[dict[str, Any]], failures: int) -> dict[str, float | int | None]:
    """One dataset's row: palette mIoU from summed intersections/unions, pixel accuracy, open-mode means."""
    inter: dict[int, int] = {}
    union: dict[int, int] = {}
    for value in values:
        for cid, i, u in zip(value["classes"], value["intersection"], value["union"], strict=True):
            inter[cid] = inter.get(cid, 0) + int(i)
            union[cid] = union.get(cid, 0) + int(u)
    ious = [inter[c] / union[c] for c in union if union[c] > 0]
    n_valid = sum(int(v["n_valid"]) for v in values)
    return {
        "miou": float(np.mean(ious)) if ious else None,
        "pixel_accuracy": sum(int(v["correct"]) for v in values) / n_valid if n_valid else None,
        "mean_image_miou": mean_key(values, "miou"),
        "open_miou_upper_bound": mean_key(values, "open_miou"),
        "open_pixel_accuracy_upper_bound": mean_key(values, "open_pixel_accuracy"),
        "palette_ignored_rate": (sum(1 for v in values if v.get("palette_ignored")) / len(values)) if values else None,
        "failures": failures,
        "miou_with_failures": with_failures([float(v["miou"] or 0.0) for v in values], failures),
        "n": len(values) + failures,
    }


@register_suite
class VisionSegSuite(VisionSuite):
    task = "seg"
    meta = SuiteMeta(
        name="vision-seg",
        version="1",
        title="Vision by generation: semantic segmentation maps (palette mIoU; open-mode Hungarian upper bound)",
        task="edit",
        categories=("scenes", "ade20k"),
        needs=("none",),
        data_source="built in (ray-cast scenes, exact labels); ADE20K validation via `genlens data fetch vision-seg` or --data-dir",
        item_count=DEFAULT_SCENES,  # the built-in scenes; real sets: as many as the data dir holds
        description="Nearest palette colour in CIELAB: mIoU, pixel accuracy; open mode: k-means colours Hungarian-matched (upper bound).",
    )

    def instruction(self, sample: Sample) -> tuple[str, dict[str, Any]]:
        palette = palette_for(sample, self.data_dir)
        return seg_instruction(palette), {"palette": {str(k): [v[0], v[1], list(v[2])] for k, v in palette.items()}}

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        require_scoring(self.meta.name)
        specialist = specialist_args(ctx)
        return [SegScorer(), *([SpecialistSegScorer(specialist)] if specialist else [])]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        measured, rows, counts = split_vision(scored, "vision_seg")
        failures: dict[str, int] = {}
        for row in rows:
            if row.get("failure"):
                failures[row["category"]] = failures.get(row["category"], 0) + 1
        by_dataset: dict[str, list[dict[str, Any]]] = {}
        for entry, value in measured:
            by_dataset.setdefault(entry.item.category, []).append(value)
            reason = (f"palette mIoU {value['miou']:.3f}, pixel acc {value['pixel_accuracy']:.3f}; open-mode upper bound "
                      f"mIoU {value['open_miou']:.3f} ({value['registration']})")
            if value["palette_ignored"]:
                reason += f"; palette ignored ({value['off_palette_share']:.0%} of pixels off it)"
            rows.append({**base_row(entry), "dataset": entry.item.category, "score": value["miou"], "passed": None,
                         "reason": reason, "gallery_image": value.get("panels"), "registration": value["registration"],
                         "values": {k: value[k] for k in ("miou", "pixel_accuracy", "open_miou", "open_pixel_accuracy", "off_palette_share")
                                    if isinstance(value.get(k), (int, float))}})
        categories = {ds: seg_table(by_dataset.get(ds, []), failures.get(ds, 0)) for ds in sorted(set(by_dataset) | set(failures))}
        all_values = [v for _e, v in measured]
        overall = seg_table(all_values, sum(failures.values()))
        specialist: dict[str, float | None] = {}
        by_specialist = specialist_values(scored)
        for dataset, values in by_specialist.items():
            categories[f"{dataset} (specialist)"] = seg_table(values, 0)
        if by_specialist:
            spec_all = seg_table([v for values in by_specialist.values() for v in values], 0)
            specialist = {"specialist_miou": spec_all["miou"], "specialist_open_miou_upper_bound": spec_all["open_miou_upper_bound"]}
        result = SuiteResult(
            headline={"miou": overall["miou"]},
            metrics={**{k: overall[k] for k in ("pixel_accuracy", "mean_image_miou", "open_miou_upper_bound",
                                                "open_pixel_accuracy_upper_bound", "palette_ignored_rate", "miou_with_failures")},
                     **specialist},
            categories=categories,
            counts={"images_measured": len(all_values), "palette_ignored": sum(1 for v in all_values if v["palette_ignored"]),
                    "with_alpha": sum(1 for v in all_values if v.get("has_alpha")), **counts},
            provenance={"rule": ("palette mode: nearest palette colour in CIELAB (ΔE76), mIoU = mean over classes of "
                                 "Σ intersection / Σ union across the dataset (classes with a non-empty union), pixel "
                                 "accuracy pooled; open mode (UPPER BOUND): k-means in CIELAB with k = ground-truth "
                                 "segments, clusters Hungarian-matched to segments for maximum total IoU, unmatched "
                                 "segments IoU 0; refusals and unregistered outputs are failures (0 in miou_with_failures)"),
                        **({"specialist": specialist_args(ctx)} if specialist_args(ctx) else {})},
            rows=rows,
        )
        return flag_partial(result, self, measured, counts, ctx)
