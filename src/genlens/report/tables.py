"""Tables of one or more runs: terminal, Markdown, JSON and CSV."""

from __future__ import annotations

import csv
import html
import io
import json
import math
from typing import Any

from rich.table import Table


def fmt_value(value: Any) -> str:
    """A table cell: floats to three decimals; None, NaN and inf as an em dash (missing, never "nan")."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if math.isfinite(value) else "—"
    return str(value)


def missing_if_not_finite(value: Any) -> Any:
    """``value`` with every NaN / inf float (also inside lists and dicts) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: missing_if_not_finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [missing_if_not_finite(v) for v in value]
    return value


def long_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (run, suite, scope, metric): scope is ``headline``, ``run`` or a category (NaN / inf -> None)."""
    results = missing_if_not_finite(results)
    rows = []
    for res in results:
        base = {"run": res.get("run"), "model": res.get("model"), "suite": res.get("suite")}
        for name, value in (res.get("headline") or {}).items():
            interval = (res.get("intervals") or {}).get(name)
            rows.append({**base, "scope": "headline", "metric": name, "value": value,
                         "ci_low": interval[0] if interval else None, "ci_high": interval[1] if interval else None})
        for name, value in (res.get("metrics") or {}).items():
            interval = (res.get("intervals") or {}).get(name)
            rows.append({**base, "scope": "run", "metric": name, "value": value,
                         "ci_low": interval[0] if interval else None, "ci_high": interval[1] if interval else None})
        for category, metrics in (res.get("categories") or {}).items():
            for name, value in metrics.items():
                rows.append({**base, "scope": category, "metric": name, "value": value, "ci_low": None, "ci_high": None})
    return rows


def _wide(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Suite/scope/metric rows × one column per run (same items side by side)."""
    header = ["suite", "scope", "metric"] + [f"{r.get('run')} ({r.get('model')})" for r in results]
    keyed: dict[tuple[str, str, str], list[Any]] = {}
    from genlens.report.summary import partial_coverage, prompt_variant

    for index, res in enumerate(results):
        partial = partial_coverage(res)
        variant = prompt_variant(res)
        for row in long_rows([res]):
            if row["metric"] == "n" and row["scope"] == "headline":
                continue
            key = (row["suite"], row["scope"], row["metric"])
            value = row["value"]
            if partial and row["scope"] == "run" and row["metric"].endswith("_partial") and value is not None:
                value = f"{fmt_value(value)} (partial: {partial})"  # the coverage stands beside the number
            if variant and row["scope"] == "headline" and value is not None:
                value = f"{fmt_value(value)} (prompts: {variant})"  # which prompts made it stands beside the headline
            keyed.setdefault(key, [None] * len(results))[index] = value
        if partial:
            keyed.setdefault((str(res.get("suite")), "run", "coverage"), [None] * len(results))[index] = f"partial: {partial}"
    body = [[*key, *(fmt_value(v) for v in values)] for key, values in keyed.items()]
    return header, body


def results_table(results: list[dict[str, Any]]) -> Table:
    header, body = _wide(results)
    table = Table(title="genlens results")
    for col in header:
        table.add_column(col, overflow="fold", justify="right" if col not in ("suite", "scope", "metric") else "left")
    for row in body:
        table.add_row(*row)
    return table


def _md_cell(text: str) -> str:
    """A Markdown table cell: HTML escaped (renderers pass raw HTML through), pipes and newlines made safe."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], body: list[list[str]], left: int = 1) -> list[str]:
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |",
             "|" + "|".join("---" if i < left else "---:" for i in range(len(header))) + "|"]
    return lines + ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in body]


def _md_summary(summary: Any) -> list[str]:
    """A paper-style table: your runs (bold, with the difference to GPT-4o) above the published rows."""
    from genlens.report.summary import source_line

    header = ["model", *summary.columns]
    body = []
    for row in summary.rows:
        cells = []
        for col in summary.columns:
            text = fmt_value(row.values.get(col))
            delta = row.deltas.get(col)
            if row.partial and col == summary.columns[0] and row.values.get(col) is not None:
                text += " (partial)"
            cells.append(f"{text} ({delta:+.3f})" if delta is not None else text)
        label = f"**{row.label}**" if row.kind == "run" else (f"{row.label} (published)" if row.reference else row.label)
        if row.partial:
            label += f" — partial: {row.partial}; not compared with published numbers"
        if row.variant and summary.anchor:
            label += " — not compared: the published rows used the original prompts"
        body.append([label, *cells])
    lines = [f"### {_md_cell(str(summary.suite))}", ""]
    if summary.anchor:
        differences = (f" Differences in brackets are yours minus {summary.anchor.reference_model}'s."
                       if summary.reference is not None else "")
        lines += [html.escape(f"{source_line(summary)}.{differences} {summary.anchor.caveat}".rstrip(), quote=False), ""]
    return [*lines, *_md_table(header, body), ""]


def _md_comparisons(results: list[dict[str, Any]]) -> list[str]:
    from genlens.report.compare import compare_runs

    if not all(r.get("run_dir") for r in results):
        return []
    comparisons = compare_runs(results)
    if not comparisons:
        return []
    header = ["suite", "A", "B", "aligned", "A wins", "B wins", "ties", "Δ (B−A)", "95% interval", "test", "p"]
    body = []
    for c in comparisons:
        interval = f"[{c.diff_interval[0]:+.3f}, {c.diff_interval[1]:+.3f}]" if c.diff_interval else "—"
        p = "—" if c.p_value is None else ("< 0.001" if c.p_value < 0.001 else f"{c.p_value:.3g}")
        diff = "—" if c.diff is None else f"{c.diff:+.3f}"
        body.append([c.suite, f"{c.model_a} ({c.run_a})", f"{c.model_b} ({c.run_b})", str(c.n_pairs), str(c.wins_a),
                     str(c.wins_b), str(c.ties), diff, interval, c.test, p])
    note = ("Images aligned by item and sample. Where an item has several samples the test is paired by item; "
            "samples averaged (cluster bootstrap over items, Δ over items); with one sample per item, McNemar's "
            "exact test for pass/fail and a paired bootstrap for scores.")
    return ["### Paired comparisons", "", note, "", *_md_table(header, body, left=3), ""]


def to_markdown(results: list[dict[str, Any]]) -> str:
    """All metrics side by side, then per-suite tables beside the published rows, then paired comparisons."""
    from genlens.report.summary import summaries

    header, body = _wide(results)
    lines = [*_md_table(header, body, left=3), ""]
    for summary in summaries(results):
        lines += _md_summary(summary)
    lines += _md_comparisons(results)
    return "\n".join(lines).rstrip("\n") + "\n"


def to_json(results: list[dict[str, Any]]) -> str:
    return json.dumps(missing_if_not_finite(results), indent=2, ensure_ascii=False, default=str) + "\n"


#: A text cell starting with one of these is a formula to spreadsheet programs (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading ``'``; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(results: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    fields = ["run", "model", "suite", "scope", "metric", "value", "ci_low", "ci_high"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in long_rows(results):
        writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})
    return buffer.getvalue()
