"""Per-suite summary tables: every run's headline and categories, with published rows beside them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from genlens.report.anchors import AnchorTable, anchor_column, anchor_for

#: |run - GPT-4o| below this is shown as level rather than better/worse.
LEVEL_TOLERANCE = 0.005


def is_number(value: Any) -> bool:
    """int or float, not bool (True is not a score)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else None (NaN, inf, text and bools are missing)."""
    return float(value) if is_number(value) and math.isfinite(value) else None


def headline_name(result: dict[str, Any]) -> str | None:
    """The run's headline metric (the first key of ``headline``), None when it has none."""
    for name, value in (result.get("headline") or {}).items():
        if name != "n" and (is_number(value) or value is None):
            return name
    return None


def headline_value(result: dict[str, Any]) -> float | None:
    """The run's headline number, None when it has none."""
    name = headline_name(result)
    value = (result.get("headline") or {}).get(name) if name else None
    return finite(value)


def partial_coverage(result: dict[str, Any]) -> str | None:
    """'12/553 prompts, …' when the run's results say it covers part of its benchmark, else None."""
    from genlens.suites._coverage import coverage_text

    coverage = (result.get("extra") or {}).get("coverage") if isinstance(result.get("extra"), dict) else None
    if isinstance(coverage, dict) and coverage.get("complete") is False:
        return coverage_text(coverage) or "incomplete"
    return None


def prompt_variant(result: dict[str, Any]) -> str | None:
    """The run's prompt variant when it is not the suite's original prompts (``--prompt-variant``), else None."""
    provenance = result.get("provenance") if isinstance(result.get("provenance"), dict) else {}
    variant = result.get("prompt_variant") or provenance.get("prompt_variant")
    return None if not variant or variant == "original" else str(variant)


def partial_headline_value(result: dict[str, Any]) -> float | None:
    """A partial run's ``<headline>_partial`` number (None for complete runs): shown with its coverage, never compared."""
    name = headline_name(result)
    if not name or partial_coverage(result) is None or headline_value(result) is not None:
        return None
    return finite((result.get("metrics") or {}).get(f"{name}_partial"))


def category_value(metrics: dict[str, Any], preferred: str | None) -> float | None:
    """A category's main number: the headline metric when the category has it, else its first numeric metric.

    A headline metric that is present but empty (no scored images) stays empty: a count must
    never be shown in its place. NaN and inf count as empty.
    """
    if preferred and preferred in metrics:
        return finite(metrics[preferred])
    for name, value in metrics.items():
        if not is_count(name) and is_number(value):
            return finite(value)
    return None


def is_count(name: str) -> bool:
    """Metric names that hold counts, not scores (n, n_images, unparsed, errors …)."""
    return name in {"n", "count", "unparsed", "refused", "errors", "errored", "missing", "images"} or name.startswith("n_") \
        or name.endswith(("_n", "_count"))


@dataclass
class SummaryRow:
    """One row of a suite table: a user's run or a published model."""

    label: str
    kind: str  # "run" | "anchor"
    values: dict[str, float | None]
    group: str = ""
    run: str | None = None
    model: str | None = None
    reference: bool = False  # GPT-4o's published row
    partial: str | None = None  # a partial run's coverage ('12/553 prompts, …'): its numbers are never compared
    variant: str | None = None  # prompts other than the suite's own (rewritten, an enhancer): never set against published rows
    deltas: dict[str, float | None] = field(default_factory=dict)  # run minus GPT-4o


@dataclass
class SuiteSummary:
    """A paper-style table for one suite: columns are overall + categories, rows are models."""

    suite: str
    title: str
    columns: list[str]
    rows: list[SummaryRow]
    anchor: AnchorTable | None = None
    headline: str | None = None

    @property
    def run_rows(self) -> list[SummaryRow]:
        return [r for r in self.rows if r.kind == "run"]

    @property
    def anchor_rows(self) -> list[SummaryRow]:
        return [r for r in self.rows if r.kind == "anchor"]

    @property
    def reference(self) -> SummaryRow | None:
        return next((r for r in self.rows if r.reference), None)


def run_values(result: dict[str, Any], anchor: AnchorTable | None) -> dict[str, float | None]:
    """A run's values keyed by summary column: 'overall' (or the headline name) and category keys."""
    name = headline_name(result)
    head = headline_value(result)
    values: dict[str, float | None] = {("overall" if anchor else (name or "overall")):
                                       head if head is not None else partial_headline_value(result)}
    for metric, column in anchor.metric_columns if anchor else ():  # e.g. NED beside a published NED column
        values[column] = finite((result.get("metrics") or {}).get(metric))
    for category, metrics in (result.get("categories") or {}).items():
        column = anchor_column(anchor, category) if anchor else None
        if isinstance(metrics, dict):
            values[column or str(category)] = category_value(metrics, name)
        else:  # a bare number per category
            values[column or str(category)] = finite(metrics)
    return values


def _columns(results: list[dict[str, Any]], anchor: AnchorTable | None) -> list[str]:
    columns: list[str] = list(anchor.columns) if anchor else []
    for res in results:
        for key in run_values(res, anchor):
            if key not in columns:
                columns.append(key)
    return columns


def suite_summary(suite: str, results: list[dict[str, Any]]) -> SuiteSummary:
    """The summary table of one suite's runs, with the published rows when the suite has an anchor."""
    anchor = anchor_for(results[0])
    rows = [SummaryRow(label=f"{res.get('model')} ({res.get('run')})" + (f" [prompts: {prompt_variant(res)}]" if prompt_variant(res) else ""),
                       kind="run", values=run_values(res, anchor), run=str(res.get("run")), model=str(res.get("model")),
                       partial=partial_coverage(res), variant=prompt_variant(res)) for res in results]
    if anchor:
        ordered = sorted(anchor.rows, key=lambda a: a is not anchor.reference)  # GPT-4o first, then the paper's order
        for arow in ordered:
            rows.append(SummaryRow(label=arow.model, kind="anchor", values=dict(arow.values), group=arow.group,
                                   reference=arow is anchor.reference))
        ref = anchor.reference
        for row in rows:
            # a partial run, or one given other prompts than the published rows were, is never set against them
            if row.kind == "run" and ref is not None and row.partial is None and row.variant is None:
                row.deltas = {col: (v - ref.values[col]) if v is not None and ref.values.get(col) is not None else None
                              for col, v in row.values.items()}
    title = str(results[0].get("title") or suite)
    return SuiteSummary(suite=suite, title=title, columns=_columns(results, anchor), rows=rows, anchor=anchor,
                        headline=headline_name(results[0]))


def by_suite(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Runs grouped by suite, in first-seen order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for res in results:
        groups.setdefault(str(res.get("suite")), []).append(res)
    return groups


def summaries(results: list[dict[str, Any]]) -> list[SuiteSummary]:
    """One summary table per suite, in the order the runs were given."""
    return [suite_summary(suite, runs) for suite, runs in by_suite(results).items()]


def delta_class(delta: float | None) -> str:
    """CSS class / word for a run-minus-GPT-4o difference."""
    if delta is None:
        return ""
    if delta > LEVEL_TOLERANCE:
        return "above"
    if delta < -LEVEL_TOLERANCE:
        return "below"
    return "level"


def source_line(summary: SuiteSummary) -> str:
    """'Published: <paper>, <table>' for captions."""
    return f"Published rows: {summary.anchor.paper}, {summary.anchor.title}" if summary.anchor else ""
