"""The page's opening summary (suites as rows, models as columns) and the per-suite metric tables with runs as columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from genlens.report.facts import RunFacts
from genlens.report.summary import SuiteSummary, delta_class, finite, is_count


@dataclass
class OverviewEntry:
    """One run in one cell of the overview: its facts and (complete runs only) its difference to GPT-4o."""

    facts: RunFacts
    delta: float | None = None

    @property
    def tint(self) -> str:
        """'above' / 'level' / 'below' against GPT-4o's published headline; '' for partial runs or no anchor."""
        return "" if self.facts.partial else delta_class(self.delta)


@dataclass
class OverviewRow:
    """One suite: its headline name, GPT-4o's published headline (if any), and each model's runs."""

    suite: str
    title: str
    number: int  # the suite section's number (anchor #suite-<n>)
    headline: str | None
    reference: float | None
    reference_label: str | None
    cells: list[list[OverviewEntry]]  # one list per model column (several runs of a model stack)


@dataclass
class Overview:
    models: list[str]
    rows: list[OverviewRow] = field(default_factory=list)


def overview(summaries_: list[SuiteSummary], facts: dict[str, list[RunFacts]]) -> Overview:
    """Suites × models; ``facts`` holds each suite's runs in the order of its summary's run rows."""
    models: list[str] = []
    for summary in summaries_:
        for row in summary.run_rows:
            if str(row.model) not in models:
                models.append(str(row.model))
    table = Overview(models=models)
    for number, summary in enumerate(summaries_, start=1):
        ref = summary.reference
        # the published headline is the table's "overall" column; a table without one (per-dimension
        # leaderboards such as OneIG's) gives no single number to set a run's headline against
        ref_value = finite(ref.values.get("overall")) if ref is not None else None
        cells: list[list[OverviewEntry]] = [[] for _ in models]
        for row, run_facts in zip(summary.run_rows, facts[summary.suite], strict=True):
            delta = None
            # partial runs and runs on other prompts (--prompt-variant) are never set against published numbers
            if ref_value is not None and run_facts.partial is None and row.variant is None and run_facts.value is not None:
                delta = run_facts.value - ref_value
            cells[models.index(str(row.model))].append(OverviewEntry(facts=run_facts, delta=delta))
        table.rows.append(OverviewRow(suite=summary.suite, title=summary.title, number=number, headline=summary.headline,
                                      reference=ref_value, reference_label=ref.label if ref is not None else None,
                                      cells=cells))
    return table


@dataclass
class MetricLine:
    """One row of a suite's metric table: a metric, with one (value, interval) per run."""

    scope: str  # "headline" | "metric" | "count"
    name: str
    values: list[Any]
    intervals: list[tuple[float, float] | None]


def _interval(result: dict[str, Any], name: str) -> tuple[float, float] | None:
    raw = (result.get("intervals") or {}).get(name) if isinstance(result.get("intervals"), dict) else None
    if isinstance(raw, list | tuple) and len(raw) == 2:
        low, high = finite(raw[0]), finite(raw[1])
        if low is not None and high is not None:
            return (low, high)
    return None


def metric_lines(results: list[dict[str, Any]]) -> list[MetricLine]:
    """Headline, metrics and counts of the suite's runs, one line per name, one column per run (same names side by side)."""
    order: list[tuple[str, str]] = []
    for res in results:
        for scope, key in (("headline", "headline"), ("metric", "metrics"), ("count", "counts")):
            block = res.get(key) if isinstance(res.get(key), dict) else {}
            for name in block:
                scope_here = "count" if scope == "metric" and is_count(str(name)) else scope
                if scope == "headline" and name == "n":
                    continue
                if (scope_here, str(name)) not in order:
                    order.append((scope_here, str(name)))
    lines = []
    for scope, name in order:
        key = {"headline": "headline", "metric": "metrics", "count": "counts"}[scope]
        values, intervals = [], []
        for res in results:
            block = res.get(key) if isinstance(res.get(key), dict) else {}
            if scope == "count" and name not in block:
                block = res.get("metrics") if isinstance(res.get("metrics"), dict) else {}
            values.append(block.get(name))
            intervals.append(_interval(res, name))
        lines.append(MetricLine(scope=scope, name=name, values=values, intervals=intervals))
    return lines
