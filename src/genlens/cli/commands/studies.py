"""``genlens studies`` and ``genlens run STUDY|a,b,…``: several suites + forensics + one report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from genlens.cli import err_console, out_console, user_errors
from genlens.config import merge_kv, pick
from genlens.errors import SpecError


def run_study_cmd(name: str, model: str | None, out: Path | str | None, cfg: dict[str, Any], *, real: Path | None,
                  probe: Path | None, samples: int | None, limit: int | None, seed: int | None, concurrency: int | None,
                  model_arg: list[str] | None, suite_arg: list[str] | None, scorer_arg: list[str] | None,
                  judge: str | None, judge_prompt: Path | None, detector: str | None, clip: str | None,
                  data_dir: Path | None, shard: str | None, quiet: bool, generate_only: bool) -> None:
    """The CLI side of a study: options from the command line and --config, one line per skipped part."""
    from genlens.api import RunOptions
    from genlens.studies import load_study, run_study

    study = load_study(name)
    if not model:
        raise SpecError("no model given", fix="add --model SPEC, e.g. --model synthetic:gradient (see `genlens models`)")
    if out is None:
        raise SpecError(f"a study writes one run per suite: it needs --out DIR (e.g. --out runs/{study.name})",
                        fix="add --out DIR")
    dd = pick(data_dir, cfg, "data_dir")
    jp = pick(judge_prompt, cfg, "judge_prompt")
    opts = RunOptions(
        samples=pick(samples, cfg, "samples"), limit=pick(limit, cfg, "limit"), seed=int(pick(seed, cfg, "seed", 0)),
        concurrency=int(pick(concurrency, cfg, "concurrency", 4)), shard=pick(shard, cfg, "shard"),
        model_args=merge_kv(cfg.get("model_args"), model_arg, "--model-arg"),
        suite_args=merge_kv(cfg.get("suite_args"), suite_arg, "--suite-arg"),
        scorer_args=merge_kv(cfg.get("scorer_args"), scorer_arg, "--scorer-arg"),
        judge=pick(judge, cfg, "judge"), judge_prompt=jp, detector=pick(detector, cfg, "detector"),
        clip=pick(clip, cfg, "clip"), data_dir=dd, generate_only=generate_only, quiet=quiet,
    )
    result = run_study(name, model, Path(out), opts, real=real, probe=probe,
                       log=lambda line: err_console.print(escape(line)))
    failed = sum(r.failed for r in result.runs.values())
    if not quiet:
        for suite, run in result.runs.items():
            headline = run.results.get("headline") if (run.dir / "results.json").exists() else None
            shown = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in (headline or {}).items())
            out_console.print(escape(f"{suite}: {shown or 'generated'}  ({run.dir})"))
        ran, skipped = len(result.runs), len(result.skipped)
        err_console.print(escape(f"study {study.name}: {ran} suite(s) ran, {skipped} skipped"
                                 + (f"; report: {result.report}" if result.report else "")))
    if not result.runs:
        raise SpecError(f"no part of study {study.name} can run here", fix="see the 'skip' lines above for what each needs")
    if failed:
        err_console.print(f"{failed} request(s) or scoring(s) failed; run the same command again to retry them")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    @app.command("studies")
    @user_errors
    def studies_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON to stdout.")] = False) -> None:
        """List the studies: named bundles of suites + forensics + one report (`genlens run STUDY`)."""
        from genlens.studies import load_study, study_files

        rows = []
        for name, path in study_files().items():
            study = load_study(str(path))
            rows.append({"name": name, "title": study.title, "suites": [p.suite for p in study.parts],
                         "detect": list(study.detect_runs), "probe": list(study.probe_runs), "report": study.report,
                         "file": str(path)})
        if as_json:
            out_console.print_json(json.dumps(rows))
            return
        for row in rows:
            out_console.print(escape(f"{row['name']}  {row['title']}"))
            out_console.print(escape(f"  suites: {', '.join(row['suites'])}"))
            if row["detect"]:
                out_console.print(escape(f"  detect (with --real DIR): first of {', '.join(row['detect'])}"))
            if row["probe"]:
                out_console.print(escape(f"  probe (with --probe DIR): first of {', '.join(row['probe'])}"))
            out_console.print(escape(f"  file: {row['file']}"))
        out_console.print("Run one: genlens run STUDY --model SPEC --out DIR. Your own: a .yaml path, or a "
                          "directory on GENLENS_STUDY_PATH.")
