"""``geneval``: GenEval's 553 prompts scored by its official rules, with Mask2Former + CLIP from transformers.

No mmdet/mmcv: detection is ``Mask2FormerForUniversalSegmentation`` with mmdet's instance
post-processing reproduced (:mod:`genlens.scorers.detection`), colours are CLIP ViT-L/14 zero-shot
(:mod:`genlens.scorers.clip`), and the per-image rules are :mod:`genlens.suites._geneval_rules`.
The transformers checkpoint is not the mmdet one GenEval ships, so numbers can differ slightly
from published ones; every result names the weights (id + revision or sha256) it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from genlens.errors import GenlensError, InputError
from genlens.imageio import atomic_write_text, load_image
from genlens.scorers.base import Scorer
from genlens.suites import _geneval_rules as rules
from genlens.suites._coverage import Coverage, mark_partial, run_samples
from genlens.suites.base import ImportedImage, ScoreContext, Suite, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "geneval"
UPSTREAM = "djghosh13/geneval @ af4902f24d3ca90ebbb446dd9891a59e0f82725f (MIT)"
RESULTS_JSONL = "geneval_results.jsonl"
SUMMARY_TXT = "geneval_summary.txt"
CAVEAT = (
    "Detection uses a transformers Mask2Former checkpoint (Detectron2-trained) instead of GenEval's mmdet 2.x "
    "checkpoint, and CLIP from transformers instead of open_clip; the rules, thresholds, pre- and post-processing "
    "follow the official code, but the detector weights differ and the size of the difference from the official stack "
    "has not been measured: compare with published GenEval numbers as indicative, not as like for like "
    "(convert GenEval's checkpoint with `genlens convert mmdet-mask2former` for the like-for-like path)."
)
CAVEAT_CONVERTED = (
    "Detection uses GenEval's own mmdet checkpoint converted to transformers' Mask2Former by genlens, with mmdet's "
    "test-time pre- and post-processing; CLIP is the same OpenAI ViT-L/14 weights through transformers with "
    "open_clip's preprocessing. Remaining differences are float-level (kernels, fp16 on GPU); see docs/parity.md."
)
# Loaded (detector, CLIP, colour classifiers by class) per weights identity + device, kept for the process.
_LOADED: dict[str, tuple[Any, Any, dict[str, np.ndarray]]] = {}
_SAMPLE_FILE = re.compile(r"(\d+)\.png")  # matched at the start of the name, as the official walker does


@cache
def load_metadata() -> tuple[dict[str, Any], ...]:
    """The 553 official prompt records, in file order (line i is prompt folder ``{i:05d}``)."""
    lines = (DATA_DIR / "evaluation_metadata.jsonl").read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


@cache
def object_names() -> tuple[str, ...]:
    """GenEval's 80 class names in detector index order (COCO order, GenEval spellings)."""
    return tuple(line.strip() for line in (DATA_DIR / "object_names.txt").read_text().splitlines() if line.strip())


def open_rgb(path: Path) -> Image.Image:
    """Decode, apply the EXIF orientation (as GenEval's loaders do) and convert to RGB."""
    return ImageOps.exif_transpose(load_image(path)).convert("RGB")


class GenEvalScorer(Scorer):
    """Detect, filter, colour-classify and judge each image by GenEval's rules."""

    name = "geneval"
    version = "1"
    batch_size = 8

    def __init__(self, detector: str | None = None, clip: str | None = None, device: str | None = None):
        from genlens.scorers.clip import DEFAULT_CLIP
        from genlens.scorers.detection import DEFAULT_DETECTOR

        self.detector_id = detector or DEFAULT_DETECTOR
        self.clip_id = clip or DEFAULT_CLIP
        self.device = device
        self.detector: Any = None
        self.clip: Any = None
        self._classifiers: dict[str, np.ndarray] = {}

    def identity(self) -> dict[str, Any]:
        import PIL

        from genlens.scorers.clip import OPENAI_MEAN, OPENAI_STD, resolve_pretrained
        from genlens.scorers.detection import TOP_K, preprocessing_identity, weights_origin

        detector = resolve_pretrained(self.detector_id, what="detector")
        return {
            "detector": {**detector.identity, "weights": weights_origin(detector.path)},
            "clip": resolve_pretrained(self.clip_id, what="CLIP model").identity,
            "detector_preprocessing": {**preprocessing_identity(), "top_k": TOP_K},
            "clip_preprocessing": {"mode": "open_clip", "backend": f"Pillow {PIL.__version__}",
                                   "resize": "shortest side, bicubic", "crop": "centre, int(round(excess / 2))",
                                   "mean": list(OPENAI_MEAN), "std": list(OPENAI_STD),
                                   "colour_logits": "100 * features @ classifier: float16 on CUDA (as upstream's autocast), "
                                                    "float32 on CPU; per image in colour_logits_dtype"},
            "rules": {"threshold": rules.THRESHOLD, "counting_threshold": rules.COUNTING_THRESHOLD,
                      "max_objects": rules.MAX_OBJECTS, "nms": "off", "position_threshold": rules.POSITION_THRESHOLD,
                      "background": "#999999", "crop": True},
        }

    def load(self) -> None:
        from genlens.scorers.clip import ClipModel
        from genlens.scorers.detection import Mask2FormerDetector

        key = json.dumps([self.identity(), self.device], sort_keys=True)
        if key not in _LOADED:
            detector = Mask2FormerDetector.load(self.detector_id, object_names(), device=self.device)
            clip = ClipModel.load(self.clip_id, device=self.device or detector.device, preprocess="open_clip")
            _LOADED[key] = (detector, clip, {})
        self.detector, self.clip, self._classifiers = _LOADED[key]

    def color_classifier(self, class_name: str) -> np.ndarray:
        """(10, D) CLIP weights for the colours of one object class (three templates averaged), cached."""
        if class_name not in self._classifiers:
            prompts = [[t.format(color=c, object=class_name) for t in rules.COLOR_TEMPLATES] for c in rules.COLORS]
            self._classifiers[class_name] = self.clip.zero_shot_classifier(prompts)
        return self._classifiers[class_name]

    def _classify_colors(self, images: list[Image.Image | None], kept: list[dict[str, list[rules.Detection]]],
                         metas: list[dict[str, Any]]) -> dict[tuple[int, str], list[str]]:
        """All colour questions of a batch answered in one CLIP pass: (image index, class) -> colours."""
        requests: list[tuple[int, str, rules.Detection]] = []
        for index, (image, meta) in enumerate(zip(images, metas, strict=True)):
            if image is None:
                continue
            for class_name, detections in rules.color_requests(kept[index], meta):
                requests.extend((index, class_name, d) for d in detections)
        if not requests:
            return {}
        arrays = {i: np.asarray(images[i]) for i in {r[0] for r in requests}}
        crops = []
        for index, _name, detection in requests:
            crop = rules.color_crop(arrays[index], detection)
            crops.append(Image.fromarray(crop) if crop.size else Image.new("RGB", (1, 1), rules.BACKGROUND_GREY))
        from genlens.scorers.clip import zero_shot_logits

        embeddings = self.clip.image_embeddings(crops)
        by_class: dict[str, list[int]] = {}
        for position, (_index, name, _det) in enumerate(requests):
            by_class.setdefault(name, []).append(position)
        picked: dict[int, str] = {}
        for name, positions in by_class.items():
            logits = zero_shot_logits(embeddings[positions], self.color_classifier(name), half=self.clip.half_logits,
                                      device=self.clip.device)
            for position, row in zip(positions, logits, strict=True):
                picked[position] = rules.COLORS[int(np.argmax(row))]  # first maximum, as torch's argmax upstream
        answers: dict[tuple[int, str], list[str]] = {}
        for position, (index, name, _det) in enumerate(requests):
            answers.setdefault((index, name), []).append(picked[position])
        return answers

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        images: list[Image.Image | None] = []
        errors: dict[int, str] = {}
        for index, inp in enumerate(batch):
            try:
                images.append(open_rgb(inp.image_paths[0]))
            except GenlensError as exc:
                images.append(None)
                errors[index] = str(exc)
        live = [i for i, im in enumerate(images) if im is not None]
        found = self.detector.detect([images[i] for i in live], min_class_prob=rules.THRESHOLD) if live else []
        raw = dict(zip(live, found, strict=True))
        metas = [inp.item.meta for inp in batch]
        kept = []
        for index, meta in enumerate(metas):
            by_class: dict[str, list[rules.Detection]] = {}
            for detection in raw.get(index, []):
                by_class.setdefault(detection.label, []).append(detection)
            kept.append(rules.filter_detections(by_class, meta["tag"]))
        colors = self._classify_colors(images, kept, metas)
        out: list[tuple[str, dict[str, Any]]] = []
        for index, meta in enumerate(metas):
            if index in errors:
                out.append(("error", {"reason": errors[index]}))
                continue
            verdict = rules.evaluate_image(kept[index], meta, lambda name, dets, i=index: colors[(i, name)][:len(dets)])
            value = verdict_value(verdict, kept[index])
            if any(key[0] == index for key in colors):
                value["colour_logits_dtype"] = "float16" if self.clip.half_logits else "float32"
            out.append(("ok", value))
        return out


def verdict_value(verdict: rules.Verdict, kept: dict[str, list[rules.Detection]]) -> dict[str, Any]:
    """What is stored per image: the official fields plus drawable boxes (masks are not kept)."""
    boxes = []
    for name, detections in kept.items():
        colors = verdict.colors.get(name, [])
        for rank, detection in enumerate(detections):
            boxes.append({"box": [round(float(v), 2) for v in detection.box], "label": name,
                          "score": round(float(detection.score), 6), "color": colors[rank] if rank < len(colors) else None})
    return {
        "correct": verdict.correct, "reason": verdict.reason, "failures": verdict.failures,
        "details": {name: [d.official_box() for d in dets] for name, dets in kept.items()},
        "colors": verdict.colors, "boxes": boxes,
    }


def detector_weights(origin: dict[str, Any]) -> str:
    """One line for results.json: which detector weights scored."""
    if origin.get("kind") != "mmdet-converted":
        return "transformers Mask2Former (not GenEval's mmdet checkpoint)"
    if origin.get("like_for_like"):
        return "GenEval's mmdet checkpoint (sha256 743b7d99…), converted"
    return f"an mmdet checkpoint, converted, not GenEval's 743b7d99 file ({origin.get('checkpoint')})"


def official_row(row: dict[str, Any]) -> dict[str, Any]:
    """One line of GenEval's ``results.jsonl`` (metadata and details as JSON strings, as upstream writes them)."""
    return {"filename": row["filename"], "tag": row["tag"], "prompt": row["prompt"], "correct": bool(row["correct"]),
            "reason": row["reason"], "metadata": json.dumps(row["metadata"]), "details": json.dumps(row["details"])}


def official_summary(rows: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """GenEval's summary (images, prompts, % correct, per-tag breakdown, overall) as data and as text."""
    per_tag = rules.tag_scores((r["tag"], r["correct"]) for r in rows)
    tags = [t for t in rules.TAGS if t in per_tag]
    counts = {t: (sum(1 for r in rows if r["tag"] == t and r["correct"]), sum(1 for r in rows if r["tag"] == t)) for t in tags}
    prompts = rules.prompt_scores((r["item"], r["correct"]) for r in rows)
    overall = rules.overall_score({t: per_tag[t] for t in tags})
    data = {
        "total_images": len(rows), "total_prompts": len({r["item"] for r in rows}),
        "correct_images": float(np.mean([bool(r["correct"]) for r in rows])) if rows else None,
        "correct_prompts": prompts["any_of_k"],
        "tasks": {t: {"score": per_tag[t], "correct": counts[t][0], "total": counts[t][1]} for t in tags},
        "overall": overall,
    }
    lines = ["Summary", "=======", f"Total images: {data['total_images']}", f"Total prompts: {data['total_prompts']}"]
    if rows:
        lines += [f"% correct images: {data['correct_images']:.2%}", f"% correct prompts: {data['correct_prompts']:.2%}"]
    lines += ["", "Task breakdown", "=============="]
    lines += [f"{t:<16} = {per_tag[t]:.2%} ({counts[t][0]} / {counts[t][1]})" for t in tags]
    if overall is not None:
        lines += ["", f"Overall score (avg. over tasks): {overall:.5f}"]
    return data, "\n".join(lines) + "\n"


def write_official_results(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Write rows as GenEval's ``results.jsonl`` (readable by its summary_scores.py)."""
    atomic_write_text(path, "".join(json.dumps(official_row(r)) + "\n" for r in rows))
    return path


@register_suite
class GenEvalSuite(Suite):
    meta = SuiteMeta(
        name="geneval",
        version="1",
        title="GenEval (object, count, colour, position; official rules, no mmdet)",
        task="generate",
        categories=rules.TAGS,
        needs=("detector", "clip"),
        data_source="vendored: djghosh13/geneval @ af4902f2 (MIT)",
        default_samples=4,
        item_count=553,
        description="Mask2Former + CLIP ViT-L/14 through transformers; GenEval's thresholds, colour and position rules.",
    )

    def items(self) -> Sequence[Item]:
        return [Item(id=f"{i:05d}", prompt=m["prompt"], category=m["tag"], meta=dict(m))
                for i, m in enumerate(load_metadata())]

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        return [GenEvalScorer(ctx.detector, ctx.clip, device=ctx.scorer_args.get("device"))]

    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        return [f"{item.id}/samples/{sample:05d}", f"{item.id}/samples/{sample:04d}"]

    def import_layout(self, directory: Path) -> Iterator[ImportedImage]:
        """GenEval's layout: all-digit folders, each with metadata.jsonl and samples/<digits>.png…"""
        metadata = load_metadata()
        for folder in sorted(p for p in directory.iterdir() if p.is_dir() and p.name.isdigit()):
            index = int(folder.name)
            item_id = f"{index:05d}"
            if index < len(metadata):
                check_folder_metadata(folder, metadata[index])
            samples = folder / "samples"
            if not samples.is_dir():
                continue
            seen: dict[int, Path] = {}
            for path in sorted(samples.iterdir()):
                match = _SAMPLE_FILE.match(path.name)
                if not match or not path.is_file():
                    continue
                sample = int(match.group(1))
                if sample in seen:
                    raise InputError(f"two images for sample {sample} ({seen[sample].name} and {path.name})", path=path,
                                     fix="keep one file per sample number")
                seen[sample] = path
                yield ImportedImage(item_id=item_id, sample=sample, path=path)

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        rows, errored, unscored = collect_rows(scored, ctx.run_dir)
        return summarise(rows, errored=errored, unscored=unscored, scorer=self.scorers(ctx)[0], run_dir=ctx.run_dir)


def check_folder_metadata(folder: Path, expected: dict[str, Any]) -> None:
    """A folder's metadata.jsonl (one JSON object), when present, must be the official record of its index."""
    path = folder / "metadata.jsonl"
    if not path.is_file():
        return
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"metadata.jsonl is not one JSON object ({exc})", path=path,
                         fix="write the prompt's line of evaluation_metadata.jsonl into it") from None
    if found != expected:
        raise InputError(
            f"metadata does not match GenEval prompt {folder.name} ({expected['prompt']!r}); found {found.get('prompt')!r}"
            if isinstance(found, dict) else f"metadata does not match GenEval prompt {folder.name}",
            path=path, fix="name each folder by its line number (0-based) in evaluation_metadata.jsonl",
        )


def collect_rows(scored: Sequence[ScoredGeneration], run_dir: Path) -> tuple[list[dict[str, Any]], int, int]:
    """Per-image rows (official + genlens fields); refusals count as incorrect, errors are left out."""
    rows: list[dict[str, Any]] = []
    errored = unscored = 0
    for entry in scored:
        gen, item = entry.generation, entry.item
        image = gen.images[0] if gen.images else None
        base = {"item": item.id, "sample": gen.sample, "category": item.category, "tag": item.category,
                "prompt": item.prompt, "image": image, "status": gen.status, "metadata": item.meta,
                "filename": gen.meta.get("source_path") or (str(run_dir / image) if image else "")}
        if gen.status == "error":
            errored += 1
            continue
        if gen.status == "refused":
            value = {"correct": False, "reason": f"refused: {gen.reason}", "details": {}, "boxes": [],
                     "failures": [{"kind": "refused"}]}
        else:
            record = entry.scores.get("geneval")
            if record is None or record.status != "ok":
                unscored += 1
                continue
            value = record.value
        rows.append({**base, **value, "passed": bool(value["correct"])})
    rows.sort(key=lambda r: (r["item"], r["sample"]))
    return rows, errored, unscored


def geneval_coverage(rows: Sequence[dict[str, Any]], run_dir: Path | None) -> Coverage:
    """Prompts, images and tags scored against all 553 prompts × the run's samples and GenEval's 6 tags.

    Samples come from run.json; without a run, the most images any prompt has (at least 1).
    """
    per_prompt: dict[str, int] = {}
    for r in rows:
        per_prompt[r["item"]] = per_prompt.get(r["item"], 0) + 1
    total = len(load_metadata())
    samples = run_samples(run_dir, max(per_prompt.values(), default=1))
    return Coverage(prompts=(len(per_prompt), total), images=(len(rows), total * samples),
                    tags=(len({r["tag"] for r in rows}), len(rules.TAGS)))


def summarise(rows: list[dict[str, Any]], *, errored: int, unscored: int, scorer: GenEvalScorer,
              run_dir: Path | None) -> SuiteResult:
    """Per-tag scores, overall, prompt-level any/all-of-k, intervals, failure histogram; writes the official export."""
    summary, text = official_summary(rows)
    groups: dict[str, dict[str, list[bool]]] = {}
    for r in rows:
        groups.setdefault(r["tag"], {}).setdefault(r["item"], []).append(bool(r["correct"]))
    categories: dict[str, dict[str, float | int | None]] = {}
    for tag in (t for t in rules.TAGS if t in groups):  # tags with images only
        tag_rows = [r for r in rows if r["tag"] == tag]
        prompt_level = rules.prompt_scores((r["item"], r["correct"]) for r in tag_rows)
        categories[tag] = {"score": summary["tasks"].get(tag, {}).get("score"), "n": len(tag_rows),
                           "prompts": len(groups.get(tag, {})), **prompt_level}
    prompt_level = rules.prompt_scores((r["item"], r["correct"]) for r in rows)
    extra: dict[str, Any] = {
        "failure_reasons": rules.failure_histogram(f for r in rows for f in r.get("failures", [])),
        "official_summary": summary, "official_summary_text": text,
    }
    if run_dir is not None and rows:
        write_official_results(rows, run_dir / RESULTS_JSONL)
        atomic_write_text(run_dir / SUMMARY_TXT, text)
        extra["official_files"] = [RESULTS_JSONL, SUMMARY_TXT]
    identity = scorer.identity()
    converted = bool(identity["detector"]["weights"].get("like_for_like"))
    by_tag = {t: list(g.values()) for t, g in groups.items()}
    result = SuiteResult(
        headline={"overall": summary["overall"]},
        metrics={"correct_images": summary["correct_images"], "prompt_any_of_k": prompt_level["any_of_k"],
                 "prompt_all_of_k": prompt_level["all_of_k"]},
        categories=categories,
        counts={"images_scored": len(rows), "refused": sum(1 for r in rows if r["status"] == "refused"),
                "errored": errored, "unscored": unscored},
        intervals=rules.stratified_prompt_bootstrap(by_tag),
        extra=extra,
        provenance={
            "protocol": f"GenEval official rules ({UPSTREAM}); overall = unweighted mean of the 6 per-tag image-level scores",
            "detector": identity["detector"], "clip": identity["clip"], "rules": identity["rules"],
            "detector_weights": detector_weights(identity["detector"]["weights"]),
            "detector_preprocessing": identity["detector_preprocessing"],
            "clip_preprocessing": identity["clip_preprocessing"],
            "colour_logits_dtype": sorted({r["colour_logits_dtype"] for r in rows if r.get("colour_logits_dtype")}),
            "caveat": CAVEAT_CONVERTED if converted else CAVEAT,
            "intervals": "95% percentile bootstrap (2000 resamples), prompts resampled within each tag"
                         + (f"; {note}" if (note := rules.interval_note(by_tag)) else ""),
            "refusals": "a refused generation counts as an incorrect image; generations that errored are left out",
        },
        rows=rows,
    )
    partial = mark_partial(result, geneval_coverage(rows, run_dir),
                           what=f"{errored} errored, {unscored} unscored" if errored or unscored else "")
    if partial:
        result.provenance["caveat"] = f"{partial}. {CAVEAT_CONVERTED if converted else CAVEAT}"
    return result
