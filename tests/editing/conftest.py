"""Fixtures for the editing suites: Reason-Edit and GEdit layouts built from skimage photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

REASON_FOLDERS = ("1-Left-Right", "2-Relative-Size", "3-Mirror", "4-Color", "5-Multiple-Objects", "6-Reasoning")


def sample_photo(index: int, size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A small real photo (skimage's bundled samples), resized."""
    from skimage import data

    photos = (data.astronaut, data.coffee, data.chelsea, data.rocket)
    return Image.fromarray(photos[index % len(photos)]()).convert("RGB").resize(size, Image.BICUBIC)


def drawn_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    """A black mask with a white ellipse in ``box`` (the region to edit)."""
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse(box, fill=255)
    return mask


def build_reason_edit(root: Path, per_folder: int = 2, size: tuple[int, int] = (64, 48)) -> Path:
    """A Reason-Edit tree: per folder ``*.png`` sources, ``*_mask.jpg`` masks, one instruction file."""
    for f_index, folder in enumerate(REASON_FOLDERS):
        directory = root / folder
        directory.mkdir(parents=True)
        lines = []
        for k in range(per_folder):
            stem = f"{k:03d}"
            sample_photo(f_index + k, size).save(directory / f"{stem}.png")
            drawn_mask(size, (8 + 4 * k, 8, 30 + 4 * k, 30)).save(directory / f"{stem}_mask.jpg", quality=95)
            lines.append(f"Turn the {'left' if k % 2 == 0 else 'right'} object in folder {f_index + 1} blue CLIP: a blue object {k}")
        (directory / f"{folder.split('-', 1)[1].replace('-', '_')}_text.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def reason_edit_dir(tmp_path: Path) -> Path:
    return build_reason_edit(tmp_path / "ReasonEdit")


def gedit_records(count_per_task: int = 1) -> list[dict]:
    """Records in the shape of HF stepfun-ai/GEdit-Bench rows (input_image as encoded bytes)."""
    import io

    from genlens.suites.gedit import TASK_TYPES

    rows = []
    for t_index, task in enumerate(TASK_TYPES):
        for k in range(count_per_task):
            buffer = io.BytesIO()
            sample_photo(t_index + k).save(buffer, format="PNG")
            key = f"{t_index:02d}{k:02d}abcdef"
            for language in ("en", "cn"):
                text = f"apply {task} number {k}" if language == "en" else f"对图片做{task}编辑{k}"
                rows.append({"key": key, "task_type": task, "instruction": text, "instruction_language": language,
                             "input_image": {"bytes": buffer.getvalue(), "path": f"{key}.png"},
                             "Intersection_exist": (k == 0)})
    return rows


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def noisy_copy(image: Image.Image, seed: int, amount: int = 6) -> Image.Image:
    rng = np.random.default_rng(seed)
    arr = np.asarray(image, dtype=np.int16) + rng.integers(-amount, amount + 1, (image.size[1], image.size[0], 3))
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep genlens's cache (GEdit exports, judge cache) inside the test's temp dir."""
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def gedit_dir(tmp_path: Path) -> Path:
    from genlens.suites.gedit import export_records

    return export_records(gedit_records(), tmp_path / "gedit", {"repo": "fixture", "revision": "test"})
