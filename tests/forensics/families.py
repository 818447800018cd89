"""Synthetic image families with known artifacts, built from the same scenes (skimage photos, tiled).

- ``real``: tiles of the photos at native resolution (the "real" set);
- ``nearest`` / ``bicubic``: the photo halved (box filter), then enlarged 2x by nearest / bicubic,
  tiled at the same positions (the classic upsampling traces: period-2 replicas vs a smooth spectrum);
- ``block``: each 8x8 block pulled 40% toward its mean (a periodic 8-pixel grid);
- ``jpeg``: the real tiles stored as JPEG quality 70;
- ``noise_a`` / ``noise_b``: the real photo plus Gaussian noise (sigma 2) from two seeds — two
  families drawn from one process, for the leakage checks.

A scene's tiles in one tile-row share one prompt, so prompt-grouped splits have real groups.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from genlens.runs.store import RunStore
from genlens.types import GenerationRecord, Item

TILE = 64
PHOTOS = ("astronaut", "chelsea", "coffee", "immunohistochemistry", "hubble_deep_field", "retina")


@cache
def photo(name: str) -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(getattr(data, name)()[..., :3])


def _transform(pixels: np.ndarray, family: str) -> np.ndarray:
    if family in ("real", "jpeg"):
        return pixels
    if family in ("noise_a", "noise_b"):
        rng = np.random.default_rng(0 if family == "noise_a" else 1)
        return (pixels + rng.normal(0.0, 2.0, pixels.shape)).round().clip(0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    width, height = image.size
    if family in ("nearest", "bicubic"):
        small = image.resize((width // 2, height // 2), Image.Resampling.BOX)
        method = Image.Resampling.NEAREST if family == "nearest" else Image.Resampling.BICUBIC
        return np.asarray(small.resize((width // 2 * 2, height // 2 * 2), method))
    if family == "block":
        h8, w8 = height // 8 * 8, width // 8 * 8
        arr = pixels[:h8, :w8].astype(np.float32)
        means = arr.reshape(h8 // 8, 8, w8 // 8, 8, 3).mean(axis=(1, 3), keepdims=True)
        blended = 0.6 * arr.reshape(h8 // 8, 8, w8 // 8, 8, 3) + 0.4 * means
        return blended.reshape(h8, w8, 3).round().clip(0, 255).astype(np.uint8)
    raise ValueError(family)


@cache
def _family_photo(name: str, family: str) -> np.ndarray:
    return _transform(photo(name), family)


@cache
def textured_positions(name: str) -> tuple[tuple[int, int], ...]:
    """Tile positions (row, col) of a photo whose real tile is not flat (luminance std >= 12)."""
    pixels = photo(name)
    rows, cols = pixels.shape[0] // TILE, pixels.shape[1] // TILE
    keep = []
    for r in range(rows):
        for c in range(cols):
            if pixels[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE].mean(axis=-1).std() >= 12:
                keep.append((r, c))
    return tuple(keep)


def tiles(family: str, per_photo: int, *, offset: int = 0) -> Iterator[tuple[str, Image.Image]]:
    """(prompt, tile) pairs: ``per_photo`` textured tiles from each photo, row-major, from tile ``offset``."""
    for name in PHOTOS:
        pixels = _family_photo(name, family)
        positions = textured_positions(name)
        for index in range(offset, offset + per_photo):
            r, c = positions[index % len(positions)]
            tile = Image.fromarray(pixels[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE])
            yield f"a {name} scene, tile row {r}", tile


def encode(image: Image.Image, family: str) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    if family == "jpeg":
        image.save(buffer, format="JPEG", quality=70)
        return buffer.getvalue(), "jpeg"
    image.save(buffer, format="PNG")
    return buffer.getvalue(), "png"


def write_folder(folder: Path, family: str, per_photo: int, *, offset: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, (_, tile) in enumerate(tiles(family, per_photo, offset=offset)):
        data, fmt = encode(tile, family)
        (folder / f"{index:04d}.{'jpg' if fmt == 'jpeg' else 'png'}").write_bytes(data)
    return folder


def make_run(run_dir: Path, family: str, per_photo: int, *, offset: int = 0, frames: list[list[Image.Image]] | None = None) -> Path:
    """A run directory holding ``family`` tiles as ok generations, written straight into the store."""
    (run_dir / "images").mkdir(parents=True, exist_ok=True)
    store = RunStore(run_dir / "genlens.sqlite")
    items: list[Item] = []
    prompts_seen: dict[str, int] = {}
    samples: dict[str, int] = {}
    for index, (prompt, tile) in enumerate(tiles(family, per_photo, offset=offset)):
        item_id = f"p{prompts_seen.setdefault(prompt, len(prompts_seen)):03d}"
        sample = samples[item_id] = samples.get(item_id, -1) + 1
        if sample == 0:
            items.append(Item(id=item_id, prompt=prompt))
        data, fmt = encode(tile, family)
        relative = f"images/{item_id}/{sample}.{'jpg' if fmt == 'jpeg' else 'png'}"
        (run_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / relative).write_bytes(data)
        trace = []
        for k, frame in enumerate((frames or [])[index] if frames else []):
            frame_rel = f"images/{item_id}/{sample}_partial{k}.png"
            frame.save(run_dir / frame_rel)
            trace.append(frame_rel)
        store.put_generation(GenerationRecord(
            fingerprint=f"{family}-{index}", item_id=item_id, sample=sample, seed=index, status="ok",
            images=[relative], image_sizes=[len(data)], formats=[fmt], trace=trace,
        ))
    store.put_items(items)
    store.close()
    return run_dir
