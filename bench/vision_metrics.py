"""Vision-task scoring cost per 1024² map vs decoding the map's PNG (target: <= 2x).

For each task a 1024×1024 map of a built-in scene is encoded as PNG once; then, per repeat:
- baseline: PNG decode to an RGB array (PIL), the bare cost of reading the image at all;
- ours: decode + alignment + metrics on that array, exactly as the suite's scorer runs them
  (depth: colormap inversion through inferno, least-squares fits in depth and in disparity,
  AbsRel/δ; seg: nearest palette colour in CIELAB, per-class IoU; normals: n = 2c − 1,
  8 conventions tried, angular-error metrics). Registration is not included (a same-size
  output needs none); nor are the gallery panels (written once per image, ~120 px high).
The two are run alternately and the median of the repeats is reported, and the ratio ours / PNG decode.

Usage: PYTHONPATH=src python bench/vision_metrics.py [--side 1024] [--repeats 7]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from genlens.suites import _vision as V
from genlens.suites._vision_data import SCENE_PALETTE
from genlens.suites._vision_scenes import render_scene


def paired_medians(base: Callable[[], object], ours: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median times of two functions run alternately (a shared machine's load drifts alike for both)."""
    base()
    ours()  # warm: lookup tables, imports
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, out in ((base, times[0]), (ours, times[1])):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    scene = render_scene(0, (args.side, args.side))
    depth = scene.depth.astype(np.float64)
    valid = np.ones(depth.shape, dtype=bool)
    disparity = 1 / depth
    scaled = (disparity - disparity.min()) / np.ptp(disparity)
    depth_map = np.round(V.colormap_table("inferno")[np.round(scaled * 255).astype(np.uint8)]).astype(np.uint8)
    seg_map = np.zeros((*scene.classes.shape, 3), np.uint8)
    for cid, (_name, rgb) in SCENE_PALETTE.items():
        seg_map[scene.classes == cid] = rgb
    palette = {cid: rgb for cid, (_name, rgb) in SCENE_PALETTE.items()}
    normal_map = np.round((scene.normals + 1) / 2 * 255).astype(np.uint8)

    def depth_task(rgb: np.ndarray) -> None:
        values, _info = V.decode_depth(rgb, "inferno")
        V.align_depth(values, depth, valid, (1e-3, 1000.0))  # fits both ways, keeps one, measures it

    def seg_task(rgb: np.ndarray) -> None:
        pred, _distance = V.palette_labels(rgb, palette)
        _ids, inter, union = V.intersection_union(pred, scene.classes, valid)
        V.mean_iou(inter, union)

    def normals_task(rgb: np.ndarray) -> None:
        pred, usable = V.decode_normals(rgb)
        _flip, errors = V.best_flip(pred, scene.normals, valid & usable)
        V.normal_metrics(errors[valid])

    print(f"vision scoring per {args.side}x{args.side} map (median of {args.repeats}); ours = decode + align + metrics")
    for name, array, task in (("depth (inferno)", depth_map, depth_task), ("seg (palette)", seg_map, seg_task),
                              ("normals", normal_map, normals_task)):
        data = png(array)
        base, ours = paired_medians(lambda data=data: decode_png(data), lambda array=array, task=task: task(array), args.repeats)
        print(f"{name:16s} PNG decode {base * 1000:7.1f} ms   ours {ours * 1000:7.1f} ms   ratio {ours / base:5.2f}x"
              f"   {'ok' if ours / base <= 2 else 'OVER target 2x'}")


if __name__ == "__main__":
    main()
