"""``genlens diagnose DIR``: the weight-free probes on every image of a folder, nothing generated.

Bad files do not stop the walk: each is reported as one line and the rest are finished.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genlens.errors import GenlensError, InputError
from genlens.suites.base import IMAGE_EXTENSIONS

DIAGNOSE_EXTENSIONS = (*IMAGE_EXTENSIONS, ".bmp", ".tif", ".tiff")
#: Columns of the table view, in order: (key, header, format).
TABLE_COLUMNS = (
    ("size", "size", "{}"),
    ("laplacian_var", "lap var", "{:.0f}"),
    ("edge_blur_sigma", "blur σ", "{:.2f}"),
    ("noise_sigma", "noise σ", "{:.2f}"),
    ("cast_b", "b*", "{:+.1f}"),
    ("cast_a", "a*", "{:+.1f}"),
    ("jpeg", "JPEG q", "{}"),
    ("patch_grid", "grid", "{}"),
    ("upsampling_period", "resamp", "{}"),
)


@dataclass
class Diagnosis:
    """Per-image probe results, the files that could not be read, and a summary."""

    images: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ok = self.images

        def median(key: str) -> float | None:
            values = [r[key] for r in ok if isinstance(r.get(key), (int, float))]
            return float(np.median(values)) if values else None

        def count(predicate: Callable[[dict[str, Any]], bool]) -> int:
            return sum(1 for r in ok if predicate(r))

        return {
            "images": len(ok), "unreadable": len(self.errors),
            "median_laplacian_var": median("laplacian_var"), "median_edge_blur_sigma": median("edge_blur_sigma"),
            "median_noise_sigma": median("noise_sigma"), "median_cast_b": median("cast_b"),
            "jpeg_files": count(lambda r: r.get("format") == "jpeg"),
            "jpeg_history_in_lossless": count(lambda r: bool(r.get("jpeg_history"))),
            "double_compression_hints": count(lambda r: r.get("double_compression_hint") is True),
            "patch_grids": count(lambda r: r.get("patch_grid") is not None),
            "resampling_peaks": count(lambda r: r.get("upsampling_period") is not None),
        }

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary(), "images": self.images, "errors": self.errors}


def find_images(directory: Path) -> list[Path]:
    """Image files under ``directory`` (recursive, sorted; hidden files and folders skipped), or the
    one file when ``directory`` is an image file."""
    if directory.is_file():
        if directory.suffix.lower() not in DIAGNOSE_EXTENSIONS:
            raise InputError("is a file but not an image genlens reads", path=directory,
                             fix=f"give a folder or an image ({', '.join(sorted(DIAGNOSE_EXTENSIONS))})")
        return [directory]
    if not directory.is_dir():
        raise InputError("no such folder or file", path=directory, fix="give a folder that holds images, or one image file")
    found = []
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() in DIAGNOSE_EXTENSIONS:
            found.append(path)
    return found


def diagnose_paths(paths: Iterable[Path], root: Path, advance: Callable[[int], None] = lambda n: None,
                   workers: int = 1) -> Diagnosis:
    """Probe every path (in ``workers`` processes); an unreadable one becomes an error line, never an exception."""
    paths = list(paths)
    result = Diagnosis()
    if workers > 1 and len(paths) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            outcomes = pool.map(probe_one, paths, chunksize=max(1, min(16, len(paths) // (4 * workers))))
            for path, (row, error) in zip(paths, outcomes, strict=True):
                _collect(result, path, root, row, error)
                advance(1)
        return result
    for path in paths:
        row, error = probe_one(path)
        _collect(result, path, root, row, error)
        advance(1)
    return result


def probe_one(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(probe row, None) or (None, one-line error) for one file; safe to run in a worker process."""
    from genlens.scorers.image_stats import probe_file

    try:
        return probe_file(path), None
    except (GenlensError, OSError) as exc:
        return None, str(exc) if isinstance(exc, GenlensError) else f"{path}: {exc}"
    except ImportError:  # a missing optional package is the install's problem, not the image's: one line for the run
        raise
    except Exception as exc:  # a probe that fails on one odd image must not stop the folder
        return None, f"{path}: could not be probed ({type(exc).__name__}: {exc}) — please report it"


def _collect(result: Diagnosis, path: Path, root: Path, row: dict[str, Any] | None, error: str | None) -> None:
    if row is None:
        result.errors.append(error or f"{path}: unknown error")
        return
    row = {"image": path.relative_to(root).as_posix(), **row}
    row["size"] = f"{row['width']}x{row['height']}"
    row["jpeg"] = _jpeg_cell(row)
    result.images.append(row)


def _jpeg_cell(row: dict[str, Any]) -> str:
    quality = row.get("jpeg_quality")
    if quality is None:
        return "-"
    text = f"{quality}" if row.get("format") == "jpeg" else f"~{quality}"
    return text + ("×2?" if row.get("double_compression_hint") else "")


def table_cells(row: dict[str, Any]) -> list[str]:
    """One table row as text: '-' for a probe with no reading."""
    cells = [row["image"]]
    for key, _header, fmt in TABLE_COLUMNS:
        value = row.get(key)
        cells.append("-" if value is None else fmt.format(value))
    return cells


def render_rows(diagnosis: Diagnosis) -> str:
    """JSON lines, one per image (list values kept, everything else plain)."""
    return "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in diagnosis.images)
