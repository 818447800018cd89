"""Paired comparison: alignment by (item, sample), wins/losses, McNemar exact and paired bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genlens.report.compare import compare_rows, mcnemar_exact, paired_bootstrap


@pytest.mark.parametrize(("b", "c", "expected"), [
    (1, 6, 0.125),       # n=7: 2·(C(7,0)+C(7,1))/2^7 = 2·8/128
    (0, 5, 0.0625),      # n=5: 2·1/32
    (2, 8, 0.109375),    # n=10: 2·(1+10+45)/1024 = 112/1024
    (3, 3, 1.0),         # n=6: 2·(1+6+15+20)/64 = 1.3125 -> capped at 1
    (0, 0, 1.0),         # no discordant pairs: no evidence either way
])
def test_mcnemar_exact_matches_hand_values(b: int, c: int, expected: float) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(expected, abs=1e-12)
    assert mcnemar_exact(c, b) == pytest.approx(expected, abs=1e-12)  # symmetric


def test_mcnemar_large_counts_stay_finite() -> None:
    p = mcnemar_exact(900, 1100)  # 2000 discordant pairs: exact big-integer sum, no overflow
    assert 0 < p < 1e-4


def test_paired_bootstrap_constant_difference() -> None:
    # every resampled mean is 0.5 > 0: #{<=0} = 0, so p = 2·(0+1)/(99+1) = 0.02; interval collapses to [0.5, 0.5]
    interval, p = paired_bootstrap(np.full(20, 0.5), resamples=99)
    assert interval == [0.5, 0.5]
    assert p == pytest.approx(0.02)


def test_paired_bootstrap_no_difference() -> None:
    # all differences zero: every resample mean is 0, counted on both sides -> p = min(1, 2·100/100) = 1
    interval, p = paired_bootstrap(np.zeros(10), resamples=99)
    assert interval == [0.0, 0.0]
    assert p == 1.0


def test_paired_bootstrap_symmetric_noise_is_not_significant() -> None:
    diffs = np.array([1.0, -1.0] * 50)
    interval, p = paired_bootstrap(diffs, resamples=500)
    assert interval[0] < 0 < interval[1]
    assert p > 0.5


def test_paired_bootstrap_shortcut_matches_index_resampling() -> None:
    # 30 wins, 10 losses, 60 ties: the multinomial shortcut and plain index resampling give the same interval
    diffs = np.array([1.0] * 30 + [-1.0] * 10 + [0.0] * 60)
    interval, _p = paired_bootstrap(diffs, resamples=4000)
    rng = np.random.default_rng(1)
    reference = np.quantile(diffs[rng.integers(0, 100, (4000, 100))].mean(axis=1), [0.025, 0.975])
    assert interval == pytest.approx(list(reference), abs=0.025)


def _row(item: str, passed: bool | None, sample: int = 0, category: str = "c") -> dict:
    return {"item": item, "sample": sample, "category": category, "passed": passed}


def test_compare_rows_binary_aligns_and_counts() -> None:
    # A passes items 0,1 (B fails them); B passes items 2..9 (A fails them)
    rows_a = [_row(f"i{k}", k < 2, category="x" if k < 5 else "y") for k in range(10)]
    rows_b = [_row(f"i{k}", k >= 2, category="x" if k < 5 else "y") for k in range(10)]
    rows_a.append(_row("only-in-a", True))
    rows_a.append(_row("errored", None))     # unscored: ignored, not counted as unpaired
    rows_b.append(_row("errored", False))
    rows_b.append(_row("i0", True, sample=1))  # a different sample is a different image
    c = compare_rows(rows_a, rows_b, suite="s", names=("a", "b"), resamples=200)
    assert c.kind == "binary"
    assert c.n_pairs == 10
    assert (c.wins_a, c.wins_b, c.ties) == (2, 8, 0)
    assert (c.only_a, c.only_b) == (1, 2)   # only-in-a; errored and i0#1 exist only on B's side
    assert c.mean_a == pytest.approx(0.2)   # 2 of 10 aligned
    assert c.mean_b == pytest.approx(0.8)
    assert c.diff == pytest.approx(0.6)
    assert c.p_value == pytest.approx(0.109375)  # McNemar b=2, c=8 (hand value above)
    assert c.categories["x"] == {"wins_a": 2, "wins_b": 3, "ties": 0, "n": 5}
    assert c.categories["y"] == {"wins_a": 0, "wins_b": 5, "ties": 0, "n": 5}
    assert len(c.disagreements) == 10
    assert c.test.startswith("McNemar")


def test_compare_rows_continuous_uses_bootstrap() -> None:
    rows_a = [{"item": f"i{k}", "sample": 0, "category": "c", "score": 0.2} for k in range(12)]
    rows_b = [{"item": f"i{k}", "sample": 0, "category": "c", "score": 0.2 + (0.1 if k < 9 else 0.0)} for k in range(12)]
    c = compare_rows(rows_a, rows_b, resamples=300)
    assert c.kind == "continuous"
    assert (c.wins_a, c.wins_b, c.ties) == (0, 9, 3)
    assert c.diff == pytest.approx(0.075)  # 9·0.1 / 12
    assert c.test.startswith("paired bootstrap")
    assert c.diff_interval[0] > 0
    assert c.p_value < 0.05


def test_compare_rows_without_overlap() -> None:
    c = compare_rows([_row("a", True)], [_row("b", True)])
    assert c.kind == "none" and c.n_pairs == 0 and c.p_value is None and c.mean_a is None


def test_odd_rows_do_not_crash_alignment() -> None:
    rows_a = [{"item": "x", "sample": "zero", "passed": True}, {"item": "y", "passed": False}, {"item": "z", "sample": 0, "score": float("nan")}]
    rows_b = [{"item": "x", "sample": "zero", "passed": False}, {"item": "y", "passed": True}]
    c = compare_rows(rows_a, rows_b)
    assert c.n_pairs == 2  # x and y align on the 'missing sample' key; z's NaN score is not an outcome
    assert (c.wins_a, c.wins_b) == (1, 1)


def _pair(item: str, sample: int, a: bool, b: bool) -> tuple[dict, dict]:
    return _row(item, a, sample=sample), _row(item, b, sample=sample)


def _runs(pairs: list[tuple[str, int, bool, bool]]) -> tuple[list[dict], list[dict]]:
    made = [_pair(*p) for p in pairs]
    return [a for a, _b in made], [b for _a, b in made]


def test_several_samples_per_item_use_a_cluster_bootstrap_over_items() -> None:
    # (A, B) per sample. i0: (0,1) (1,1)          -> A mean 1/2, B mean 1,   item diff 1/2
    #                    i1: (1,1) (0,1)          -> A mean 1/2, B mean 1,   item diff 1/2
    #                    i2: (0,1) (0,1) (0,0) (0,0) -> A mean 0, B mean 1/2, item diff 1/2
    # samples averaged: mean A = (1/2 + 1/2 + 0)/3 = 1/3, mean B = (1 + 1 + 1/2)/3 = 5/6, Δ = 1/2
    # (pooled images would give A 2/8 = 0.25). Every item diff is 1/2, so every resampled mean is 1/2:
    # interval [0.5, 0.5], #{mean* <= 0} = 0 -> p = 2·(0 + 1)/(99 + 1) = 0.02
    # The three items repeated 4 times (12 items: a bootstrap needs at least 10 clusters) keep every number.
    pattern = [("0", 0, False, True), ("0", 1, True, True), ("1", 0, True, True), ("1", 1, False, True),
               ("2", 0, False, True), ("2", 1, False, True), ("2", 2, False, False), ("2", 3, False, False)]
    pairs = [(f"r{r}i{i}", s, a, b) for r in range(4) for i, s, a, b in pattern]
    c = compare_rows(*_runs(pairs), resamples=99)
    assert c.test.startswith("cluster bootstrap over 12 items, samples averaged")
    assert c.n_pairs == 32 and (c.wins_a, c.wins_b, c.ties) == (0, 16, 16)  # per image, as before
    assert c.mean_a == pytest.approx(1 / 3) and c.mean_b == pytest.approx(5 / 6)
    assert c.diff == pytest.approx(0.5)
    assert c.diff_interval == [0.5, 0.5]
    assert c.p_value == pytest.approx(0.02)


def test_correlated_samples_are_not_counted_as_independent_pairs() -> None:
    # 16 items × 4 samples: B wins all 4 samples of i0..i3 and i8..i11, A wins all 4 of i4 and i12, the rest tie.
    # Per image this would be McNemar b=8, c=32 -> p = binomial tail 2·P(X <= 8 | 40, 1/2) = 0.000182 (a false
    # alarm when the 4 samples share one prompt). Per item the diffs are [1,1,1,1,-1,0,0,0] twice; a resample of
    # 16 items has mean <= 0 when #(+1) <= #(-1): sum over x <= y of 16!/(x! y! z!)·0.5^x·0.125^y·0.375^z
    # = 0.02765, so the cluster bootstrap p ~ 2·0.02765 = 0.0553 (Monte Carlo error ~0.007 at 4000 resamples).
    pairs = [(f"i{i}", s, i % 8 == 4 or i % 8 >= 6, i % 8 < 4 or i % 8 >= 6) for i in range(16) for s in range(4)]
    c = compare_rows(*_runs(pairs), resamples=4000)
    assert (c.wins_a, c.wins_b) == (8, 32)
    assert mcnemar_exact(8, 32) == pytest.approx(2 * sum(math.comb(40, i) for i in range(9)) / 2**40)
    assert c.test.startswith("cluster bootstrap over 16 items")
    assert c.diff == pytest.approx(3 / 8)
    assert c.p_value == pytest.approx(0.0553, abs=0.025)


def test_fewer_than_ten_items_get_no_bootstrap() -> None:
    # 3 items × 2 samples, 8 aligned images without clusters: no interval, said so; McNemar stays (exact at any n)
    clustered = compare_rows(*_runs([(f"i{i}", s, False, True) for i in range(3) for s in range(2)]), resamples=99)
    assert clustered.test == "none: no interval: 3 items (a bootstrap needs at least 10 to say anything)"
    assert clustered.p_value is None and clustered.diff_interval is None and clustered.diff == pytest.approx(1.0)
    rows_a = [{"item": f"i{k}", "sample": 0, "score": 0.2} for k in range(8)]
    rows_b = [{"item": f"i{k}", "sample": 0, "score": 0.3} for k in range(8)]
    scored = compare_rows(rows_a, rows_b, resamples=99)
    assert scored.test.startswith("none: no interval: 8 aligned images") and scored.diff_interval is None
    binary = compare_rows(*_runs([(f"i{k}", 0, k == 0, k > 0) for k in range(7)]), resamples=99)
    assert binary.p_value == pytest.approx(0.125) and binary.diff_interval is None


def test_one_sample_per_item_keeps_mcnemar() -> None:
    # 7 items, one sample each: A wins 1, B wins 6 -> McNemar 2·(C(7,0)+C(7,1))/2^7 = 0.125
    pairs = [(f"i{k}", 0, k == 0, k > 0) for k in range(7)]
    c = compare_rows(*_runs(pairs), resamples=99)
    assert c.test == "McNemar exact (two-sided)"
    assert c.p_value == pytest.approx(0.125)
    assert c.mean_a == pytest.approx(1 / 7) and c.mean_b == pytest.approx(6 / 7)
