"""Tiny random-init Qwen3-VL / Qwen2.5-VL / Qwen2-VL judges saved to a directory, for tests (no hub, ~0.2 M params).

``save_tiny_qwen_vl(dir)`` writes config, safetensors weights, a byte-level tokenizer with Qwen's
special tokens and an image processor, so ``local:<dir>`` loads it through the production
``from_pretrained`` path. With ``answer="Score: 1"`` the output head is zeroed, so greedy decoding
always picks token 0 — which is made the single token ``answer``: the judge then answers it
every time, a deterministic stand-in for a real model's verdict.
"""

from __future__ import annotations

from pathlib import Path

QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|image_pad|>", "<|video_pad|>")


def save_tiny_qwen_vl(path: Path, *, answer: str | None = None, kind: str = "qwen2_5_vl") -> Path:
    """Build, seed and save a tiny model of ``kind`` (``qwen2_5_vl``, ``qwen2_vl`` or ``qwen3_vl``) into ``path``."""
    import torch
    import transformers
    from transformers import Qwen2Tokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    byte_encoder = bytes_to_unicode()
    byte_chars = list(byte_encoder.values())
    # the answer token in byte-level form (UTF-8 bytes mapped as the tokenizer does), so any text decodes back
    tokens = (["".join(byte_encoder[b] for b in answer.encode("utf-8"))] if answer else []) + byte_chars + list(QWEN_SPECIALS)
    vocab = {token: index for index, token in enumerate(tokens)}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], unk_token=None, bos_token=None, eos_token="<|im_end|>",
                               pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIALS[1:])})
    text = {"vocab_size": len(vocab), "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1e4, "mrope_section": [4, 2, 2]},
            "bos_token_id": vocab["<|endoftext|>"], "eos_token_id": vocab["<|im_end|>"],
            "pad_token_id": vocab["<|endoftext|>"], "tie_word_embeddings": False}
    if kind == "qwen2_5_vl":
        config_cls, model_cls = transformers.Qwen2_5_VLConfig, transformers.Qwen2_5_VLForConditionalGeneration
        vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                  "window_size": 56, "fullatt_block_indexes": [1], "patch_size": 14, "spatial_merge_size": 2,
                  "temporal_patch_size": 2}
    elif kind == "qwen3_vl":  # 16-pixel patches, interleaved M-RoPE, one deepstack layer, like Qwen3-VL-8B in miniature
        config_cls, model_cls = transformers.Qwen3VLConfig, transformers.Qwen3VLForConditionalGeneration
        text = {**text, "head_dim": 16,
                "rope_parameters": {**text["rope_parameters"], "mrope_section": [4, 2, 2], "mrope_interleaved": True}}
        vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                  "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2, "num_position_embeddings": 64,
                  "deepstack_visual_indexes": [0]}
    else:
        config_cls, model_cls = transformers.Qwen2VLConfig, transformers.Qwen2VLForConditionalGeneration
        vision = {"depth": 1, "embed_dim": 32, "hidden_size": 64, "num_heads": 2, "mlp_ratio": 2, "patch_size": 14,
                  "spatial_merge_size": 2, "temporal_patch_size": 2}
    config = config_cls(
        text_config=text, vision_config=vision, tie_word_embeddings=False,
        image_token_id=vocab["<|image_pad|>"], video_token_id=vocab["<|video_pad|>"],
        vision_start_token_id=vocab["<|vision_start|>"], vision_end_token_id=vocab["<|vision_end|>"],
    )
    torch.manual_seed(0)
    model = model_cls(config).eval()
    if answer:
        with torch.no_grad():
            model.lm_head.weight.zero_()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    processor_cls = getattr(transformers, "Qwen2VLImageProcessorPil", None) or transformers.Qwen2VLImageProcessor
    if kind == "qwen3_vl":
        processor_cls(patch_size=16, min_pixels=64 * 64, max_pixels=128 * 128).save_pretrained(path)
    else:
        processor_cls(min_pixels=56 * 56, max_pixels=112 * 112).save_pretrained(path)
    return path
