"""Small statistics shared by suites: bootstrap and Wilson intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np


def mean_or_none(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def bootstrap_ci(
    values: Sequence[float], *, statistic: Callable[[np.ndarray], float] = np.mean, resamples: int = 2000,
    confidence: float = 0.95, seed: int = 0,
) -> list[float] | None:
    """Percentile bootstrap interval of ``statistic`` over ``values`` (None for no data)."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, data.size, size=(resamples, data.size))
    stats = np.apply_along_axis(statistic, 1, data[idx]) if statistic is not np.mean else data[idx].mean(axis=1)
    alpha = (1 - confidence) / 2
    return [float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))]


def wilson_interval(successes: int, total: int, z: float = 1.959964) -> list[float] | None:
    """Wilson score interval for a proportion (sensible at 0% and 100%, unlike the normal one)."""
    if total == 0:
        return None
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return [max(0.0, centre - half), min(1.0, centre + half)]
