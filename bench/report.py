"""Report build time and page size for 10 GenEval-sized runs (553 prompts × 4 samples = 2,212 images each).

Prints: fabrication time (not counted), HTML build time, page size, and two ratios measured in the
same run: build time vs the bare cost of reading every run's results/rows (the floor for any report),
and page size vs a naive page that embeds every full image as base64.

    PYTHONPATH=src python bench/report.py [--runs 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from genlens.report import load_results, render
from genlens.testing.fake_runs import FakeRun, make_run

GENEVAL_COUNTS = {"single_object": 80, "two_object": 99, "counting": 80, "colors": 94, "position": 100, "color_attr": 100}


def add_boxes(row: dict, rng: np.random.Generator) -> None:
    row["boxes"] = [{"box": [4, 4, 40, 40], "label": "dog", "score": 0.9, "color": "brown"}]


def image_pool(root: Path, side: int, count: int = 32) -> list[Path]:
    """A few distinct side×side PNGs (noisy, so they compress like photos) that runs hard-link."""
    from PIL import Image

    pool = []
    rng = np.random.default_rng(123)
    for k in range(count):
        y, x = np.mgrid[0:side, 0:side]
        arr = np.stack([(x + 7 * k) % 256, (y * 2 + k) % 256, (x * y) % 256], -1) + rng.integers(0, 40, (side, side, 3))
        path = root / "pool" / f"{k}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(path, compress_level=1)
        pool.append(path)
    return pool


def fabricate(root: Path, runs: int, side: int) -> list[Path]:
    dirs = []
    pool = image_pool(root, side)
    for k in range(runs):
        rng = np.random.default_rng(k)
        rates = {cat: float(rng.uniform(0.1, 0.95)) for cat in GENEVAL_COUNTS}
        spec = FakeRun("geneval", f"synthetic:model{k}", rates, items_per_category=GENEVAL_COUNTS, samples=4,
                       seed=k, decorate=add_boxes, image_pool=pool)
        make_run(root / f"run{k:02d}", spec)
        dirs.append(root / f"run{k:02d}")
    return dirs


def bare_read(dirs: list[Path]) -> float:
    """Seconds to parse every results.json and rows.jsonl: what any report must at least do."""
    start = time.perf_counter()
    for run in dirs:
        load_results(run)
        with (run / "rows.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                json.loads(line)
    return time.perf_counter() - start


def timed(module: object, name: str, spent: dict[str, float]) -> None:
    """Wrap ``module.name`` so the seconds spent inside it accumulate in ``spent[name]``."""
    inner = getattr(module, name)

    def wrapper(*args: object, **kwargs: object) -> object:
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start

    setattr(module, name, wrapper)


def decode_floor(dirs: list[Path], shown: int) -> float:
    """Seconds to merely decode ``shown`` of the images (what any thumbnail page must at least do)."""
    from PIL import Image

    every = [p for run in dirs for p in sorted((run / "images").rglob("*.png"))]
    paths = every[:: max(1, len(every) // max(1, shown))][:shown]
    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as img:
            img.convert("RGB")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--side", type=int, default=512, help="image side in pixels (GenEval renders 512)")
    parser.add_argument("--keep", type=Path, default=None, help="fabricate into (and keep) this directory")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="genlens-bench-report-"))
    try:
        start = time.perf_counter()
        dirs = fabricate(root, args.runs, args.side)
        images = sum(1 for run in dirs for _ in (run / "images").rglob("*.png"))
        full_bytes = sum(p.stat().st_size for run in dirs for p in (run / "images").rglob("*.png"))
        print(f"fabricated {len(dirs)} runs, {images} images of {args.side}x{args.side} (hard links) in {time.perf_counter() - start:.1f}s (not counted)")
        floor = bare_read(dirs)
        out = root / "report.html"
        from genlens.report import fmt_html

        spent: dict[str, float] = {}
        timed(fmt_html, "fill_tiles", spent)
        timed(fmt_html, "compare_runs", spent)
        timed(fmt_html, "page_figures", spent)
        start = time.perf_counter()
        render(dirs, "html", out)
        build = time.perf_counter() - start
        size = out.stat().st_size
        naive = full_bytes * 4 / 3  # every full image inlined as base64
        page = out.read_text(encoding="utf-8")
        thumbs = page.count("data:image/webp;base64,")
        aligned = page.count('class="aligned-row"')
        print(f"html build: {build:.2f}s for {images} images ({thumbs} thumbnails, {aligned} item rows aligned across runs, "
              f"{len(dirs) * (len(dirs) - 1) // 2} paired comparisons)")
        print(f"page size: {size / 1e6:.2f} MB (figures inline as SVG plus SVG and PDF downloads as data URIs: "
              f"{sum(len(m) for m in re.findall(r'data:(?:image/svg[+]xml|application/pdf);base64,[A-Za-z0-9+/=]+', page)) / 1e6:.2f} MB)")
        print(f"  of which thumbnails {spent['fill_tiles']:.2f}s, paired comparisons {spent['compare_runs']:.2f}s, "
              f"figures (matplotlib) {spent['page_figures']:.2f}s")
        decode = decode_floor(dirs, thumbs)
        print(f"thumbnails vs bare decode of the same number of images ({decode:.2f}s, one thread): "
              f"{spent['fill_tiles'] / decode:.2f}x")
        print(f"build vs bare read of results+rows ({floor:.2f}s): {build / floor:.1f}x")
        print(f"page vs naive all-images-inlined page ({naive / 1e6:.0f} MB): {naive / size:.0f}x smaller")
        print(f"targets: build < 30 s -> {'ok' if build < 30 else 'MISSED'}; page < 50 MB -> {'ok' if size < 50e6 else 'MISSED'}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    from _machine import print_machine

    print_machine("start")
    main()
    print_machine("end")
