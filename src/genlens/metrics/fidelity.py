"""Full-reference fidelity: PSNR and SSIM, plain, restricted to a region, and SmartEdit-weighted.

Conventions (all functions): images are RGB ``float32`` arrays in [0, 1] of shape (H, W, 3)
(:func:`as_float_rgb` converts PIL images and uint8 arrays); ``keep`` is a boolean (H, W) array,
True where the two images should agree (the region outside an edit).

SSIM follows the torchmetrics/skimage definition SmartEdit used: 11×11 Gaussian window with
σ = 1.5, K1 = 0.01, K2 = 0.03, population covariances, computed only where the window lies fully
inside the image, averaged over channels and positions. PSNR of two identical images is infinite;
it is reported as :data:`PSNR_CAP_DB` so results stay finite JSON (documented in the docs).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image

PSNR_CAP_DB = 100.0
SSIM_SIGMA = 1.5
SSIM_WINDOW = 11
SSIM_K1 = 0.01
SSIM_K2 = 0.03
SMARTEDIT_SIZE = 256


def as_float_rgb(image: Any) -> np.ndarray:
    """A PIL image or array as RGB float32 in [0, 1], shape (H, W, 3)."""
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.shape[2] == 4:
        array = array[:, :, :3]
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255.0)
    return array.astype(np.float32, copy=False)


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape} (resize first)")


def mse(a: np.ndarray, b: np.ndarray, keep: np.ndarray | None = None) -> float | None:
    """Mean squared error over all channels of the kept pixels (None when no pixel is kept)."""
    _check_pair(a, b)
    diff = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if keep is None:
        return float(diff.mean())
    if not keep.any():
        return None
    return float(diff[keep].mean())


def psnr_from_mse(value: float | None, data_range: float = 1.0) -> float | None:
    """10·log10(range² / MSE) in dB, capped at :data:`PSNR_CAP_DB` (identical images)."""
    if value is None:
        return None
    if value <= 0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10.0 * math.log10(data_range * data_range / value))


def psnr(a: np.ndarray, b: np.ndarray, keep: np.ndarray | None = None, data_range: float = 1.0) -> float | None:
    """PSNR over the whole image, or over the ``keep`` pixels only."""
    return psnr_from_mse(mse(a, b, keep), data_range)


def _gaussian_kernel() -> np.ndarray:
    radius = SSIM_WINDOW // 2
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / SSIM_SIGMA) ** 2)
    return kernel / kernel.sum()


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:
        from genlens.errors import SpecError

        raise SpecError("SSIM needs OpenCV", fix="pip install 'genlens[diag]'") from None
    return cv2


def _valid_blur(image: np.ndarray) -> np.ndarray:
    """Gaussian-weighted window mean at every position where the window fits inside the image."""
    cv2 = _cv2()

    kernel = _gaussian_kernel()
    blurred = cv2.sepFilter2D(image, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    radius = SSIM_WINDOW // 2
    return blurred[radius:-radius, radius:-radius]


def ssim_map(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Per-position SSIM averaged over channels, shape (H − 10, W − 10)."""
    _check_pair(a, b)
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}×{SSIM_WINDOW} pixels, got {a.shape[1]}×{a.shape[0]}")
    # float64: E[x²] − μ² cancels badly in float32 on flat areas (errors ~1e-4 in SSIM).
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    mu_a, mu_b = _valid_blur(a), _valid_blur(b)
    var_a = np.maximum(_valid_blur(a * a) - mu_a * mu_a, 0)
    var_b = np.maximum(_valid_blur(b * b) - mu_b * mu_b, 0)
    cov = _valid_blur(a * b) - mu_a * mu_b
    numerator = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    denominator = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    values = numerator / denominator
    return values.mean(axis=2) if values.ndim == 3 else values


def windows_inside(keep: np.ndarray) -> np.ndarray:
    """For each SSIM window position, True when every pixel of the window is a ``keep`` pixel."""
    outside = (~keep).astype(np.int64)
    integral = np.pad(outside.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    w = SSIM_WINDOW
    box = integral[w:, w:] - integral[:-w, w:] - integral[w:, :-w] + integral[:-w, :-w]
    return box == 0


def ssim(a: np.ndarray, b: np.ndarray, keep: np.ndarray | None = None, data_range: float = 1.0) -> float | None:
    """Mean SSIM; with ``keep``, over windows lying wholly in the kept region (None if none does)."""
    values = ssim_map(a, b, data_range)
    if keep is None:
        return float(values.mean(dtype=np.float64))
    inside = windows_inside(keep)
    if not inside.any():
        return None
    return float(values[inside].mean(dtype=np.float64))


def resize_float(image: np.ndarray, size: tuple[int, int], resample: int = Image.BICUBIC) -> np.ndarray:
    """Resize a float RGB image to ``size`` (width, height) through 8-bit PIL, like a file round trip."""
    pil = Image.fromarray(np.clip(np.rint(image * 255), 0, 255).astype(np.uint8))
    return as_float_rgb(pil.resize(size, resample))


def smartedit_background(source: Image.Image, edited: Image.Image, mask: Image.Image,
                         size: int = SMARTEDIT_SIZE) -> dict[str, float | None]:
    """SmartEdit's background-preservation metrics (Reason-Edit, test/metrics_evaluation.py).

    Both images are resized bicubic to size×size, the mask nearest; the mask's grey level /255
    (not binarised) gives the edit weight, and (1 − mask) multiplies *both* images before a
    full-image PSNR/SSIM/MSE — so the zeroed edit region counts as a perfect match.
    """
    src = as_float_rgb(source.convert("RGB").resize((size, size), Image.BICUBIC))
    out = as_float_rgb(edited.convert("RGB").resize((size, size), Image.BICUBIC))
    weight = 1.0 - np.asarray(mask.convert("L").resize((size, size), Image.NEAREST), dtype=np.float32) / 255.0
    weight3 = weight[:, :, None]
    src_w, out_w = src * weight3, out * weight3
    error = mse(src_w, out_w)
    return {"psnr": psnr_from_mse(error), "ssim": ssim(src_w, out_w), "mse": error}


def mask_bbox(mask: Image.Image | np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) box of all non-zero mask pixels, right/bottom exclusive; None if empty."""
    array = np.asarray(mask.convert("L") if isinstance(mask, Image.Image) else mask)
    ys, xs = np.nonzero(array)
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def box_keep_mask(shape: tuple[int, int], boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
    """A keep mask (True outside every box) for (H, W) from boxes in normalised [0, 1] coordinates."""
    height, width = shape
    keep = np.ones((height, width), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        left, right = math.floor(x0 * width), math.ceil(x1 * width)
        top, bottom = math.floor(y0 * height), math.ceil(y1 * height)
        keep[max(0, top):min(height, bottom), max(0, left):min(width, right)] = False
    return keep
