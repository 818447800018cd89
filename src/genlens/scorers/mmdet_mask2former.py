"""Convert GenEval's mmdet 2.x Mask2Former checkpoint into a transformers ``Mask2FormerForUniversalSegmentation``.

GenEval scores with mmdet's ``mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco`` weights (Swin-S backbone,
MSDeformAttn pixel decoder, 9-layer masked-attention decoder, 80 COCO classes). This module reads such
a checkpoint without unpickling code (``torch.load(weights_only=True)``), renames every parameter to
the transformers layout, and refuses the whole conversion when any key is missing, unexpected or of
the wrong shape. The mapping follows mmdet 2.x / mmcv 1.x module definitions:

=====================================================  ==========================================================
mmdet 2.x (``state_dict``)                              transformers (``Mask2FormerForUniversalSegmentation``)
=====================================================  ==========================================================
``backbone.patch_embed.{projection,norm}``              ``…encoder.swin.embeddings.{patch_embeddings.projection,norm}``
``backbone.stages.S.blocks.B.norm1 / norm2``            ``…layers.S.blocks.B.layernorm_before / layernorm_after``
``…attn.w_msa.qkv`` (fused, rows q | k | v)             ``…attention.q_proj / k_proj / v_proj``
``…attn.w_msa.proj`` / ``relative_position_bias_table``  ``…attention.o_proj`` / ``…relative_position_bias.…table``
``…ffn.layers.0.0`` / ``…ffn.layers.1``                 ``…mlp.fc1`` / ``…mlp.fc2``
``backbone.stages.S.downsample.{norm,reduction}``       ``…layers.S.downsample.{norm,reduction}`` (channels reordered)
``backbone.normS``                                      ``…encoder.hidden_states_norms.stage{S+1}``
``panoptic_head.pixel_decoder.input_convs.L.{conv,gn}``  ``…decoder.input_projections.L.{0,1}``
``…pixel_decoder.encoder.layers.K.attentions.0.*``      ``…decoder.encoder.layers.K.self_attn.*``
``…pixel_decoder.encoder.layers.K.norms.{0,1}``         ``…self_attn_layer_norm / final_layer_norm``
``…pixel_decoder.encoder.layers.K.ffns.0.layers.*``     ``…fc1 / fc2``
``…pixel_decoder.{level_encoding,lateral_convs.0,``      ``…decoder.{level_embed,adapter_1,layer_1,mask_projection}``
``output_convs.0,mask_feature}``
``panoptic_head.{query_embed,query_feat,level_embed}``  ``model.transformer_module.{queries_embedder,queries_features,level_embed}``
``…transformer_decoder.layers.K.attentions.0`` (cross)  ``…decoder.layers.K.cross_attn`` (same ``in_proj`` layout)
``…transformer_decoder.layers.K.attentions.1`` (self)   ``…decoder.layers.K.self_attn.{q,k,v,out}_proj`` (in_proj split)
``…transformer_decoder.layers.K.norms.{0,1,2}``         ``…cross_attn_layer_norm / self_attn_layer_norm / final_layer_norm``
``…transformer_decoder.post_norm``                      ``…decoder.layernorm``
``panoptic_head.mask_embed.{0,2,4}`` / ``cls_embed``    ``…mask_predictor.mask_embedder.{0,1,2}.0`` / ``class_predictor``
=====================================================  ==========================================================

mmdet's ``PatchMerging`` gathers each 2×2 neighbourhood with ``nn.Unfold`` (channel-major: index
``c·4 + k`` with k = 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) where Swin/transformers
concatenate the four positions (index ``k'·C + c`` with k' = top-left, bottom-left, top-right,
bottom-right); the ``downsample`` norm and reduction are permuted accordingly. mmdet 3.x's layout
(``layers.K.self_attn`` / ``cross_attn`` / ``ffn`` for ``attentions.N`` / ``ffns.0``; the v3.0
re-release of the same checkpoint) is read as the 2.x names it stands for. mmdet's
``relative_position_index`` buffers are checked against transformers' and dropped. Two transformers
entries have no mmdet counterpart and are filled deterministically: ``swin.layernorm`` (identity; the
backbone never applies it) and ``criterion.empty_weight`` (derived from the config, training only).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genlens.errors import InputError

SWIN = "model.pixel_level_module.encoder.swin."
BACKBONE = "model.pixel_level_module.encoder."
PIXEL = "model.pixel_level_module.decoder."
TRANSFORMER = "model.transformer_module."
#: transformers entries with no mmdet counterpart: filled from the freshly built model (see module docstring).
DERIVED = (SWIN + "layernorm.weight", SWIN + "layernorm.bias", "criterion.empty_weight")
#: Levels and sampling points of the pixel decoder's deformable attention (fixed in transformers, 3 and 4 in mmdet's config).
LEVELS, POINTS = 3, 4
#: Unfold order -> concatenation order of the 4 positions of a 2x2 patch (its own inverse).
UNFOLD_TO_CONCAT = (0, 2, 1, 3)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def meta_allow_list() -> list[Any]:
    """The only globals the loader allows beyond tensors and containers: numpy scalars in ``meta`` (e.g. a best score)."""
    import numpy as np

    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]
    return [scalar, np.dtype, type(np.dtype(np.float64)), type(np.dtype(np.float32)), type(np.dtype(np.int64))]


def load_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(state_dict, meta)`` of an mmdet checkpoint, read with ``torch.load(weights_only=True)``.

    Accepts mmcv's ``{"meta": …, "state_dict": …}`` layout or a bare state dict. Anything the
    restricted unpickler refuses (a class, a function) becomes a one-line :class:`InputError`.
    """
    import torch

    if not path.is_file():
        raise InputError("checkpoint file does not exist", path=path, fix="give the .pth file GenEval downloads")
    try:
        with torch.serialization.safe_globals(meta_allow_list()):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        what = f"it needs {found.group(1)}" if found else str(exc).splitlines()[0]
        raise InputError(f"checkpoint cannot be read with weights_only=True ({what})", path=path,
                         fix="use mmdet's published checkpoint (tensors plus a plain meta dict)") from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise InputError(f"not a readable torch checkpoint ({type(exc).__name__})", path=path,
                         fix="give the .pth file GenEval downloads") from None
    if not isinstance(data, Mapping):
        raise InputError("checkpoint is not a dict", path=path, fix="give an mmdet checkpoint")
    state = data.get("state_dict", data)
    meta = data.get("meta") if isinstance(data.get("meta"), Mapping) else {}
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError("checkpoint has no state_dict of tensors", path=path, fix="give an mmdet checkpoint")
    return dict(state), dict(meta or {})


# ----------------------------------------------------------------------------------------------
# architecture from shapes
# ----------------------------------------------------------------------------------------------
def _count(state: Mapping[str, Any], pattern: str) -> int:
    found = {int(m.group(1)) for k in state if (m := re.fullmatch(pattern, k))}
    if found != set(range(len(found))):
        raise InputError(f"mmdet checkpoint has gaps in {pattern!r} (indices {sorted(found)})",
                         fix="give a complete mmdet Mask2Former checkpoint")
    return len(found)


def _need(state: Mapping[str, Any], key: str) -> Any:
    if key not in state:
        raise InputError(f"mmdet checkpoint is missing {key}", fix="give an mmdet 2.x Mask2Former (Swin) checkpoint")
    return state[key]


def infer_config(state: Mapping[str, Any], labels: list[str]) -> Any:
    """The transformers ``Mask2FormerConfig`` whose shapes match the mmdet state dict."""
    from transformers import Mask2FormerConfig, SwinConfig

    if "backbone.absolute_pos_embed" in state:
        raise InputError("mmdet Swin with an absolute position embedding is not supported",
                         fix="convert GenEval's Swin-S checkpoint (use_abs_pos_embed=False)")
    projection = _need(state, "backbone.patch_embed.projection.weight")
    embed_dim, patch = int(projection.shape[0]), int(projection.shape[-1])
    stages = _count(state, r"backbone\.stages\.(\d+)\.blocks\.0\.norm1\.weight")
    depths = [_count(state, rf"backbone\.stages\.{s}\.blocks\.(\d+)\.norm1\.weight") for s in range(stages)]
    tables = [_need(state, f"backbone.stages.{s}.blocks.0.attn.w_msa.relative_position_bias_table") for s in range(stages)]
    heads = [int(t.shape[1]) for t in tables]
    window = round((int(tables[0].shape[0]) ** 0.5 + 1) / 2)
    mlp_ratio = int(_need(state, "backbone.stages.0.blocks.0.ffn.layers.0.0.weight").shape[0]) / embed_dim
    offsets = _need(state, "panoptic_head.pixel_decoder.encoder.layers.0.attentions.0.sampling_offsets.weight")
    feature_size = int(offsets.shape[1])
    if int(offsets.shape[0]) % (LEVELS * POINTS * 2):
        raise InputError("mmdet pixel decoder is not 3-level, 4-point deformable attention",
                         fix="convert GenEval's Mask2Former checkpoint")
    num_heads = int(offsets.shape[0]) // (LEVELS * POINTS * 2)
    cls = _need(state, "panoptic_head.cls_embed.weight")
    if int(cls.shape[0]) - 1 != len(labels):
        raise InputError(f"mmdet class head has {int(cls.shape[0]) - 1} classes but {len(labels)} names",
                         fix="convert a COCO instance (80-class) checkpoint")
    backbone = SwinConfig(
        image_size=224, patch_size=patch, num_channels=3, embed_dim=embed_dim, depths=depths, num_heads=heads,
        window_size=window, mlp_ratio=mlp_ratio, qkv_bias="backbone.stages.0.blocks.0.attn.w_msa.qkv.bias" in state,
        drop_path_rate=0.0, out_features=[f"stage{s + 1}" for s in range(stages)],
    )
    return Mask2FormerConfig(
        backbone_config=backbone,
        feature_size=feature_size,
        mask_feature_size=int(_need(state, "panoptic_head.pixel_decoder.mask_feature.weight").shape[0]),
        hidden_dim=int(_need(state, "panoptic_head.query_feat.weight").shape[1]),
        encoder_feedforward_dim=int(_need(
            state, "panoptic_head.pixel_decoder.encoder.layers.0.ffns.0.layers.0.0.weight").shape[0]),
        encoder_layers=_count(state, r"panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.norms\.0\.weight"),
        decoder_layers=_count(state, r"panoptic_head\.transformer_decoder\.layers\.(\d+)\.norms\.0\.weight") + 1,
        num_attention_heads=num_heads,
        dim_feedforward=int(_need(
            state, "panoptic_head.transformer_decoder.layers.0.ffns.0.layers.0.0.weight").shape[0]),
        num_queries=int(_need(state, "panoptic_head.query_feat.weight").shape[0]),
        id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)},
    )


# ----------------------------------------------------------------------------------------------
# renaming
# ----------------------------------------------------------------------------------------------
def _unfold_to_concat_rows(weight: Any) -> Any:
    """A (4C,) norm parameter from mmdet's unfold order to Swin's concatenation order."""
    channels = weight.shape[0] // 4
    return weight.reshape(channels, 4).t()[list(UNFOLD_TO_CONCAT)].reshape(-1)


def _unfold_to_concat_cols(weight: Any) -> Any:
    """A (out, 4C) reduction weight from mmdet's unfold order to Swin's concatenation order."""
    out, channels = weight.shape[0], weight.shape[1] // 4
    return weight.reshape(out, channels, 4).transpose(1, 2)[:, list(UNFOLD_TO_CONCAT)].reshape(out, -1)


_LINEAR = ("weight", "bias")
_RULES: list[tuple[str, str]] = [
    # backbone
    (r"backbone\.patch_embed\.projection\.(weight|bias)", SWIN + r"embeddings.patch_embeddings.projection.\1"),
    (r"backbone\.patch_embed\.norm\.(weight|bias)", SWIN + r"embeddings.norm.\1"),
    (r"backbone\.stages\.(\d+)\.blocks\.(\d+)\.norm1\.(weight|bias)", SWIN + r"encoder.layers.\1.blocks.\2.layernorm_before.\3"),
    (r"backbone\.stages\.(\d+)\.blocks\.(\d+)\.norm2\.(weight|bias)", SWIN + r"encoder.layers.\1.blocks.\2.layernorm_after.\3"),
    (r"backbone\.stages\.(\d+)\.blocks\.(\d+)\.attn\.w_msa\.proj\.(weight|bias)",
     SWIN + r"encoder.layers.\1.blocks.\2.attention.o_proj.\3"),
    (r"backbone\.stages\.(\d+)\.blocks\.(\d+)\.attn\.w_msa\.relative_position_bias_table",
     SWIN + r"encoder.layers.\1.blocks.\2.attention.relative_position_bias.relative_position_bias_table"),
    (r"backbone\.stages\.(\d+)\.blocks\.(\d+)\.ffn\.layers\.0\.0\.(weight|bias)", SWIN + r"encoder.layers.\1.blocks.\2.mlp.fc1.\3"),
    (r"backbone\.stages\.(\d+)\.blocks\.(\d+)\.ffn\.layers\.1\.(weight|bias)", SWIN + r"encoder.layers.\1.blocks.\2.mlp.fc2.\3"),
    # pixel decoder
    (r"panoptic_head\.pixel_decoder\.input_convs\.(\d+)\.conv\.(weight|bias)", PIXEL + r"input_projections.\1.0.\2"),
    (r"panoptic_head\.pixel_decoder\.input_convs\.(\d+)\.gn\.(weight|bias)", PIXEL + r"input_projections.\1.1.\2"),
    (r"panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.attentions\.0\."
     r"(sampling_offsets|attention_weights|value_proj|output_proj)\.(weight|bias)", PIXEL + r"encoder.layers.\1.self_attn.\2.\3"),
    (r"panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.norms\.0\.(weight|bias)", PIXEL + r"encoder.layers.\1.self_attn_layer_norm.\2"),
    (r"panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.norms\.1\.(weight|bias)", PIXEL + r"encoder.layers.\1.final_layer_norm.\2"),
    (r"panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.ffns\.0\.layers\.0\.0\.(weight|bias)", PIXEL + r"encoder.layers.\1.fc1.\2"),
    (r"panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.ffns\.0\.layers\.1\.(weight|bias)", PIXEL + r"encoder.layers.\1.fc2.\2"),
    (r"panoptic_head\.pixel_decoder\.level_encoding\.weight", PIXEL + "level_embed"),
    (r"panoptic_head\.pixel_decoder\.lateral_convs\.0\.conv\.weight", PIXEL + "adapter_1.0.weight"),
    (r"panoptic_head\.pixel_decoder\.lateral_convs\.0\.gn\.(weight|bias)", PIXEL + r"adapter_1.1.\1"),
    (r"panoptic_head\.pixel_decoder\.output_convs\.0\.conv\.weight", PIXEL + "layer_1.0.weight"),
    (r"panoptic_head\.pixel_decoder\.output_convs\.0\.gn\.(weight|bias)", PIXEL + r"layer_1.1.\1"),
    (r"panoptic_head\.pixel_decoder\.mask_feature\.(weight|bias)", PIXEL + r"mask_projection.\1"),
    # transformer decoder and heads
    (r"panoptic_head\.query_embed\.weight", TRANSFORMER + "queries_embedder.weight"),
    (r"panoptic_head\.query_feat\.weight", TRANSFORMER + "queries_features.weight"),
    (r"panoptic_head\.level_embed\.weight", TRANSFORMER + "level_embed.weight"),
    (r"panoptic_head\.transformer_decoder\.layers\.(\d+)\.attentions\.0\.attn\.(in_proj_weight|in_proj_bias)",
     TRANSFORMER + r"decoder.layers.\1.cross_attn.\2"),
    (r"panoptic_head\.transformer_decoder\.layers\.(\d+)\.attentions\.0\.attn\.out_proj\.(weight|bias)",
     TRANSFORMER + r"decoder.layers.\1.cross_attn.out_proj.\2"),
    (r"panoptic_head\.transformer_decoder\.layers\.(\d+)\.attentions\.1\.attn\.out_proj\.(weight|bias)",
     TRANSFORMER + r"decoder.layers.\1.self_attn.out_proj.\2"),
    (r"panoptic_head\.transformer_decoder\.layers\.(\d+)\.norms\.0\.(weight|bias)", TRANSFORMER + r"decoder.layers.\1.cross_attn_layer_norm.\2"),
    (r"panoptic_head\.transformer_decoder\.layers\.(\d+)\.norms\.1\.(weight|bias)", TRANSFORMER + r"decoder.layers.\1.self_attn_layer_norm.\2"),
    (r"panoptic_head\.transformer_decoder\.layers\.(\d+)\.norms\.2\.(weight|bias)", TRANSFORMER + r"decoder.layers.\1.final_layer_norm.\2"),
    (r"panoptic_head\.transformer_decoder\.layers\.(\d+)\.ffns\.0\.layers\.0\.0\.(weight|bias)", TRANSFORMER + r"decoder.layers.\1.fc1.\2"),
    (r"panoptic_head\.transformer_decoder\.layers\.(\d+)\.ffns\.0\.layers\.1\.(weight|bias)", TRANSFORMER + r"decoder.layers.\1.fc2.\2"),
    (r"panoptic_head\.transformer_decoder\.post_norm\.(weight|bias)", TRANSFORMER + r"decoder.layernorm.\1"),
    (r"panoptic_head\.mask_embed\.0\.(weight|bias)", TRANSFORMER + r"decoder.mask_predictor.mask_embedder.0.0.\1"),
    (r"panoptic_head\.mask_embed\.2\.(weight|bias)", TRANSFORMER + r"decoder.mask_predictor.mask_embedder.1.0.\1"),
    (r"panoptic_head\.mask_embed\.4\.(weight|bias)", TRANSFORMER + r"decoder.mask_predictor.mask_embedder.2.0.\1"),
    (r"panoptic_head\.cls_embed\.(weight|bias)", r"class_predictor.\1"),
]
_COMPILED = [(re.compile(pattern), target) for pattern, target in _RULES]
_QKV = re.compile(r"backbone\.stages\.(\d+)\.blocks\.(\d+)\.attn\.w_msa\.qkv\.(weight|bias)")
_SELF_IN_PROJ = re.compile(r"panoptic_head\.transformer_decoder\.layers\.(\d+)\.attentions\.1\.attn\.in_proj_(weight|bias)")
_DOWNSAMPLE = re.compile(r"backbone\.stages\.(\d+)\.downsample\.(norm\.weight|norm\.bias|reduction\.weight)")
_OUT_NORM = re.compile(r"backbone\.norm(\d+)\.(weight|bias)")
_INDEX = re.compile(r"backbone\.stages\.(\d+)\.blocks\.(\d+)\.attn\.w_msa\.relative_position_index")


#: mmdet 3.x names the same modules differently (``self_attn``/``cross_attn``/``ffn`` instead of
#: ``attentions.N``/``ffns.0``); its re-release of GenEval's checkpoint (v3.0 folder, same 20220504_001756
#: training run) uses them. They are read as the 2.x names they stand for.
_V3_TO_V2 = [
    (re.compile(r"(panoptic_head\.pixel_decoder\.encoder\.layers\.\d+)\.self_attn\."), r"\1.attentions.0."),
    (re.compile(r"(panoptic_head\.pixel_decoder\.encoder\.layers\.\d+)\.ffn\."), r"\1.ffns.0."),
    (re.compile(r"(panoptic_head\.transformer_decoder\.layers\.\d+)\.cross_attn\."), r"\1.attentions.0."),
    (re.compile(r"(panoptic_head\.transformer_decoder\.layers\.\d+)\.self_attn\."), r"\1.attentions.1."),
    (re.compile(r"(panoptic_head\.transformer_decoder\.layers\.\d+)\.ffn\."), r"\1.ffns.0."),
]


def normalise_layout(state: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The state dict under mmdet 2.x names, and which layout it came in (``"2.x"`` or ``"3.x"``).

    A checkpoint that mixes both layouts is refused (one line).
    """
    out: dict[str, Any] = {}
    renamed = 0
    for key, value in state.items():
        new = key
        for pattern, target in _V3_TO_V2:
            new = pattern.sub(target, new)
        renamed += new != key
        if new in out:
            raise InputError(f"mmdet checkpoint holds {new} twice (2.x and 3.x names mixed)",
                             fix="convert an unmodified mmdet checkpoint")
        out[new] = value
    if renamed and any(p.search(k) for k in state for p in (re.compile(r"\.attentions\.\d+\."), re.compile(r"\.ffns\.0\."))):
        raise InputError("mmdet checkpoint mixes 2.x and 3.x module names", fix="convert an unmodified mmdet checkpoint")
    return out, "3.x" if renamed else "2.x"


def rename(state: Mapping[str, Any], reference: Mapping[str, Any]) -> dict[str, Any]:
    """mmdet tensors under transformers names; ``reference`` is the target model's state dict (shapes, buffers).

    Raises :class:`InputError` (one line) for an mmdet key no rule knows, a transformers key nothing
    fills, a shape that does not match, or a relative-position index that differs from transformers'.
    """
    import torch

    out: dict[str, Any] = {}
    unexpected: list[str] = []

    def put(target: str, value: Any, source: str) -> None:
        if target not in reference:
            unexpected.append(source)
            return
        if tuple(value.shape) != tuple(reference[target].shape):
            raise InputError(f"mmdet {source} has shape {tuple(value.shape)}, transformers {target} needs "
                             f"{tuple(reference[target].shape)}", fix="convert GenEval's Mask2Former Swin-S checkpoint")
        out[target] = value.detach().to(reference[target].dtype).contiguous()

    for key, value in state.items():
        if match := _QKV.fullmatch(key):
            stage, block, kind = match.groups()
            prefix = f"{SWIN}encoder.layers.{stage}.blocks.{block}.attention."
            for part, chunk in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0), strict=True):
                put(f"{prefix}{part}.{kind}", chunk, key)
        elif match := _SELF_IN_PROJ.fullmatch(key):
            layer, kind = match.groups()
            prefix = f"{TRANSFORMER}decoder.layers.{layer}.self_attn."
            for part, chunk in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0), strict=True):
                put(f"{prefix}{part}.{kind}", chunk, key)
        elif match := _DOWNSAMPLE.fullmatch(key):
            stage, what = match.groups()
            fixed = _unfold_to_concat_cols(value) if what == "reduction.weight" else _unfold_to_concat_rows(value)
            put(f"{SWIN}encoder.layers.{stage}.downsample.{what}", fixed, key)
        elif match := _OUT_NORM.fullmatch(key):
            put(f"{BACKBONE}hidden_states_norms.stage{int(match.group(1)) + 1}.{match.group(2)}", value, key)
        elif match := _INDEX.fullmatch(key):
            side = round(value.shape[0] ** 0.5) if value.ndim == 2 else 0
            if side * side != value.shape[0] or not torch.equal(value.to(torch.long), relative_position_index(side)):
                raise InputError(f"mmdet {key} differs from transformers' relative position index",
                                 fix="convert a checkpoint whose Swin windows match its relative-position tables")
        else:
            for pattern, target in _COMPILED:
                if pattern.fullmatch(key):
                    put(pattern.sub(target, key), value, key)
                    break
            else:
                unexpected.append(key)
    if unexpected:
        raise InputError(f"{len(unexpected)} mmdet keys have no place in transformers' Mask2Former "
                         f"(first: {sorted(unexpected)[0]})", fix="convert GenEval's mmdet 2.x Mask2Former Swin-S checkpoint")
    missing = sorted(k for k in reference if k not in out and k not in DERIVED)
    if missing:
        raise InputError(f"{len(missing)} transformers parameters are missing from the mmdet checkpoint "
                         f"(first: {missing[0]})", fix="convert a complete mmdet 2.x Mask2Former Swin checkpoint")
    for key in DERIVED:
        if key in reference:
            out[key] = reference[key].clone()
    return out


def relative_position_index(window: int) -> Any:
    """Swin's (w², w²) index into the ((2w − 1)², heads) bias table: (Δrow + w − 1)·(2w − 1) + (Δcol + w − 1)."""
    import torch

    rows, cols = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    d_row = rows[:, None] - rows[None, :] + window - 1
    d_col = cols[:, None] - cols[None, :] + window - 1
    return d_row * (2 * window - 1) + d_col


def convert(checkpoint: Path, out: Path, *, labels: list[str] | None = None) -> dict[str, Any]:
    """Convert ``checkpoint`` into ``out`` (safetensors + config + image processor + genlens_conversion.json)."""
    import torch
    from transformers import Mask2FormerForUniversalSegmentation, Mask2FormerImageProcessor

    from genlens.imageio import atomic_write_text
    from genlens.scorers.detection import CONVERSION_FILE
    from genlens.suites.geneval import object_names

    state, meta = load_checkpoint(checkpoint)
    state, layout = normalise_layout(state)
    classes = meta.get("CLASSES")
    names = list(labels) if labels else ([str(c) for c in classes] if classes else list(object_names()))
    config = infer_config(state, names)
    torch.manual_seed(0)
    model = Mask2FormerForUniversalSegmentation(config).eval()
    reference = model.state_dict()
    converted = rename(state, reference)
    result = model.load_state_dict(converted, strict=True)
    if result.missing_keys or result.unexpected_keys:  # strict=True raises first; kept as a guard
        raise InputError("converted weights do not load into transformers' Mask2Former", fix="report this checkpoint")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    Mask2FormerImageProcessor().save_pretrained(out)
    mmdet_keys = len([k for k in state if not _INDEX.fullmatch(k)])
    info = {
        "source_name": checkpoint.name, "source_sha256": _sha256(checkpoint),
        "mmdet_version": str(meta.get("mmdet_version", "")) or None, "mmdet_layout": layout,
        "mmdet_parameters": mmdet_keys, "transformers_parameters": len(converted),
        "derived": [k for k in DERIVED if k in converted], "labels": names,
        "converter": "genlens convert mmdet-mask2former",
    }
    atomic_write_text(out / CONVERSION_FILE, json.dumps(info, indent=2) + "\n")
    return info
