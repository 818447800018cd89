"""``genlens probe train|classify|trace``: which architecture family made a run's images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from genlens.cli import err_console, out_console, user_errors

probe_app = typer.Typer(
    help="The architecture probe: train on labelled families (runs), classify a run, analyse generation traces.",
    no_args_is_help=True,
)

ClipOpt = Annotated[str | None, typer.Option("--clip", help="CLIP model (hub id or local dir): add its image embeddings to the forensic features.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or notes.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the JSON result to stdout.")]


def parse_classes(values: list[str]) -> dict[str, Path]:
    """``NAME=RUN`` pairs, in order, names unique."""
    from genlens.errors import SpecError

    classes: dict[str, Path] = {}
    for value in values:
        name, sep, run = value.partition("=")
        if not sep or not name or not run:
            raise SpecError(f"--class {value!r} is not NAME=RUN", fix="e.g. --class diffusion=runs/flux --class ar=runs/infinity")
        if name in classes:
            raise SpecError(f"family {name!r} given twice", fix="one --class per family name")
        classes[name] = Path(run)
    return classes


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _heldout_line(heldout: dict[str, Any]) -> str:
    interval = heldout.get("interval")
    span = f"[{_pct(interval[0])}, {_pct(interval[1])}]" if interval else f"({heldout.get('interval_note') or 'no interval'})"
    calibration = heldout["calibration"]
    return (f"held-out accuracy {_pct(heldout['accuracy'])} {span} over {heldout['n_images']} images "
            f"({heldout['protocol']}); temperature {calibration['temperature']:.2f}, "
            f"ECE {calibration['uncalibrated']['ece']:.3f} -> {calibration['calibrated']['ece']:.3f} (cross-fitted)")


def _distribution_table(result: dict[str, Any]) -> Table:
    table = Table(title=f"probe: {result['n_images']} images of the target run")
    table.add_column("family")
    table.add_column("share (most likely)", justify="right")
    table.add_column("mean probability", justify="right")
    table.add_column("histogram of P(family), 0 → 1")
    bars = " ▁▂▃▄▅▆▇█"
    for name in result["classes"]:
        counts = result["histogram"]["counts"][name]
        top = max(max(counts), 1)
        spark = "".join(bars[round(c / top * (len(bars) - 1))] for c in counts)
        table.add_row(name, _pct(result["distribution"][name]), f"{result['mean_probability'][name]:.3f}", spark)
    return table


@probe_app.command("train")
@user_errors
def train_cmd(
    classes: Annotated[list[str], typer.Option("--class", help="A labelled family: NAME=RUN (repeat for each family, 2 or more).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the probe (probe.safetensors + probe.json).")],
    clip: ClipOpt = None,
    crop: Annotated[int, typer.Option("--crop", min=8, help="Centre crop side before features (no resampling).")] = 512,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Prompt-grouped cross-validation folds.")] = 5,
    format_rule: Annotated[str, typer.Option("--format-rule", help="auto (one JPEG re-encode when the families' formats differ), jpeg (always) or none.")] = "auto",
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Train a probe on N families; prints the held-out accuracy (prompt-grouped CV) and calibration."""
    from genlens.errors import SpecError
    from genlens.forensics.probe import train_probe, training_set
    from genlens.progress import progress_bar

    if format_rule not in ("auto", "jpeg", "none"):
        raise SpecError(f"unknown --format-rule {format_rule!r}", fix="use auto, jpeg or none")
    families = parse_classes(classes)
    total = len(training_set(families).paths)
    with progress_bar("probe features", total, quiet=quiet or as_json) as advance:
        meta = train_probe(families, out, clip=clip, crop=crop, folds=folds, progress=advance,
                           format_rule=format_rule)  # type: ignore[arg-type]
    if as_json:
        out_console.print_json(json.dumps(meta["heldout"]))
        return
    out_console.print(_heldout_line(meta["heldout"]))
    out_console.print(f"normalisation: {meta['normalisation']}")
    recall = ", ".join(f"{c} {_pct(v)}" for c, v in meta["heldout"]["per_class_recall"].items())
    out_console.print(f"per-family recall: {recall} (chance {_pct(meta['heldout']['chance'])})")
    if not quiet:
        err_console.print(f"saved {out}")


@probe_app.command("classify")
@user_errors
def classify_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory to classify.")],
    probe: Annotated[Path, typer.Option("--probe", help="Probe directory written by `genlens probe train`.")],
    clip: Annotated[str | None, typer.Option("--clip", help="Where the probe's CLIP model is now (default: as recorded at training).")] = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Family distribution and probability histogram of RUN's images; writes RUN/probe.json."""
    from genlens.forensics.probe import RUN_PROBE_JSON, classify_run
    from genlens.forensics.sources import run_images
    from genlens.progress import progress_bar

    with progress_bar("probe", len(run_images(run)), quiet=quiet or as_json) as advance:
        result = classify_run(run, probe, clip=clip, progress=advance)
    if as_json:
        out_console.print_json(json.dumps({k: v for k, v in result.items() if k != "images"}))
        return
    out_console.print(_distribution_table(result))
    out_console.print(_heldout_line(result["heldout"]))
    if result.get("format_warning"):
        err_console.print(f"warning: {result['format_warning']}")
    if not quiet:
        err_console.print(f"wrote {run / RUN_PROBE_JSON}")


@probe_app.command("trace")
@user_errors
def trace_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory whose generations recorded partial images.")],
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Refinement order (top-down vs global), sharpness by region and patch grid of streamed frames; writes RUN/trace.json."""
    from genlens.forensics.trace import TRACE_JSON, analyse_run

    result = analyse_run(run)
    if as_json:
        out_console.print_json(json.dumps(result))
        return
    table = Table(title=f"trace: {result['n_traced']} of {result['n_images']} images have partial frames")
    for column in ("image", "frames", "order", "score", "settle frame by row (top → bottom)", "patch grid"):
        table.add_column(column)
    for entry in result["images"][:50]:
        grid = f"{entry['patch_grid']} px" if entry["patch_grid"] else "none"
        table.add_row(entry["image"], str(entry["frames"]), entry["order"], f"{entry['order_score']:.2f}",
                      " ".join(map(str, entry["settle_frames"])), grid)
    out_console.print(table)
    summary = result["summary"]
    out_console.print("order: " + ", ".join(f"{k} {v}" for k, v in summary["order"].items())
                      + "; patch grid: " + ", ".join(f"{k} {v}" for k, v in summary["patch_grid"].items()))
    if not quiet:
        err_console.print(f"wrote {run / TRACE_JSON}")


@probe_app.command("experiment")
@user_errors
def experiment_cmd(
    family: Annotated[list[str] | None, typer.Option("--family", help="A family to learn: NAME=SPEC (model spec, or run:DIR). Repeat, 2 or more.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="The model to classify: a model spec, or run:DIR of an existing run on the same prompts.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Experiment directory: runs/<family>, runs/target, probe/, report.md, histogram.svg.")] = None,
    prompts: Annotated[str | None, typer.Option("--prompts", help="Prompt suite every family and the target generate from.")] = None,
    samples: Annotated[int | None, typer.Option("--samples", min=1, help="Images per prompt (the paper: 20).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="First N prompts only.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Base seed (per item and sample).")] = None,
    family_arg: Annotated[list[str] | None, typer.Option("--family-arg", help="NAME.key=value: a model arg for one family (or target.key=value).")] = None,
    clip: ClipOpt = None,
    backbone: Annotated[str | None, typer.Option("--backbone", help="CLIP/SigLIP (hub id or dir): also train the stronger backbone + head probe on the same folds.")] = None,
    finetune_blocks: Annotated[int | None, typer.Option("--finetune-blocks", min=0, help="Fine-tune the backbone's last N blocks with the head, inside every fold (GPU advised).")] = None,
    finetune_epochs: Annotated[int | None, typer.Option("--finetune-epochs", min=1, help="Epochs of fine-tuning.")] = None,
    crop: Annotated[int | None, typer.Option("--crop", min=8, help="Centre crop side before features.")] = None,
    folds: Annotated[int | None, typer.Option("--folds", min=2, help="Prompt-grouped cross-validation folds.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="YAML holding any of these (families: {NAME: SPEC or {model, args}}).")] = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """The architecture probe end to end: generate families + target on the same prompts, train, classify, report."""
    from dataclasses import replace

    from genlens.config import parse_scalar
    from genlens.errors import SpecError
    from genlens.forensics.experiment import (
        HISTOGRAM_SVG,
        REPORT_MD,
        ExperimentOptions,
        load_experiment_config,
        run_experiment,
        sources_from,
        target_from,
    )

    cfg = load_experiment_config(config)
    families = sources_from(list(family or []), cfg)
    target_source = target_from(target, cfg)
    for value in family_arg or []:
        key, sep, raw = value.partition("=")
        name, dot, arg = key.partition(".")
        if not sep or not dot or not arg:
            raise SpecError(f"--family-arg {value!r} is not NAME.key=value", fix="e.g. --family-arg vq-ar.guidance=5")
        if name == "target":
            target_source = replace(target_source, args={**target_source.args, arg: parse_scalar(raw)})
        elif name in families:
            families[name] = replace(families[name], args={**families[name].args, arg: parse_scalar(raw)})
        else:
            raise SpecError(f"--family-arg names {name!r}, which is no family", fix=f"use one of {', '.join(families)} or target")
    out_dir = out or (Path(cfg["out"]) if cfg.get("out") else None)
    if out_dir is None:
        raise SpecError("no --out given", fix="add --out DIR (the experiment's runs and report go there)")
    opts = ExperimentOptions(
        prompts=str(prompts or cfg.get("prompts") or "geneval"), samples=int(samples or cfg.get("samples") or 20),
        limit=limit or cfg.get("limit"), seed=int(seed if seed is not None else cfg.get("seed", 0)),
        clip=clip or cfg.get("clip"), backbone=backbone or cfg.get("backbone"),
        finetune_blocks=int(finetune_blocks if finetune_blocks is not None else cfg.get("finetune_blocks", 0)),
        finetune_epochs=int(finetune_epochs or cfg.get("finetune_epochs") or 3), crop=int(crop or cfg.get("crop") or 512), folds=int(folds or cfg.get("folds") or 5),
        quiet=quiet or as_json)
    say = (lambda text: None) if quiet or as_json else (lambda text: err_console.print(text))
    if opts.finetune_blocks and not opts.backbone:
        raise SpecError("--finetune-blocks needs --backbone", fix="add --backbone <CLIP or SigLIP hub id or dir>")
    summary = run_experiment(families, target_source, out_dir, opts, progress=say)
    if as_json:
        out_console.print_json(json.dumps({k: v for k, v in summary.items() if k != "classification"}, default=str))
        return
    table = Table(title=f"probe experiment: target {target_source.spec}")
    for column in ("family", "share of target images", "95% CI", "mean P"):
        table.add_column(column)
    for name, row in summary["shares"].items():
        span = f"{_pct(row['interval'][0])} – {_pct(row['interval'][1])}" if row.get("interval") else "too few prompts"
        table.add_row(name, _pct(row["share"]), span, f"{row['mean_probability']:.3f}")
    out_console.print(table)
    out_console.print(_heldout_line(summary["probe"]["heldout"]))
    if summary.get("backbone_probe"):
        out_console.print("backbone probe (same folds): " + _heldout_line(summary["backbone_probe"]["heldout"]))
    out_console.print(f"verdict: {summary['verdict']}")
    for warning in summary["warnings"]:
        err_console.print(f"warning: {warning}")
    if not quiet:
        err_console.print(f"wrote {out_dir / REPORT_MD} and {out_dir / HISTOGRAM_SVG}")


def register(app: typer.Typer) -> None:
    app.add_typer(probe_app, name="probe")
