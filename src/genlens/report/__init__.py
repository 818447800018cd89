"""Reports read run directories only (results.json), never the models that made them."""

from __future__ import annotations

import importlib
import io
import json
import sys
import types
from pathlib import Path
from typing import Any

from genlens.errors import RunDirError, SpecError
from genlens.imageio import atomic_write, atomic_write_text
from genlens.runs.rundir import RESULTS_JSON, load_run

BUILT_IN = ("table", "md", "json", "csv")


def formats() -> list[str]:
    """Built-in formats plus every ``genlens.report.fmt_<name>`` module (html …)."""
    import pkgutil

    import genlens.report as package

    extra = [m.name.removeprefix("fmt_") for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("fmt_")]
    return [*BUILT_IN, *sorted(extra)]


def load_results(run_dir: Path) -> dict[str, Any]:
    """A run's results.json, with a one-line error when the run was never scored."""
    load_run(run_dir)
    path = run_dir / RESULTS_JSON
    if not path.exists():
        raise RunDirError("has no results.json yet", path=run_dir, fix=f"score it first: genlens score {run_dir}")
    rebuild = f"rebuild it: genlens score {run_dir}"
    if not path.is_file():
        raise RunDirError("results.json is not a file", path=path, fix=f"move it away and {rebuild}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunDirError(f"results.json is not valid JSON ({exc})", path=path, fix=rebuild) from None
    except OSError as exc:
        raise RunDirError(f"results.json cannot be read ({exc.strerror or exc})", path=path,
                          fix=f"fix its permissions, or {rebuild}") from None
    problem = results_problem(data)
    if problem:
        raise RunDirError(f"results.json {problem}", path=path, fix=rebuild)
    data.setdefault("run", run_dir.name)
    data["run_dir"] = str(run_dir)
    if data.get("shard"):
        raise RunDirError(
            f"is shard {data['shard']} of a sharded run: its headline covers only that shard's items",
            path=run_dir, fix="merge the shards first (genlens merge SHARD... --out RUN) and report the merged run",
        )
    return data


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def results_problem(data: Any) -> str:
    """What is wrong with the shape of a results.json ("" when reports can read it)."""
    if not isinstance(data, dict):
        return f"is a {type(data).__name__}, not a mapping"
    if not isinstance(data.get("suite"), str):
        return "names no suite"
    for key in ("headline", "metrics", "counts", "intervals", "extra", "provenance", "cost"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"{key} is a {type(data[key]).__name__}, not a mapping"
    for key in ("headline",):  # the official numbers: a number or null, nothing else
        bad = [name for name, value in (data.get(key) or {}).items() if not _is_number(value)]
        if bad:
            return f"{key} {bad[0]!r} is not a number"
    categories = data.get("categories")
    if categories is not None:
        if not isinstance(categories, dict):
            return f"categories is a {type(categories).__name__}, not a mapping"
        for name, metrics in categories.items():
            if not isinstance(metrics, dict):
                return f"category {name!r} is not a mapping of metric: value"
            bad = [metric for metric, value in metrics.items() if isinstance(value, list | dict)]
            if bad:
                return f"category {name!r} metric {bad[0]!r} is not a single value"
    return ""


def load_all(runs: list[Path], notes: list[str] | None = None) -> list[dict[str, Any]]:
    """Every readable run's results. With ``notes``, an unreadable run is skipped and a note says why
    (when every run is unreadable, the first one's error is raised)."""
    results: list[dict[str, Any]] = []
    errors: list[RunDirError] = []
    for run in runs:
        try:
            results.append(load_results(run))
        except RunDirError as exc:
            if notes is None:
                raise
            errors.append(exc)
            notes.append(f"skipped {run}: {exc}")
    if not results and errors:
        raise errors[0]
    return results


def render(runs: list[Path], fmt: str, out: Path | None, notes: list[str] | None = None) -> Any:
    """Render runs in ``fmt``; write to ``out`` when given, else return the text (or rich table).

    ``notes`` (a list) makes unreadable runs skipped with a note instead of stopping the report."""
    if out is not None and out.is_dir():
        raise SpecError("--out names a directory", path=out, fix="give a file path, e.g. --out report.html")
    results = load_all(runs, notes)
    if fmt in BUILT_IN:
        from genlens.report import tables

        rendered: Any = {
            "table": tables.results_table, "md": tables.to_markdown, "json": tables.to_json, "csv": tables.to_csv,
        }[fmt](results)
    else:
        try:
            module = importlib.import_module(f"genlens.report.fmt_{fmt}")
        except ModuleNotFoundError:
            raise SpecError(f"unknown report format {fmt!r}", fix=f"use one of: {', '.join(formats())}") from None
        rendered = module.render(results, out)
    if out is None:
        return rendered
    try:
        _write(out, fmt, rendered)
    except OSError as exc:
        from genlens.runs.engine import disk_error

        raise disk_error(exc, out) from None
    return None


def _write(out: Path, fmt: str, rendered: Any) -> None:
    if fmt == "table":
        from rich.console import Console

        console = Console(record=True, width=120, file=io.StringIO())
        console.print(rendered)
        atomic_write_text(out, console.export_text())
    elif isinstance(rendered, bytes):
        atomic_write(out, rendered)
    elif isinstance(rendered, str):
        atomic_write_text(out, rendered)
    return None


class _CallableReportModule(types.ModuleType):
    """``genlens.report`` is both this package and the API function ``genlens.report(runs, fmt=…)``.

    Importing the package sets the attribute ``genlens.report`` to the module, which would hide the
    function; calling the module calls the function instead, so both spellings work.
    """

    def __call__(self, runs: Any, fmt: str = "table", out: Any = None) -> Any:
        from genlens.api import report

        return report(runs, fmt=fmt, out=out)


sys.modules[__name__].__class__ = _CallableReportModule
