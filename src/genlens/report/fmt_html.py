"""`genlens report … --format html`: one self-contained page (tables, SVG plots, thumbnail galleries).

The page works offline from disk: no CDN, thumbnails are embedded data URIs, full images are
linked by relative path. Jinja2 autoescaping is always on, so prompts, judge responses and file
names are shown as text, never interpreted.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from genlens import __version__
from genlens.report.aligned import AlignedGallery, aligned_gallery, tiles_of
from genlens.report.anchors import PAPER
from genlens.report.compare import Comparison, compare_runs, load_rows
from genlens.report.facts import RunFacts, run_facts
from genlens.report.figures import PageFigure, histogram_figure, line_figure, page_figures, radar_figure
from genlens.report.gallery import PER_SIDE, CategoryGallery, fill_tiles, plan, relative_href
from genlens.report.overview import MetricLine, metric_lines, overview
from genlens.report.summary import SuiteSummary, by_suite, delta_class, finite, headline_value, is_number, summaries

TEMPLATES = Path(__file__).parent / "templates"
MIN_RADAR_AXES = 5  # a radar with fewer comparable axes draws a shape that means nothing
OPEN_SUITES = 4  # with more suites than this, suite sections start collapsed (the summary and contents lead to them)
DETECT_JSON = "detect.json"
PROBE_JSON = "probe.json"


@dataclass
class RunView:
    """One run as the page shows it."""

    index: int
    result: dict[str, Any]
    rows: list[dict[str, Any]]
    href: str
    detect: list[dict[str, Any]] = field(default_factory=list)
    detect_info: dict[str, Any] = field(default_factory=dict)  # detect.json's scalars: real set, normalisation …
    probe: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)  # unreadable side files
    galleries: list[CategoryGallery] = field(default_factory=list)
    facts: RunFacts | None = None

    @property
    def anchor_id(self) -> str:
        return f"run{self.index}"

    @property
    def label(self) -> str:
        return f"{self.result.get('model')} ({self.result.get('run')})"


@dataclass
class SuiteView:
    """Everything one suite's section shows."""

    summary: SuiteSummary
    runs: list[RunView]
    plots: list[Any]
    comparisons: list[Comparison]
    number: int = 0
    figures: list[PageFigure] = field(default_factory=list)
    metrics: list[MetricLine] = field(default_factory=list)
    aligned: AlignedGallery | None = None


def _read_json(path: Path, notes: list[str]) -> Any:
    """A side file's JSON, None when absent; unreadable ones leave a note for the page instead of failing."""
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"{path.name} could not be read ({type(exc).__name__}); its section is left out")
        return None


class _BadNumbers:
    """Counts side-file values that should be numbers but are not (text, NaN, inf); they become None."""

    def __init__(self) -> None:
        self.count = 0

    def number(self, value: Any) -> float | int | None:
        """The value when it is a finite number (an int stays an int, so counts print as counts), else None."""
        if value is None:
            return None
        if finite(value) is None:
            self.count += 1
            return None
        return value

    def numbers(self, values: Any) -> list[float | int | None]:
        if not isinstance(values, list | tuple):
            self.count += values is not None
            return []
        return [self.number(v) for v in values]

    def mapping(self, values: Any) -> dict[str, float | int | None]:
        if not isinstance(values, dict):
            self.count += values is not None
            return {}
        return {str(k): self.number(v) for k, v in values.items()}

    def note(self, notes: list[str] | None, name: str) -> None:
        if self.count and notes is not None:
            notes.append(f"{name}: {self.count} value(s) that are not finite numbers are shown as missing")


def _interval(bad: _BadNumbers, value: Any) -> list[float | int | None] | None:
    bounds = bad.numbers(value)
    return bounds if len(bounds) == 2 and None not in bounds else None


def _clean_detector(body: dict[str, Any], bad: _BadNumbers) -> dict[str, Any]:
    """A detector's numbers checked: metrics, intervals, ROC points and robustness values (bad ones -> None)."""
    out = {k: v for k, v in body.items() if k not in ("name", "metrics", "intervals", "roc", "robustness")}
    out["metrics"] = bad.mapping(body.get("metrics"))
    intervals = body.get("intervals") if isinstance(body.get("intervals"), dict) else {}
    out["intervals"] = {str(k): iv for k, iv in ((k, _interval(bad, v)) for k, v in intervals.items()) if iv}
    roc = body.get("roc")
    if isinstance(roc, dict):
        out["roc"] = {"fpr": bad.numbers(roc.get("fpr")), "tpr": bad.numbers(roc.get("tpr"))}
    robustness = body.get("robustness")
    if isinstance(robustness, dict):
        out["robustness"] = {str(cond): bad.mapping(vals) if isinstance(vals, dict) else bad.number(vals)
                             for cond, vals in robustness.items()}
    return out


def detectors_of(data: Any, notes: list[str] | None = None) -> list[dict[str, Any]]:
    """detect.json's detectors as a list of {name, metrics, intervals, roc, robustness} (list or mapping form).

    Values that should be numbers but are not (text, NaN, inf) become missing, with a note in ``notes``.
    """
    if not isinstance(data, dict):
        return []
    detectors = data.get("detectors", {})
    if isinstance(detectors, dict):
        items = list(detectors.items())
    elif isinstance(detectors, list):
        items = [(d.get("name", f"detector {i}"), d) for i, d in enumerate(detectors) if isinstance(d, dict)]
    else:
        items = []
    bad = _BadNumbers()
    out = [{"name": str(name), **_clean_detector(body, bad)} for name, body in items if isinstance(body, dict)]
    bad.note(notes, DETECT_JSON)
    return out


def probe_of(data: Any, notes: list[str] | None = None) -> dict[str, Any] | None:
    """probe.json with its numbers checked (histogram, class shares, held-out accuracy); bad ones -> missing, noted."""
    if not isinstance(data, dict):
        return None
    bad = _BadNumbers()
    out = dict(data)
    hist = data.get("histogram")
    if isinstance(hist, dict):
        counts = hist.get("counts") if isinstance(hist.get("counts"), dict) else {}
        out["histogram"] = {**hist, "bins": bad.numbers(hist.get("bins")),
                            "counts": {str(k): bad.numbers(v) for k, v in counts.items()}}
    if "distribution" in data:
        out["distribution"] = bad.mapping(data["distribution"])
    heldout = data.get("heldout")
    if isinstance(heldout, dict):
        n_images = heldout.get("n_images")
        out["heldout"] = {**heldout, "accuracy": bad.number(heldout.get("accuracy")),
                          "interval": _interval(bad, heldout.get("interval")),
                          "n_images": n_images if isinstance(n_images, int) and not isinstance(n_images, bool)
                          else bad.number(n_images)}
    for key, value in data.items():
        if is_number(value):  # top-level scalars are shown as "key: value" lines
            out[key] = bad.number(value)
    bad.note(notes, PROBE_JSON)
    return out


def detect_info(data: Any) -> dict[str, Any]:
    """The top-level facts of detect.json a reader needs beside the numbers (scalars and short descriptions)."""
    if not isinstance(data, dict):
        return {}
    info = {k: data[k] for k in ("n_generated", "n_real", "real_dir", "threshold", "normalisation")
            if isinstance(data.get(k), str | int | float)}
    if isinstance(data.get("perturbations"), dict):
        info["perturbations"] = "; ".join(f"{k}: {v}" for k, v in data["perturbations"].items())
    return info


def load_views(results: list[dict[str, Any]], base: Path) -> list[RunView]:
    """Each run's rows and side files (detect.json, probe.json), with links relative to ``base``."""
    views = []
    for index, res in enumerate(results):
        run_dir = Path(res["run_dir"])
        view = RunView(index=index, result=res, rows=load_rows(run_dir), href=relative_href(run_dir, base) + "/")
        detect = _read_json(run_dir / DETECT_JSON, view.notes)
        view.detect = detectors_of(detect, view.notes)
        view.detect_info = detect_info(detect)
        probe = _read_json(run_dir / PROBE_JSON, view.notes)
        view.probe = probe_of(probe, view.notes)
        views.append(view)
    return views


def _curve_plots(views: list[RunView], number: int) -> list[PageFigure]:
    """Multi-round curves from results.extra['curves']: one chart per metric, one line per run."""
    metrics: dict[str, list[tuple[str, list[Any], list[Any]]]] = {}
    for view in views:
        curves = (view.result.get("extra") or {}).get("curves") or {}
        for metric, curve in curves.items() if isinstance(curves, dict) else ():
            if isinstance(curve, dict) and isinstance(curve.get("rounds"), list) and isinstance(curve.get("values"), list) \
                    and curve["rounds"] and curve["values"]:
                metrics.setdefault(str(metric), []).append((view.label, list(curve["rounds"]), list(curve["values"])))
    suite = str(views[0].result.get("suite")) if views else ""
    out = [line_figure(lines, prefix=f"f{number}l{k}", suite=suite, filename=f"{suite}_{metric}_by_round",
                       title=f"{metric} by round", xlabel="round", ylabel=metric)
           for k, (metric, lines) in enumerate(metrics.items())]
    return [f for f in out if f is not None]


def _roc_plots(views: list[RunView], number: int) -> list[PageFigure]:
    out = []
    for k, view in enumerate(views):
        lines = [(d["name"], list(d["roc"]["fpr"]), list(d["roc"]["tpr"])) for d in view.detect
                 if isinstance(d.get("roc"), dict) and d["roc"].get("fpr") and d["roc"].get("tpr")]
        figure = line_figure(lines, prefix=f"f{number}r{k}", suite=str(view.result.get("suite")),
                             filename=f"{view.result.get('run')}_roc", title=f"ROC: {view.label}", xlabel="false positive rate",
                             ylabel="true positive rate", diagonal=True, unit_square=True, markers=False) if lines else None
        if figure is not None:
            out.append(figure)
    return out


def _probe_plots(views: list[RunView], number: int) -> list[PageFigure]:
    out = []
    for k, view in enumerate(views):
        hist = (view.probe or {}).get("histogram")
        if isinstance(hist, dict) and isinstance(hist.get("counts"), dict) and hist["counts"]:
            figure = histogram_figure(list(hist.get("bins") or []), hist["counts"], prefix=f"f{number}p{k}",
                                      suite=str(view.result.get("suite")), filename=f"{view.result.get('run')}_probe",
                                      title=f"probe: {view.label}", xlabel=str(hist.get("label") or "probability"))
            if figure is not None:
                out.append(figure)
    return out


def _suite_radar(views: list[RunView], suite_names: list[str]) -> PageFigure | None:
    """Radar across suites (headline of each) when there are at least five suites (fewer axes read better as bars)."""
    if len(suite_names) < MIN_RADAR_AXES:
        return None
    models: dict[str, dict[str, float | None]] = {}
    for view in views:
        models.setdefault(str(view.result.get("model")), {})[str(view.result.get("suite"))] = headline_value(view.result)
    series = [(model, [float(vals[s]) for s in suite_names]) for model, vals in models.items()  # type: ignore[arg-type]
              if all(vals.get(s) is not None for s in suite_names)]  # a missing suite would read as zero
    return radar_figure(suite_names, series, prefix="fradar", title="headline per suite") if series else None


@dataclass
class Finding:
    """One line of the page's opening summary: where a run stands and its weakest category."""

    run: str
    suite: str
    headline: str | None
    value: float | None
    reference: float | None  # GPT-4o's published overall, when the suite has one
    weakest: str | None
    weakest_value: float | None
    weakest_reference: float | None
    top_reason: tuple[str, int] | None
    partial: str | None = None  # coverage of a partial run (its value is <headline>_partial, never compared)

    @property
    def delta(self) -> float | None:
        return None if self.value is None or self.reference is None else self.value - self.reference


def findings(summaries_: list[SuiteSummary], views: list[RunView]) -> list[Finding]:
    """Per run: headline (beside GPT-4o's), the category furthest below GPT-4o (or the lowest), top failure reason."""
    out = []
    for summary in summaries_:
        ref = summary.reference
        # run rows follow the suite's runs in order (two runs may share a directory name: never match by name)
        suite_views = [v for v in views if str(v.result.get("suite")) == summary.suite]
        for row, view in zip(summary.run_rows, suite_views, strict=False):
            head_col = summary.columns[0]
            cats = [c for c in summary.columns[1:] if row.values.get(c) is not None]
            if ref is not None and any(row.deltas.get(c) is not None for c in cats):
                weakest = min((c for c in cats if row.deltas.get(c) is not None), key=lambda c: row.deltas[c])
            else:
                weakest = min(cats, key=lambda c: row.values[c]) if cats else None
            reasons: dict[str, int] = {}
            for gallery in view.galleries if view else []:
                for reason, count in gallery.reasons:
                    reasons[reason] = reasons.get(reason, 0) + count
            top = max(reasons.items(), key=lambda kv: kv[1]) if reasons else None
            out.append(Finding(
                run=row.label, suite=summary.suite, headline=summary.headline, value=row.values.get(head_col),
                reference=ref.values.get(head_col) if ref and not row.partial else None, weakest=weakest,
                weakest_value=row.values.get(weakest) if weakest else None,
                weakest_reference=ref.values.get(weakest) if ref and weakest and not row.partial else None, top_reason=top,
                partial=row.partial,
            ))
    return out


def build_context(results: list[dict[str, Any]], out: Path | None, per_side: int = PER_SIDE,
                  resamples: int = 2000) -> dict[str, Any]:
    """Everything the template needs: overview, per-suite sections, comparisons, aligned and per-run galleries."""
    base = out.parent if out is not None else Path.cwd()
    views = load_views(results, base)
    runs_per_suite: dict[str, int] = {}
    for view in views:
        runs_per_suite[str(view.result.get("suite"))] = runs_per_suite.get(str(view.result.get("suite")), 0) + 1
    for view in views:
        # beside the aligned gallery (two or more runs), the per-run one shows half as many: the decoded images stay
        # what the page showed before it had an aligned gallery (the 10-run budget in bench/report.py)
        side = per_side if runs_per_suite[str(view.result.get("suite"))] < 2 else max(1, per_side // 2)
        view.galleries = plan(view.result, view.rows, base, side)
        view.facts = run_facts(view.result, len(view.rows) or None)
    comparisons = compare_runs(results, {v.result["run_dir"]: v.rows for v in views}, resamples=resamples)
    sums = summaries(results)
    figures = page_figures(results)
    suites = []
    tiles = [(tile, Path(v.result["run_dir"])) for v in views for g in v.galleries for tile in g.good + g.bad]
    for number, summary in enumerate(sums, start=1):
        suite_views = [v for v in views if str(v.result.get("suite")) == summary.suite]
        aligned = aligned_gallery(suite_views, base)
        tiles += tiles_of(aligned, suite_views)
        suites.append(SuiteView(summary=summary, runs=suite_views, number=number,
                                plots=_curve_plots(suite_views, number) + _roc_plots(suite_views, number)
                                + _probe_plots(suite_views, number),
                                comparisons=[c for c in comparisons if c.suite == summary.suite],
                                figures=figures.get(summary.suite, []), metrics=metric_lines([v.result for v in suite_views]),
                                aligned=aligned))
    fill_tiles(tiles)
    grouped = by_suite([v.result for v in views])
    facts: dict[str, list[RunFacts]] = {}
    for view in views:
        if view.facts is not None:
            facts.setdefault(str(view.result.get("suite")), []).append(view.facts)
    return {
        "title": "genlens report", "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "version": __version__, "paper": ", ".join(dict.fromkeys(s.anchor.paper for s in sums if s.anchor)) or PAPER, "runs": views, "suites": suites, "comparisons": comparisons,
        "suite_radar": _suite_radar(views, list(grouped)), "findings": findings(sums, views),
        "overview": overview(sums, facts), "open_suites": OPEN_SUITES,
    }


def fmt(value: Any, digits: int = 3) -> str:
    """Numbers to fixed decimals; None, NaN and inf as an em dash; everything else as text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_number(value):
        if isinstance(value, int):
            return str(value)
        return f"{value:.{digits}f}" if math.isfinite(value) else "—"  # NaN / inf: missing, never "nan"
    return str(value)


def fmt_delta(value: float | None) -> str:
    """Signed difference with three decimals ('' for none)."""
    return "" if value is None or not math.isfinite(value) else f"{value:+.3f}"


def fmt_p(value: float | None) -> str:
    """p-values: three significant digits, '< 0.001' below that."""
    if value is None or not math.isfinite(value):
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3g}"


def environment() -> jinja2.Environment:
    """Jinja2 with autoescape always on (prompts and judge text must never become markup)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             extensions=["jinja2.ext.do"], trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt=fmt, fmt_delta=fmt_delta, fmt_p=fmt_p, delta_class=delta_class,
                       is_number=is_number,
                       pretty=lambda v: json.dumps(v, indent=2, ensure_ascii=False, default=str))
    return env


def render(results: list[dict[str, Any]], out: Path | None) -> str:
    """The report page as HTML text (the dispatcher writes it to ``out``; links are relative to it)."""
    context = build_context(results, out)
    return environment().get_template("report.html.j2").render(**context)
