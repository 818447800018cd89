"""``diag-tone``: does a local edit (or a "change nothing" request) shift colour and tone elsewhere?

Four photos get a red disc at a known place (drawn at run time); local edits touch only the
disc, no-op requests touch nothing. The output is first aligned to the input by registration (an
output that does not register is counted as ``not_registered`` and left out of every rate and
mean: its pixels cannot be matched), both are area-resized to at most 512 pixels, and
colour is compared in CIELAB (D65) *outside* the edited region (the disc's box grown by 25% each
side; the whole image for no-ops). Per image: mean and 95th-percentile ΔE2000, mean ΔL*, Δa*,
Δb* (warm cast = +b*), exposure shift in stops (log2 of mean linear luminance), white-balance
shift (Δ log R/G, Δ log B/G of channel means). Rules: *tone shifted* = mean ΔE2000 > 2.0;
*warm shift* = Δb* > +1.0, *cool shift* = Δb* < −1.0. For local edits ``region_delta_e`` (mean
ΔE2000 inside the disc) shows whether the edit was made at all (*edit made* = > 10).
"""

from __future__ import annotations

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
    photo,
    prompts,
    rate,
    rate_interval,
    red_disc,
    require,
    score_each,
    split_scored,
)
from genlens.suites.base import ScoreContext, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

WORK_SIDE = 512
SHIFT_DELTA_E = 2.0
CAST_B = 1.0
EDIT_MADE_DELTA_E = 10.0
REGION_GROW = 0.25
CATEGORIES = ("local-edit", "no-op")


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def region_mask(shape: tuple[int, ...], box: list[float] | None, grow: float = REGION_GROW) -> np.ndarray:
    """True inside the (grown) edit box given as fractions [x0, y0, x1, y1]; all False without a box."""
    height, width = shape[:2]
    mask = np.zeros((height, width), dtype=bool)
    if box:
        x0, y0, x1, y1 = box
        dx, dy = (x1 - x0) * grow, (y1 - y0) * grow
        mask[max(0, int((y0 - dy) * height)):int(np.ceil((y1 + dy) * height)),
             max(0, int((x0 - dx) * width)):int(np.ceil((x1 + dx) * width))] = True
    return mask


def tone_shift(source: np.ndarray, output: np.ndarray, outside: np.ndarray) -> dict[str, float]:
    """Colour/tone change from ``source`` to ``output`` (same-shape RGB uint8) over the ``outside`` mask."""
    from genlens.metrics.color import delta_e2000, rgb_to_lab

    src, out = source[outside], output[outside]
    lab_src, lab_out = rgb_to_lab(src), rgb_to_lab(out)
    delta_e = delta_e2000(lab_src, lab_out).astype(np.float64)
    lum_weights = np.array([0.2126, 0.7152, 0.0722])
    y_src = float((srgb_to_linear(src) @ lum_weights).mean()) + 1e-6
    y_out = float((srgb_to_linear(out) @ lum_weights).mean()) + 1e-6
    m_src = src.astype(np.float64).mean(axis=0) + 1.0
    m_out = out.astype(np.float64).mean(axis=0) + 1.0
    d = lab_out.mean(axis=0, dtype=np.float64) - lab_src.mean(axis=0, dtype=np.float64)
    return {
        "delta_e_mean": float(delta_e.mean()), "delta_e_p95": float(np.quantile(delta_e, 0.95)),
        "delta_L": float(d[0]), "delta_a": float(d[1]), "delta_b": float(d[2]),
        "exposure_stops": float(np.log2(y_out / y_src)),
        "wb_rg_shift": float(np.log(m_out[0] / m_out[1]) - np.log(m_src[0] / m_src[1])),
        "wb_bg_shift": float(np.log(m_out[2] / m_out[1]) - np.log(m_src[2] / m_src[1])),
    }


def align(source: np.ndarray, output: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """The output in the source's frame, the source pixels it covers, and how it was aligned."""
    from genlens.scorers.registration import register_images, source_mask_visible, warp_to_source

    if output.shape == source.shape and _same_frame(source, output):
        return output, np.ones(source.shape[:2], dtype=bool), "identity"
    registration = register_images(source, output)
    if registration is None:
        resized = np.asarray(Image.fromarray(output).resize((source.shape[1], source.shape[0]), Image.BICUBIC))
        return resized, np.ones(source.shape[:2], dtype=bool), "resized (did not register)"
    matrix = np.array(registration.matrix)
    if output.shape == source.shape and np.abs(matrix - np.array([[1, 0, 0], [0, 1, 0]])).max() < 0.002 * max(source.shape):
        return output, np.ones(source.shape[:2], dtype=bool), "identity"
    warped = warp_to_source(output, registration, source.shape)
    visible = source_mask_visible(registration, source.shape, (output.shape[1], output.shape[0]))
    return warped, visible, "registered"


def _same_frame(source: np.ndarray, output: np.ndarray) -> bool:
    """Phase correlation of the luminance: a peak within 0.5 px of zero shift means no movement."""
    import cv2

    def gray(rgb: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)

    (dx, dy), response = cv2.phaseCorrelate(gray(source), gray(output))
    return abs(dx) < 0.5 and abs(dy) < 0.5 and response > 0.3


def shrink(array: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    factor = max(1, int(np.ceil(max(array.shape[:2]) / side)))
    if factor == 1:
        return array
    image = Image.fromarray(array.astype(np.uint8) * (255 if array.dtype == bool else 1))
    small = np.asarray(image.reduce(factor))
    return small > 127 if array.dtype == bool else small


def measure(source: np.ndarray, output: np.ndarray, box: list[float] | None) -> dict[str, Any]:
    """Align, shrink, and measure the tone shift outside ``box`` (and inside it, for local edits)."""
    aligned, visible, how = align(source, output)
    src, out, vis = shrink(source), shrink(aligned), shrink(visible)
    region = region_mask(src.shape, box)
    outside = ~region & vis
    value: dict[str, Any] = {"alignment": how, "outside_pixels": int(outside.sum()), **tone_shift(src, out, outside)}
    if box:
        inner = region_mask(src.shape, box, grow=-0.2) & vis
        value["region_delta_e"] = tone_shift(src, out, inner)["delta_e_mean"] if inner.any() else None
    value["tone_shifted"] = value["delta_e_mean"] > SHIFT_DELTA_E
    value["warm_shift"] = value["delta_b"] > CAST_B
    value["cool_shift"] = value["delta_b"] < -CAST_B
    return value


class ToneScorer(Scorer):
    name = "diag_tone"
    version = "2"
    batch_size = 4

    def identity(self) -> dict[str, Any]:
        import skimage

        return {"model": "none (weight-free)",
                "colour": f"genlens.metrics.color rgb_to_lab (D65, float32) + scikit-image {skimage.__version__} deltaE_ciede2000"}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return score_each(batch, self.score_one)

    def score_one(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        source = load_input_rgb(inp.item.input_images[0], inp.data_dir)
        output = np.asarray(load_image(inp.image_paths[0]).convert("RGB"))
        return "ok", measure(source, output, inp.item.meta.get("region"))


@register_suite
class DiagToneSuite(DiagSuite):
    meta = SuiteMeta(
        name="diag-tone",
        version="1",
        title="Diagnostics: colour and tone shifts outside a local edit, and on no-op requests",
        task="edit",
        categories=CATEGORIES,
        needs=("none",),
        data_source="built in (genlens instructions; inputs from scikit-image's bundled photos with a drawn disc)",
        item_count=len(prompts("tone")["photos"]) * (len(prompts("tone")["local"]) + len(prompts("tone")["noop"])),
        description="Mean ΔE2000, Δa*/Δb* (warm = +b*), exposure and white-balance shift outside the edited region; same for no-ops.",
    )

    def items(self) -> Sequence[Item]:
        data = prompts("tone")
        out = []
        for photo_name in data["photos"]:
            source = input_name("tone", f"{photo_name}-disc")
            box = red_disc(np.zeros((*photo(photo_name).shape[:2], 3), np.uint8))[1]
            for index, instruction in enumerate(data["local"]):
                out.append(Item(id=f"local{index}-{photo_name}", prompt=instruction, kind="edit", input_images=(source,),
                                category="local-edit", meta={"region": [round(v, 6) for v in box]}))
            for index, instruction in enumerate(data["noop"]):
                out.append(Item(id=f"noop{index}-{photo_name}", prompt=instruction, kind="edit", input_images=(source,),
                                category="no-op", meta={"region": None}))
        return out

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        require(self.meta.name, "cv2", "skimage")
        return [ToneScorer()]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        done, rows, counts = split_scored(scored, "diag_tone")
        measured = []
        keys = ("delta_e_mean", "delta_e_p95", "delta_L", "delta_a", "delta_b", "exposure_stops", "wb_rg_shift", "wb_bg_shift", "region_delta_e")
        unregistered = []
        for entry, value in done:
            flags = [name for name in ("tone_shifted", "warm_shift", "cool_shift") if value.get(name)]
            row = {**base_row(entry), **value, "passed": not value["tone_shifted"],
                   "reason": (f"outside the edit: ΔE2000 {value['delta_e_mean']:.2f}, Δb* {value['delta_b']:+.2f}, "
                              f"exposure {value['exposure_stops']:+.2f} stops" + (f" ({', '.join(flags)})" if flags else "")),
                   "values": {k: value[k] for k in keys if isinstance(value.get(k), float)}}
            rows.append(row)
            if value["alignment"].startswith("resized"):
                # Not registered: pixels are compared with misplaced pixels, so ΔE says "moved", not
                # "recoloured". Shown, counted apart, never in the colour/tone rates and means.
                row.update(passed=None, reason=f"output does not register to the input (not measured); {row['reason']}")
                unregistered.append(row)
                continue
            measured.append(row)
        categories: dict[str, dict[str, float | int | None]] = {}
        for category in CATEGORIES:
            sub = [r for r in measured if r["category"] == category]
            categories[category] = {
                "tone_shift_rate": rate([r["tone_shifted"] for r in sub]), "warm_shift_rate": rate([r["warm_shift"] for r in sub]),
                "mean_delta_e": mean_of(sub, "delta_e_mean"), "mean_delta_a": mean_of(sub, "delta_a"),
                "mean_delta_b": mean_of(sub, "delta_b"), "mean_delta_L": mean_of(sub, "delta_L"),
                "mean_exposure_stops": mean_of(sub, "exposure_stops"), "n": len(sub)}
            if category == "local-edit":
                categories[category]["mean_region_delta_e"] = mean_of(sub, "region_delta_e")
                categories[category]["edit_made_rate"] = rate([r["region_delta_e"] > EDIT_MADE_DELTA_E
                                                               if r.get("region_delta_e") is not None else None for r in sub])
        shifted = [r["tone_shifted"] for r in measured]
        interval = rate_interval(shifted)
        return SuiteResult(
            headline={"mean_delta_e_outside": mean_of(measured, "delta_e_mean")},
            metrics={"tone_shift_rate": rate(shifted), "warm_shift_rate": rate([r["warm_shift"] for r in measured]),
                     "cool_shift_rate": rate([r["cool_shift"] for r in measured]),
                     "mean_delta_a": mean_of(measured, "delta_a"), "mean_delta_b": mean_of(measured, "delta_b"),
                     "mean_delta_L": mean_of(measured, "delta_L"), "mean_exposure_stops": mean_of(measured, "exposure_stops"),
                     "mean_wb_rg_shift": mean_of(measured, "wb_rg_shift"), "mean_wb_bg_shift": mean_of(measured, "wb_bg_shift"),
                     "not_registered_rate": rate([False] * len(measured) + [True] * len(unregistered))},
            categories=categories,
            counts={"images_measured": len(measured), "not_registered": len(unregistered), **counts},
            intervals={"tone_shift_rate": interval} if interval else {},
            provenance={"rule": (f"CIELAB D65 outside the edit box grown {REGION_GROW:.0%} each side (whole image for no-ops), after "
                                 f"aligning output to input and area-resizing to <= {WORK_SIDE} px; tone shifted = mean ΔE2000 > "
                                 f"{SHIFT_DELTA_E}; warm = Δb* > +{CAST_B}; cool = Δb* < −{CAST_B}; outputs that do not register to the input are "
                                 f"counted (not_registered) but left out of every rate and mean; refusals and errors are not measured")},
            rows=rows,
        )
