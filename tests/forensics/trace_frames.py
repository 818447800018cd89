"""Frame sequences with a known refinement order and patch grid, built from a photo."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

SIZE = 128


def final_image() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut()).resize((SIZE, SIZE), Image.Resampling.BOX)


def mosaic(image: Image.Image, patch: int) -> np.ndarray:
    """Every patch×patch cell replaced by its mean colour (a coarse token preview)."""
    arr = np.asarray(image, dtype=np.float32)
    h, w = arr.shape[0] // patch, arr.shape[1] // patch
    means = arr.reshape(h, patch, w, patch, 3).mean(axis=(1, 3), keepdims=True)
    return np.broadcast_to(means, (h, patch, w, patch, 3)).reshape(arr.shape)


def top_down(steps: int = 4, patch: int | None = None) -> list[Image.Image]:
    """Rows filled from the top, one band per frame; the rest grey (or a patch mosaic when ``patch``)."""
    final = final_image()
    arr = np.asarray(final, dtype=np.float32)
    rest = mosaic(final, patch) if patch else np.full_like(arr, 128.0)
    frames = []
    for k in range(1, steps):
        frame = rest.copy()
        frame[: k * SIZE // steps] = arr[: k * SIZE // steps]
        frames.append(Image.fromarray(frame.round().astype(np.uint8)))
    return [*frames, final]


def global_refinement(sigmas: tuple[float, ...] = (8, 4, 2, 1)) -> list[Image.Image]:
    """The whole image sharpening at once: ever less blurred, then the final."""
    final = final_image()
    return [*(final.filter(ImageFilter.GaussianBlur(s)) for s in sigmas), final]


def global_mosaic(patches: tuple[int, ...] = (16, 16, 16)) -> list[Image.Image]:
    """Everywhere at once through a fixed patch grid: mosaics mixed ever more toward the final."""
    final = final_image()
    arr = np.asarray(final, dtype=np.float32)
    frames = []
    for k, patch in enumerate(patches, start=1):
        weight = k / (len(patches) + 1)
        frames.append(Image.fromarray((weight * arr + (1 - weight) * mosaic(final, patch)).round().astype(np.uint8)))
    return [*frames, final]
