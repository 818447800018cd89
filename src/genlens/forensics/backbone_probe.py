"""The stronger probe: a CLIP / SigLIP image backbone (transformers) with a trained softmax head.

GPT-ImgEval's classifier was a CLIP ViT-B with a trained head. Here the backbone is frozen: its
pooled image embeddings (L2-normalised) of the *normalised* images (the same crop / JPEG rule as
the forensic probe) feed a linear softmax head trained on cross-entropy with an L2 penalty
(L-BFGS from zero: deterministic). It is evaluated on **the same prompt-grouped folds** as the
forensic + logistic-regression probe, with the same held-out summary (accuracy with a prompt
bootstrap interval, per-family recall, confusion, temperature calibration), so the two can be
compared number for number. With ``finetune_blocks=N`` the backbone's last N transformer blocks are
fine-tuned with the head (AdamW, from the frozen head's solution) inside every fold — the blocks are
restored before the next fold, so held-out images never touch the weights that score them — and
once more on all images for the saved probe (tuned blocks + head saved as safetensors). A GPU is
advised for that; on a CPU it is slow.

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
FINETUNE_LR = 1e-5
FINETUNE_BATCH = 16
TUNED_FILE = "tuned.safetensors"


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

    def pixel_values(self, images: Sequence[Image.Image]) -> Any:
        self.load()
        return self.processor(images=list(images), return_tensors="pt")["pixel_values"].to(self.device)

    def embed_with_grad(self, pixel_values: Any) -> Any:
        """L2-normalised embeddings with autograd on (for fine-tuning)."""
        import torch

        if hasattr(self.model, "get_image_features"):
            output = self.model.get_image_features(pixel_values=pixel_values)
        else:
            output = self.model(pixel_values=pixel_values)
        vectors = output if isinstance(output, torch.Tensor) else output.pooler_output
        return vectors / vectors.norm(dim=-1, keepdim=True).clamp(min=1e-12)

    def blocks(self, count: int) -> list[Any]:
        """The last ``count`` transformer blocks of the vision tower."""
        self.load()
        for name in ("vision_model.encoder.layers", "encoder.layers", "vision_model.encoder.layer"):
            try:
                layers = list(self.model.get_submodule(name))
            except AttributeError:
                continue
            if count > len(layers):
                raise SpecError(f"the backbone has {len(layers)} blocks; cannot fine-tune {count}",
                                fix=f"use --finetune-blocks {len(layers)} or fewer")
            return layers[-count:]
        raise SpecError(f"cannot find the transformer blocks of {type(self.model).__name__}",
                        fix="fine-tune a CLIP or SigLIP backbone, or leave --finetune-blocks at 0")

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


class FineTune:
    """Fine-tune the backbone's last blocks with a linear head; restores the blocks on request."""

    def __init__(self, backbone: Backbone, rule: Any, blocks: int, epochs: int):
        self.backbone, self.rule, self.epochs = backbone, rule, epochs
        self.layers = backbone.blocks(blocks)
        self.original = [{k: v.detach().clone() for k, v in layer.state_dict().items()} for layer in self.layers]

    def restore(self) -> None:
        for layer, state in zip(self.layers, self.original, strict=True):
            layer.load_state_dict(state)

    def tuned_state(self) -> dict[str, np.ndarray]:
        return {f"block{-len(self.layers) + i}.{k}": v.detach().float().cpu().numpy()
                for i, layer in enumerate(self.layers) for k, v in layer.state_dict().items()}

    def fit(self, paths: Sequence[Path], labels: np.ndarray, n_classes: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Head from the frozen embeddings (L-BFGS), then blocks + head by AdamW for ``epochs``; returns the head."""
        import torch

        weight, bias = train_head(embed_paths(self.backbone, self.rule, paths), labels, n_classes)
        model, device = self.backbone.model, self.backbone.device
        head = torch.nn.Linear(weight.shape[1], n_classes).to(device)
        with torch.no_grad():
            head.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            head.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        tuned = [p for layer in self.layers for p in layer.parameters()]
        for parameter in tuned:
            parameter.requires_grad_(True)
        optimiser = torch.optim.AdamW([*tuned, *head.parameters()], lr=FINETUNE_LR, weight_decay=WEIGHT_DECAY)
        generator = torch.Generator().manual_seed(seed)
        targets = torch.as_tensor(labels, dtype=torch.long)
        for _ in range(self.epochs):
            order = torch.randperm(len(paths), generator=generator).tolist()
            for start in range(0, len(order), FINETUNE_BATCH):
                chunk = order[start:start + FINETUNE_BATCH]
                pixels = self.backbone.pixel_values([self.rule.apply(load_image(paths[i])) for i in chunk])
                loss = torch.nn.functional.cross_entropy(head(self.backbone.embed_with_grad(pixels)),
                                                         targets[chunk].to(device))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        for parameter in tuned:
            parameter.requires_grad_(False)
        return head.weight.detach().double().cpu().numpy(), head.bias.detach().double().cpu().numpy()


def finetune_and_save(backbone: Backbone, rule: Any, paths: Sequence[Path], labels: np.ndarray, groups: np.ndarray,
                      classes: list[str], splits: list[tuple[np.ndarray, np.ndarray]], out: Path, *, blocks: int,
                      epochs: int, resamples: int = 1000) -> dict[str, Any]:
    """Held-out numbers with fine-tuning inside every fold (blocks restored between folds), then the final fit."""
    from safetensors.numpy import save

    from genlens.forensics.probe import heldout_summary

    tuner = FineTune(backbone, rule, blocks, epochs)
    logits = np.zeros((labels.size, len(classes)))
    for fold, (train, test) in enumerate(splits):
        weight, bias = tuner.fit([paths[i] for i in train], labels[train], len(classes), seed=fold)
        logits[test] = head_logits(weight, bias, embed_paths(backbone, rule, [paths[i] for i in test]))
        tuner.restore()
    heldout, temperature = heldout_summary(logits, labels, groups, classes, splits, resamples)
    weight, bias = tuner.fit(list(paths), labels, len(classes), seed=len(splits))  # the saved probe: tuned on all
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / HEAD_FILE, save({"head.weight": weight, "head.bias": bias, "temperature": np.array([temperature])},
                                       metadata={"format": "genlens-backbone-head"}))
    atomic_write(out / TUNED_FILE, save(tuner.tuned_state(), metadata={"format": "genlens-backbone-blocks"}))
    meta = {"format": "genlens-backbone-head", "version": 1, "classes": classes, "backbone": backbone.identity(),
            "head": f"linear softmax on L2-normalised pooled embeddings; last {blocks} block(s) fine-tuned with it "
                    f"(AdamW lr {FINETUNE_LR}, {epochs} epoch(s), batch {FINETUNE_BATCH}) inside every fold",
            "heldout": heldout}
    atomic_write_text(out / HEAD_META, json.dumps(metrics.json_safe(meta), indent=2, allow_nan=False))
    return {"heldout": heldout, "weight": weight, "bias": bias, "temperature": temperature, "meta": meta}


def classify(weight: np.ndarray, bias: np.ndarray, temperature: float, features: np.ndarray) -> np.ndarray:
    from genlens.forensics.probe import softmax

    return softmax(head_logits(weight, bias, features) / temperature)
