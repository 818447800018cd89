"""``genlens merge SHARD… --out RUN``: one run, aggregated once, from the shards of a sharded run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from genlens.cli import err_console, out_console, user_errors


def register(app: typer.Typer) -> None:
    @app.command("merge")
    @user_errors
    def merge_cmd(
        shards: Annotated[list[Path], typer.Argument(help="The shard run directories (made with --shard i/n).")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Run directory to create (or resume) for the merged run.")],
        no_score: Annotated[bool, typer.Option("--no-score", help="Only join the records; do not write results.json.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the merged results.json to stdout.")] = False,
    ) -> None:
        """Join the shards of one run (same suite, model, options, seed) into one run and aggregate it once.

        Images are hard-linked when shards and --out share a file system, else copied. Example:

            genlens merge runs/geneval-shard-* --out runs/geneval
        """
        from genlens.runs import engine
        from genlens.runs.merge import merge_shards
        from genlens.suites.base import ScoreContext

        summary = merge_shards(shards, out, quiet=quiet)
        if not quiet:
            note = f" (missing shards: {', '.join(map(str, summary.missing_shards))} — the result is partial)" \
                if summary.missing_shards else ""
            err_console.print(
                f"merge: {summary.shards} shards, {summary.generations} new generation(s), {summary.scores} score(s), "
                f"{summary.duplicates} duplicate(s) skipped; images {summary.images_linked} linked, "
                f"{summary.images_copied} copied{note}"
            )
        if no_score:
            return
        results = engine.aggregate(out, ScoreContext(run_dir=out, quiet=quiet))
        if as_json:
            out_console.print_json(json.dumps(results, default=str))
        elif not quiet:
            from genlens.report.tables import results_table

            out_console.print(results_table([results]))
            err_console.print(f"results: {out / 'results.json'} (unscored images? run `genlens score {out}`)")
