"""GenEval scoring speed on CPU: genlens vs the bare detector + CLIP forwards (the limit) vs a naive loop.

Models are full-size but random-init (speed does not depend on weight values): Mask2Former with a
Swin-S backbone (transformers' default Mask2FormerConfig) rigged so every query finds a car over
the whole image, and a ViT-L/14-sized CLIP. Every image belongs to a colour prompt about a car, so
each image costs one detector forward and one CLIP crop, like a GenEval "colors" image.

- genlens: ``engine.score`` on an imported run (batches of 8, models already loaded);
- limit: only the detector forward on ready tensors + the CLIP image forward on ready crops;
- naive: one image at a time, the processor's own resize, all 100 masks post-processed, the colour
  classifier's 30 prompts re-encoded for every image.

Then a memory check: peak RSS in the first and second half of a longer stream scored with tiny
models (streaming: only one batch of images is ever in memory).

    PYTHONPATH=src python bench/geneval_scoring.py --images 4 --rounds 3 --stream 120
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from _machine import Clock, interleaved_best, print_against_limit
from genlens.runs import engine
from genlens.suites.base import ScoreContext
from genlens.suites.geneval import GenEvalScorer, GenEvalSuite, load_metadata, open_rgb


def car_colour_item() -> int:
    """Index of the first GenEval "colors" prompt about a car."""
    return next(i for i, m in enumerate(load_metadata()) if m["tag"] == "colors" and m["include"][0]["class"] == "car")


def write_layout(root: Path, count: int, size: int) -> Path:
    """``count`` samples of one colour-of-a-car prompt in GenEval's folder layout."""
    index = car_colour_item()
    folder = root / f"{index:05d}"
    (folder / "samples").mkdir(parents=True, exist_ok=True)
    (folder / "metadata.jsonl").write_text(json.dumps(load_metadata()[index]))
    rng = np.random.default_rng(0)
    for sample in range(count):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / "samples" / f"{sample:05d}.png")
    return root


def save_full_models(root: Path) -> tuple[Path, Path]:
    """Swin-S Mask2Former (rigged) and ViT-L/14-sized CLIP, random init, saved with save_pretrained."""
    import torch
    from transformers import (
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
        Mask2FormerConfig,
        Mask2FormerForUniversalSegmentation,
        Mask2FormerImageProcessor,
    )

    from genlens.testing.tiny_models import COCO_DETECTRON2_LABELS, byte_level_vocab, make_always_detect, tiny_clip_config

    torch.manual_seed(0)
    labels = COCO_DETECTRON2_LABELS
    config = Mask2FormerConfig(id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)})
    detector = Mask2FormerForUniversalSegmentation(config).eval()
    make_always_detect(detector, labels.index("car"))
    detector.save_pretrained(root / "det", safe_serialization=True)
    Mask2FormerImageProcessor().save_pretrained(root / "det")
    clip_config = tiny_clip_config(
        image_size=224,
        vision={"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
                "patch_size": 14},
        text={"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12},
    )
    clip_config.projection_dim = 768
    CLIPModel(clip_config).eval().save_pretrained(root / "clip", safe_serialization=True)
    CLIPProcessor(image_processor=CLIPImageProcessor(), tokenizer=CLIPTokenizer(vocab=byte_level_vocab(), merges=[])
                  ).save_pretrained(root / "clip")
    return root / "det", root / "clip"


def genlens_score(images: Path, run: Path, detector: Path, clip: Path) -> Clock:
    """``engine.score`` over an imported run (models already loaded in this process)."""
    suite = GenEvalSuite()
    engine.import_images(images, suite, run, quiet=True)
    ctx = ScoreContext(run_dir=run, detector=str(detector), clip=str(clip), quiet=True)
    with Clock() as clock:
        engine.score(run, ctx)
    return clock


def bare_forwards(scorer: GenEvalScorer, paths: list[Path]) -> Clock:
    """The detector forward on ready tensors + CLIP on ready crops, batched like genlens."""
    import torch

    det, clip = scorer.detector, scorer.clip
    batches = [paths[i:i + scorer.batch_size] for i in range(0, len(paths), scorer.batch_size)]
    ready = []
    for batch in batches:
        images = [open_rgb(p) for p in batch]
        ready.append((det._pixels(images)[0], clip.pixel_values(images)))
    with Clock() as clock, torch.inference_mode():
        for pixels, crops in ready:
            det.model(pixel_values=pixels)
            clip.model.get_image_features(pixel_values=crops)
    return clock


def naive_loop(scorer: GenEvalScorer, paths: list[Path]) -> Clock:
    """A one-image-at-a-time scorer without the batching, pruning or classifier cache."""
    meta = load_metadata()[car_colour_item()]
    with Clock() as clock:
        for path in paths:
            naive_one(scorer.detector, scorer.clip, path, meta)
    return clock


def naive_one(det: Any, clip: Any, path: Path, meta: dict[str, Any]) -> None:
    """Score one image the straightforward way: processor resize, all 100 masks, colour prompts re-encoded."""
    import torch

    from genlens.suites import _geneval_rules as rules
    from genlens.suites.geneval import object_names

    image = Image.open(path).convert("RGB")
    inputs = det.processor(images=[image], return_tensors="pt")
    with torch.inference_mode():
        out = det.model(pixel_values=inputs["pixel_values"].to(det.device))
    shape = tuple(inputs["pixel_values"].shape[-2:])
    found = det_postprocess_all(out, shape, image, det.class_names)
    kept = rules.filter_detections({n: [d for d in found if d.label == n] for n in object_names()}, meta["tag"])
    prompts = [[t.format(color=c, object="car") for t in rules.COLOR_TEMPLATES] for c in rules.COLORS]
    classifier = clip.zero_shot_classifier(prompts)  # re-encoded for every image
    crops = [Image.fromarray(rules.color_crop(np.asarray(image), d)) for _n, ds in rules.color_requests(kept, meta) for d in ds]
    if crops:
        clip.classify(crops, classifier)


def det_postprocess_all(out, padded_hw, image, class_names):
    from genlens.scorers.detection import instance_postprocess

    return instance_postprocess(out.class_queries_logits[0], out.masks_queries_logits[0], padded_hw, padded_hw,
                                (image.height, image.width), class_names)


def rss_over_stream(root: Path, count: int) -> dict[str, Any]:
    """RSS (MB) after every scored batch of a ``count``-image stream (tiny models, after a warm-up), and the peak."""
    import psutil

    from genlens.testing.tiny_models import save_tiny_clip, save_tiny_mask2former

    det = save_tiny_mask2former(root / "tiny_det", always_detect="car")
    clip = save_tiny_clip(root / "tiny_clip")
    genlens_score(write_layout(root / "warm", 1, 256), root / "warm_run", det, clip)  # models loaded and kept
    images = write_layout(root / "stream_images", count, 256)
    engine.import_images(images, GenEvalSuite(), root / "stream_run", quiet=True)
    ctx = ScoreContext(run_dir=root / "stream_run", detector=str(det), clip=str(clip), quiet=True)
    process, after_batch, peak = psutil.Process(), [], [0.0]
    done = threading.Event()
    score_batch = GenEvalScorer.score_batch_sync

    def measured(self: GenEvalScorer, batch: list[Any]) -> Any:  # the real method, then a reading
        result = score_batch(self, batch)
        after_batch.append(process.memory_info().rss / 2**20)
        return result

    def poll() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss / 2**20)
            time.sleep(0.05)

    GenEvalScorer.score_batch_sync = measured  # type: ignore[method-assign]
    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    with Clock() as clock:
        engine.score(root / "stream_run", ctx)
    done.set()
    thread.join()
    GenEvalScorer.score_batch_sync = score_batch  # type: ignore[method-assign]
    return {"after_batch_mb": after_batch, "peak_mb": peak[0], "seconds": clock.wall}


def speed(args: argparse.Namespace, root: Path) -> None:
    t0 = time.perf_counter()
    detector, clip = save_full_models(root)
    print(f"built + saved full-size random models in {time.perf_counter() - t0:.1f}s")
    images = write_layout(root / "images", args.images, args.size)
    t0 = time.perf_counter()
    genlens_score(write_layout(root / "warm", 1, args.size), root / "warm_run", detector, clip)  # loads the models once
    print(f"model load + 1 warm-up image: {time.perf_counter() - t0:.1f}s")
    scorer = GenEvalScorer(str(detector), str(clip))
    scorer.load()
    paths = sorted((images / f"{car_colour_item():05d}" / "samples").glob("*.png"))
    methods = {
        "genlens": lambda r: genlens_score(images, root / f"run{r}", detector, clip),
        "limit": lambda r: bare_forwards(scorer, paths),
        "naive": lambda r: naive_loop(scorer, paths),
    }
    times = interleaved_best(methods, args.rounds)
    print_against_limit(times, len(paths), "img", 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4, help="images per method with the full-size models")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best time of each method counts")
    parser.add_argument("--size", type=int, default=512, help="image side (the detector rescales to 800 anyway)")
    parser.add_argument("--stream", type=int, default=120, help="images in the RSS stream (tiny models, own process)")
    parser.add_argument("--rss-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        if args.rss_only:
            print(json.dumps(rss_over_stream(Path(tmp), args.stream)))
            return
        print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, {os.cpu_count()} CPUs (machine shared)")
        if args.images:
            speed(args, Path(tmp))
    if args.stream:  # a fresh process, so the full-size models' memory does not hide the stream's
        out = subprocess.run([sys.executable, __file__, "--rss-only", "--stream", str(args.stream)],
                             capture_output=True, text=True, check=True)
        rss = json.loads(next(line for line in reversed(out.stdout.splitlines()) if line.startswith("{")))  # the machine line follows it
        after = rss["after_batch_mb"]
        print(f"RSS over a {args.stream}-image stream (tiny models, {len(after)} batches, {rss['seconds']:.0f}s): after batch 1 "
              f"{after[0]:.0f} MB, after batch {len(after) // 4} {after[len(after) // 4 - 1]:.0f} MB, after the last "
              f"{after[-1]:.0f} MB; highest after-batch {max(after):.0f} MB; transient peak {rss['peak_mb']:.0f} MB")


if __name__ == "__main__":
    from _machine import print_machine

    print_machine("start")
    main()
    print_machine("end")
