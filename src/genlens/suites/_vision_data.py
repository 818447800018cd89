"""Datasets of the vision-* suites: the built-in scenes, and real sets read in their own layouts.

Real sets are never vendored: ``genlens data fetch vision-depth`` (or a copy given with
``--data-dir``) puts them under one root, each in its upstream layout:

- ``nyuv2/test/<scene>/rgb_<id>.png`` + ``depth_<id>.png`` (uint16 millimetres) — the labelled
  NYUv2 test split as extracted by Marigold's evaluation tarball. Valid: 1e-3 < d < 10 m, inside
  the Eigen crop (rows 45–470, columns 41–600) on 480×640 frames.
- ``diode/val/<indoors|outdoor>/<scene>/<scan>/<id>.png`` + ``<id>_depth.npy``,
  ``<id>_depth_mask.npy`` (+ ``<id>_normal.npy`` for normals) — DIODE's validation layout.
  Valid: the dataset's mask and 0.6 < d < 350 m; normals valid where the vector is non-zero.
- ``ade20k/ADEChallengeData2016/images/validation/<id>.jpg`` + ``annotations/validation/<id>.png``
  (0 = "other", ignored; 1–150 classes named in ``objectInfo150.txt`` or ``objectInfo150.csv``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from genlens.errors import InputError
from genlens.suites._vision_scenes import CLASSES, load_scene, scene_name

BUILTIN = "scenes"
DEPTH_RANGES = {BUILTIN: (1e-3, 1000.0), "nyuv2": (1e-3, 10.0), "diode": (0.6, 350.0)}
EIGEN_CROP = (slice(45, 471), slice(41, 601))  # rows, columns of a 480×640 NYUv2 frame
# Palette colours: the instruction names each class and the colour it must be painted.
PALETTE_COLOURS = (
    ("red", (230, 25, 75)), ("green", (60, 180, 75)), ("yellow", (255, 225, 25)), ("blue", (0, 130, 200)),
    ("orange", (245, 130, 48)), ("purple", (145, 30, 180)), ("cyan", (70, 240, 240)), ("magenta", (240, 50, 230)),
    ("lime", (210, 245, 60)), ("pink", (250, 190, 212)), ("teal", (0, 128, 128)), ("brown", (170, 110, 40)),
    ("navy", (0, 0, 128)), ("maroon", (128, 0, 0)), ("olive", (128, 128, 0)), ("black", (0, 0, 0)),
    ("white", (255, 255, 255)), ("grey", (128, 128, 128)),
)
SCENE_PALETTE = {i + 1: PALETTE_COLOURS[i] for i in range(len(CLASSES))}  # floor red, wall green, …
DATA_FIX = "run `genlens data fetch SUITE` or point --data-dir at a copy in the upstream layout (see docs/vision.md)"


@dataclass
class Sample:
    """One image of a dataset and where its ground truth lives (paths relative to the data root)."""

    dataset: str
    key: str  # unique within the dataset, safe in an item id
    image: str
    gt: dict[str, str]


def builtin_samples(count: int) -> list[Sample]:
    return [Sample(BUILTIN, f"{seed:04d}", scene_name(seed), {}) for seed in range(count)]


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _nyu(root: Path) -> Iterator[Sample]:
    for rgb in sorted((root / "nyuv2").glob("test/*/rgb_*.png")):
        depth = rgb.with_name(rgb.name.replace("rgb_", "depth_"))
        if depth.is_file():
            yield Sample("nyuv2", f"{rgb.parent.name}-{rgb.stem[4:]}", _relative(rgb, root), {"depth": _relative(depth, root)})


def _diode(root: Path, need_normals: bool) -> Iterator[Sample]:
    for rgb in sorted((root / "diode").glob("val/*/*/*/*.png")):
        stem = rgb.with_suffix("")
        gt = {"depth": Path(f"{stem}_depth.npy"), "mask": Path(f"{stem}_depth_mask.npy"), "normals": Path(f"{stem}_normal.npy")}
        needed = ("normals",) if need_normals else ("depth", "mask")
        if all(gt[k].is_file() for k in needed):
            yield Sample("diode", rgb.stem, _relative(rgb, root), {k: _relative(v, root) for k, v in gt.items() if v.is_file()})


def _ade(root: Path) -> Iterator[Sample]:
    base = root / "ade20k" / "ADEChallengeData2016"
    for image in sorted((base / "images" / "validation").glob("*.jpg")):
        annotation = base / "annotations" / "validation" / f"{image.stem}.png"
        if annotation.is_file():
            yield Sample("ade20k", image.stem, _relative(image, root), {"labels": _relative(annotation, root)})


def real_samples(root: Path, task: str) -> list[Sample]:
    """Every sample of the real sets found under ``root`` for a task (depth | seg | normals)."""
    if not root.is_dir():
        raise InputError("vision data dir does not exist", path=root, fix=DATA_FIX)
    if task == "depth":
        found = [*_nyu(root), *_diode(root, need_normals=False)]
    elif task == "normals":
        found = list(_diode(root, need_normals=True))
    else:
        found = list(_ade(root))
    if not found:
        raise InputError(f"no {task} dataset in its upstream layout under the data dir", path=root, fix=DATA_FIX)
    return found


# -- ground truth ------------------------------------------------------------------------------------------
def _npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read ground truth ({type(exc).__name__})", path=path, fix=DATA_FIX) from None


def _png(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image)
    except OSError as exc:
        raise InputError(f"cannot read ground truth ({type(exc).__name__})", path=path, fix=DATA_FIX) from None


def depth_truth(sample: Sample, root: Path | None) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Ground-truth depth (metres), the evaluation mask (valid range, dataset mask, crop), the range."""
    depth_range = DEPTH_RANGES[sample.dataset]
    if sample.dataset == BUILTIN:
        depth = np.asarray(load_scene(sample.image).depth, dtype=np.float32)
        return depth, (depth > depth_range[0]) & (depth < depth_range[1]), depth_range
    assert root is not None
    if sample.dataset == "nyuv2":
        depth = _png(root / sample.gt["depth"]).astype(np.float32) / 1000.0
        valid = (depth > depth_range[0]) & (depth < depth_range[1])
        if depth.shape == (480, 640):
            crop = np.zeros_like(valid)
            crop[EIGEN_CROP] = True
            valid &= crop
        return depth, valid, depth_range
    depth = _npy(root / sample.gt["depth"]).squeeze().astype(np.float32)
    mask = _npy(root / sample.gt["mask"]).squeeze().astype(bool)
    return depth, mask & (depth > depth_range[0]) & (depth < depth_range[1]), depth_range


def normals_truth(sample: Sample, root: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Unit ground-truth normals (x right, y up, z to the viewer) and where they are valid."""
    if sample.dataset == BUILTIN:
        normals = np.asarray(load_scene(sample.image).normals, dtype=np.float32)
        return normals, np.ones(normals.shape[:2], dtype=bool)
    assert root is not None
    normals = _npy(root / sample.gt["normals"]).astype(np.float32)
    norm = np.linalg.norm(normals, axis=-1, keepdims=True)
    valid = norm[..., 0] > 1e-3
    return normals / np.maximum(norm, 1e-6), valid


def seg_truth(sample: Sample, root: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class labels, instance (segment) labels and the valid mask (ADE20K: label 0 ignored)."""
    if sample.dataset == BUILTIN:
        scene = load_scene(sample.image)
        classes = np.asarray(scene.classes)
        return classes, np.asarray(scene.instances), np.ones(classes.shape, dtype=bool)
    assert root is not None
    labels = _png(root / sample.gt["labels"]).astype(np.int32)
    if labels.ndim == 3:
        labels = labels[..., 0]
    return labels, labels, labels > 0


@lru_cache(maxsize=8)
def ade_class_names(root: Path) -> dict[int, str]:
    """ADE20K's 150 class names from the dataset's own objectInfo150 table (first name of each row)."""
    base = root / "ade20k"
    for path in (*base.glob("**/objectInfo150.csv"), *base.glob("**/objectInfo150.txt")):
        names: dict[int, str] = {}
        with path.open(encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle, delimiter="," if path.suffix == ".csv" else "\t")
            for row in rows:
                if row and row[0].strip().isdigit():
                    names[int(row[0])] = row[-1].split(";")[0].strip()
        if names:
            return names
    return {}


@lru_cache(maxsize=4096)
def _present_classes(path: Path) -> tuple[int, ...]:
    labels = _png(path)
    ids, counts = np.unique(labels[labels > 0], return_counts=True)
    return tuple(int(i) for i in ids[np.argsort(-counts, kind="stable")])


def palette_for(sample: Sample, root: Path | None) -> dict[int, tuple[str, str, tuple[int, int, int]]]:
    """class id -> (class name, colour name, RGB) the instruction asks for.

    Built-in scenes use one fixed palette; for ADE20K the classes present in the image are named
    (largest first; at most ``len(PALETTE_COLOURS)``: pixels of smaller classes beyond that cannot be
    painted right and count as errors, as in any palette-limited protocol).
    """
    if sample.dataset == BUILTIN:
        return {cid: (CLASSES[cid - 1], name, rgb) for cid, (name, rgb) in SCENE_PALETTE.items()}
    assert root is not None
    names = ade_class_names(root)
    present = _present_classes(root / sample.gt["labels"])[: len(PALETTE_COLOURS)]
    return {cid: (names.get(cid, f"class {cid}"), *PALETTE_COLOURS[i]) for i, cid in enumerate(present)}


def oracle_map(item_id: str, prompt: str) -> Image.Image:
    """The exact ground-truth map a vision-* instruction asks for, for a built-in scene item.

    Test aid behind ``synthetic:vision-gt`` (not a model): depth as a 16-bit grey PNG of millimetres
    (or the requested colormap over normalised disparity, near = bright), the palette-painted class
    map, or the normal map RGB = (n + 1) / 2.
    """
    from genlens.errors import SpecError
    from genlens.suites._vision import COLORMAPS, colormap_table

    dataset, _sep, key = item_id.partition("-")
    if dataset != BUILTIN or not key.isdigit():
        raise SpecError(f"synthetic:vision-gt only knows the built-in scenes, not item {item_id!r}",
                        fix="run the vision-* suites without --data-dir (or --suite-arg dataset=scenes)")
    scene = load_scene(scene_name(int(key)))
    text = prompt.lower()
    if "depth map" in text:
        asked = next((name for name in COLORMAPS if f"the {name} colormap" in text), "grey")
        if asked == "grey":
            return Image.fromarray(np.round(scene.depth * 1000).astype(np.uint16))
        disparity = 1.0 / scene.depth
        scaled = (disparity - disparity.min()) / (disparity.max() - disparity.min())
        return Image.fromarray(colormap_table(asked)[np.round(scaled * 255).astype(np.uint8)].round().astype(np.uint8))
    if "segmentation" in text:
        out = np.zeros((*scene.classes.shape, 3), dtype=np.uint8)
        for cid, (_name, rgb) in SCENE_PALETTE.items():
            out[scene.classes == cid] = rgb
        return Image.fromarray(out)
    if "normal map" in text:
        return Image.fromarray(np.round((scene.normals + 1.0) / 2.0 * 255.0).astype(np.uint8))
    raise SpecError("synthetic:vision-gt answers only vision-* instructions (depth, segmentation, normal map)",
                    fix="use it with vision-depth, vision-seg or vision-normals")
