"""Soft-TIFA (GenEval 2) scoring speed on CPU: genlens vs the bare VLM forwards (the limit) vs upstream's loop.

The heaviest scorer of the 2026 text-to-image suites is Soft-TIFA: one VLM forward per atom question
(5–14 per image). The model is a random-init Qwen3-VL scaled down from Qwen3-VL-8B so a CPU run ends
in minutes (speed does not depend on weight values); images are ``--size`` pixels square.

- genlens: ``engine.score`` over a geneval2 run (the production path: reading images, the chat text,
  the image processor, tokenising, batched forwards with left padding, the answer-token sums, storing);
- limit: only the model forwards, on inputs built beforehand, in the same batches (``logits_to_keep=1``);
- naive: upstream ``evaluation.py``'s shape — one question at a time through ``generate(max_new_tokens=1,
  output_scores=True)``, the image processed again for every question.

Rounds are interleaved with the order rotated and the best time of each method counts (a shared
machine). Prints the machine line (cores, load) at the start and the end. All three run their forwards
in worker threads, as the production path does: on this shared 2-core machine under load, the same
forward in the main thread took about 3× the wall and CPU time of one in a worker thread (torch's
intra-op threads spinning under contention), which would measure threading, not the scorer.

    PYTHONPATH=src python bench/t2i2026_scoring.py --images 4 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import Clock, interleaved_best, print_against_limit, print_machine
from genlens.judges.base import JudgeRequest, make_judge
from genlens.runs import engine
from genlens.suites import geneval2 as g2
from genlens.suites.base import ScoreContext

#: Six hand-written prompts in the upstream format, 5–8 atoms each (the data itself is CC BY-NC, never shipped).
RECORDS = [
    {"prompt": f"{word} red {thing}s left of a dog", "atom_count": 4,
     "vqa_list": [[f"How many {thing}s are in the image?", word], [f"Are the {thing}s red?", "Yes"],
                  [f"Are there any {thing}s in the image?", "Yes"], [f"Are the {thing}s left of the dog?", "Yes"],
                  ["How many dogs are in the image?", "one"], ["Are there any dogs in the image?", "Yes"]],
     "skills": ["count", "attribute", "object", "position", "count", "object"]}
    for word, thing in (("two", "kite"), ("three", "cup"), ("four", "lamp"), ("five", "book"), ("six", "boat"), ("two", "vase"))
]


def save_model(root: Path) -> Path:
    """A Qwen3-VL at roughly a tenth of 8B's width and depth (random init), saved as a local judge dir."""
    import torch
    import transformers
    from transformers import Qwen2Tokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    from genlens.testing.tiny_vlm import QWEN_SPECIALS

    vocab = {t: i for i, t in enumerate(list(bytes_to_unicode().values()) + list(QWEN_SPECIALS))}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], unk_token=None, bos_token=None, eos_token="<|im_end|>",
                               pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIALS[1:])})
    text = {"vocab_size": len(vocab), "hidden_size": 512, "intermediate_size": 1536, "num_hidden_layers": 6,
            "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 64, "max_position_embeddings": 8192,
            "rope_parameters": {"rope_type": "default", "rope_theta": 5e6, "mrope_section": [12, 10, 10],
                                "mrope_interleaved": True},
            "bos_token_id": vocab["<|endoftext|>"], "eos_token_id": vocab["<|im_end|>"], "pad_token_id": vocab["<|endoftext|>"]}
    vision = {"depth": 4, "hidden_size": 256, "intermediate_size": 1024, "num_heads": 4, "out_hidden_size": 512,
              "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2, "num_position_embeddings": 2304,
              "deepstack_visual_indexes": [1, 2, 3]}
    config = transformers.Qwen3VLConfig(text_config=text, vision_config=vision, image_token_id=vocab["<|image_pad|>"],
                                        video_token_id=vocab["<|video_pad|>"], vision_start_token_id=vocab["<|vision_start|>"],
                                        vision_end_token_id=vocab["<|vision_end|>"])
    torch.manual_seed(0)
    transformers.Qwen3VLForConditionalGeneration(config).eval().save_pretrained(root / "vlm")
    tokenizer.save_pretrained(root / "vlm")
    transformers.Qwen2VLImageProcessorPil(patch_size=16, min_pixels=64 * 64, max_pixels=512 * 512).save_pretrained(root / "vlm")
    return root / "vlm"


def write_data(root: Path, images: int, size: int) -> tuple[Path, Path]:
    """The data file and a folder of ``images`` random images in the generic layout (``<id>/0.png``)."""
    data = root / "data"
    data.mkdir()
    records = [RECORDS[i % len(RECORDS)] | {"prompt": f"{RECORDS[i % len(RECORDS)]['prompt']} #{i}"} for i in range(images)]
    (data / g2.DATA_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
    folder = root / "images"
    rng = np.random.default_rng(0)
    for i in range(images):
        (folder / f"{i:03d}").mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{i:03d}" / "0.png")
    return data, folder


def genlens_score(run: Path, model: Path, judge: Any) -> Clock:
    """``engine.score`` over the run with the judge already loaded (loading is not what is measured)."""
    import genlens.judges.base as judges

    ctx = ScoreContext(run_dir=run, judge=f"local:{model}", quiet=True)
    original = judges.make_judge
    judges.make_judge = lambda spec, **kwargs: judge  # type: ignore[assignment]
    try:
        with Clock() as clock:
            engine.score(run, ctx)
    finally:
        judges.make_judge = original  # type: ignore[assignment]
    return clock


def requests_for(folder: Path, images: int) -> tuple[list[JudgeRequest], list[tuple[str, ...]]]:
    requests, answers = [], []
    for i in range(images):
        image = (folder / f"{i:03d}" / "0.png").read_bytes()
        for question, answer in RECORDS[i % len(RECORDS)]["vqa_list"]:
            requests.append(JudgeRequest(None, g2.question_text(question), [image]))
            answers.append(g2.accepted_answers(question, answer))
    return requests, answers


def bare_forwards(judge: Any, batches: list[dict[str, Any]]) -> Clock:
    """Each batch's forward in a worker thread, as the production path runs it (see the module note)."""
    import torch

    model = judge.load()[0]

    def forward(inputs: dict[str, Any]) -> None:
        with torch.inference_mode():
            model(**inputs, logits_to_keep=1)

    async def all_batches() -> None:
        for inputs in batches:
            await asyncio.to_thread(forward, inputs)

    with Clock() as clock:
        asyncio.run(all_batches())
    return clock


def naive_loop(judge: Any, requests: list[JudgeRequest], answers: list[tuple[str, ...]]) -> Clock:
    """Upstream's shape, one question per call (in a worker thread too, so only the method differs)."""
    import torch

    model, tokenizer, _processor, _device = judge.load()

    def one(request: JudgeRequest, accepted: tuple[str, ...]) -> float:
        inputs, _ = judge._inputs([request])  # the image processed again for every question, as upstream
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=1, do_sample=False, output_scores=True,
                                 return_dict_in_generate=True)
        probs = torch.softmax(out.scores[0], dim=-1)
        return sum(float(probs[0, tokenizer.encode(a)[0]]) for a in accepted)

    async def every_question() -> None:
        for request, accepted in zip(requests, answers, strict=True):
            await asyncio.to_thread(one, request, accepted)

    with Clock() as clock:
        asyncio.run(every_question())
    return clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4, help="images scored per method (6 atom questions each)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best time of each method counts")
    parser.add_argument("--size", type=int, default=512, help="image side in pixels (512: 256 merged image tokens)")
    parser.add_argument("--batch", type=int, default=8, help="atom questions per forward pass (the judge's batch_size)")
    args = parser.parse_args()
    import torch

    print_machine("start")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        model = save_model(root)
        data, folder = write_data(root, args.images, args.size)
        judge = make_judge(f"local:{model}", params={"batch_size": args.batch})
        judge.load()

        async def keep_loaded() -> None:  # the scorer closes its judge after each run; here it stays loaded
            return None

        judge.aclose = keep_loaded  # type: ignore[method-assign]
        print(f"built + saved the model in {time.perf_counter() - t0:.1f}s")
        requests, answers = requests_for(folder, args.images)
        batches = [judge._inputs(requests[i:i + args.batch])[0] for i in range(0, len(requests), args.batch)]
        asyncio.run(judge.answer_probability(requests[:2], answers[:2]))  # warm-up
        methods = {
            "genlens": lambda r: genlens_score(_run(root, r, data, folder), model, judge),
            "limit": lambda r: bare_forwards(judge, batches),
            "naive": lambda r: naive_loop(judge, requests, answers),
        }
        times = interleaved_best(methods, args.rounds)
        print_against_limit(times, len(requests), "atoms", 2)
    print_machine("end")


def _run(root: Path, round_index: int, data: Path, folder: Path) -> Path:
    """A fresh geneval2 run of the images (generated phase only), so each round scores everything."""
    from genlens.backends.base import make_backend
    from genlens.runs.engine import GenerateOptions

    run = root / f"run{round_index}"
    suite = g2.GenEval2Suite(data_dir=data)
    engine.generate(run, suite, make_backend(f"folder:{folder}", {}), GenerateOptions(samples=1, quiet=True), data_dir=data)
    return run


if __name__ == "__main__":
    main()
