"""Inline SVG plots drawn here (no CDN, no JS library): bars, radar, curves, ROC, histograms.

Every text that reaches the SVG goes through ``escape``; the functions return ``Markup`` so the
(autoescaping) template embeds them as markup. Values that are not finite numbers (None, NaN, inf,
text from a hand-edited side file) are drawn as missing, never as coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from genlens.report.summary import finite

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
REFERENCE_COLOR = "#222222"


@dataclass
class Series:
    """One named line/bar group; ``reference`` marks the published GPT-4o numbers (drawn dark, dashed)."""

    name: str
    values: Sequence[float | None]  # None / NaN / inf: missing
    color: str = ""
    reference: bool = False


def colour(index: int) -> str:
    """The index-th series colour (matplotlib's tab10 order, cycling)."""
    return PALETTE[index % len(PALETTE)]


def _num(v: float) -> str:
    return f"{v:.1f}"


def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">')
    return Markup(head + "".join(body) + "</svg>")


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    out = []
    for i, s in enumerate(series):
        yy = y + 16 * i
        dash = ' stroke-dasharray="4 2"' if s.reference else ""
        out.append(f'<rect x="{_num(x)}" y="{_num(yy - 9)}" width="12" height="10" fill="{s.color}"{dash}/>'
                   f'<text x="{_num(x + 16)}" y="{_num(yy)}" class="lg">{escape(s.name)}</text>')
    return out


def _with_colours(series: Sequence[Series]) -> list[Series]:
    out, k = [], 0
    for s in series:
        if not s.color:
            s = Series(s.name, s.values, REFERENCE_COLOR if s.reference else colour(k), s.reference)
            k += 0 if s.reference else 1
        out.append(s)
    return out


def _scale_max(series: Sequence[Series]) -> float:
    top = max((v for s in series for v in map(finite, s.values) if v is not None), default=1.0)
    return 1.0 if top <= 1.0 else float(top) * 1.05


def bar_chart(categories: Sequence[str], series: Sequence[Series], title: str = "") -> Markup:
    """Grouped bars: one group per category, one bar per series (value labels on hover)."""
    series = _with_colours(series)
    plot_h, left, top = 180, 40, 24
    group_w = max(40, 14 * len(series) + 16)
    width = left + group_w * len(categories) + 20 + 180
    height = top + plot_h + 60
    vmax = _scale_max(series)
    body = [f'<text x="{left}" y="16" class="tt">{escape(title)}</text>']
    for tick in range(5):
        v = vmax * tick / 4
        y = top + plot_h - plot_h * tick / 4
        body.append(f'<line x1="{left}" x2="{left + group_w * len(categories)}" y1="{_num(y)}" y2="{_num(y)}" class="grid"/>'
                    f'<text x="{left - 4}" y="{_num(y + 4)}" class="ax" text-anchor="end">{v:.2f}</text>')
    bar_w = (group_w - 16) / max(1, len(series))
    for c, category in enumerate(categories):
        gx = left + c * group_w + 8
        for i, s in enumerate(series):
            value = finite(s.values[c])
            if value is None:
                continue
            h = plot_h * max(0.0, value) / vmax
            x, y = gx + i * bar_w, top + plot_h - h
            dash = ' stroke="#000" stroke-dasharray="3 2" fill-opacity="0.35"' if s.reference else ""
            body.append(f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w - 1)}" height="{_num(h)}" fill="{s.color}"{dash}>'
                        f'<title>{escape(s.name)} · {escape(category)}: {value:.3f}</title></rect>')
        cx = gx + (group_w - 16) / 2
        body.append(f'<text x="{_num(cx)}" y="{top + plot_h + 14}" class="ax" text-anchor="end" '
                    f'transform="rotate(-30 {_num(cx)} {top + plot_h + 14})">{escape(category)}</text>')
    body += _legend(series, left + group_w * len(categories) + 24, top + 10)
    return _svg(width, height, body, title or "bar chart")


def radar(axes: Sequence[str], series: Sequence[Series], title: str = "") -> Markup:
    """Radar (spider) chart on a 0..1 scale (or 0..max); needs at least three axes."""
    series = _with_colours(series)
    size, r, pad = 320, 110, 60
    cx, cy = pad + size / 2, size / 2 + 8
    vmax = _scale_max(series)
    n = len(axes)
    body = [f'<text x="8" y="16" class="tt">{escape(title)}</text>']

    def point(i: int, frac: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return cx + r * frac * math.cos(angle), cy + r * frac * math.sin(angle)

    for ring in (0.25, 0.5, 0.75, 1.0):
        pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in (point(i, ring) for i in range(n)))
        body.append(f'<polygon points="{pts}" class="grid" fill="none"/>')
    for i, name in enumerate(axes):
        x, y = point(i, 1.0)
        lx, ly = point(i, 1.18)
        anchor = "middle" if abs(lx - cx) < 10 else ("start" if lx > cx else "end")
        body.append(f'<line x1="{_num(cx)}" y1="{_num(cy)}" x2="{_num(x)}" y2="{_num(y)}" class="grid"/>'
                    f'<text x="{_num(lx)}" y="{_num(ly + 4)}" class="ax" text-anchor="{anchor}">{escape(name)}</text>')
    for s in series:
        pts = " ".join(f"{_num(x)},{_num(y)}" for x, y in
                       (point(i, max(0.0, finite(v) or 0.0) / vmax) for i, v in enumerate(s.values)))
        dash = ' stroke-dasharray="5 3"' if s.reference else ""
        body.append(f'<polygon points="{pts}" fill="{s.color}" fill-opacity="0.12" stroke="{s.color}" stroke-width="2"{dash}>'
                    f'<title>{escape(s.name)}</title></polygon>')
    body += _legend(series, pad + size + 10, 30)
    return _svg(pad + size + 200, size + 20, body, title or "radar chart")


def _x_ticks(xr: tuple[float, float], integer: bool) -> list[float]:
    """Five even ticks, or every integer when the axis counts rounds (at most 12 of them)."""
    if integer and xr[1] - xr[0] <= 11:
        return [float(v) for v in range(int(xr[0]), int(xr[1]) + 1)]
    return [xr[0] + (xr[1] - xr[0]) * t / 4 for t in range(5)]


def _axes(left: float, top: float, w: float, h: float, xr: tuple[float, float], yr: tuple[float, float],
          xlabel: str, ylabel: str, integer_x: bool = False) -> list[str]:
    out = [f'<rect x="{left}" y="{top}" width="{w}" height="{h}" class="frame"/>']
    for xv in _x_ticks(xr, integer_x):
        x = left + w * (xv - xr[0]) / (xr[1] - xr[0])
        out.append(f'<text x="{_num(x)}" y="{_num(top + h + 14)}" class="ax" text-anchor="middle">{xv:.3g}</text>')
    for t in range(5):
        yv = yr[0] + (yr[1] - yr[0]) * t / 4
        y = top + h - h * t / 4
        out.append(f'<text x="{_num(left - 4)}" y="{_num(y + 4)}" class="ax" text-anchor="end">{yv:.3g}</text>'
                   f'<line x1="{left}" x2="{left + w}" y1="{_num(y)}" y2="{_num(y)}" class="grid"/>')
    out.append(f'<text x="{_num(left + w / 2)}" y="{_num(top + h + 30)}" class="ax" text-anchor="middle">{escape(xlabel)}</text>'
               f'<text x="12" y="{_num(top + h / 2)}" class="ax" text-anchor="middle" '
               f'transform="rotate(-90 12 {_num(top + h / 2)})">{escape(ylabel)}</text>')
    return out


def line_chart(lines: Sequence[tuple[str, Sequence[float], Sequence[float]]], *, title: str = "", xlabel: str = "",
               ylabel: str = "", diagonal: bool = False, unit_square: bool = False, markers: bool = True) -> Markup:
    """Lines of (name, xs, ys): multi-round curves, or ROC curves with ``diagonal`` and ``unit_square``."""
    left, top, w, h = 50, 26, 300, 200
    lines = [(name, [finite(x) for x in xs], [finite(y) for y in ys]) for name, xs, ys in lines]
    xs_all = [x for _n, xs, _ys in lines for x in xs if x is not None]
    ys_all = [y for _n, _xs, ys in lines for y in ys if y is not None]
    if unit_square or not xs_all:
        xr, yr = (0.0, 1.0), (0.0, 1.0)
    else:
        xr = (min(xs_all), max(xs_all) if max(xs_all) > min(xs_all) else min(xs_all) + 1)
        ylo, yhi = (min(0.0, min(ys_all)), max(ys_all)) if ys_all else (0.0, 1.0)
        yr = (ylo, 1.0 if yhi <= 1.0 else yhi * 1.05)
    integer_x = bool(xs_all) and all(float(x).is_integer() for x in xs_all)
    body = [f'<text x="{left}" y="16" class="tt">{escape(title)}</text>',
            *_axes(left, top, w, h, xr, yr, xlabel, ylabel, integer_x=integer_x and not unit_square)]

    def px(x: float, y: float) -> str:
        return f"{_num(left + w * (x - xr[0]) / (xr[1] - xr[0]))},{_num(top + h - h * (y - yr[0]) / (yr[1] - yr[0]))}"

    if diagonal:
        body.append(f'<polyline points="{px(0, 0)} {px(1, 1)}" class="diag" fill="none"/>')
    series = []
    for i, (name, xs, ys) in enumerate(lines):
        color = colour(i)
        pairs = [(x, y) for x, y in zip(xs, ys, strict=False) if x is not None and y is not None]
        body.append(f'<polyline points="{" ".join(px(x, y) for x, y in pairs)}" fill="none" stroke="{color}" '
                    f'stroke-width="2"><title>{escape(name)}</title></polyline>')
        if markers and len(pairs) <= 30:
            body += [f'<circle cx="{px(x, y).split(",")[0]}" cy="{px(x, y).split(",")[1]}" r="3" fill="{color}">'
                     f'<title>{escape(name)}: {x:.3g} → {y:.3f}</title></circle>' for x, y in pairs]
        series.append(Series(name, [], color))
    body += _legend(series, left + w + 16, top + 10)
    return _svg(left + w + 220, top + h + 40, body, title or "line chart")


def histogram(edges: Sequence[float], counts: dict[str, Sequence[float]], *, title: str = "", xlabel: str = "") -> Markup:
    """Overlaid per-class histograms on shared bins (``edges`` has one more entry than each count list,
    or equals it when the bins are given by their left edges)."""
    left, top, w, h = 50, 26, 320, 180
    counts = {name: [finite(v) for v in values] for name, values in counts.items()}
    nbins = max((len(c) for c in counts.values()), default=0)
    if nbins == 0:
        return _svg(10, 10, [], title or "histogram")
    bounds = [finite(e) for e in edges]
    if None in bounds or not bounds:
        bounds = [float(i) for i in range(nbins + 1)]  # unusable edges: number the bins instead
    lo = bounds[0]
    hi = bounds[-1] if len(bounds) > nbins else bounds[-1] + (bounds[-1] - lo) / max(1, nbins - 1)
    if not hi > lo:
        hi = lo + 1.0
    ymax = max((v for c in counts.values() for v in c if v is not None), default=1.0) or 1.0
    body = [f'<text x="{left}" y="16" class="tt">{escape(title)}</text>', *_axes(left, top, w, h, (lo, hi), (0, ymax), xlabel, "images")]
    bw = w / nbins
    series = []
    for k, (name, values) in enumerate(counts.items()):
        color = colour(k)
        for i, v in enumerate(values):
            if v is None:
                continue
            bh = h * max(0.0, v) / ymax
            body.append(f'<rect x="{_num(left + i * bw)}" y="{_num(top + h - bh)}" width="{_num(bw - 1)}" height="{_num(bh)}" '
                        f'fill="{color}" fill-opacity="0.5"><title>{escape(name)} bin {i}: {v:g}</title></rect>')
        series.append(Series(str(name), [], color))
    body += _legend(series, left + w + 16, top + 10)
    return _svg(left + w + 200, top + h + 40, body, title or "histogram")
