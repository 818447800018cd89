"""Weight-free forensic features of one image: spectrum, noise residuals, colour and JPEG statistics.

Every feature is a number that generators and cameras tend to leave differently, and none needs
model weights:

- **spectral** — the azimuthally averaged log power spectrum (shape only: its mean is removed, so
  overall contrast does not count) and the strength of periodic peaks in the mean |difference|
  profile at periods 2, 3, 4, 8 and 16 pixels (upsampling and patch/block grids put energy there);
- **residual** — high-pass residuals (first and second differences, the SRM "KV" 5×5 kernel): their
  spread, tails and share of exact zeros, and the co-occurrence histogram of neighbouring quantised
  residual values (the SPAM/SRM idea: interpolation and denoising change how neighbours co-vary);
- **colour** — channel spread, saturation, chroma spread and the correlation of the channels'
  residuals (camera demosaicing correlates them);
- **jpeg** — 8×8 blockiness (boundary vs interior differences) and the mean magnitude of the
  first block-DCT coefficients (a quantisation table leaves its print there).

The vector has a fixed length and fixed names (:data:`FEATURE_NAMES`) whatever the image size.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
from PIL import Image

from genlens.scorers.image_stats import DCT8

SPECTRUM_BINS = 16
PEAK_PERIODS = (2, 3, 4, 8, 16)
COOC_T = 2  # residuals are truncated to [-T, T] before co-occurrence counting
ZIGZAG_AC = 15  # first AC coefficients (zigzag order) of the 8×8 block DCT
_EPS = 1e-8

# The SRM "KV" kernel (Fridrich & Kodovský 2012), a 5×5 high-pass predictor residual, scaled by 1/12.
KV_KERNEL = np.array([
    [-1, 2, -2, 2, -1],
    [2, -6, 8, -6, 2],
    [-2, 8, -12, 8, -2],
    [2, -6, 8, -6, 2],
    [-1, 2, -2, 2, -1],
], dtype=np.float32) / 12.0


def _names() -> tuple[str, ...]:
    names = [f"spectrum_{i}" for i in range(SPECTRUM_BINS)]
    names += [f"peak_period_{p}" for p in PEAK_PERIODS]
    for residual in ("d1", "d2", "kv"):
        names += [f"{residual}_log_std", f"{residual}_kurtosis", f"{residual}_zero_share"]
    side = 2 * COOC_T + 1
    for residual in ("d1", "d2"):
        names += [f"{residual}_cooc_{a}_{b}" for a in range(side) for b in range(side)]
    names += ["rgb_std_r", "rgb_std_g", "rgb_std_b", "saturation_mean", "saturation_std",
              "cb_std", "cr_std", "residual_corr_rg", "residual_corr_gb", "residual_corr_rb"]
    names += ["blockiness_aligned", "blockiness_max_phase", "dct_zero_share"]
    names += [f"dct_ac_{i}" for i in range(1, ZIGZAG_AC + 1)]
    return tuple(names)


FEATURE_NAMES: tuple[str, ...] = _names()


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """8-bit RGB pixels as float32 (H, W, 3); alpha is composited on white, palettes expanded.

    16-bit greyscale (``I;16``, ``I``) is scaled by 255/65535 rather than clipped at 255.
    """
    if image.mode.startswith("I;16") or image.mode == "I":
        grey = np.asarray(image, dtype=np.float32) * (255.0 / 65535.0)
        return np.repeat(np.clip(grey, 0, 255)[..., None].round(), 3, axis=-1)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.float32)


def as_rgb(image: Image.Image) -> Image.Image:
    """The image in RGB mode, by the same rule as :func:`to_rgb_array` (alpha on white)."""
    return image if image.mode == "RGB" else Image.fromarray(to_rgb_array(image).astype(np.uint8))


def luminance(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma, the channel JPEG compresses hardest."""
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


# -- spectral ---------------------------------------------------------------------------------
@cache
def _radial_bins(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    radius = np.sqrt(fy * fy + fx * fx)  # cycles per pixel, 0 … 0.707
    index = np.minimum((radius / 0.5 * SPECTRUM_BINS).astype(np.int64), SPECTRUM_BINS).ravel()
    counts = np.bincount(index, minlength=SPECTRUM_BINS + 1)[:SPECTRUM_BINS].astype(np.float64)
    window = np.outer(np.hanning(height), np.hanning(width)).astype(np.float32)
    return index, np.maximum(counts, 1.0), window


def azimuthal_spectrum(gray: np.ndarray) -> np.ndarray:
    """Log10 mean power in ``SPECTRUM_BINS`` rings from 0 to 0.5 cycles/pixel, mean removed (shape only)."""
    height, width = gray.shape
    index, counts, window = _radial_bins(height, width)
    power = np.abs(np.fft.rfft2((gray - gray.mean()) * window)) ** 2
    sums = np.bincount(index, weights=power.ravel(), minlength=SPECTRUM_BINS + 1)[:SPECTRUM_BINS]
    log_power = np.log10(sums / counts + _EPS)
    return log_power - log_power.mean()


def _period_strength(profile: np.ndarray, periods: Sequence[int]) -> np.ndarray:
    """log(power at 1/period / median power) of a 1-D profile, per period (0 when too short).

    The ratio is floored at 1/1000 (log −6.9) so an exactly empty frequency does not dominate.
    """
    out = np.zeros(len(periods))
    if profile.size < 8:
        return out
    spectrum = np.abs(np.fft.rfft(profile - profile.mean())) ** 2
    reference = float(np.median(spectrum[1:])) + _EPS
    for i, period in enumerate(periods):
        k = min(round(profile.size / period), spectrum.size - 1)  # odd lengths: the bin nearest Nyquist
        if period * 2 <= profile.size and k > 0:
            out[i] = np.log(spectrum[k] / reference + 1e-3)
    return out


def periodic_peaks(gray: np.ndarray) -> np.ndarray:
    """Periodic-peak strength of the mean |first difference| profile along x and y, averaged.

    Nearest-neighbour 2× upsampling makes every other difference zero (period 2); block and
    patch grids put their jumps every 8 or 16 pixels.
    """
    d1x = np.abs(gray[:, 1:] - gray[:, :-1]).mean(axis=0)
    d1y = np.abs(gray[1:, :] - gray[:-1, :]).mean(axis=1)
    return (_period_strength(d1x, PEAK_PERIODS) + _period_strength(d1y, PEAK_PERIODS)) / 2


# -- noise residuals --------------------------------------------------------------------------
def _residual_stats(residuals: Sequence[np.ndarray]) -> list[float]:
    """log std, kurtosis (capped at 100) and share of |r| < 0.5 over all given residual arrays."""
    count = sum(r.size for r in residuals)
    if count == 0:  # an image too small for this residual
        return [float(np.log(1e-3)), 0.0, 0.0]
    mean = sum(float(r.sum(dtype=np.float64)) for r in residuals) / count
    squares = [np.square(r - mean) for r in residuals]
    variance = sum(float(s.sum(dtype=np.float64)) for s in squares) / count
    fourth = sum(float(np.square(s).sum(dtype=np.float64)) for s in squares) / count
    kurtosis = fourth / (variance * variance) if variance > 0 else 0.0
    zero_share = sum(int(np.count_nonzero(np.abs(r) < 0.5)) for r in residuals) / count
    return [float(np.log(np.sqrt(variance) + 1e-3)), min(kurtosis, 100.0), zero_share]


def kv_residual(gray: np.ndarray) -> np.ndarray:
    """The SRM KV residual (valid region only)."""
    if min(gray.shape) <= 4:
        return np.zeros((1, 1), dtype=np.float32)
    try:
        import cv2

        full = cv2.filter2D(gray, cv2.CV_32F, KV_KERNEL, borderType=cv2.BORDER_REFLECT)
    except ImportError:  # opencv is optional: scipy gives the same numbers, slower
        from scipy.ndimage import correlate

        full = correlate(gray, KV_KERNEL, mode="reflect")
    return full[2:-2, 2:-2]


def cooccurrence(residual_h: np.ndarray, residual_v: np.ndarray, step: float) -> np.ndarray:
    """Normalised histogram of (r[i], r[i+1]) pairs of quantised, truncated residuals.

    Horizontal residuals are paired along rows and vertical ones along columns (the SPAM
    direction rule), then both histograms are pooled: ``(2T+1)²`` values summing to 1.
    """
    side = 2 * COOC_T + 1
    hist = np.zeros(side * side)
    for residual, axis in ((residual_h, 1), (residual_v, 0)):
        if residual.size == 0:
            continue
        q = np.rint(residual * (1.0 / step)).clip(-COOC_T, COOC_T).astype(np.int8) + np.int8(COOC_T)
        first, second = (q[:, :-1], q[:, 1:]) if axis == 1 else (q[:-1, :], q[1:, :])
        codes = (first * np.int8(side) + second).ravel()  # < 25: fits int8
        hist += np.bincount(codes.view(np.uint8), minlength=side * side)[: side * side]
    return hist / max(hist.sum(), 1.0)


def residual_features(gray: np.ndarray) -> np.ndarray:
    """Stats of the d1, d2 and KV residuals, then the d1 and d2 co-occurrence histograms."""
    d1h, d1v = gray[:, 1:] - gray[:, :-1], gray[1:, :] - gray[:-1, :]
    d2h = gray[:, :-2] - 2 * gray[:, 1:-1] + gray[:, 2:]
    d2v = gray[:-2, :] - 2 * gray[1:-1, :] + gray[2:, :]
    stats = [*_residual_stats([d1h, d1v]), *_residual_stats([d2h, d2v]), *_residual_stats([kv_residual(gray)])]
    return np.concatenate([stats, cooccurrence(d1h, d1v, 1.0), cooccurrence(d2h, d2v, 2.0)])


# -- colour -----------------------------------------------------------------------------------
def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equally shaped arrays (0 when either is constant)."""
    n = a.size
    if n == 0:
        return 0.0
    sa, sb = float(a.sum(dtype=np.float64)), float(b.sum(dtype=np.float64))
    cov = float(np.vdot(a, b)) - sa * sb / n
    var_a = float(np.vdot(a, a)) - sa * sa / n
    var_b = float(np.vdot(b, b)) - sb * sb / n
    return cov / np.sqrt(var_a * var_b) if var_a > 1e-9 and var_b > 1e-9 else 0.0


def colour_features(rgb: np.ndarray) -> np.ndarray:
    """Channel spread, saturation, chroma spread, and inter-channel residual correlation."""
    r, g, b = (np.ascontiguousarray(rgb[..., c]) for c in range(3))
    stds = [float(channel.std(dtype=np.float64)) / 255 for channel in (r, g, b)]
    high = np.maximum(np.maximum(r, g), b)
    low = np.minimum(np.minimum(r, g), b)
    saturation = (high - low) / np.maximum(high, 1e-6)  # 0 for black (high = low = 0)
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    res = [np.diff(channel, axis=1).ravel() for channel in (r, g, b)]
    corrs = [_corr(res[0], res[1]), _corr(res[1], res[2]), _corr(res[0], res[2])]
    return np.array([*stds, float(saturation.mean(dtype=np.float64)), float(saturation.std(dtype=np.float64)),
                     float(cb.std(dtype=np.float64)) / 255, float(cr.std(dtype=np.float64)) / 255, *corrs])


# -- JPEG -------------------------------------------------------------------------------------
DCT8_F32 = DCT8.astype(np.float32)  # image_stats' orthonormal 8×8 DCT-II, in the features' float32


@cache
def _zigzag(count: int) -> tuple[tuple[int, int], ...]:
    order = sorted(((i, j) for i in range(8) for j in range(8)), key=lambda ij: (ij[0] + ij[1], ij[0] if (ij[0] + ij[1]) % 2 else ij[1]))
    return tuple(order[1:count + 1])


def blockiness(gray: np.ndarray) -> tuple[float, float]:
    """log(boundary / interior) mean |difference| on the aligned 8-grid, and the largest over the 8 phases."""
    ratios_by_phase = np.zeros(8)
    for diffs in (np.abs(gray[:, 1:] - gray[:, :-1]).mean(axis=0), np.abs(gray[1:, :] - gray[:-1, :]).mean(axis=1)):
        if diffs.size < 16:
            continue
        usable = diffs[: diffs.size // 8 * 8].reshape(-1, 8).mean(axis=0)  # mean |diff| at each phase
        ratios_by_phase += np.log((usable + _EPS) / (np.median(usable) + _EPS)) / 2
    # diff index 7 sits between pixels 7 and 8: the boundary of an aligned JPEG grid
    return float(ratios_by_phase[7]), float(ratios_by_phase.max())


def dct_features(gray: np.ndarray) -> np.ndarray:
    """Share of near-zero AC coefficients and log mean |coefficient| of the first zigzag ACs (aligned 8×8 DCT)."""
    height, width = (gray.shape[0] // 8) * 8, (gray.shape[1] // 8) * 8
    if height == 0 or width == 0:
        return np.zeros(1 + ZIGZAG_AC)
    blocks = (gray[:height, :width] - 128.0).reshape(height // 8, 8, width // 8, 8).transpose(0, 2, 1, 3)
    matrix = DCT8_F32
    coeffs = matrix @ blocks @ matrix.T  # (by, bx, 8, 8)
    ac = coeffs.reshape(-1, 64)[:, 1:]
    zero_share = float(np.mean(np.abs(ac) < 0.5))
    magnitudes = [np.log(float(np.abs(coeffs[..., i, j]).mean()) + 1e-3) for i, j in _zigzag(ZIGZAG_AC)]
    return np.array([zero_share, *magnitudes])


def jpeg_features(gray: np.ndarray) -> np.ndarray:
    aligned, strongest = blockiness(gray)
    dct = dct_features(gray)
    return np.array([aligned, strongest, *dct])


# -- the vector -------------------------------------------------------------------------------
def forensic_features(image: Image.Image) -> np.ndarray:
    """The full feature vector of one image (float64, ``len(FEATURE_NAMES)`` values)."""
    rgb = to_rgb_array(image)
    gray = np.ascontiguousarray(luminance(rgb), dtype=np.float32)
    parts = [azimuthal_spectrum(gray), periodic_peaks(gray), residual_features(gray), colour_features(rgb),
             jpeg_features(gray)]
    vector = np.concatenate(parts).astype(np.float64)
    return np.nan_to_num(vector, nan=0.0, posinf=0.0, neginf=0.0)


def feature_matrix(images: Sequence[Image.Image]) -> np.ndarray:
    """Stack :func:`forensic_features` for many images into an (n, d) matrix."""
    if not images:
        return np.zeros((0, len(FEATURE_NAMES)))
    return np.stack([forensic_features(image) for image in images])
