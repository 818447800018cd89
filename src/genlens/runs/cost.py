"""The run's cost/latency block in results.json, summarised from what backends put in generation meta.

Backends record per call ``cost_usd``, ``latency_s`` and ``usage`` (token counts; OpenAI names
``input_tokens``/``output_tokens``, Gemini ``prompt_token_count``/``candidates_token_count``);
multi-round generations keep one such dict per round under ``meta["rounds"]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from genlens.types import GenerationRecord

TOKENS_IN = ("input_tokens", "prompt_token_count")
TOKENS_OUT = ("output_tokens", "candidates_token_count")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _tokens(usage: Any, names: tuple[str, ...]) -> int:
    if not isinstance(usage, dict):
        return 0
    return next((int(usage[n]) for n in names if _number(usage.get(n)) is not None), 0)


def cost_summary(generations: Iterable[GenerationRecord]) -> dict[str, Any]:
    """Total cost (of calls that reported one), tokens, latency p50/p95, refusals and errors."""
    calls: list[dict[str, Any]] = []
    counts = {"ok": 0, "refused": 0, "error": 0}
    for gen in generations:
        counts[gen.status] = counts.get(gen.status, 0) + 1
        if gen.status == "ok":
            rounds = gen.meta.get("rounds")
            calls += [r for r in rounds if isinstance(r, dict)] if isinstance(rounds, list) else [gen.meta]
    costs = [c for c in (_number(m.get("cost_usd")) for m in calls) if c is not None]
    latencies = [v for v in (_number(m.get("latency_s")) for m in calls) if v is not None]
    return {
        "calls": len(calls),
        "cost_usd": round(sum(costs), 6) if costs else None,
        "calls_with_cost": len(costs),
        "tokens_in": sum(_tokens(m.get("usage"), TOKENS_IN) for m in calls),
        "tokens_out": sum(_tokens(m.get("usage"), TOKENS_OUT) for m in calls),
        "latency_p50_s": round(float(np.percentile(latencies, 50)), 4) if latencies else None,
        "latency_p95_s": round(float(np.percentile(latencies, 95)), 4) if latencies else None,
        "refusals": counts["refused"],
        "errors": counts["error"],
    }
