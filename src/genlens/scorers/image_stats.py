"""Weight-free image probes: sharpness, noise, colour cast, JPEG history, patch grids, resampling peaks.

Each probe is a small function of a decoded image with a documented rule, so a number can be
checked by hand. :func:`probe_image` runs them all (what ``genlens diagnose`` prints).
Heavy work is bounded: spectral and block probes look at a centred crop of at most
``CROP`` pixels whose corner sits on a multiple of 64, so block grids keep their phase.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

CROP = 512
MIN_SIDE = 16
SIZE_BOUND_KEYS = ("laplacian_var", "hf_share", "edge_blur_sigma", "noise_sigma", "mean_L", "cast_a", "cast_b",
                   "cast_chroma", "wb_rg", "wb_bg", "clipped_share", "patch_grid", "grid_strength", "grid_offset",
                   "resampling_peaks", "upsampling_period", "blockiness_8", "jpeg_quality", "jpeg_quality_source", "double_compression_hint")
HISTORY_CROP = 256  # 1,024 blocks: enough coefficients per frequency to find a step
#: The JPEG standard's example luminance quantisation table (ITU-T T.81 Annex K), natural order.
JPEG_LUMA_TABLE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.float64).reshape(8, 8)
#: Low-frequency DCT positions used to read a compression history (dense enough to estimate).
HISTORY_POSITIONS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (1, 2), (2, 1), (2, 2))
GRID_PERIODS = range(2, 65)  # periods 2 and 3 are found so that ×2/×3 upscaling is not called a grid
MIN_GRID = 4
GRID_MIN_STRENGTH = 0.25
PEAK_MIN_STRENGTH = 8.0


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def luminance(image: Image.Image) -> np.ndarray:
    """ITU-R BT.601 luma (what JPEG encodes as Y) as float32 in 0..255."""
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    return np.asarray(image.convert("L") if image.mode != "L" else image, dtype=np.float32)


def to_8bit(image: Image.Image) -> Image.Image:
    """16-bit and float greys scaled to 8 bits (Pillow's own conversion would clip them at 255)."""
    if image.mode.startswith("I") or image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        scale = 1 / 257 if image.mode.startswith("I") else 255.0 if float(array.max(initial=0)) <= 1.0 else 1.0
        kept_format = image.format
        image = Image.fromarray(np.clip(array * scale, 0, 255).round().astype(np.uint8), "L")
        image.format = kept_format
    return image


def centre_crop(array: np.ndarray, size: int = CROP) -> np.ndarray:
    """A centred ``size`` × ``size`` crop whose top-left corner is a multiple of 64 (keeps grid phase)."""
    height, width = array.shape[:2]
    top = max(0, (height - size) // 2) // 64 * 64
    left = max(0, (width - size) // 2) // 64 * 64
    return array[top:top + size, left:left + size]


def libjpeg_table(quality: int, base: np.ndarray = JPEG_LUMA_TABLE) -> np.ndarray:
    """The table libjpeg writes for ``quality`` (1..100), in its integer arithmetic (jpeg_quality_scaling,
    jpeg_add_quant_table with force_baseline): scale = 5000 // q below 50 else 200 − 2q, then
    (base × scale + 50) // 100 clamped to 1..255."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((base.astype(np.int64) * scale + 50) // 100, 1, 255).astype(np.float64)


def _rfft2(array: np.ndarray) -> np.ndarray:
    """Real 2-D FFT in single precision where scipy is installed (twice as fast as numpy's double)."""
    try:
        from scipy import fft
    except ImportError:
        return np.fft.rfft2(array)
    return fft.rfft2(array, workers=1)


def _dct_matrix() -> np.ndarray:
    k = np.arange(8)
    matrix = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / 16) * np.sqrt(2 / 8)
    matrix[0] /= np.sqrt(2)
    return matrix


DCT8 = _dct_matrix()


def block_dct(gray: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Orthonormal 8×8 DCT of every whole block (JPEG's transform, on Y − 128): shape (n, 8, 8)."""
    oy, ox = offset
    sub = gray[oy:, ox:]
    height, width = (sub.shape[0] // 8) * 8, (sub.shape[1] // 8) * 8
    blocks = (sub[:height, :width].astype(np.float64) - 128).reshape(height // 8, 8, width // 8, 8).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(-1, 8, 8)
    return DCT8 @ blocks @ DCT8.T


# ---------------------------------------------------------------------------------------------
# sharpness and noise
# ---------------------------------------------------------------------------------------------
def laplacian_variance(gray: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian over the interior (higher = sharper; depends on content and scale)."""
    import cv2

    _mean, std = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_32F, ksize=1)[1:-1, 1:-1])
    return float(std[0, 0]) ** 2


def high_frequency_share(gray: np.ndarray, cutoff: float = 0.25) -> float:
    """Share of spectral energy (DC excluded) above ``cutoff`` cycles/pixel (0.5 = Nyquist), Hann-windowed."""
    crop = centre_crop(gray).astype(np.float32)
    window, high = _spectral_masks(crop.shape, cutoff)
    power = np.abs(_rfft2((crop - crop.mean()) * window)) ** 2
    power[0, 0] = 0.0
    total = float(power.sum())
    return float(power[high].sum() / total) if total > 0 else 0.0


@lru_cache(maxsize=8)
def _spectral_masks(shape: tuple[int, int], cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """The 2-D Hann window of ``shape`` and the rfft2 bins whose radial frequency exceeds ``cutoff``."""
    window = np.outer(np.hanning(shape[0]), np.hanning(shape[1])).astype(np.float32)
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    return window, np.sqrt(fx ** 2 + fy ** 2) > cutoff


def edge_blur_sigma(gray: np.ndarray, reblur: float = 1.0) -> float | None:
    """Gaussian blur σ (pixels) at edges, by re-blurring (Zhuo & Sim 2011): σ = σ0 / sqrt(R² − 1).

    R is the ratio of gradient magnitudes before and after a re-blur with σ0 = ``reblur``, read at
    Canny edge pixels; the median over edges is returned (None when the image has no edges).
    A step edge blurred by σ gives R = sqrt(σ² + σ0²) / σ exactly.
    """
    import cv2

    crop = np.ascontiguousarray(centre_crop(gray))
    edges = cv2.Canny(crop.clip(0, 255).astype(np.uint8), 30, 90, L2gradient=True) > 0
    if edges.sum() < 20:
        return None
    blurred = cv2.GaussianBlur(crop, (0, 0), reblur, borderType=cv2.BORDER_REFLECT)

    def grad(a: np.ndarray) -> np.ndarray:
        return np.hypot(cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3))

    g1, g2 = grad(crop)[edges], grad(blurred)[edges]
    keep = g2 > 1e-3
    ratio = g1[keep] / g2[keep]
    ratio = ratio[ratio > 1.0005]
    if ratio.size < 20:
        return None
    return float(np.median(reblur / np.sqrt(ratio ** 2 - 1)))


def noise_sigma(gray: np.ndarray) -> float:
    """Additive-noise σ by Immerkær (1996): sqrt(π/2) / (6 (W−2)(H−2)) × Σ |I ∗ N|.

    N = [[1,−2,1],[−2,4,−2],[1,−2,1]] cancels any locally linear image, so on smooth content
    with Gaussian noise of σ the estimate is σ (texture biases it upward).
    """
    import cv2

    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    response = cv2.filter2D(gray, cv2.CV_32F, kernel)[1:-1, 1:-1]
    height, width = gray.shape
    return float(np.sqrt(np.pi / 2) * cv2.norm(response, cv2.NORM_L1) / (6 * (width - 2) * (height - 2)))


# ---------------------------------------------------------------------------------------------
# colour
# ---------------------------------------------------------------------------------------------
def small_rgb(image: Image.Image, side: int = 256) -> np.ndarray:
    """RGB at most ``side`` pixels on the long side (area-averaged; means survive it)."""
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    factor = max(1, max(rgb.size) // side)
    if factor > 1:
        rgb = rgb.reduce(factor)
    return np.asarray(rgb)


def colour_stats(rgb: np.ndarray) -> dict[str, float]:
    """CIELAB (D65) means and grey-world white balance of an 8-bit RGB array.

    Without a reference the cast is read under the grey-world assumption (a scene averages to
    neutral): ``cast_a``/``cast_b`` are the mean a*/b* (warm = +b*, magenta = +a*), so a sunset
    reads warm by content, not by fault — compare against a reference where one exists
    (diag-tone does). ``wb_rg``/``wb_bg`` are log ratios of the channel means (R/G, B/G).
    """
    from genlens.metrics.color import rgb_to_lab

    mean_l, mean_a, mean_b = (float(v) for v in rgb_to_lab(rgb).reshape(-1, 3).mean(axis=0, dtype=np.float64))
    means = rgb.reshape(-1, 3).astype(np.float64).mean(axis=0) + 1.0
    return {
        "mean_L": mean_l, "cast_a": mean_a, "cast_b": mean_b, "cast_chroma": float(np.hypot(mean_a, mean_b)),
        "wb_rg": float(np.log(means[0] / means[1])), "wb_bg": float(np.log(means[2] / means[1])),
        "clipped_share": float(((rgb >= 254).all(axis=-1) | (rgb <= 1).all(axis=-1)).mean()),
    }


# ---------------------------------------------------------------------------------------------
# JPEG history
# ---------------------------------------------------------------------------------------------
def quality_from_table(table: np.ndarray) -> tuple[int, float]:
    """The libjpeg quality whose luminance table is nearest ``table`` (64 values), and the mean |error|."""
    table = np.asarray(table, dtype=np.float64).reshape(8, 8)
    errors = [(float(np.abs(libjpeg_table(q) - table).mean()), q) for q in range(1, 101)]
    error, quality = min(errors)
    return quality, error


def quality_from_steps(steps: dict[tuple[int, int], int]) -> tuple[int, float]:
    """The libjpeg quality whose table best matches steps estimated at a few positions."""
    best = (np.inf, 0)
    for quality in range(1, 101):
        table = libjpeg_table(quality)
        error = float(np.mean([abs(table[pos] - step) for pos, step in steps.items()]))
        best = min(best, (error, quality))
    return best[1], best[0]


def estimate_step(coefficients: np.ndarray, max_step: int = 64, threshold: float = 0.5) -> int:
    """Largest q whose multiples the coefficients cluster on: mean cos(2πc/q) over |c| > q/2 ≥ threshold.

    Coefficients of a once-JPEG'd image decoded to 8-bit pixels sit on multiples of their step
    with rounding error of σ ≈ 0.3, so the true step scores about exp(−2π²σ²/q²) (0.66 at q = 2,
    0.9 at q = 4); unquantised content scores near 0. Returns 1 when no step ≥ 2 clusters.
    Steps with fewer than 50 coefficients above q/2 are not judged.
    """
    steps = np.arange(2, max_step + 1, dtype=np.float32)
    values = coefficients.astype(np.float32)[:, None]
    used = np.abs(values) > steps / 2
    counts = used.sum(axis=0)
    scores = np.where(used, np.cos(np.float32(2 * np.pi) * values / steps), 0.0).sum(axis=0) / np.maximum(counts, 1)
    good = (counts >= 50) & (scores >= threshold)
    return int(steps[good].max()) if good.any() else 1


def jpeg_history(gray: np.ndarray, offset: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    """Signs that decoded pixels went through JPEG: quantisation steps on the 8×8 grid → quality."""
    coefficients = block_dct(centre_crop(gray, HISTORY_CROP), offset)
    steps = {pos: estimate_step(coefficients[:, pos[0], pos[1]]) for pos in HISTORY_POSITIONS}
    found = sum(1 for s in steps.values() if s >= 2)
    if found < len(steps) // 2:
        return {"jpeg_history": False, "estimated_quality": None, "steps": {f"{u}{v}": s for (u, v), s in steps.items()}}
    quality, error = quality_from_steps({pos: s for pos, s in steps.items() if s >= 2})
    return {"jpeg_history": True, "estimated_quality": quality, "table_error": error,
            "steps": {f"{u}{v}": s for (u, v), s in steps.items()}}


def double_compression_hint(gray: np.ndarray, table: np.ndarray) -> dict[str, Any]:
    """Periodic empty histogram bins of quantised DCT coefficients: the mark of a second JPEG pass.

    After decoding, coefficients / step sit near integers k. A single compression leaves each
    position's |k| histogram smooth; compressing first with a coarser step Q1 then with Q2 < Q1
    leaves bins that no Q1 multiple rounds to — empty bins between filled neighbours. Counted over
    |k| = 2..19 at the low-frequency positions (a hole: fewer than 20% of its fuller neighbour,
    which holds at least 20); the hint is raised at 3 or more holes.
    """
    table = np.asarray(table, dtype=np.float64).reshape(8, 8)
    coefficients = block_dct(centre_crop(gray))
    holes = 0
    for pos in HISTORY_POSITIONS:
        k = np.abs(np.rint(coefficients[:, pos[0], pos[1]] / table[pos])).astype(int)
        counts = np.bincount(k[k <= 21], minlength=22)
        for j in range(2, 20):
            neighbour = max(counts[j - 1], counts[j + 1])
            if neighbour >= 20 and counts[j] < 0.2 * neighbour:
                holes += 1
    return {"double_compression_hint": holes >= 3, "histogram_holes": holes}


# ---------------------------------------------------------------------------------------------
# periodic structure: patch grids and resampling
# ---------------------------------------------------------------------------------------------
def _difference_profiles(gray: np.ndarray) -> dict[str, tuple[np.ndarray, ...]]:
    """Per axis: median |first difference| and mean |second difference| across the other axis.

    The median makes the grid profile robust to a few strong natural edges (a mast, a horizon);
    the mean keeps the faint interpolation pattern for the resampling spectrum.
    """
    crop = np.rint(centre_crop(gray)).astype(np.int16)
    out = {}
    for axis, name in ((1, "x"), (0, "y")):
        first = np.abs(np.diff(crop, axis=axis))
        second = np.abs(np.diff(crop, n=2, axis=axis)).mean(axis=1 - axis)
        sampled = first[::4] if axis == 1 else first[:, ::4]  # every 4th line is plenty for a median
        out[name] = (np.median(sampled, axis=1 - axis), first.mean(axis=1 - axis), second)
    return out


def grid_contrast(profile: np.ndarray, period: int) -> tuple[float, int]:
    """Folded by ``period``: (max phase mean − mean of the other phases, argmax phase)."""
    usable = (len(profile) // period) * period
    phases = profile[:usable].reshape(-1, period).mean(axis=0)
    top = int(np.argmax(phases))
    rest = np.delete(phases, top)
    return float(phases[top] - rest.mean()), top


def best_period(profile: np.ndarray) -> tuple[int, int]:
    """The grid period (and boundary phase) that best explains a difference profile.

    A grid of period P makes the mean-removed profile correlate with itself at lags P, 2P, …
    and not at its divisors, so the smallest lag within 75% of the highest autocorrelation over
    lags 2..64 is the period (below 4 it is left to the resampling probe); the boundary phase is the largest mean after folding by it.
    When no lag correlates positively (nothing repeats), the best lag is returned and the grid strength rejects it.
    """
    centred = profile - profile.mean()
    energy = float((centred ** 2).sum()) or 1e-9
    lags = [lag for lag in GRID_PERIODS if len(profile) >= 4 * lag]
    correlation = {lag: float((centred[:-lag] * centred[lag:]).sum()) / energy for lag in lags}
    if not lags:
        return GRID_PERIODS[0], 0
    best = max(correlation.values())
    if best <= 0:  # no lag repeats the profile (e.g. a smooth photo): the most-correlated lag, strength decides
        period = max(lags, key=lambda lag: correlation[lag])
    else:
        period = min(lag for lag in lags if correlation[lag] >= 0.75 * best)
    return period, grid_contrast(profile, period)[1]


def patch_grid(gray: np.ndarray, profiles: dict[str, tuple[np.ndarray, ...]] | None = None) -> dict[str, Any]:
    """The period (pixels) of a visible block grid, or None.

    Block boundaries raise the |first difference| every P columns/rows. The period and boundary
    phase are chosen on the per-column *median* |difference| (robust to a few strong natural
    edges, see :func:`best_period`); the strength is read on the *mean* profile: (mean boundary
    step − mean interior step) / (mean interior step + 1 grey level). A grid counts when both axes agree on P with strength ≥ 0.25
    (boundary steps 25% larger than the rest). ``grid_offset`` is (x, y) of the first boundary.
    """
    if min(gray.shape) < 64:
        return {"patch_grid": None, "grid_strength": 0.0, "grid_offset": None}
    profiles = profiles or _difference_profiles(gray)
    result: dict[str, Any] = {}
    choices = []
    for name in ("x", "y"):
        median_profile, mean_profile, _second = profiles[name]
        period, phase = best_period(median_profile if median_profile.any() else mean_profile)
        usable = (len(mean_profile) // period) * period
        phases = mean_profile[:usable].reshape(-1, period).mean(axis=0)
        interior = float(np.delete(phases, phase).mean())
        strength = float((phases[phase] - interior) / (interior + 1.0))
        choices.append((period, strength, (phase + 1) % period))
        result[f"grid_strength_{name}"] = strength
    (px, sx, ox), (py, sy, oy) = choices
    found = px == py and px >= MIN_GRID and min(sx, sy) >= GRID_MIN_STRENGTH
    result.update({"patch_grid": px if found else None, "grid_strength": float(min(sx, sy)),
                   "grid_offset": [ox, oy] if found else None})
    return result


def blockiness(profiles: dict[str, tuple[np.ndarray, ...]], period: int = 8) -> float:
    """JPEG-style blockiness: (mean |step| on the strongest 8-px phase − other phases) / (others + 1), min over axes.

    About 0 for untouched images; grows with visible 8×8 block edges (q30 JPEG ≈ 0.2–0.8).
    """
    values = []
    for name in ("x", "y"):
        mean_profile = profiles[name][1]
        usable = (len(mean_profile) // period) * period
        phases = mean_profile[:usable].reshape(-1, period).mean(axis=0)
        top = int(np.argmax(phases))
        interior = float(np.delete(phases, top).mean())
        values.append((float(phases[top]) - interior) / (interior + 1.0))
    return min(values)


def spectral_peaks(profile: np.ndarray, min_frequency: float = 1 / 8) -> list[tuple[float, float]]:
    """Peaks of a profile's Hann-windowed amplitude spectrum: (cycles/pixel, amplitude / median).

    The profile is cut to a multiple of 60 samples so periods 2, 3, 4, 5 and 6 fall on exact bins.
    """
    if len(profile) >= 120:
        profile = profile[: len(profile) // 60 * 60]
    signal = (profile - profile.mean()) * np.hanning(len(profile))
    amplitude = np.abs(np.fft.rfft(signal))
    freqs = np.fft.rfftfreq(len(profile))
    median = float(np.median(amplitude[1:])) or 1e-9
    padded = np.concatenate([amplitude, [0.0]])
    local_max = (amplitude >= padded[np.arange(len(amplitude)) - 1]) & (amplitude >= padded[1:])
    chosen = local_max & (freqs >= min_frequency) & (amplitude / median >= PEAK_MIN_STRENGTH)
    chosen[0] = False
    return [(float(freqs[i]), float(amplitude[i] / median)) for i in np.flatnonzero(chosen)]


def resampling_peaks(gray: np.ndarray, grid: int | None = None,
                     profiles: dict[str, tuple[np.ndarray, ...]] | None = None) -> dict[str, Any]:
    """Periodic interpolation traces (upscaling / super-resolution) from difference-profile spectra.

    Upscaling by k repeats the interpolation pattern every k output pixels: nearest-neighbour
    makes every k-th first difference the only non-zero one, linear interpolation zeroes the
    second difference between original samples. Either profile then peaks at 1/k cycles/pixel
    (and harmonics). Peaks at multiples of 1/``grid`` are left to the patch-grid probe. Reported:
    peaks found on both axes, and ``upsampling_period`` = 1/f of the strongest such peak.
    """
    if min(gray.shape) < 64:
        return {"resampling_peaks": [], "upsampling_period": None}
    profiles = profiles or _difference_profiles(gray)
    per_axis: dict[str, dict[float, float]] = {}
    for name, (_median_first, first, second) in profiles.items():
        found: dict[float, float] = {}
        for profile in (first, second):
            for freq, ratio in spectral_peaks(profile):
                key = round(freq, 3)
                found[key] = max(found.get(key, 0.0), ratio)
        per_axis[name] = found

    def near(freq: float, others: dict[float, float]) -> float | None:
        hits = [r for f, r in others.items() if abs(f - freq) <= 2.5 / CROP]
        return max(hits) if hits else None

    def on_grid(freq: float) -> bool:
        return grid is not None and abs(freq * grid - round(freq * grid)) * CROP / grid <= 2.5 / grid

    common = []
    for freq, ratio in per_axis["x"].items():
        other = near(freq, per_axis["y"])
        if other is not None and not on_grid(freq):
            common.append({"frequency": freq, "strength": float(min(ratio, other))})
    common.sort(key=lambda p: -p["strength"])
    kept: list[dict[str, float]] = []
    for peak in common:  # one entry per peak: leakage neighbours within 2.5 bins are dropped
        if all(abs(peak["frequency"] - k["frequency"]) > 2.5 / CROP for k in kept):
            kept.append(peak)
    common = kept
    period = round(1 / common[0]["frequency"], 2) if common else None
    return {"resampling_peaks": common[:6], "upsampling_period": period}


# ---------------------------------------------------------------------------------------------
# everything for one file
# ---------------------------------------------------------------------------------------------
def probe_image(image: Image.Image) -> dict[str, Any]:
    """Every weight-free probe on one decoded image (a JPEG keeps its quantisation tables on ``image``)."""
    out: dict[str, Any] = {"width": image.width, "height": image.height, "mode": image.mode}
    image = to_8bit(image)
    gray = luminance(image)
    if min(gray.shape) < MIN_SIDE:
        return {**out, **dict.fromkeys(SIZE_BOUND_KEYS), "format": (image.format or "").lower(),
                "note": f"smaller than {MIN_SIDE}×{MIN_SIDE}: not probed"}
    out["laplacian_var"] = laplacian_variance(gray)
    out["hf_share"] = high_frequency_share(gray)
    out["edge_blur_sigma"] = edge_blur_sigma(gray)
    out["noise_sigma"] = noise_sigma(gray)
    out.update(colour_stats(small_rgb(image, 128)))
    profiles = _difference_profiles(gray) if min(gray.shape) >= 64 else None
    grid = patch_grid(gray, profiles)
    out.update(grid)
    out["blockiness_8"] = blockiness(profiles) if profiles else None
    out.update(jpeg_probe(image, gray, grid.get("grid_offset")))
    # JPEG's own 8×8 grid shows at multiples of 1/8 cycles/px: that is compression, not resampling.
    jpeg_grid = 8 if out["format"] == "jpeg" or out.get("jpeg_history") else None
    out.update(resampling_peaks(gray, grid["patch_grid"] or jpeg_grid, profiles))
    return out


def jpeg_probe(image: Image.Image, gray: np.ndarray, grid_offset: list[int] | None = None) -> dict[str, Any]:
    """JPEG files: the nearest libjpeg quality to the file's own luminance table (``jpeg_table_error``
    = mean |difference|; exactly 0 for files libjpeg wrote with its standard tables at a quality
    setting, e.g. Pillow's ``quality=1..100``) + double-compression hint; others: history from pixels."""
    tables = getattr(image, "quantization", None)
    if image.format == "JPEG" and tables:
        table = np.array(tables[0], dtype=np.float64)
        quality, error = quality_from_table(table)
        return {"format": "jpeg", "jpeg_quality": quality, "jpeg_quality_source": "quantisation table",
                "jpeg_table_error": error, **double_compression_hint(gray, table)}
    offset = (grid_offset[1] % 8, grid_offset[0] % 8) if grid_offset else (0, 0)
    history = jpeg_history(gray, offset)
    return {"format": (image.format or "").lower(), "jpeg_quality": history["estimated_quality"],
            "jpeg_quality_source": "pixel quantisation steps" if history["jpeg_history"] else None,
            "jpeg_history": history["jpeg_history"], "double_compression_hint": None}


def probe_file(path: Path) -> dict[str, Any]:
    """Decode ``path`` fully and probe it (raises :class:`genlens.errors.InputError` for bad files)."""
    from genlens.imageio import decode

    return probe_image(decode(Path(path).read_bytes(), source=path))
