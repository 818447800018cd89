"""``multiturn-edit``: does an image survive four rounds of editing? Success, preservation, colour drift.

GPT-ImgEval compared GPT-4o and Gemini over three editing rounds by eye; this suite measures it.
44 sequences × 4 rounds written for genlens (``data/multiturn/sequences.json``: add, remove,
replace, recolour, move, style, text), each round naming the part of the picture it may change
as normalised boxes (``null`` = the whole picture, e.g. a style change). Sources: images in
``--data-dir`` (sorted, sequence i takes image i mod n), GEdit-Bench's source images
(``--suite-arg sources=gedit``; ``--data-dir`` then names the GEdit data, as for ``gedit``) or,
by default, scikit-image's bundled sample photos, written once to the cache.

Per round k, against the original source (the edited image resized to the source size first):
- success: the judge's edit-success score / 10 for round k (previous image vs this one,
  with round k's instruction) and SC = min(success, over-editing) / 10 (``--judge``);
- preservation: SSIM / PSNR over the area no round ≤ k was allowed to change (SSIM windows
  wholly inside it); once a round changed the whole picture, the round is counted as
  ``global`` and left out of the preservation and colour curves;
- colour drift over that same area: mean ΔE2000 and the mean CIELAB shift (ΔL*, Δa*, Δb*);
- size: whether width × height changed from the source, and |ln(aspect ratio change)|.

Multi-round mode: ``--suite-arg mode=native`` (the backend's own conversation; default) or
``mode=reupload`` (each round re-sends the previous result as a fresh edit).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genlens.args import Arg
from genlens.errors import InputError
from genlens.imageio import atomic_write, load_rgb
from genlens.metrics.color import color_drift
from genlens.metrics.fidelity import as_float_rgb, box_keep_mask, psnr, ssim
from genlens.scorers.base import Scorer
from genlens.stats import mean_or_none
from genlens.suites._edit_judge import configured_judge, context_judge, edit_pair_images, load_templates, sc_scorer
from genlens.suites.base import IMAGE_EXTENSIONS, ScoreContext, Suite, SuiteMeta, SuiteResult, register_suite
from genlens.suites.gedit import cache_dir
from genlens.types import Item, ScoredGeneration, ScoreInput

SEQUENCES_FILE = Path(__file__).resolve().parents[1] / "data" / "multiturn" / "sequences.json"
ROUNDS = 4
OPS = ("add", "remove", "replace", "recolour", "move", "style", "text")
SKIMAGE_SOURCES = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle", "camera")
SKIMAGE_PREFIX = "skimage/"
GEDIT_PREFIX = "gedit/"
JUDGE_MAX_SIDE = 512
CURVE_METRICS = ("success", "sc", "ssim", "psnr", "delta_e2000", "lab_shift", "lab_shift_db", "size_changed", "aspect_error")


def load_sequences(path: Path = SEQUENCES_FILE) -> list[dict[str, Any]]:
    """The packaged sequences (each: id, pattern, four rounds of op / instruction / regions)."""
    return json.loads(path.read_text(encoding="utf-8"))["sequences"]


def skimage_photo(name: str) -> Image.Image:
    """One of scikit-image's bundled sample photos as RGB (shipped in the wheel; no download)."""
    try:
        from skimage import data
    except ImportError:
        from genlens.errors import SpecError

        raise SpecError("the built-in source photos come from scikit-image",
                        fix="pip install 'genlens[diag]', or pass --data-dir with your own images") from None
    array = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
    return Image.fromarray(np.asarray(array)).convert("RGB")


def skimage_source_path(name: str) -> Path:
    """The PNG of a sample photo in the cache, written on first use."""
    path = cache_dir() / "multiturn" / f"{name}.png"
    if not path.exists():
        import io

        buffer = io.BytesIO()
        skimage_photo(name).save(buffer, format="PNG")
        atomic_write(path, buffer.getvalue())
    return path


def folder_sources(data_dir: Path) -> list[str]:
    if not data_dir.is_dir():
        raise InputError("source image folder not found", path=data_dir,
                         fix="pass --data-dir with the images to edit, or leave it out to use the built-in sample photos")
    names = sorted(p.name for p in data_dir.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))
    if not names:
        raise InputError("no images (.png/.jpg/.webp) in the source folder", path=data_dir,
                         fix="put the source images directly in the folder given to --data-dir")
    return names


def keep_region(shape: tuple[int, int], regions: list[list[list[float]] | None]) -> np.ndarray | None:
    """Pixels no round so far was allowed to change (None when one round could change everything)."""
    if any(r is None for r in regions):
        return None
    boxes = [tuple(box) for boxes in regions for box in boxes]  # type: ignore[union-attr]
    return box_keep_mask(shape, boxes)  # type: ignore[arg-type]


def round_metrics(original: Image.Image, edited: Image.Image, regions: list[list[list[float]] | None]) -> dict[str, Any]:
    """Preservation, colour drift and size change of one round's image against the original."""
    width, height = original.size
    out: dict[str, Any] = {
        "width": edited.width, "height": edited.height, "size_changed": edited.size != original.size,
        "aspect_error": abs(math.log((edited.width / edited.height) / (width / height))),
    }
    if edited.size != original.size:
        edited = edited.resize(original.size, Image.BICUBIC)
    keep = keep_region((height, width), regions)
    out["scope"] = "outside" if keep is not None else "global"
    a, b = as_float_rgb(original), as_float_rgb(edited)
    out["kept_fraction"] = float(keep.mean()) if keep is not None else 0.0
    out["ssim"] = ssim(a, b, keep=keep) if min(width, height) >= 11 else None
    out["psnr"] = psnr(a, b, keep=keep)
    out.update(color_drift(np.asarray(original), np.asarray(edited), keep))  # uint8: Lab via lookup table
    return out


class TurnMetricsScorer(Scorer):
    """Weight-free per-round measurements (preservation, colour drift, size) of one sequence."""

    name = "turn_metrics"
    version = "1"
    batch_size = 4
    #: numpy/OpenCV release the GIL: a few batches in worker threads use several cores.
    concurrency = max(1, min(4, os.cpu_count() or 1))

    def __init__(self, suite: Suite):
        self.suite = suite

    def identity(self) -> dict[str, Any]:
        return {"model": "none (weight-free)", "ssim": "gaussian 11x11 sigma 1.5, windows wholly in the kept area",
                "color": "CIELAB D65 (skimage), CIEDE2000"}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for inp in batch:
            regions = inp.item.meta["regions"]
            paths = inp.image_paths
            if len(paths) != len(regions):
                out.append(("error", {"reason": f"{len(paths)} round images for {len(regions)} rounds"}))
                continue
            try:
                original = load_rgb(self.suite.input_path(inp.item.input_images[0]))
                rounds = [round_metrics(original, load_rgb(path), regions[:k + 1]) for k, path in enumerate(paths)]
            except InputError as exc:
                out.append(("error", {"reason": str(exc)}))
                continue
            out.append(("ok", {"rounds": rounds}))
        return out


def judge_scorers(suite: Suite, ctx: ScoreContext) -> list[Any]:
    """One SC judge scorer per round: previous image (the source for round 1) vs this round's image."""
    chosen = context_judge(ctx)
    if chosen is None:
        return []
    judge, prompt_file, _params = chosen
    template, _pq = load_templates(prompt_file, None)
    max_side = int(ctx.suite_args.get("judge_max_side", JUDGE_MAX_SIDE))

    def inputs_for(k: int) -> Any:
        def sc_inputs(inp: ScoreInput) -> tuple[str, list[bytes]]:
            before = suite.input_path(inp.item.input_images[0]) if k == 0 else inp.image_paths[k - 1]
            return inp.item.rounds[k], edit_pair_images(before, inp.image_paths[k], max_side)
        return sc_inputs

    return [sc_scorer(judge, template, name=f"turn_judge_r{k + 1}", version="1", sc_inputs=inputs_for(k))
            for k in range(ROUNDS)]


@register_suite
class MultiturnEditSuite(Suite):
    meta = SuiteMeta(
        name="multiturn-edit",
        version="1",
        title="Multi-round editing: success, preservation and colour drift over 4 rounds",
        task="multiturn",
        categories=tuple(f"round_{k}" for k in range(1, ROUNDS + 1)),
        needs=("none", "judge (optional, for success)"),
        data_source="built in (44 genlens sequences) over --data-dir images or skimage sample photos",
        default_samples=1,
        item_count=len(load_sequences()),
        description="Curves over rounds of instruction success (judge), SSIM/PSNR outside the edited area, ΔE2000 and Lab shift.",
    )
    uses = frozenset({"judge"})
    args = (
        Arg("mode", "choice", "native", "native: one session per sequence; reupload: each round edits the last result",
            "reupload", choices=("native", "reupload")),
        Arg("sources", "choice", None, "source images: GEdit-Bench's (default: --data-dir images or scikit-image photos)",
            "gedit", choices=("gedit",)),
        Arg("revision", "str", None, "GEdit-Bench revision for sources=gedit", "main"),
        Arg("judge_max_side", "int", None, "longest side (px) of images sent to the judge (0: unchanged)", "1024", minimum=0, maximum=65_536),
    )
    scorer_args = (Arg("pq_prompt", "str", None, "a file with the perceptual-quality judge prompt", "pq.txt"),)

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        self.mode = str(self.suite_args.get("mode", "native"))
        if self.mode not in ("native", "reupload"):
            from genlens.errors import SpecError

            raise SpecError(f"unknown multi-round mode {self.mode!r}", fix="use --suite-arg mode=native or mode=reupload")
        self._items: list[Item] | None = None

    def items(self) -> Sequence[Item]:
        if self._items is None:
            sources = self.source_names()
            self._items = []
            for index, seq in enumerate(load_sequences()):
                source = sources[index % len(sources)]
                rounds = seq["rounds"]
                self._items.append(Item(
                    id=seq["id"], prompt=" | ".join(r["instruction"] for r in rounds), category=seq["pattern"],
                    kind="multiturn", input_images=(source,), rounds=tuple(r["instruction"] for r in rounds),
                    meta={"ops": [r["op"] for r in rounds], "regions": [r["regions"] for r in rounds], "source": source},
                ))
        return self._items

    def source_names(self) -> list[str]:
        """Source image names: ``--data-dir`` images, GEdit-Bench's (``sources=gedit``) or skimage's photos."""
        if self.suite_args.get("sources") == "gedit":
            from genlens.suites.gedit import read_records, resolve_data

            export = resolve_data(self.data_dir, str(self.suite_args["revision"]) if self.suite_args.get("revision") else None)
            keys = sorted({rec["image"] for rec in read_records(export)})
            return [f"{GEDIT_PREFIX}{Path(name).name}" for name in keys]
        if self.data_dir is not None:
            return folder_sources(self.data_dir)
        return [f"{SKIMAGE_PREFIX}{name}.png" for name in SKIMAGE_SOURCES]

    def sources_description(self) -> str:
        if self.suite_args.get("sources") == "gedit":
            return f"GEdit-Bench source images ({self.data_dir or 'cached export'})"
        return str(self.data_dir) if self.data_dir else f"scikit-image sample photos: {', '.join(SKIMAGE_SOURCES)}"

    def input_path(self, name: str) -> Path:
        if name.startswith(SKIMAGE_PREFIX) and self.data_dir is None:
            return skimage_source_path(Path(name).stem)
        if name.startswith(GEDIT_PREFIX):
            from genlens.suites.gedit import resolve_data

            revision = str(self.suite_args["revision"]) if self.suite_args.get("revision") else None
            return resolve_data(self.data_dir, revision) / "images" / name[len(GEDIT_PREFIX):]
        return super().input_path(name)

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        return [TurnMetricsScorer(self), *judge_scorers(self, ctx)]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        rows, counts = turn_rows(scored)
        # rows.jsonl holds one row per (sequence, sample, round); the categories are the rounds, so their
        # n add up to the rows. The per-operation breakdown groups the same rows another way: it lives in
        # extra["by_op"], not beside the rounds (where every row was counted twice).
        categories: dict[str, dict[str, float | int | None]] = {}
        for k in range(1, ROUNDS + 1):
            categories[f"round_{k}"] = round_summary([r for r in rows if r["round"] == k])
        by_op: dict[str, dict[str, float | int | None]] = {}
        for op in OPS:
            chosen = [r for r in rows if r["op"] == op]
            if chosen:
                by_op[op] = {"success": mean_of(chosen, "success"), "sc": mean_of(chosen, "sc"), "n": len(chosen)}
        counts = {**counts, "rows": len(rows), "sequences": len({(r["item"], r["sample"]) for r in rows})}
        curves = {metric: {"rounds": list(range(1, ROUNDS + 1)),
                           "values": [categories[f"round_{k}"][metric] for k in range(1, ROUNDS + 1)]}
                  for metric in CURVE_METRICS}
        curves = {m: c for m, c in curves.items() if any(v is not None for v in c["values"])}  # e.g. no judge: no success curve
        last = categories[f"round_{ROUNDS}"]
        return SuiteResult(
            headline={"success": mean_of(rows, "success"), f"ssim_r{ROUNDS}": last["ssim"],
                      f"delta_e2000_r{ROUNDS}": last["delta_e2000"]},
            metrics={"sc": mean_of(rows, "sc"), "size_changed_rate": mean_of(rows, "size_changed"),
                     "psnr_r1": categories["round_1"]["psnr"], f"psnr_r{ROUNDS}": last["psnr"],
                     "ssim_r1": categories["round_1"]["ssim"], "delta_e2000_r1": categories["round_1"]["delta_e2000"],
                     f"lab_shift_db_r{ROUNDS}": last["lab_shift_db"]},
            categories=categories, counts=counts,
            extra={"curves": curves, "mode": self.mode, "rounds": ROUNDS, "by_op": by_op},
            provenance=multiturn_provenance(ctx, self.mode, self.sources_description()),
            rows=rows,
        )


def mean_of(rows: list[dict[str, Any]], key: str) -> float | None:
    return mean_or_none([float(r[key]) for r in rows if r.get(key) is not None])


def round_summary(rows: list[dict[str, Any]]) -> dict[str, float | int | None]:
    """One round's means; preservation and colour only over rows whose kept area is known."""
    local = [r for r in rows if r.get("scope") == "outside"]
    return {
        "success": mean_of(rows, "success"), "sc": mean_of(rows, "sc"),
        "ssim": mean_of(local, "ssim"), "psnr": mean_of(local, "psnr"),
        "delta_e2000": mean_of(local, "delta_e2000"), "lab_shift": mean_of(local, "lab_shift"),
        "lab_shift_dL": mean_of(local, "lab_shift_dL"), "lab_shift_da": mean_of(local, "lab_shift_da"),
        "lab_shift_db": mean_of(local, "lab_shift_db"),
        "size_changed": mean_of(rows, "size_changed"), "aspect_error": mean_of(rows, "aspect_error"),
        "n": len(rows), "n_global": sum(1 for r in rows if r.get("scope") == "global"),
    }


def turn_rows(scored: Sequence[ScoredGeneration]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One row per (sequence, sample, round) with that round's measurements and judge scores."""
    rows: list[dict[str, Any]] = []
    counts = {"refused": 0, "errored": 0, "unparsed": 0, "judge_errors": 0}
    for entry in scored:
        gen, item = entry.generation, entry.item
        ops = item.meta.get("ops") or [""] * len(item.rounds)
        if gen.status != "ok":
            counts["refused" if gen.status == "refused" else "errored"] += 1
            for k, instruction in enumerate(item.rounds, start=1):
                row = {"item": item.id, "sample": gen.sample, "round": k, "category": f"round_{k}", "op": ops[k - 1],
                       "prompt": instruction, "status": gen.status, "image": None, "reason": gen.reason}
                if gen.status == "refused":  # a refused conversation edits nothing: success 0 in every round
                    row.update({"success": 0.0, "sc": 0.0, "score": 0.0})
                rows.append(row)
            continue
        metrics = entry.scores.get("turn_metrics")
        per_round = metrics.value.get("rounds", []) if metrics is not None and metrics.status == "ok" else []
        for k, instruction in enumerate(item.rounds, start=1):
            row = {"item": item.id, "sample": gen.sample, "round": k, "category": f"round_{k}", "op": ops[k - 1],
                   "prompt": instruction, "status": gen.status,
                   "image": gen.images[k - 1] if k - 1 < len(gen.images) else None, "success": None, "sc": None}
            if k - 1 < len(per_round):
                row.update(per_round[k - 1])
            judged = entry.scores.get(f"turn_judge_r{k}")
            if judged is not None:
                if judged.status == "ok" and judged.value.get("scores"):
                    scores = judged.value["scores"]
                    row["success"] = scores["edit_success"] / 10
                    row["sc"] = min(scores["edit_success"], scores["over_editing"]) / 10
                    row["judge"] = {"raw": judged.value.get("raw"), "scores": scores}
                elif judged.status == "unparsed":
                    counts["unparsed"] += 1
                    row["reason"] = "judge answer unparsed"
                elif judged.status == "error":
                    counts["judge_errors"] += 1
            row["score"] = row["success"]
            rows.append(row)
    return rows, counts


def multiturn_provenance(ctx: ScoreContext, mode: str, sources: str) -> dict[str, Any]:
    notes = [
        f"multi-round mode: {mode} ({'the backend conversation' if mode == 'native' else 'each round re-uploads the previous result'})",
        "success = judge edit-success/10 for each round (previous image vs this one); sc = min(success, over-editing)/10",
        "ssim/psnr/colour drift: against the original source, outside every region the rounds so far may change; "
        "rounds after a whole-picture change (style) are 'global' and left out of those curves",
        "edited images of another size are resized (bicubic) to the source size before comparison; size_changed records it",
        "refused sequences score success 0 in every round; errored sequences are retried on resume and not counted",
    ]
    if not configured_judge(ctx):
        notes.append("no --judge given: success and sc are empty")
    return {"notes": notes, "sources": sources, "sequences": str(SEQUENCES_FILE.name), "judge": configured_judge(ctx)}


# ---------------------------------------------------------------------------------------------
# comparing runs (models, modes) round by round
# ---------------------------------------------------------------------------------------------
def run_label(results: dict[str, Any]) -> str:
    mode = (results.get("extra") or {}).get("mode", "")
    return f"{results.get('model')} [{mode}]" if mode else str(results.get("model"))


def compare_runs(results: Sequence[dict[str, Any]], metrics: Sequence[str] = CURVE_METRICS) -> list[dict[str, Any]]:
    """Rows of (metric, round, one value per run) from several multiturn-edit results.json dicts."""
    rows = []
    for metric in metrics:
        for k in range(1, ROUNDS + 1):
            row: dict[str, Any] = {"metric": metric, "round": k}
            for res in results:
                curve = ((res.get("extra") or {}).get("curves") or {}).get(metric) or {}
                values = curve.get("values") or []
                row[run_label(res)] = values[k - 1] if k - 1 < len(values) else None
            rows.append(row)
    return rows


def comparison_markdown(results: Sequence[dict[str, Any]], metrics: Sequence[str] = ("success", "ssim", "delta_e2000", "lab_shift_db")) -> str:
    """A Markdown table: metric × round rows, one column per run (model and mode)."""
    labels = [run_label(r) for r in results]
    lines = ["| metric | round | " + " | ".join(label.replace("|", "\\|") for label in labels) + " |",
             "|---|---:|" + "---:|" * len(labels)]
    for row in compare_runs(results, metrics):
        cells = ["—" if row[label] is None else f"{row[label]:.3f}" for label in labels]
        lines.append(f"| {row['metric']} | {row['round']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
