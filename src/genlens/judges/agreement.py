"""How well two judges agree on the same images: Spearman ρ, Cohen's κ (plain and quadratic-weighted)
and mean absolute difference, with paired bootstrap intervals.

``genlens judges agree RUN --judges A,B`` re-judges a seeded sample of the run's images with both
judges (answers already in the judge cache cost nothing) and compares their parsed scores per
criterion, over the images both judges answered readably. The statistics come from scipy and
scikit-learn; the tests check them against hand-computed values.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genlens.errors import SpecError
from genlens.judges.scorer import read_judge_choice
from genlens.runs.engine import locked_run, open_suite_for_run
from genlens.runs.rundir import load_run
from genlens.stats import MIN_BOOTSTRAP_UNITS, too_few_units
from genlens.suites.base import ScoreContext
from genlens.types import ScoreInput


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they span (``scipy.stats.rankdata``)."""
    from scipy.stats import rankdata

    return rankdata(np.asarray(values, dtype=float), method="average")


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's ρ (``scipy.stats.spearmanr``); None when undefined (n < 2 or a constant side)."""
    from scipy.stats import spearmanr

    if len(x) != len(y) or len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return float(spearmanr(np.asarray(x, float), np.asarray(y, float)).statistic)


def cohen_kappa(a: Sequence[int], b: Sequence[int], weights: str | None = None) -> float | None:
    """Cohen's κ (``sklearn.metrics.cohen_kappa_score``); ``weights="quadratic"`` for ordinal scales.

    None when undefined: no pairs, or chance agreement is already perfect (both raters constant and equal).
    """
    from sklearn.metrics import cohen_kappa_score

    if len(a) != len(b) or not len(a):
        return None
    labels = sorted(set(a) | set(b))
    if len(labels) < 2:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(cohen_kappa_score(list(a), list(b), labels=labels, weights=weights))
    return value if np.isfinite(value) else None


def mean_abs_diff(a: Sequence[float], b: Sequence[float]) -> float | None:
    return float(np.abs(np.asarray(a, float) - np.asarray(b, float)).mean()) if len(a) else None


def paired_interval(first: Sequence[float], second: Sequence[float], statistic: Any, *, resamples: int = 1000,
                    seed: int = 0) -> list[float] | None:
    """95% percentile bootstrap interval of ``statistic(first, second)`` resampling image pairs
    (``scipy.stats.bootstrap(paired=True)``); None below :data:`MIN_BOOTSTRAP_UNITS` pairs or when
    the statistic is undefined in the resamples (e.g. a judge that always gives the same score)."""
    from scipy.stats import bootstrap

    if len(first) < MIN_BOOTSTRAP_UNITS:
        return None

    def stat(x: np.ndarray, y: np.ndarray) -> float:
        value = statistic(x.tolist(), y.tolist())
        return float("nan") if value is None else float(value)

    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = bootstrap((np.asarray(first, float), np.asarray(second, float)), stat, paired=True, vectorized=False,
                           n_resamples=resamples, method="percentile", rng=np.random.default_rng(seed))
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return [low, high] if np.isfinite(low) and np.isfinite(high) else None


def compare(first: Sequence[float], second: Sequence[float], *, categorical: bool = True,
            intervals: bool = True) -> dict[str, Any]:
    """n, Spearman ρ, Cohen's κ and quadratic-weighted κ (for categorical, ordinal scores), mean |difference|,
    exact-agreement rate, and 95% paired bootstrap intervals of ρ, κ and κ_w (``intervals``), or why not."""
    out: dict[str, Any] = {"n": len(first), "spearman": spearman(first, second), "mad": mean_abs_diff(first, second),
                           "exact": float(np.mean(np.asarray(first) == np.asarray(second))) if len(first) else None}
    statistics: dict[str, Any] = {"spearman": spearman}
    if categorical:
        ints_a, ints_b = [int(v) for v in first], [int(v) for v in second]
        out["kappa"] = cohen_kappa(ints_a, ints_b)
        out["kappa_quadratic"] = cohen_kappa(ints_a, ints_b, weights="quadratic")
        statistics["kappa"] = lambda x, y: cohen_kappa([int(v) for v in x], [int(v) for v in y])
        statistics["kappa_quadratic"] = lambda x, y: cohen_kappa([int(v) for v in x], [int(v) for v in y], "quadratic")
    if intervals:
        reason = too_few_units(len(first), "image pairs")
        out["intervals"] = {} if reason else {name: paired_interval(first, second, fn) for name, fn in statistics.items()}
        if reason:
            out["intervals_note"] = reason
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
          scorer_args: dict[str, Any] | None = None, judge_prompt: Path | None = None,
          judge_args: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Re-judge a sample of ``run_dir``'s images with each judge and report their agreement.

    ``scorer_args`` reach both judges; ``judge_args`` {"A": {...}, "B": {...}} reach one (and win),
    e.g. a different ``base_url`` for each.
    """
    if len(judges) != 2:
        raise SpecError(f"--judges takes two judge specs, got {len(judges)}", fix="e.g. --judges openai:gpt-4o-2024-05-13,local:DIR")
    unknown = sorted(set(judge_args or {}) - {"A", "B"})
    if unknown:
        raise SpecError(f"--judge-arg names judge {unknown[0]!r}", fix="prefix each with A: or B: (the first or second of --judges)")
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
        for side, spec in zip("AB", judges, strict=True):
            own = {**(scorer_args or {}), **(judge_args or {}).get(side, {})}
            ctx = ScoreContext(run_dir=Path(scratch), judge=spec, judge_prompt=prompt, data_dir=base_ctx.data_dir,
                               concurrency=concurrency, suite_args=dict(suite.suite_args), scorer_args=own)
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
