"""``genlens diagnose DIR``: weight-free artifact diagnostics on any folder of images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from genlens.cli import err_console, out_console, user_errors
from genlens.errors import InputError, SpecError

if TYPE_CHECKING:
    from rich.table import Table

    from genlens.diagnose import Diagnosis

FORMATS = ("table", "json", "rows")


def register(app: typer.Typer) -> None:
    @app.command("diagnose")
    @user_errors
    def diagnose_cmd(
        directory: Annotated[Path, typer.Argument(help="Folder of images (searched recursively), or one image file.")],
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
        root = directory.parent if directory.is_file() else directory
        with progress_bar("diagnose", len(paths), quiet=quiet) as advance:
            diagnosis = diagnose_paths(paths, root, advance, workers=workers)
        if fmt == "json":
            text = json.dumps(diagnosis.to_json(), indent=2, ensure_ascii=False, default=str) + "\n"
        elif fmt == "rows":
            text = render_rows(diagnosis)
        else:
            text = None
        if out is not None:
            _write(out, text if text is not None else _table_text(diagnosis))
            err_console.print(f"wrote {out}")
        elif text is not None:
            typer.echo(text, nl=False)
        else:
            out_console.print(_table(diagnosis, out_console.width))
        from rich.markup import escape

        for line in diagnosis.errors:
            err_console.print(f"[bold red]error:[/] {escape(line)}", markup=True, highlight=False)
        if diagnosis.errors:
            err_console.print(f"{len(diagnosis.errors)} file(s) could not be read; the other {len(diagnosis.images)} were diagnosed")
            raise typer.Exit(2)
        if not paths:
            err_console.print(f"no images found under {directory}")


def _write(out: Path, text: str) -> None:
    """Write the report to ``out``; a folder or an unwritable path is one line naming it, not a traceback."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        what = "is a folder" if out.is_dir() else f"cannot be written ({exc.strerror or exc})"
        raise InputError(f"--out {what}", path=out, fix="give a file path, e.g. --out report.txt") from None


COMPACT_BELOW = 110  # console columns under which the bordered table leaves the image names no room


def _table(diagnosis: Diagnosis, width: int = 160) -> Table:
    """The per-image table; below ``COMPACT_BELOW`` columns without borders or padding so that the
    image column keeps at least 12 characters (folded) instead of shrinking to nothing."""
    from rich import box
    from rich.table import Table

    from genlens.diagnose import TABLE_COLUMNS, table_cells

    summary = diagnosis.summary()
    caption = (f"{summary['images']} images · JPEG files {summary['jpeg_files']} · JPEG history in lossless files "
               f"{summary['jpeg_history_in_lossless']} · double-compression hints {summary['double_compression_hints']} · "
               f"patch grids {summary['patch_grids']} · resampling peaks {summary['resampling_peaks']}")
    compact = {"box": box.SIMPLE_HEAD, "show_edge": False, "padding": (0, 0), "pad_edge": False} if width < COMPACT_BELOW else {}
    table = Table(title="genlens diagnose", caption=caption, **compact)
    table.add_column("image", overflow="fold", min_width=12, ratio=1)
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
