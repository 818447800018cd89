"""``diag-size``: are requested sizes and aspect ratios kept, and do edits keep the input's frame?

Generation items ask for 12 sizes (square to 4:1); edit items give inputs at unusual sizes
(e.g. 937×611) and ask for a small change that must keep size and framing. Per image:
``exact_size``, ``aspect_error`` = |ln(actual aspect / requested aspect)|; for edits also the
registration of input → output (:mod:`genlens.scorers.registration`): scale on each axis,
shift, ``visible_fraction`` (share of the input still in the frame) and ``covered_fraction``
(share of the frame filled by the input). Rules: *cropped* = visible < 0.98; *padded* =
covered < 0.98; *stretched* = |ln(scale_x / scale_y)| > 0.02; an edit's geometry is *kept* when
it registers and is none of these. Pass: generation = exact size; edit = exact size and geometry kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

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

CROP_LIMIT = 0.98
PAD_LIMIT = 0.98
STRETCH_LIMIT = 0.02
CATEGORIES = ("generate-square", "generate-landscape", "generate-portrait", "generate-extreme",
              "edit-landscape", "edit-portrait", "edit-square")


def shape_category(kind: str, width: int, height: int) -> str:
    ratio = width / height
    if kind == "generate" and (ratio >= 3 or ratio <= 1 / 3):
        return "generate-extreme"
    shape = "square" if width == height else "landscape" if width > height else "portrait"
    return f"{kind}-{shape}"


def geometry_verdict(registration: dict[str, Any] | None) -> dict[str, Any]:
    """The crop / pad / stretch flags of an edit's registration (None = could not register)."""
    if registration is None:
        return {"registered": False, "cropped": None, "padded": None, "stretched": None, "geometry_kept": False}
    stretch = abs(math.log(registration["scale_x"] / registration["scale_y"]))
    cropped = registration["visible_fraction"] < CROP_LIMIT
    padded = registration["covered_fraction"] < PAD_LIMIT
    stretched = stretch > STRETCH_LIMIT
    return {"registered": True, "cropped": cropped, "padded": padded, "stretched": stretched, "stretch": stretch,
            "geometry_kept": not (cropped or padded or stretched)}


def size_properties(width: int, height: int, requested: tuple[int, int] | None) -> dict[str, Any]:
    if not requested:
        return {"width": width, "height": height, "exact_size": None, "aspect_error": None}
    req_w, req_h = requested
    return {"width": width, "height": height, "exact_size": (width, height) == (req_w, req_h),
            "aspect_error": abs(math.log((width / height) / (req_w / req_h)))}


class SizeScorer(Scorer):
    name = "diag_size"
    version = "1"
    batch_size = 8

    def identity(self) -> dict[str, Any]:
        import cv2

        return {"model": "none (weight-free)", "registration": f"SIFT + RANSAC affine, OpenCV {cv2.__version__}"}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return score_each(batch, self.score_one)

    def score_one(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        from genlens.scorers.registration import register_images

        image = load_image(inp.image_paths[0]).convert("RGB")
        value = size_properties(image.width, image.height, inp.item.size)
        if inp.item.kind == "edit":
            source = load_input_rgb(inp.item.input_images[0], inp.data_dir)
            registration = register_images(source, np.asarray(image))
            value["registration"] = registration.to_json() if registration else None
            value.update(geometry_verdict(value["registration"]))
            value["passed"] = bool(value["exact_size"] and value["geometry_kept"])
        else:
            value["passed"] = bool(value["exact_size"])
        value["reason"] = describe(value, inp.item.size)
        return "ok", value


def describe(value: dict[str, Any], requested: tuple[int, int] | None) -> str:
    parts = []
    if value.get("exact_size") is False and requested:
        parts.append(f"size {value['width']}x{value['height']} != requested {requested[0]}x{requested[1]}")
    if "registered" in value:
        if not value["registered"]:
            parts.append("output does not register to the input")
        reg = value.get("registration") or {}
        for flag, text in (("cropped", f"cropped (input visible {reg.get('visible_fraction', 0):.2f})"),
                           ("padded", f"padded (frame covered {reg.get('covered_fraction', 0):.2f})"),
                           ("stretched", f"stretched (scale x {reg.get('scale_x', 0):.3f} vs y {reg.get('scale_y', 0):.3f})")):
            if value.get(flag):
                parts.append(text)
    return "; ".join(parts) or "ok"


def backend_size_notes(meta: dict[str, Any]) -> dict[str, Any]:
    """What the backend recorded about sizes: the size it sent and why, and inputs it resized.

    Lets a row say whether a wrong size came from the model or from an API that only accepts a
    few sizes (the request was mapped before the model saw it).
    """
    notes = {key: meta[key] for key in ("sent_size", "requested_size", "size_rule") if key in meta}
    if meta.get("resized"):
        notes["inputs_resized_by_backend"] = meta["resized"]
    return notes


@register_suite
class DiagSizeSuite(DiagSuite):
    meta = SuiteMeta(
        name="diag-size",
        version="1",
        title="Diagnostics: requested sizes, aspect ratios and edit framing kept",
        task="generate+edit",
        categories=CATEGORIES,
        needs=("none",),
        data_source="built in (genlens prompts; edit inputs from scikit-image's bundled photos)",
        item_count=len(prompts("size")["generate"]["prompts"]) * len(prompts("size")["generate"]["sizes"])
        + len(prompts("size")["edit"]["instructions"]) * len(prompts("size")["edit"]["inputs"]),
        description="Exact-size rate and aspect error; for edits, silent crop / pad / stretch found by registering input to output.",
    )

    def items(self) -> Sequence[Item]:
        data = prompts("size")
        out = []
        for p_index, prompt in enumerate(data["generate"]["prompts"]):
            for width, height in data["generate"]["sizes"]:
                out.append(Item(id=f"gen-p{p_index}-{width}x{height}", prompt=prompt, size=(width, height),
                                category=shape_category("generate", width, height)))
        for i_index, instruction in enumerate(data["edit"]["instructions"]):
            for entry in data["edit"]["inputs"]:
                width, height = entry["size"]
                source = input_name("size", f"{entry['photo']}-{width}x{height}")
                out.append(Item(id=f"edit-i{i_index}-{entry['photo']}-{width}x{height}", prompt=instruction, kind="edit",
                                input_images=(source,), size=(width, height), category=shape_category("edit", width, height)))
        return out

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        require(self.meta.name, "cv2", "skimage")
        return [SizeScorer()]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        done, rows, counts = split_scored(scored, "diag_size")
        counted = []
        for entry, value in done:
            row = {**base_row(entry), "requested": list(entry.item.size or ()), "kind": entry.item.kind, **value,
                   "values": {k: value[k] for k in ("aspect_error",) if value.get(k) is not None}}
            row.update(backend_size_notes(entry.generation.meta))
            if row.get("size_rule"):
                row["reason"] = f"{row['reason']} (backend: {row['size_rule']})"
            reg = value.get("registration")
            if reg:
                row["values"].update({k: reg[k] for k in ("scale_x", "scale_y", "shift_x", "shift_y", "visible_fraction", "covered_fraction")})
            rows.append(row)
            counted.append(row)
        refused = [{"passed": False, "category": e.item.category, "kind": e.item.kind}
                   for e in scored if e.generation.status == "refused"]
        edits = [r for r in counted if r["kind"] == "edit"]
        categories: dict[str, dict[str, float | int | None]] = {}
        for category in CATEGORIES:
            sub = [r for r in counted if r["category"] == category]
            sub_all = sub + [r for r in refused if r["category"] == category]
            cat: dict[str, float | int | None] = {
                "pass_rate": rate([r["passed"] for r in sub_all]), "exact_size_rate": rate([r["exact_size"] for r in sub]),
                "mean_aspect_error": mean_of(sub, "aspect_error"), "n": len(sub_all)}
            if category.startswith("edit"):
                cat.update({"geometry_kept_rate": rate([r["geometry_kept"] for r in sub]),
                            "crop_rate": rate([r.get("cropped") for r in sub]),
                            "mean_visible_fraction": mean_of([r.get("registration") or {} for r in sub], "visible_fraction")})
            categories[category] = cat
        everything = [r["passed"] for r in counted] + [r["passed"] for r in refused]
        interval = rate_interval(everything)
        regs = [r["registration"] for r in edits if r.get("registration")]
        return SuiteResult(
            headline={"pass_rate": rate(everything)},
            metrics={
                "exact_size_rate": rate([r["exact_size"] for r in counted]),
                "mean_aspect_error": mean_of(counted, "aspect_error"),
                "edit_geometry_kept_rate": rate([r["geometry_kept"] for r in edits]),
                "edit_crop_rate": rate([r.get("cropped") for r in edits]),
                "edit_pad_rate": rate([r.get("padded") for r in edits]),
                "edit_stretch_rate": rate([r.get("stretched") for r in edits]),
                "edit_unregistered_rate": rate([not r["registered"] for r in edits]),
                "mean_edit_scale_x": mean_of(regs, "scale_x"), "mean_edit_scale_y": mean_of(regs, "scale_y"),
                "mean_visible_fraction": mean_of(regs, "visible_fraction"),
            },
            categories=categories,
            counts={"images_scored": len(counted), "edits_scored": len(edits), "edits_registered": len(regs),
                    "size_mapped_by_backend": sum(1 for r in counted if r.get("size_rule")), **counts},
            intervals={"pass_rate": interval} if interval else {},
            provenance={"rule": (f"generation passes with the exact requested size; an edit passes with the exact size and its "
                                 f"geometry kept (registers; input visible >= {CROP_LIMIT}; frame covered >= {PAD_LIMIT}; "
                                 f"|ln(scale_x/scale_y)| <= {STRETCH_LIMIT}); refusals fail; errors are excluded"),
                        "registration": "SIFT (ratio 0.75) + RANSAC affine (3 px), on copies <= 512 px, mapped back to full size"},
            rows=rows,
        )
