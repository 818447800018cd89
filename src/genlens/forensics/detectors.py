"""Detectors of synthetic images behind one interface, and their evaluation on a run vs real photos.

A detector gives each image a probability that it is synthetic. Three kinds:

- ``builtin`` (logistic regression) / ``builtin:gb`` (gradient boosting): trained on the spot
  from :mod:`genlens.forensics.features` with prompt-grouped k-fold cross-validation, so every
  score is out-of-fold and no prompt is both trained and tested on;
- ``hf:<hub id or dir>[#<label>]``: any Hugging Face image-classification checkpoint; the label
  that means "synthetic" is given after ``#`` or found among common names (fake, synthetic, …);
- ``<name>[:<argument>]``: a plugin registered in the ``genlens.detectors`` entry-point group
  (CNNSpot, UnivFD, NPR, DRCT, Effort … with the user's own weights). The entry point is a
  callable ``factory(argument: str | None)`` returning an object with ``name`` and
  ``score(images: list[PIL.Image]) -> sequence of P(synthetic)``, and optionally ``load()`` (called
  once before any image is scored, so a missing weight file fails fast) and ``identity()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from genlens.errors import InputError, SpecError
from genlens.forensics import metrics
from genlens.forensics.features import FEATURE_NAMES, forensic_features
from genlens.forensics.normalise import NormalisationRule
from genlens.forensics.robustness import PERTURBATIONS
from genlens.imageio import load_image

ENTRY_POINT_GROUP = "genlens.detectors"
SYNTHETIC_LABEL_NAMES = ("fake", "synthetic", "ai", "generated", "ai-generated", "ai_generated", "ai generated", "artificial", "deepfake")
DEFAULT_FOLDS = 5
INTERVAL_METHOD = ("95% percentile bootstrap within each class, resampling whole prompts (each real photo its own "
                   "group): images of one prompt are correlated")


@runtime_checkable
class Detector(Protocol):
    """Anything that scores images: ``name`` and ``score(images) -> P(synthetic)`` per image."""

    name: str

    def score(self, images: Sequence[Image.Image]) -> Sequence[float]: ...


# ----------------------------------------------------------------------------------------------
# the images under test
# ----------------------------------------------------------------------------------------------
@dataclass
class LabelledImages:
    """Real (label 0) and generated (label 1) image files, their CV groups, and the rule to load them."""

    paths: list[Path]
    labels: np.ndarray
    groups: list[str]
    rule: NormalisationRule
    skipped_small: dict[str, int] = field(default_factory=dict)

    def load(self, index: int, perturbation: str | None = None) -> Image.Image:
        """Decode, normalise and (optionally) perturb image ``index``."""
        image = self.rule.apply(load_image(self.paths[index]))
        return PERTURBATIONS[perturbation](image) if perturbation else image

    def __len__(self) -> int:
        return len(self.paths)


def _features_of_one(data: LabelledImages, perturbations: Sequence[str], index: int) -> list[np.ndarray]:
    """[clean, *perturbed] feature vectors of image ``index`` (one decode)."""
    image = data.load(index)
    return [forensic_features(image), *(forensic_features(PERTURBATIONS[p](image)) for p in perturbations)]


def feature_tables(data: LabelledImages, perturbations: Sequence[str] = (), progress: Callable[[int], None] | None = None,
                   workers: int = 1) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Forensic features of every image, clean and under each perturbation (each file decoded once).

    ``workers`` > 1 spreads images over processes; the numbers are identical either way.
    """
    from functools import partial

    job = partial(_features_of_one, data, tuple(perturbations))
    rows: list[list[np.ndarray]] = []
    if workers > 1 and len(data) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(job, range(len(data)), chunksize=8):
                rows.append(result)
                if progress:
                    progress(len(result))
    else:
        for index in range(len(data)):
            rows.append(job(index))
            if progress:
                progress(len(rows[-1]))
    if not rows:
        empty = np.zeros((0, len(FEATURE_NAMES)))
        return empty, {p: empty for p in perturbations}
    clean = np.stack([r[0] for r in rows])
    return clean, {p: np.stack([r[1 + i] for r in rows]) for i, p in enumerate(perturbations)}


# ----------------------------------------------------------------------------------------------
# the built-in detector
# ----------------------------------------------------------------------------------------------
@dataclass
class BuiltinDetector:
    """A classifier on forensic features: ``logistic`` (default) or ``gb`` (gradient boosting)."""

    kind: str = "logistic"
    name: str = "builtin"

    def __post_init__(self) -> None:
        if self.kind not in ("logistic", "gb"):
            raise SpecError(f"unknown built-in detector kind {self.kind!r}", fix="use builtin or builtin:gb")
        self.name = "builtin" if self.kind == "logistic" else "builtin:gb"

    def make_classifier(self, n_train: int | None = None) -> Any:
        """A fresh, deterministic scikit-learn classifier (scaled features; balanced class weights).

        ``gb`` leaves hold at least ``min(20, n_train // 10)`` images (scikit-learn's fixed 20 would
        allow no split below 40 training images and score every image the same)."""
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.kind == "gb":
            return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, class_weight="balanced", random_state=0,
                                                  min_samples_leaf=gb_min_samples_leaf(n_train))
        return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=5000, class_weight="balanced"))

    def identity(self) -> dict[str, Any]:
        out = {"model": f"genlens forensic features ({len(FEATURE_NAMES)}) + {self.kind}", "weights": "trained on the spot"}
        if self.kind == "gb":
            out["min_samples_leaf"] = "min(20, max(1, training images // 10))"
        return out


def gb_min_samples_leaf(n_train: int | None) -> int:
    """Smallest leaf of ``builtin:gb``: 20 (scikit-learn's default) from 200 training images, n/10 below, at least 1."""
    return 20 if n_train is None else min(20, max(1, n_train // 10))


def cv_folds(labels: np.ndarray, groups: Sequence[str], folds: int = DEFAULT_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """Deterministic stratified folds that keep each group (prompt) on one side."""
    from sklearn.model_selection import StratifiedGroupKFold

    group_ids = np.unique(np.asarray(groups), return_inverse=True)[1]
    per_class = [len(set(group_ids[labels == c])) for c in (0, 1)]
    k = min(folds, *per_class)
    if k < 2:
        raise InputError(
            f"too few images to cross-validate ({per_class[0]} real, {per_class[1]} generated prompts)",
            fix="give at least 2 real images and images for at least 2 prompts (10+ each for useful numbers)",
        )
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=False)
    return list(splitter.split(np.zeros(len(labels)), labels, group_ids))


def out_of_fold_scores(detector: BuiltinDetector, clean: np.ndarray, labels: np.ndarray,
                       folds: list[tuple[np.ndarray, np.ndarray]], perturbed: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Train on each fold's clean training rows; score its held-out rows clean and perturbed."""
    scores = np.zeros(len(labels))
    perturbed_scores = {name: np.zeros(len(labels)) for name in perturbed}
    for train, test in folds:
        classifier = detector.make_classifier(len(train)).fit(clean[train], labels[train])
        scores[test] = classifier.predict_proba(clean[test])[:, 1]
        for name, rows in perturbed.items():
            perturbed_scores[name][test] = classifier.predict_proba(rows[test])[:, 1]
    return scores, perturbed_scores


# ----------------------------------------------------------------------------------------------
# Hugging Face checkpoints
# ----------------------------------------------------------------------------------------------
class HFDetector:
    """An image-classification checkpoint (hub id or local dir) with a declared "synthetic" label."""

    batch_size = 16

    def __init__(self, target: str, synthetic_label: str | None = None):
        self.target = target
        self.requested_label = synthetic_label
        self.name = f"hf:{target}" + (f"#{synthetic_label}" if synthetic_label else "")
        self.model: Any = None
        self.processor: Any = None
        self.label_index = -1
        self.label = ""
        self.device = "cpu"

    def load(self) -> None:
        """Load the processor and model once (``from_pretrained``), and resolve the synthetic label."""
        if self.model is not None:
            return
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        from genlens.weights import refuse_pickle_only

        if Path(self.target).expanduser().is_dir():
            refuse_pickle_only(Path(self.target).expanduser(), what=f"detector hf:{self.target}", library="transformers")
        try:
            self.processor = AutoImageProcessor.from_pretrained(self.target)
            self.model = AutoModelForImageClassification.from_pretrained(self.target, use_safetensors=True).eval()
        except (OSError, ValueError) as exc:
            raise SpecError(f"cannot load image-classification checkpoint {self.target!r} ({exc})".splitlines()[0],
                            fix="give a hub id (online) or a local directory saved with save_pretrained") from None
        self.label_index, self.label = resolve_synthetic_label(self.model.config.id2label, self.requested_label, self.target)
        self.device = torch_device()
        self.model.to(self.device)

    def score(self, images: Sequence[Image.Image]) -> np.ndarray:
        import torch

        self.load()
        out: list[np.ndarray] = []
        for start in range(0, len(images), self.batch_size):
            batch = [image.convert("RGB") for image in images[start:start + self.batch_size]]
            inputs = self.processor(images=batch, return_tensors="pt").to(self.device)
            with torch.no_grad():
                logits = self.model(**inputs).logits.float()
            out.append(torch.softmax(logits, dim=-1)[:, self.label_index].cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def identity(self) -> dict[str, Any]:
        self.load()
        revision = getattr(self.model.config, "_commit_hash", None)
        return {"model": self.target, "revision": revision, "synthetic_label": self.label}


def torch_device() -> str:
    """``cuda`` when a GPU is visible (``GENLENS_DEVICE`` overrides), else ``cpu``."""
    import os

    import torch

    return os.environ.get("GENLENS_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")


def resolve_synthetic_label(id2label: dict[Any, str], requested: str | None, target: str) -> tuple[int, str]:
    """The class index meaning "synthetic": the requested label, else a common name for it."""
    labels = {int(k): str(v) for k, v in id2label.items()}
    wanted = [requested.lower()] if requested else list(SYNTHETIC_LABEL_NAMES)
    for name in wanted:
        for index, label in labels.items():
            if label.lower() == name:
                return index, label
    raise SpecError(
        f"checkpoint {target!r} has labels {sorted(labels.values())} and none is "
        + (f"{requested!r}" if requested else "a known synthetic label"),
        fix=f"name the synthetic label: --detector hf:{target}#<label>",
    )


# ----------------------------------------------------------------------------------------------
# plugins and spec parsing
# ----------------------------------------------------------------------------------------------
def plugin_factories() -> dict[str, Any]:
    """Entry points of the ``genlens.detectors`` group, by name (not yet loaded)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def make_detector(spec: str) -> BuiltinDetector | Detector:
    """``builtin``, ``builtin:gb``, ``hf:<id or dir>[#label]`` or a ``genlens.detectors`` plugin name."""
    if spec in ("builtin", "builtin:logistic"):
        return BuiltinDetector("logistic")
    if spec == "builtin:gb":
        return BuiltinDetector("gb")
    if spec.startswith("hf:"):
        target, _, label = spec[3:].partition("#")
        if not target:
            raise SpecError("empty hf: detector", fix="use hf:<hub id or local dir>[#<synthetic label>]")
        return HFDetector(target, label or None)
    name, _, argument = spec.partition(":")
    factories = plugin_factories()
    if name not in factories:
        known = ", ".join(["builtin", "builtin:gb", "hf:<id or dir>", *sorted(factories)])
        raise SpecError(f"unknown detector {spec!r}", fix=f"use one of: {known}")
    try:
        detector = factories[name].load()(argument or None)
    except Exception as exc:
        raise SpecError(f"detector plugin {name!r} failed to load ({type(exc).__name__}: {exc})",
                        fix=f"check the package that provides the {ENTRY_POINT_GROUP} entry point {name!r}") from None
    if not isinstance(detector, Detector):
        raise SpecError(f"detector plugin {name!r} returned {type(detector).__name__}, which has no name/score",
                        fix="its factory must return an object with .name and .score(images)")
    return detector


# ----------------------------------------------------------------------------------------------
# evaluation
# ----------------------------------------------------------------------------------------------
def checked_scores(name: str, scores: Sequence[float], expected: int) -> list[float]:
    """A detector's scores as floats, or a one-line error when it gave the wrong count or a non-finite value."""
    try:
        values = np.asarray(scores, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"detector {name!r} returned scores that are not numbers", fix="fix the plugin's score()") from None
    if values.size != expected:
        raise InputError(f"detector {name!r} returned {values.size} scores for {expected} images",
                         fix="its score(images) must return one P(synthetic) per image")
    if not np.all(np.isfinite(values)):
        raise InputError(f"detector {name!r} returned {int(np.sum(~np.isfinite(values)))} non-finite score(s) (NaN/inf)",
                         fix="its score(images) must return finite probabilities")
    return values.tolist()


@dataclass
class DetectorReport:
    """One detector's numbers on one run vs one real set, in the ``detect.json`` shape."""

    name: str
    metrics: dict[str, float]
    intervals: dict[str, list[float]]
    roc: dict[str, list[float]]
    robustness: dict[str, dict[str, float]] = field(default_factory=dict)
    protocol: str = ""
    identity: dict[str, Any] = field(default_factory=dict)
    scores: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why numbers carry less than they seem (constant scores, few groups …)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "metrics": self.metrics, "intervals": self.intervals,
                "interval_method": INTERVAL_METHOD, "roc": self.roc,
                "robustness": self.robustness, "protocol": self.protocol, "identity": self.identity, "notes": self.notes}


def degenerate_notes(scores: np.ndarray, labels: np.ndarray, groups: Sequence[str]) -> list[str]:
    """What the scores cannot say: all equal (nothing learned or detected), too few groups for intervals."""
    notes = []
    if scores.size and float(np.ptp(scores)) == 0.0:
        notes.append(f"degenerate: every image scored {float(scores[0]):.6g}, so the detector separates nothing "
                     "(AUC 0.5, AP = the share of generated images by construction); no intervals")
    few = metrics.interval_note(labels, groups)
    if few:
        notes.append(few)
    return notes


def _report(name: str, labels: np.ndarray, scores: np.ndarray, perturbed: dict[str, np.ndarray], *,
            protocol: str, identity: dict[str, Any], resamples: int, groups: Sequence[str],
            extra_notes: list[str] | None = None) -> DetectorReport:
    robustness = {p: {"auc": metrics.auc(labels, s), "accuracy": metrics.accuracy(labels, s)} for p, s in perturbed.items()}
    notes = [*(extra_notes or []), *degenerate_notes(scores, labels, groups)]
    constant = scores.size > 0 and float(np.ptp(scores)) == 0.0
    return DetectorReport(
        name=name, metrics=metrics.all_metrics(labels, scores),
        intervals={} if constant else metrics.bootstrap_intervals(labels, scores, groups=groups, resamples=resamples),
        roc=metrics.roc_points(labels, scores), robustness=robustness, protocol=protocol, identity=identity,
        scores=[float(s) for s in scores], notes=notes,
    )


def evaluate(detector: BuiltinDetector | Detector, data: LabelledImages, *, perturbations: Sequence[str] = (),
             folds: int = DEFAULT_FOLDS, resamples: int = 1000, progress: Callable[[int], None] | None = None,
             workers: int = 1) -> DetectorReport:
    """Score every image (out-of-fold for the built-in detector), then compute metrics and robustness."""
    labels = data.labels
    if isinstance(detector, BuiltinDetector):
        splits = cv_folds(labels, data.groups, folds)
        clean, perturbed_rows = feature_tables(data, perturbations, progress, workers)
        scores, perturbed = out_of_fold_scores(detector, clean, labels, splits, perturbed_rows)
        protocol = (f"{len(splits)}-fold cross-validation grouped by prompt (each prompt's images in one fold), "
                    "trained on clean images, every score out-of-fold; robustness: each fold's classifier scores "
                    "its held-out images after the perturbation")
        reduced = ([f"folds reduced: {len(splits)} instead of the {folds} asked (the smaller class has only "
                    f"{len(splits)} prompts); each fold trains on fewer images"] if len(splits) < folds else [])
        return _report(detector.name, labels, scores, perturbed, protocol=protocol, identity=detector.identity(),
                       resamples=resamples, groups=data.groups, extra_notes=reduced)

    variants: list[str | None] = [None, *perturbations]
    collected: dict[str | None, list[float]] = {v: [] for v in variants}
    chunk = 32
    for start in range(0, len(data), chunk):  # each file decoded once, then scored clean and perturbed
        images = [data.load(i) for i in range(start, min(start + chunk, len(data)))]
        for variant in variants:
            batch = images if variant is None else [PERTURBATIONS[variant](image) for image in images]
            collected[variant].extend(checked_scores(detector.name, detector.score(batch), len(batch)))
            if progress:
                progress(len(batch))
    scores = np.asarray(collected[None])
    perturbed = {p: np.asarray(collected[p]) for p in perturbations}
    identity = detector.identity() if hasattr(detector, "identity") else {}
    return _report(detector.name, labels, scores, perturbed, protocol="pretrained detector, every image scored",
                   identity=identity, resamples=resamples, groups=data.groups)
