"""Autoregressive generation: genlens's ``transformers:`` backend vs the bare Janus ``model.generate``.

Random-init Janus checkpoints (``genlens.testing.tiny_ar`` presets ``tiny`` and ``mid``) on this
machine's device (CPU here). The same N prompts, three ways, images/s each:

1. **genlens** — ``TransformersARBackend.generate_batch`` in batches of B (per-row seeded sampling,
   decode, PNG encode included);
2. **bare batched** — ``model.generate(generation_mode="image", do_sample=True)`` on the processor's
   batch of B prompts, then ``decode_image_tokens`` (no PNG encode: the bare limit);
3. **bare loop** — the same call one prompt at a time (how a naive script generates).

Printed ratios: genlens / bare batched (target >= 0.9) and genlens / bare loop (the batching gain).
Both use CFG 5 and temperature 1, so they do the same work per image token.

Usage: PYTHONPATH=src python bench/ar_generation.py [--presets tiny,mid] [--n 16] [--batch 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPTS = ["a photo of a red apple", "two dogs on a sofa", "a blue car parked next to a green bench",
           "a giraffe under a clock", "three cups on a wooden table", "a purple umbrella in the rain",
           "a cat sitting on a laptop", "an orange bus and a white truck"]


def genlens_images_per_s(folder: Path, prompts: list[str], batch: int) -> float:
    from genlens.backends.base import make_backend
    from genlens.types import GenerationRequest

    backend = make_backend(f"transformers:{folder}", {"batch_size": batch, "device": "cpu", "dtype": "float32"})
    requests = [GenerationRequest(item_id=str(i), prompt=p, sample=0, seed=i) for i, p in enumerate(prompts)]
    asyncio.run(backend.generate_batch(requests[:1]))  # load + warm
    started = time.perf_counter()
    for start in range(0, len(requests), batch):
        results = asyncio.run(backend.generate_batch(requests[start:start + batch]))
        assert all(not isinstance(r, BaseException) for r in results), results
    return len(requests) / (time.perf_counter() - started)


def bare_images_per_s(folder: Path, prompts: list[str], batch: int) -> float:
    import torch
    from transformers import AutoProcessor, JanusForConditionalGeneration

    model = JanusForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(folder)

    def call(chunk: list[str]) -> None:
        texts = [processor.apply_chat_template([{"role": "user", "content": [{"type": "text", "text": p}]}],
                                               add_generation_prompt=True) for p in chunk]
        inputs = processor(text=texts, generation_mode="image", return_tensors="pt", padding=True)
        with torch.inference_mode():
            tokens = model.generate(**inputs, generation_mode="image", do_sample=True, guidance_scale=5.0, temperature=1.0)
            model.decode_image_tokens(tokens)

    call(prompts[:1])  # warm
    started = time.perf_counter()
    for start in range(0, len(prompts), batch):
        call(prompts[start:start + batch])
    return len(prompts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,mid")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2, help="best of R for each way (noise on a shared machine)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 keeps a shared machine from oversubscribing)")
    args = parser.parse_args()
    import torch
    import transformers

    from genlens.testing.tiny_ar import JANUS_PRESETS, save_tiny_janus

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    prompts = [PROMPTS[i % len(PROMPTS)] + f" #{i}" for i in range(args.n)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, N={args.n}, batch={args.batch}")
    for preset in args.presets.split(","):
        with tempfile.TemporaryDirectory() as scratch:
            folder = save_tiny_janus(Path(scratch) / preset, preset=preset)
            size = JANUS_PRESETS[preset]
            ours = max(genlens_images_per_s(folder, prompts, args.batch) for _ in range(args.repeats))
            batched = max(bare_images_per_s(folder, prompts, args.batch) for _ in range(args.repeats))
            loop = max(bare_images_per_s(folder, prompts, 1) for _ in range(args.repeats))
        print(f"{preset}: hidden {size['hidden']}, {size['layers']} layers, {size['grid'] ** 2} image tokens | "
              f"genlens {ours:.2f} img/s | bare batched {batched:.2f} img/s | bare loop {loop:.2f} img/s | "
              f"genlens/bare-batched {ours / batched:.3f} (target >= 0.9) | genlens/loop {ours / loop:.2f}x")


if __name__ == "__main__":
    main()
