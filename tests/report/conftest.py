"""Fixture runs for report tests: GenEval-like (boxes), WISE-like (judge), OCR, diagnostics, detect/probe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from genlens.testing.fake_runs import FakeRun, make_run

INJECTED_PROMPT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
GENEVAL_TAGS = ("single_object", "two_object", "counting", "colors", "position", "color_attr")
WISE_CATEGORIES = ("cultural", "time", "space", "biology", "physics", "chemistry")


def add_boxes(row: dict[str, Any], rng: np.random.Generator) -> None:
    """GenEval-style detections in original pixel coordinates (images are 64×64)."""
    row["boxes"] = [{"box": [4, 4, 40, 40], "label": "dog", "score": 0.91, "color": "brown"},
                    {"box": [30, 30, 60, 60], "label": "cat", "score": 0.55, "color": "black"}]


def add_judge(row: dict[str, Any], rng: np.random.Generator) -> None:
    row["judge"] = {"raw": "Consistency 2: the image shows it. </pre><script>window.__pwned = 3</script>",
                    "scores": {"consistency": 2, "realism": 1, "aesthetic": 1}, "template": "abc123"}


def add_text(row: dict[str, Any], rng: np.random.Generator) -> None:
    row["text"] = {"expected": "OPEN 24 HOURS", "read": "OPEN 24 HOURS" if row["passed"] else "0PEN 2A H0URS"}
    row["values"] = {"cer": 0.0 if row["passed"] else 0.38}


def build_runs(root: Path) -> dict[str, Path]:
    """Two GenEval runs (different models, same items), one WISE run, one OCR-like run with curves,
    detectors and a probe. The first GenEval row carries an injected-script prompt."""
    runs = {
        "geneval_a": FakeRun("geneval", "synthetic:gradient", dict(zip(GENEVAL_TAGS, (1.0, 0.75, 0.5, 0.75, 0.25, 0.5), strict=True)),
                             decorate=add_boxes, seed=1),
        "geneval_b": FakeRun("geneval", "synthetic:noise", dict(zip(GENEVAL_TAGS, (0.75, 0.5, 0.25, 1.0, 0.0, 0.25), strict=True)),
                             decorate=add_boxes, seed=2),
        "wise_a": FakeRun("wise", "synthetic:gradient", dict(zip(WISE_CATEGORIES, (0.6, 0.5, 0.7, 0.4, 0.5, 0.3), strict=True)),
                          kind="continuous", decorate=add_judge, seed=3, items_per_category=3),
        "ocr_a": FakeRun("diag-text", "synthetic:gradient", {"short": 0.75, "long": 0.25, "chinese": 0.5},
                         decorate=add_text, seed=4, headline="exact_rate", headline_rule="pooled",
                         extra={"curves": {"consistency": {"rounds": [1, 2, 3, 4], "values": [0.9, 0.8, 0.62, 0.5]}}},
                         side_files={
                             "detect.json": {"n_real": 20, "n_generated": 12, "normalisation": "both sides resized to 256 px <b>",
                                             "perturbations": {"jpeg-75": "JPEG quality 75"}, "detectors": {
                                 "fft-peaks": {"metrics": {"auc": 0.91, "accuracy": 0.84}, "intervals": {"auc": [0.85, 0.95]},
                                               "roc": {"fpr": [0, 0.1, 0.3, 1], "tpr": [0, 0.6, 0.9, 1]},
                                               "robustness": {"jpeg-75": {"auc": 0.8}, "resize-0.5": {"auc": 0.7}}},
                                 "<b>evil</b>": {"metrics": {"auc": 0.5}, "roc": {"fpr": [0, 1], "tpr": [0, 1]}}}},
                             "probe.json": {"classes": ["diffusion", "autoregressive"],
                                            "distribution": {"diffusion": 0.7, "autoregressive": 0.3},
                                            "heldout": {"accuracy": 0.91, "interval": [0.85, 0.95], "n_images": 40,
                                                        "protocol": "prompt-grouped 5-fold"},
                                            "histogram": {"bins": [0, 0.25, 0.5, 0.75, 1.0],
                                                          "counts": {"diffusion": [1, 2, 3, 8], "autoregressive": [5, 3, 1, 1]}}}}),
    }
    dirs = {}
    for name, spec in runs.items():
        run_dir = root / name
        make_run(run_dir, spec)
        dirs[name] = run_dir
    _inject(dirs["geneval_a"])
    return dirs


def _inject(run_dir: Path) -> None:
    """Give the first row a hostile prompt and reason, and an image file name that needs escaping."""
    path = run_dir / "rows.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    first = rows[0]
    first["prompt"] = INJECTED_PROMPT
    first["reason"] = "<script>window.__pwned = 4</script>"
    odd = "images/odd name #1 <x>&'/0.png"
    (run_dir / odd).parent.mkdir(parents=True, exist_ok=True)
    (run_dir / first["image"]).rename(run_dir / odd)
    first["image"] = odd
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture(scope="session")
def fixture_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_runs(tmp_path_factory.mktemp("report_runs"))
