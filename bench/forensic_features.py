"""Forensic feature extraction speed on 1024² images vs PNG decoding alone.

Images are skimage's colour photos enlarged (bicubic) to ``size``² plus mild noise, so they compress
like photographs rather than like noise or flat colour. Each image is PNG-encoded once in memory.
The decode-only pass opens, fully decodes and converts to RGB; the feature pass does the same decode
and then :func:`genlens.forensics.features.forensic_features`. Also times each feature group on one
image. Prints images/s for both and the ratio (features+decode time / decode time).

    PYTHONPATH=src .venv/bin/python bench/forensic_features.py [--images 24] [--size 1024] [--repeats 2]
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image

from genlens.forensics import features as F

PHOTOS = ("astronaut", "chelsea", "coffee", "immunohistochemistry", "rocket", "hubble_deep_field")


def photo_pngs(count: int, size: int) -> list[bytes]:
    from skimage import data

    rng = np.random.default_rng(0)
    out = []
    for index in range(count):
        base = Image.fromarray(getattr(data, PHOTOS[index % len(PHOTOS)])()[..., :3]).resize((size, size), Image.Resampling.BICUBIC)
        pixels = (np.asarray(base, dtype=np.float32) + rng.normal(0, 2, (size, size, 3))).clip(0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")


def timed(pngs: list[bytes], with_features: bool, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for data in pngs:
            image = decode(data)
            if with_features:
                F.forensic_features(image)
        best = min(best, time.perf_counter() - start)
    return best


def group_times(data: bytes) -> dict[str, float]:
    rgb = F.to_rgb_array(decode(data))
    gray = np.ascontiguousarray(F.luminance(rgb), dtype=np.float32)
    groups = {
        "spectrum": lambda: F.azimuthal_spectrum(gray), "periodic peaks": lambda: F.periodic_peaks(gray),
        "residuals + co-occurrence": lambda: F.residual_features(gray), "colour": lambda: F.colour_features(rgb),
        "jpeg (blockiness + DCT)": lambda: F.jpeg_features(gray),
    }
    out = {}
    for name, fn in groups.items():
        fn()
        start = time.perf_counter()
        fn()
        out[name] = time.perf_counter() - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    pngs = photo_pngs(args.images, args.size)
    F.forensic_features(decode(pngs[0]))  # warm caches (window, radial bins, DCT matrix)
    decode_s = timed(pngs, False, args.repeats)
    feature_s = timed(pngs, True, args.repeats)
    print(f"{args.images} PNG images of {args.size}x{args.size} ({sum(map(len, pngs)) / len(pngs) / 1e6:.2f} MB each), "
          f"best of {args.repeats}")
    print(f"decode only:       {args.images / decode_s:7.2f} images/s ({1000 * decode_s / args.images:.1f} ms/image)")
    print(f"decode + features: {args.images / feature_s:7.2f} images/s ({1000 * feature_s / args.images:.1f} ms/image)")
    print(f"ratio (decode + features) / decode: {feature_s / decode_s:.2f}x; "
          f"features alone: {1000 * (feature_s - decode_s) / args.images:.1f} ms/image")
    for name, seconds in group_times(pngs[0]).items():
        print(f"  {name:28s} {1000 * seconds:7.1f} ms")


if __name__ == "__main__":
    from _machine import print_machine

    print_machine("start")
    main()
    print_machine("end")
