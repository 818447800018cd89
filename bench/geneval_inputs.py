"""How much GenEval's model inputs moved when genlens switched to mmdet's and open_clip's exact preprocessing.

Measured in one run on seeded synthetic images (smooth colour fields, edges and noise; no downloads):

1. detector resize: float bilinear + round (genlens before) vs OpenCV INTER_LINEAR on uint8 (mmcv imrescale):
   share of resized uint8 values that differ, per GenEval-typical image size;
2. detector padding: share of the padded input that is padding (0 before, (128 − mean) / std now);
3. detector normalise: largest difference between (x − mean) / std and mmcv's (x − mean) · (1 / std);
4. CLIP crops: share of detection-crop sizes whose centre-crop origin moves (floor vs round), and the
   largest pixel difference between transformers' CLIPImageProcessor and open_clip's transform.

    PYTHONPATH=src python bench/geneval_inputs.py [--images 12] [--crops 2000]
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image


def synthetic(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth colour field with a few hard-edged shapes and mild noise (uint8 RGB)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.zeros((height, width, 3), np.float32)
    for channel in range(3):
        for _ in range(4):
            cx, cy, s = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.1, 0.5) * max(width, height)
            img[..., channel] += rng.uniform(40, 120) * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * s * s))
    for _ in range(6):
        x1, y1 = rng.integers(0, width - 8), rng.integers(0, height - 8)
        img[y1:y1 + rng.integers(4, max(height // 3, 5)), x1:x1 + rng.integers(4, max(width // 3, 5))] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def main() -> None:
    import cv2
    import torch
    import torch.nn.functional as F
    from transformers import CLIPImageProcessor

    from genlens.scorers.clip import OPENAI_MEAN, OPENAI_STD, open_clip_crop_origin, open_clip_pixels, open_clip_resize_size
    from genlens.scorers.detection import MMDET_MEAN, MMDET_STD, keep_ratio_size, mmdet_pixels

    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--crops", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    print("1-3. detector input (mmdet test pipeline)")
    for width, height in ((512, 512), (1024, 1024), (768, 512), (1344, 768)):
        differ = total = 0
        pad_share = norm_diff = 0.0
        for _ in range(args.images):
            img = synthetic(rng, width, height)
            new_w, new_h = keep_ratio_size(width, height)
            exact = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
            old = F.interpolate(torch.from_numpy(img).permute(2, 0, 1)[None].float(), size=(new_h, new_w),
                                mode="bilinear", align_corners=False).round().clamp(0, 255)[0].permute(1, 2, 0).numpy()
            differ += int((old != exact).sum())
            total += exact.size
            pixels, padded, _ = mmdet_pixels(img)
            pad_share = 1 - new_h * new_w / (padded[0] * padded[1])
            inner = pixels[:new_h, :new_w]
            divided = (exact.astype(np.float32) - np.float32(MMDET_MEAN)) / np.float32(MMDET_STD)
            norm_diff = max(norm_diff, float(np.abs(inner - divided).max()))
        print(f"  {width}x{height} -> {keep_ratio_size(width, height)}: resize values differing {differ / total:.2%}; "
              f"padding share {pad_share:.2%}; normalise max |diff| {norm_diff:.2e}")

    print("4. CLIP colour crops (open_clip eval transform)")
    sizes = rng.integers(16, 700, size=(args.crops, 2))
    moved = 0
    for w, h in sizes:
        rw, rh = open_clip_resize_size(int(w), int(h), 224)
        left, top = open_clip_crop_origin(rw, rh, 224)
        moved += int((left, top) != ((rw - 224) // 2, (rh - 224) // 2))
    print(f"  crop origin moved by one pixel (floor -> round) for {moved / len(sizes):.1%} of {len(sizes)} random crop sizes")
    processor = CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224},
                                   image_mean=list(OPENAI_MEAN), image_std=list(OPENAI_STD))
    same_diff = moved_diff = 0.0
    for w, h in sizes[:60]:
        crop = Image.fromarray(synthetic(rng, int(w), int(h)))
        theirs = processor(images=[crop], return_tensors="pt")["pixel_values"]
        ours = open_clip_pixels([crop], 224)
        diff = float((theirs - ours).abs().max())
        rw, rh = open_clip_resize_size(int(w), int(h), 224)
        if open_clip_crop_origin(rw, rh, 224) == ((rw - 224) // 2, (rh - 224) // 2):
            same_diff = max(same_diff, diff)
        else:
            moved_diff = max(moved_diff, diff)
    print(f"  transformers processor vs open_clip pixels, max |diff|: {same_diff:.2e} where the crop agrees, "
          f"{moved_diff:.2f} where it moved (normalised units)")


if __name__ == "__main__":
    main()
