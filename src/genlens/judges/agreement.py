"""How well two judges agree on the same images: Spearman ρ, Cohen's κ and mean absolute difference.

``genlens judges agree RUN --judges A,B`` re-judges a seeded sample of the run's images with both
judges (answers already in the judge cache cost nothing) and compares their parsed scores per
criterion, over the images both judges answered readably. The statistics are written out here,
small and checked against hand-computed values in the tests.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genlens.errors import SpecError
from genlens.judges.scorer import read_judge_choice
from genlens.runs.engine import locked_run, open_suite_for_run
from genlens.runs.rundir import load_run
from genlens.suites.base import ScoreContext
from genlens.types import ScoreInput


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they span."""
    data = np.asarray(values, dtype=float)
    order = np.argsort(data, kind="mergesort")
    ranks = np.empty(len(data), dtype=float)
    sorted_values = data[order]
    start = 0
    while start < len(data):
        end = start
        while end + 1 < len(data) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's ρ: Pearson correlation of average ranks; None when undefined (n < 2 or a constant side)."""
    if len(x) != len(y) or len(x) < 2:
        return None
    rx, ry = average_ranks(x), average_ranks(y)
    dx, dy = rx - rx.mean(), ry - ry.mean()
    denominator = float(np.sqrt((dx * dx).sum() * (dy * dy).sum()))
    return None if denominator == 0 else float((dx * dy).sum() / denominator)


def cohen_kappa(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Cohen's κ = (p_o − p_e) / (1 − p_e) with p_e from each rater's marginals; None when p_e = 1."""
    if len(a) != len(b) or not a:
        return None
    xa, xb = np.asarray(a), np.asarray(b)
    observed = float((xa == xb).mean())
    expected = sum(float((xa == c).mean()) * float((xb == c).mean()) for c in set(a) | set(b))
    return None if expected >= 1.0 else (observed - expected) / (1.0 - expected)


def mean_abs_diff(a: Sequence[float], b: Sequence[float]) -> float | None:
    return float(np.abs(np.asarray(a, float) - np.asarray(b, float)).mean()) if len(a) else None


def compare(first: Sequence[float], second: Sequence[float], *, categorical: bool = True) -> dict[str, Any]:
    """n, Spearman ρ, Cohen's κ (for categorical scores), mean |difference| and exact-agreement rate."""
    out: dict[str, Any] = {"n": len(first), "spearman": spearman(first, second), "mad": mean_abs_diff(first, second),
                           "exact": float(np.mean(np.asarray(first) == np.asarray(second))) if len(first) else None}
    if categorical:
        out["kappa"] = cohen_kappa([int(v) for v in first], [int(v) for v in second])
    return out


# -- re-judging a run's sample ---------------------------------------------------------------------
def _sample(generations: list[Any], size: int | None, seed: int) -> list[Any]:
    if size is None or size >= len(generations):
        return generations
    chosen = random.Random(seed).sample(range(len(generations)), size)
    return [generations[i] for i in sorted(chosen)]


async def _judge_all(scorer: Any, inputs: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
    size = max(1, scorer.batch_size)
    batches = [inputs[i:i + size] for i in range(0, len(inputs), size)]
    gate = asyncio.Semaphore(max(1, scorer.concurrency))

    async def one(batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        async with gate:
            return await scorer.score_batch(batch)

    try:
        results = await asyncio.gather(*(one(b) for b in batches))
    finally:
        await scorer.judge.aclose()
    return [r for batch in results for r in batch]


def agree(run_dir: Path, judges: list[str], *, sample: int | None = 50, seed: int = 0, concurrency: int = 4,
          scorer_args: dict[str, Any] | None = None, judge_prompt: Path | None = None) -> dict[str, Any]:
    """Re-judge a sample of ``run_dir``'s images with each judge and report their agreement."""
    if len(judges) != 2:
        raise SpecError(f"--judges takes two judge specs, got {len(judges)}", fix="e.g. --judges openai:gpt-4o-2024-05-13,local:DIR")
    stored = read_judge_choice(run_dir)
    prompt = judge_prompt or (Path(stored["judge_prompt"]) if stored.get("judge_prompt") else None)
    base_ctx = ScoreContext(run_dir=run_dir, concurrency=concurrency)
    load_run(run_dir)  # a missing run is refused before the lock would create its folder
    with locked_run(run_dir) as store:  # nothing is written (scoring.json) before the lock is held
        _data, suite = open_suite_for_run(run_dir, base_ctx)
        items = store.items()
        generations = [g for g in store.generations("ok") if g.item_id in items]
    chosen = _sample(generations, sample, seed)
    inputs = [ScoreInput(items[g.item_id], g, run_dir, base_ctx.data_dir) for g in chosen]
    verdicts: list[list[tuple[str, dict[str, Any]]]] = []
    identities = []
    with tempfile.TemporaryDirectory() as scratch:  # the run's remembered judge stays untouched
        for spec in judges:
            ctx = ScoreContext(run_dir=Path(scratch), judge=spec, judge_prompt=prompt, data_dir=base_ctx.data_dir,
                               concurrency=concurrency, suite_args=dict(suite.suite_args), scorer_args=dict(scorer_args or {}))
            scorer = next((s for s in suite.scorers(ctx) if s.rescoring), None)
            if scorer is None:
                raise SpecError(f"suite {suite.meta.name} is not judged by a VLM", fix="use a run of a judged suite (wise, …)")
            verdicts.append(asyncio.run(_judge_all(scorer, inputs)))
            identities.append({**scorer.judge.identity(), "template": scorer.template.describe()})
    return summarise(suite, chosen, judges, identities, verdicts)


def summarise(suite: Any, chosen: list[Any], judges: list[str], identities: list[dict[str, Any]],
              verdicts: list[list[tuple[str, dict[str, Any]]]]) -> dict[str, Any]:
    both = [(a[1]["scores"], b[1]["scores"]) for a, b in zip(*verdicts, strict=True) if a[0] == "ok" and b[0] == "ok"]
    labels = list(dict.fromkeys(k for pair in both for k in pair[0]))
    criteria = {label: compare([a[label] for a, _ in both], [b[label] for _, b in both]) for label in labels}
    report: dict[str, Any] = {
        "judges": identities, "sample": len(chosen),
        "readable": {spec: sum(1 for status, _ in v if status == "ok") for spec, v in zip(judges, verdicts, strict=True)},
        "both_readable": len(both), "criteria": criteria,
    }
    image_score = getattr(suite, "image_score", None)
    if callable(image_score) and both:
        report["image_score"] = compare([image_score(a) for a, _ in both], [image_score(b) for _, b in both], categorical=False)
        report["mean_image_score"] = {judges[0]: float(np.mean([image_score(a) for a, _ in both])),
                                      judges[1]: float(np.mean([image_score(b) for _, b in both]))}
    return report
