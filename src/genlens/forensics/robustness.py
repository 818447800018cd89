"""Perturbations the detection benchmarks test robustness with: JPEG, resize, blur, crop.

Each is a deterministic ``Image -> Image`` function applied after normalisation to both real and
generated images at test time (detectors are trained, or were trained, on clean images).
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image, ImageFilter

from genlens.forensics.normalise import jpeg_roundtrip

BLUR_SIGMA = 1.0
CROP_FRACTION = 0.75


def resize(image: Image.Image, factor: float) -> Image.Image:
    """Bilinear resize by ``factor`` (antialiased when shrinking), at least 8 px a side."""
    width, height = image.size
    size = (max(8, round(width * factor)), max(8, round(height * factor)))
    return image.resize(size, Image.Resampling.BILINEAR)


def blur(image: Image.Image, sigma: float = BLUR_SIGMA) -> Image.Image:
    """Gaussian blur with standard deviation ``sigma`` pixels."""
    return image.filter(ImageFilter.GaussianBlur(radius=sigma))


def crop(image: Image.Image, fraction: float = CROP_FRACTION) -> Image.Image:
    """The centre crop keeping ``fraction`` of each side."""
    width, height = image.size
    new_w, new_h = max(8, round(width * fraction)), max(8, round(height * fraction))
    left, top = (width - new_w) // 2, (height - new_h) // 2
    return image.crop((left, top, left + new_w, top + new_h))


PERTURBATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "jpeg95": lambda image: jpeg_roundtrip(image, 95),
    "jpeg75": lambda image: jpeg_roundtrip(image, 75),
    "jpeg50": lambda image: jpeg_roundtrip(image, 50),
    "resize0.5": lambda image: resize(image, 0.5),
    "resize2": lambda image: resize(image, 2.0),
    "blur": blur,
    "crop": crop,
}

DESCRIPTIONS: dict[str, str] = {
    "jpeg95": "JPEG quality 95", "jpeg75": "JPEG quality 75", "jpeg50": "JPEG quality 50",
    "resize0.5": "bilinear resize to 0.5x", "resize2": "bilinear resize to 2x",
    "blur": f"Gaussian blur sigma {BLUR_SIGMA} px", "crop": f"centre crop keeping {CROP_FRACTION:.0%} of each side",
}
