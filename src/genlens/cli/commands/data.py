"""``genlens data fetch SUITE``: a suite's data from its pinned upstream source, sha256-verified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from genlens.cli import err_console, out_console, user_errors

data_app = typer.Typer(help="Suite data: fetch it from the pinned upstream source (sha256-verified).", no_args_is_help=True)


@data_app.command("fetch")
@user_errors
def fetch_cmd(
    suite: Annotated[str, typer.Argument(help="Suite whose data to fetch (e.g. wise).")],
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Put it here instead of $GENLENS_DATA_DIR/<suite>.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even when verified copies are present.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    revision: Annotated[str | None, typer.Option("--revision", help="gedit: the dataset commit to pin (default: the current one, recorded).")] = None,
) -> None:
    """Download SUITE's data from its pinned upstream commit into the data dir, checking every sha256."""
    from genlens.data.fetch import data_root, fetch, load_manifest

    if suite == "gedit":  # Hugging Face dataset (MIT): downloaded and exported by its suite
        from genlens.suites.gedit import fetch as fetch_gedit

        export = fetch_gedit(revision)
        if as_json:
            out_console.print_json(json.dumps({"dir": str(export)}))
        else:
            err_console.print(f"GEdit-Bench exported to {export} (licence: MIT)")
        return
    if suite == "reason-edit":
        from genlens.errors import InputError
        from genlens.suites.reason_edit import DATA_FIX

        raise InputError("Reason-Edit has no pinned public download", fix=DATA_FIX)

    manifest = load_manifest(suite)
    dest = data_dir or data_root() / manifest.dir
    results = fetch(manifest, dest, force=force)
    if as_json:
        out_console.print_json(json.dumps({"dir": str(dest), "source": manifest.source, "commit": manifest.commit,
                                           "files": [r.__dict__ for r in results]}))
        return
    table = Table(title=f"{manifest.source} @ {manifest.commit[:12]} -> {dest}")
    for column in ("file", "status", "sha256"):
        table.add_column(column)
    for result in results:
        table.add_row(result.path, result.status, result.sha256[:16] + "…")
    out_console.print(table)
    err_console.print(f"licence: {manifest.license}")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
