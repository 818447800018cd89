"""Shared scoring of the vision-* suites: register a generated map, decode it, align it, measure it.

- Registration: an output of the input's size is taken as is; one of the same aspect ratio (within
  2%) is resized to it; anything else is registered with diag-size's SIFT + RANSAC affine
  (:mod:`genlens.scorers.registration`) and warped into the input's frame. An output that does not
  register is a failure (counted, never a NaN).
- Depth decoding: a grey map is read by luminance; a colour map is inverted through the requested
  or the detected named matplotlib colormap (grey, inferno, viridis, turbo, jet) by nearest-colour
  lookup, counting pixels farther than ``OFF_COLORMAP_RGB`` from the map.
- Affine-invariant alignment as in Marigold's evaluation: least-squares scale and shift on the valid
  pixels, either in depth or in disparity (1/depth; predicted disparity clipped at 1e-3); the
  polarity is unknown, so both are fitted and the one with the lower AbsRel is kept (recorded).
  Then the prediction is clipped to the dataset's depth range and to > 1e-6.
- Depth metrics: AbsRel = mean |d̂ − d| / d; δk = share of pixels with max(d̂/d, d/d̂) < 1.25^k.
- Segmentation: nearest palette colour in CIELAB (ΔE76); mIoU over classes with a non-empty union,
  pixel accuracy. Open mode: k-means colour clusters Hungarian-matched to ground-truth segments
  (maximum total IoU) — an upper bound.
- Normals: n = 2c − 1 (c in [0, 1]) normalised; the 8 axis-sign conventions are tried and the best
  kept (recorded); angular error in degrees; mean, median, share within 11.25°, 22.5°, 30°.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genlens.imageio import atomic_write

COLORMAPS = ("grey", "inferno", "viridis", "turbo", "jet")
_MPL_NAMES = {"grey": "gray"}
OFF_COLORMAP_RGB = 30.0  # RGB Euclidean distance beyond which a pixel is "off the colormap"
GREY_CHROMA = 16  # max − min channel value below which a pixel is grey
GREY_SHARE = 0.95  # a map is grey when this share of its pixels is grey
ASPECT_TOLERANCE = 0.02  # |ln(aspect ratio)| within which a resize is a plain resize
LUT_BITS = 6  # the nearest-colour lookup table has (2**6)**3 cells
DELTAS = (1.25, 1.25 ** 2, 1.25 ** 3)
NORMAL_THRESHOLDS = (11.25, 22.5, 30.0)
PALETTE_OFF_DELTA_E = 25.0  # ΔE76 beyond which a pixel matches no palette colour
PALETTE_IGNORED_SHARE = 0.5  # more than this share off the palette: the palette was ignored
PANEL_HEIGHT = 120


# -- reading the generated image ---------------------------------------------------------------------
@dataclass
class MapImage:
    """A generated map as RGB uint8, with what reading it noticed.

    ``scalar`` holds the values of a single-channel 16-bit or float image (a depth map saved at full
    precision), which decoding uses instead of 8-bit luminance.
    """

    rgb: np.ndarray
    has_alpha: bool
    transparent_pixels: int
    size: tuple[int, int]  # (width, height) as delivered
    scalar: np.ndarray | None = None


def read_map(path: Path) -> MapImage:
    """RGB pixels of a generated map; transparency is composited over black and counted."""
    from genlens.imageio import load_image

    image = load_image(path)
    size = image.size
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"))
        alpha = rgba[..., 3:4].astype(np.float32) / 255.0
        rgb = (rgba[..., :3].astype(np.float32) * alpha + 0.5).astype(np.uint8)
        return MapImage(rgb, True, int((rgba[..., 3] == 0).sum()), size)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float32)
        span = float(values.max() - values.min()) or 1.0
        grey = ((values - values.min()) / span * 255 + 0.5).astype(np.uint8)
        return MapImage(np.repeat(grey[..., None], 3, axis=-1), False, 0, size, scalar=values)
    return MapImage(np.asarray(image.convert("RGB")), False, 0, size)


Warp = Callable[[np.ndarray], np.ndarray]


def registration_of(source: np.ndarray, output: np.ndarray, *, nearest: bool = False) -> tuple[Warp | None, np.ndarray, str]:
    """How to bring arrays of the output's frame into the source's, the source pixels the output
    covers, and how it was found ("identity", "resized", "registered"; None: "not registered")."""
    import cv2

    height, width = source.shape[:2]
    visible = np.ones((height, width), dtype=bool)
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    if output.shape[:2] == (height, width):
        return (lambda array: array), visible, "identity"
    aspect = abs(np.log((output.shape[1] / output.shape[0]) / (width / height)))
    if aspect < ASPECT_TOLERANCE:
        return (lambda array: cv2.resize(array, (width, height), interpolation=flags)), visible, "resized"
    from genlens.scorers.registration import register_images, source_mask_visible

    registration = register_images(source, output)
    if registration is None:
        return None, visible, "not registered"
    inverse = cv2.invertAffineTransform(np.array(registration.matrix, dtype=np.float64))

    def warp(array: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(array, inverse, (width, height), flags=flags, borderMode=cv2.BORDER_REFLECT)

    return warp, source_mask_visible(registration, source.shape, (output.shape[1], output.shape[0])), "registered"


# -- depth decoding -------------------------------------------------------------------------------------
@cache
def colormap_table(name: str) -> np.ndarray:
    """The 256 colours of a named colormap, RGB float64 0–255 (matplotlib's tables)."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
    from matplotlib import colormaps

    return colormaps[_MPL_NAMES.get(name, name)](np.linspace(0.0, 1.0, 256))[:, :3] * 255.0


def _grid_centres() -> np.ndarray:
    side = 1 << LUT_BITS
    step = 256 // side
    axis = np.arange(side) * step + (step - 1) / 2
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)


@cache
def _colormap_lut(name: str) -> tuple[np.ndarray, np.ndarray]:
    """For every cell of a (2**LUT_BITS)³ RGB grid: the position (0–1) of the nearest colormap colour
    and the distance from the cell's centre to it."""
    from scipy.spatial import cKDTree

    distance, index = cKDTree(colormap_table(name)).query(_grid_centres())
    return (index / 255.0).astype(np.float32), distance.astype(np.float32)


def _lut_index(rgb: np.ndarray) -> np.ndarray:
    """Each pixel's cell of the (2**LUT_BITS)³ grid (one pass over the uint8 pixels)."""
    q = rgb >> (8 - LUT_BITS)
    index = q[..., 0].astype(np.uint32)  # in-place shifts and ors: ~10x faster than on a uint32 copy of all three
    index <<= LUT_BITS
    index |= q[..., 1]
    index <<= LUT_BITS
    index |= q[..., 2]
    return index


def invert_colormap(rgb: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Position along ``name`` (0–1) of each pixel's nearest colormap colour, and its RGB distance.

    Looked up in a 6-bit-per-channel grid: positions are within 4/255 of the exact nearest entry,
    distances within the cell's half-diagonal (3.5) of the exact ones.
    """
    values, distances = _colormap_lut(name)
    index = _lut_index(rgb)
    return values[index], distances[index]


def is_grey(rgb: np.ndarray) -> bool:
    sample = rgb[::8, ::8].astype(np.int16)
    chroma = sample.max(axis=-1) - sample.min(axis=-1)
    return bool((chroma <= GREY_CHROMA).mean() >= GREY_SHARE)


def _mean_distance(sample: np.ndarray, name: str) -> float:
    return float(invert_colormap(sample, name)[1].mean())


def detect_colormap(rgb: np.ndarray) -> str:
    """The named colormap whose colours lie nearest the image's (mean distance on a subsample)."""
    sample = np.ascontiguousarray(rgb[::8, ::8])
    scores = {name: _mean_distance(sample, name) for name in COLORMAPS}
    return min(scores, key=scores.__getitem__)


def decode_depth(rgb: np.ndarray, requested: str = "grey") -> tuple[np.ndarray, dict[str, Any]]:
    """A relative depth-like map in [0, 1] from a generated map, and how it was read.

    Grey maps are read by luminance (Rec. 601 weights); colour maps through the requested colormap
    when it fits no worse than the best named one (5% slack), else through the best (recorded).
    """
    if is_grey(rgb):
        values = (rgb[..., 0] * np.float32(0.299 / 255) + rgb[..., 1] * np.float32(0.587 / 255)
                  + rgb[..., 2] * np.float32(0.114 / 255))
        return values, {"decoded_as": "grey", "requested_colormap": requested, "colormap_matches_request": requested == "grey",
                        "off_colormap_pixels": 0, "off_colormap_share": 0.0}
    used = detect_colormap(rgb)
    if requested != "grey" and used != requested:
        sample = np.ascontiguousarray(rgb[::8, ::8])
        if _mean_distance(sample, requested) <= _mean_distance(sample, used) * 1.05:
            used = requested
    values, distance = invert_colormap(rgb, used)
    off = int(np.count_nonzero(distance > OFF_COLORMAP_RGB))
    return values, {"decoded_as": used, "requested_colormap": requested, "colormap_matches_request": used == requested,
                    "off_colormap_pixels": off, "off_colormap_share": off / distance.size}


# -- depth alignment and metrics ------------------------------------------------------------------------
def _fit_1d(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares y ≈ s·x + t (closed form on centred x; sums accumulated in float64)."""
    n = x.size
    if n == 0:
        return 0.0, 0.0
    mean_x, mean_y = float(x.sum(dtype=np.float64)) / n, float(y.sum(dtype=np.float64)) / n
    # Products element-wise in x's dtype, summed pairwise in float64 (no BLAS threads, deterministic).
    centred = x - x.dtype.type(mean_x)
    var = float((centred * centred).sum(dtype=np.float64))
    if var <= 1e-12 * max(1.0, mean_x * mean_x) * n:  # constant prediction: it becomes the target's mean
        return 0.0, mean_y
    scale = float((centred * y.astype(x.dtype, copy=False)).sum(dtype=np.float64)) / var
    return scale, mean_y - scale * mean_x


def least_squares_scale_shift(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Scale s and shift t minimising Σ (s·pred + t − target)² over ``mask``.

    A constant prediction gets s = 0 and t = the target's mean (the same fitted map as numpy's
    minimum-norm lstsq, which Marigold uses)."""
    return _fit_1d(pred[mask].astype(np.float64), target[mask].astype(np.float64))


def _depth_metrics_1d(p: np.ndarray, inv_g: np.ndarray) -> dict[str, float | int]:
    return _metrics_from_ratio(p * inv_g)


def _metrics_from_ratio(ratio: np.ndarray) -> dict[str, float | int]:
    """AbsRel and δ1–δ3 from r = d̂ / d (AbsRel = mean |r − 1|; δk: max(r, 1/r) < 1.25^k). Overwrites ``ratio``."""
    n = int(ratio.size)
    if n == 0:
        return {"n_valid": 0}
    counts = [int(np.count_nonzero((ratio < t) & (ratio > 1 / t))) for t in DELTAS]
    ratio -= 1
    rel_sum = float(np.abs(ratio, out=ratio).sum(dtype=np.float64))  # Σ |d̂ − d| / d
    out: dict[str, float | int] = {"n_valid": n, "abs_rel": rel_sum / n, "sum_abs_rel": rel_sum}
    for k, hits in enumerate(counts, start=1):
        out[f"delta{k}"] = hits / n
        out[f"hits_delta{k}"] = hits
    return out


def depth_metrics(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> dict[str, float | int]:
    """AbsRel and δ1–δ3 over ``valid``, with the sums that pool them across images."""
    return _depth_metrics_1d(pred[valid].astype(np.float64), 1.0 / gt[valid].astype(np.float64))


def apply_fit(pred: np.ndarray, fit: dict[str, Any], depth_range: tuple[float, float]) -> np.ndarray:
    """A prediction map aligned by a fit from :func:`align_depth` (for any size copy of the map)."""
    lo, hi = max(depth_range[0], 1e-6), depth_range[1]
    full = pred.astype(np.float64) * fit["scale"] + fit["shift"]
    if fit["alignment"] == "disparity":
        full = 1.0 / np.clip(full, 1e-3, None)
    return np.clip(full, lo, hi).astype(np.float32)


def align_depth(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, depth_range: tuple[float, float]) -> dict[str, Any]:
    """Marigold-style affine alignment in depth and in disparity; the fit with the lower AbsRel is kept.

    Fits on the valid pixels; the aligned prediction is clipped to the dataset's range (and > 1e-6),
    as Marigold does before measuring. Returns ``alignment`` (depth | disparity), ``scale``, ``shift``,
    each fit's AbsRel and the metrics of the kept one (apply it to a map with :func:`apply_fit`).
    Element-wise work is float32 (sums in float64).
    """
    lo, hi = np.float32(max(depth_range[0], 1e-6)), np.float32(min(depth_range[1], 3.0e38))
    mask = valid & (gt > 0)
    if mask.all():  # no gather needed
        x = np.ascontiguousarray(pred, dtype=np.float32).ravel()
        g = np.ascontiguousarray(gt, dtype=np.float32).ravel()
    else:
        x, g = pred[mask].astype(np.float32), gt[mask].astype(np.float32)
    inv_g = np.divide(1, g, dtype=np.float32)
    ratios: dict[str, np.ndarray] = {}
    fits: dict[str, tuple[float, float]] = {}

    def ratio_of(scale: float, shift: float, disparity: bool) -> np.ndarray:
        """d̂ / d of an affine fit, clipped as Marigold clips the aligned prediction (in place, one buffer)."""
        out = np.multiply(x, np.float32(scale))
        out += np.float32(shift)
        if disparity:
            np.clip(out, np.float32(1e-3), None, out=out)
            np.divide(1, out, out=out)
        np.clip(out, lo, hi, out=out)
        out *= inv_g
        return out

    fits["depth"] = _fit_1d(x, g)
    ratios["depth"] = ratio_of(*fits["depth"], disparity=False)
    positive = x > 0
    both = positive.all()
    if both or np.count_nonzero(positive) >= 2:
        fits["disparity"] = _fit_1d(x, inv_g) if both else _fit_1d(x[positive], inv_g[positive])
        ratios["disparity"] = ratio_of(*fits["disparity"], disparity=True)
    abs_rel = {space: float(np.abs(r - 1).mean(dtype=np.float64)) if r.size else np.inf for space, r in ratios.items()}
    space = min(abs_rel, key=abs_rel.__getitem__)
    scale, shift = fits[space]
    return {"alignment": space, "scale": scale, "shift": shift, "abs_rel_depth_fit": abs_rel.get("depth"),
            "abs_rel_disparity_fit": abs_rel.get("disparity"), **_metrics_from_ratio(ratios[space])}


# -- segmentation -----------------------------------------------------------------------------------------
@cache
def _palette_lut(colours: tuple[tuple[int, int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """For every cell of the RGB grid: the index of the nearest palette colour in CIELAB, and that ΔE76."""
    from scipy.spatial import cKDTree

    from genlens.metrics.color import rgb_to_lab

    tree = cKDTree(rgb_to_lab(np.array(colours, dtype=np.uint8)))
    distance, index = tree.query(rgb_to_lab(_grid_centres().astype(np.float32) / 255.0))
    return index.astype(np.int32), distance.astype(np.float32)


def palette_labels(rgb: np.ndarray, palette: dict[int, tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's nearest palette class in CIELAB (ΔE76), and that distance.

    Looked up in a 6-bit-per-channel grid (distances at the cell centre, within ~2 ΔE of exact);
    palette colours are far apart, so the class is the exact nearest one in practice.
    """
    ids = np.array(list(palette), dtype=np.int32)
    index, distance = _palette_lut(tuple(tuple(int(v) for v in c) for c in palette.values()))
    cells = _lut_index(rgb)
    return ids[index[cells]], distance[cells]


def intersection_union(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray,
                       classes: list[int] | None = None) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Per class: pixels in both, pixels in either — over ``valid`` only (one confusion matrix).

    ``classes`` defaults to every class present in the prediction or the ground truth.
    """
    p, g = pred[valid].astype(np.int64), gt[valid].astype(np.int64)
    size = int(max(p.max(initial=0), g.max(initial=0), max(classes or [0]))) + 1
    confusion = np.bincount(g * size + p, minlength=size * size).reshape(size, size)
    diagonal = np.diagonal(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - diagonal
    picked = np.array(classes, dtype=np.int64) if classes is not None else np.flatnonzero(union)
    return [int(c) for c in picked], diagonal[picked].astype(np.int64), union[picked].astype(np.int64)


def mean_iou(inter: np.ndarray, union: np.ndarray) -> float | None:
    """Mean IoU over the classes whose union is non-empty (None when none is)."""
    present = union > 0
    return float((inter[present] / union[present]).mean()) if present.any() else None


def cluster_colours(rgb: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means (k clusters, fixed seed) of the pixels' CIELAB colours, fitted on a subsample."""
    from sklearn.cluster import KMeans

    from genlens.metrics.color import rgb_to_lab

    lab = rgb_to_lab(rgb).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    sample = lab[rng.choice(lab.shape[0], size=min(lab.shape[0], 20000), replace=False)]
    k = max(1, min(k, len(np.unique(sample.round(1), axis=0))))
    model = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(sample)
    return model.predict(lab).reshape(rgb.shape[:2]).astype(np.int32)


def hungarian_match(clusters: np.ndarray, segments: np.ndarray, valid: np.ndarray) -> dict[str, Any]:
    """Match clusters to ground-truth segments one-to-one for the largest total IoU.

    Returns per-segment IoU (unmatched segments score 0), their mean (mIoU), pixel accuracy
    (share of valid pixels whose cluster is matched to their segment) and the matching.
    """
    from scipy.optimize import linear_sum_assignment

    c, s = clusters[valid].astype(np.int64), segments[valid].astype(np.int64)
    cluster_ids, c_idx = np.unique(c, return_inverse=True)
    segment_ids, s_idx = np.unique(s, return_inverse=True)
    joint = np.bincount(c_idx * len(segment_ids) + s_idx, minlength=len(cluster_ids) * len(segment_ids))
    joint = joint.reshape(len(cluster_ids), len(segment_ids)).astype(np.float64)
    union = joint.sum(axis=1, keepdims=True) + joint.sum(axis=0, keepdims=True) - joint
    iou = np.divide(joint, union, out=np.zeros_like(joint), where=union > 0)
    rows, cols = linear_sum_assignment(-iou)
    per_segment = np.zeros(len(segment_ids))
    per_segment[cols] = iou[rows, cols]
    correct = joint[rows, cols].sum()
    return {"miou": float(per_segment.mean()) if len(per_segment) else None,
            "pixel_accuracy": float(correct / c.size) if c.size else None,
            "segments": len(segment_ids), "clusters": len(cluster_ids),
            "matching": {int(cluster_ids[r]): int(segment_ids[k]) for r, k in zip(rows, cols, strict=True)}}


# -- normals ------------------------------------------------------------------------------------------------
FLIPS = tuple((sx, sy, sz) for sx in (1, -1) for sy in (1, -1) for sz in (1, -1))


def decode_normals(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals n = 2c − 1 (c = rgb / 255) and a mask of pixels with a usable (non-zero) vector."""
    n = rgb.astype(np.float32)
    n *= np.float32(2 / 255)
    n -= np.float32(1)
    norm = np.sqrt(np.einsum("...k,...k->...", n, n))
    usable = norm > 0.05  # mid-grey (127/128 each) is the zero vector, not a direction
    n *= (1 / np.maximum(norm, np.float32(1e-6)))[..., None]
    return n, usable


def angular_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Angle in degrees between unit vectors (last axis)."""
    cosine = np.clip(np.einsum("...k,...k->...", pred.astype(np.float64), gt.astype(np.float64)), -1.0, 1.0)
    return np.degrees(np.arccos(cosine))


def normal_metrics(errors: np.ndarray) -> dict[str, float | int]:
    if errors.size == 0:
        return {"n_valid": 0}
    out: dict[str, float | int] = {"n_valid": int(errors.size), "mean_angle": float(errors.mean(dtype=np.float64)),
                                   "median_angle": float(np.median(errors)), "sum_angle": float(errors.sum(dtype=np.float64))}
    for threshold in NORMAL_THRESHOLDS:
        hits = int(np.count_nonzero(errors < threshold))
        out[f"within_{threshold:g}"] = hits / errors.size
        out[f"hits_{threshold:g}"] = hits
    return out


def best_flip(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> tuple[tuple[int, int, int], np.ndarray]:
    """The axis-sign convention (sx, sy, sz) giving the lowest mean angular error, and its error map.

    A flip only changes the signs of the three per-axis products, so cos = sx·a + sy·b + sz·c;
    conventions are compared on the valid pixels of every 4th row and column, the winner measured everywhere.
    """
    products = [pred[..., k] * gt[..., k] for k in range(3)]
    grid = (slice(None, None, 4), slice(None, None, 4))
    sampled = [p[grid][valid[grid]] for p in products]
    best: tuple[float, tuple[int, int, int]] | None = None
    for flip in FLIPS:
        cosine = np.clip(flip[0] * sampled[0] + flip[1] * sampled[1] + flip[2] * sampled[2], -1.0, 1.0)
        score = float(np.arccos(cosine).mean()) if cosine.size else np.inf
        if best is None or score < best[0]:
            best = (score, flip)
    assert best is not None
    flip = best[1]
    cosine = products[0] if flip[0] > 0 else -products[0]
    cosine += products[1] if flip[1] > 0 else -products[1]
    cosine += products[2] if flip[2] > 0 else -products[2]
    np.clip(cosine, -1.0, 1.0, out=cosine)
    errors = np.arccos(cosine, out=cosine)
    errors *= np.float32(180 / np.pi)
    return flip, errors


# -- gallery panels ---------------------------------------------------------------------------------------
def colourise(values: np.ndarray, valid: np.ndarray | None = None, lo: float | None = None, hi: float | None = None,
              cmap: str = "inferno") -> np.ndarray:
    """A scalar map as RGB through a named colormap (invalid pixels black)."""
    mask = np.isfinite(values) if valid is None else valid & np.isfinite(values)
    if lo is None or hi is None:
        inside = values[mask]
        lo = float(inside.min()) if inside.size else 0.0
        hi = float(inside.max()) if inside.size else 1.0
    scaled = np.clip((values - lo) / ((hi - lo) or 1.0), 0, 1)
    index = np.nan_to_num(scaled * 255, nan=0).astype(np.uint8)
    rgb = colormap_table(cmap)[index].astype(np.uint8)
    rgb[~mask] = 0
    return rgb


def label_colours(labels: np.ndarray, palette: dict[int, tuple[int, int, int]] | None = None) -> np.ndarray:
    """Labels as colours: ``palette`` where given, else a fixed hash colour per label."""
    ids = np.unique(labels)
    lut = {int(i): (palette or {}).get(int(i)) or tuple(int(v) for v in np.random.default_rng(int(i) + 7).integers(40, 256, 3)) for i in ids}
    out = np.zeros((*labels.shape, 3), dtype=np.uint8)
    for i, colour in lut.items():
        out[labels == i] = colour
    return out


def write_panels(run_dir: Path, relative: str, panels: list[tuple[str, np.ndarray]]) -> str:
    """A strip of captioned panels (input, generated, decoded, ground truth, error) saved in the run dir."""
    from PIL import ImageDraw

    tiles = []
    for caption, rgb in panels:
        image = Image.fromarray(np.ascontiguousarray(rgb.astype(np.uint8)))
        width = max(1, round(image.width * PANEL_HEIGHT / image.height))
        tile = Image.new("RGB", (width, PANEL_HEIGHT + 14), "white")
        tile.paste(image.resize((width, PANEL_HEIGHT), Image.BILINEAR), (0, 14))
        ImageDraw.Draw(tile).text((2, 1), caption, fill="black")
        tiles.append(tile)
    strip = Image.new("RGB", (sum(t.width for t in tiles) + 4 * (len(tiles) - 1), PANEL_HEIGHT + 14), "white")
    x = 0
    for tile in tiles:
        strip.paste(tile, (x, 0))
        x += tile.width + 4
    buffer = io.BytesIO()
    strip.save(buffer, format="PNG", compress_level=3)
    atomic_write(run_dir / relative, buffer.getvalue())
    return relative
