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


def mmdet_mask2former_state_dict(config: Any, *, seed: int = 0) -> dict[str, Any]:
    """A random state dict with mmdet 2.x Mask2Former's exact key names, for the dimensions of ``config``.

    Written from mmdet 2.x's module definitions (``SwinTransformer`` with ``PatchEmbed``, ``SwinBlock``
    → ``ShiftWindowMSA.w_msa`` (``WindowMSA``), ``FFN``, ``PatchMerging`` and ``norm{i}`` per output;
    ``Mask2FormerHead`` with ``MSDeformAttnPixelDecoder`` (GN ``ConvModule``s, a 3-level
    ``DetrTransformerEncoder`` of ``MultiScaleDeformableAttention`` layers), a ``DetrTransformerDecoder``
    of (cross_attn, norm, self_attn, norm, ffn, norm) layers with a post norm, and the query, level,
    class and mask heads) — not from genlens's converter — with the shapes ``config`` (a transformers
    ``Mask2FormerConfig``) implies. Values are random; ``relative_position_index`` is mmdet's buffer.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    sd: dict[str, Any] = {}

    def rand(*shape: int) -> Any:
        return torch.randn(*shape, generator=gen) * 0.2

    def linear(name: str, fan_in: int, fan_out: int, bias: bool = True) -> None:
        sd[f"{name}.weight"] = rand(fan_out, fan_in)
        if bias:
            sd[f"{name}.bias"] = rand(fan_out)

    def norm(name: str, dim: int) -> None:
        sd[f"{name}.weight"] = 1 + rand(dim)
        sd[f"{name}.bias"] = rand(dim)

    def mmdet_index(window: int) -> Any:  # WindowMSA: double_step_seq(2w - 1, w, 1, w), sum with transpose, flip
        seq = (torch.arange(0, (2 * window - 1) * window, 2 * window - 1)[:, None] + torch.arange(window)[None, :]).reshape(1, -1)
        return (seq + seq.T).flip(1).contiguous()

    swin = config.backbone_config
    dims = [swin.embed_dim * 2 ** i for i in range(len(swin.depths))]
    sd["backbone.patch_embed.projection.weight"] = rand(dims[0], 3, swin.patch_size, swin.patch_size)
    sd["backbone.patch_embed.projection.bias"] = rand(dims[0])
    norm("backbone.patch_embed.norm", dims[0])
    window = swin.window_size
    for s, (depth, heads) in enumerate(zip(swin.depths, swin.num_heads, strict=True)):
        dim = dims[s]
        for b in range(depth):
            p = f"backbone.stages.{s}.blocks.{b}"
            norm(f"{p}.norm1", dim)
            sd[f"{p}.attn.w_msa.relative_position_bias_table"] = rand((2 * window - 1) ** 2, heads)
            sd[f"{p}.attn.w_msa.relative_position_index"] = mmdet_index(window)
            linear(f"{p}.attn.w_msa.qkv", dim, 3 * dim)
            linear(f"{p}.attn.w_msa.proj", dim, dim)
            norm(f"{p}.norm2", dim)
            linear(f"{p}.ffn.layers.0.0", dim, int(dim * swin.mlp_ratio))
            linear(f"{p}.ffn.layers.1", int(dim * swin.mlp_ratio), dim)
        if s < len(swin.depths) - 1:
            norm(f"backbone.stages.{s}.downsample.norm", 4 * dim)
            linear(f"backbone.stages.{s}.downsample.reduction", 4 * dim, 2 * dim, bias=False)
        norm(f"backbone.norm{s}", dim)

    feat, hidden, heads = config.feature_size, config.hidden_dim, config.num_attention_heads
    pd = "panoptic_head.pixel_decoder"
    for i, channels in enumerate(reversed(dims[1:])):  # input_convs: top (lowest resolution) level first
        sd[f"{pd}.input_convs.{i}.conv.weight"] = rand(feat, channels, 1, 1)
        sd[f"{pd}.input_convs.{i}.conv.bias"] = rand(feat)  # bias=True although a GN follows
        norm(f"{pd}.input_convs.{i}.gn", feat)
    for k in range(config.encoder_layers):
        p = f"{pd}.encoder.layers.{k}"
        linear(f"{p}.attentions.0.sampling_offsets", feat, heads * 3 * 4 * 2)
        linear(f"{p}.attentions.0.attention_weights", feat, heads * 3 * 4)
        linear(f"{p}.attentions.0.value_proj", feat, feat)
        linear(f"{p}.attentions.0.output_proj", feat, feat)
        linear(f"{p}.ffns.0.layers.0.0", feat, config.encoder_feedforward_dim)
        linear(f"{p}.ffns.0.layers.1", config.encoder_feedforward_dim, feat)
        norm(f"{p}.norms.0", feat)
        norm(f"{p}.norms.1", feat)
    sd[f"{pd}.level_encoding.weight"] = rand(3, feat)
    sd[f"{pd}.lateral_convs.0.conv.weight"] = rand(feat, dims[0], 1, 1)  # bias=False under a norm
    norm(f"{pd}.lateral_convs.0.gn", feat)
    sd[f"{pd}.output_convs.0.conv.weight"] = rand(feat, feat, 3, 3)
    norm(f"{pd}.output_convs.0.gn", feat)
    sd[f"{pd}.mask_feature.weight"] = rand(config.mask_feature_size, feat, 1, 1)
    sd[f"{pd}.mask_feature.bias"] = rand(config.mask_feature_size)

    for k in range(config.decoder_layers - 1):
        p = f"panoptic_head.transformer_decoder.layers.{k}"
        for a in (0, 1):  # 0: cross_attn, 1: self_attn (order of operation_order)
            sd[f"{p}.attentions.{a}.attn.in_proj_weight"] = rand(3 * hidden, hidden)
            sd[f"{p}.attentions.{a}.attn.in_proj_bias"] = rand(3 * hidden)
            linear(f"{p}.attentions.{a}.attn.out_proj", hidden, hidden)
        linear(f"{p}.ffns.0.layers.0.0", hidden, config.dim_feedforward)
        linear(f"{p}.ffns.0.layers.1", config.dim_feedforward, hidden)
        for n in range(3):
            norm(f"{p}.norms.{n}", hidden)
    norm("panoptic_head.transformer_decoder.post_norm", hidden)
    sd["panoptic_head.query_embed.weight"] = rand(config.num_queries, hidden)
    sd["panoptic_head.query_feat.weight"] = rand(config.num_queries, hidden)
    sd["panoptic_head.level_embed.weight"] = rand(3, hidden)
    linear("panoptic_head.cls_embed", hidden, config.num_labels + 1)
    linear("panoptic_head.mask_embed.0", hidden, hidden)
    linear("panoptic_head.mask_embed.2", hidden, hidden)
    linear("panoptic_head.mask_embed.4", hidden, config.mask_feature_size)
    return sd


def save_mmdet_checkpoint(path: Path | str, state_dict: dict[str, Any], meta: dict[str, Any] | None = None, *,
                          legacy: bool = False) -> Path:
    """Save ``{"meta": meta, "state_dict": state_dict}`` the way mmcv's save_checkpoint lays a checkpoint out.

    ``legacy`` writes torch's pre-1.6 format, as mmdet's ``publish_model.py`` does for released checkpoints.
    """
    from collections import OrderedDict

    import torch

    path = Path(path)
    torch.save({"meta": meta or {}, "state_dict": OrderedDict(state_dict)}, path, _use_new_zipfile_serialization=not legacy)
    return path
