"""What the vision-* suites share: items per dataset, input loading, the scorer skeleton, row and
table helpers. The task-specific rules live in :mod:`genlens.suites._vision`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genlens.args import Arg
from genlens.errors import InputError, SpecError
from genlens.scorers.base import Scorer
from genlens.suites._diag import base_row, require, score_each
from genlens.suites._vision_data import BUILTIN, Sample, builtin_samples, real_samples
from genlens.suites._vision_scenes import SCENE_PREFIX, ensure_scene, load_scene
from genlens.suites.base import ScoreContext, Suite
from genlens.types import Item, ScoredGeneration, ScoreInput

DEFAULT_SCENES = 12
FRAMING = "Keep the exact framing, size and aspect ratio of the photo; output only the map, with no legend, labels or border."


class VisionSuite(Suite):
    """A vision-* suite: one edit item per dataset image; the model is asked to produce a map."""

    task: str = ""  # depth | seg | normals
    args = (
        Arg("dataset", "str", None, "only this dataset's images under --data-dir (builtin: the built-in scenes)", "builtin"),
        Arg("scenes", "int", DEFAULT_SCENES, "how many built-in scenes", "24", minimum=1, maximum=100_000),
    )
    scorer_args = (Arg("specialist", "str", None, "a specialist model (hub id or dir) scored beside the generator", "DIR"),)

    def samples(self) -> list[Sample]:
        dataset = str(self.suite_args.get("dataset", "")).strip()
        if self.data_dir is None or dataset == BUILTIN:
            try:
                count = int(self.suite_args.get("scenes", DEFAULT_SCENES))
            except (TypeError, ValueError):
                raise SpecError("--suite-arg scenes must be a whole number", fix="e.g. --suite-arg scenes=24") from None
            return builtin_samples(max(1, count))
        found = real_samples(self.data_dir, self.task)
        if dataset:
            found = [s for s in found if s.dataset == dataset]
            if not found:
                raise SpecError(f"no {dataset!r} images under the data dir for {self.meta.name}",
                                fix="use --suite-arg dataset=<one found there> or fetch it (`genlens data fetch`)")
        return found

    def instruction(self, sample: Sample) -> tuple[str, dict[str, Any]]:
        """The instruction for one image and what it asked for (recorded in the item's meta)."""
        raise NotImplementedError

    def items(self) -> Sequence[Item]:
        out = []
        for sample in self.samples():
            prompt, asked = self.instruction(sample)
            out.append(Item(id=f"{sample.dataset}-{sample.key}", prompt=prompt, kind="edit", input_images=(sample.image,),
                            category=sample.dataset, meta={"dataset": sample.dataset, "key": sample.key, "gt": sample.gt, **asked}))
        return out

    def input_path(self, name: str) -> Path:
        if name.startswith(SCENE_PREFIX):
            return ensure_scene(name)
        return super().input_path(name)


def sample_of(item: Item) -> Sample:
    return Sample(item.meta["dataset"], item.meta["key"], item.input_images[0], dict(item.meta.get("gt") or {}))


def input_rgb(sample: Sample, root: Path | None) -> np.ndarray:
    if sample.dataset == BUILTIN:
        return np.asarray(load_scene(sample.image).rgb)
    if root is None:
        raise InputError(f"{sample.dataset} needs its data dir", fix="pass --data-dir (see `genlens data fetch`)")
    path = root / sample.image
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except OSError:
        raise InputError("cannot read the input image", path=path, fix="fetch the data again (`genlens data fetch`)") from None


class VisionScorer(Scorer):
    """Per image: read the map, register it, then the task's decode + measure (``measure``)."""

    batch_size = 4
    nearest = False  # label maps resample by nearest neighbour

    def identity(self) -> dict[str, Any]:
        import cv2

        return {"model": "none (weight-free)", "registration": f"resize or SIFT + RANSAC affine, OpenCV {cv2.__version__}"}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return score_each(batch, self.score_one)

    def score_one(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        from genlens.suites._vision import read_map, registration_of

        sample = sample_of(inp.item)
        source = input_rgb(sample, inp.data_dir)
        generated = read_map(inp.image_paths[0])
        value: dict[str, Any] = {"output_size": list(generated.size), "input_size": [source.shape[1], source.shape[0]],
                                 "has_alpha": generated.has_alpha, "transparent_pixels": generated.transparent_pixels}
        warp, visible, how = registration_of(source, generated.rgb, nearest=self.nearest)
        value["registration"] = how
        if warp is None:
            return "ok", {**value, "failure": "output does not register to the input"}
        value.update(self.measure(inp, sample, source, generated, warp, visible))
        return "ok", value

    def measure(self, inp: ScoreInput, sample: Sample, source: np.ndarray, generated: Any, warp: Any,
                visible: np.ndarray) -> dict[str, Any]:
        raise NotImplementedError


def panel_path(inp: ScoreInput, suite: str) -> str:
    return f"vision/{suite}/{inp.item.id}_{inp.generation.sample}.png"


def require_scoring(suite: str) -> None:
    require(suite, "cv2", "scipy", "matplotlib")


# -- aggregation helpers --------------------------------------------------------------------------------------
def failure_row(entry: ScoredGeneration, reason: str) -> dict[str, Any]:
    return {**base_row(entry), "dataset": entry.item.meta.get("dataset"), "passed": None, "score": 0.0,
            "failure": True, "reason": reason}


def split_vision(scored: Sequence[ScoredGeneration], scorer: str) -> tuple[list[tuple[ScoredGeneration, dict[str, Any]]], list[dict[str, Any]], dict[str, int]]:
    """Measured entries, failure rows (refused, not registered: score 0) and counts.

    Transient errors (generation or scorer) are retried on the next run, so they are counted but are
    neither measured nor failures yet.
    """
    measured: list[tuple[ScoredGeneration, dict[str, Any]]] = []
    rows: list[dict[str, Any]] = []
    counts = {"refused": 0, "not_registered": 0, "errored": 0, "unscored": 0, "scorer_errors": 0}
    for entry in scored:
        gen = entry.generation
        if gen.status == "refused":
            counts["refused"] += 1
            rows.append(failure_row(entry, f"refused: {gen.reason}"))
            continue
        if gen.status != "ok":
            counts["errored"] += 1
            rows.append({**base_row(entry), "passed": None, "reason": f"{gen.status}: {gen.reason}"})
            continue
        record = entry.scores.get(scorer)
        if record is None:
            counts["unscored"] += 1
            continue
        if record.status != "ok":
            counts["scorer_errors"] += 1
            rows.append({**base_row(entry), "passed": None, "reason": f"scorer {record.status}: {record.value.get('reason', '')}"})
            continue
        if record.value.get("failure"):
            counts["not_registered"] += 1
            rows.append({**failure_row(entry, record.value["failure"]), **{k: record.value[k] for k in ("output_size", "input_size")}})
            continue
        measured.append((entry, record.value))
    return measured, rows, counts


def mean_key(values: Sequence[dict[str, Any]], key: str) -> float | None:
    found = [float(v[key]) for v in values if isinstance(v.get(key), (int, float)) and not isinstance(v.get(key), bool)]
    return float(np.mean(found)) if found else None


def with_failures(values: Sequence[float], failures: int) -> float | None:
    """A higher-is-better per-image score averaged with each failure counted as 0."""
    total = len(values) + failures
    return float(sum(values) / total) if total else None


def specialist_args(ctx: ScoreContext) -> str | None:
    spec = ctx.scorer_args.get("specialist")
    return str(spec) if spec else None


def specialist_values(scored: Sequence[ScoredGeneration]) -> dict[str, list[dict[str, Any]]]:
    """The specialist's measured values per dataset, one per item (samples share one input)."""
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    for entry in scored:
        record = entry.scores.get("vision_specialist")
        if record is not None and record.status == "ok" and not record.value.get("failure"):
            seen.setdefault(entry.item.id, (entry.item.category, record.value))
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for dataset, value in seen.values():
        by_dataset.setdefault(dataset, []).append(value)
    return by_dataset


def load_pipeline(task: str, model: str) -> Any:
    """A transformers pipeline for ``task`` from resolved weights (hub commit or local safetensors)."""
    from transformers import pipeline

    from genlens.scorers.clip import pick_device, resolve_pretrained

    path = resolve_pretrained(model, what=f"{task} model").path
    return pipeline(task, model=str(path), device=pick_device(), model_kwargs={"use_safetensors": True})


class SpecialistScorer(Scorer):
    """A specialist model (transformers ``pipeline(task)``) on the same input photos as the generator.

    Subclasses set ``task`` (the pipeline task) and ``what`` (how errors name the model) and implement
    :meth:`run` for one input photo; samples of one item share its input, so it runs once per item.
    """

    name = "vision_specialist"
    version = "1"
    batch_size = 4
    task = ""
    what = "model"

    def __init__(self, model: str):
        self.model = model
        self.pipe: Any = None
        self.done: dict[str, tuple[str, dict[str, Any]]] = {}  # by item id: samples share one input

    def identity(self) -> dict[str, Any]:
        from genlens.scorers.clip import resolve_pretrained

        return {**resolve_pretrained(self.model, what=self.what).identity, "task": self.task}

    def load(self) -> None:
        if self.pipe is None:
            self.pipe = load_pipeline(self.task, self.model)

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return score_each(batch, self.score_one)

    def score_one(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        if inp.item.id not in self.done:
            self.load()
            self.done[inp.item.id] = self.run(inp)
        return self.done[inp.item.id]

    def run(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError



def flag_partial(result: Any, suite: Suite, measured: Sequence[tuple[ScoredGeneration, dict[str, Any]]],
                 counts: dict[str, int], ctx: ScoreContext) -> Any:
    """Mark a run that does not cover every item and sample of the suite as partial (no headline).

    Measured images and failures (refused, not registered) count as scored; errored, unscored or
    scorer-error generations do not (they are retried by the next run), nor do items left out by --limit.
    """
    from genlens.suites._coverage import Coverage, mark_partial, run_samples

    done = {entry.item.id for entry, _value in measured} | set(result_failures(result))
    scored_images = len(measured) + sum(1 for row in result.rows if row.get("failure"))
    expected = len(suite.items())
    coverage = Coverage(prompts=(len(done), expected), images=(scored_images, expected * run_samples(ctx.run_dir, 1)))
    missing = {k: counts.get(k, 0) for k in ("errored", "unscored", "scorer_errors") if counts.get(k)}
    caveat = mark_partial(result, coverage, what=", ".join(f"{v} {k}" for k, v in missing.items()))
    if caveat:
        result.provenance["caveat"] = caveat
    return result


def result_failures(result: Any) -> list[str]:
    return [str(row["item"]) for row in result.rows if row.get("failure")]
