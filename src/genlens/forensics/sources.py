"""Where forensic analyses get their images: a run's generations (with prompts) or a folder of photos."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from genlens.errors import InputError
from genlens.forensics.normalise import ImageInfo
from genlens.runs.store import RunStore
from genlens.scorers.image_stats import quality_from_table
from genlens.suites.base import IMAGE_EXTENSIONS

DB_NAME = "genlens.sqlite"
MIN_SIDE = 32  # images with a side below this are skipped (and counted): too few pixels for the features


@dataclass(frozen=True)
class RunImage:
    """One generated image of a run: its file, the prompt that produced it, and its frames (if streamed)."""

    path: Path
    relative: str
    item_id: str
    sample: int
    prompt: str
    trace: tuple[Path, ...] = ()


def open_store(run_dir: Path) -> RunStore:
    """The run's store, or a one-line error when ``run_dir`` is not a genlens run."""
    db = run_dir / DB_NAME
    if not db.is_file():
        raise InputError("not a genlens run directory (no genlens.sqlite)", path=run_dir,
                         fix="give a directory made by `genlens run`, `genlens generate` or `genlens import`")
    return RunStore(db)


def run_images(run_dir: Path) -> list[RunImage]:
    """Every image of every ``ok`` generation, in item/sample order, with its item's prompt."""
    store = open_store(run_dir)
    try:
        items = store.items()
        out = []
        for gen in store.generations("ok"):
            item = items.get(gen.item_id)
            prompt = item.prompt if item else gen.item_id
            for relative in gen.images:
                trace = tuple(run_dir / p for p in frames_of(relative, gen.images, gen.trace))
                out.append(RunImage(run_dir / relative, relative, gen.item_id, gen.sample, prompt, trace))
    finally:
        store.close()
    return out


def frames_of(image: str, images: list[str], trace: list[str]) -> list[str]:
    """The partial frames of one image: those in ``<image stem>.trace/`` (the engine's layout), else
    all frames when the generation has a single image."""
    own = [frame for frame in trace if PurePosixPath(frame).parent.name == f"{PurePosixPath(image).stem}.trace"]
    return own if own or len(images) > 1 else list(trace)


def folder_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted), or a one-line error when there are none."""
    if not folder.is_dir():
        raise InputError("folder of real images does not exist", path=folder, fix="give --real <dir with .png/.jpg files>")
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not found:
        raise InputError("no images found (png, jpg, jpeg, webp)", path=folder, fix="point --real at a folder of photos")
    return found


def too_small(info: ImageInfo) -> bool:
    """True for images with a side under :data:`MIN_SIDE`: skipped, so one thumbnail cannot shrink every crop."""
    return min(info.width, info.height) < MIN_SIDE


def image_info(path: Path) -> ImageInfo:
    """Size and container format from the header alone (no full decode)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            fmt = (image.format or "bin").lower()
            tables = getattr(image, "quantization", None) or {}
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise InputError(f"not a readable image ({type(exc).__name__})", path=path,
                         fix="remove or replace the file, then run the same command again") from None
    if fmt == "webp" and not webp_is_lossless(path):
        return ImageInfo(width, height, "webp-lossy")
    if fmt in ("jpeg", "jpg", "mpo"):
        quality = quality_from_table(np.asarray(tables[0], dtype=np.float64))[0] if 0 in tables else None
        return ImageInfo(width, height, "jpeg", quality)
    return ImageInfo(width, height, fmt)


def webp_is_lossless(path: Path) -> bool:
    """True when the WebP file's image bitstream is VP8L (lossless); ``VP8 `` (with or without alpha) is lossy.

    Walks the RIFF chunks (simple ``VP8 ``/``VP8L`` files, or ``VP8X`` extended ones) up to the first
    image chunk; an animation or anything unreadable counts as lossy, the safe side for the rule.
    """
    with path.open("rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WEBP":
            return False
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                return False
            kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if kind in (b"VP8L", b"VP8 ", b"ANMF"):
                return kind == b"VP8L"
            handle.seek(size + (size & 1), 1)  # chunks are padded to an even size
