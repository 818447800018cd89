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
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunDirError(f"results.json is not valid JSON ({exc})", path=path, fix=f"re-create it: genlens score {run_dir}") from None
    data.setdefault("run", run_dir.name)
    data["run_dir"] = str(run_dir)
    if data.get("shard"):
        raise RunDirError(
            f"is shard {data['shard']} of a sharded run: its headline covers only that shard's items",
            path=run_dir, fix="merge the shards first (genlens merge SHARD... --out RUN) and report the merged run",
        )
    return data


def render(runs: list[Path], fmt: str, out: Path | None) -> Any:
    """Render runs in ``fmt``; write to ``out`` when given, else return the text (or rich table)."""
    results = [load_results(run) for run in runs]
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
