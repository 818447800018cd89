"""The stronger probe: a CLIP / SigLIP image backbone (transformers) with a trained softmax head.

GPT-ImgEval's classifier was a CLIP ViT-B with a trained head. Here the backbone is frozen: its
pooled image embeddings (L2-normalised) of the *normalised* images (the same crop / JPEG rule as
the forensic probe) feed a linear softmax head trained on cross-entropy with an L2 penalty
(L-BFGS from zero: deterministic). It is evaluated on **the same prompt-grouped folds** as the
forensic + logistic-regression probe, with the same held-out summary (accuracy with a prompt
bootstrap interval, per-family recall, confusion, temperature calibration), so the two can be
compared number for number. Fine-tuning the backbone's last blocks is not implemented yet.

Weights load with ``from_pretrained(use_safetensors=True)``; the head is saved as safetensors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genlens.errors import SpecError
from genlens.forensics import metrics
from genlens.imageio import atomic_write, atomic_write_text, load_image

HEAD_FILE = "head.safetensors"
HEAD_META = "head.json"
MAX_ITERATIONS = 500
WEIGHT_DECAY = 1e-3


class Backbone:
    """Pooled image embeddings from a CLIP/SigLIP model (full model or vision tower), loaded once."""

    def __init__(self, spec: str, device: str | None = None):
        self.spec = spec
        self.requested_device = device
        self.model: Any = None
        self.processor: Any = None
        self.device = "cpu"

    def load(self) -> None:
        if self.model is not None:
            return
        from transformers import AutoImageProcessor, AutoModel

        from genlens.backends.diffusers import pick_device

        try:
            self.model = AutoModel.from_pretrained(self.spec, use_safetensors=True).eval()
            self.processor = AutoImageProcessor.from_pretrained(self.spec)
        except (OSError, ValueError) as exc:
            raise SpecError(f"cannot load backbone {self.spec!r} ({str(exc).splitlines()[0][:200]})",
                            fix="give a CLIP or SigLIP hub id in your cache or a local folder (safetensors)") from None
        if not hasattr(self.model, "get_image_features") and "Vision" not in type(self.model).__name__:
            raise SpecError(f"{self.spec} is a {type(self.model).__name__}, not an image backbone",
                            fix="use a CLIP or SigLIP model (e.g. openai/clip-vit-base-patch16)")
        self.device = pick_device(self.requested_device)
        self.model.to(self.device)

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        import torch

        self.load()
        inputs = self.processor(images=list(images), return_tensors="pt").to(self.device)
        with torch.inference_mode():
            if hasattr(self.model, "get_image_features"):
                output = self.model.get_image_features(pixel_values=inputs["pixel_values"])
            else:
                output = self.model(pixel_values=inputs["pixel_values"])
            vectors = output if isinstance(output, torch.Tensor) else output.pooler_output
        array = vectors.float().cpu().numpy().astype(np.float64)
        return array / np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)

    def identity(self) -> dict[str, Any]:
        self.load()
        return {"spec": self.spec, "class": type(self.model).__name__,
                "commit": getattr(self.model.config, "_commit_hash", None)}


def embed_paths(backbone: Backbone, rule: Any, paths: Sequence[Path], progress: Callable[[int], None] | None = None,
                batch: int = 32) -> np.ndarray:
    """Embeddings of the images after the probe's normalisation rule."""
    rows = []
    for start in range(0, len(paths), batch):
        images = [rule.apply(load_image(p)) for p in paths[start:start + batch]]
        rows.append(backbone.embed(images))
        if progress:
            progress(len(images))
    return np.vstack(rows)


def train_head(features: np.ndarray, labels: np.ndarray, n_classes: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A linear softmax head (weight (C, D), bias (C,)): cross-entropy + L2 (weight decay), L-BFGS from zero.

    Deterministic (a convex problem started at zero; ``seed`` is kept for API symmetry)."""
    from scipy.optimize import minimize

    x = np.asarray(features, dtype=np.float64)
    n, d = x.shape
    one_hot = np.eye(n_classes)[labels]

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weight, bias = theta[:n_classes * d].reshape(n_classes, d), theta[n_classes * d:]
        logits = x @ weight.T + bias
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        loss = -np.sum(one_hot * log_p) / n + 0.5 * WEIGHT_DECAY * np.sum(weight ** 2)
        residual = (np.exp(log_p) - one_hot) / n
        grad_w = residual.T @ x + WEIGHT_DECAY * weight
        return float(loss), np.concatenate([grad_w.ravel(), residual.sum(axis=0)])

    result = minimize(loss_and_grad, np.zeros(n_classes * (d + 1)), jac=True, method="L-BFGS-B",
                      options={"maxiter": MAX_ITERATIONS})
    return result.x[:n_classes * d].reshape(n_classes, d), result.x[n_classes * d:]


def head_logits(weight: np.ndarray, bias: np.ndarray, features: np.ndarray) -> np.ndarray:
    return features @ weight.T + bias


def evaluate(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, classes: list[str],
             splits: list[tuple[np.ndarray, np.ndarray]], resamples: int = 1000) -> tuple[dict[str, Any], float]:
    """Out-of-fold logits on the given splits, summarised exactly like the forensic probe's."""
    from genlens.forensics.probe import heldout_summary

    logits = np.zeros((labels.size, len(classes)))
    for fold, (train, test) in enumerate(splits):
        weight, bias = train_head(features[train], labels[train], len(classes), seed=fold)
        logits[test] = head_logits(weight, bias, features[test])
    return heldout_summary(logits, labels, groups, classes, splits, resamples)


def train_and_save(backbone: Backbone, features: np.ndarray, labels: np.ndarray, groups: np.ndarray,
                   classes: list[str], splits: list[tuple[np.ndarray, np.ndarray]], out: Path,
                   resamples: int = 1000) -> dict[str, Any]:
    """Held-out numbers on ``splits``, then the head refitted on everything and saved (safetensors + JSON)."""
    from safetensors.numpy import save

    heldout, temperature = evaluate(features, labels, groups, classes, splits, resamples)
    weight, bias = train_head(features, labels, len(classes), seed=len(splits))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / HEAD_FILE, save({"head.weight": weight, "head.bias": bias,
                                        "temperature": np.array([temperature])}, metadata={"format": "genlens-backbone-head"}))
    meta = {"format": "genlens-backbone-head", "version": 1, "classes": classes, "backbone": backbone.identity(),
            "head": f"linear softmax on L2-normalised pooled embeddings, cross-entropy + L2 {WEIGHT_DECAY}, L-BFGS "
                    f"(at most {MAX_ITERATIONS} iterations); backbone frozen",
            "heldout": heldout}
    atomic_write_text(out / HEAD_META, json.dumps(metrics.json_safe(meta), indent=2, allow_nan=False))
    return {"heldout": heldout, "weight": weight, "bias": bias, "temperature": temperature, "meta": meta}


def classify(weight: np.ndarray, bias: np.ndarray, temperature: float, features: np.ndarray) -> np.ndarray:
    from genlens.forensics.probe import softmax

    return softmax(head_logits(weight, bias, features) / temperature)
