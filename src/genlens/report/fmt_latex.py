"""``genlens report … --format latex``: booktabs tables to paste into a paper.

One ``table`` per suite, built from the same summaries as the HTML page: a row per run (and the
published rows beside them when the suite has anchors), the headline column with its interval when
``results.json`` has one, then the categories. A partial run's number carries a dagger and its
coverage in the table notes; a missing value is an em dash. Every string is escaped for LaTeX.
Needs ``\\usepackage{booktabs}`` (the output's first comment line says so).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from genlens.report.summary import SuiteSummary, summaries

_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
}


def escape(text: Any) -> str:
    """Plain text as LaTeX (the ten special characters and < > made literal; newlines become spaces)."""
    return "".join(_SPECIALS.get(ch, ch) for ch in str(text).replace("\r", " ").replace("\n", " "))


def number(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "---"
    return f"{value:.{digits}f}"


def _interval(result: dict[str, Any] | None, name: str | None) -> tuple[float, float] | None:
    if not result or not name:
        return None
    interval = (result.get("intervals") or {}).get(name)
    if isinstance(interval, list | tuple) and len(interval) == 2 and all(isinstance(v, int | float) for v in interval):
        return float(interval[0]), float(interval[1])
    return None


def suite_table(summary: SuiteSummary, results: list[dict[str, Any]]) -> str:
    """One booktabs table for a suite: rows are runs (then published rows), columns the headline and categories."""
    by_run = {str(r.get("run")): r for r in results}
    columns = summary.columns
    head_col = columns[0] if columns else None
    spec = "l" + "r" * len(columns)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\caption{{{escape(summary.title)}}}",
        rf"\label{{tab:genlens-{escape(summary.suite).replace(chr(92), '')}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(["Model", *(escape(c) for c in columns)]) + r" \\",
        r"\midrule",
    ]
    notes: list[str] = []
    runs, anchors = summary.run_rows, summary.anchor_rows
    for row in runs:
        result = by_run.get(row.run or "")
        cells = [escape(row.label)]
        for column in columns:
            value = row.values.get(column)
            cell = number(value)
            if column == head_col and value is not None:
                interval = _interval(result, summary.headline)
                if interval and row.partial is None:
                    cell += f" [{number(interval[0])}, {number(interval[1])}]"
                if row.partial is not None:
                    cell += r"$^\dagger$"
            cells.append(cell)
        lines.append(" & ".join(cells) + r" \\")
        if row.partial is not None:
            notes.append(rf"$^\dagger${escape(row.label)}: partial run ({escape(row.partial)}); not comparable with published numbers.")
    if anchors:
        lines.append(r"\midrule")
        for row in anchors:
            lines.append(" & ".join([escape(row.label), *(number(row.values.get(c)) for c in columns)]) + r" \\")
        from genlens.report.summary import source_line

        notes.append(escape(source_line(summary)))
    lines += [r"\bottomrule", r"\end{tabular}"]
    if any(_interval(by_run.get(r.run or ""), summary.headline) for r in runs):
        notes.insert(0, "Brackets: 95\\% interval of the headline, as recorded in results.json.")
    if notes:
        lines.append(r"\par\smallskip\footnotesize " + r" \\ ".join(notes))
    lines.append(r"\end{table}")
    return "\n".join(lines)


def render_latex(results: list[dict[str, Any]]) -> str:
    """Every suite's table, one after another (a ``%`` comment names what the preamble needs)."""
    header = "% genlens report: tables need \\usepackage{booktabs} in the preamble\n"
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for res in results:
        by_suite.setdefault(str(res.get("suite")), []).append(res)
    tables = [suite_table(summary, by_suite[summary.suite]) for summary in summaries(results)]
    return header + "\n\n".join(tables) + "\n"


def render(results: list[dict[str, Any]], out: Path | None) -> str:
    """The report-format hook (``genlens.report.render``): the LaTeX text (written to ``--out`` by the caller)."""
    return render_latex(results)
