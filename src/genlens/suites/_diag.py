"""Shared parts of the diag-* suites: package-data prompts, run-time input photos, row helpers.

Edit inputs are built from scikit-image's bundled photos (no download) by a named recipe, e.g.
``diag/v1/size/coffee-600x1000.png``, and cached under genlens's cache dir (``$GENLENS_CACHE_DIR``,
else ``$XDG_CACHE_HOME/genlens``, else ``~/.cache/genlens``). The same recipe always gives the same pixels, so a name is an identity.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genlens.errors import GenlensError, InputError
from genlens.imageio import atomic_write
from genlens.stats import mean_or_none, wilson_interval
from genlens.suites.base import Suite
from genlens.types import ScoredGeneration, ScoreInput

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")
INPUT_PREFIX = "diag/v1/"
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "diag"


@cache
def prompts(name: str) -> dict[str, Any]:
    """A diag suite's package data (``genlens/data/diag/<name>.json``)."""
    return json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))


def require(suite: str, *modules: str) -> None:
    """Fail early, in one line, when a diag suite's scoring dependency is not installed."""
    import importlib.util

    fixes = {"cv2": "pip install 'genlens[diag]'", "skimage": "pip install 'genlens[diag]'",
             "rapidocr": "pip install 'genlens[ocr]'", "onnxruntime": "pip install 'genlens[ocr]'",
             "mediapipe": "pip install --no-deps mediapipe==0.10.21 absl-py attrs flatbuffers 'protobuf>=4.25.3,<5' (see scripts/install)"}
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise GenlensError(f"{suite} scoring needs {', '.join(missing)}, which is not installed", fix=fixes.get(missing[0]))


def photo(name: str) -> np.ndarray:
    """One of scikit-image's bundled RGB photos (shipped inside the wheel)."""
    if name not in PHOTOS:
        raise InputError(f"unknown photo {name!r}", fix=f"use one of: {', '.join(PHOTOS)}")
    try:
        from skimage import data
    except ImportError:
        raise InputError("the diag suites' input photos need scikit-image", fix="pip install 'genlens[diag]'") from None
    return np.ascontiguousarray(getattr(data, name)()[..., :3])


def fit_to(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop to the aspect ratio of ``size`` (width, height), then resize (Lanczos) to it."""
    height, width = rgb.shape[:2]
    target = size[0] / size[1]
    if width / height > target:
        new_w = round(height * target)
        left = (width - new_w) // 2
        rgb = rgb[:, left:left + new_w]
    else:
        new_h = round(width / target)
        top = (height - new_h) // 2
        rgb = rgb[top:top + new_h]
    return np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS))


def red_disc(rgb: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """The photo with a solid red disc (radius 1/10 of the short side) centred at (25%, 25%).

    Returns the image and the disc's bounding box [x0, y0, x1, y1] as fractions of the size.
    """
    out = rgb.copy()
    height, width = out.shape[:2]
    radius = min(height, width) / 10
    cx, cy = width * 0.25, height * 0.25
    y, x = np.mgrid[0:height, 0:width]
    out[(x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2] = (220, 20, 30)
    return out, [(cx - radius) / width, (cy - radius) / height, (cx + radius) / width, (cy + radius) / height]


def input_name(suite: str, recipe: str) -> str:
    return f"{INPUT_PREFIX}{suite}/{recipe}.png"


def build_input(name: str) -> np.ndarray:
    """Pixels of a named input: ``…/size/<photo>-<W>x<H>.png``, ``…/blur/<photo>.png``, ``…/tone/<photo>-disc.png``."""
    stem = Path(name).stem
    kind = Path(name).parent.name
    if kind == "size":
        photo_name, _sep, dims = stem.rpartition("-")
        width, height = (int(v) for v in dims.split("x"))
        return fit_to(photo(photo_name), (width, height))
    if kind == "tone" and stem.endswith("-disc"):
        return red_disc(photo(stem[: -len("-disc")]))[0]
    if kind == "blur":
        return photo(stem)
    raise InputError(f"no recipe for diag input {name!r}", fix="use an item name from the suite")


def ensure_input(name: str, data_dir: Path | None = None) -> Path:
    """A file for a named input: ``data_dir/name`` if present, else built once into the cache."""
    if data_dir is not None and (data_dir / name).is_file():
        return data_dir / name
    from genlens.judges.cache import cache_dir  # the one user cache dir rule (GENLENS_CACHE_DIR, XDG, ~)

    path = cache_dir() / name
    if not path.is_file():
        buffer = io.BytesIO()
        Image.fromarray(build_input(name)).save(buffer, format="PNG")
        atomic_write(path, buffer.getvalue())
    return path


def load_input_rgb(name: str, data_dir: Path | None = None) -> np.ndarray:
    with Image.open(ensure_input(name, data_dir)) as image:
        return np.asarray(image.convert("RGB"))


def score_each(batch: Sequence[ScoreInput], score_one: Callable[[ScoreInput], tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Score each image on its own: an unreadable image is an ``error`` record (retried on the next
    ``genlens score``), never an exception that stops the run's other images."""
    out = []
    for inp in batch:
        try:
            out.append(score_one(inp))
        except InputError as exc:
            out.append(("error", {"reason": str(exc)}))
    return out


class DiagSuite(Suite):
    """A diag suite: its edit inputs are built on demand from bundled photos."""

    def input_path(self, name: str) -> Path:
        if name.startswith(INPUT_PREFIX):
            return ensure_input(name, self.data_dir)
        return super().input_path(name)


# ---------------------------------------------------------------------------------------------
# aggregation helpers shared by the diag suites
# ---------------------------------------------------------------------------------------------
def base_row(entry: ScoredGeneration) -> dict[str, Any]:
    gen = entry.generation
    return {"item": entry.item.id, "sample": gen.sample, "category": entry.item.category, "prompt": entry.item.prompt,
            "status": gen.status, "image": gen.images[0] if gen.images else None}


def split_scored(scored: Sequence[ScoredGeneration], scorer: str) -> tuple[list[tuple[ScoredGeneration, dict[str, Any]]], list[dict[str, Any]], dict[str, int]]:
    """(entries with a score value, rows for the rest, counts): refused/error/unscored kept apart."""
    done: list[tuple[ScoredGeneration, dict[str, Any]]] = []
    rows: list[dict[str, Any]] = []
    counts = {"refused": 0, "errored": 0, "unscored": 0, "scorer_errors": 0}
    for entry in scored:
        gen = entry.generation
        if gen.status != "ok":
            counts["refused" if gen.status == "refused" else "errored"] += 1
            rows.append({**base_row(entry), "passed": None, "reason": f"{gen.status}: {gen.reason}"})
            continue
        record = entry.scores.get(scorer)
        if record is None:
            counts["unscored"] += 1
            continue
        if record.status != "ok":
            counts["scorer_errors"] += 1
            rows.append({**base_row(entry), "passed": None, "reason": f"scorer {record.status}: {record.value.get('reason', '')}"})
            continue
        done.append((entry, record.value))
    return done, rows, counts


def rate(values: Sequence[bool | None]) -> float | None:
    known = [1.0 if v else 0.0 for v in values if v is not None]
    return mean_or_none(known)


def rate_interval(values: Sequence[bool | None]) -> list[float] | None:
    known = [v for v in values if v is not None]
    return wilson_interval(sum(1 for v in known if v), len(known))


def mean_of(rows: Sequence[dict[str, Any]], key: str, transform: Callable[[float], float] = float) -> float | None:
    return mean_or_none([transform(r[key]) for r in rows if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)])
