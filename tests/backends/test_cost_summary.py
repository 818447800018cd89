"""results.json's cost block: summed from the generation meta that backends record."""

from __future__ import annotations

import pytest

from genlens.runs.cost import cost_summary
from genlens.types import GenerationRecord


def record(status: str, meta: dict) -> GenerationRecord:
    return GenerationRecord(fingerprint="f", item_id="i", sample=0, seed=0, status=status, images=[], meta=meta)


def test_cost_summary_hand_worked():
    generations = [
        record("ok", {"cost_usd": 0.04, "latency_s": 1.0, "usage": {"input_tokens": 10, "output_tokens": 100}}),
        record("ok", {"cost_usd": 0.06, "latency_s": 3.0, "usage": {"prompt_token_count": 5, "candidates_token_count": 50}}),
        record("ok", {"rounds": [{"cost_usd": 0.01, "latency_s": 2.0}, {"cost_usd": None, "latency_s": 4.0}]}),
        record("ok", {}),  # a folder import: nothing known
        record("refused", {}), record("error", {}),
    ]
    summary = cost_summary(generations)
    # calls: 2 single + 2 rounds + 1 import = 5; cost 0.04 + 0.06 + 0.01 = 0.11 over 3 calls that reported one
    assert summary["calls"] == 5 and summary["calls_with_cost"] == 3
    assert summary["cost_usd"] == pytest.approx(0.11)
    assert (summary["tokens_in"], summary["tokens_out"]) == (15, 150)
    # latencies [1, 2, 3, 4]: p50 = 2.5; p95 at position 3 * 0.95 = 2.85 -> 3 + 0.85 * (4 - 3) = 3.85
    assert summary["latency_p50_s"] == 2.5 and summary["latency_p95_s"] == 3.85
    assert (summary["refusals"], summary["errors"]) == (1, 1)


def test_cost_summary_without_any_meta_is_null_not_zero():
    summary = cost_summary([record("ok", {})])
    assert summary["cost_usd"] is None and summary["latency_p50_s"] is None and summary["calls"] == 1
