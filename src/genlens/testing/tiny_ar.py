"""Random-init autoregressive image generators saved as complete checkpoints, loadable as ``transformers:<dir>``.

Each builder writes ``config.json``, ``generation_config.json``, safetensors weights, the tokenizer
and the processor, so :class:`genlens.backends.transformers_ar.TransformersARBackend` loads them
through its production ``from_pretrained`` path with ``HF_HUB_OFFLINE=1``. Their images are noise.

Sizes: ``preset`` picks a named size (``tiny`` for tests, ``mid`` for CPU benches, ``janus-pro-1b``
/ ``emu3-small`` for GPU benches); any field of the preset can be overridden by keyword
(``save_tiny_janus(d, preset="mid", layers=8)``).

The tokenizer is byte-level BPE with no merges (every byte its own token) plus the model's special
tokens, built in memory with ``tokenizers`` (transformers 5 tokenizers take no vocabulary files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Janus sizes. grid: image tokens per side; vq_levels: VQ channel multipliers (upsampling 2^(len-1)).
JANUS_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64, "grid": 4, "codebook": 64,
             "vq_channels": 32, "vq_levels": (1, 1, 1, 1)},  # 16 tokens, 32x32 px, ~0.8 M params
    "mid": {"hidden": 256, "layers": 6, "heads": 4, "intermediate": 688, "grid": 8, "codebook": 1024,
            "vq_channels": 32, "vq_levels": (1, 1, 1, 1)},  # 64 tokens, 64x64 px, ~6 M params
    "janus-pro-1b": {"hidden": 2048, "layers": 24, "heads": 16, "intermediate": 5632, "grid": 24, "codebook": 16384,
                     "vq_channels": 128, "vq_levels": (1, 1, 2, 2, 4)},  # Janus-Pro-1B's shapes: 576 tokens, 384 px
}

#: Emu3 sizes (the VQ always upsamples 8x: the processor assumes an 8 px token).
EMU3_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64, "codebook": 32, "vq_channels": 32,
             "image_area": 32 * 32},  # 4x4 tokens + 4 end-of-line, 32x32 px
    "mid": {"hidden": 256, "layers": 6, "heads": 4, "intermediate": 688, "codebook": 1024, "vq_channels": 32,
            "image_area": 64 * 64},
    "emu3-small": {"hidden": 1024, "layers": 12, "heads": 16, "intermediate": 2816, "codebook": 32768,
                   "vq_channels": 128, "image_area": 256 * 256},
}

CHAT_TEMPLATE = ("{% for message in messages %}<|User|>: {% for part in message['content'] %}{{ part['text'] }}"
                 "{% endfor %}\n\n{% endfor %}{% if add_generation_prompt %}<|Assistant|>:{% endif %}")


def _byte_symbols() -> list[str]:
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    return list(bytes_to_unicode().values())


def _byte_tokenizer(specials: list[str], *, bos: str, eos: str, pad: str, extra: dict[str, str],
                    added: list[str] | None = None) -> Any:
    """A byte-level tokenizer (no merges) with ``specials`` first (ids 0…), then the 256 bytes, then ``added``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    added = added or []
    vocab = {token: index for index, token in enumerate(specials + _byte_symbols() + added)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(specials + added)
    if bos in vocab and bos != pad:
        backend.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, vocab[bos])])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=bos, eos_token=eos, pad_token=pad,
                                        extra_special_tokens=extra, padding_side="left")
    return tokenizer, vocab


def _sized(presets: dict[str, dict[str, Any]], preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    if preset not in presets:
        raise ValueError(f"unknown preset {preset!r}: use one of {', '.join(presets)}")
    unknown = set(overrides) - set(presets[preset])
    if unknown:
        raise ValueError(f"unknown size field(s) {', '.join(sorted(unknown))}: use {', '.join(presets[preset])}")
    return {**presets[preset], **overrides}


def save_tiny_janus(directory: Path | str, *, seed: int = 0, preset: str = "tiny", **sizes: Any) -> Path:
    """Save a random-init JanusForConditionalGeneration + JanusProcessor (tokenizer, chat template) to ``directory``."""
    import torch
    from transformers import GenerationConfig, JanusConfig, JanusForConditionalGeneration, JanusImageProcessor, JanusProcessor

    size = _sized(JANUS_PRESETS, preset, sizes)
    directory = Path(directory)
    specials = ["<|begin▁of▁sentence|>", "<|end▁of▁sentence|>", "<｜▁pad▁｜>", "<image_placeholder>",
                "<begin_of_image>", "<end_of_image>"]
    tokenizer, vocab = _byte_tokenizer(
        specials, bos=specials[0], eos=specials[1], pad=specials[2],
        extra={"image_token": specials[3], "boi_token": specials[4], "eoi_token": specials[5]})
    hidden, grid, patch = size["hidden"], size["grid"], 8
    config = JanusConfig(
        text_config={"model_type": "llama", "vocab_size": len(vocab), "hidden_size": hidden,
                     "intermediate_size": size["intermediate"], "num_hidden_layers": size["layers"],
                     "num_attention_heads": size["heads"], "num_key_value_heads": size["heads"],
                     "max_position_embeddings": max(512, grid * grid + 256), "bos_token_id": 0, "eos_token_id": 1,
                     "pad_token_id": 2},
        vision_config={"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "image_size": grid * patch,
                       "patch_size": patch, "projection_dim": hidden, "num_image_tokens": grid * grid, "depth": 1,
                       "mlp_ratio": 2.0},
        vq_config={"embed_dim": 8, "num_embeddings": size["codebook"], "latent_channels": 8,
                   "base_channels": size["vq_channels"], "channel_multiplier": list(size["vq_levels"]),
                   "num_res_blocks": 1, "projection_dim": hidden, "image_token_embed_dim": hidden,
                   "num_hidden_layers": 1},
        image_token_id=vocab["<image_placeholder>"])
    torch.manual_seed(seed)
    model = JanusForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=2, generation_kwargs={"boi_token_id": vocab["<begin_of_image>"]},
        guidance_scale=5.0, do_sample=True, temperature=1.0)
    model.save_pretrained(directory, safe_serialization=True)
    image_processor = JanusImageProcessor(size={"height": grid * patch, "width": grid * patch})
    JanusProcessor(image_processor=image_processor, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE,
                   num_image_tokens=grid * grid).save_pretrained(directory)
    return directory


def save_tiny_emu3(directory: Path | str, *, seed: int = 0, preset: str = "tiny", **sizes: Any) -> Path:
    """Save a random-init Emu3ForConditionalGeneration + Emu3Processor to ``directory``."""
    import torch
    from transformers import Emu3Config, Emu3ForConditionalGeneration, Emu3ImageProcessor, Emu3Processor, GenerationConfig

    size = _sized(EMU3_PRESETS, preset, sizes)
    directory = Path(directory)
    specials = ["<|endoftext|>", "<|extra_203|>", "<|extra_204|>", "<image>", "<|image start|>", "<|image end|>",
                "<|image token|>", "<|extra_200|>", "<|extra_201|>"]
    visual = [f"<|visual token{i:06d}|>" for i in range(size["codebook"])]
    tokenizer, vocab = _byte_tokenizer(
        specials, bos="<|extra_203|>", eos="<|extra_204|>", pad="<|endoftext|>",
        extra={"image_token": "<image>", "boi_token": "<|image start|>", "eoi_token": "<|image end|>",
               "image_wrapper_token": "<|image token|>", "eof_token": "<|extra_201|>"}, added=visual)
    side = round(size["image_area"] ** 0.5 / 8)
    config = Emu3Config(
        text_config={"vocab_size": len(vocab), "hidden_size": size["hidden"], "intermediate_size": size["intermediate"],
                     "num_hidden_layers": size["layers"], "num_attention_heads": size["heads"],
                     "num_key_value_heads": size["heads"], "max_position_embeddings": max(1024, side * (side + 1) * 4 + 256),
                     "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2},
        vq_config={"codebook_size": size["codebook"], "embed_dim": 4, "latent_channels": 4,
                   "base_channels": size["vq_channels"], "channel_multiplier": [1, 1, 1, 1], "num_res_blocks": 1,
                   "attn_resolutions": [], "hidden_size": 32, "num_attention_heads": 1,
                   "temporal_downsample_factor": 1},
        vocabulary_map=vocab)
    torch.manual_seed(seed)
    model = Emu3ForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0, guidance_scale=3.0,
                                               top_k=min(2048, size["codebook"]), do_sample=True,
                                               image_area=size["image_area"])  # read by genlens as the default size
    model.save_pretrained(directory, safe_serialization=True)
    Emu3Processor(image_processor=Emu3ImageProcessor(), tokenizer=tokenizer).save_pretrained(directory)
    return directory


def save_tiny_amused(directory: Path | str, *, seed: int = 0) -> Path:
    """Save a random-init aMUSEd (masked-token) AmusedPipeline to ``directory`` (images 32x32, no VQ downsampling)."""
    import torch
    from diffusers import AmusedPipeline, AmusedScheduler, UVit2DModel, VQModel
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    from genlens.testing.tiny_models import byte_level_vocab

    directory = Path(directory)
    torch.manual_seed(seed)
    vocab = byte_level_vocab()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    text_encoder = CLIPTextModelWithProjection(CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
        max_position_embeddings=77, projection_dim=8, bos_token_id=len(vocab) - 2, eos_token_id=len(vocab) - 1,
        pad_token_id=len(vocab) - 1)).eval()
    transformer = UVit2DModel(
        hidden_size=8, use_bias=False, hidden_dropout=0.0, cond_embed_dim=8, micro_cond_encode_dim=2,
        micro_cond_embed_dim=10, encoder_hidden_size=8, vocab_size=32, codebook_size=8, in_channels=8,
        block_out_channels=8, num_res_blocks=1, downsample=True, upsample=True, block_num_heads=1,
        num_hidden_layers=1, num_attention_heads=1, attention_dropout=0.0, intermediate_size=8,
        layer_norm_eps=1e-6, ln_elementwise_affine=True)
    vqvae = VQModel(act_fn="silu", block_out_channels=[8], down_block_types=["DownEncoderBlock2D"], in_channels=3,
                    latent_channels=8, layers_per_block=1, norm_num_groups=8, num_vq_embeddings=8, out_channels=3,
                    sample_size=8, up_block_types=["UpDecoderBlock2D"], mid_block_add_attention=False,
                    lookup_from_codebook=True)
    pipe = AmusedPipeline(vqvae=vqvae, tokenizer=tokenizer, text_encoder=text_encoder, transformer=transformer,
                          scheduler=AmusedScheduler(mask_token_id=31))
    pipe.save_pretrained(directory)
    return directory


def _tiny_t5(hidden: int = 32) -> tuple[Any, Any]:
    """A random T5 encoder and a Unigram tokenizer over single characters (FLUX's second text encoder)."""
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(chr(c), -2.0) for c in range(ord("a"), ord("z") + 1)] + [(str(d), -2.0) for d in range(10)]
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=0)
    config = T5Config(vocab_size=len(pieces), d_model=hidden, d_kv=8, d_ff=64, num_layers=1, num_heads=2,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    return T5EncoderModel(config).eval(), tokenizer


def save_tiny_flux(directory: Path | str, *, seed: int = 0) -> Path:
    """Save a random-init FluxPipeline (flow-matching MMDiT, the diffusion/flow family) to ``directory``."""
    import tempfile

    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel

    from genlens.testing.tiny_diffusers import tiny_clip_text

    directory = Path(directory)
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as scratch:
        text_encoder, tokenizer = tiny_clip_text(Path(scratch))
    text_encoder_2, tokenizer_2 = _tiny_t5()
    transformer = FluxTransformer2DModel(patch_size=1, in_channels=16, num_layers=1, num_single_layers=1,
                                         attention_head_dim=16, num_attention_heads=2, joint_attention_dim=32,
                                         pooled_projection_dim=32, axes_dims_rope=[4, 4, 8])
    vae = AutoencoderKL(block_out_channels=[8, 16], in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        latent_channels=4, norm_num_groups=4, sample_size=32, shift_factor=0.0, scaling_factor=1.0)
    pipe = FluxPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=text_encoder,
                        tokenizer=tokenizer, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2,
                        transformer=transformer)
    pipe.save_pretrained(directory)
    return directory


def gpu_bench(root: Path, *, device: str | None = None, tiny: bool = False, rounds: int = 2, images: int = 16,
              batch: int = 8, naive_images: int | None = None, backend_module: Any = None) -> dict[str, Any]:
    """The ``ar`` section of ``bench/gpu_bench.py``: a Janus-shaped model (``janus-pro-1b`` sizes, or ``tiny``),
    genlens's ``transformers:`` backend vs the bare ``model.generate`` on the same batches vs one prompt per call
    (over the first ``naive_images`` prompts only, default all: a 576-token image per call is slow).

    Returns seconds per method (best of ``rounds``), images/s per method and ratios of images/s."""
    import asyncio
    import time

    import torch
    from transformers import AutoProcessor, JanusForConditionalGeneration

    from genlens.backends.base import make_backend
    from genlens.backends.diffusers import pick_device, pick_dtype
    from genlens.types import GenerationRequest

    preset = "tiny" if tiny else "janus-pro-1b"
    folder = save_tiny_janus(Path(root) / f"janus-{preset}", preset=preset)
    device = pick_device(device)
    dtype = pick_dtype(device)
    prompts = [f"a photo of object number {i} on a table" for i in range(images)]
    backend = make_backend(f"transformers:{folder}", {"batch_size": batch, "device": device,
                                                      "dtype": str(dtype).removeprefix("torch.")})
    requests = [GenerationRequest(item_id=str(i), prompt=p, sample=0, seed=i) for i, p in enumerate(prompts)]
    model = JanusForConditionalGeneration.from_pretrained(folder, dtype=dtype).to(device).eval()
    processor = AutoProcessor.from_pretrained(folder)

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    def ours() -> None:
        for start in range(0, len(requests), batch):
            results = asyncio.run(backend.generate_batch(requests[start:start + batch]))
            bad = [r for r in results if isinstance(r, BaseException)]
            if bad:
                raise bad[0]

    def bare(size: int, count: int = images) -> None:
        for start in range(0, count, size):
            texts = [processor.apply_chat_template([{"role": "user", "content": [{"type": "text", "text": p}]}],
                                                   add_generation_prompt=True) for p in prompts[start:start + size]]
            inputs = processor(text=texts, generation_mode="image", return_tensors="pt", padding=True).to(device)
            with torch.inference_mode():
                tokens = model.generate(**inputs, generation_mode="image", do_sample=True, guidance_scale=5.0)
                model.decode_image_tokens(tokens)

    naive_n = min(images, naive_images or images)
    methods = {"genlens": ours, "bare_batched": lambda: bare(batch), "one_at_a_time": lambda: bare(1, naive_n)}
    asyncio.run(backend.generate_batch(requests[:1]))  # load + warm both
    bare(1, 1)
    best: dict[str, float] = {}
    for _ in range(max(1, rounds)):
        for name, method in methods.items():
            sync()
            started = time.perf_counter()
            method()
            sync()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - started)
    sync_sites: dict[str, int] = {}
    if device.startswith("cuda"):  # where genlens's decode makes the host wait for the device (one image)
        import collections
        import warnings

        counter: collections.Counter[str] = collections.Counter()
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                asyncio.run(backend.generate_batch(requests[:1]))
        finally:
            torch.cuda.set_sync_debug_mode(0)
        counter.update(f"{Path(w.filename).name}:{w.lineno}" for w in caught if "synchroniz" in str(w.message))
        sync_sites = dict(counter.most_common(8))
    size = JANUS_PRESETS[preset]
    counts = {"genlens": images, "bare_batched": images, "one_at_a_time": naive_n}
    rates = {name: counts[name] / seconds for name, seconds in best.items()}
    return {"preset": preset, "sizes": {k: list(v) if isinstance(v, tuple) else v for k, v in size.items()},
            "device": device, "dtype": str(dtype), "images": images, "batch": batch, "image_tokens": size["grid"] ** 2,
            "one_at_a_time_images": naive_n, "seconds": best, "images_per_s": rates, "sync_sites_one_image": sync_sites,
            "genlens_over_bare_batched": rates["genlens"] / rates["bare_batched"],
            "speedup_over_one_at_a_time": rates["genlens"] / rates["one_at_a_time"]}
