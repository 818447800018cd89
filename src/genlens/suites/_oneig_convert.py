"""OneIG-Bench's style assets into files genlens loads: never a pickle at scoring time.

- :func:`convert_style_refs`: the official ``scripts/style/CSD_embed.pt`` and ``SE_embed.pt`` (a dict
  style -> reference embeddings, N×D) into one safetensors file with ``csd/<style>`` and ``se/<style>``
  float32 tensors (``--suite-arg style_refs=FILE``).
- :func:`convert_csd`: the CSD checkpoint (OpenAI CLIP ViT-L/14 visual tower fine-tuned, plus the
  ``last_layer_style`` projection) into a ``CLIPVisionModelWithProjection`` folder: CSD's style output
  ``normalize(ln_post(cls) @ last_layer_style)`` is exactly that model's normalised ``image_embeds``
  (``--suite-arg csd_model=DIR``).

Both read their input once with ``torch.load(weights_only=True)`` (tensors and plain containers only).
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genlens.errors import InputError


def _load(path: Path, what: str) -> Any:
    import torch

    if not path.is_file():
        raise InputError(f"{what} does not exist", path=path, fix="run `genlens data fetch oneig` (it downloads the official files)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise InputError(f"{what} cannot be read with weights_only=True ({str(exc).splitlines()[0][:160]})", path=path,
                         fix="give the official file (tensors in plain containers only)") from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise InputError(f"{what} is not a readable torch file ({type(exc).__name__})", path=path,
                         fix="download it again (`genlens data fetch oneig --force`)") from None


def convert_style_refs(csd_embed: Path, se_embed: Path, out: Path) -> dict[str, Any]:
    """Write ``csd/<style>`` and ``se/<style>`` float32 tensors to ``out`` (safetensors); returns a summary."""
    import torch
    from safetensors.torch import save_file

    tensors: dict[str, Any] = {}
    for prefix, path in (("csd", csd_embed), ("se", se_embed)):
        data = _load(path, f"{prefix.upper()} reference embeddings")
        if not isinstance(data, Mapping) or not data or not all(isinstance(v, torch.Tensor) and v.dim() == 2 for v in data.values()):
            raise InputError("not a dict of style -> 2-D embedding tensors", path=path, fix="give the official CSD_embed.pt / SE_embed.pt")
        for style, tensor in data.items():
            tensors[f"{prefix}/{style}"] = tensor.detach().to(torch.float32).contiguous()
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata={"source": "OneIG-Bench scripts/style/CSD_embed.pt + SE_embed.pt"})
    styles = sorted({k.split("/", 1)[1] for k in tensors})
    return {"styles": len(styles), "tensors": len(tensors)}


# -- CSD -> CLIPVisionModelWithProjection ---------------------------------------------------------
_LAYER = {"ln_1": "layer_norm1", "ln_2": "layer_norm2", "attn.out_proj": "self_attn.out_proj",
          "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"}


def csd_state_to_hf(state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(CLIPVisionConfig kwargs, transformers state dict) from a CSD state dict (``module.`` prefixes dropped)."""
    state = {k.removeprefix("module."): v for k, v in state.items()}
    need = ("backbone.conv1.weight", "backbone.class_embedding", "backbone.positional_embedding", "last_layer_style")
    missing = [k for k in need if k not in state]
    if missing:
        raise InputError(f"not a CSD checkpoint (no {missing[0]})", fix="give CSD's checkpoint.pth (the model the OneIG README links)")
    conv = state["backbone.conv1.weight"]
    width, patch = int(conv.shape[0]), int(conv.shape[2])
    layers = len({k.split(".")[3] for k in state if k.startswith("backbone.transformer.resblocks.")})
    grid = math.isqrt(int(state["backbone.positional_embedding"].shape[0]) - 1)
    style = state["last_layer_style"]
    config = {"hidden_size": width, "intermediate_size": int(state["backbone.transformer.resblocks.0.mlp.c_fc.weight"].shape[0]),
              "num_hidden_layers": layers, "num_attention_heads": width // 64 or 1, "image_size": grid * patch,
              "patch_size": patch, "projection_dim": int(style.shape[1]), "hidden_act": "quick_gelu"}
    out: dict[str, Any] = {
        "vision_model.embeddings.class_embedding": state["backbone.class_embedding"],
        "vision_model.embeddings.position_embedding.weight": state["backbone.positional_embedding"],
        "vision_model.embeddings.patch_embedding.weight": conv,
        "vision_model.pre_layrnorm.weight": state["backbone.ln_pre.weight"],
        "vision_model.pre_layrnorm.bias": state["backbone.ln_pre.bias"],
        "vision_model.post_layernorm.weight": state["backbone.ln_post.weight"],
        "vision_model.post_layernorm.bias": state["backbone.ln_post.bias"],
        "visual_projection.weight": style.T,
    }
    for i in range(layers):
        src, dst = f"backbone.transformer.resblocks.{i}.", f"vision_model.encoder.layers.{i}."
        q, k, v = state[src + "attn.in_proj_weight"].chunk(3, dim=0)
        qb, kb, vb = state[src + "attn.in_proj_bias"].chunk(3, dim=0)
        for name, weight, bias in (("q_proj", q, qb), ("k_proj", k, kb), ("v_proj", v, vb)):
            out[f"{dst}self_attn.{name}.weight"], out[f"{dst}self_attn.{name}.bias"] = weight, bias
        for old, new in _LAYER.items():
            out[f"{dst}{new}.weight"], out[f"{dst}{new}.bias"] = state[f"{src}{old}.weight"], state[f"{src}{old}.bias"]
    return config, out


def convert_csd(checkpoint: Path, out: Path) -> dict[str, Any]:
    """CSD's checkpoint into a CLIPVisionModelWithProjection folder (config, safetensors, image processor)."""
    import torch
    import transformers

    data = _load(checkpoint, "CSD checkpoint")
    state = data.get("model_state_dict", data) if isinstance(data, Mapping) else None
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError("CSD checkpoint holds no state dict of tensors", path=checkpoint, fix="give CSD's checkpoint.pth")
    config_kwargs, hf_state = csd_state_to_hf(state)
    model = transformers.CLIPVisionModelWithProjection(transformers.CLIPVisionConfig(**config_kwargs)).eval()
    expected = set(model.state_dict())
    unknown, absent = set(hf_state) - expected, expected - set(hf_state) - {"vision_model.embeddings.position_ids"}
    if unknown or absent:
        raise InputError(f"CSD checkpoint does not map onto CLIP ViT ({len(unknown)} unexpected, {len(absent)} missing tensors)",
                         path=checkpoint, fix="give CSD's ViT-L checkpoint.pth")
    model.load_state_dict({k: v.to(torch.float32) for k, v in hf_state.items()}, strict=False)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    processor_cls = getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor
    size = config_kwargs["image_size"]
    processor_cls(size={"shortest_edge": size}, crop_size={"height": size, "width": size}).save_pretrained(out)
    (out / "genlens_provenance.json").write_text(json.dumps(
        {"converted_from": checkpoint.name, "what": "CSD (Somepalli et al.) style model as CLIPVisionModelWithProjection; "
         "visual_projection = last_layer_style transposed", "config": config_kwargs}, indent=2) + "\n", encoding="utf-8")
    return {"tensors": len(hf_state), **config_kwargs}
