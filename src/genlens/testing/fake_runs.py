"""Fabricated run directories that follow the results.json / rows.jsonl contract (for report tests and bench)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from genlens.runs.engine import ROWS_JSONL
from genlens.runs.rundir import RESULTS_JSON, RunSpec, write_run_json


@dataclass
class FakeRun:
    """What a fabricated run holds; ``rates`` is the pass rate (or mean score) wanted per category."""

    suite: str
    model: str
    rates: dict[str, float]
    items_per_category: int | dict[str, int] = 4  # one count for all, or per category
    samples: int = 1
    kind: str = "binary"  # "binary" (passed) | "continuous" (score)
    headline: str = "overall"
    headline_rule: str = "mean_of_categories"  # or "pooled"
    seed: int = 0
    image_size: tuple[int, int] = (64, 64)
    decorate: Callable[[dict[str, Any], np.random.Generator], None] | None = None  # adds boxes/text/judge/values
    extra: dict[str, Any] = field(default_factory=dict)
    side_files: dict[str, Any] = field(default_factory=dict)  # e.g. {"detect.json": {...}}
    item_prefix: str = "item"
    image_pool: list[Path] = field(default_factory=list)  # hard-link these (cycled) instead of drawing images
    provenance: dict[str, Any] = field(default_factory=dict)  # merged into results.json's provenance (judge, scorers, caveat …)
    cost: dict[str, Any] | None = None  # results.json's cost block (as genlens.runs.cost.cost_summary writes it)


def _image(path: Path, size: tuple[int, int], rng: np.random.Generator, passed: bool) -> None:
    base = tuple(int(v) for v in rng.integers(40, 220, 3))
    img = Image.new("RGB", size, base)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse([w // 4, h // 4, 3 * w // 4, 3 * h // 4], fill=(30, 160, 60) if passed else (200, 40, 40))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, compress_level=1)


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another filesystem: copy
        shutil.copyfile(source, target)


def _rows(spec: FakeRun, run_dir: Path, rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    for category, rate in spec.rates.items():
        count = spec.items_per_category if isinstance(spec.items_per_category, int) else spec.items_per_category[category]
        n = count * spec.samples
        wanted = round(rate * n)
        outcomes = np.array([1] * wanted + [0] * (n - wanted))
        rng.shuffle(outcomes)
        for index in range(count):
            for sample in range(spec.samples):
                k = index * spec.samples + sample
                item = f"{spec.item_prefix}-{category}-{index:04d}"
                image = f"images/{item}/{sample}.png"
                passed = bool(outcomes[k])
                if spec.image_pool:
                    _link(spec.image_pool[len(rows) % len(spec.image_pool)], run_dir / image)
                else:
                    _image(run_dir / image, spec.image_size, rng, passed)
                row: dict[str, Any] = {"item": item, "sample": sample, "category": category,
                                       "prompt": f"a photo for {category} number {index}", "image": image, "status": "ok"}
                if spec.kind == "binary":
                    row.update(passed=passed, reason="ok" if passed else f"missing object in {category}")
                else:
                    row.update(passed=None, score=round(float(np.clip(rate + rng.normal(0, 0.15), 0, 1)), 4),
                               reason="judged")
                if spec.decorate:
                    spec.decorate(row, rng)
                rows.append(row)
    return rows


def results_for(spec: FakeRun, rows: list[dict[str, Any]], run_name: str) -> dict[str, Any]:
    """results.json consistent with ``rows``: category means, headline by ``headline_rule``."""
    key = "passed" if spec.kind == "binary" else "score"
    metric = "accuracy" if spec.kind == "binary" else "mean_score"
    categories = {}
    for category in spec.rates:
        values = [float(r[key]) for r in rows if r["category"] == category]
        categories[category] = {metric: float(np.mean(values)), "n": len(values)}
    pooled = float(np.mean([float(r[key]) for r in rows]))
    head = float(np.mean([c[metric] for c in categories.values()])) if spec.headline_rule == "mean_of_categories" else pooled
    return {
        "suite": spec.suite, "suite_version": "1", "title": f"{spec.suite} (fabricated)", "model": spec.model,
        "run": run_name, "genlens_version": "test", "headline": {spec.headline: head},
        "metrics": {f"pooled_{metric}": pooled}, "categories": categories,
        "counts": {"generations_ok": len(rows), "images_scored": len(rows)},
        "intervals": {spec.headline: [max(0.0, head - 0.1), min(1.0, head + 0.1)]},
        "extra": spec.extra, "provenance": {"fabricated": True, **spec.provenance}, "samples": spec.samples, "seed": spec.seed,
        **({"cost": spec.cost} if spec.cost is not None else {}),
    }


def make_run(run_dir: Path, spec: FakeRun) -> dict[str, Any]:
    """Write run.json, images, rows.jsonl, results.json (and side files); return the results dict."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_run_json(run_dir, RunSpec(suite=spec.suite, suite_version="1", model=spec.model, samples=spec.samples, seed=spec.seed))
    rng = np.random.default_rng(spec.seed)
    rows = _rows(spec, run_dir, rng)
    results = results_for(spec, rows, run_dir.name)
    (run_dir / ROWS_JSONL).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (run_dir / RESULTS_JSON).write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    for name, data in spec.side_files.items():
        (run_dir / name).write_text(json.dumps(data), encoding="utf-8")
    return results
