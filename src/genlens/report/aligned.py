"""Galleries aligned by item: one row per item (same prompt / edit), one cell per run of the suite.

Items where the runs disagree on pass/fail are picked first in each category, since where models differ is
what a reader wants to see; the rest are a spread through the category. Images go through the same
checks as the per-run gallery (only files inside the run directory are read or linked).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlens.report.compare import outcome, sample_of
from genlens.report.gallery import Tile, spread, tile_for

#: items shown per category (disagreements first); the page says how many there were in all. Four, like the
#: per-run gallery's four per side: every shown cell is a decoded image, and the 10-run budget (bench/report.py) counts them
PER_CATEGORY = 4


@dataclass
class AlignedCell:
    """One run's view of one item: its first sample's tile and the verdict over all its samples."""

    run: str
    tile: Tile | None  # None: the run has no row for this item
    verdict: str  # "pass" | "fail" | "mixed" | "score" | "unscored" | "absent"
    summary: str  # "2/4 passed", "score 0.61", "not in this run"
    samples: int


@dataclass
class AlignedRow:
    """One item across every run of the suite."""

    item: str
    category: str
    prompt: str
    disagree: bool  # the runs' pass/fail differ on some sample they share
    cells: list[AlignedCell]


@dataclass
class AlignedGallery:
    """A suite's aligned rows, with the totals the page states beside them."""

    runs: list[str]  # run labels, one per column
    rows: list[AlignedRow]
    categories: list[str]
    items_total: int
    disagree_total: int  # items where the runs disagree on pass/fail (all of them, not only those shown)
    binary: bool  # pass/fail suite (the disagreement filter applies)
    per_category: int = PER_CATEGORY


def _by_item(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("item") is not None:
            out.setdefault(str(row["item"]), []).append(row)
    for item_rows in out.values():
        item_rows.sort(key=sample_of)
    return out


def _disagree(per_run: list[list[dict[str, Any]]]) -> bool:
    """True when two runs give a different pass/fail to the same (item, sample)."""
    seen: dict[int, set[float]] = {}
    for rows in per_run:
        for row in rows:
            result = outcome(row)
            if result is not None and result[0] == "binary":
                seen.setdefault(sample_of(row), set()).add(result[1])
    return any(len(values) > 1 for values in seen.values())


def _cell(label: str, rows: list[dict[str, Any]], run_dir: Path, base: Path) -> AlignedCell:
    if not rows:
        return AlignedCell(run=label, tile=None, verdict="absent", summary="not in this run", samples=0)
    outcomes = [o for o in (outcome(r) for r in rows) if o is not None]
    first = next((r for r in rows if r.get("image")), rows[0])
    if not outcomes:
        verdict, summary = "unscored", "not scored"
    elif all(kind == "binary" for kind, _v in outcomes):
        passed = sum(int(v) for _k, v in outcomes)
        verdict = "pass" if passed == len(outcomes) else "fail" if passed == 0 else "mixed"
        summary = f"{passed}/{len(outcomes)} passed"
    else:
        mean = sum(v for _k, v in outcomes) / len(outcomes)
        verdict, summary = "score", f"mean score {mean:.3f}" if len(outcomes) > 1 else f"score {mean:.3f}"
    tile_verdict = {"pass": "pass", "fail": "fail"}.get(verdict, "high" if verdict == "score" else "unscored")
    return AlignedCell(run=label, tile=tile_for(first, tile_verdict, run_dir, base), verdict=verdict, summary=summary,
                       samples=len(rows))


def aligned_gallery(views: list[Any], base: Path, per_category: int = PER_CATEGORY) -> AlignedGallery | None:
    """The aligned rows of one suite's runs (``RunView``s with ``result``, ``rows``, ``label``); None without rows."""
    if not views or not any(v.rows for v in views):
        return None
    items = [_by_item(v.rows) for v in views]
    categories: list[str] = []
    for view in views:
        for name in view.result.get("categories") or {}:
            if str(name) not in categories:
                categories.append(str(name))
    item_category: dict[str, str] = {}
    for per_run in items:
        for item, rows in per_run.items():
            category = str(rows[0].get("category") or "all")
            item_category.setdefault(item, category)
            if category not in categories:
                categories.append(category)
    binary = any(o is not None and o[0] == "binary" for v in views for o in (outcome(r) for r in v.rows[:50]))
    chosen: list[AlignedRow] = []
    disagree_total = 0
    for category in categories:
        names = sorted(i for i, c in item_category.items() if c == category)
        flags = {name: _disagree([per_run.get(name, []) for per_run in items]) for name in names}
        disagree_total += sum(flags.values())
        differing = [n for n in names if flags[n]]
        agreeing = [n for n in names if not flags[n]]
        picked = differing[:per_category]
        picked += spread(agreeing, per_category - len(picked)) if len(picked) < per_category else []
        for name in sorted(picked):
            cells = [_cell(view.label, per_run.get(name, []), Path(view.result["run_dir"]), base)
                     for view, per_run in zip(views, items, strict=True)]
            first = next(r for per_run in items for r in per_run.get(name, [])[:1])
            prompt = first.get("prompt") or first.get("instruction") or ""
            chosen.append(AlignedRow(item=name, category=category, prompt=str(prompt), disagree=flags[name], cells=cells))
    return AlignedGallery(runs=[v.label for v in views], rows=chosen, categories=[c for c in categories
                          if any(r.category == c for r in chosen)], items_total=len(item_category),
                          disagree_total=disagree_total, binary=binary, per_category=per_category)


def tiles_of(gallery: AlignedGallery | None, views: list[Any]) -> list[tuple[Tile, Path]]:
    """Every tile of the gallery with its run directory (for :func:`genlens.report.gallery.fill_tiles`)."""
    if gallery is None:
        return []
    dirs = [Path(v.result["run_dir"]) for v in views]
    return [(cell.tile, run_dir) for row in gallery.rows for cell, run_dir in zip(row.cells, dirs, strict=True)
            if cell.tile is not None]
