"""``genlens detect``: every requested detector on a run's images vs a folder of real photos -> ``detect.json``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genlens.errors import InputError
from genlens.forensics.detectors import DEFAULT_FOLDS, DetectorReport, LabelledImages, evaluate, make_detector
from genlens.forensics.metrics import json_safe
from genlens.forensics.normalise import FormatRule, choose_rule
from genlens.forensics.robustness import DESCRIPTIONS, PERTURBATIONS
from genlens.forensics.sources import MIN_SIDE, folder_images, image_info, run_images, too_small
from genlens.imageio import atomic_write_text

DETECT_JSON = "detect.json"


@dataclass
class DetectOptions:
    """What ``genlens detect`` was asked for."""

    detectors: Sequence[str] = ("builtin",)
    robustness: bool = False
    max_crop: int = 512
    format_rule: FormatRule = "auto"
    jpeg_quality: int = 95
    folds: int = DEFAULT_FOLDS
    resamples: int = 1000
    workers: int = 1


def build_images(run_dir: Path, real_dir: Path, opts: DetectOptions) -> LabelledImages:
    """The run's images (label 1, grouped by prompt) and the real photos (label 0, one group each)."""
    fakes = run_images(run_dir)
    if not fakes:
        raise InputError("the run has no finished images", path=run_dir, fix="run `genlens run`/`genlens generate` first")
    reals = folder_images(real_dir)
    real_infos, fake_infos = [image_info(p) for p in reals], [image_info(f.path) for f in fakes]
    skipped = {"real": sum(map(too_small, real_infos)), "generated": sum(map(too_small, fake_infos))}
    reals = [p for p, info in zip(reals, real_infos, strict=True) if not too_small(info)]
    fakes = [f for f, info in zip(fakes, fake_infos, strict=True) if not too_small(info)]
    for kept, where, side in ((reals, real_dir, "real"), (fakes, run_dir, "generated")):
        if not kept:
            raise InputError(f"every {side} image is smaller than {MIN_SIDE} px on a side", path=where,
                             fix=f"give images at least {MIN_SIDE}x{MIN_SIDE} px")
    rule = choose_rule([i for i in real_infos if not too_small(i)], [i for i in fake_infos if not too_small(i)],
                       max_crop=opts.max_crop, format_rule=opts.format_rule, jpeg_quality=opts.jpeg_quality)
    paths = [*reals, *(f.path for f in fakes)]
    labels = np.r_[np.zeros(len(reals)), np.ones(len(fakes))].astype(np.int64)
    groups = [f"real:{p}" for p in reals] + [f"prompt:{f.prompt}" for f in fakes]
    return LabelledImages(paths, labels, groups, rule, skipped)


def run_detect(run_dir: Path, real_dir: Path, opts: DetectOptions,
               progress: Callable[[int], None] | None = None, data: LabelledImages | None = None) -> dict[str, Any]:
    """Evaluate every detector, write ``detect.json`` into the run, and return its content."""
    data = data or build_images(run_dir, real_dir, opts)
    perturbations = tuple(PERTURBATIONS) if opts.robustness else ()
    detectors = [make_detector(spec) for spec in opts.detectors]
    for detector in detectors:  # load every checkpoint first: a bad one fails before any work is done
        if callable(getattr(detector, "load", None)):
            detector.load()
    reports: list[DetectorReport] = [
        evaluate(d, data, perturbations=perturbations, folds=opts.folds, resamples=opts.resamples, progress=progress,
                 workers=opts.workers)
        for d in detectors
    ]
    result = {
        "run": str(run_dir),
        "real_dir": str(real_dir),
        "n_real": int((data.labels == 0).sum()),
        "n_generated": int((data.labels == 1).sum()),
        "normalisation": data.rule.describe(),
        "normalisation_rule": data.rule.to_json(),
        "skipped_small": {"min_side": MIN_SIDE, **data.skipped_small},
        "threshold": 0.5,
        "perturbations": {p: DESCRIPTIONS[p] for p in perturbations},
        "detectors": [r.to_json() for r in reports],
        "scores": {
            "images": [str(p.relative_to(run_dir)) if p.is_relative_to(run_dir) else str(p) for p in data.paths],
            "labels": data.labels.tolist(),
            **{r.name: [round(s, 6) for s in r.scores] for r in reports},
        },
    }
    result = json_safe(result)
    atomic_write_text(run_dir / DETECT_JSON, json.dumps(result, indent=2, allow_nan=False))
    return result


def units_of_work(data_count: int, opts: DetectOptions) -> int:
    """Images to process (for a progress bar): each detector sees every image once per variant."""
    variants = 1 + (len(PERTURBATIONS) if opts.robustness else 0)
    return data_count * variants * len(opts.detectors)
