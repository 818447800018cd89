"""``reason-edit``: SmartEdit's Reason-Edit set, scored as GPT-ImgEval did and with SmartEdit's metrics.

Data: the user's copy of the benchmark (``--data-dir``; its authors distribute it only through
a Google Drive folder, so there is no pinned public download to fetch). Layout per folder
(``1-Left-Right`` … ``6-Reasoning``, optional ``7-Add-supp``): source images ``*.png``, masks
``*_mask.jpg`` (white = the region to edit) and one text file with a line per image,
``<instruction> CLIP: <caption of the edited content>``; image k, mask k and line k pair up in
sorted order. The mask is used for scoring only: models get the instruction and the image.

Scores:

- the GPT-ImgEval-comparable judge score: VIEScore-TIE semantic consistency
  SC = min(edit success, over-editing) / 10, averaged over folders 1–6 pooled; perceptual
  quality PQ and overall sqrt(SC·PQ) beside it (see :mod:`genlens.suites._edit_judge`);
- SmartEdit's full-reference metrics at 256×256 on the region outside the mask (PSNR, SSIM, MSE
  with the 1 − mask weighting; LPIPS needs torchvision and is not computed) and the CLIP score
  of the edited image cropped to the mask's box against the caption (``--clip``).

Per folder, "understanding" (1–5 pooled, sample-weighted) and "reasoning" (6). The upstream
script never computes the reasoning folder (its two name filters disagree); here it is computed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from genlens.errors import InputError
from genlens.imageio import load_image, load_rgb
from genlens.judges.scorer import parse_disagreements
from genlens.metrics.fidelity import SMARTEDIT_SIZE, mask_bbox, smartedit_background
from genlens.scorers.base import Scorer
from genlens.stats import bootstrap_ci, mean_or_none, too_few_units
from genlens.suites._coverage import Coverage, mark_partial
from genlens.suites._edit_judge import (
    configured_judge,
    edit_pair_images,
    image_bytes,
    make_edit_judge_scorers,
    overall_of,
    parser_note,
    pq_of,
    sc_of,
)
from genlens.suites.base import IMAGE_EXTENSIONS, ImportedImage, ScoreContext, Suite, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

UNDERSTANDING = ("1-Left-Right", "2-Relative-Size", "3-Mirror", "4-Color", "5-Multiple-Objects")
REASONING = ("6-Reasoning",)
ADDITION = ("7-Add-supp",)
FOLDERS = UNDERSTANDING + REASONING
DATA_FIX = ("download Reason-Edit from the Google Drive link in github.com/TencentARC/SmartEdit's README "
            "(no pinned public download exists) and pass --data-dir <its folder>")
#: SmartEdit's output folders (test/metrics_evaluation.py), paired with the data folders in sorted order.
SMARTEDIT_OUTPUT_FOLDERS = {
    "LeftRight_metrics_1": "1-Left-Right", "RelativeSize_metrics_2": "2-Relative-Size", "Mirror_metrics_3": "3-Mirror",
    "Color_metrics_4": "4-Color", "MultipleObjects_metrics_5": "5-Multiple-Objects", "Reasoning_metrics_1": "6-Reasoning",
}
JUDGE_MAX_SIDE = 512  # ComfyMind's Reason-Edit judge shrinks both images to fit 512×512
CLIP_SCALE = 100.0  # torchmetrics CLIPScore = 100 · max(cos, 0)


def group_of(folder: str) -> str:
    if folder in UNDERSTANDING:
        return "understanding"
    return "reasoning" if folder in REASONING else "addition"


def split_instruction(line: str) -> tuple[str, str | None]:
    """``"<instruction> CLIP: <caption>"`` -> (instruction, caption); no ``CLIP:`` -> (line, None)."""
    instruction, sep, caption = line.partition("CLIP:")
    return instruction.strip(), (caption.strip() or None) if sep else None


def read_folder(root: Path, folder: str) -> list[Item]:
    """Items of one Reason-Edit folder (sources, masks and text lines paired in sorted order)."""
    directory = root / folder
    sources = sorted(p.name for p in directory.glob("*.png") if not p.stem.endswith("_mask"))
    masks = sorted(p.name for p in directory.glob("*_mask.jpg"))
    texts = sorted(directory.glob("*.txt"))
    if len(texts) != 1:
        raise InputError(f"expected one instruction .txt file, found {len(texts)}", path=directory,
                         fix="keep exactly the benchmark's instruction file in the folder")
    lines = [ln.strip() for ln in texts[0].read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    if not (len(sources) == len(masks) == len(lines)):
        raise InputError(f"{len(sources)} images, {len(masks)} masks and {len(lines)} instruction lines do not pair up",
                         path=directory, fix="restore the folder as downloaded (image k, mask k and line k belong together)")
    items = []
    for source, mask, line in zip(sources, masks, lines, strict=True):
        instruction, caption = split_instruction(line)
        items.append(Item(
            id=f"{folder}/{Path(source).stem}", prompt=instruction, category=folder, kind="edit",
            input_images=(f"{folder}/{source}",),
            meta={"caption": caption, "eval_mask": f"{folder}/{mask}", "group": group_of(folder)},
        ))
    return items


def load_items(root: Path | None, include_addition: bool = False) -> list[Item]:
    """Every item of the benchmark under ``root``, folders in official order."""
    if root is None or not root.is_dir():
        raise InputError("Reason-Edit data not found", path=root or "--data-dir", fix=DATA_FIX)
    folders = FOLDERS + (ADDITION if include_addition else ())
    present = [f for f in folders if (root / f).is_dir()]
    missing = [f for f in FOLDERS if f not in present]
    if missing:
        raise InputError(f"Reason-Edit folder(s) missing: {', '.join(missing)}", path=root, fix=DATA_FIX)
    return [item for folder in present for item in read_folder(root, folder)]


class SmartEditMetricsScorer(Scorer):
    """SmartEdit's background PSNR/SSIM/MSE at 256×256 outside the (soft) mask."""

    name = "smartedit_metrics"
    version = "1"
    batch_size = 8
    #: numpy/OpenCV release the GIL: a few batches in worker threads use several cores.
    concurrency = max(1, min(4, os.cpu_count() or 1))

    def __init__(self, suite: Suite):
        self.suite = suite

    def identity(self) -> dict[str, Any]:
        return {"model": "none (weight-free)", "size": SMARTEDIT_SIZE, "weighting": "1 - mask/255 on both images"}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for inp in batch:
            try:
                source = load_rgb(self.suite.input_path(inp.item.input_images[0]))
                mask = load_image(self.suite.input_path(inp.item.meta["eval_mask"]))
                edited = load_rgb(inp.image_paths[0])
            except InputError as exc:
                out.append(("error", {"reason": str(exc)}))
                continue
            out.append(("ok", {**smartedit_background(source, edited, mask), "edited_size": list(edited.size)}))
        return out


def crop_to_mask(edited: Image.Image, mask: Image.Image, size: int = SMARTEDIT_SIZE) -> Image.Image | None:
    """The edited image at size×size cropped to the box of the mask's non-zero pixels (SmartEdit's CLIP input)."""
    box = mask_bbox(mask.convert("L").resize((size, size), Image.NEAREST))
    if box is None:
        return None
    # SmartEdit crops to (min x, min y, max x, max y) of the non-zero pixels, so its last row and
    # column are left out; we do the same (at least one pixel wide, so a one-pixel mask still crops).
    left, top, right, bottom = box
    upstream = (left, top, max(left + 1, right - 1), max(top + 1, bottom - 1))
    return edited.convert("RGB").resize((size, size), Image.BICUBIC).crop(upstream)


class SmartEditClipScorer(Scorer):
    """CLIP score 100·max(cos, 0) of the edited region (mask box) against the "CLIP:" caption."""

    name = "smartedit_clip"
    version = "1"
    batch_size = 16
    threaded = True

    def __init__(self, suite: Suite, clip_id: str):
        self.suite = suite
        self.clip_id = clip_id
        self.model: Any = None

    def identity(self) -> dict[str, Any]:
        from genlens.scorers.clip import resolve_pretrained

        return {"clip": resolve_pretrained(self.clip_id, what="CLIP model").identity, "size": SMARTEDIT_SIZE,
                "score": "100 * max(cos, 0) on the mask-box crop"}

    def load(self) -> None:
        from genlens.scorers.clip import ClipModel

        self.model = ClipModel.load(self.clip_id)

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        crops: list[Image.Image] = []
        captions: list[str] = []
        slots: list[tuple[str, dict[str, Any]] | None] = []
        for inp in batch:
            caption = inp.item.meta.get("caption")
            try:
                crop = crop_to_mask(load_rgb(inp.image_paths[0]), load_image(self.suite.input_path(inp.item.meta["eval_mask"])))
            except InputError as exc:
                slots.append(("error", {"reason": str(exc)}))
                continue
            if crop is None or not caption:
                slots.append(("skipped", {"reason": "empty mask" if crop is None else "no CLIP: caption"}))
                continue
            crops.append(crop)
            captions.append(caption)
            slots.append(None)
        scores = []
        if crops:
            cosine = (self.model.image_embeddings(crops) * self.model.text_embeddings(captions)).sum(axis=1)
            scores = [CLIP_SCALE * max(float(c), 0.0) for c in cosine]
        it = iter(scores)
        return [slot if slot is not None else ("ok", {"clip_score": next(it), "model": self.model.identity()}) for slot in slots]


def clip_available() -> bool:
    try:
        import genlens.scorers.clip  # noqa: F401
    except ImportError:
        return False
    return True


@register_suite
class ReasonEditSuite(Suite):
    meta = SuiteMeta(
        name="reason-edit",
        version="1",
        title="Reason-Edit (SmartEdit): complex-instruction editing",
        task="edit",
        categories=FOLDERS,
        needs=("judge", "clip (optional)"),
        data_source="user copy via --data-dir (SmartEdit's Google Drive; no pinned public download)",
        default_samples=1,
        item_count=None,
        description="GPT-ImgEval's editing score (VIEScore SC/10 by a VLM judge) plus SmartEdit's masked PSNR/SSIM and CLIP.",
    )

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        self.include_addition = str(self.suite_args.get("add_supp", "false")).lower() in ("1", "true", "yes")
        self._items: list[Item] | None = None

    def items(self) -> Sequence[Item]:
        if self._items is None:
            self._items = load_items(self.data_dir, self.include_addition)
        return self._items

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        out: list[Any] = [SmartEditMetricsScorer(self)]
        if ctx.clip and clip_available():
            out.append(SmartEditClipScorer(self, ctx.clip))
        max_side = int(ctx.suite_args.get("judge_max_side", JUDGE_MAX_SIDE))

        def sc_inputs(inp: ScoreInput) -> tuple[str, list[bytes]]:
            return inp.item.prompt, edit_pair_images(self.input_path(inp.item.input_images[0]), inp.image_paths[0], max_side)

        def pq_input(inp: ScoreInput) -> list[bytes]:
            return [image_bytes(load_rgb(inp.image_paths[0]), max_side)]

        out += make_edit_judge_scorers(ctx, name_prefix="judge", version="1", sc_inputs=sc_inputs, pq_input=pq_input,
                                       official_sc="comfymind")
        return out

    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        return [f"{item.id}_{sample}", item.id] if sample == 0 else [f"{item.id}_{sample}"]

    def import_layout(self, directory: Path) -> Iterator[ImportedImage]:
        """SmartEdit's output layout: ``<dir>/**/LeftRight_metrics_1/*.png`` … ``Reasoning_metrics_1``,
        the k-th image (sorted) being the edit of the folder's k-th item; or ``<folder>/<stem>.png``."""
        by_folder: dict[str, list[Item]] = {}
        for item in self.items():
            by_folder.setdefault(item.category, []).append(item)
        for out_name, folder in SMARTEDIT_OUTPUT_FOLDERS.items():
            for out_dir in sorted(directory.rglob(out_name)):
                images = sorted(p for p in out_dir.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
                for item, path in zip(by_folder.get(folder, []), images, strict=False):
                    yield ImportedImage(item.id, 0, path)
        for item in self.items():
            for ext in IMAGE_EXTENSIONS:
                path = directory / f"{item.id}{ext}"
                if path.is_file():
                    yield ImportedImage(item.id, 0, path)
                    break

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        rows, counts = reason_edit_rows(scored)
        categories: dict[str, dict[str, float | int | None]] = {}
        folders = [f for f in (*FOLDERS, *ADDITION) if any(r["category"] == f for r in rows)]
        for folder in folders:
            categories[folder] = summarise([r for r in rows if r["category"] == folder])
        for group in ("understanding", "reasoning"):
            categories[group] = summarise([r for r in rows if r["group"] == group])
        main = [r for r in rows if r["group"] != "addition"]
        overall = summarise(main)
        judged = [r["sc"] / 10 for r in main if r["sc"] is not None]
        metrics = {k: v for k, v in overall.items() if k not in ("n", "gpt_score")}
        # Folders 1-7 (what public ports average) beside the 1-6 headline; None when folder 7 is not loaded.
        metrics["gpt_score_with_add_supp"] = summarise(rows)["gpt_score"] if any(r["group"] == "addition" for r in rows) else None
        interval = bootstrap_ci(judged)
        result = SuiteResult(
            headline={"gpt_score": overall["gpt_score"]},
            metrics=metrics,
            categories=categories,
            counts=counts,
            intervals={"gpt_score": interval} if interval else {},
            extra={"anchor": {"source": "gpt-imgeval", "table": "reason_edit_fig4", "metric": "gpt_score"},
                   "headline_folders": list(FOLDERS)},
            provenance=reason_edit_provenance(ctx),
            rows=rows,
        )
        expected = [i for i in self.items() if i.category in FOLDERS]
        done = {r["item"] for r in main if r["sc"] is not None}
        partial = mark_partial(result, Coverage(
            prompts=(len(done), len(expected)), images=(len(done), len(expected)),
            tags=(len({r["category"] for r in main if r["sc"] is not None}), len(FOLDERS))))
        if partial:
            result.provenance["notes"].append(partial)
        if judged and interval is None:
            result.provenance["notes"].append(too_few_units(len(judged)))
        return result


def _judge(entry: ScoredGeneration, name: str) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """(parsed scores, record status, raw text) of one judge scorer for a generation."""
    record = entry.scores.get(name)
    if record is None:
        return None, None, None
    return (record.value.get("scores") if record.status == "ok" else None), record.status, record.value.get("raw")


def reason_edit_rows(scored: Sequence[ScoredGeneration]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One row per edited image with judge scores (0–10), SmartEdit metrics and CLIP; plus counts."""
    rows: list[dict[str, Any]] = []
    counts = {"refused": 0, "errored": 0, "unparsed_sc": 0, "unparsed_pq": 0, "judge_refused": 0, "judge_errors": 0,
              "parse_disagreements": 0}
    for entry in scored:
        gen, item = entry.generation, entry.item
        counts["parse_disagreements"] += parse_disagreements([entry.scores.get("judge_sc"), entry.scores.get("judge_pq")])
        row: dict[str, Any] = {
            "item": item.id, "sample": gen.sample, "category": item.category, "group": item.meta.get("group"),
            "prompt": item.prompt, "status": gen.status, "image": gen.images[0] if gen.images else None,
            "sc": None, "pq": None, "overall": None, "psnr": None, "ssim": None, "mse": None, "clip_score": None,
        }
        if gen.status == "error":
            counts["errored"] += 1
            rows.append({**row, "score": None, "reason": gen.reason})
            continue
        if gen.status == "refused":
            counts["refused"] += 1  # a refused edit is a failed edit: SC = PQ = 0 (no image to measure)
            rows.append({**row, "sc": 0.0, "pq": 0.0, "overall": 0.0, "score": 0.0, "reason": f"refused: {gen.reason}"})
            continue
        sc_scores, sc_status, sc_raw = _judge(entry, "judge_sc")
        pq_scores, pq_status, _ = _judge(entry, "judge_pq")
        counts["unparsed_sc"] += int(sc_status == "unparsed")
        counts["unparsed_pq"] += int(pq_status == "unparsed")
        counts["judge_errors"] += int("error" in (sc_status, pq_status))  # asked again on the next `genlens score`
        counts["judge_refused"] += sum(int(r is not None and r.status == "unparsed" and r.value.get("reply_status") == "refused")
                                       for r in (entry.scores.get("judge_sc"), entry.scores.get("judge_pq")))
        row["sc"], row["pq"] = sc_of(sc_scores), pq_of(pq_scores)
        row["overall"] = overall_of(row["sc"], row["pq"])
        metrics = entry.scores.get("smartedit_metrics")
        if metrics is not None and metrics.status == "ok":
            row.update({k: metrics.value.get(k) for k in ("psnr", "ssim", "mse")})
        clip = entry.scores.get("smartedit_clip")
        if clip is not None and clip.status == "ok":
            row["clip_score"] = clip.value["clip_score"]
        row["score"] = row["sc"] / 10 if row["sc"] is not None else None
        row["reason"] = "judge answer unparsed" if sc_status == "unparsed" else ""
        if sc_scores or pq_scores:
            row["judge"] = {"raw": sc_raw, "scores": {**(sc_scores or {}), **(pq_scores or {})}}
        rows.append(row)
    return rows, counts


def summarise(rows: list[dict[str, Any]]) -> dict[str, float | int | None]:
    """Means of one group of rows: judge scores /10 (unparsed left out, counted), metrics as they are."""

    def mean(key: str, scale: float = 1.0) -> float | None:
        values = [r[key] / scale for r in rows if r.get(key) is not None]
        return mean_or_none(values)

    return {
        "gpt_score": mean("sc", 10.0), "pq": mean("pq", 10.0), "overall": mean("overall", 10.0),
        "psnr": mean("psnr"), "ssim": mean("ssim"), "mse": mean("mse"), "clip_score": mean("clip_score"),
        "n": len(rows), "n_judged": sum(1 for r in rows if r.get("sc") is not None),
    }


def reason_edit_provenance(ctx: ScoreContext) -> dict[str, Any]:
    notes = [
        "GPT-ImgEval published no judge prompt and no answer parser for this score: genlens's template is its own "
        "VIEScore-TIE SC wording (as GoT describes the protocol); the nearest public text is ComfyMind's port "
        "(pass it with --judge-prompt; --scorer-arg parse=official reads answers as that port does)",
        "gpt_score = mean of min(edit success, over-editing)/10 over folders 1-6 pooled (GPT-ImgEval Fig. 4 / GoT "
        "Table 2); public ports (ComfyMind) average folders 1-7: that figure is gpt_score_with_add_supp "
        "(needs --suite-arg add_supp=true); pq, overall = sqrt(SC*PQ) kept beside it",
        "refused edits score SC = PQ = 0; unparsed judge answers are left out of the means and counted",
        "PSNR/SSIM/MSE: SmartEdit weighting (1 - mask/255 on both images, 256x256 bicubic, mask nearest), "
        "per-image then averaged; identical images give PSNR capped at 100 dB (upstream: inf)",
        "LPIPS (SqueezeNet) is not computed: it needs torchvision, which genlens's default install excludes",
        "the upstream metric script never scores 6-Reasoning (folder-name mismatch); genlens does",
    ]
    if not ctx.clip:
        notes.append("CLIP score not computed: pass --clip <CLIP id or dir> (SmartEdit used openai/clip-vit-large-patch14)")
    elif not clip_available():
        notes.append("CLIP score not computed: genlens.scorers.clip is not available in this install")
    judge = configured_judge(ctx)
    if not judge:
        notes.append("no --judge given: gpt_score, pq and overall are empty")
    elif "gpt-4o" not in judge:
        notes.append(f"judge {judge}: GPT-ImgEval's 0.929 (and GoT's baselines) were judged by GPT-4o "
                     "(snapshot not published), so the comparison is across judges")
    out = {"notes": notes, "judge": configured_judge(ctx), "judge_max_side": int(ctx.suite_args.get("judge_max_side", JUDGE_MAX_SIDE)),
           "headline_folders": "1-6"}
    if judge:
        from genlens.judges.official import parse_mode
        from genlens.judges.scorer import judge_choice

        out["parser"] = parser_note(parse_mode(judge_choice(ctx, "").params), "comfymind")
    return out
