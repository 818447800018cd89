"""Colour drift in CIELAB: conversion, mean Lab shift (a colour cast) and mean ΔE2000.

sRGB (D65, 2° observer) to CIELAB with the same constants as scikit-image's ``rgb2lab`` (a
lookup table linearises 8-bit input, which makes it several times faster; the tests check
agreement with skimage); ΔE2000 via skimage's ``deltaE_ciede2000`` (kL = kC = kH = 1).
Inputs are RGB arrays, uint8 or float in [0, 1], and an optional ``keep`` mask (True = compare).
"""

from __future__ import annotations

import numpy as np

# sRGB -> XYZ (D65) and the D65 2° white point, as in skimage.color.colorconv
XYZ_FROM_RGB = np.array([[0.412453, 0.357580, 0.180423],
                         [0.212671, 0.715160, 0.072169],
                         [0.019334, 0.119193, 0.950227]], dtype=np.float32)
WHITE_D65 = np.array([0.95047, 1.0, 1.08883], dtype=np.float32)


def _linearise(values: np.ndarray) -> np.ndarray:
    """sRGB companding undone: ((v + 0.055)/1.055)^2.4 above 0.04045, v/12.92 below."""
    values = np.clip(values, 0.0, 1.0).astype(np.float32, copy=False)
    return np.where(values > 0.04045, ((values + 0.055) / 1.055) ** 2.4, values / 12.92).astype(np.float32)


_LINEAR_LUT = _linearise(np.arange(256, dtype=np.float32) / 255.0)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """RGB (uint8, or float in [0, 1]), shape (..., 3) -> CIELAB (L* 0–100, a*, b*), float32."""
    rgb = np.asarray(rgb)
    linear = _LINEAR_LUT[rgb] if rgb.dtype == np.uint8 else _linearise(rgb)
    # Three weighted channel sums: numpy's matmul with a 3×3 operand is ~20× slower than this.
    matrix = XYZ_FROM_RGB / WHITE_D65[:, None]
    r, g, b = linear[..., 0], linear[..., 1], linear[..., 2]
    xyz = np.stack([matrix[i, 0] * r + matrix[i, 1] * g + matrix[i, 2] * b for i in range(3)], axis=-1)
    small = xyz <= 0.008856
    f = np.cbrt(xyz, dtype=np.float32)
    f[small] = 7.787 * xyz[small] + 16.0 / 116.0
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def _select(lab: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    return lab.reshape(-1, 3) if keep is None else lab[keep]


def _shift(sel_b: np.ndarray, sel_a: np.ndarray) -> dict[str, float] | None:
    if sel_b.shape[0] == 0:
        return None
    shift = sel_a.mean(axis=0, dtype=np.float64) - sel_b.mean(axis=0, dtype=np.float64)
    d_l, d_a, d_b = (float(v) for v in shift)
    return {"dL": d_l, "da": d_a, "db": d_b, "magnitude": float(np.sqrt(d_l * d_l + d_a * d_a + d_b * d_b))}


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference per row of two (N, 3) Lab arrays (kL = kC = kH = 1), via skimage.

    (A float32 numpy re-implementation measured no faster, so skimage's stays.)
    """
    try:
        from skimage.color import deltaE_ciede2000
    except ImportError:
        from genlens.errors import SpecError

        raise SpecError("ΔE2000 needs scikit-image", fix="pip install 'genlens[diag]'") from None
    return deltaE_ciede2000(np.asarray(lab1, dtype=np.float32), np.asarray(lab2, dtype=np.float32))


def _delta_e(sel_b: np.ndarray, sel_a: np.ndarray) -> float | None:
    if sel_b.shape[0] == 0:
        return None
    changed = np.any(sel_b != sel_a, axis=1)  # identical colours have ΔE 0: skip the formula for them
    total = float(np.sum(delta_e2000(sel_b[changed], sel_a[changed]), dtype=np.float64)) if changed.any() else 0.0
    return total / sel_b.shape[0]


def mean_lab_shift(before: np.ndarray, after: np.ndarray, keep: np.ndarray | None = None) -> dict[str, float] | None:
    """Mean Lab of ``after`` minus mean Lab of ``before`` (ΔL*, Δa*, Δb*) and its length.

    A global cast shows here: a yellow tint is a positive Δb*, darkening a negative ΔL*.
    None when no pixel is kept.
    """
    return _shift(_select(rgb_to_lab(before), keep), _select(rgb_to_lab(after), keep))


def mean_delta_e2000(before: np.ndarray, after: np.ndarray, keep: np.ndarray | None = None) -> float | None:
    """Mean per-pixel CIEDE2000 colour difference over the kept pixels (None when none is kept)."""
    return _delta_e(_select(rgb_to_lab(before), keep), _select(rgb_to_lab(after), keep))


def color_drift(before: np.ndarray, after: np.ndarray, keep: np.ndarray | None = None) -> dict[str, float | None]:
    """Both drift measures from one Lab conversion per image: shift components and mean ΔE2000."""
    sel_b, sel_a = _select(rgb_to_lab(before), keep), _select(rgb_to_lab(after), keep)
    shift = _shift(sel_b, sel_a)
    out: dict[str, float | None] = {"delta_e2000": _delta_e(sel_b, sel_a)}
    for key in ("dL", "da", "db"):
        out[f"lab_shift_{key}"] = shift[key] if shift else None
    out["lab_shift"] = shift["magnitude"] if shift else None
    return out
