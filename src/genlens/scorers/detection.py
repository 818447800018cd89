"""COCO instance detection with Mask2Former through transformers, post-processed the way GenEval's mmdet stack does.

GenEval's detector is mmdet 2.x Mask2Former (Swin-S, COCO). Here the model is
``Mask2FormerForUniversalSegmentation`` (default ``facebook/mask2former-swin-small-coco-instance``)
and everything around it follows the mmdet test pipeline and instance post-processing:

- the test pipeline of mmdet 2.x's ``mask2former_*_lsj_8x2_50e_coco`` configs, step for step
  (:func:`mmdet_pixels`): mmcv ``imrescale`` (keep ratio to fit 1333×800, integer target size
  ``int(side × factor + 0.5)``, OpenCV ``INTER_LINEAR`` on the uint8 image), then ``Pad``
  (bottom/right, to a multiple of 32, value 128 on the uint8 image), then ``Normalize`` (float32,
  subtract the mean, multiply by 1/std, as mmcv's ``imnormalize`` does with OpenCV). Padding
  comes *before* normalising in that config, so padded pixels are (128 − mean) / std, not 0;
- softmax over the class logits, "no object" dropped, top-100 (query, class) pairs over
  queries × classes;
- mask logits upsampled (bilinear) to the padded input, cropped to the resized image, upsampled to
  the original resolution, binarised at logit > 0;
- score = class probability × mean sigmoid mask probability inside the binary mask; box = tight
  box of the binary mask ([x_min, y_min, x_max + 1, y_max + 1]).

The default weights are Detectron2-trained; ``genlens convert mmdet-mask2former`` turns GenEval's own
mmdet checkpoint into a directory this class loads (the like-for-like path, see docs/parity.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from genlens.errors import InputError
from genlens.scorers.clip import ResolvedWeights, pick_device, resolve_pretrained
from genlens.suites._geneval_rules import Detection

DEFAULT_DETECTOR = "facebook/mask2former-swin-small-coco-instance"
TEST_SCALE = (1333, 800)  # mmdet img_scale: long side <= 1333, short side <= 800
SIZE_DIVISOR = 32
#: mmdet config ``pad_cfg['img']``: the uint8 value the image is padded with (before ``Normalize``).
PAD_VALUE = 128
#: mmdet ``img_norm_cfg`` (RGB order, applied after mmdet's BGR -> RGB swap).
MMDET_MEAN = (123.675, 116.28, 103.53)
MMDET_STD = (58.395, 57.12, 57.375)
TOP_K = 100
#: The checkpoint GenEval scores with (mmdet 2.x, COCO instance). mmdet names published files
#: ``<name>-<first 8 hex digits of the file's sha256>.pth``, so the prefix identifies the file even
#: after GenEval's download script saves it as ``mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco.pth``.
GENEVAL_CHECKPOINT = "mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco_20220504_001756-743b7d99.pth"
KNOWN_CHECKPOINTS: dict[str, str] = {
    "743b7d99": "GenEval's detector: mmdet 2.x release of mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco (20220504_001756)",
    "c9d0c4f2": "mmdet 3.x re-release of the same 20220504_001756 run (3.x module names; GenEval's script linked it "
                "before its fix, and mmdet 2.27 cannot load it)",
}

#: COCO label spellings seen in detector configs -> GenEval's object names (after lower-casing and
#: turning "_" / "-" into spaces). Names already equal to GenEval's need no entry.
LABEL_ALIASES: dict[str, str] = {
    "mouse": "computer mouse",
    "remote": "tv remote",
    "keyboard": "computer keyboard",
    "hair dryer": "hair drier",
    "hairdryer": "hair drier",
    "tvmonitor": "tv",
    "tv monitor": "tv",
    "television": "tv",
    "motorbike": "motorcycle",
    "aeroplane": "airplane",
    "sofa": "couch",
    "pottedplant": "potted plant",
    "diningtable": "dining table",
    "cellphone": "cell phone",
    "mobile phone": "cell phone",
    "hotdog": "hot dog",
    "doughnut": "donut",
    "teddybear": "teddy bear",
    "wineglass": "wine glass",
}


def _normalise_label(label: str) -> str:
    return re.sub(r"[\s_\-]+", " ", label.strip().lower())


def geneval_class_names(id2label: Mapping[int | str, str], object_names: Sequence[str]) -> list[str]:
    """GenEval's object name for each detector class index; every GenEval name must appear exactly once.

    Raises :class:`InputError` for a checkpoint whose labels are not the 80 COCO thing classes.
    """
    wanted = set(object_names)
    labels = {int(k): v for k, v in id2label.items()}
    out: list[str] = []
    for index in range(len(labels)):
        if index not in labels:
            raise InputError(f"detector id2label has no entry for class {index}", fix="use a COCO instance-segmentation checkpoint")
        norm = _normalise_label(labels[index])
        name = norm if norm in wanted else LABEL_ALIASES.get(norm, "")
        if not name:
            raise InputError(
                f"detector label {labels[index]!r} (class {index}) is not one of GenEval's 80 COCO classes",
                fix="use a COCO instance-segmentation checkpoint (e.g. facebook/mask2former-swin-small-coco-instance)",
            )
        out.append(name)
    missing = sorted(wanted - set(out))
    duplicated = sorted({n for n in out if out.count(n) > 1})
    if missing or duplicated:
        raise InputError(
            f"detector labels do not cover GenEval's classes (missing: {', '.join(missing) or '-'}; "
            f"duplicated: {', '.join(duplicated) or '-'})",
            fix="use a COCO instance-segmentation checkpoint with the 80 thing classes",
        )
    return out


def keep_ratio_size(width: int, height: int, scale: tuple[int, int] = TEST_SCALE) -> tuple[int, int]:
    """mmdet's keep-ratio rescale: the largest factor with long side <= 1333 and short side <= 800."""
    factor = min(max(scale) / max(width, height), min(scale) / min(width, height))
    return int(width * factor + 0.5), int(height * factor + 0.5)


#: Written by ``genlens convert mmdet-mask2former`` next to the converted weights.
CONVERSION_FILE = "genlens_conversion.json"


def weights_origin(directory: Any) -> dict[str, Any]:
    """Which weights a detector directory holds: GenEval's mmdet checkpoint converted by genlens, or a transformers one."""
    import json
    from pathlib import Path

    marker = Path(directory) / CONVERSION_FILE
    if marker.is_file():
        info = json.loads(marker.read_text(encoding="utf-8"))
        prefix = str(info.get("source_sha256") or "")[:8]
        return {"kind": "mmdet-converted", "like_for_like": prefix == GENEVAL_CHECKPOINT[-12:-4],
                "checkpoint": KNOWN_CHECKPOINTS.get(prefix, "an mmdet checkpoint genlens does not know by its sha256"),
                "source_name": info.get("source_name"), "source_sha256": info.get("source_sha256"),
                "mmdet_version": info.get("mmdet_version"), "mmdet_layout": info.get("mmdet_layout")}
    return {"kind": "transformers", "like_for_like": False,
            "note": "not GenEval's mmdet checkpoint (the default hub weights are Detectron2-trained)"}


def preprocessing_identity() -> dict[str, Any]:
    """What :func:`mmdet_pixels` does, with the OpenCV build that ran it (for provenance)."""
    import cv2

    return {"pipeline": "mmdet 2.x test pipeline: Resize(keep_ratio) -> Pad(size_divisor) -> Normalize",
            "test_scale": list(TEST_SCALE), "resize": "cv2.resize INTER_LINEAR on uint8 (mmcv imrescale)",
            "size_divisor": SIZE_DIVISOR, "pad_value": PAD_VALUE, "pad_before_normalize": True,
            "mean": list(MMDET_MEAN), "std": list(MMDET_STD), "backend": f"opencv {cv2.__version__}"}


def mmdet_pixels(rgb: np.ndarray, scale: tuple[int, int] = TEST_SCALE, size_divisor: int = SIZE_DIVISOR,
                 pad_value: int = PAD_VALUE) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """One RGB uint8 image (H, W, 3) through mmdet's test pipeline: (H', W', 3) float32, padded (h, w), resized (h, w).

    Order and arithmetic as mmdet 2.x / mmcv 1.x: keep-ratio resize to the integer size of
    :func:`keep_ratio_size` with OpenCV bilinear on the uint8 image, pad bottom/right with
    ``pad_value`` to a multiple of ``size_divisor``, then float32 ``(x - mean) * (1 / std)``.
    """
    import cv2

    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    new_w, new_h = keep_ratio_size(width, height, scale)
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    pad_h = -(-new_h // size_divisor) * size_divisor
    pad_w = -(-new_w // size_divisor) * size_divisor
    padded = cv2.copyMakeBorder(resized, 0, pad_h - new_h, 0, pad_w - new_w, cv2.BORDER_CONSTANT,
                                value=(pad_value, pad_value, pad_value))
    out = padded.astype(np.float32)
    # mmcv imnormalize: cv2.subtract(img, mean) then cv2.multiply(img, 1 / std), both in float32
    mean = np.array(MMDET_MEAN, dtype=np.float64).reshape(1, -1)
    stdinv = 1 / np.array(MMDET_STD, dtype=np.float64).reshape(1, -1)
    cv2.subtract(out, mean, out)
    cv2.multiply(out, stdinv, out)
    return out, (pad_h, pad_w), (new_h, new_w)


def mask_boxes(binary: Any) -> Any:
    """Tight boxes [x1, y1, x2 + 1, y2 + 1] of (N, H, W) boolean masks (zeros for an empty mask)."""
    import torch

    cols = binary.any(dim=1)  # (N, W): columns that hold a mask pixel
    rows = binary.any(dim=2)  # (N, H)
    xs = torch.arange(cols.shape[1], device=binary.device)
    ys = torch.arange(rows.shape[1], device=binary.device)
    x1 = torch.where(cols, xs, cols.shape[1]).min(dim=1).values
    x2 = torch.where(cols, xs, -1).max(dim=1).values + 1
    y1 = torch.where(rows, ys, rows.shape[1]).min(dim=1).values
    y2 = torch.where(rows, ys, -1).max(dim=1).values + 1
    boxes = torch.stack([x1, y1, x2, y2], dim=1).float()
    return torch.where(cols.any(dim=1, keepdim=True), boxes, torch.zeros_like(boxes))


def instance_postprocess(class_logits: Any, mask_logits: Any, padded_hw: tuple[int, int], resized_hw: tuple[int, int],
                         original_hw: tuple[int, int], class_names: Sequence[str], *, top_k: int = TOP_K,
                         min_class_prob: float = 0.0, chunk: int = 16) -> list[Detection]:
    """mmdet's Mask2Former instance post-processing for one image (see the module docstring).

    ``min_class_prob`` skips the mask work for pairs whose class probability is at or below it: a
    detection score never exceeds its class probability, so with ``min_class_prob`` = 0.3 every
    detection that could pass GenEval's > 0.3 filter is still returned, with the same score.
    """
    import torch.nn.functional as F

    probs = F.softmax(class_logits.float(), dim=-1)[:, :-1]  # (Q, C): "no object" dropped
    num_classes = probs.shape[1]
    values, flat = probs.flatten().topk(min(top_k, probs.numel()), sorted=True)
    keep = values > min_class_prob
    values, flat = values[keep], flat[keep]
    queries, labels = flat // num_classes, flat % num_classes
    detections: list[Detection] = []
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk]
        logits = mask_logits[q][None].float()
        logits = F.interpolate(logits, size=padded_hw, mode="bilinear", align_corners=False)
        logits = logits[:, :, :resized_hw[0], :resized_hw[1]]
        logits = F.interpolate(logits, size=original_hw, mode="bilinear", align_corners=False)[0]
        binary = logits > 0
        mask_scores = (logits.sigmoid() * binary).flatten(1).sum(1) / (binary.flatten(1).sum(1) + 1e-6)
        scores = values[start:start + chunk] * mask_scores
        boxes, scores, binary = mask_boxes(binary).cpu(), scores.cpu(), binary.cpu()
        for j in range(len(q)):
            detections.append(Detection(
                box=tuple(float(v) for v in boxes[j].tolist()), score=float(scores[j]),
                mask=binary[j].numpy(), label=class_names[int(labels[start + j])],
            ))
    return detections


class Mask2FormerDetector:
    """A COCO instance-segmentation Mask2Former with GenEval's pre- and post-processing."""

    def __init__(self, model: Any, processor: Any, resolved: ResolvedWeights, class_names: list[str], device: str):
        self.model = model
        self.processor = processor
        self.resolved = resolved
        self.class_names = class_names
        self.device = device

    @classmethod
    def load(cls, id_or_dir: str = DEFAULT_DETECTOR, object_names: Sequence[str] = (), device: str | None = None
             ) -> Mask2FormerDetector:
        """Load through ``from_pretrained(id_or_dir)`` and map its labels onto ``object_names``."""
        from transformers import Mask2FormerForUniversalSegmentation, Mask2FormerImageProcessor

        resolved = resolve_pretrained(id_or_dir, what="detector")
        device = pick_device(device)
        try:
            model = Mask2FormerForUniversalSegmentation.from_pretrained(resolved.path, use_safetensors=True)
            processor = Mask2FormerImageProcessor.from_pretrained(resolved.path)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"cannot load a Mask2Former detector ({exc})", path=resolved.path,
                             fix="pass a Mask2Former COCO instance checkpoint (hub id or save_pretrained directory)") from None
        names = geneval_class_names(model.config.id2label, object_names) if object_names else \
            [str(model.config.id2label[i]) for i in range(len(model.config.id2label))]
        return cls(model.to(device).eval(), processor, resolved, names, device)

    def identity(self) -> dict[str, Any]:
        return {**self.resolved.identity, "preprocessing": preprocessing_identity(), "top_k": TOP_K}

    def _pixels(self, images: Sequence[Image.Image]) -> tuple[Any, tuple[int, int], tuple[int, int]]:
        """mmdet's test pipeline for same-size images (see :func:`mmdet_pixels`), stacked into a batch."""
        import torch

        arrays = [mmdet_pixels(np.asarray(im.convert("RGB"))) for im in images]
        batch = torch.from_numpy(np.stack([a[0] for a in arrays])).permute(0, 3, 1, 2).contiguous()
        _, padded, resized = arrays[0]
        return batch, padded, resized

    def detect(self, images: Sequence[Image.Image], *, min_class_prob: float = 0.0) -> list[list[Detection]]:
        """Detections per image (all classes, unfiltered), batching images that share a size."""
        import torch

        out: list[list[Detection]] = [[] for _ in images]
        groups: dict[tuple[int, int], list[int]] = {}
        for index, image in enumerate(images):
            groups.setdefault(image.size, []).append(index)
        for size, indices in groups.items():
            pixels, padded, resized = self._pixels([images[i] for i in indices])
            with torch.inference_mode():
                result = self.model(pixel_values=pixels.to(self.device))
            class_logits = result.class_queries_logits
            mask_logits = result.masks_queries_logits
            for pos, index in enumerate(indices):
                out[index] = instance_postprocess(
                    class_logits[pos], mask_logits[pos], padded, resized, (size[1], size[0]), self.class_names,
                    min_class_prob=min_class_prob,
                )
        return out
