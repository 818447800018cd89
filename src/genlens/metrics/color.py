"""Colour drift in CIELAB: conversion, mean Lab shift (a colour cast) and mean ΔE2000.

sRGB (D65, 2° observer) to CIELAB via scikit-image's ``rgb2lab``; ΔE2000 via its
``deltaE_ciede2000`` (kL = kC = kH = 1). Inputs are RGB float arrays in [0, 1] (see
:func:`genlens.metrics.fidelity.as_float_rgb`) and an optional ``keep`` mask (True = compare).
"""

from __future__ import annotations

import numpy as np


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """RGB in [0, 1], shape (..., 3) -> CIELAB (L* 0–100, a*, b*), float32."""
    from skimage.color import rgb2lab

    return rgb2lab(np.clip(rgb, 0.0, 1.0).astype(np.float32, copy=False)).astype(np.float32, copy=False)


def _select(lab: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    return lab.reshape(-1, 3) if keep is None else lab[keep]


def mean_lab_shift(before: np.ndarray, after: np.ndarray, keep: np.ndarray | None = None,
                   *, lab_before: np.ndarray | None = None, lab_after: np.ndarray | None = None) -> dict[str, float] | None:
    """Mean Lab of ``after`` minus mean Lab of ``before`` (ΔL*, Δa*, Δb*) and its length.

    A global cast shows here: a yellow tint is a positive Δb*, darkening a negative ΔL*.
    Pass precomputed Lab arrays to avoid converting twice. None when no pixel is kept.
    """
    lab_b = rgb_to_lab(before) if lab_before is None else lab_before
    lab_a = rgb_to_lab(after) if lab_after is None else lab_after
    sel_b, sel_a = _select(lab_b, keep), _select(lab_a, keep)
    if sel_b.shape[0] == 0:
        return None
    shift = sel_a.mean(axis=0, dtype=np.float64) - sel_b.mean(axis=0, dtype=np.float64)
    d_l, d_a, d_b = (float(v) for v in shift)
    return {"dL": d_l, "da": d_a, "db": d_b, "magnitude": float(np.sqrt(d_l * d_l + d_a * d_a + d_b * d_b))}


def mean_delta_e2000(before: np.ndarray, after: np.ndarray, keep: np.ndarray | None = None,
                     *, lab_before: np.ndarray | None = None, lab_after: np.ndarray | None = None) -> float | None:
    """Mean per-pixel CIEDE2000 colour difference over the kept pixels (None when none is kept)."""
    from skimage.color import deltaE_ciede2000

    lab_b = rgb_to_lab(before) if lab_before is None else lab_before
    lab_a = rgb_to_lab(after) if lab_after is None else lab_after
    sel_b, sel_a = _select(lab_b, keep), _select(lab_a, keep)
    if sel_b.shape[0] == 0:
        return None
    return float(np.mean(deltaE_ciede2000(sel_b, sel_a), dtype=np.float64))


def color_drift(before: np.ndarray, after: np.ndarray, keep: np.ndarray | None = None) -> dict[str, float | None]:
    """Both drift measures from one Lab conversion per image: shift components and mean ΔE2000."""
    lab_b, lab_a = rgb_to_lab(before), rgb_to_lab(after)
    shift = mean_lab_shift(before, after, keep, lab_before=lab_b, lab_after=lab_a)
    delta = mean_delta_e2000(before, after, keep, lab_before=lab_b, lab_after=lab_a)
    out: dict[str, float | None] = {"delta_e2000": delta}
    for key in ("dL", "da", "db", "magnitude"):
        out[f"lab_shift_{key}" if key != "magnitude" else "lab_shift"] = shift[key] if shift else None
    return out
