"""``genlens detect RUN --real DIR``: can a run's images be told from real photos?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from genlens.cli import err_console, out_console, user_errors

DetectorsOpt = Annotated[list[str] | None, typer.Option(
    "--detector", "-d",
    help="Detector (repeatable): builtin (forensic features + logistic regression, cross-validated), builtin:gb, "
         "hf:<hub id or dir>[#<synthetic label>], or a genlens.detectors plugin name[:arg]. Default: builtin.")]


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _metrics_table(result: dict[str, Any]) -> Table:
    table = Table(title=f"detect: {result['n_generated']} generated vs {result['n_real']} real")
    for column in ("detector", "acc", "bal acc", "AUC [95% CI]", "AP", "TPR@1%FPR"):
        table.add_column(column, justify="left" if column == "detector" else "right")
    for det in result["detectors"]:
        m, ci = det["metrics"], det["intervals"].get("auc")
        auc = _fmt(m["auc"]) + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci and None not in ci else "")
        table.add_row(det["name"], _fmt(m["accuracy"]), _fmt(m["balanced_accuracy"]), auc, _fmt(m["ap"]),
                      _fmt(m["tpr_at_1pct_fpr"]))
    return table


def _robustness_table(result: dict[str, Any]) -> Table:
    """One row per perturbation, one "AUC / acc" column per detector (fits narrow terminals)."""
    table = Table(title="robustness: AUC / accuracy under each perturbation")
    table.add_column("perturbation")
    for det in result["detectors"]:
        table.add_column(det["name"], justify="right")
    table.add_row("clean", *(f"{_fmt(d['metrics']['auc'])} / {_fmt(d['metrics']['accuracy'])}" for d in result["detectors"]))
    for name in result["perturbations"]:
        table.add_row(name, *(f"{_fmt(d['robustness'][name]['auc'])} / {_fmt(d['robustness'][name]['accuracy'])}"
                              for d in result["detectors"]))
    return table


def register(app: typer.Typer) -> None:
    @app.command("detect")
    @user_errors
    def detect_cmd(
        run: Annotated[Path, typer.Argument(help="Run directory whose images are tested.")],
        real: Annotated[Path, typer.Option("--real", help="Folder of real photos (png/jpg/webp, searched recursively).")],
        detector: DetectorsOpt = None,
        robustness: Annotated[bool, typer.Option("--robustness", help="Also test under JPEG q95/75/50, resize 0.5x/2x, blur and crop.")] = False,
        crop: Annotated[int, typer.Option("--crop", min=8, help="Largest centre crop side in the normalisation rule.")] = 512,
        format_rule: Annotated[str, typer.Option("--format-rule", help="auto (JPEG re-encode when the sides differ in compression), jpeg (always) or none.")] = "auto",
        jpeg_quality: Annotated[int, typer.Option("--jpeg-quality", min=1, max=100, help="Quality of the normalising JPEG re-encode.")] = 95,
        folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds for the built-in detector.")] = 5,
        resamples: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples for the intervals.")] = 1000,
        workers: Annotated[int, typer.Option("--workers", "-j", min=1, help="Processes for the built-in detector's feature extraction.")] = 1,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print detect.json to stdout.")] = False,
    ) -> None:
        """Evaluate detectors on RUN's images against real photos; writes RUN/detect.json."""
        from genlens.errors import SpecError
        from genlens.forensics.detect import DETECT_JSON, DetectOptions, build_images, run_detect, units_of_work
        from genlens.progress import progress_bar

        if format_rule not in ("auto", "jpeg", "none"):
            raise SpecError(f"unknown --format-rule {format_rule!r}", fix="use auto, jpeg or none")
        opts = DetectOptions(detectors=tuple(detector or ("builtin",)), robustness=robustness, max_crop=crop,
                             format_rule=format_rule, jpeg_quality=jpeg_quality, folds=folds, resamples=resamples, workers=workers)  # type: ignore[arg-type]
        data = build_images(run, real, opts)
        with progress_bar("detect", units_of_work(len(data), opts), quiet=quiet or as_json) as advance:
            result = run_detect(run, real, opts, progress=advance, data=data)
        if as_json:
            out_console.print_json(json.dumps(result))
            return
        out_console.print(_metrics_table(result))
        if result["perturbations"]:
            out_console.print(_robustness_table(result))
        if not quiet:
            err_console.print(f"normalisation: {result['normalisation']}")
            for det in result["detectors"]:
                for note in det.get("notes") or []:
                    err_console.print(f"{det['name']}: {note}", markup=False)
            skipped = result["skipped_small"]
            if skipped.get("real") or skipped.get("generated"):
                err_console.print(f"note: skipped {skipped['real']} real and {skipped['generated']} generated image(s) "
                                  f"with a side under {skipped['min_side']} px")
            err_console.print(f"wrote {run / DETECT_JSON}")
