"""``genlens report … --figures DIR``: each suite's figures as SVG and PDF files, drawn with matplotlib.

Per suite: the headline of every run (and the published rows) as bars with the interval from
``results.json`` as error bars, and the categories as grouped bars, one colour and hatch per run so
overlapping series stay distinguishable in print. A partial run is drawn hollow, labelled with its
coverage, and never set against a published bar. Ticks come from matplotlib's MaxNLocator (nice
steps); legends sit outside the axes so they are never cut.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from genlens.errors import GenlensError, SpecError
from genlens.report.summary import SuiteSummary, summaries

HATCHES = ("", "//", "..", "xx", "\\\\", "--", "++", "oo")


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SpecError("--figures needs matplotlib", fix="pip install 'genlens[report]' (or pip install matplotlib)") from None
    return plt


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "suite"


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None


def headline_bars(summary: SuiteSummary, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bars of the headline figure: label, value, interval (low, high) or None, partial coverage, kind."""
    by_run = {str(r.get("run")): r for r in results}
    column = summary.columns[0] if summary.columns else None
    bars = []
    for row in summary.rows:
        value = _finite(row.values.get(column)) if column else None
        interval = None
        if row.kind == "run" and row.partial is None:
            raw = ((by_run.get(row.run or "") or {}).get("intervals") or {}).get(summary.headline or "")
            if isinstance(raw, list | tuple) and len(raw) == 2 and all(_finite(v) is not None for v in raw):
                interval = (float(raw[0]), float(raw[1]))
        bars.append({"label": row.label, "value": value, "interval": interval, "partial": row.partial, "kind": row.kind})
    return bars


def _headline_figure(plt: Any, summary: SuiteSummary, results: list[dict[str, Any]]) -> Any:
    from matplotlib.ticker import MaxNLocator

    bars = [b for b in headline_bars(summary, results) if b["value"] is not None]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(bars) + 2), 3.2))
    for index, bar in enumerate(bars):
        hollow = bar["partial"] is not None
        colour = "#4c72b0" if bar["kind"] == "run" else "#999999"
        kwargs: dict[str, Any] = {"color": "white" if hollow else colour, "edgecolor": colour, "linewidth": 1.2,
                                  "hatch": "//" if hollow else ""}
        if bar["interval"]:
            low, high = bar["interval"]
            kwargs["yerr"] = [[max(0.0, bar["value"] - low)], [max(0.0, high - bar["value"])]]
            kwargs["capsize"] = 4
        ax.bar(index, bar["value"], **kwargs)
        if hollow:
            ax.annotate(f"partial: {bar['partial']}", (index, bar["value"]), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=6, rotation=90, va="bottom")
    ax.set_xticks(range(len(bars)), [b["label"] for b in bars], rotation=30, ha="right", fontsize=7)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_ylabel(summary.headline or (summary.columns[0] if summary.columns else "value"))
    ax.set_title(summary.title, fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _category_figure(plt: Any, summary: SuiteSummary) -> Any | None:
    from matplotlib.ticker import MaxNLocator

    categories = summary.columns[1:]
    rows = [r for r in summary.rows if any(_finite(r.values.get(c)) is not None for c in categories)]
    if not categories or not rows:
        return None
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(categories) * max(1, len(rows)) / 2 + 3), 3.4))
    width = 0.8 / len(rows)
    cmap = plt.get_cmap("tab10")
    for index, row in enumerate(rows):
        xs = [c + (index - (len(rows) - 1) / 2) * width for c in range(len(categories))]
        values = [_finite(row.values.get(c)) for c in categories]
        ax.bar([x for x, v in zip(xs, values, strict=True) if v is not None], [v for v in values if v is not None],
               width=width, label=row.label + (" (partial)" if row.partial else ""), color=cmap(index % 10),
               hatch=HATCHES[index % len(HATCHES)], edgecolor="black", linewidth=0.4)
    ax.set_xticks(range(len(categories)), categories, rotation=30, ha="right", fontsize=7)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.set_title(f"{summary.title}: by category", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def write_figures(results: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write ``<suite>_headline.{svg,pdf}`` and ``<suite>_categories.{svg,pdf}``; return the files written."""
    plt = _pyplot()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenlensError(f"cannot create the figures folder ({exc.strerror})", path=out_dir,
                           fix="choose a writable --figures folder") from None
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for res in results:
        by_suite.setdefault(str(res.get("suite")), []).append(res)
    written: list[Path] = []
    for summary in summaries(results):
        figures = {"headline": _headline_figure(plt, summary, by_suite[summary.suite]), "categories": _category_figure(plt, summary)}
        for kind, fig in figures.items():
            if fig is None:
                continue
            for ext in ("svg", "pdf"):
                path = out_dir / f"{_slug(summary.suite)}_{kind}.{ext}"
                try:
                    fig.savefig(path, format=ext, bbox_inches="tight", metadata={"Date": None} if ext == "svg" else None)
                except OSError as exc:
                    raise GenlensError(f"cannot write a figure ({exc.strerror})", path=path,
                                       fix="choose a writable --figures folder with free space") from None
                written.append(path)
            plt.close(fig)
    return written
