"""``genlens judges agree RUN --judges A,B``: can judge B stand in for judge A on this run's images?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from genlens.cli import err_console, out_console, user_errors
from genlens.config import parse_kv

judges_app = typer.Typer(help="VLM judges: agreement between two judges on a run's images.", no_args_is_help=True)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _with_ci(value: float | None, interval: list[float] | None) -> str:
    """'0.512 [0.301, 0.700]' (95% paired bootstrap), or the value alone when no interval is meaningful."""
    return _fmt(value) if value is None or not interval else f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"


def per_judge_args(values: list[str] | None) -> dict[str, dict[str, object]]:
    """``["A:base_url=…", "B:max_tokens=300"]`` -> {"A": {...}, "B": {...}}; one-line error without a side."""
    from genlens.errors import SpecError

    out: dict[str, dict[str, object]] = {}
    for value in values or []:
        side, colon, rest = value.partition(":")
        if not colon or side not in ("A", "B"):
            raise SpecError(f"--judge-arg {value!r} names no judge", fix="write A:key=value or B:key=value")
        out.setdefault(side, {}).update(parse_kv([rest], "--judge-arg"))
    return out


@judges_app.command("agree")
@user_errors
def agree_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory of a judged suite (e.g. wise).")],
    judges: Annotated[str, typer.Option("--judges", help="Two judge specs, comma-separated: A,B.")],
    sample: Annotated[int, typer.Option("--sample", "-n", min=1, help="Images to re-judge (a seeded random sample).")] = 50,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample.")] = 0,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Judge calls in flight.")] = 4,
    scorer_arg: Annotated[list[str] | None, typer.Option("--scorer-arg", help="Judge argument key=value (base_url, max_tokens …).")] = None,
    judge_arg: Annotated[list[str] | None, typer.Option(
        "--judge-arg", help="Argument for one judge: A:key=value or B:key=value (e.g. B:base_url=http://…); wins over --scorer-arg.")] = None,
    judge_prompt: Annotated[Path | None, typer.Option("--judge-prompt", help="Judge prompt file (default: the run's).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Re-judge a sample with judges A and B; report Spearman ρ, Cohen's κ, quadratic κ (with 95% bootstrap
    intervals from 10 image pairs up) and mean |A−B| per criterion."""
    from genlens.judges.agreement import agree

    specs = [s.strip() for s in judges.split(",") if s.strip()]
    report = agree(run, specs, sample=sample, seed=seed, concurrency=concurrency,
                   scorer_args=parse_kv(scorer_arg, "--scorer-arg"), judge_prompt=judge_prompt,
                   judge_args=per_judge_args(judge_arg))
    if as_json:
        out_console.print_json(json.dumps(report, default=str))
        return
    table = Table(title=f"{specs[0]} vs {specs[1]} on {report['both_readable']} of {report['sample']} images")
    for column in ("criterion", "n", "Spearman ρ", "Cohen's κ", "quadratic κ", "mean |A−B|", "exact"):
        table.add_column(column)
    rows = dict(report["criteria"])
    if "image_score" in report:
        rows["per-image score"] = report["image_score"]
    notes = set()
    for name, stats in rows.items():
        spans = stats.get("intervals") or {}
        table.add_row(name, str(stats["n"]), _with_ci(stats["spearman"], spans.get("spearman")),
                      _with_ci(stats.get("kappa"), spans.get("kappa")),
                      _with_ci(stats.get("kappa_quadratic"), spans.get("kappa_quadratic")), _fmt(stats["mad"]),
                      _fmt(stats["exact"]))
        if stats.get("intervals_note"):
            notes.add(stats["intervals_note"])
    out_console.print(table)
    for note in sorted(notes):
        err_console.print(note)
    readable = ", ".join(f"{spec}: {n}" for spec, n in report["readable"].items())
    err_console.print(f"readable answers — {readable}")


def register(app: typer.Typer) -> None:
    app.add_typer(judges_app, name="judges")
