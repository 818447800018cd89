"""``genlens report … --figures DIR``: each suite's figures as SVG and PDF files, drawn with matplotlib.

Per suite: the headline of every run (and the published rows) as bars with the interval from
``results.json`` as error bars, and the categories as grouped bars, one colour and hatch per run so
overlapping series stay distinguishable in print. A partial run is drawn hollow, labelled with its
coverage, and never set against a published bar. Ticks come from matplotlib's MaxNLocator (nice
steps); legends sit outside the axes so they are never cut.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from dataclasses import dataclass
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


def _text(value: Any) -> str:
    """Literal text for matplotlib: ``$`` would start mathtext (a model name is never a formula)."""
    return str(value).replace("$", r"\$")


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None


def headline_bars(summary: SuiteSummary, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bars of the headline figure: label, value, interval (low, high) or None, partial coverage, kind."""
    column = summary.columns[0] if summary.columns else None
    bars = []
    # run rows follow ``results`` in order (two runs may share a directory name, so never match by name)
    run_results = iter(results)
    for row in summary.rows:
        value = _finite(row.values.get(column)) if column else None
        interval = None
        result = next(run_results, {}) if row.kind == "run" else {}
        if row.kind == "run" and row.partial is None:
            raw = (result.get("intervals") or {}).get(summary.headline or "")
            if isinstance(raw, list | tuple) and len(raw) == 2 and all(_finite(v) is not None for v in raw):
                interval = (float(raw[0]), float(raw[1]))
        bars.append({"label": row.label, "value": value, "interval": interval, "partial": row.partial, "kind": row.kind})
    return bars


def _headline_figure(plt: Any, summary: SuiteSummary, results: list[dict[str, Any]], marks: dict[str, dict[str, Any]] | None = None,
                     prefix: str = "fig", all_published: bool = True) -> Any:
    """Bars of each run's headline (published rows grey), the results.json interval as an error bar.

    With ``marks``, each bar and error bar gets an SVG id (``<prefix>-bar-<i>`` / ``<prefix>-err-<i>``) and
    ``marks[id]`` the numbers it draws, which :func:`svg_text` writes as ``data-*`` attributes."""
    from matplotlib.ticker import MaxNLocator

    reference = summary.reference.label if summary.reference is not None else None
    bars = [b for b in headline_bars(summary, results) if b["value"] is not None
            and (all_published or b["kind"] == "run" or b["label"] == reference)]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(bars) + 2), 3.2))
    for index, bar in enumerate(bars):
        hollow = bar["partial"] is not None
        colour = "#4c72b0" if bar["kind"] == "run" else "#999999"
        drawn = ax.bar(index, bar["value"], color="white" if hollow else colour, edgecolor=colour, linewidth=1.2,
                       hatch="//" if hollow else "")
        gid = f"{prefix}-bar-{index}"
        drawn.patches[0].set_gid(gid)
        if marks is not None:
            marks[gid] = {"data-label": bar["label"], "data-value": bar["value"], "data-kind": bar["kind"],
                          "data-partial": bar["partial"] or ""}
        if bar["interval"]:
            low, high = bar["interval"]
            err = ax.errorbar(index, bar["value"], yerr=[[max(0.0, bar["value"] - low)], [max(0.0, high - bar["value"])]],
                              fmt="none", ecolor="black", capsize=4, elinewidth=1.2)
            err.lines[2][0].set_gid(f"{prefix}-err-{index}")
            if marks is not None:
                marks[f"{prefix}-err-{index}"] = {"data-label": bar["label"], "data-value": bar["value"], "data-lo": low,
                                                  "data-hi": high, "data-metric": summary.headline or ""}
        if hollow:
            ax.annotate(_text(f"partial: {bar['partial']}"), (index, bar["value"]), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=6, rotation=90, va="bottom")
    ax.set_xticks(range(len(bars)), [_text(b["label"]) for b in bars], rotation=30, ha="right", fontsize=7)
    ax.set_xlim(-0.75, max(len(bars), 3) - 0.25)  # one or two bars stay bar-wide, not axis-wide
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    if all(b["value"] >= 0 for b in bars):
        ax.set_ylim(bottom=0)  # bars start at zero, so their heights are comparable
    ax.set_ylabel(_text(summary.headline or (summary.columns[0] if summary.columns else "value")))
    ax.set_title(_text(summary.title), fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def _category_figure(plt: Any, summary: SuiteSummary, marks: dict[str, dict[str, Any]] | None = None,
                     prefix: str = "fig", all_published: bool = True) -> Any | None:
    """Grouped bars per category; ``all_published=False`` keeps only GPT-4o's published row beside the runs."""
    from matplotlib.ticker import MaxNLocator

    categories = summary.columns[1:]
    rows = [r for r in summary.rows if any(_finite(r.values.get(c)) is not None for c in categories)
            and (all_published or r.kind == "run" or r.reference)]
    if not categories or not rows:
        return None
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(categories) * max(1, len(rows)) / 2 + 3), 3.4))
    width = 0.8 / len(rows)
    cmap = plt.get_cmap("tab10")
    for index, row in enumerate(rows):
        xs = [c + (index - (len(rows) - 1) / 2) * width for c in range(len(categories))]
        values = [_finite(row.values.get(c)) for c in categories]
        kept = [(x, v, c) for x, v, c in zip(xs, values, categories, strict=True) if v is not None]
        drawn = ax.bar([x for x, _v, _c in kept], [v for _x, v, _c in kept],
                       width=width, label=_text(row.label + (" (partial)" if row.partial else "")), color=cmap(index % 10),
                       hatch=HATCHES[index % len(HATCHES)], edgecolor="black", linewidth=0.4)
        for patch, (_x, value, category) in zip(drawn.patches, kept, strict=True):
            gid = f"{prefix}-cat-{index}-{categories.index(category)}"
            patch.set_gid(gid)
            if marks is not None:
                marks[gid] = {"data-label": row.label, "data-category": category, "data-value": value}
    ax.set_xticks(range(len(categories)), [_text(c) for c in categories], rotation=30, ha="right", fontsize=7)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    if all((_finite(r.values.get(c)) or 0.0) >= 0 for r in rows for c in categories):
        ax.set_ylim(bottom=0)
    ax.set_title(_text(f"{summary.title}: by category"), fontsize=9)
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


@dataclass
class PageFigure:
    """One figure for the HTML page: inline SVG (with ``data-*`` marks) and both downloads as data URIs."""

    suite: str
    kind: str  # "headline" | "categories"
    filename: str  # stem of the download, e.g. geneval_headline
    svg: str
    svg_uri: str
    pdf_uri: str


_TAG = re.compile(r"<[^<>]*>")  # markup only: text content (labels, titles) is never rewritten
_ID = re.compile(r'\sid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^")]+)')


def svg_text(fig: Any, marks: dict[str, dict[str, Any]], prefix: str) -> str:
    """The figure as a standalone SVG document whose ids are unique within a page (``prefix``-ed), with every
    marked element carrying its numbers as ``data-*`` attributes (text stays text: small and searchable)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": prefix}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # drop the XML declaration and DOCTYPE (added back for the download)
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)  # RDF block with matplotlib's URL
    tags = _TAG.findall(text)
    referenced = {ref for tag in tags for _kind, ref in _REF.findall(tag)}

    def rewrite(match: re.Match[str]) -> str:
        tag = match.group(0).replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "").replace("xlink:href=", "href=")

        def one_id(found: re.Match[str]) -> str:
            ident = found.group(1)
            if ident in marks:
                attrs = "".join(f' {name}="{html.escape(_attr(value), quote=True)}"' for name, value in marks[ident].items())
                return f' id="{ident}"{attrs}'
            if ident in referenced:
                return f' id="{prefix}-{ident}"'
            return ""  # matplotlib's own element ids would repeat across the page's figures

        tag = _REF.sub(lambda ref: f"{ref.group(1)}{prefix}-{ref.group(2)}", tag)
        return _ID.sub(one_id, tag)  # after the references: the data-* values added here are never rewritten

    text = _TAG.sub(rewrite, text)
    return text.replace("<svg ", f'<svg class="plot mpl" data-figure="{html.escape(prefix, quote=True)}" ', 1)


def _attr(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _page_figure(fig: Any, marks: dict[str, dict[str, Any]], prefix: str, suite: str, kind: str, filename: str) -> PageFigure:
    """Inline SVG plus SVG and PDF downloads (data URIs) of ``fig``, which is closed afterwards."""
    plt = _pyplot()
    svg = svg_text(fig, marks, prefix)
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf", bbox_inches="tight", metadata={"CreationDate": None})
    plt.close(fig)
    document = '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n' + svg
    return PageFigure(suite=suite, kind=kind, filename=_slug(filename), svg=svg,
                      svg_uri="data:image/svg+xml;base64," + base64.b64encode(document.encode("utf-8")).decode("ascii"),
                      pdf_uri="data:application/pdf;base64," + base64.b64encode(pdf.getvalue()).decode("ascii"))


def page_figures(results: list[dict[str, Any]]) -> dict[str, list[PageFigure]]:
    """Per suite, the same figures ``--figures`` writes, ready to inline in the HTML page."""
    plt = _pyplot()
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for res in results:
        by_suite.setdefault(str(res.get("suite")), []).append(res)
    out: dict[str, list[PageFigure]] = {}
    for number, summary in enumerate(summaries(results), start=1):
        prefix = f"f{number}"
        marks: dict[str, dict[str, Any]] = {}
        figures = {"headline": _headline_figure(plt, summary, by_suite[summary.suite], marks, prefix=f"{prefix}h",
                                                 all_published=False),
                   "categories": _category_figure(plt, summary, marks, prefix=f"{prefix}c", all_published=False)}
        for kind, fig in figures.items():
            if fig is not None:
                out.setdefault(summary.suite, []).append(
                    _page_figure(fig, marks, f"{prefix}{kind[0]}", summary.suite, kind, f"{summary.suite}_{kind}"))
    return out


def line_figure(lines: list[tuple[str, list[Any], list[Any]]], *, prefix: str, suite: str, filename: str, title: str,
                xlabel: str, ylabel: str, diagonal: bool = False, unit_square: bool = False, markers: bool = True) -> PageFigure | None:
    """Lines of (name, xs, ys): multi-round curves or ROC curves. Each series gets its own colour, line style and
    marker, and later series are drawn thinner on top, so identical lines stay visible; the legend sits outside."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    clean = []
    for name, xs, ys in lines:
        pairs = [(_finite(x), _finite(y)) for x, y in zip(xs, ys, strict=False)]
        pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
        if pairs:
            clean.append((name, pairs))
    if not clean:
        return None
    fig, ax = plt.subplots(figsize=(5.6, 3.2))
    marks: dict[str, dict[str, Any]] = {}
    cmap = plt.get_cmap("tab10")
    if diagonal:
        ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1, label="chance")
    for index, (name, pairs) in enumerate(clean):
        xs, ys = [x for x, _y in pairs], [y for _x, y in pairs]
        (line,) = ax.plot(xs, ys, color=cmap(index % 10), linestyle=LINESTYLES[index % len(LINESTYLES)],
                          linewidth=max(1.0, 3.0 - 0.6 * index), marker=MARKERS[index % len(MARKERS)] if markers and len(xs) <= 30 else None,
                          markersize=5, label=_text(name), zorder=2 + index)
        gid = f"{prefix}-line-{index}"
        line.set_gid(gid)
        marks[gid] = {"data-label": name, "data-x": json_list(xs), "data-y": json_list(ys)}
    if unit_square:
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        all_x = [x for _n, pairs in clean for x, _y in pairs]
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=all(float(x).is_integer() for x in all_x)))
    ax.set_xlabel(_text(xlabel))
    ax.set_ylabel(_text(ylabel))
    ax.set_title(_text(title), fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _page_figure(fig, marks, prefix, suite, "lines", filename)


def json_list(values: list[Any]) -> str:
    """Numbers as a compact JSON list for a ``data-*`` attribute (missing ones as null)."""
    return "[" + ",".join("null" if _finite(v) is None else repr(float(v)) for v in values) + "]"


def histogram_figure(edges: list[Any], counts: dict[str, list[Any]], *, prefix: str, suite: str, filename: str, title: str,
                     xlabel: str) -> PageFigure | None:
    """Per-class histograms on shared bins as outlined steps over a light fill (overlaps stay readable)."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    series = {str(k): [_finite(v) for v in values] for k, values in counts.items() if isinstance(values, list) and values}
    if not series:
        return None
    nbins = max(len(v) for v in series.values())
    bounds = [_finite(e) for e in edges]
    if not bounds or None in bounds:
        bounds = [float(i) for i in range(nbins + 1)]
    if len(bounds) == nbins:  # left edges only: add the last right edge
        step = (bounds[-1] - bounds[0]) / max(1, nbins - 1) or 1.0
        bounds = [*bounds, bounds[-1] + step]
    if len(bounds) != nbins + 1:
        bounds = [float(i) for i in range(nbins + 1)]
    fig, ax = plt.subplots(figsize=(5.6, 3.0))
    marks: dict[str, dict[str, Any]] = {}
    cmap = plt.get_cmap("tab10")
    for index, (name, values) in enumerate(series.items()):
        values = values + [None] * (nbins - len(values))
        drawn_values = [math.nan if v is None else v for v in values]  # a missing count is a gap, never a zero
        ax.stairs(drawn_values, bounds, fill=True, alpha=0.18, color=cmap(index % 10))
        drawn = ax.stairs(drawn_values, bounds, color=cmap(index % 10), linestyle=LINESTYLES[index % len(LINESTYLES)],
                          linewidth=1.6, label=_text(name))
        gid = f"{prefix}-hist-{index}"
        drawn.set_gid(gid)
        marks[gid] = {"data-label": name, "data-counts": json_list(values), "data-edges": json_list(bounds)}
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.set_xlabel(_text(xlabel))
    ax.set_ylabel("images")
    ax.set_title(_text(title), fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _page_figure(fig, marks, prefix, suite, "histogram", filename)


def radar_figure(axes: list[str], series: list[tuple[str, list[float]]], *, prefix: str, title: str) -> PageFigure | None:
    """A radar over at least five comparable axes (fewer read better as bars: None)."""
    import numpy as np

    if len(axes) < 5 or not series:
        return None
    plt = _pyplot()
    angles = np.linspace(0, 2 * np.pi, len(axes), endpoint=False).tolist()
    fig, ax = plt.subplots(figsize=(5.6, 4.2), subplot_kw={"polar": True})
    marks: dict[str, dict[str, Any]] = {}
    cmap = plt.get_cmap("tab10")
    for index, (name, values) in enumerate(series):
        (line,) = ax.plot([*angles, angles[0]], [*values, values[0]], color=cmap(index % 10), linewidth=max(1.0, 2.6 - 0.4 * index),
                          linestyle=LINESTYLES[index % len(LINESTYLES)], marker=MARKERS[index % len(MARKERS)], markersize=4,
                          label=_text(name))
        line.set_gid(f"{prefix}-radar-{index}")
        marks[f"{prefix}-radar-{index}"] = {"data-label": name, "data-values": json_list(values)}
    ax.set_xticks(angles, [_text(a) for a in axes], fontsize=7)
    ax.set_title(_text(title), fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.08, 1.0), frameon=False)
    return _page_figure(fig, marks, prefix, "all", "radar", "headline_per_suite")
