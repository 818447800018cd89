"""Builders that save tiny random-init models to a directory, for tests and benchmarks (no downloads).

Each builder writes what ``from_pretrained(dir)`` needs (config, safetensors weights, processor /
tokenizer files), so tests exercise the production loading path with ``HF_HUB_OFFLINE=1``.

- :func:`save_tiny_clip` — CLIPModel + CLIPProcessor with an in-memory byte-level tokenizer.
- :func:`save_tiny_mask2former` — Mask2Former (Swin backbone) with the 80 COCO labels as the
  transformers COCO checkpoints spell them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The 80 COCO thing classes as Detectron2 / the HF Mask2Former COCO checkpoints name them
#: (note "tv", "mouse", "remote", "keyboard", "hair drier": GenEval spells some differently).
COCO_DETECTRON2_LABELS: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)


def byte_level_vocab() -> dict[str, int]:
    """A 514-entry CLIP vocabulary: the 256 byte symbols, the same with ``</w>``, and the two specials."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    symbols = list(bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab.update({f"{s}</w>": i + len(symbols) for i, s in enumerate(symbols)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab


def tiny_clip_config(*, image_size: int = 32, vision: dict[str, Any] | None = None, text: dict[str, Any] | None = None) -> Any:
    """A small CLIPConfig whose bos/eos/pad ids match :func:`byte_level_vocab` (pooling uses the eos id)."""
    from transformers import CLIPConfig

    vocab_size = 514
    text_cfg = {"vocab_size": vocab_size, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                "num_attention_heads": 2, "max_position_embeddings": 77, "bos_token_id": vocab_size - 2,
                "eos_token_id": vocab_size - 1, "pad_token_id": vocab_size - 1, **(text or {})}
    vision_cfg = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                  "image_size": image_size, "patch_size": 8, **(vision or {})}
    return CLIPConfig(text_config=text_cfg, vision_config=vision_cfg, projection_dim=16)


def save_tiny_clip(directory: Path | str, *, seed: int = 0, image_size: int = 32) -> Path:
    """Save a random-init CLIPModel + CLIPProcessor (about 0.1 M parameters) to ``directory``."""
    import torch
    from transformers import CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    directory = Path(directory)
    torch.manual_seed(seed)
    model = CLIPModel(tiny_clip_config(image_size=image_size)).eval()
    tokenizer = CLIPTokenizer(vocab=byte_level_vocab(), merges=[])
    image_processor = CLIPImageProcessor(size={"shortest_edge": image_size},
                                         crop_size={"height": image_size, "width": image_size})
    model.save_pretrained(directory, safe_serialization=True)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(directory)
    return directory


def tiny_mask2former_config(labels: tuple[str, ...] = COCO_DETECTRON2_LABELS, *, num_queries: int = 8) -> Any:
    """A small Mask2FormerConfig (Swin backbone, hidden 32) with ``labels`` as id2label."""
    from transformers import Mask2FormerConfig, SwinConfig

    backbone = SwinConfig(image_size=64, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2],
                          window_size=2, out_features=["stage1", "stage2", "stage3", "stage4"])
    return Mask2FormerConfig(
        backbone_config=backbone, feature_size=32, mask_feature_size=32, hidden_dim=32, encoder_feedforward_dim=64,
        encoder_layers=1, decoder_layers=2, num_attention_heads=2, dim_feedforward=64, num_queries=num_queries,
        id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)},
    )


def save_tiny_mask2former(directory: Path | str, *, seed: int = 0, labels: tuple[str, ...] = COCO_DETECTRON2_LABELS,
                          num_queries: int = 8, always_detect: str | None = None) -> Path:
    """Save a random-init Mask2FormerForUniversalSegmentation + its image processor to ``directory``.

    ``always_detect`` (a label) rigs every query to find that class over the whole image
    (see :func:`make_always_detect`), so end-to-end tests get detections that pass the thresholds.
    """
    import torch
    from transformers import Mask2FormerForUniversalSegmentation, Mask2FormerImageProcessor

    directory = Path(directory)
    torch.manual_seed(seed)
    model = Mask2FormerForUniversalSegmentation(tiny_mask2former_config(labels, num_queries=num_queries)).eval()
    if always_detect is not None:
        make_always_detect(model, labels.index(always_detect))
    model.save_pretrained(directory, safe_serialization=True)
    Mask2FormerImageProcessor().save_pretrained(directory)
    return directory


def make_always_detect(model: Any, class_index: int) -> None:
    """Rig a Mask2Former so every query predicts ``class_index`` with a full-image mask.

    Class weights zeroed, the class's bias 10 (probability e^10 / (e^10 + 80) ≈ 0.996); pixel
    embeddings all 1 and mask embeddings all 0.2, so every mask logit is 32 × 0.2 = 6.4
    (sigmoid ≈ 0.998): each query scores ≈ 0.995 with the whole image as its box.
    """
    import torch

    with torch.no_grad():
        model.class_predictor.weight.zero_()
        model.class_predictor.bias.zero_()
        model.class_predictor.bias[class_index] = 10.0
        projection = model.model.pixel_level_module.decoder.mask_projection
        projection.weight.zero_()
        projection.bias.fill_(1.0)
        last = model.get_submodule("model.transformer_module.decoder.mask_predictor.mask_embedder.2.0")
        last.weight.zero_()
        last.bias.fill_(0.2)


def save_tiny_depth_anything(directory: Path | str, *, seed: int = 0) -> Path:
    """A random-init Depth Anything (tiny DINOv2 backbone) + its image processor, saved as safetensors.

    Loads through ``pipeline("depth-estimation", model=directory)``, the path vision-depth's specialist uses.
    """
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor

    backbone = Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=37, image_size=56,
                            patch_size=14, out_features=["stage1", "stage2", "stage3", "stage4"], out_indices=[1, 2, 3, 4],
                            reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=32, neck_hidden_sizes=[16, 16, 16, 16],
                                 fusion_hidden_size=16, head_hidden_size=8, patch_size=14)
    torch.manual_seed(seed)
    directory = Path(directory)
    DepthAnythingForDepthEstimation(config).eval().save_pretrained(directory, safe_serialization=True)
    DPTImageProcessor(size={"height": 56, "width": 56}, keep_aspect_ratio=False, ensure_multiple_of=14,
                      do_pad=False).save_pretrained(directory)
    return directory


def save_tiny_segformer(directory: Path | str, labels: tuple[str, ...] = ("wall", "floor", "box", "sphere", "cylinder", "sky"),
                        *, seed: int = 0) -> Path:
    """A random-init SegFormer (semantic segmentation) + its image processor, saved as safetensors.

    Loads through ``pipeline("image-segmentation", model=directory)``, the path vision-seg's specialist uses.
    """
    import torch
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    config = SegformerConfig(num_channels=3, num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16],
                             patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 1], mlp_ratios=[2, 2],
                             decoder_hidden_size=16, num_labels=len(labels), id2label=dict(enumerate(labels)),
                             label2id={label: i for i, label in enumerate(labels)})
    torch.manual_seed(seed)
    directory = Path(directory)
    SegformerForSemanticSegmentation(config).eval().save_pretrained(directory, safe_serialization=True)
    SegformerImageProcessor(size={"height": 64, "width": 64}).save_pretrained(directory)
    return directory
