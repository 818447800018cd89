"""Edit metrics on 1024² pairs: masked PSNR, SSIM and colour drift (ΔE2000 + Lab shift) per second,
against the bare limit — decoding the two PNGs of the pair — and against the naive SSIM (skimage).

Each pair is a real photo (skimage's astronaut, upscaled to 1024²) and an "edited" copy: a box
repainted, mild noise and a yellow cast elsewhere, both PNG-encoded at Pillow's default level.
Prints seconds per pair for each step and the ratio (metrics / decode).

    PYTHONPATH=src .venv/bin/python bench/edit_metrics.py [--pairs 8] [--size 1024]
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image

from genlens.metrics import as_float_rgb, box_keep_mask, color_drift, psnr, ssim


def make_pair(size: int, seed: int) -> tuple[bytes, bytes]:
    from skimage import data

    source = Image.fromarray(data.astronaut()).resize((size, size), Image.BICUBIC)
    rng = np.random.default_rng(seed)
    edited = np.asarray(source, dtype=np.float32)
    edited = edited + rng.normal(0, 2.0, edited.shape)
    edited[..., 2] *= 0.95  # a yellow cast
    edited[: size // 3, : size // 3] = (200, 30, 30)  # the edited box
    pair = []
    for image in (source, Image.fromarray(edited.clip(0, 255).astype(np.uint8))):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        pair.append(buffer.getvalue())
    return pair[0], pair[1]


def decode(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    image.load()
    return np.asarray(image.convert("RGB"))


def timed(fn, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args()
    pairs = [make_pair(args.size, seed) for seed in range(args.pairs)]
    keep = box_keep_mask((args.size, args.size), [(0.0, 0.0, 1 / 3, 1 / 3)])
    raw = [(decode(a), decode(b)) for a, b in pairs]
    decoded = [(as_float_rgb(a), as_float_rgb(b)) for a, b in raw]
    ssim(*decoded[0])  # warm-up (cv2 import)
    color_drift(raw[0][0][:16, :16], raw[0][1][:16, :16])

    def each(fn):
        return lambda: [fn(a, b) for a, b in decoded]

    n = len(pairs)
    t_decode = timed(lambda: [(decode(a), decode(b)) for a, b in pairs], 1) / n
    t_psnr = timed(each(lambda a, b: psnr(a, b, keep=keep)), 1) / n
    t_ssim = timed(each(lambda a, b: ssim(a, b, keep=keep)), 1) / n
    t_color = timed(lambda: [color_drift(a, b, keep) for a, b in raw], 1) / n  # uint8 as decoded
    t_all = t_psnr + t_ssim + t_color

    from skimage.metrics import structural_similarity

    a64, b64 = (x.astype(np.float64) for x in decoded[0])
    t_naive = timed(lambda: structural_similarity(a64, b64, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                                  data_range=1.0, channel_axis=2), 1)
    print(f"{n} pairs of {args.size}x{args.size} RGB (PNG {len(pairs[0][0]) / 1e6:.1f} + {len(pairs[0][1]) / 1e6:.1f} MB)")
    print(f"decode two PNGs:          {t_decode * 1e3:8.1f} ms/pair   (the limit)")
    print(f"masked PSNR:              {t_psnr * 1e3:8.1f} ms/pair")
    print(f"masked SSIM:              {t_ssim * 1e3:8.1f} ms/pair   (skimage SSIM, unmasked: {t_naive * 1e3:.1f} ms -> ours x{t_naive / t_ssim:.1f} faster)")
    print(f"colour drift (ΔE00, Lab): {t_color * 1e3:8.1f} ms/pair")
    print(f"all three:                {t_all * 1e3:8.1f} ms/pair = {1 / t_all:.2f} pairs/s; decode alone {1 / t_decode:.2f} pairs/s")
    print(f"ratio metrics / decode:   {t_all / t_decode:.2f}x")


if __name__ == "__main__":
    from _machine import print_machine

    print_machine("start")
    main()
    print_machine("end")
