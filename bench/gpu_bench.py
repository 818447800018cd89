"""GPU figures in one go: GenEval scoring, a diffusers pipeline and an AR generator, genlens vs the bare calls.

Every model is random-init at full (or stated) size: speed does not depend on weight values, and
nothing is downloaded. Sections, each timed after a warm-up and written to one JSON file:

- ``geneval``: Mask2Former Swin-S + CLIP ViT-L/14 (fp16 autocast on CUDA, as GenEval's open_clip
  runs), N images of a GenEval colour prompt. genlens ``engine.score`` vs the bare forwards on ready
  tensors (the limit; target >= 0.9) vs a GenEval-style one-image loop.
- ``diffusers``: a Stable-Diffusion-shaped pipeline (UNet ~ SD 1.x width, 512², stated steps),
  genlens's batched backend through ``engine.generate`` vs the bare pipeline call on the same
  batches (the limit) vs one prompt per call.
- ``ar``: when ``genlens.testing.tiny_ar`` and the ``transformers:`` backend exist, a Janus-shaped
  model (sizes printed) through ``engine.generate`` vs the bare ``model.generate`` on the same batch.

    python bench/gpu_bench.py --out gpu_results.json                 # on a GPU machine (bench/gpu.sh)
    python bench/gpu_bench.py --device cpu --images 4 --tiny --out /tmp/dry.json   # plumbing check on CPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine_line


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(device: str, fn: Callable[[], Any]) -> float:
    sync(device)
    started = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - started


def best_of(rounds: int, device: str, methods: dict[str, Callable[[int], Any]]) -> dict[str, float]:
    """Interleaved rounds, order rotated; the best time of each method counts."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    order = list(methods)
    for r in range(rounds):
        shift = r % len(order)
        for name in order[shift:] + order[:shift]:
            times[name].append(timed(device, lambda name=name, r=r: methods[name](r)))
        print(f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True)
    return {name: min(values) for name, values in times.items()}


# ----------------------------------------------------------------------------------------------
# GenEval scoring
# ----------------------------------------------------------------------------------------------
def geneval_section(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    import torch

    import geneval_scoring as gs
    from genlens.runs import engine
    from genlens.suites.base import ScoreContext
    from genlens.suites.geneval import GenEvalScorer, GenEvalSuite, open_rgb
    from genlens.testing.tiny_models import save_tiny_clip, save_tiny_mask2former

    if args.tiny:
        detector = save_tiny_mask2former(root / "det", always_detect="car")
        clip = save_tiny_clip(root / "clip")
    else:
        detector, clip = gs.save_full_models(root)
    images = gs.write_layout(root / "images", args.images, args.size)
    scorer_args = {"device": args.device}

    def genlens_score(r: int) -> None:
        run = root / f"run{r}"
        engine.import_images(images, GenEvalSuite(), run, quiet=True)
        ctx = ScoreContext(run_dir=run, detector=str(detector), clip=str(clip), quiet=True, scorer_args=scorer_args)
        summary = engine.score(run, ctx)
        if summary.statuses.get("ok", 0) != args.images:
            raise RuntimeError(f"genlens scored {summary.statuses} instead of {args.images} ok images")

    # warm-up: loads the models once for the process (genlens caches them per weights + device)
    warm = gs.write_layout(root / "warm", 1, args.size)
    engine.import_images(warm, GenEvalSuite(), root / "warm_run", quiet=True)
    engine.score(root / "warm_run", ScoreContext(run_dir=root / "warm_run", detector=str(detector), clip=str(clip),
                                                 quiet=True, scorer_args=scorer_args))
    scorer = GenEvalScorer(str(detector), str(clip), device=args.device)
    scorer.load()
    det, clip_model = scorer.detector, scorer.clip
    paths = sorted((images / f"{gs.car_colour_item():05d}" / "samples").glob("*.png"))
    batches = [paths[i:i + scorer.batch_size] for i in range(0, len(paths), scorer.batch_size)]
    ready = []
    for batch in batches:
        opened = [open_rgb(p) for p in batch]
        ready.append((det._pixels(opened)[0].to(args.device), clip_model.pixel_values(opened).to(args.device)))

    def limit(_r: int) -> None:
        with torch.inference_mode():
            for pixels, crops in ready:
                det.model(pixel_values=pixels)
                with clip_model._autocast():
                    clip_model.model.get_image_features(pixel_values=crops)

    def naive(_r: int) -> None:
        meta = gs.load_metadata()[gs.car_colour_item()]
        for path in paths:
            gs.naive_one(det, clip_model, path, meta)

    best = best_of(args.rounds, args.device, {"genlens": genlens_score, "limit": limit, "naive": naive})
    n = len(paths)
    return {
        "images": n, "image_side": args.size, "models": "tiny" if args.tiny else "Mask2Former Swin-S + CLIP ViT-L/14 (random init)",
        "clip_dtype": "float16 autocast" if args.device.startswith("cuda") else "float32",
        "seconds": best, "images_per_s": {k: n / v for k, v in best.items()},
        "genlens_over_limit": best["limit"] / best["genlens"], "speedup_over_naive": best["naive"] / best["genlens"],
        "target_genlens_over_limit": 0.9,
    }


# ----------------------------------------------------------------------------------------------
# diffusers pipeline
# ----------------------------------------------------------------------------------------------
def build_sd_like(folder: Path, tiny: bool) -> Path:
    """A Stable-Diffusion-shaped pipeline: SD 1.x UNet widths (320/640/1280) unless ``tiny``."""
    if tiny:
        from genlens.testing.tiny_diffusers import build_text2image

        return build_text2image(folder)
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel

    from genlens.testing.tiny_diffusers import TEXT_DIM, tiny_clip_text

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as scratch:
        text_encoder, tokenizer = tiny_clip_text(Path(scratch))
    unet = UNet2DConditionModel(
        block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, sample_size=64, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=TEXT_DIM, attention_head_dim=8,
    )
    vae = AutoencoderKL(block_out_channels=[128, 256, 512, 512], in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                        latent_channels=4, sample_size=512)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder)
    return folder


def pipeline_seconds(run: Path) -> dict[str, Any]:
    """The backend's own timing of each pipeline call of a run (``batch_latency_s`` in the image metadata)."""
    from genlens.runs.rundir import DB_NAME
    from genlens.runs.store import RunStore

    seconds = calls = 0.0
    with RunStore(run / DB_NAME) as store:
        for record in store.generations():
            latency, batch = record.meta.get("batch_latency_s"), int(record.meta.get("batch", 1))
            if latency is not None:  # each of a call's images carries its latency: a 1/batch share each
                seconds += float(latency) / batch
                calls += 1 / batch
    return {"seconds": seconds, "calls": round(calls)}


def diffusers_section(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    import torch

    from genlens.backends.diffusers import DiffusersBackend
    from genlens.runs import engine
    from genlens.suites.image_props import ImagePropsSuite

    folder = build_sd_like(root / "sd", args.tiny)
    side = 64 if args.tiny else 512
    steps = 2 if args.tiny else args.steps
    batch = args.batch
    n = args.gen_images
    params = {"steps": steps, "guidance": 7.5, "batch_size": batch, "size": f"{side}x{side}", "device": args.device}
    backend = DiffusersBackend(str(folder), dict(params))
    pipe = backend.pipeline()
    pipe.set_progress_bar_config(disable=True)  # as genlens's backend runs it
    prompts = [f"a photo of object number {i}" for i in range(n)]

    class Prompts(ImagePropsSuite):  # image-props' machinery with n plain prompts at one size
        def items(self):  # type: ignore[no-untyped-def]
            from genlens.types import Item

            return [Item(id=f"{i:03d}", prompt=p, size=(side, side)) for i, p in enumerate(prompts)]

    def genlens_generate(r: int) -> None:
        run_backend = DiffusersBackend(str(folder), dict(params))
        run_backend._pipe = pipe  # the loaded pipeline, as a warm process holds it
        summary = engine.generate(root / f"gen{r}", Prompts(), run_backend, engine.GenerateOptions(samples=1, seed=r, quiet=True))
        if summary.statuses.get("ok", 0) != n:
            raise RuntimeError(f"genlens generated {summary.statuses} instead of {n} ok images")

    def bare_batched(r: int) -> None:
        for start in range(0, n, batch):
            chunk = prompts[start:start + batch]
            gens = [torch.Generator("cpu").manual_seed(r * 1000 + start + i) for i in range(len(chunk))]
            with torch.inference_mode():
                pipe(prompt=chunk, num_inference_steps=steps, guidance_scale=7.5, height=side, width=side, generator=gens)

    naive_n = min(n, args.naive_images or n)

    def one_at_a_time(r: int) -> None:
        for i, prompt in enumerate(prompts[:naive_n]):
            with torch.inference_mode():
                pipe(prompt=prompt, num_inference_steps=steps, guidance_scale=7.5, height=side, width=side,
                     generator=torch.Generator("cpu").manual_seed(r * 1000 + i))

    def bare_new_thread(r: int) -> None:  # the bare call from a fresh thread: what per-thread CUDA state costs
        worker = threading.Thread(target=bare_batched, args=(r,))
        worker.start()
        worker.join()

    bare_batched(99)  # warm-up (kernels, allocator)
    best = best_of(args.rounds, args.device, {"genlens": genlens_generate, "bare_batched": bare_batched,
                                              "bare_new_thread": bare_new_thread, "one_at_a_time": one_at_a_time})
    rates = {"genlens": n / best["genlens"], "bare_batched": n / best["bare_batched"],
             "bare_new_thread": n / best["bare_new_thread"],
             "one_at_a_time": naive_n / best["one_at_a_time"]}
    # where genlens's extra time goes: the pipeline calls as the backend timed them vs the whole run
    started = time.perf_counter()
    genlens_generate(50)
    whole = time.perf_counter() - started
    inside = pipeline_seconds(root / "gen50")
    return {
        "pipeline": "tiny SD" if args.tiny else "SD-1.x-shaped UNet (320/640/1280), random init",
        "unet_parameters": sum(p.numel() for p in pipe.unet.parameters()), "images": n, "side": side, "steps": steps,
        "batch": batch, "dtype": str(pipe.unet.dtype), "one_at_a_time_images": naive_n, "seconds": best,
        "images_per_s": rates, "genlens_over_bare_batched": rates["genlens"] / rates["bare_batched"],
        "speedup_over_one_at_a_time": rates["genlens"] / rates["one_at_a_time"],
        "diagnosis": {"genlens_run_seconds": whole, "pipeline_call_seconds": inside["seconds"],
                      "pipeline_calls": inside["calls"], "outside_pipeline_seconds": whole - inside["seconds"]},
    }


# ----------------------------------------------------------------------------------------------
# autoregressive generator (after the transformers: backend exists)
# ----------------------------------------------------------------------------------------------
def ar_section(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    try:
        import genlens.backends.transformers_ar as ar_backend
        from genlens.testing import tiny_ar
    except ImportError as exc:
        return {"skipped": f"no transformers: AR backend in this genlens ({exc})"}
    runner = getattr(tiny_ar, "gpu_bench", None)
    if runner is None:
        return {"skipped": "genlens.testing.tiny_ar has no gpu_bench() entry"}
    return runner(root, device=args.device, tiny=args.tiny, rounds=args.ar_rounds or args.rounds, images=args.ar_images,
                  batch=args.ar_batch, naive_images=args.ar_naive, backend_module=ar_backend)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    parser.add_argument("--images", type=int, default=64, help="GenEval images scored per method")
    parser.add_argument("--size", type=int, default=512, help="GenEval image side")
    parser.add_argument("--gen-images", type=int, default=16, help="images generated per method (diffusers)")
    parser.add_argument("--steps", type=int, default=20, help="diffusion steps")
    parser.add_argument("--batch", type=int, default=8, help="diffusers batch size")
    parser.add_argument("--naive-images", type=int, default=8,
                        help="images the one-prompt-per-call diffusers baseline makes (rates compare per image)")
    parser.add_argument("--ar-images", type=int, default=8, help="images per method (AR section)")
    parser.add_argument("--ar-batch", type=int, default=8, help="AR batch size")
    parser.add_argument("--ar-naive", type=int, default=1, help="images the one-prompt-per-call AR baseline makes")
    parser.add_argument("--ar-rounds", type=int, default=1, help="rounds of the AR section (576 tokens per image)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per section (best counts)")
    parser.add_argument("--tiny", action="store_true", help="tiny models: checks the plumbing only (CI dry run)")
    parser.add_argument("--sections", default="geneval,diffusers,ar")
    parser.add_argument("--out", type=Path, default=Path("gpu_results.json"))
    args = parser.parse_args()
    import torch

    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.tiny:
        args.gen_images = min(args.gen_images, 4)
        args.batch = min(args.batch, 2)
        args.ar_images, args.ar_batch = min(args.ar_images, 4), min(args.ar_batch, 2)
    results: dict[str, Any] = {
        "machine_start": machine_line("start"), "device": args.device, "torch": torch.__version__,
        "python": platform.python_version(), "args": {k: str(v) for k, v in vars(args).items()},
    }
    if args.device.startswith("cuda"):
        results["gpu"] = torch.cuda.get_device_name(0)
    import importlib

    versions: dict[str, str] = {}  # not beside the sections: "diffusers" is one of them
    for name in ("transformers", "diffusers", "pydantic", "tokenizers", "regex"):
        try:  # the versions that ran, and where they came from (.gpuwheels/site or the machine's own)
            module = importlib.import_module(name)
            versions[name] = f"{getattr(module, '__version__', '?')} ({Path(module.__file__ or '?').parent})"
        except Exception as exc:  # a missing one is reported, and the section that needs it fails alone
            versions[name] = f"unavailable: {type(exc).__name__}: {exc}"
        print(f"{name}: {versions[name]}", flush=True)
    results["versions"] = versions
    print(results["machine_start"], "|", results.get("gpu", args.device), flush=True)
    sections = {"geneval": geneval_section, "diffusers": diffusers_section, "ar": ar_section}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sections.split(","):
            print(f"== {name}", flush=True)
            started = time.perf_counter()
            try:
                results[name] = sections[name](args, Path(tmp) / name)
            except Exception as exc:  # one section's failure must not lose the others' figures
                traceback.print_exc()
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            results[name]["section_seconds"] = time.perf_counter() - started
            args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
            print(json.dumps(results[name], default=str), flush=True)
    results["machine_end"] = machine_line("end")
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(results["machine_end"])
    failed = [k for k in sections if isinstance(results.get(k), dict) and "error" in results[k]]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
