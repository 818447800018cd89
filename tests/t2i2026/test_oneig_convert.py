"""`genlens convert oneig-style-refs` / `oneig-csd`: the official style assets into safetensors, checked numerically."""

from __future__ import annotations

import numpy as np
import pytest


def test_style_refs_become_prefixed_float32_tensors(cli, tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"watercolor": torch.ones(3, 4), "line_art": torch.zeros(2, 4)}, tmp_path / "CSD_embed.pt")
    torch.save({"watercolor": torch.full((3, 6), 0.5, dtype=torch.bfloat16)}, tmp_path / "SE_embed.pt")
    out = tmp_path / "refs.safetensors"
    r = cli("convert", "oneig-style-refs", tmp_path / "CSD_embed.pt", tmp_path / "SE_embed.pt", "--out", out)
    assert r.exit_code == 0, r.output
    from safetensors.numpy import load_file

    refs = load_file(str(out))
    assert sorted(refs) == ["csd/line_art", "csd/watercolor", "se/watercolor"]
    assert refs["se/watercolor"].dtype == np.float32 and refs["se/watercolor"].shape == (3, 6) and refs["se/watercolor"][0, 0] == 0.5
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    r = cli("convert", "oneig-style-refs", tmp_path / "bad.pt", tmp_path / "SE_embed.pt", "--out", tmp_path / "x.safetensors")
    assert r.exit_code == 2 and "Traceback" not in r.output


def _openai_names(hf: dict, layers: int) -> dict:
    """A tiny HF vision tower's weights under CSD's (OpenAI CLIP visual) names, as CSD's checkpoint stores them."""
    import torch

    out = {"module.backbone.conv1.weight": hf["vision_model.embeddings.patch_embedding.weight"],
           "module.backbone.class_embedding": hf["vision_model.embeddings.class_embedding"],
           "module.backbone.positional_embedding": hf["vision_model.embeddings.position_embedding.weight"],
           "module.backbone.ln_pre.weight": hf["vision_model.pre_layrnorm.weight"], "module.backbone.ln_pre.bias": hf["vision_model.pre_layrnorm.bias"],
           "module.backbone.ln_post.weight": hf["vision_model.post_layernorm.weight"],
           "module.backbone.ln_post.bias": hf["vision_model.post_layernorm.bias"],
           "module.last_layer_style": hf["visual_projection.weight"].T.clone(),
           "module.last_layer_content": torch.zeros_like(hf["visual_projection.weight"].T)}
    for i in range(layers):
        s, d = f"module.backbone.transformer.resblocks.{i}.", f"vision_model.encoder.layers.{i}."
        out[s + "attn.in_proj_weight"] = torch.cat([hf[f"{d}self_attn.{n}_proj.weight"] for n in "qkv"])
        out[s + "attn.in_proj_bias"] = torch.cat([hf[f"{d}self_attn.{n}_proj.bias"] for n in "qkv"])
        for old, new in (("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"), ("attn.out_proj", "self_attn.out_proj"),
                         ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
            out[f"{s}{old}.weight"], out[f"{s}{old}.bias"] = hf[f"{d}{new}.weight"], hf[f"{d}{new}.bias"]
    return out


def test_csd_checkpoint_converts_to_the_same_style_embedding(cli, tmp_path):
    torch = pytest.importorskip("torch")
    import transformers

    torch.manual_seed(0)
    config = transformers.CLIPVisionConfig(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=1,
                                           image_size=28, patch_size=14, projection_dim=24, hidden_act="quick_gelu")
    reference = transformers.CLIPVisionModelWithProjection(config).eval()
    torch.save({"model_state_dict": _openai_names(reference.state_dict(), 2), "epoch": 3}, tmp_path / "checkpoint.pth")
    out = tmp_path / "csd"
    r = cli("convert", "oneig-csd", tmp_path / "checkpoint.pth", "--out", out)
    assert r.exit_code == 0, r.output
    converted = transformers.CLIPVisionModelWithProjection.from_pretrained(out, use_safetensors=True).eval()
    assert converted.config.num_attention_heads == 1 and converted.config.image_size == 28  # 64 // 64 heads, 2x2 patches
    pixels = torch.randn(2, 3, 28, 28)
    with torch.no_grad():
        np.testing.assert_allclose(converted(pixel_values=pixels).image_embeds.numpy(),
                                   reference(pixel_values=pixels).image_embeds.numpy(), rtol=1e-5, atol=1e-6)
    r = cli("convert", "oneig-csd", tmp_path / "checkpoint.pth", "--out", out)
    assert r.exit_code == 2 and "not empty" in r.output
