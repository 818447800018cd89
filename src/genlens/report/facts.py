"""What a reader needs beside a run's numbers: model, judge, scorer weights, dates, images, cost, caveats.

Everything comes from the run directory (results.json, run.json); nothing is looked up elsewhere.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlens.report.summary import finite, headline_name, headline_value, partial_coverage, partial_headline_value

#: identity keys that name weights, and the ones that pin their version (shown shortened)
_NAME_KEYS = ("id", "model", "repo", "name", "path")
_PIN_KEYS = ("revision", "sha256", "commit", "hash")


@dataclass
class RunFacts:
    """One run's provenance in a few short strings, plus its caveats and coverage."""

    model: str
    suite: str
    run: str
    judge: str | None
    weights: list[str]
    created: str | None  # run.json's creation date
    scored: str | None  # when results.json was written
    images: int | None
    samples: Any
    seed: Any
    genlens_version: str | None
    cost_usd: float | None
    cost_calls: int | None
    calls_with_cost: int | None
    tokens: str | None  # "12,345 in / 678 out"
    latency: str | None  # "p50 1.2 s, p95 3.4 s"
    refusals: int | None
    errors: int | None
    caveats: list[str] = field(default_factory=list)
    partial: str | None = None  # coverage text of a partial run
    headline: str | None = None
    value: float | None = None
    partial_value: float | None = None  # <headline>_partial of a partial run (never compared)
    interval: tuple[float, float] | None = None

    @property
    def cost_text(self) -> str:
        """'$1.23 (500 calls)', 'not reported (500 calls)', or '—' when the run has no cost block."""
        if self.cost_calls is None:
            return "—"
        calls = f"{self.cost_calls} call{'s' if self.cost_calls != 1 else ''}"
        if self.cost_usd is None:
            return f"not reported ({calls})" if self.cost_calls else "—"
        partly = f", {self.calls_with_cost} priced" if self.calls_with_cost is not None and self.calls_with_cost != self.cost_calls else ""
        return f"${self.cost_usd:,.2f} ({calls}{partly})"

    @property
    def coverage_short(self) -> str:
        """The first part of the coverage ('40/553 prompts') for a badge; the full text goes in its title."""
        return (self.partial or "").split(",")[0].strip() or "incomplete"


def _date(value: Any) -> str | None:
    return value[:10] if isinstance(value, str) and len(value) >= 10 else None


def _pin(identity: dict[str, Any]) -> str:
    name = next((str(identity[k]) for k in _NAME_KEYS if isinstance(identity.get(k), str) and identity[k]), "")
    pin = next((str(identity[k]) for k in _PIN_KEYS if isinstance(identity.get(k), str) and identity[k]), "")
    if len(pin) > 12:
        pin = pin[:12]
    return f"{name}@{pin}" if name and pin else name or pin


def weights_of(provenance: dict[str, Any]) -> list[str]:
    """'scorer: weights@revision' per scorer that names weights (detector, CLIP, OCR …)."""
    scorers = provenance.get("scorers") if isinstance(provenance.get("scorers"), dict) else {}
    out = []
    for name, identity in scorers.items():
        if isinstance(identity, dict):
            text = _pin(identity)
            if text:
                out.append(f"{name}: {text}")
        elif isinstance(identity, str) and identity:
            out.append(f"{name}: {identity}")
    return out


def judge_of(provenance: dict[str, Any]) -> str | None:
    """The judge the run's scores come from (``judge`` or ``judge_models``), None when it used none."""
    judge = provenance.get("judge")
    if isinstance(judge, str) and judge:
        return judge
    if isinstance(judge, dict):
        text = judge.get("model") or judge.get("spec") or judge.get("name")
        if isinstance(text, str) and text:
            return text
    models = provenance.get("judge_models")
    if isinstance(models, list) and models:
        return ", ".join(str(m) for m in models)
    return None


def caveats_of(result: dict[str, Any]) -> list[str]:
    """Every caveat the suite recorded (provenance ``caveat``, ``caveats`` and ``notes``), in order, once each."""
    provenance = result.get("provenance") if isinstance(result.get("provenance"), dict) else {}
    out: list[str] = []
    for key in ("caveat", "caveats", "notes"):
        value = provenance.get(key)
        for text in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
            if isinstance(text, str) and text.strip() and text not in out:
                out.append(text.strip())
    return out


def _run_json(run_dir: Path | None) -> dict[str, Any]:
    if run_dir is None:
        return {}
    try:
        data = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _int(value: Any) -> int | None:
    number = finite(value)
    return int(number) if number is not None else None


def run_facts(result: dict[str, Any], rows: int | None = None) -> RunFacts:
    """The facts of one loaded run (``load_results``); ``rows`` is the number of rows.jsonl lines when known."""
    run_dir = Path(result["run_dir"]) if result.get("run_dir") else None
    run_json = _run_json(run_dir)
    provenance = result.get("provenance") if isinstance(result.get("provenance"), dict) else {}
    counts = result.get("counts") if isinstance(result.get("counts"), dict) else {}
    cost = result.get("cost") if isinstance(result.get("cost"), dict) else None
    scored = None
    if run_dir is not None:
        try:
            scored = time.strftime("%Y-%m-%d", time.gmtime((run_dir / "results.json").stat().st_mtime))
        except OSError:
            scored = None
    images = _int(counts.get("images_scored"))
    if images is None:
        images = _int(counts.get("generations_ok"))
    if images is None:
        images = rows
    name = headline_name(result)
    raw_interval = (result.get("intervals") or {}).get(name or "") if isinstance(result.get("intervals"), dict) else None
    interval = None
    if isinstance(raw_interval, list | tuple) and len(raw_interval) == 2:
        low, high = finite(raw_interval[0]), finite(raw_interval[1])
        if low is not None and high is not None:
            interval = (low, high)
    tokens = latency = None
    if cost is not None:
        t_in, t_out = _int(cost.get("tokens_in")) or 0, _int(cost.get("tokens_out")) or 0
        tokens = f"{t_in:,} in / {t_out:,} out" if t_in or t_out else None
        p50, p95 = finite(cost.get("latency_p50_s")), finite(cost.get("latency_p95_s"))
        latency = f"p50 {p50:.2f} s, p95 {p95:.2f} s" if p50 is not None and p95 is not None else None
    return RunFacts(
        model=str(result.get("model")), suite=str(result.get("suite")), run=str(result.get("run")),
        judge=judge_of(provenance), weights=weights_of(provenance),
        created=_date(run_json.get("created")), scored=scored, images=images,
        samples=result.get("samples"), seed=result.get("seed"),
        genlens_version=str(result.get("genlens_version") or run_json.get("genlens_version") or "") or None,
        cost_usd=finite(cost.get("cost_usd")) if cost else None, cost_calls=_int(cost.get("calls")) if cost else None,
        calls_with_cost=_int(cost.get("calls_with_cost")) if cost else None, tokens=tokens, latency=latency,
        refusals=_int(cost.get("refusals")) if cost else None, errors=_int(cost.get("errors")) if cost else None,
        caveats=caveats_of(result), partial=partial_coverage(result), headline=name, value=headline_value(result),
        partial_value=partial_headline_value(result), interval=interval,
    )
