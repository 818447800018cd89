"""Coverage of an official headline: a number over part of a benchmark is never shown as the benchmark's.

Suites with an official headline (GenEval, WISE, GEdit, Reason-Edit) describe what their result
covers: prompts with at least one scored image, scored images against those the run should hold,
and tags (categories) with a score. When anything is missing the headline names stay, set to None,
and each value moves to ``<name>_partial`` in ``metrics`` with a caveat; ``extra["coverage"]``
carries the counts, which reports print beside the number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlens.suites.base import SuiteResult


@dataclass(frozen=True)
class Coverage:
    """(scored, expected) pairs for prompts, images and tags (tags None when a suite has none)."""

    prompts: tuple[int, int]
    images: tuple[int, int]
    tags: tuple[int, int] | None = None

    @property
    def complete(self) -> bool:
        pairs = [self.prompts, self.images] + ([self.tags] if self.tags else [])
        return all(expected > 0 and scored >= expected for scored, expected in pairs)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"complete": self.complete, "prompts": list(self.prompts), "images": list(self.images)}
        if self.tags:
            out["tags"] = list(self.tags)
        return out

    def text(self) -> str:
        return coverage_text(self.as_dict())


def coverage_text(coverage: dict[str, Any]) -> str:
    """'12/553 prompts, 48/2212 images, 2/6 tags' from a ``results.json`` coverage block."""
    parts = []
    for name in ("prompts", "images", "tags"):
        pair = coverage.get(name)
        if isinstance(pair, list | tuple) and len(pair) == 2:
            parts.append(f"{pair[0]}/{pair[1]} {name}")
    return ", ".join(parts)


def run_samples(run_dir: Path | None, default: int) -> int:
    """Samples per prompt the run was asked for (run.json's spec), else ``default``."""
    if run_dir is not None:
        try:
            samples = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["spec"]["samples"]
            if isinstance(samples, int) and samples > 0:
                return samples
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return default


def mark_partial(result: SuiteResult, coverage: Coverage, what: str = "") -> str | None:
    """Record ``coverage`` in ``result.extra``; when it is incomplete, empty every headline value and move it
    (and its interval) to ``<name>_partial``, the same formula over what was scored. Returns the caveat
    the suite adds to its provenance, None for a complete run."""
    result.extra["coverage"] = coverage.as_dict()
    if coverage.complete:
        return None
    moved = {f"{name}_partial": value for name, value in result.headline.items()}
    result.metrics = {**moved, **result.metrics}
    result.intervals = {(f"{k}_partial" if k in result.headline else k): v for k, v in result.intervals.items()}
    names = ", ".join(result.headline)
    result.headline = {name: None for name in result.headline}
    return (f"partial run ({coverage.text()}{'; ' + what if what else ''}): no headline {names}; "
            f"{', '.join(moved)} is the same formula over what was scored, not comparable with published numbers")
