"""Detection metrics against hand-worked values, and against scikit-learn on random data."""

from __future__ import annotations

import numpy as np
import pytest

from genlens.forensics import metrics

# labels: 1 = synthetic. Sorted by score: 0.8 (fake), 0.4 (real), 0.35 (fake), 0.1 (real).
LABELS = [0, 0, 1, 1]
SCORES = [0.1, 0.4, 0.35, 0.8]


def test_auc_counts_winning_pairs():
    # fake/real pairs: 0.35>0.1 win, 0.35<0.4 lose, 0.8>0.1 win, 0.8>0.4 win -> 3/4
    assert metrics.auc(LABELS, SCORES) == pytest.approx(0.75)


def test_auc_counts_ties_as_half():
    # one pair, tied -> 1/2; two fakes vs one real: tie (1/2) + win (1) -> 1.5/2
    assert metrics.auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert metrics.auc([0, 1, 1], [0.5, 0.5, 0.9]) == pytest.approx(0.75)


def test_average_precision_is_stepwise_sum():
    # thresholds: 0.8 -> P=1, R=1/2; 0.4 -> P=1/2, R=1/2 (no gain); 0.35 -> P=2/3, R=1; 0.1 -> R=1 (no gain)
    # AP = 1/2*1 + 1/2*2/3 = 0.8333...
    assert metrics.average_precision(LABELS, SCORES) == pytest.approx(0.5 + 0.5 * 2 / 3)
    # a single tied threshold: P = 1/2 at R = 1
    assert metrics.average_precision([0, 1], [0.3, 0.3]) == pytest.approx(0.5)


def test_accuracy_and_balanced_accuracy_at_half():
    # verdicts (score >= 0.5): [0, 0, 0, 1] vs labels [0, 0, 1, 1] -> 3/4; TPR 1/2, TNR 1 -> 0.75
    assert metrics.accuracy(LABELS, SCORES) == pytest.approx(0.75)
    assert metrics.balanced_accuracy(LABELS, SCORES) == pytest.approx(0.75)
    # unequal classes: 3 fakes (2 caught), 1 real (kept) -> accuracy 3/4, balanced (2/3 + 1)/2 = 5/6
    assert metrics.accuracy([1, 1, 1, 0], [0.9, 0.9, 0.1, 0.2]) == pytest.approx(0.75)
    assert metrics.balanced_accuracy([1, 1, 1, 0], [0.9, 0.9, 0.1, 0.2]) == pytest.approx(5 / 6)


def test_tpr_at_one_percent_fpr():
    # ROC points: (0,0) (0,1/2)@0.8 (1/2,1/2)@0.4 (1/2,1)@0.35 (1,1)@0.1 -> best TPR with FPR <= 1% is 1/2
    assert metrics.tpr_at_fpr(LABELS, SCORES, 0.01) == pytest.approx(0.5)
    # 100 reals, one of which outscores every fake: FPR 1/100 = 1% is allowed -> TPR 1
    labels = [0] * 100 + [1] * 10
    scores = [0.1] * 99 + [0.99] + [0.9] * 10
    assert metrics.tpr_at_fpr(labels, scores, 0.01) == pytest.approx(1.0)
    # two such reals: FPR 2% at the fakes' threshold -> only the origin qualifies -> 0
    scores = [0.1] * 98 + [0.99, 0.99] + [0.9] * 10
    assert metrics.tpr_at_fpr(labels, scores, 0.01) == pytest.approx(0.0)


def test_roc_points_start_at_origin_and_end_at_one():
    points = metrics.roc_points(LABELS, SCORES)
    assert points["fpr"] == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert points["tpr"] == [0.0, 0.5, 0.5, 1.0, 1.0]


def test_agrees_with_scikit_learn_on_random_scores():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) * 0.5 + labels * 0.3, 2)  # rounded: many ties
    assert metrics.auc(labels, scores) == pytest.approx(sk.roc_auc_score(labels, scores))
    assert metrics.average_precision(labels, scores) == pytest.approx(sk.average_precision_score(labels, scores))
    assert metrics.balanced_accuracy(labels, scores) == pytest.approx(sk.balanced_accuracy_score(labels, scores >= 0.5))


def test_bootstrap_intervals_bracket_the_estimate_and_are_reproducible():
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(50), np.ones(50)].astype(int)
    scores = rng.random(100) * 0.6 + labels * 0.4
    first = metrics.bootstrap_intervals(labels, scores, resamples=300, seed=1)
    again = metrics.bootstrap_intervals(labels, scores, resamples=300, seed=1)
    assert first == again
    point = metrics.all_metrics(labels, scores)
    for name in metrics.METRIC_NAMES:
        low, high = first[name]
        assert low <= point[name] + 1e-9 and point[name] <= high + 1e-9, name
    assert metrics.bootstrap_intervals([1, 1], [0.2, 0.9]) == {}  # one class only: no interval


def test_undefined_metrics_become_null_in_json():
    assert np.isnan(metrics.auc([1, 1], [0.2, 0.9]))  # one class: AUC undefined
    assert metrics.json_safe({"auc": float("nan"), "ci": [float("inf"), 0.5], "n": 3}) == {"auc": None, "ci": [None, 0.5], "n": 3}


def test_bootstrap_resamples_whole_groups_within_each_class():
    # 10 real images, all scored 0 (always correct). 20 fakes from 10 prompts of 2 images: prompts 0-4 score
    # 0.9 (correct), prompts 5-9 score 0.1 (wrong). Point accuracy = (10 + 10) / 30 = 2/3.
    # By prompt, a replicate draws K correct prompts, K ~ Binomial(10, 1/2): accuracy (10 + 2K)/30.
    # P(K <= 1) = 11/1024 ~ 1.1% and P(K <= 2) = 56/1024 ~ 5.5%, so the 2.5% quantile is K = 2 -> 14/30,
    # and by symmetry the 97.5% quantile is K = 8 -> 26/30.
    # By image, the correct fakes are ~Binomial(20, 1/2): 95% within 6..14 -> accuracy 16/30..24/30, narrower.
    labels = np.r_[np.zeros(10), np.ones(20)].astype(int)
    scores = np.r_[np.zeros(10), np.full(10, 0.9), np.full(10, 0.1)]
    groups = [f"real:{i}" for i in range(10)] + [f"prompt:{i // 2}" for i in range(20)]
    by_group = metrics.bootstrap_intervals(labels, scores, groups=groups, resamples=1000, seed=0)
    by_image = metrics.bootstrap_intervals(labels, scores, resamples=1000, seed=0)
    assert by_group["accuracy"] == pytest.approx([14 / 30, 26 / 30])
    low, high = by_image["accuracy"]
    assert 14 / 30 < low < 2 / 3 < high < 26 / 30


def test_fewer_than_ten_groups_in_a_class_get_no_interval():
    # the same images but the fakes from 2 prompts: a replicate can only draw AA, AB or BB -> no interval, said so
    labels = np.r_[np.zeros(10), np.ones(20)].astype(int)
    scores = np.r_[np.zeros(10), np.full(10, 0.9), np.full(10, 0.1)]
    groups = [f"real:{i}" for i in range(10)] + ["prompt:A"] * 10 + ["prompt:B"] * 10
    assert metrics.bootstrap_intervals(labels, scores, groups=groups, resamples=100) == {}
    assert metrics.interval_note(labels, groups) == (
        "no intervals: 2 generated groups (a bootstrap needs at least 10 per class to say anything)")
    assert metrics.interval_note(labels) is None  # by image: 10 real and 20 generated images


def test_bootstrap_loop_metrics_equal_scikit_learn():
    # the bootstrap's numpy metrics (kept for speed) must compute exactly what the public, scikit-learn-backed ones do
    rng = np.random.default_rng(7)
    for _ in range(20):
        labels = np.r_[0, 1, rng.integers(0, 2, 60)]
        scores = np.round(rng.random(62), 1)  # heavy ties
        fast = metrics._np_metrics(labels, scores)
        assert fast == pytest.approx(metrics.all_metrics(labels, scores), abs=1e-12)
