"""``genlens items SUITE``: a suite's item ids, prompts and sizes, and where ``folder:`` looks for each image."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from genlens.cli import err_console, user_errors
from genlens.errors import SpecError

FIELDS = ("id", "category", "kind", "prompt", "size", "input_images", "rounds", "folder_path")


def item_rows(suite_name: str, *, data_dir: Path | None, suite_args: dict[str, Any], samples: int = 1) -> list[dict[str, Any]]:
    """One row per (item, sample): what the model is asked, and the file name ``folder:`` expects first."""
    from genlens.backends.folder import generic_candidates
    from genlens.suites.base import get_suite_class

    suite = get_suite_class(suite_name)(data_dir=data_dir, suite_args=suite_args)
    rows = []
    for item in suite.items():
        for sample in range(samples):
            stems = [*suite.folder_candidates(item, sample), *generic_candidates(item.id, sample)]
            rows.append({
                "id": item.id, "sample": sample, "category": item.category, "kind": item.kind, "prompt": item.prompt,
                "size": f"{item.size[0]}x{item.size[1]}" if item.size else "",
                "input_images": list(item.input_images), "rounds": list(item.rounds),
                "folder_path": "|".join(f"{stems[0]}_r{k}.png" for k in range(1, len(item.rounds) + 1))
                if item.kind == "multiturn" else f"{stems[0]}.png",
            })
    return rows


def register(app: typer.Typer) -> None:
    @app.command("items")
    @user_errors
    def items_cmd(
        suite: Annotated[str, typer.Argument(help="Suite name (see `genlens suites`).")],
        fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl (one object per line) or csv.")] = "jsonl",
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
        samples: Annotated[int, typer.Option("--samples", "-k", min=1, help="Rows per item: one per sample (folder_path differs).")] = 1,
        data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Where the suite's data lives.")] = None,
        data: Annotated[str | None, typer.Option("--data", help="The prompts suite's prompt set (FILE.jsonl|.csv|hf:…).")] = None,
        suite_arg: Annotated[list[str] | None, typer.Option("--suite-arg", help="Suite argument key=value (repeatable).")] = None,
    ) -> None:
        """A suite's items (id, prompt, size …) and the path `folder:` expects for each image."""
        from genlens.config import parse_kv
        from genlens.imageio import atomic_write_text

        if fmt not in ("jsonl", "csv"):
            raise SpecError(f"unknown --format {fmt!r}", fix="use jsonl or csv")
        args = parse_kv(suite_arg, "--suite-arg")
        if data:
            args["data"] = data
        rows = item_rows(suite, data_dir=data_dir, suite_args=args, samples=samples)
        if fmt == "jsonl":
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        else:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=["id", "sample", *FIELDS[1:]], lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "input_images": "|".join(row["input_images"]), "rounds": "|".join(row["rounds"])})
            text = buffer.getvalue()
        if out is None:
            typer.echo(text, nl=False)
        else:
            atomic_write_text(out, text)
            err_console.print(f"wrote {len(rows)} row(s) to {out}")
