"""A reusable CLIP wrapper: load from a hub id or a local dir, embed images and texts, zero-shot classify.

Weights are resolved before loading so the exact revision (hub commit, or sha256 of a local
directory's safetensors files) is known and recorded: :func:`resolve_pretrained` is shared with
the other local-model scorers. Only safetensors weights are loaded (never pickles).

    >>> clip = ClipModel.load("openai/clip-vit-large-patch14")           # doctest: +SKIP
    >>> clip.image_embeddings([image]).shape                              # doctest: +SKIP
    (1, 768)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genlens.errors import InputError

DEFAULT_CLIP = "openai/clip-vit-large-patch14"
#: open_clip's OPENAI_DATASET_MEAN / OPENAI_DATASET_STD (the openai ViT-L-14 weights GenEval uses).
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
#: Ways to turn images into CLIP pixels: the checkpoint's transformers processor, or open_clip's eval transform.
PREPROCESS_MODES = ("processor", "open_clip")
#: Files fetched for a hub model: configs, tokenizer files and safetensors weights (no pickles, no TF/Flax).
MODEL_FILE_PATTERNS = ("*.json", "*.txt", "*.safetensors", "*.model")

_HASH_CACHE: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True)
class ResolvedWeights:
    """Where a model's files are on disk and what exactly they are (for provenance and fingerprints)."""

    path: Path
    identity: dict[str, Any] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached per (path, size, mtime) so repeated identity() calls stay cheap."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASH_CACHE:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                digest.update(chunk)
        _HASH_CACHE[key] = digest.hexdigest()
    return _HASH_CACHE[key]


def _local_identity(directory: Path, what: str) -> dict[str, Any]:
    weights = sorted(directory.glob("*.safetensors"))
    if not weights:
        raise InputError(
            f"no *.safetensors weights for the {what}", path=directory,
            fix="save the model with save_pretrained(..., safe_serialization=True) (pickled weights are never loaded)",
        )
    hashes = {w.name: file_sha256(w) for w in weights}
    combined = hashlib.sha256("".join(f"{k}:{v}" for k, v in hashes.items()).encode()).hexdigest()
    return {"id": str(directory.resolve()), "source": "local", "weights_sha256": combined}


_RESOLVED: dict[tuple[str, str], ResolvedWeights] = {}


def resolve_pretrained(id_or_dir: str, *, what: str = "model") -> ResolvedWeights:
    """A local directory as it is, or a hub id fetched (configs + safetensors) into the HF cache.

    The identity names the hub commit (or the local weights' sha256); with ``HF_HUB_OFFLINE=1`` a
    hub id must already be cached, otherwise this raises a one-line :class:`InputError`.
    """
    local = Path(id_or_dir).expanduser()
    if local.is_dir():  # re-hashed each time (cheap: file hashes are cached by size and mtime)
        return ResolvedWeights(local, _local_identity(local, what))
    if id_or_dir.startswith((".", "/", "~")) or id_or_dir.count("/") > 1 or (os.sep != "/" and os.sep in id_or_dir):
        raise InputError(f"{what} directory does not exist", path=local, fix="give an existing directory or a hub id")
    key = (id_or_dir, what)
    if key not in _RESOLVED:
        _RESOLVED[key] = _resolve_hub(id_or_dir, what)
    return _RESOLVED[key]


def _resolve_hub(repo_id: str, what: str) -> ResolvedWeights:
    from huggingface_hub import snapshot_download

    try:
        path = Path(snapshot_download(repo_id, allow_patterns=list(MODEL_FILE_PATTERNS)))
    except Exception as exc:  # offline and not cached, unknown id, network down …
        raise InputError(
            f"cannot get {what} weights {repo_id!r} ({type(exc).__name__})",
            fix="check the id and connect to the Hugging Face hub once, or pass a local directory made with save_pretrained",
        ) from None
    if not list(path.glob("*.safetensors")):
        raise InputError(
            f"{what} {repo_id!r} has no safetensors weights", path=path,
            fix="convert it with save_pretrained(..., safe_serialization=True) and pass that directory",
        )
    return ResolvedWeights(path, {"id": repo_id, "source": "hub", "revision": path.name})


def pick_device(device: str | None = None) -> str:
    """The requested device, else CUDA when available, else CPU."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _features(output: Any) -> Any:
    """``get_*_features`` returns a tensor in transformers 4 and a pooled output object in 5."""
    return getattr(output, "pooler_output", output)


def open_clip_resize_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(w, h) after open_clip's eval ``Resize(size)``: shortest side to ``size``, the other ``int(size × long / short)``."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def open_clip_crop_origin(width: int, height: int, size: int) -> tuple[int, int]:
    """(left, top) of open_clip's eval ``CenterCrop(size)``: ``int(round((side - size) / 2))``, half to even.

    A floor (what transformers' CLIP processor does) differs whenever the excess is 3 mod 4:
    excess 3 -> round(1.5) = 2, floor 1; excess 1 -> round(0.5) = 0, floor 0.
    """
    return round((width - size) / 2.0), round((height - size) / 2.0)


def open_clip_pixels(images: Sequence[Image.Image], size: int, mean: Sequence[float] = OPENAI_MEAN,
                     std: Sequence[float] = OPENAI_STD) -> Any:
    """open_clip's eval transform (torchvision Resize bicubic on the PIL image, CenterCrop, RGB, ToTensor, Normalize).

    Pillow does the resize (bicubic, as torchvision does for PIL input) and the crop; the tensor steps
    run in float32 as torchvision's ``ToTensor`` (divide by 255) and ``Normalize`` (subtract, divide).
    Returns an (N, 3, size, size) float32 tensor.
    """
    import torch

    out = []
    for image in images:
        width, height = image.size
        new_w, new_h = open_clip_resize_size(width, height, size)
        resized = image.resize((new_w, new_h), Image.Resampling.BICUBIC)
        left, top = open_clip_crop_origin(new_w, new_h, size)
        crop = resized.crop((left, top, left + size, top + size)).convert("RGB")
        out.append(torch.from_numpy(np.array(crop, dtype=np.uint8)).permute(2, 0, 1).float().div(255))
    batch = torch.stack(out)
    mean_t = torch.as_tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return batch.sub_(mean_t).div_(std_t)


def zero_shot_logits(features: np.ndarray, classifier: np.ndarray, *, half: bool, device: str = "cpu") -> np.ndarray:
    """``100 × features @ classifierᵀ`` as clip_benchmark's ``run_classification`` computes it.

    ``half``: the matmul and the scaling in float16 (what CUDA autocast does upstream), returned as
    float32 values of those float16 results; otherwise all float32.
    """
    import torch

    feats = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(device)
    weights = torch.from_numpy(np.ascontiguousarray(classifier, dtype=np.float32)).to(device).T
    with torch.inference_mode():
        logits = 100.0 * (feats.half() @ weights.half()) if half else 100.0 * (feats @ weights)
    return logits.float().cpu().numpy()


class ClipModel:
    """CLIP image and text embeddings (L2-normalised numpy arrays) and zero-shot classifiers.

    ``preprocess`` picks the image input: ``"processor"`` (the checkpoint's transformers processor)
    or ``"open_clip"`` (open_clip's eval transform, what GenEval feeds its CLIP; see :func:`open_clip_pixels`).
    """

    def __init__(self, model: Any, processor: Any, resolved: ResolvedWeights, device: str, preprocess: str = "processor"):
        if preprocess not in PREPROCESS_MODES:
            raise ValueError(f"preprocess must be one of {PREPROCESS_MODES}, not {preprocess!r}")
        self.model = model
        self.processor = processor
        self.resolved = resolved
        self.device = device
        self.preprocess = preprocess

    @classmethod
    def load(cls, id_or_dir: str = DEFAULT_CLIP, device: str | None = None, preprocess: str = "processor") -> ClipModel:
        """Load CLIPModel + its processor through ``from_pretrained`` (hub id or local dir)."""
        from transformers import CLIPModel, CLIPProcessor

        resolved = resolve_pretrained(id_or_dir, what="CLIP model")
        device = pick_device(device)
        try:
            model = CLIPModel.from_pretrained(resolved.path, use_safetensors=True).to(device).eval()
            processor = CLIPProcessor.from_pretrained(resolved.path)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"cannot load a CLIP model ({exc})", path=resolved.path,
                             fix="pass a CLIP checkpoint (hub id or a save_pretrained directory)") from None
        return cls(model, processor, resolved, device, preprocess=preprocess)

    def identity(self) -> dict[str, Any]:
        """Which weights these embeddings come from (id + hub revision or local sha256)."""
        return dict(self.resolved.identity)

    @property
    def image_size(self) -> int:
        return int(self.model.config.vision_config.image_size)

    def preprocessing_identity(self) -> dict[str, Any]:
        """How images become pixels here, naming the library that ran (for provenance)."""
        import PIL

        if self.preprocess == "open_clip":
            return {"mode": "open_clip", "backend": f"Pillow {PIL.__version__}", "resize": "shortest side, bicubic",
                    "crop": "centre, int(round(excess / 2))", "size": self.image_size,
                    "mean": list(OPENAI_MEAN), "std": list(OPENAI_STD), "dtype": "float32"}
        image_processor = self.processor.image_processor
        return {"mode": "processor", "backend": type(image_processor).__name__,
                "size": getattr(image_processor, "crop_size", None),
                "mean": list(image_processor.image_mean), "std": list(image_processor.image_std)}

    @property
    def half_logits(self) -> bool:
        """Zero-shot logits in float16 on CUDA (as upstream's autocast), float32 elsewhere."""
        return self.device.startswith("cuda")

    def _autocast(self) -> Any:
        import contextlib

        import torch

        # Match GenEval's CUDA fp16 autocast on GPUs; full precision on CPU.
        if self.device.startswith("cuda"):
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def pixel_values(self, images: Sequence[Image.Image]) -> Any:
        """CLIP pixels: open_clip's eval transform, or the processor's (resize shortest side, centre crop, mean/std)."""
        if self.preprocess == "open_clip":
            return open_clip_pixels(images, self.image_size)
        rgb = [im.convert("RGB") for im in images]
        return self.processor.image_processor(images=rgb, return_tensors="pt")["pixel_values"]

    def image_embeddings(self, images: Sequence[Image.Image], batch_size: int = 32) -> np.ndarray:
        """One L2-normalised embedding per image, shape (N, D)."""
        import torch

        chunks = []
        for start in range(0, len(images), batch_size):
            pixels = self.pixel_values(images[start:start + batch_size]).to(self.device)
            with torch.inference_mode(), self._autocast():
                feats = _features(self.model.get_image_features(pixel_values=pixels)).float()
            chunks.append(torch.nn.functional.normalize(feats, dim=-1).cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, self.embedding_dim), dtype=np.float32)

    def text_embeddings(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """One L2-normalised embedding per text, shape (N, D)."""
        import torch

        chunks = []
        for start in range(0, len(texts), batch_size):
            tokens = self.processor.tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True,
                                              return_tensors="pt").to(self.device)
            with torch.inference_mode(), self._autocast():
                feats = _features(self.model.get_text_features(input_ids=tokens["input_ids"],
                                                               attention_mask=tokens["attention_mask"])).float()
            chunks.append(torch.nn.functional.normalize(feats, dim=-1).cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, self.embedding_dim), dtype=np.float32)

    @property
    def embedding_dim(self) -> int:
        return int(self.model.config.projection_dim)

    def zero_shot_classifier(self, prompts_per_class: Sequence[Sequence[str]]) -> np.ndarray:
        """(C, D) class weights: each class's prompt embeddings normalised, averaged, re-normalised."""
        flat = [text for prompts in prompts_per_class for text in prompts]
        embeddings = self.text_embeddings(flat)
        weights, start = [], 0
        for prompts in prompts_per_class:
            mean = embeddings[start:start + len(prompts)].mean(axis=0)
            weights.append(mean / np.linalg.norm(mean))
            start += len(prompts)
        return np.stack(weights).astype(np.float32)

    def classify(self, images: Sequence[Image.Image], classifier: np.ndarray) -> np.ndarray:
        """Index of the best-matching class per image (argmax of cosine similarity)."""
        if not len(images):
            return np.zeros(0, dtype=int)
        return np.argmax(self.image_embeddings(images) @ classifier.T, axis=1)
