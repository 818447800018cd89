"""Tables of one or more runs: terminal, Markdown, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.table import Table


def fmt_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def long_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (run, suite, scope, metric): scope is ``headline``, ``run`` or a category."""
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
    for index, res in enumerate(results):
        for row in long_rows([res]):
            if row["metric"] == "n" and row["scope"] == "headline":
                continue
            key = (row["suite"], row["scope"], row["metric"])
            keyed.setdefault(key, [None] * len(results))[index] = row["value"]
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
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(results: list[dict[str, Any]]) -> str:
    header, body = _wide(results)
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |",
             "|" + "|".join("---" if i < 3 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def to_json(results: list[dict[str, Any]]) -> str:
    return json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n"


def to_csv(results: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    fields = ["run", "model", "suite", "scope", "metric", "value", "ci_low", "ci_high"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in long_rows(results):
        writer.writerow(row)
    return buffer.getvalue()
