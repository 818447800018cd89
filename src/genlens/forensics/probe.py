"""The architecture probe: which labelled family (diffusion, autoregressive, masked …) made a run's images.

GPT-ImgEval trained a binary CLIP classifier on FLUX.1-dev vs Infinity images from the same prompts
and applied it to GPT-4o's. genlens generalises that to N families:

- **train** — one run per family, ideally from the same prompts. Features: the weight-free forensic
  vector, plus CLIP image embeddings when ``--clip`` names a model. Classifier: standardised
  multinomial logistic regression. Held-out numbers come from k-fold cross-validation grouped by
  prompt *text* across all families, so no prompt is on both sides of a split; a temperature
  fitted on the out-of-fold logits calibrates the probabilities. The saved probe is refitted on
  all images, with that temperature.
- **save** — ``probe.safetensors`` (scaler mean/scale, weight, bias, temperature) and ``probe.json``
  (classes, feature names, crop, held-out numbers). Never pickle: the parameters are stored by hand.
- **classify** — per-image family probabilities for a target run, the family distribution (share
  of images whose most likely family it is) and the per-class probability histogram (the paper's
  figure), written to ``probe.json`` in the target run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genlens.errors import InputError, SpecError
from genlens.forensics import metrics
from genlens.forensics.features import FEATURE_NAMES, forensic_features
from genlens.forensics.normalise import LOSSY, FormatRule, ImageInfo, NormalisationRule, choose_rule
from genlens.forensics.sources import MIN_SIDE, RunImage, image_info, run_images, too_small
from genlens.imageio import atomic_write, atomic_write_text, load_image
from genlens.stats import too_few_units

PROBE_FORMAT = "genlens-probe"
PROBE_VERSION = 1
WEIGHTS_FILE = "probe.safetensors"
META_FILE = "probe.json"
RUN_PROBE_JSON = "probe.json"
HISTOGRAM_BINS = 10  # bins of width 0.1, as in GPT-ImgEval's Fig. 9
CALIBRATION_BINS = 10
REGULARISATION_C = 0.5
META_KEYS = ("classes", "features", "heldout")


# ----------------------------------------------------------------------------------------------
# features
# ----------------------------------------------------------------------------------------------
class ClipEmbedder:
    """CLIP image embeddings (L2-normalised) through :class:`genlens.scorers.clip.ClipModel`, loaded once."""

    def __init__(self, id_or_dir: str):
        self.spec = id_or_dir
        self.model: Any = None

    def load(self) -> None:
        if self.model is None:
            from genlens.scorers.clip import ClipModel

            self.model = ClipModel.load(self.spec)

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        self.load()
        vectors = np.asarray(self.model.image_embeddings(list(images)), dtype=np.float64)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def identity(self) -> dict[str, Any]:
        self.load()
        return dict(self.model.identity())


@dataclass
class FeatureSpec:
    """How a probe reads an image: the normalisation rule (crop, JPEG re-encode), then the forensic vector [+ CLIP]."""

    rule: NormalisationRule

    def extract(self, paths: Sequence[Path], clip: ClipEmbedder | None = None,
                progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(n, d) features of the normalised images (d = forensic features [+ CLIP dim])."""
        rows, clip_rows = [], []
        for start in range(0, len(paths), 32):
            images = [self.rule.apply(load_image(p)) for p in paths[start:start + 32]]
            rows.extend(forensic_features(image) for image in images)
            if clip is not None:
                clip_rows.append(clip.embed(images))
            if progress:
                progress(len(images))
        forensic = np.stack(rows) if rows else np.zeros((0, len(FEATURE_NAMES)))
        return np.hstack([forensic, np.vstack(clip_rows)]) if clip is not None and clip_rows else forensic


# ----------------------------------------------------------------------------------------------
# the classifier, stored by hand
# ----------------------------------------------------------------------------------------------
@dataclass
class LinearProbe:
    """Standardise, then class logits = x·Wᵀ + b, divided by a temperature, then softmax."""

    classes: list[str]
    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray  # (C, D)
    bias: np.ndarray  # (C,)
    temperature: float = 1.0

    def logits(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.scale) @ self.weight.T + self.bias

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.logits(features) / self.temperature)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_linear(features: np.ndarray, labels: np.ndarray, classes: list[str]) -> LinearProbe:
    """Standardised multinomial logistic regression (deterministic lbfgs), as a :class:`LinearProbe`."""
    from sklearn.linear_model import LogisticRegression

    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    model = LogisticRegression(C=REGULARISATION_C, max_iter=5000)
    model.fit((features - mean) / scale, labels)
    weight = np.zeros((len(classes), features.shape[1]))
    bias = np.zeros(len(classes))
    if len(model.classes_) == 2:  # sklearn's binary form: one row; softmax([0, z]) == sigmoid(z)
        weight[model.classes_[1]] = model.coef_[0]
        bias[model.classes_[1]] = model.intercept_[0]
    else:
        weight[model.classes_] = model.coef_
        bias[model.classes_] = model.intercept_
    return LinearProbe(classes, mean, scale, weight, bias)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T minimising the negative log-likelihood of softmax(logits / T)."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        return negative_log_likelihood(softmax(logits / np.exp(log_t)), labels)

    return float(np.exp(minimize_scalar(nll, bounds=(-4.0, 4.0), method="bounded").x))


# ----------------------------------------------------------------------------------------------
# calibration numbers
# ----------------------------------------------------------------------------------------------
def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probabilities[np.arange(labels.size), labels], 1e-12, 1.0))))


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """Top-label reliability: per confidence bin, mean confidence, accuracy and count; ECE, Brier."""
    from sklearn.calibration import calibration_curve

    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # scikit-learn's uniform bins (a confidence on an inner edge falls in the lower bin) give the
    # per-bin accuracy and mean confidence of the non-empty bins; the counts place them.
    accuracy, mean_confidence = calibration_curve(correct, confidence, n_bins=bins, strategy="uniform", pos_label=1)
    counts = np.bincount(np.clip(np.searchsorted(edges[1:-1], confidence), 0, bins - 1), minlength=bins)
    table: dict[str, list[Any]] = {"confidence": [], "accuracy": [], "count": []}
    filled = iter(zip(mean_confidence, accuracy, strict=True))
    ece = 0.0
    for count in counts:
        table["count"].append(int(count))
        if count:
            conf, acc = next(filled)
            table["confidence"].append(float(conf))
            table["accuracy"].append(float(acc))
            ece += count / labels.size * abs(float(conf) - float(acc))
        else:
            table["confidence"].append(None)
            table["accuracy"].append(None)
    one_hot = np.eye(probabilities.shape[1])[labels]
    brier = float(np.mean(np.sum((probabilities - one_hot) ** 2, axis=1)))
    return {"bins": [round(float(e), 4) for e in edges], **table, "ece": ece, "brier": brier,
            "nll": negative_log_likelihood(probabilities, labels)}


def group_bootstrap_accuracy(correct: np.ndarray, groups: np.ndarray, *, resamples: int = 1000,
                             seed: int = 0) -> list[float] | None:
    """95% percentile interval of accuracy, resampling whole prompt groups (images of a prompt correlate).

    None below :data:`genlens.stats.MIN_BOOTSTRAP_UNITS` prompts. Own loop: scipy's bootstrap resamples
    observations, and the statistic here is a ratio of per-group sums over resampled groups.
    """
    from genlens.stats import MIN_BOOTSTRAP_UNITS

    unique, inverse = np.unique(groups, return_inverse=True)
    if unique.size < MIN_BOOTSTRAP_UNITS:
        return None
    sums = np.bincount(inverse, weights=correct)
    counts = np.bincount(inverse)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, unique.size, size=(resamples, unique.size))
    accuracies = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    return [float(np.quantile(accuracies, 0.025)), float(np.quantile(accuracies, 0.975))]


# ----------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------
@dataclass
class TrainingSet:
    """Every image of every family's run, its family index, and its prompt (the split group)."""

    classes: list[str]
    runs: dict[str, Path]
    paths: list[Path]
    labels: np.ndarray
    groups: np.ndarray
    skipped_small: dict[str, int]


def large_images(run_dir: Path) -> tuple[list[RunImage], int]:
    """A run's images with both sides >= :data:`MIN_SIDE`, and how many were skipped."""
    images = run_images(run_dir)
    kept = [image for image in images if not too_small(image_info(image.path))]
    return kept, len(images) - len(kept)


def training_set(classes: dict[str, Path]) -> TrainingSet:
    if len(classes) < 2:
        raise SpecError("a probe needs at least two families", fix="give --class NAME=RUN at least twice")
    paths: list[Path] = []
    labels: list[int] = []
    prompts: list[str] = []
    skipped: dict[str, int] = {}
    for index, (name, run_dir) in enumerate(classes.items()):
        images, skipped[name] = large_images(run_dir)
        if not images:
            raise InputError(f"family {name!r}: the run has no finished images of at least {MIN_SIDE}x{MIN_SIDE} px",
                             path=run_dir, fix="generate or import images into it first")
        paths += [image.path for image in images]
        labels += [index] * len(images)
        prompts += [image.prompt for image in images]
    return TrainingSet(list(classes), dict(classes), paths, np.asarray(labels), np.asarray(prompts), skipped)


def prompt_folds(labels: np.ndarray, groups: np.ndarray, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k folds over prompts: all images of a prompt (in every family) fall in one fold."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = np.unique(groups).size
    k = min(folds, n_groups)
    if k < 2:
        raise InputError(f"only {n_groups} distinct prompt(s) across the families",
                         fix="a held-out estimate needs images for at least 2 prompts (10+ for useful numbers)")
    group_ids = np.unique(groups, return_inverse=True)[1]
    splits = list(StratifiedGroupKFold(n_splits=k, shuffle=False).split(np.zeros(labels.size), labels, group_ids))
    for number, (train, _) in enumerate(splits, 1):
        present = np.unique(labels[train])
        if present.size < 2:
            raise InputError(
                f"cross-validation fold {number} of {k} would train on one family only: the families share too few prompts",
                fix=f"give every family images of the same prompts, at least {k + 1} prompts per family (or fewer --folds)",
            )
    return splits


def out_of_fold_logits(features: np.ndarray, labels: np.ndarray, classes: list[str],
                       splits: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    logits = np.zeros((labels.size, len(classes)))
    for train, test in splits:
        logits[test] = fit_linear(features[train], labels[train], classes).logits(features[test])
    return logits


def cross_fitted_probabilities(logits: np.ndarray, labels: np.ndarray,
                               splits: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, list[float]]:
    """Calibrated probabilities of each fold's images with a temperature fitted on the *other* folds'
    out-of-fold logits, so the calibration numbers are not measured on the data that set T."""
    calibrated = np.zeros_like(logits, dtype=np.float64)
    temperatures = []
    for train, test in splits:
        temperature = fit_temperature(logits[train], labels[train])
        calibrated[test] = softmax(logits[test] / temperature)
        temperatures.append(temperature)
    return calibrated, temperatures


def heldout_summary(logits: np.ndarray, labels: np.ndarray, groups: np.ndarray, classes: list[str],
                    splits: list[tuple[np.ndarray, np.ndarray]], resamples: int) -> tuple[dict[str, Any], float]:
    """Out-of-fold accuracy (prompt-bootstrap interval), per-class recall, confusion, calibration; and T."""
    folds = len(splits)
    temperature = fit_temperature(logits, labels)  # the saved probe's: fitted on every out-of-fold logit
    raw = softmax(logits)
    calibrated, fold_temperatures = cross_fitted_probabilities(logits, labels, splits)
    predicted = raw.argmax(axis=1)
    correct = (predicted == labels).astype(float)
    confusion = [[int(np.sum((labels == t) & (predicted == p))) for p in range(len(classes))] for t in range(len(classes))]
    summary = {
        "accuracy": float(correct.mean()),
        "interval": group_bootstrap_accuracy(correct, groups, resamples=resamples),
        "interval_method": "95% percentile bootstrap over prompts",
        "interval_note": too_few_units(int(np.unique(groups).size), "prompts"),
        "chance": float(np.bincount(labels).max() / labels.size),
        "per_class_recall": {c: float(correct[labels == i].mean()) for i, c in enumerate(classes)},
        "auc_one_vs_rest": {c: metrics.auc((labels == i).astype(int), raw[:, i]) for i, c in enumerate(classes)},
        "confusion": {"rows_true_columns_predicted": classes, "counts": confusion},
        "protocol": f"{folds}-fold cross-validation grouped by prompt text across families (no prompt on both sides)",
        "n_images": int(labels.size),
        "n_prompts": int(np.unique(groups).size),
        "calibration": {
            "method": "temperature scaling (NLL); the saved temperature is fitted on all out-of-fold logits; the "
                      "'calibrated' numbers are cross-fitted: each fold's images use a temperature fitted on the other "
                      "folds' out-of-fold logits",
            "temperature": temperature,
            "fold_temperatures": fold_temperatures,
            "uncalibrated": reliability(raw, labels),
            "calibrated": reliability(calibrated, labels),
        },
    }
    return summary, temperature


def training_rule(paths: Sequence[Path], *, crop: int = 512, format_rule: FormatRule = "auto") -> NormalisationRule:
    """The detect rule over every family's images at once: one crop for all, and one JPEG re-encode
    when their formats (or JPEG qualities) differ, so the probe cannot learn the container."""
    infos = [image_info(p) for p in paths]
    rule = choose_rule(infos, infos, max_crop=crop, format_rule=format_rule)
    reason = rule.reason.replace("both sides are", "every family's images are")
    if rule.jpeg_quality is not None and format_rule == "auto":
        qualities = sorted({i.jpeg_quality for i in infos if i.format == "jpeg" and i.jpeg_quality})
        reason = (f"formats differ across the families' images ({', '.join(sorted({i.format for i in infos}))}; JPEG "
                  f"qualities {', '.join(map(str, qualities)) or 'unknown'}); the lowest (at most 95) is used")
    return NormalisationRule(rule.crop, rule.jpeg_quality, reason, scope="all families' training images")


def train_probe(classes: dict[str, Path], out: Path, *, clip: str | None = None, crop: int = 512, folds: int = 5,
                resamples: int = 1000, progress: Callable[[int], None] | None = None,
                format_rule: FormatRule = "auto", keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """Cross-validate, calibrate, refit on everything, and save the probe to ``out`` (a directory).

    ``keep`` (a dict), when given, receives the training features, labels, prompt groups and folds
    so a caller (``genlens probe experiment``) can reuse them without extracting features twice."""
    data = training_set(classes)
    rule = training_rule(data.paths, crop=crop, format_rule=format_rule)
    spec = FeatureSpec(rule)
    embedder = ClipEmbedder(clip) if clip else None
    features = spec.extract(data.paths, embedder, progress)
    splits = prompt_folds(data.labels, data.groups, folds)
    logits = out_of_fold_logits(features, data.labels, data.classes, splits)
    heldout, temperature = heldout_summary(logits, data.labels, data.groups, data.classes, splits, resamples)
    probe = fit_linear(features, data.labels, data.classes)
    probe.temperature = temperature
    if keep is not None:
        keep.update(features=features, labels=data.labels, groups=data.groups, splits=splits, probe=probe, paths=data.paths,
                    rule=rule)
    meta = {
        "format": PROBE_FORMAT, "version": PROBE_VERSION, "classes": data.classes,
        "features": {"forensic": list(FEATURE_NAMES), "clip": clip, "clip_dim": features.shape[1] - len(FEATURE_NAMES),
                     "clip_identity": embedder.identity() if embedder else None, "crop": rule.crop},
        "normalisation": rule.describe(),
        "normalisation_rule": rule.to_json(),
        "classifier": f"standardised multinomial logistic regression (C={REGULARISATION_C}, lbfgs), refitted on all "
                      "images, probabilities softmax(logits / temperature)",
        "training": {c: {"run": str(data.runs[c]), "images": int(np.sum(data.labels == i)),
                         "skipped_small": data.skipped_small[c]} for i, c in enumerate(data.classes)},
        "min_side": MIN_SIDE,
        "heldout": heldout,
    }
    save_probe(out, probe, meta)
    return meta


# ----------------------------------------------------------------------------------------------
# saving and loading (safetensors + JSON, never pickle)
# ----------------------------------------------------------------------------------------------
def save_probe(out: Path, probe: LinearProbe, meta: dict[str, Any]) -> None:
    from safetensors.numpy import save

    out.mkdir(parents=True, exist_ok=True)
    tensors = {
        "scaler.mean": probe.mean.astype(np.float64), "scaler.scale": probe.scale.astype(np.float64),
        "linear.weight": probe.weight.astype(np.float64), "linear.bias": probe.bias.astype(np.float64),
        "temperature": np.array([probe.temperature], dtype=np.float64),
    }
    atomic_write(out / WEIGHTS_FILE, save(tensors, metadata={"format": PROBE_FORMAT, "version": str(PROBE_VERSION)}))
    atomic_write_text(out / META_FILE, json.dumps(metrics.json_safe(meta), indent=2, allow_nan=False))


def probe_dir_of(path: Path) -> Path:
    return path.parent if path.suffix in (".safetensors", ".json") else path


def load_probe(path: Path) -> tuple[LinearProbe, dict[str, Any]]:
    """A saved probe (its directory, or either of its two files)."""
    from safetensors.numpy import load_file

    directory = probe_dir_of(path)
    weights, meta_path = directory / WEIGHTS_FILE, directory / META_FILE
    if not weights.is_file() or not meta_path.is_file():
        raise InputError(f"not a genlens probe (needs {WEIGHTS_FILE} and {META_FILE})", path=directory,
                         fix="give the directory written by `genlens probe train --out`")
    retrain = "retrain it with `genlens probe train` (the file is damaged or not a probe)"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"probe metadata is not valid JSON ({type(exc).__name__})", path=meta_path, fix=retrain) from None
    if not isinstance(meta, dict) or meta.get("format") != PROBE_FORMAT or meta.get("version") != PROBE_VERSION:
        found = (meta.get("format"), meta.get("version")) if isinstance(meta, dict) else (type(meta).__name__, None)
        raise InputError(f"unsupported probe format {found[0]!r} v{found[1]}", path=meta_path,
                         fix="retrain it with this version of genlens")
    missing = [key for key in META_KEYS if key not in meta] + [
        f"features.{key}" for key in ("crop", "clip") if not isinstance(meta.get("features"), dict) or key not in meta["features"]]
    if missing:
        raise InputError(f"probe metadata lacks {', '.join(missing)}", path=meta_path, fix=retrain)
    try:
        tensors = load_file(str(weights))
        probe = LinearProbe(list(meta["classes"]), tensors["scaler.mean"], tensors["scaler.scale"],
                            tensors["linear.weight"], tensors["linear.bias"], float(tensors["temperature"][0]))
    except Exception as exc:  # safetensors raises its own error type for damaged headers
        raise InputError(f"probe weights unreadable ({type(exc).__name__}: {exc})".splitlines()[0], path=weights,
                         fix=retrain) from None
    if probe.weight.shape != (len(probe.classes), probe.mean.size) or probe.bias.shape != (len(probe.classes),):
        raise InputError(f"probe weights {probe.weight.shape} do not match {len(probe.classes)} classes", path=weights,
                         fix=retrain)
    return probe, meta


# ----------------------------------------------------------------------------------------------
# classifying a run
# ----------------------------------------------------------------------------------------------
def classify_run(run_dir: Path, probe_path: Path, *, clip: str | None = None,
                 progress: Callable[[int], None] | None = None, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """Family probabilities for every image of ``run_dir``; writes ``run_dir/probe.json``.

    ``keep`` (a dict), when given, receives the target's features and per-image prompts."""
    probe, meta = load_probe(probe_path)
    images, skipped = large_images(run_dir)
    rule = probe_rule(meta)
    warning = format_warning(rule, [image_info(image.path) for image in images])
    if not images:
        raise InputError(f"the run has no finished images of at least {MIN_SIDE}x{MIN_SIDE} px", path=run_dir,
                         fix="generate or import images into it first")
    clip_spec = clip or meta["features"]["clip"]
    embedder = ClipEmbedder(clip_spec) if clip_spec else None
    features = FeatureSpec(rule).extract([i.path for i in images], embedder, progress)
    if features.shape[1] != probe.weight.shape[1]:
        raise InputError(f"features have {features.shape[1]} values but the probe expects {probe.weight.shape[1]}",
                         path=probe_path, fix="classify with the same CLIP model the probe was trained with (--clip)")
    probabilities = probe.probabilities(features)
    if keep is not None:
        keep.update(features=features, probabilities=probabilities, groups=np.asarray([i.prompt for i in images]),
                    paths=[i.path for i in images])
    result = probe_result(probe_path, probe.classes, probabilities, [i.relative for i in images], meta["heldout"])
    result["normalisation"] = rule.describe()
    result["normalisation_rule"] = rule.to_json()
    result["skipped_small"] = {"min_side": MIN_SIDE, "images": skipped}
    result["format_warning"] = warning
    atomic_write_text(run_dir / RUN_PROBE_JSON, json.dumps(metrics.json_safe(result), indent=2, allow_nan=False))
    return result


def format_warning(rule: NormalisationRule, infos: Sequence[ImageInfo]) -> str | None:
    """A sentence when the target run carries compression the training rule did not remove, else None.

    The training rule re-encodes only when the families' formats differed; a target with harsher
    (or any, when the rule kept pixels as decoded) lossy compression shows traces the probe never saw.
    """
    lossy = [info for info in infos if info.format in LOSSY]
    if not lossy:
        return None
    if rule.jpeg_quality is None:
        return (f"{len(lossy)} of {len(infos)} images are lossy ({', '.join(sorted({i.format for i in lossy}))}) but the "
                "probe was trained on pixels as decoded: its probabilities may reflect compression, not family")
    harsher = [i for i in lossy if i.format == "jpeg" and i.jpeg_quality is not None and i.jpeg_quality < rule.jpeg_quality]
    if harsher:
        return (f"{len(harsher)} of {len(infos)} images are JPEG below the probe's re-encode quality {rule.jpeg_quality} "
                f"(lowest {min(i.jpeg_quality or 0 for i in harsher)}): their traces survive the rule")
    return None


def probe_rule(meta: dict[str, Any]) -> NormalisationRule:
    """The rule the probe was trained with, applied unchanged to the images it classifies."""
    if "normalisation_rule" in meta:
        return NormalisationRule.from_json(meta["normalisation_rule"])
    return NormalisationRule(int(meta["features"]["crop"]), None, "probe saved before the format rule existed",
                             scope="all families' training images")


def probe_result(probe_path: Path, classes: list[str], probabilities: np.ndarray, images: list[str],
                 heldout: dict[str, Any]) -> dict[str, Any]:
    """The ``probe.json`` a target run gets: distribution, histogram, held-out numbers, per image."""
    winners = probabilities.argmax(axis=1)
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    return {
        "probe": str(probe_dir_of(probe_path)),
        "classes": classes,
        "n_images": len(images),
        "distribution": {c: float(np.mean(winners == i)) for i, c in enumerate(classes)},
        "mean_probability": {c: float(probabilities[:, i].mean()) for i, c in enumerate(classes)},
        "histogram": {
            "bins": [round(float(e), 4) for e in edges],
            "counts": {c: np.histogram(probabilities[:, i], bins=edges)[0].astype(int).tolist() for i, c in enumerate(classes)},
        },
        "heldout": {"accuracy": heldout["accuracy"], "interval": heldout["interval"], "interval_note": heldout["interval_note"],
                    "calibration": heldout["calibration"],
                    "protocol": heldout["protocol"], "n_images": heldout["n_images"]},
        "images": [{"image": image, "probabilities": {c: round(float(p), 6) for c, p in zip(classes, row, strict=True)}}
                   for image, row in zip(images, probabilities, strict=True)],
    }
