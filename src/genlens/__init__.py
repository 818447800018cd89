"""genlens: diagnose image-generation and image-editing models.

The public Python API (see docs/python.md)::

    import genlens
    run = genlens.run("image-props", model="synthetic:gradient", out="runs/demo")
    run.results, run.rows, run.to_pandas()
    genlens.score("runs/demo")
    genlens.report(["runs/demo"], fmt="html", out="report.html")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Backend", "BackendInfo", "GeneratedImage", "GenerationRequest", "Run", "RunOptions", "Session", "StudyRun",
    "Suite", "SuiteMeta", "SuiteResult", "__version__", "report", "run", "score",
]

_LAZY = {
    "run": "genlens.api", "score": "genlens.api", "report": "genlens.api", "Run": "genlens.api",
    "RunOptions": "genlens.api", "StudyRun": "genlens.api",
    "Backend": "genlens.backends.base", "BackendInfo": "genlens.backends.base", "Session": "genlens.backends.base",
    "GeneratedImage": "genlens.types", "GenerationRequest": "genlens.types",
    "Suite": "genlens.suites.base", "SuiteMeta": "genlens.suites.base", "SuiteResult": "genlens.suites.base",
}

if TYPE_CHECKING:
    from genlens.api import Run, RunOptions, StudyRun, report, run, score
    from genlens.backends.base import Backend, BackendInfo, Session
    from genlens.suites.base import Suite, SuiteMeta, SuiteResult
    from genlens.types import GeneratedImage, GenerationRequest


def __getattr__(name: str) -> Any:
    """Import the API on first use (``import genlens`` stays instant, no import cycles)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'genlens' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
