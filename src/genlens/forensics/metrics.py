"""Detection metrics on (label, score) pairs: accuracy, balanced accuracy, AUC, AP, TPR at 1% FPR.

Labels are 1 for synthetic (the positive class) and 0 for real; scores are the detector's
probability (or any monotone score) of "synthetic". Thresholded metrics use ``score >= 0.5``.
The ranking metrics are scikit-learn's: AUC counts ties as half, AP is the step-wise sum
``Σ (R_n − R_{n−1}) P_n`` over distinct thresholds, and TPR at a given FPR is the highest TPR among
ROC points whose FPR does not exceed it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from genlens.stats import MIN_BOOTSTRAP_UNITS

METRIC_NAMES = ("accuracy", "balanced_accuracy", "auc", "ap", "tpr_at_1pct_fpr")


def _arrays(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} differ in shape")
    return y, s


def accuracy(labels: Sequence[int], scores: Sequence[float], threshold: float = 0.5) -> float:
    """Share of images whose thresholded verdict equals the label."""
    y, s = _arrays(labels, scores)
    return float(np.mean((s >= threshold).astype(np.int64) == y)) if y.size else float("nan")


def balanced_accuracy(labels: Sequence[int], scores: Sequence[float], threshold: float = 0.5) -> float:
    """Mean of the true-positive and true-negative rates (``sklearn.metrics.balanced_accuracy_score``); NaN with one class."""
    from sklearn.metrics import balanced_accuracy_score

    y, s = _arrays(labels, scores)
    if not _both_classes(y):
        return float("nan")
    return float(balanced_accuracy_score(y, (s >= threshold).astype(np.int64)))


def _both_classes(y: np.ndarray) -> bool:
    return bool(np.any(y == 1) and np.any(y == 0))


def roc_curve(labels: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) at every distinct score, from (0, 0) at threshold +inf
    (``sklearn.metrics.roc_curve``, no points dropped); a missing class's rate is 0."""
    y, s = _arrays(labels, scores)
    if not _both_classes(y):
        return _np_roc_curve(y, s)
    from sklearn.metrics import roc_curve as sk_roc_curve

    fpr, tpr, thresholds = sk_roc_curve(y, s, drop_intermediate=False)
    return fpr.astype(np.float64), tpr.astype(np.float64), thresholds.astype(np.float64)


def auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve = P(score of a random fake > score of a random real), ties count ½
    (``sklearn.metrics.roc_auc_score``); NaN with one class."""
    from sklearn.metrics import roc_auc_score

    y, s = _arrays(labels, scores)
    return float(roc_auc_score(y, s)) if _both_classes(y) else float("nan")


def average_precision(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Σ over distinct thresholds of (recall gain) × precision (``sklearn.metrics.average_precision_score``)."""
    from sklearn.metrics import average_precision_score

    y, s = _arrays(labels, scores)
    if not np.any(y == 1):
        return float("nan")
    return float(average_precision_score(y, s))


def tpr_at_fpr(labels: Sequence[int], scores: Sequence[float], max_fpr: float = 0.01) -> float:
    """The highest TPR among ROC points with FPR <= ``max_fpr`` (0 when none but the origin)."""
    y, s = _arrays(labels, scores)
    if not _both_classes(y):
        return float("nan")
    fpr, tpr, _ = roc_curve(y, s)
    return float(tpr[fpr <= max_fpr + 1e-12].max())


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy,
    "balanced_accuracy": balanced_accuracy,
    "auc": auc,
    "ap": average_precision,
    "tpr_at_1pct_fpr": lambda y, s: tpr_at_fpr(y, s, 0.01),
}


def all_metrics(labels: Sequence[int], scores: Sequence[float]) -> dict[str, float]:
    """Every metric in :data:`METRIC_NAMES`."""
    y, s = _arrays(labels, scores)
    return {name: METRICS[name](y, s) for name in METRIC_NAMES}


# -- numpy versions for the bootstrap loop -----------------------------------------------------------
# Kept because each scikit-learn call validates its input (measured ~20x the cost of these), and the
# bootstrap makes resamples × 5 of them; tests/forensics/test_metrics.py checks they equal scikit-learn.
def _np_roc_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    distinct = np.r_[np.nonzero(np.diff(s_sorted))[0], y.size - 1]  # last index of each score value
    tps = np.cumsum(y_sorted)[distinct]
    fps = (distinct + 1) - tps
    positives, negatives = max(int(y.sum()), 1), max(int((1 - y).sum()), 1)
    return np.r_[0.0, fps / negatives], np.r_[0.0, tps / positives], np.r_[np.inf, s_sorted[distinct]]


def _np_metrics(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    """All of :data:`METRIC_NAMES` on a resample that holds both classes (the bootstrap guarantees it)."""
    predicted = s >= 0.5
    fpr, tpr, _ = _np_roc_curve(y, s)
    order = np.argsort(-s, kind="mergesort")
    distinct = np.r_[np.nonzero(np.diff(s[order]))[0], y.size - 1]
    tps = np.cumsum(y[order])[distinct]
    precision, recall = tps / (distinct + 1), tps / tps[-1]
    return {
        "accuracy": float(np.mean(predicted.astype(np.int64) == y)),
        "balanced_accuracy": float((np.mean(predicted[y == 1]) + np.mean(~predicted[y == 0])) / 2),
        "auc": float(np.trapezoid(tpr, fpr)),
        "ap": float(np.sum(np.diff(np.r_[0.0, recall]) * precision)),
        "tpr_at_1pct_fpr": float(tpr[fpr <= 0.01 + 1e-12].max()),
    }


def bootstrap_intervals(
    labels: Sequence[int], scores: Sequence[float], *, groups: Sequence[Any] | None = None, resamples: int = 1000,
    confidence: float = 0.95, seed: int = 0,
) -> dict[str, list[float]]:
    """Percentile bootstrap intervals of every metric, resampling whole groups within each class.

    ``groups`` (e.g. the prompt of each generated image) makes each replicate draw groups, not
    images: images of one prompt are correlated, so resampling them one by one would understate the
    spread. Without groups every image is its own group. Resampling within each class keeps both
    classes present in every replicate, so AUC and AP are always defined; the seed makes the
    intervals reproducible.
    """
    y, s = _arrays(labels, scores)
    group_ids = np.arange(y.size) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    if group_ids.shape != y.shape:
        raise ValueError(f"groups {group_ids.shape} and labels {y.shape} differ in shape")
    by_class = [_members_by_group(np.nonzero(y == c)[0], group_ids) for c in (0, 1)]
    if any(len(members) < MIN_BOOTSTRAP_UNITS for members in by_class):
        return {}  # see interval_note(): too few groups in a class for an interval to mean anything
    # Own loop, not scipy.stats.bootstrap: it resamples whole groups (clusters) within each class, which
    # scipy's bootstrap (independent observations, or paired samples of equal length) cannot express.
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {name: [] for name in METRIC_NAMES}
    for _ in range(resamples):
        pick = np.concatenate([members[j] for members in by_class for j in rng.integers(0, len(members), len(members))])
        for name, value in _np_metrics(y[pick], s[pick]).items():
            samples[name].append(value)
    alpha = (1 - confidence) / 2
    return {name: [float(np.nanquantile(v, alpha)), float(np.nanquantile(v, 1 - alpha))] for name, v in samples.items()}


def interval_note(labels: Sequence[int], groups: Sequence[Any] | None = None) -> str | None:
    """Why :func:`bootstrap_intervals` gives none (fewer than 10 groups in a class), or None."""
    y = np.asarray(labels)
    g = np.arange(y.size) if groups is None else np.asarray(groups)
    counts = {name: len(set(g[y == c].tolist())) for name, c in (("real", 0), ("generated", 1))}
    short = {name: n for name, n in counts.items() if n < MIN_BOOTSTRAP_UNITS}
    if not short:
        return None
    what = ", ".join(f"{n} {name}" for name, n in short.items())
    return (f"no intervals: {what} {'group' if groups is not None else 'image'}s "
            f"(a bootstrap needs at least {MIN_BOOTSTRAP_UNITS} per class to say anything)")


def _members_by_group(indices: np.ndarray, group_ids: np.ndarray) -> list[np.ndarray]:
    """``indices`` split by group id (one array of image indices per group present)."""
    if indices.size == 0:
        return []
    order = indices[np.argsort(group_ids[indices], kind="mergesort")]
    cuts = np.nonzero(np.diff(group_ids[order]))[0] + 1
    return np.split(order, cuts)


def roc_points(labels: Sequence[int], scores: Sequence[float], max_points: int = 200) -> dict[str, list[float]]:
    """The ROC curve for plotting, thinned to at most ``max_points`` points (ends kept)."""
    fpr, tpr, _ = roc_curve(labels, scores)
    if fpr.size > max_points:
        keep = np.unique(np.linspace(0, fpr.size - 1, max_points).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {"fpr": [round(float(v), 6) for v in fpr], "tpr": [round(float(v), 6) for v in tpr]}


def json_safe(value: Any) -> Any:
    """NaN/inf (an undefined metric, e.g. AUC with one class) become null so browsers can read the file."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
