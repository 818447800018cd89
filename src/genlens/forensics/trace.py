"""Generation-trace analysis: how the partial images of a streamed generation approach the final one.

The GPT-4o architecture debate argued from streamed previews: does the image fill in from the top
down (raster-order autoregression over a token grid) or sharpen everywhere at once (diffusion-like
global refinement), and is there a visible patch grid? For every image whose run recorded partial
frames (``GenerationRecord.trace``; the final image is appended as the last frame), per frame:

- **sharpness by region** — variance of the Laplacian in each cell of a ``rows × cols`` grid;
- **changed regions** — cells whose mean |difference| from the previous frame exceeds
  ``CHANGE_TOL`` (on 0–255 luminance);
- **settle frame per region row** — the first frame from which that row stays within
  ``SETTLE_TOL`` of the final image.

Refinement order: ``top-down`` when settle frames rise with the row index (correlation >=
``ORDER_CORR``), ``bottom-up`` when they fall, else ``global`` when on average at least
``GLOBAL_SHARE`` of the cells change at every step, else ``mixed``; ``single-frame`` when there is
nothing to compare. Patch grid: the period p (among :data:`GRID_CANDIDATES`) whose boundaries
carry the most gradient energy in the partial frames and their differences, when that energy is at
least ``GRID_RATIO`` times the energy elsewhere (the smallest p within 10% of the best is taken,
since multiples of the true period score alike).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genlens.errors import InputError
from genlens.forensics.features import luminance, to_rgb_array
from genlens.forensics.sources import run_images
from genlens.imageio import atomic_write_text, load_image

TRACE_JSON = "trace.json"
GRID = (8, 8)
CHANGE_TOL = 3.0
SETTLE_TOL = 2.0
ORDER_CORR = 0.8
GLOBAL_SHARE = 0.75
GRID_CANDIDATES = (4, 8, 14, 16, 28, 32, 64)
GRID_RATIO = 2.0


def to_gray(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Luminance (float32, 0–255) at ``size`` (frames of another size are resized bilinearly)."""
    if image.size != size:
        image = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    return luminance(to_rgb_array(image)).astype(np.float32)


def cells(shape: tuple[int, int], grid: tuple[int, int] = GRID) -> list[list[tuple[slice, slice]]]:
    rows = np.linspace(0, shape[0], grid[0] + 1).astype(int)
    cols = np.linspace(0, shape[1], grid[1] + 1).astype(int)
    return [[(slice(rows[r], rows[r + 1]), slice(cols[c], cols[c + 1])) for c in range(grid[1])] for r in range(grid[0])]


def region_map(values: np.ndarray, grid: tuple[int, int], reducer: Any) -> np.ndarray:
    """``reducer`` applied to every grid cell of ``values``: a (rows, cols) array."""
    return np.array([[reducer(values[ys, xs]) for ys, xs in row] for row in cells(values.shape, grid)], dtype=np.float64)


def laplacian(gray: np.ndarray) -> np.ndarray:
    padded = np.pad(gray, 1, mode="edge")
    return padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:] - 4 * gray


def settle_frames(frames: Sequence[np.ndarray], grid: tuple[int, int]) -> list[int]:
    """Per region row: the first frame index from which the row stays within ``SETTLE_TOL`` of the final frame."""
    final = frames[-1]
    distance = np.array([region_map(np.abs(f - final), grid, np.mean).max(axis=1) for f in frames])  # (frames, rows)
    settled = []
    for row in range(grid[0]):
        within = distance[:, row] <= SETTLE_TOL
        first = len(frames) - 1
        while first > 0 and within[first - 1]:
            first -= 1
        settled.append(first)
    return settled


def refinement_order(settled: Sequence[int], changed_shares: Sequence[float]) -> tuple[str, float]:
    """(order, score): the correlation of settle frame with row index, or the mean changed share."""
    if not changed_shares:
        return "single-frame", 0.0
    rows = np.arange(len(settled), dtype=float)
    values = np.asarray(settled, dtype=float)
    corr = float(np.corrcoef(rows, values)[0, 1]) if values.std() > 0 else 0.0
    if corr >= ORDER_CORR:
        return "top-down", corr
    if corr <= -ORDER_CORR:
        return "bottom-up", corr
    share = float(np.mean(changed_shares))
    if share >= GLOBAL_SHARE:
        return "global", share
    return "mixed", corr


def _boundary_ratio(profile: np.ndarray, period: int) -> float:
    positions = np.arange(profile.size)
    boundary = (positions + 1) % period == 0
    if boundary.sum() < 2:
        return 0.0
    return float(profile[boundary].mean() / (profile[~boundary].mean() + 1e-6))


def patch_grid(frames: Sequence[np.ndarray]) -> tuple[int | None, float]:
    """(period, ratio) of the patch grid seen in partial frames and frame differences, or (None, best ratio)."""
    partial = list(frames[:-1]) + [b - a for a, b in pairwise(frames)]
    if not partial:
        return None, 0.0
    profile_x = sum(np.abs(np.diff(f, axis=1)).mean(axis=0) for f in partial)
    profile_y = sum(np.abs(np.diff(f, axis=0)).mean(axis=1) for f in partial)
    ratios = {p: (_boundary_ratio(profile_x, p) + _boundary_ratio(profile_y, p)) / 2 for p in GRID_CANDIDATES}
    best = max(ratios.values())
    if best < GRID_RATIO:
        return None, best
    period = min(p for p, r in ratios.items() if r >= 0.9 * best)
    return period, ratios[period]


def analyse_frames(images: Sequence[Image.Image], grid: tuple[int, int] = GRID) -> dict[str, Any]:
    """The trace analysis of one frame sequence (partial frames, then the final image)."""
    size = images[-1].size
    frames = [to_gray(image, size) for image in images]
    per_frame = []
    shares: list[float] = []
    for index, frame in enumerate(frames):
        entry: dict[str, Any] = {"frame": index, "sharpness": region_map(laplacian(frame), grid, np.var).round(3).tolist()}
        if index:
            changed = region_map(np.abs(frame - frames[index - 1]), grid, np.mean) > CHANGE_TOL
            shares.append(float(changed.mean()))
            entry.update(changed=changed.tolist(), changed_fraction=shares[-1])
        per_frame.append(entry)
    settled = settle_frames(frames, grid)
    order, score = refinement_order(settled, shares)
    period, ratio = patch_grid(frames)
    return {"frames": len(frames), "order": order, "order_score": score, "settle_frames": settled,
            "patch_grid": period, "patch_grid_ratio": ratio, "per_frame": per_frame}


def analyse_run(run_dir: Path, grid: tuple[int, int] = GRID) -> dict[str, Any]:
    """Analyse every traced image of a run; writes ``run_dir/trace.json``."""
    images = run_images(run_dir)
    traced = [image for image in images if image.trace]
    if not traced:
        raise InputError("no partial-image frames recorded in this run", path=run_dir,
                         fix="generate with a backend that streams partial images, e.g. --model openai:gpt-image-1 --model-arg partial_images=3")
    analyses = []
    for image in traced:
        frames = [load_image(p) for p in (*image.trace, image.path)]
        analyses.append({"image": image.relative, "item": image.item_id, "sample": image.sample, **analyse_frames(frames, grid)})
    result = {
        "n_images": len(images), "n_traced": len(traced), "grid": list(grid),
        "thresholds": {"change": CHANGE_TOL, "settle": SETTLE_TOL, "order_correlation": ORDER_CORR,
                       "global_share": GLOBAL_SHARE, "grid_ratio": GRID_RATIO},
        "summary": {
            "order": dict(Counter(a["order"] for a in analyses)),
            "patch_grid": {str(k): v for k, v in Counter(a["patch_grid"] for a in analyses).items()},
        },
        "images": analyses,
    }
    atomic_write_text(run_dir / TRACE_JSON, json.dumps(result, indent=2))
    return result
