"""The architecture-probe experiment end to end (GPT-ImgEval §4.3 as one command).

``genlens probe experiment --family diffusion=SPEC --family vq-ar=SPEC … --target SPEC``:

1. **generate** every family and the target on the same prompts (a prompt suite, default GenEval),
   each into its own resumable run under ``OUT/runs/<name>`` (the same engine as ``genlens generate``);
   the target may instead be an existing run (``run:DIR``), which must hold the same prompts;
2. **train** the probe on the families (prompt-grouped folds, :func:`genlens.forensics.probe.train_probe`);
3. **classify** the target, then write ``OUT/experiment.json``, ``OUT/report.md`` (a verdict table of
   family shares with prompt-bootstrap intervals, the held-out numbers, the guards) and the
   Fig. 9-style histogram ``OUT/histogram.svg``.

Guards, because "most like diffusion" is not "diffusion": the report warns when the families' images
differ in resolution, container format or file size in ways the normalisation rule (one centre
crop, one JPEG re-encode) cannot remove, and scores how far the target's images lie from every
family (distance to the nearest family centroid in the probe's standardised feature space,
compared with the families' own images' distances to their centroid).
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genlens.errors import InputError, SpecError
from genlens.forensics import metrics
from genlens.imageio import atomic_write_text

EXPERIMENT_JSON = "experiment.json"
REPORT_MD = "report.md"
HISTOGRAM_SVG = "histogram.svg"
TARGET = "target"
#: A target image is "outside every family" when its distance to the nearest family centroid exceeds
#: this quantile of the families' own images' distances to their own centroid.
OOD_QUANTILE = 0.95
#: Families whose median file sizes differ by more than this factor get a warning.
FILE_SIZE_RATIO = 3.0


@dataclass(frozen=True)
class Source:
    """A family or the target: a model spec (generated here) or an existing run (``run:DIR``)."""

    name: str
    spec: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def run_dir(self) -> Path | None:
        return Path(self.spec.removeprefix("run:")) if self.spec.startswith("run:") else None


def parse_source(value: str, option: str = "--family") -> tuple[str, str]:
    name, sep, spec = value.partition("=")
    if not sep or not name.strip() or not spec.strip():
        raise SpecError(f"{option} {value!r} is not NAME=SPEC",
                        fix="e.g. --family diffusion=diffusers:black-forest-labs/FLUX.1-dev")
    return name.strip(), spec.strip()


def sources_from(families: list[str], config: dict[str, Any]) -> dict[str, Source]:
    """Families from ``--family NAME=SPEC`` and the config's ``families: {NAME: SPEC or {model, args}}``."""
    out: dict[str, Source] = {}

    def add(name: str, spec: str, args: dict[str, Any]) -> None:
        if name in out:
            raise SpecError(f"family {name!r} given twice", fix="one --family per family name")
        if name == TARGET:
            raise SpecError("a family cannot be called 'target'", fix="rename the family")
        out[name] = Source(name, spec, args)

    for name, entry in (config.get("families") or {}).items():
        spec, args = _entry(entry, f"families.{name}")
        add(str(name), spec, args)
    for value in families:
        add(*parse_source(value), {})
    if len(out) < 2:
        raise SpecError(f"the experiment needs at least two families ({len(out)} given)",
                        fix="add --family NAME=SPEC for each family, e.g. diffusion=… and vq-ar=…")
    return out


def _entry(entry: Any, where: str) -> tuple[str, dict[str, Any]]:
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, dict) and isinstance(entry.get("model"), str):
        args = entry.get("args") or {}
        if not isinstance(args, dict):
            raise SpecError(f"{where}.args is not a mapping", fix="write args: {key: value}")
        return entry["model"], dict(args)
    raise SpecError(f"{where} is neither a model spec nor {{model: SPEC, args: {{…}}}}", fix="see docs/probe.md")


def target_from(target: str | None, config: dict[str, Any]) -> Source:
    entry = target if target is not None else config.get("target")
    if not entry:
        raise SpecError("no target given", fix="add --target SPEC (a model spec, or run:DIR for an existing run)")
    spec, args = _entry(entry, "target")
    return Source(TARGET, spec, args)


EXPERIMENT_KEYS = {"families", "target", "prompts", "samples", "limit", "seed", "clip", "backbone", "finetune_blocks",
                   "finetune_epochs", "crop", "folds", "out"}


def load_experiment_config(path: Path | None) -> dict[str, Any]:
    """An experiment YAML: families {NAME: SPEC or {model, args}}, target, prompts, samples, limit, seed, clip, crop, folds, out."""
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SpecError("config file not found", path=path, fix="check the --config path") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"config is not valid YAML ({str(exc).splitlines()[0]})", path=path, fix="fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise SpecError("config must be a mapping", path=path, fix="see docs/probe.md for an example")
    unknown = sorted(set(map(str, data)) - EXPERIMENT_KEYS)
    if unknown:
        raise SpecError(f"unknown config key(s): {', '.join(unknown)}", path=path, fix=f"use only: {', '.join(sorted(EXPERIMENT_KEYS))}")
    if "families" in data and not isinstance(data["families"], dict):
        raise SpecError("config families must be a mapping NAME: SPEC", path=path, fix="e.g. families: {vq-ar: transformers:…}")
    for key in ("samples", "limit", "seed", "crop", "folds", "finetune_blocks", "finetune_epochs"):
        low = 0 if key in ("seed", "finetune_blocks") else 1
        if key in data and (isinstance(data[key], bool) or not isinstance(data[key], int) or data[key] < low):
            raise SpecError(f"config {key}: {data[key]!r} is not a whole number", path=path, fix=f"e.g. {key}: 2")
    return data


# ----------------------------------------------------------------------------------------------
# generation
# ----------------------------------------------------------------------------------------------
@dataclass
class ExperimentOptions:
    prompts: str = "geneval"
    samples: int = 20
    limit: int | None = None
    seed: int = 0
    clip: str | None = None
    backbone: str | None = None  # CLIP/SigLIP for the stronger probe, evaluated on the same folds
    finetune_blocks: int = 0  # fine-tune the backbone's last N blocks with the head (GPU advised)
    finetune_epochs: int = 3
    crop: int = 512
    folds: int = 5
    resamples: int = 1000
    quiet: bool = False


def _run_dir(out: Path, source: Source) -> Path:
    from genlens.config import slug

    return source.run_dir or out / "runs" / slug(source.name)


def _check_run_dirs(out: Path, sources: list[Source]) -> None:
    seen: dict[Path, str] = {}
    for source in sources:
        path = _run_dir(out, source).resolve()
        if path in seen:
            raise SpecError(f"families {seen[path]!r} and {source.name!r} would share the run {path}",
                            fix="give the families names that differ in letters or digits")
        seen[path] = source.name


def generate_source(source: Source, out: Path, opts: ExperimentOptions) -> dict[str, Any]:
    """Generate (or resume) one source's run; an existing run (run:DIR) is used as it is."""
    from genlens.backends.base import make_backend
    from genlens.runs import engine

    run_dir = _run_dir(out, source)
    if source.run_dir is not None:
        if not (run_dir / "genlens.sqlite").is_file():
            raise InputError("not a genlens run directory", path=run_dir, fix="give run:DIR of a run made by genlens")
        return {"run": str(run_dir), "generated": False}
    suite = engine.make_suite(opts.prompts)
    if suite.meta.task != "generate":
        raise SpecError(f"suite {opts.prompts!r} is not a text-to-image suite", fix="use --prompts geneval (or another generate suite)")
    backend = make_backend(source.spec, source.args)
    try:
        summary = engine.generate(run_dir, suite, backend, engine.GenerateOptions(
            samples=opts.samples, seed=opts.seed, limit=opts.limit, quiet=opts.quiet))
    finally:
        asyncio.run(backend.aclose())
    if summary.input_errors:
        raise InputError(f"{source.name}: {summary.input_errors[0]}", fix="fix it, then run the same command again")
    return {"run": str(run_dir), "generated": True, "statuses": dict(summary.statuses)}


def run_prompts(run_dir: Path) -> set[str]:
    from genlens.forensics.sources import run_images

    return {image.prompt for image in run_images(run_dir)}


def check_target_prompts(target: Path, families: dict[str, Path]) -> None:
    """A target run must come from the families' prompts (otherwise content, not family, separates them)."""
    shared = set.union(*(run_prompts(run) for run in families.values()))
    foreign = sorted(run_prompts(target) - shared)
    if foreign:
        raise InputError(f"the target run has {len(foreign)} prompt(s) no family was generated from (e.g. {foreign[0]!r})",
                         path=target, fix="generate the target from the same prompts (--prompts, --limit) as the families")


# ----------------------------------------------------------------------------------------------
# guards and verdict
# ----------------------------------------------------------------------------------------------
def format_guards(families: dict[str, Path], rule_json: dict[str, Any]) -> list[str]:
    """Warnings about resolution, format and file size differences the normalisation rule cannot remove."""
    from genlens.forensics.sources import image_info, run_images

    warnings: list[str] = []
    stats: dict[str, dict[str, Any]] = {}
    for name, run in families.items():
        infos = [image_info(image.path) for image in run_images(run)]
        sizes = sorted({(i.width, i.height) for i in infos})
        stats[name] = {"sizes": sizes, "formats": sorted({i.format for i in infos}),
                       "bytes": float(np.median([image.path.stat().st_size for image in run_images(run)]))}
    all_sizes = {name: s["sizes"] for name, s in stats.items()}
    if len({tuple(v) for v in all_sizes.values()}) > 1:
        shown = "; ".join(f"{name}: {', '.join(f'{w}x{h}' for w, h in v[:3])}" for name, v in all_sizes.items())
        warnings.append(f"the families' images differ in resolution ({shown}): the centre crop of "
                        f"{rule_json.get('crop')} px equalises size, not the resampling and scale traces each "
                        "resolution leaves, so the probe may separate resolutions rather than architectures")
    formats = {name: s["formats"] for name, s in stats.items()}
    if len({tuple(v) for v in formats.values()}) > 1:
        shown = "; ".join(f"{name}: {', '.join(v)}" for name, v in formats.items())
        handled = rule_json.get("jpeg_quality") is not None
        warnings.append(f"the families' images differ in format ({shown}); "
                        + ("the rule re-encodes every image as JPEG once, which hides most but not all container traces"
                           if handled else "the rule keeps pixels as decoded: the probe can learn the container"))
    medians = {name: s["bytes"] for name, s in stats.items()}
    if medians and min(medians.values()) > 0 and max(medians.values()) / min(medians.values()) > FILE_SIZE_RATIO:
        shown = ", ".join(f"{name} {value / 1024:.0f} KiB" for name, value in medians.items())
        warnings.append(f"median file sizes differ more than {FILE_SIZE_RATIO:g}x ({shown}): compression strength "
                        "differs, which the probe can learn")
    return warnings


def out_of_distribution(train: dict[str, Any], target: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    """Distances to the nearest family centroid (standardised features), against the families' own spread."""
    probe = train["probe"]
    features = (train["features"] - probe.mean) / probe.scale
    labels = train["labels"]
    centroids = np.stack([features[labels == i].mean(axis=0) for i in range(len(classes))])
    own = np.linalg.norm(features - centroids[labels], axis=1)
    threshold = float(np.quantile(own, OOD_QUANTILE))
    target_std = (target["features"] - probe.mean) / probe.scale
    distances = np.linalg.norm(target_std[:, None, :] - centroids[None, :, :], axis=2)
    nearest = distances.min(axis=1)
    outside = nearest > threshold
    return {
        "method": f"Euclidean distance to the nearest family centroid in the probe's standardised feature space; "
                  f"'outside' = beyond the {OOD_QUANTILE:.0%} quantile of the families' own images' distance to their centroid",
        "threshold": threshold,
        "family_median_distance": float(np.median(own)),
        "target_median_distance": float(np.median(nearest)),
        "share_outside": float(outside.mean()),
        "nearest_family_share": {c: float(np.mean(distances.argmin(axis=1) == i)) for i, c in enumerate(classes)},
    }


def share_intervals(probabilities: np.ndarray, groups: np.ndarray, classes: list[str], *, resamples: int = 1000,
                    seed: int = 0) -> dict[str, dict[str, Any]]:
    """Each family's share of the target's images (most likely family), with a 95% prompt-bootstrap interval
    (None, with a note, below :data:`genlens.stats.MIN_BOOTSTRAP_UNITS` prompts)."""
    from genlens.stats import too_few_units

    winners = probabilities.argmax(axis=1)
    unique, inverse = np.unique(groups, return_inverse=True)
    note = too_few_units(int(unique.size), "prompts")
    if note:
        return {name: {"share": float(np.mean(winners == index)), "interval": None, "interval_note": note,
                       "mean_probability": float(probabilities[:, index].mean())} for index, name in enumerate(classes)}
    counts = np.bincount(inverse, minlength=unique.size)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, unique.size, size=(resamples, unique.size))
    out = {}
    for index, name in enumerate(classes):
        hits = np.bincount(inverse, weights=(winners == index).astype(float), minlength=unique.size)
        shares = hits[picks].sum(axis=1) / counts[picks].sum(axis=1)
        out[name] = {"share": float(np.mean(winners == index)), "interval": [float(np.quantile(shares, 0.025)),
                                                                              float(np.quantile(shares, 0.975))],
                     "mean_probability": float(probabilities[:, index].mean())}
    return out


def verdict_sentence(shares: dict[str, dict[str, Any]], heldout: dict[str, Any], ood: dict[str, Any]) -> str:
    """One cautious sentence: which family the target resembles, and how far to trust it."""
    best = max(shares, key=lambda name: shares[name]["share"])
    interval = shares[best].get("interval")
    span = f"95% CI {interval[0]:.0%}–{interval[1]:.0%}" if interval else "no interval: too few prompts"
    text = f"the target's images are most like '{best}' ({shares[best]['share']:.0%} of images, {span})"
    if not heldout.get("interval"):
        text += "; too few prompts to tell whether the probe beats chance on held-out prompts: no conclusion"
    elif heldout["interval"][0] <= heldout["chance"]:
        text += "; but the probe does not separate the families better than chance on held-out prompts: no conclusion"
    elif ood["share_outside"] > 0.5:
        text += f"; but {ood['share_outside']:.0%} of them lie outside every family: resemblance, not membership"
    return text


def backbone_probe(spec: str, train: dict[str, Any], target: dict[str, Any], classes: list[str], out: Path,
                   resamples: int, *, finetune_blocks: int = 0, finetune_epochs: int = 3) -> dict[str, Any]:
    """The CLIP/SigLIP + trained-head probe on the forensic probe's folds; its target shares too."""
    from genlens.forensics import backbone_probe as bp

    backbone = bp.Backbone(spec)
    if finetune_blocks:
        trained = bp.finetune_and_save(backbone, train["rule"], train["paths"], train["labels"], train["groups"], classes,
                                       train["splits"], out / "backbone_probe", blocks=finetune_blocks,
                                       epochs=finetune_epochs, resamples=resamples)
    else:
        features = bp.embed_paths(backbone, train["rule"], train["paths"])
        trained = bp.train_and_save(backbone, features, train["labels"], train["groups"], classes, train["splits"],
                                    out / "backbone_probe", resamples)
    target_features = bp.embed_paths(backbone, train["rule"], target["paths"])
    probabilities = bp.classify(trained["weight"], trained["bias"], trained["temperature"], target_features)
    return {"backbone": trained["meta"]["backbone"], "head": trained["meta"]["head"], "heldout": trained["heldout"],
            "shares": share_intervals(probabilities, target["groups"], classes, resamples=resamples)}


def write_histogram(path: Path, result: dict[str, Any]) -> None:
    """The Fig. 9-style chart (SVG): per family, how many target images got each probability bin."""
    from genlens.report import plots

    chart = plots.histogram(result["histogram"]["bins"], result["histogram"]["counts"],
                            title=f"target: {result['n_images']} images", xlabel="probe probability of the family")
    atomic_write_text(path, str(chart))


def _span(row: dict[str, Any], escape: Callable[[Any], str]) -> str:
    """``lo – hi`` of a row's interval, or its note when there is none (too few prompts)."""
    interval = row.get("interval")
    return f"{interval[0]:.1%} – {interval[1]:.1%}" if interval else escape(row.get("interval_note") or "no interval")


def comparison_table(summary: dict[str, Any]) -> list[str]:
    """Both probes on the same folds: held-out accuracy, calibration, per-family recall; backbone shares."""
    def e(value: Any) -> str:
        return html.escape(str(value)).replace("|", "\\|")

    rows = {"forensic features + logistic regression": summary["probe"]["heldout"],
            f"backbone {summary['backbone_probe']['backbone']['spec']} + trained head": summary["backbone_probe"]["heldout"]}
    lines = ["## Both probes on the same folds", "",
             "| probe | held-out accuracy | 95% CI | ECE (calibrated) | per-family recall |", "|---|---:|---|---:|---|"]
    for name, heldout in rows.items():
        recall = ", ".join(f"{e(k)} {v:.0%}" for k, v in heldout["per_class_recall"].items())
        lines.append(f"| {e(name)} | {heldout['accuracy']:.1%} | {_span(heldout, e)} | "
                     f"{heldout['calibration']['calibrated']['ece']:.3f} | {recall} |")
    shares = summary["backbone_probe"]["shares"]
    lines += ["", "Backbone probe's target shares: " + ", ".join(
        f"{e(k)} {v['share']:.1%} [{_span(v, e)}]" for k, v in shares.items()), ""]
    return lines


def render_report(summary: dict[str, Any]) -> str:
    """report.md: verdict, the verdict table, held-out numbers, guards (every value escaped)."""
    def e(value: Any) -> str:
        return html.escape(str(value)).replace("|", "\\|")

    heldout = summary["probe"]["heldout"]
    lines = [f"# Architecture probe: {e(summary['target']['spec'])}", "", f"**Verdict:** {e(summary['verdict'])}", "",
             "| family | model | share of target images | 95% CI (prompt bootstrap) | mean probability |",
             "|---|---|---:|---|---:|"]
    for name, row in summary["shares"].items():
        lines.append(f"| {e(name)} | {e(summary['families'][name]['spec'])} | {row['share']:.1%} | "
                     f"{_span(row, e)} | {row['mean_probability']:.3f} |")
    lines += ["", f"Held-out accuracy {heldout['accuracy']:.1%} [{_span(heldout, e)}] (chance {heldout['chance']:.1%}), "
                  f"{e(heldout['protocol'])}; {heldout['n_images']} images, {heldout['n_prompts']} prompts.",
              "", f"![histogram]({HISTOGRAM_SVG})", ""]
    if summary.get("backbone_probe"):
        lines += comparison_table(summary)
    lines += ["## Guards", ""]
    ood = summary["out_of_distribution"]
    lines.append(f"- out of distribution: {ood['share_outside']:.0%} of the target's images lie outside every family "
                 f"(median distance {ood['target_median_distance']:.2f} vs the families' {ood['family_median_distance']:.2f}; "
                 f"{e(ood['method'])})")
    for warning in summary["warnings"] or ["the families' images match in resolution, format and file size"]:
        lines.append(f"- {e(warning)}")
    lines += ["", f"Normalisation: {e(summary['probe']['normalisation'])}", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# the whole experiment
# ----------------------------------------------------------------------------------------------
def run_experiment(families: dict[str, Source], target: Source, out: Path, opts: ExperimentOptions,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Generate (resumably), train, classify, guard and report. Returns what ``experiment.json`` holds."""
    from genlens.forensics.probe import classify_run, train_probe

    say = progress or (lambda _text: None)
    if len(families) < 2:
        raise SpecError("the experiment needs at least two families", fix="add --family NAME=SPEC")
    specs = [s.spec for s in families.values() if s.run_dir is None]
    if len(set(specs)) < len(specs):
        raise SpecError("two families use the same model spec", fix="give each family its own model")
    _check_run_dirs(out, [*families.values(), target])
    out.mkdir(parents=True, exist_ok=True)
    generated: dict[str, dict[str, Any]] = {}
    for source in [*families.values(), target]:
        say(f"generating {source.name} ({source.spec})")
        generated[source.name] = {"spec": source.spec, **generate_source(source, out, opts)}
    runs = {name: Path(generated[name]["run"]) for name in families}
    target_run = Path(generated[TARGET]["run"])
    check_target_prompts(target_run, runs)
    incomplete = {name: g["statuses"].get("error", 0) for name, g in generated.items() if g.get("statuses", {}).get("error")}
    say("training the probe")
    train: dict[str, Any] = {}
    meta = train_probe(runs, out / "probe", clip=opts.clip, crop=opts.crop, folds=opts.folds, resamples=opts.resamples,
                       keep=train)
    say("classifying the target")
    target_features: dict[str, Any] = {}
    result = classify_run(target_run, out / "probe", clip=opts.clip, keep=target_features)
    classes = list(meta["classes"])
    shares = share_intervals(target_features["probabilities"], target_features["groups"], classes, resamples=opts.resamples)
    ood = out_of_distribution(train, target_features, classes)
    warnings = format_guards(runs, meta["normalisation_rule"])
    if result.get("format_warning"):
        warnings.append(f"target: {result['format_warning']}")
    if incomplete:
        warnings.append("PARTIAL: failed generations (" + ", ".join(f"{k} {v}" for k, v in incomplete.items())
                        + "); run the same command again to retry them before trusting the verdict")
    summary = {
        "prompts": opts.prompts, "samples": opts.samples, "limit": opts.limit, "seed": opts.seed,
        "families": {name: generated[name] for name in families}, "target": generated[TARGET],
        "partial": bool(incomplete),
        "probe": {"dir": str(out / "probe"), "heldout": meta["heldout"], "normalisation": meta["normalisation"],
                  "classifier": meta["classifier"], "clip": opts.clip},
        "classification": {k: v for k, v in result.items() if k != "images"},
        "shares": shares, "out_of_distribution": ood, "warnings": warnings,
    }
    if opts.backbone:
        say(f"training the backbone probe ({opts.backbone}) on the same folds")
        summary["backbone_probe"] = backbone_probe(opts.backbone, train, target_features, classes, out, opts.resamples,
                                                   finetune_blocks=opts.finetune_blocks, finetune_epochs=opts.finetune_epochs)
    summary["verdict"] = ("PARTIAL — " if incomplete else "") + verdict_sentence(shares, meta["heldout"], ood)
    write_histogram(out / HISTOGRAM_SVG, result)
    atomic_write_text(out / EXPERIMENT_JSON, json.dumps(metrics.json_safe(summary), indent=2, allow_nan=False))
    atomic_write_text(out / REPORT_MD, render_report(summary))
    return summary
