"""`genlens convert mmdet-mask2former`: mmdet 2.x key names and shapes in, transformers' Mask2Former out.

The input state dict is built from mmdet's module definitions (testing.tiny_models.mmdet_mask2former_state_dict),
with random values; the parts that can run on both sides are computed by hand from the mmdet-named tensors the
way mmdet/mmcv compute them and compared with the transformers modules holding the converted weights.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from genlens.errors import InputError  # noqa: E402
from genlens.scorers.mmdet_mask2former import convert, relative_position_index  # noqa: E402
from genlens.suites.geneval import object_names  # noqa: E402
from genlens.testing.tiny_models import (  # noqa: E402
    COCO_DETECTRON2_LABELS,
    mmdet_mask2former_state_dict,
    save_mmdet_checkpoint,
    tiny_mask2former_config,
)

F = torch.nn.functional


def _config():
    config = tiny_mask2former_config(num_queries=6)
    config.backbone_config.depths = [2, 2, 2, 2]
    return config


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """(mmdet state dict, converted directory, transformers model loaded from it)."""
    from transformers import Mask2FormerForUniversalSegmentation

    root = tmp_path_factory.mktemp("convert")
    state = mmdet_mask2former_state_dict(_config(), seed=3)
    meta = {"mmdet_version": "2.25.0", "CLASSES": COCO_DETECTRON2_LABELS, "config": "model = dict(type='Mask2Former')",
            "epoch": 50, "iter": 368750, "hook_msgs": {"best_score": np.float64(0.43), "last_ckpt": "iter_368750.pth"}}
    ckpt = save_mmdet_checkpoint(root / "mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco_20220504_001756-743b7d99.pth",
                                 state, meta)
    out = root / "det"
    convert(ckpt, out)
    model, info = Mask2FormerForUniversalSegmentation.from_pretrained(out, use_safetensors=True, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    return state, out, model.eval()


def test_every_key_round_trips_into_the_production_loader(converted):
    from genlens.scorers.detection import Mask2FormerDetector, weights_origin

    state, out, model = converted
    detector = Mask2FormerDetector.load(str(out), object_names(), device="cpu")  # what --detector DIR does
    assert detector.class_names[64] == "computer mouse"  # mmdet's "mouse" mapped to GenEval's name
    info = json.loads((out / "genlens_conversion.json").read_text())
    index_buffers = sum(1 for k in state if k.endswith("relative_position_index"))
    assert info["mmdet_parameters"] == len(state) - index_buffers
    # every transformers tensor came from mmdet except the 3 documented derived ones
    assert info["transformers_parameters"] == len(model.state_dict())
    assert sorted(info["derived"]) == sorted(["criterion.empty_weight", "model.pixel_level_module.encoder.swin.layernorm.bias",
                                              "model.pixel_level_module.encoder.swin.layernorm.weight"])
    origin = weights_origin(out)
    assert origin["kind"] == "mmdet-converted" and origin["mmdet_version"] == "2.25.0" and origin["mmdet_layout"] == "2.x"
    # named like GenEval's file, but its sha256 is not 743b7d99…: converted, yet not like for like
    assert origin["like_for_like"] is False and "does not know" in origin["checkpoint"]
    # spot values: fused qkv rows split q | k | v; class head copied as is
    sd = model.state_dict()
    qkv = state["backbone.stages.1.blocks.1.attn.w_msa.qkv.weight"]
    prefix = "model.pixel_level_module.encoder.swin.encoder.layers.1.blocks.1.attention."
    dim = qkv.shape[1]
    assert torch.equal(sd[prefix + "q_proj.weight"], qkv[:dim]) and torch.equal(sd[prefix + "v_proj.weight"], qkv[2 * dim:])
    assert torch.equal(sd["class_predictor.weight"], state["panoptic_head.cls_embed.weight"])


def test_like_for_like_is_decided_by_the_sha256_prefix_mmdet_puts_in_file_names(tmp_path):
    from genlens.scorers.detection import weights_origin
    from genlens.suites.geneval import detector_weights

    def origin(sha: str) -> dict:
        (tmp_path / "genlens_conversion.json").write_text(json.dumps({"source_name": "x.pth", "source_sha256": sha}))
        return weights_origin(tmp_path)

    geneval = origin("743b7d99" + "0" * 56)  # GenEval's script saves it as mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco.pth
    assert geneval["like_for_like"] is True and detector_weights(geneval).startswith("GenEval's mmdet checkpoint")
    rerelease = origin("c9d0c4f2" + "0" * 56)
    assert rerelease["like_for_like"] is False and "mmdet 3.x re-release" in rerelease["checkpoint"]
    assert detector_weights(rerelease).startswith("an mmdet checkpoint, converted, not GenEval's 743b7d99 file")
    assert detector_weights(weights_origin(tmp_path / "nothing")) == "transformers Mask2Former (not GenEval's mmdet checkpoint)"


def test_suite_records_converted_weights(converted, tmp_path):
    from genlens.suites.geneval import GenEvalScorer
    from genlens.testing.tiny_models import save_tiny_clip

    _state, out, _model = converted
    identity = GenEvalScorer(str(out), str(save_tiny_clip(tmp_path / "clip"))).identity()
    assert identity["detector"]["weights"]["kind"] == "mmdet-converted"
    assert identity["detector"]["weights"]["source_name"].startswith("mask2former_swin-s-p4-w7-224")


def test_mmdet_relative_position_index_equals_swin_and_transformers(converted):
    _state, _out, model = converted
    block = model.model.pixel_level_module.encoder.swin.encoder.layers[0].blocks[0]
    theirs = block.attention.relative_position_bias.relative_position_index.long()
    assert torch.equal(relative_position_index(2), theirs.reshape(4, 4))
    # hand-worked for window 2: positions (0,0),(0,1),(1,0),(1,1); index = (dr + 1) * 3 + (dc + 1)
    assert relative_position_index(2).tolist() == [[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]]


def test_patch_merging_matches_mmdet_unfold_order(converted):
    state, _out, model = converted
    torch.manual_seed(0)
    x = torch.randn(1, 4, 6, 16)  # (B, H, W, C) stage-0 tokens
    # mmdet PatchMerging: (B, C, H, W) -> nn.Unfold(2, stride 2) -> (B, L, 4C) -> LayerNorm -> Linear (no bias)
    unfolded = F.unfold(x.permute(0, 3, 1, 2), kernel_size=2, stride=2).transpose(1, 2)
    normed = F.layer_norm(unfolded, (64,), state["backbone.stages.0.downsample.norm.weight"],
                          state["backbone.stages.0.downsample.norm.bias"])
    expected = normed @ state["backbone.stages.0.downsample.reduction.weight"].T
    downsample = model.model.pixel_level_module.encoder.swin.encoder.layers[0].downsample
    with torch.no_grad():
        got = downsample(x.reshape(1, 24, 16), (4, 6))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def _mmdet_window_block(state, prefix, x, window, heads):
    """mmdet SwinBlock without shift: x + proj(WindowMSA(norm1 x)), then + FFN(norm2 x); x is (B, H, W, C)."""
    b, h, w, c = x.shape
    p = lambda name: state[f"{prefix}.{name}"]  # noqa: E731
    y = F.layer_norm(x, (c,), p("norm1.weight"), p("norm1.bias"))
    wins = y.view(b, h // window, window, w // window, window, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c)
    n = window * window
    qkv = (wins @ p("attn.w_msa.qkv.weight").T + p("attn.w_msa.qkv.bias")).reshape(-1, n, 3, heads, c // heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    attn = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1)
    bias = p("attn.w_msa.relative_position_bias_table")[p("attn.w_msa.relative_position_index").view(-1)]
    attn = (attn + bias.view(n, n, heads).permute(2, 0, 1)[None]).softmax(-1)
    out = (attn @ v).transpose(1, 2).reshape(-1, n, c) @ p("attn.w_msa.proj.weight").T + p("attn.w_msa.proj.bias")
    out = out.view(b, h // window, w // window, window, window, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
    x = x + out
    y = F.layer_norm(x, (c,), p("norm2.weight"), p("norm2.bias"))
    y = F.gelu(y @ p("ffn.layers.0.0.weight").T + p("ffn.layers.0.0.bias")) @ p("ffn.layers.1.weight").T + p("ffn.layers.1.bias")
    return x + y


def test_swin_window_block_matches_mmdet_window_msa(converted):
    state, _out, model = converted
    torch.manual_seed(1)
    x = torch.randn(1, 4, 4, 32)  # stage 1 (C 32, 1 head), four 2x2 windows, block 0 (no shift)
    expected = _mmdet_window_block(state, "backbone.stages.1.blocks.0", x, window=2, heads=1)
    block = model.model.pixel_level_module.encoder.swin.encoder.layers[1].blocks[0]
    with torch.no_grad():
        got = block(x.reshape(1, 16, 32), (4, 4))[0]
    torch.testing.assert_close(got.reshape(1, 4, 4, 32), expected, rtol=1e-4, atol=1e-5)


def test_decoder_layer_matches_mmdet_cross_self_ffn_order(converted):
    state, _out, model = converted
    p = "panoptic_head.transformer_decoder.layers.0"
    hidden, heads = 32, 2
    torch.manual_seed(2)
    query, qpos = torch.randn(6, 1, hidden), torch.randn(6, 1, hidden)
    memory, mpos = torch.randn(20, 1, hidden), torch.randn(20, 1, hidden)

    def mha(index):  # mmcv MultiheadAttention wraps nn.MultiheadAttention as .attn
        module = torch.nn.MultiheadAttention(hidden, heads)
        module.load_state_dict({k.split(f"attentions.{index}.attn.")[1]: v for k, v in state.items()
                                if k.startswith(f"{p}.attentions.{index}.attn.")})
        return module.eval()

    def ln(x, n):
        return F.layer_norm(x, (hidden,), state[f"{p}.norms.{n}.weight"], state[f"{p}.norms.{n}.bias"])

    with torch.no_grad():
        x = ln(query + mha(0)(query + qpos, memory + mpos, memory)[0], 0)  # cross_attn, norm
        x = ln(x + mha(1)(x + qpos, x + qpos, x)[0], 1)  # self_attn, norm
        ffn = F.relu(x @ state[f"{p}.ffns.0.layers.0.0.weight"].T + state[f"{p}.ffns.0.layers.0.0.bias"])
        expected = ln(x + ffn @ state[f"{p}.ffns.0.layers.1.weight"].T + state[f"{p}.ffns.0.layers.1.bias"], 2)
        layer = model.model.transformer_module.decoder.layers[0]
        got = layer.forward_post(query, level_index=0, position_embeddings=[mpos], query_position_embeddings=qpos,
                                 encoder_hidden_states=[memory], encoder_attention_mask=None)[0]
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_heads_and_pixel_decoder_convs_match_mmdet(converted):
    state, _out, model = converted
    torch.manual_seed(3)
    decoded = torch.randn(1, 6, 32)
    with torch.no_grad():
        # cls_embed and the 3-layer mask_embed MLP (Linear, ReLU, Linear, ReLU, Linear)
        torch.testing.assert_close(model.class_predictor(decoded), F.linear(decoded, state["panoptic_head.cls_embed.weight"],
                                                                            state["panoptic_head.cls_embed.bias"]))
        h = decoded
        for i, act in ((0, True), (2, True), (4, False)):
            h = F.linear(h, state[f"panoptic_head.mask_embed.{i}.weight"], state[f"panoptic_head.mask_embed.{i}.bias"])
            h = F.relu(h) if act else h
        embedder = model.model.transformer_module.decoder.mask_predictor.mask_embedder
        torch.testing.assert_close(embedder(decoded), h)
        # input_convs.0 (lowest resolution, 128 channels): ConvModule = 1x1 conv with bias, GroupNorm(32)
        feat = torch.randn(1, 128, 3, 5)
        pd = "panoptic_head.pixel_decoder.input_convs.0"
        expected = F.group_norm(F.conv2d(feat, state[f"{pd}.conv.weight"], state[f"{pd}.conv.bias"]), 32,
                                state[f"{pd}.gn.weight"], state[f"{pd}.gn.bias"])
        got = model.model.pixel_level_module.decoder.input_projections[0](feat)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
        # the model runs end to end on the converted weights
        out = model(pixel_values=torch.randn(1, 3, 64, 96))
    assert tuple(out.class_queries_logits.shape) == (1, 6, 81)


# ---- refusals ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("edit", "message"), [
    ("drop", "transformers parameters are missing from the mmdet checkpoint (first: "),
    ("extra", "mmdet keys have no place in transformers' Mask2Former (first: panoptic_head.extra_head.weight)"),
    ("shape", "mmdet panoptic_head.mask_embed.2.weight has shape (32, 31)"),
])
def test_cli_refuses_missing_unexpected_or_misshaped_keys(cli, tmp_path, edit, message):
    state = mmdet_mask2former_state_dict(tiny_mask2former_config(num_queries=4), seed=0)
    if edit == "drop":
        del state["panoptic_head.pixel_decoder.output_convs.0.gn.bias"]
    elif edit == "extra":
        state["panoptic_head.extra_head.weight"] = torch.zeros(3)
    else:
        state["panoptic_head.mask_embed.2.weight"] = torch.zeros(32, 31)
    ckpt = save_mmdet_checkpoint(tmp_path / "bad.pth", state)
    result = cli("convert", "mmdet-mask2former", ckpt, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_cli_converts_and_refuses_pickled_objects(cli, tmp_path):
    import datetime

    state = mmdet_mask2former_state_dict(tiny_mask2former_config(num_queries=4), seed=0)
    # mmdet's publish_model.py writes the pre-1.6 (non-zip) format; weights_only reads it too
    good = save_mmdet_checkpoint(tmp_path / "good.pth", state, {"CLASSES": COCO_DETECTRON2_LABELS}, legacy=True)
    result = cli("convert", "mmdet-mask2former", good, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "model.safetensors").is_file() and "--detector" in result.output
    # a meta holding an arbitrary object is never unpickled
    bad = save_mmdet_checkpoint(tmp_path / "bad.pth", state, {"time": datetime.datetime(2022, 5, 4)})
    result = cli("convert", "mmdet-mask2former", bad, "--out", tmp_path / "out2")
    assert result.exit_code == 2 and "cannot be read with weights_only=True (it needs datetime.datetime)" in result.output
    again = cli("convert", "mmdet-mask2former", good, "--out", tmp_path / "out")
    assert again.exit_code == 2 and "output directory is not empty" in again.output


def test_mmdet_3x_layout_converts_to_the_same_weights(tmp_path):
    from safetensors.torch import load_file

    from genlens.scorers.mmdet_mask2former import normalise_layout

    config = tiny_mask2former_config(num_queries=4)
    v2 = mmdet_mask2former_state_dict(config, seed=5)
    # mmdet 3.x module names for the same tensors (DeformableDetrTransformerEncoderLayer, Mask2FormerTransformerDecoderLayer)
    renames = [(".pixel_decoder.encoder.layers.0.attentions.0.", ".pixel_decoder.encoder.layers.0.self_attn."),
               (".pixel_decoder.encoder.layers.0.ffns.0.", ".pixel_decoder.encoder.layers.0.ffn."),
               (".transformer_decoder.layers.0.attentions.0.", ".transformer_decoder.layers.0.cross_attn."),
               (".transformer_decoder.layers.0.attentions.1.", ".transformer_decoder.layers.0.self_attn."),
               (".transformer_decoder.layers.0.ffns.0.", ".transformer_decoder.layers.0.ffn.")]
    v3 = {}
    for key, value in v2.items():
        for old, new in renames:
            key = key.replace(old, new)
        v3[key] = value
    assert "panoptic_head.transformer_decoder.layers.0.cross_attn.attn.in_proj_weight" in v3
    assert normalise_layout(v3)[0].keys() == v2.keys() and normalise_layout(v2)[1] == "2.x"
    convert(save_mmdet_checkpoint(tmp_path / "v2.pth", v2), tmp_path / "a")
    info = convert(save_mmdet_checkpoint(tmp_path / "v3.pth", v3), tmp_path / "b")
    assert info["mmdet_layout"] == "3.x"
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # a checkpoint mixing both namings is refused
    mixed = dict(v3, **{"panoptic_head.transformer_decoder.layers.0.attentions.0.attn.in_proj_bias": torch.zeros(96)})
    with pytest.raises(InputError, match=r"2\.x and 3\.x"):
        normalise_layout(mixed)
