"""Small statistics shared by suites: bootstrap and Wilson intervals (scipy underneath).

An interval needs enough independent units to mean anything: below :data:`MIN_BOOTSTRAP_UNITS`
units (images, or prompts for a cluster bootstrap) :func:`bootstrap_ci` returns None and
:func:`too_few_units` says why, so no report prints an interval that carries no information.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: Fewer independent units (images, prompts) than this and a bootstrap interval is not computed.
MIN_BOOTSTRAP_UNITS = 10


def mean_or_none(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def too_few_units(n: int, what: str = "images") -> str | None:
    """Why no bootstrap interval is given for ``n`` units, or None when there are enough."""
    if n >= MIN_BOOTSTRAP_UNITS:
        return None
    return f"no interval: {n} {what} (a bootstrap needs at least {MIN_BOOTSTRAP_UNITS} to say anything)"


def bootstrap_ci(
    values: Sequence[float], *, statistic: Callable[[np.ndarray], float] = np.mean, resamples: int = 2000,
    confidence: float = 0.95, seed: int = 0,
) -> list[float] | None:
    """Percentile bootstrap interval of ``statistic`` over ``values`` (``scipy.stats.bootstrap``).

    None for fewer than :data:`MIN_BOOTSTRAP_UNITS` values; a constant sample gives the point
    interval [v, v] (every resample has the same statistic).
    """
    from scipy.stats import bootstrap

    data = np.asarray(values, dtype=float)
    if data.size < MIN_BOOTSTRAP_UNITS:
        return None
    if np.all(data == data[0]):
        value = float(statistic(data))
        return [value, value]
    vectorised = statistic is np.mean
    result = bootstrap((data,), (lambda x, axis=-1: np.mean(x, axis=axis)) if vectorised else statistic,
                       n_resamples=resamples, confidence_level=confidence, method="percentile", vectorized=vectorised,
                       rng=np.random.default_rng(seed))
    return [float(result.confidence_interval.low), float(result.confidence_interval.high)]


def wilson_interval(successes: int, total: int, confidence: float = 0.95) -> list[float] | None:
    """Wilson score interval for a proportion (``scipy.stats.binomtest``; sensible at 0% and 100%)."""
    from scipy.stats import binomtest

    if total == 0:
        return None
    ci = binomtest(successes, total).proportion_ci(confidence_level=confidence, method="wilson")
    return [max(0.0, float(ci.low)), min(1.0, float(ci.high))]
