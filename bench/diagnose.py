"""bench: `genlens diagnose` throughput on N PNG images of 1024², against PNG decode alone.

Prints images/s on one core (the probes are single-threaded: OMP/OpenCV threads pinned to 1)
and the ratio (diagnose time − decode time) / decode time: the target is <= 1, i.e. the probes
cost no more than decoding. Images are photo-like (skimage photos tiled and resized, with noise)
so PNG decode is realistic; a third are upscaled and a third carry an 8×8 block pattern so
every probe does its full work.

    python bench/diagnose.py --images 200 [--repeats 5] [--background-load 1]

Each figure is the median of interleaved repeats while a second process keeps one core busy.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
from PIL import Image

from _machine import background_load, describe, median_spread, print_machine


def make_images(folder: Path, count: int, side: int) -> list[Path]:
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.hubble_deep_field()]
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        base = Image.fromarray(photos[index % len(photos)]).resize((side, side), Image.BICUBIC)
        if index % 3 == 1:  # upscaled ×2
            base = base.resize((side // 2, side // 2), Image.LANCZOS).resize((side, side), Image.BILINEAR)
        array = np.asarray(base).astype(np.int16) + rng.integers(-3, 4, (side, side, 3))
        if index % 3 == 2:  # 8×8 block offsets
            array += rng.integers(-6, 7, (side // 8, side // 8, 1)).repeat(8, 0).repeat(8, 1)
        path = folder / f"{index:04d}.png"
        Image.fromarray(array.clip(0, 255).astype(np.uint8)).save(path, compress_level=6)
        paths.append(path)
    return paths


def decode_all(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            image.load()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved decode/diagnose pairs (median reported)")
    parser.add_argument("--background-load", type=int, default=1, metavar="CORES",
                        help="keep this many cores busy with a spinning process while measuring (0: none)")
    args = parser.parse_args()
    import cv2

    cv2.setNumThreads(1)
    from genlens.diagnose import diagnose_paths

    print_machine("start")
    decodes: list[float] = []
    diagnoses: list[float] = []
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = make_images(folder, args.images, args.side)
        diagnose_paths(paths[:2], folder)  # warm imports (skimage.color, cv2) outside the timing
        decode_all(paths)  # warm the page cache
        with background_load(args.background_load):
            for rep in range(args.repeats):
                # alternate the order so drift in the machine's load hits both equally
                if rep % 2 == 0:
                    decode_s = decode_all(paths)
                    diagnose_s, result = timed_diagnose(diagnose_paths, paths, folder)
                else:
                    diagnose_s, result = timed_diagnose(diagnose_paths, paths, folder)
                    decode_s = decode_all(paths)
                decodes.append(decode_s)
                diagnoses.append(diagnose_s)
                ratios.append((diagnose_s - decode_s) / decode_s)
                print(f"  repeat {rep + 1}: decode {decode_s:.2f} s, diagnose {diagnose_s:.2f} s, "
                      f"probe/decode {ratios[-1]:.2f}x", flush=True)
    print_machine("end")
    summary = result.summary()
    n = len(paths)
    decode_med = median_spread(decodes)[0]
    diagnose_med = median_spread(diagnoses)[0]
    print(f"images: {n} PNG {args.side}x{args.side} ({summary['resampling_peaks']} with resampling peaks, "
          f"{summary['patch_grids']} with patch grids found); background load {args.background_load} core(s)")
    print(f"decode only:      {describe(decodes, '{:.2f}')} s  ({n / decode_med:.1f} images/s)")
    print(f"genlens diagnose: {describe(diagnoses, '{:.2f}')} s  ({n / diagnose_med:.1f} images/s per core)")
    print(f"probe cost / decode cost: {describe(ratios, '{:.2f}')}x (target <= 1)")


def timed_diagnose(diagnose_paths, paths: list[Path], folder: Path):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = diagnose_paths(paths, folder)
    return time.perf_counter() - started, result


if __name__ == "__main__":
    main()
