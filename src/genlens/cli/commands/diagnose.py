"""``genlens diagnose DIR``: weight-free artifact diagnostics on any folder of images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from genlens.cli import err_console, out_console, user_errors
from genlens.errors import SpecError

if TYPE_CHECKING:
    from rich.table import Table

    from genlens.diagnose import Diagnosis

FORMATS = ("table", "json", "rows")


def register(app: typer.Typer) -> None:
    @app.command("diagnose")
    @user_errors
    def diagnose_cmd(
        directory: Annotated[Path, typer.Argument(help="Folder of images (searched recursively).")],
        fmt: Annotated[str, typer.Option("--format", "-f", help="table | json | rows (one JSON line per image).")] = "table",
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
        workers: Annotated[int, typer.Option("--workers", "-j", min=1, help="Processes probing in parallel (default 1).")] = 1,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    ) -> None:
        """Sharpness, noise, colour cast, JPEG quality and double compression, resampling peaks and patch grids per image."""
        from genlens.diagnose import diagnose_paths, find_images, render_rows
        from genlens.progress import progress_bar

        if fmt not in FORMATS:
            raise SpecError(f"unknown format {fmt!r}", fix=f"use one of: {', '.join(FORMATS)}")
        paths = find_images(directory)
        with progress_bar("diagnose", len(paths), quiet=quiet) as advance:
            diagnosis = diagnose_paths(paths, directory, advance, workers=workers)
        if fmt == "json":
            text = json.dumps(diagnosis.to_json(), indent=2, ensure_ascii=False, default=str) + "\n"
        elif fmt == "rows":
            text = render_rows(diagnosis)
        else:
            text = None
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text if text is not None else _table_text(diagnosis), encoding="utf-8")
            err_console.print(f"wrote {out}")
        elif text is not None:
            typer.echo(text, nl=False)
        else:
            out_console.print(_table(diagnosis))
        from rich.markup import escape

        for line in diagnosis.errors:
            err_console.print(f"[bold red]error:[/] {escape(line)}", markup=True, highlight=False)
        if diagnosis.errors:
            err_console.print(f"{len(diagnosis.errors)} file(s) could not be read; the other {len(diagnosis.images)} were diagnosed")
            raise typer.Exit(2)
        if not paths:
            err_console.print(f"no images found under {directory}")


def _table(diagnosis: Diagnosis) -> Table:
    from rich.table import Table

    from genlens.diagnose import TABLE_COLUMNS, table_cells

    summary = diagnosis.summary()
    caption = (f"{summary['images']} images · JPEG files {summary['jpeg_files']} · JPEG history in lossless files "
               f"{summary['jpeg_history_in_lossless']} · double-compression hints {summary['double_compression_hints']} · "
               f"patch grids {summary['patch_grids']} · resampling peaks {summary['resampling_peaks']}")
    table = Table(title="genlens diagnose", caption=caption)
    table.add_column("image", overflow="fold")
    for _key, header, _fmt in TABLE_COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    for row in diagnosis.images:
        table.add_row(*table_cells(row))
    return table


def _table_text(diagnosis: Diagnosis) -> str:
    import io

    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=160, highlight=False).print(_table(diagnosis))
    return buffer.getvalue()
