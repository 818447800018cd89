"""Gallery: a few passes and failures per category, as small thumbnails with detections drawn on.

Thumbnails are downscaled WebP copies embedded as data URIs, so the page stays small and works
from disk; each links to the full image in its run directory by relative path.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from genlens.report.compare import outcome, sample_of
from genlens.report.summary import finite

THUMB_SIDE = 200  # longest side of a thumbnail, pixels
THUMB_QUALITY = 62
STRIP_SIDE = 720  # longest side of a row's gallery_image strip thumbnail
PER_SIDE = 4  # thumbnails per category per verdict (pass / fail)
BOX_PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324")


@dataclass
class Tile:
    """One gallery image with everything the card shows beside it."""

    row: dict[str, Any]
    verdict: str  # "pass" | "fail" | "high" | "low" | "unscored"
    href: str | None  # relative link to the full image
    thumb: str | None = None  # data URI; None when the image could not be read
    missing: str = ""  # why there is no thumbnail
    boxes: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None  # the image file, resolved and inside the run directory
    side: int = THUMB_SIDE  # longest side of its thumbnail (wider for a row's ``gallery_image`` strip)


@dataclass
class CategoryGallery:
    """Passes beside failures (or best beside worst scores) for one category of one run."""

    run: str
    category: str
    good_label: str
    bad_label: str
    good: list[Tile]
    bad: list[Tile]
    reasons: list[tuple[str, int]]  # most common failure reasons, with counts
    good_total: int = 0  # how many images fall on each side (the tiles are a spread of them)
    bad_total: int = 0


def spread(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """k rows evenly spaced through ``rows`` (all of them when there are at most k)."""
    if len(rows) <= k:
        return list(rows)
    if k == 1:
        return [rows[0]]
    return [rows[round(i * (len(rows) - 1) / (k - 1))] for i in range(k)]


OUTSIDE_RUN = "image path points outside the run directory; not shown"


def inside_run(run_dir: Path, name: Any) -> Path | None:
    """``run_dir / name`` resolved (symlinks and ``..`` followed) when it lies inside the run directory, else None.

    Rows come from files anyone can edit: an absolute path or ``../`` must never make the page embed
    or link a file from elsewhere on the disk.
    """
    if not isinstance(name, str) or not name:
        return None
    root = run_dir.resolve()
    path = (run_dir / name).resolve()
    return path if path != root and path.is_relative_to(root) else None


def relative_href(path: Path, base: Path) -> str:
    """A URL-quoted link to ``path`` relative to the folder ``base`` (where the page is written)."""
    return quote(Path(os.path.relpath(path.resolve(), base.resolve())).as_posix())


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow built without FreeType
        return ImageFont.load_default()


def valid_boxes(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The row's detections that have a box of 4 finite numbers."""
    boxes = row.get("boxes")
    out = []
    for det in boxes if isinstance(boxes, list) else []:
        box = det.get("box") if isinstance(det, dict) else None
        if isinstance(box, list | tuple) and len(box) == 4 and all(finite(v) is not None for v in box):
            out.append(det)
    return out


def _polygon(value: Any) -> list[tuple[float, float]] | None:
    """[[x, y], …] with at least three points of finite numbers, else None."""
    if not isinstance(value, list) or len(value) < 3:
        return None
    points = [(finite(p[0]), finite(p[1])) for p in value if isinstance(p, list | tuple) and len(p) == 2]
    if len(points) != len(value) or any(x is None or y is None for x, y in points):
        return None
    return points  # type: ignore[return-value]


def _stroke_colours(boxes: list[dict[str, Any]]) -> list[str]:
    """One palette colour per distinct label, in order of first appearance."""
    labels: dict[str, str] = {}
    return [labels.setdefault(str(d.get("label", "")), BOX_PALETTE[len(labels) % len(BOX_PALETTE)]) for d in boxes]


def _mask_alpha(det: dict[str, Any], size: tuple[int, int], scale: float, run_dir: Path | None) -> Image.Image | None:
    """An 'L' alpha layer of the detection's mask: ``polygon`` [[x, y], …] or ``mask`` (PNG path in the run dir)."""
    polygon = _polygon(det.get("polygon"))
    if polygon is not None:
        layer = Image.new("L", size, 0)
        ImageDraw.Draw(layer).polygon([(x * scale, y * scale) for x, y in polygon], fill=110)
        return layer
    mask_path = inside_run(run_dir, det.get("mask")) if run_dir is not None else None
    if mask_path is not None:
        try:
            with Image.open(mask_path) as img:
                binary = img.convert("L").resize(size, Image.Resampling.NEAREST)
        except (OSError, ValueError):
            return None
        return binary.point(lambda v: 110 if v else 0)
    return None


def draw_boxes(image: Image.Image, boxes: list[dict[str, Any]], scale: float, run_dir: Path | None = None) -> None:
    """Draw each detection's mask (tinted), box and a 'label colour score' tag, scaled into thumbnail pixels."""
    strokes = _stroke_colours(boxes)
    for det, stroke in zip(boxes, strokes, strict=True):
        alpha = _mask_alpha(det, image.size, scale, run_dir)
        if alpha is not None:
            image.paste(Image.new("RGB", image.size, stroke), (0, 0), alpha)
    draw = ImageDraw.Draw(image)
    font = _font(11)
    for det, stroke in zip(boxes, strokes, strict=True):
        label = str(det.get("label", ""))
        x1, y1, x2, y2 = (float(v) * scale for v in det["box"])
        draw.rectangle([x1, y1, x2, y2], outline=stroke, width=2)
        score = finite(det.get("score"))
        tag = " ".join(str(p) for p in (label, det.get("color") or "", f"{score:.2f}" if score is not None else "") if p)
        if tag:
            left, top, right, bottom = draw.textbbox((x1 + 2, y1 + 1), tag, font=font)
            draw.rectangle([left - 2, top - 1, right + 2, bottom + 1], fill=stroke)
            draw.text((x1 + 2, y1 + 1), tag, fill="white", font=font)


def _on_white(img: Image.Image) -> Image.Image:
    """RGB copy; transparent pixels over white (not black) so cut-outs read as they would on a page."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, (0, 0), rgba)
        return background
    return img.convert("RGB")


def thumbnail(path: Path, boxes: list[dict[str, Any]] | None = None, side: int = THUMB_SIDE,
              quality: int = THUMB_QUALITY, run_dir: Path | None = None) -> str:
    """A data URI of a downscaled WebP copy of ``path`` with ``boxes`` (original pixel coords) drawn on."""
    with Image.open(path) as img:
        original_w = img.size[0]  # boxes are in original pixels; draft() shrinks size
        img.draft("RGB", (side, side))  # JPEG: decode at reduced size
        image = _on_white(img)
    image.thumbnail((side, side), Image.Resampling.BILINEAR)
    if boxes:
        draw_boxes(image, boxes, image.size[0] / original_w, run_dir)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=quality, method=2)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _verdicts(rows: list[dict[str, Any]]) -> tuple[str, str, list[dict[str, Any]], list[dict[str, Any]]]:
    """Split a category's rows into (good label, bad label, good rows, bad rows)."""
    scored = [(r, outcome(r)) for r in rows]
    if all(v is None or v[0] == "binary" for _r, v in scored) and any(v for _r, v in scored):
        good = [r for r, v in scored if v and v[1] == 1.0]
        bad = [r for r, v in scored if v and v[1] == 0.0]
        return "passed", "failed", good, bad
    ranked = sorted(((v[1], r) for r, v in scored if v), key=lambda t: t[0])
    half = len(ranked) // 2
    bad = [r for _s, r in ranked[:half]]
    good = [r for _s, r in reversed(ranked[half:])]
    return "highest scores", "lowest scores", good, bad


def _reasons(rows: list[dict[str, Any]], top: int = 5) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for row in rows:
        reason = str(row.get("reason") or "").strip()
        if reason:
            counts[reason] = counts.get(reason, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def tile_for(row: dict[str, Any], verdict: str, run_dir: Path, base: Path) -> Tile:
    """A tile for one row: its image only when it lies inside the run directory (no image is read yet)."""
    path = inside_run(run_dir, str(row["image"])) if row.get("image") else None
    # A suite may give a composed strip (e.g. input | output | ground truth | error) to show instead.
    strip = inside_run(run_dir, str(row["gallery_image"])) if row.get("gallery_image") else None
    return Tile(row=row, verdict=verdict, boxes=[] if strip else valid_boxes(row), path=strip or path,
                href=relative_href(path, base) if path else None, side=STRIP_SIDE if strip else THUMB_SIDE)


def plan(result: dict[str, Any], rows: list[dict[str, Any]], base: Path, per_side: int = PER_SIDE) -> list[CategoryGallery]:
    """Which images each category shows (no image is read yet)."""
    run_dir = Path(result["run_dir"])
    by_cat: dict[str, list[dict[str, Any]]] = {str(c): [] for c in result.get("categories") or {}}  # suite's order
    for row in sorted(rows, key=lambda r: (str(r.get("item")), sample_of(r))):
        by_cat.setdefault(str(row.get("category") or "all"), []).append(row)
    galleries = []
    for category, cat_rows in by_cat.items():
        if not cat_rows:
            continue
        good_label, bad_label, good, bad = _verdicts(cat_rows)

        def tiles(chosen: list[dict[str, Any]], verdict: str) -> list[Tile]:
            return [tile_for(row, verdict, run_dir, base) for row in chosen]

        galleries.append(CategoryGallery(
            run=str(result.get("run")), category=category, good_label=good_label, bad_label=bad_label,
            good=tiles(spread(good, per_side), "pass" if good_label == "passed" else "high"),
            bad=tiles(spread(bad, per_side), "fail" if bad_label == "failed" else "low"),
            reasons=_reasons(bad if bad_label == "failed" else []), good_total=len(good), bad_total=len(bad),
        ))
    return galleries


def fill_thumbnails(results: list[dict[str, Any]], galleries: list[list[CategoryGallery]], workers: int = 4) -> None:
    """Read and downscale every planned image (threads: PIL decodes outside the GIL)."""
    tiles: list[tuple[Tile, Path]] = []
    for result, run_galleries in zip(results, galleries, strict=True):
        run_dir = Path(result["run_dir"])
        for gallery in run_galleries:
            tiles += [(tile, run_dir) for tile in gallery.good + gallery.bad]
    fill_tiles(tiles, workers)


def fill_tiles(tiles: list[tuple[Tile, Path]], workers: int = 4) -> None:
    """Give each (tile, its run directory) a thumbnail, or say why it has none (outside the run, unreadable …)."""
    jobs: dict[tuple[Path, int, str], list[tuple[Tile, Path]]] = {}
    for tile, run_dir in tiles:
        if tile.path is not None:  # the same row shown twice (aligned and per-run gallery) is drawn once
            key = (tile.path, tile.side, json.dumps(tile.boxes, sort_keys=True, default=str))
            jobs.setdefault(key, []).append((tile, run_dir))
        elif tile.row.get("image"):
            tile.missing = OUTSIDE_RUN
        else:
            tile.missing = f"no image ({tile.row.get('status') or 'not generated'})"

    def one(same: list[tuple[Tile, Path]]) -> None:
        first, run_dir = same[0]
        try:
            thumb, missing = thumbnail(first.path, first.boxes, side=first.side, run_dir=run_dir), ""  # type: ignore[arg-type]
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
            thumb, missing = None, f"image unreadable: {type(exc).__name__}"
        for tile, _run_dir in same:
            tile.thumb, tile.missing = thumb, missing

    with ThreadPoolExecutor(max_workers=max(1, min(workers, math.ceil(len(jobs) / 8) or 1))) as pool:
        list(pool.map(one, jobs.values()))
