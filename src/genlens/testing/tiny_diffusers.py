"""Tiny random-init diffusers pipelines saved to a folder, loadable as ``diffusers:<dir>``.

They exist to exercise the production loading and calling code offline in seconds; their
images are noise. Two kinds: a Stable Diffusion text-to-image pipeline and an InstructPix2Pix
edit pipeline (its UNet takes 8 input channels: noisy latents + the source image latents).

The CLIP tokenizer trap: a byte-level BPE tokenizer with no merges needs every byte symbol and
its ``</w>`` end-of-word form in the vocabulary, or every word becomes ``<|endoftext|>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEXT_DIM = 32


def _byte_symbols() -> list[str]:
    """The 256 printable symbols byte-level BPE (GPT-2 / CLIP) maps bytes to."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = keep[:]
    extra = 0
    for byte in range(256):
        if byte not in keep:
            keep.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def tiny_clip_text(folder: Path) -> tuple[Any, Any]:
    """A random CLIP text encoder (hidden 32) and a byte-level tokenizer with a 514-entry vocab."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    symbols = _byte_symbols()
    vocab = {symbol: index for index, symbol in enumerate(symbols + [s + "</w>" for s in symbols])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)
    config = CLIPTextConfig(vocab_size=len(vocab), hidden_size=TEXT_DIM, intermediate_size=64, num_hidden_layers=2,
                            num_attention_heads=2, max_position_embeddings=77, projection_dim=TEXT_DIM,
                            bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
                            pad_token_id=vocab["<|endoftext|>"])
    return CLIPTextModel(config).eval(), tokenizer


def _unet(in_channels: int) -> Any:
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=in_channels, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_DIM, norm_num_groups=4, attention_head_dim=4,
    )


def _vae() -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=[8, 16], in_channels=3, out_channels=3,
                         down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                         latent_channels=4, norm_num_groups=4, sample_size=32)


def _components(in_channels: int, seed: int) -> dict[str, Any]:
    import tempfile

    import torch
    from diffusers import DDIMScheduler

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as scratch:  # the tokenizer's source files; save_pretrained writes its own
        text_encoder, tokenizer = tiny_clip_text(Path(scratch))
    return {"unet": _unet(in_channels), "vae": _vae(), "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       clip_sample=False, set_alpha_to_one=False, steps_offset=1),
            "safety_checker": None, "feature_extractor": None}


def build_text2image(folder: Path, seed: int = 0) -> Path:
    """Save a tiny StableDiffusionPipeline to ``folder``; returns the folder."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(**_components(4, seed), requires_safety_checker=False)
    pipe.save_pretrained(folder)
    return folder


def build_instruct_pix2pix(folder: Path, seed: int = 0) -> Path:
    """Save a tiny StableDiffusionInstructPix2PixPipeline to ``folder``; returns the folder."""
    from diffusers import StableDiffusionInstructPix2PixPipeline

    pipe = StableDiffusionInstructPix2PixPipeline(**_components(8, seed), requires_safety_checker=False)
    pipe.save_pretrained(folder)
    return folder
