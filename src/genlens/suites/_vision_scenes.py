"""The built-in, exact ground truth of the vision-* suites: procedurally ray-cast scenes.

Each scene is a room corner (floor, back wall, side wall) holding boxes, spheres and vertical
cylinders with textures, lit by an ambient term and two directional lights with hard shadows.
Everything is ray cast in numpy from a pinhole camera at the origin looking down +z (y up), so
every pixel has an exact planar depth (z, metres), a surface normal, an instance id and a class.
A seed fully determines a scene; the input photo is cached as PNG and the ground truth as an
``.npz`` (loaded with ``allow_pickle=False``) under genlens's cache dir.

Normals are in camera coordinates with x right, y up, z towards the viewer (the convention the
vision-normals instruction asks for: RGB = (n + 1) / 2).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from genlens.imageio import atomic_write

SCENE_SIZE = (320, 240)  # width, height (4:3, as NYUv2)
FOV_Y_DEG = 55.0
CLASSES = ("floor", "wall", "box", "sphere", "cylinder")  # class ids 1..5 (0 = unlabelled, never produced)
SCENE_PREFIX = "vision/v1/scenes/"
_FAR = 1e9


@dataclass
class Scene:
    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32, planar z in metres
    normals: np.ndarray  # (H, W, 3) float32, unit, camera coords (x right, y up, z to viewer)
    instances: np.ndarray  # (H, W) int32, 1.. per object
    classes: np.ndarray  # (H, W) int32, 1..len(CLASSES)


@dataclass
class _Hit:
    t: np.ndarray
    normal: np.ndarray  # world coords (camera frame, z forward)


def _rays(width: int, height: int) -> np.ndarray:
    focal = 0.5 * height / np.tan(np.radians(FOV_Y_DEG) / 2)
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    dirs = np.stack([(u + 0.5 - width / 2) / focal, -(v + 0.5 - height / 2) / focal, np.ones_like(u)], axis=-1)
    return dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)


def _plane(origin: np.ndarray, dirs: np.ndarray, normal: tuple[float, float, float], offset: float) -> _Hit:
    """Plane n·p = offset, hit from the side its normal faces."""
    n = np.asarray(normal, dtype=np.float64)
    denom = dirs @ n
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (offset - origin @ n) / denom
    t = np.where((denom < -1e-9) & (t > 1e-6), t, _FAR)
    return _Hit(t, np.broadcast_to(n, dirs.shape))


def _sphere(origin: np.ndarray, dirs: np.ndarray, centre: np.ndarray, radius: float) -> _Hit:
    oc = origin - centre
    b = np.einsum("...k,...k->...", dirs, oc)
    c = np.einsum("...k,...k->...", oc, oc) - radius ** 2
    disc = b * b - c
    root = np.sqrt(np.maximum(disc, 0.0))
    t = -b - root
    t = np.where((disc > 0) & (t > 1e-6), t, _FAR)
    points = origin + dirs * np.where(t < _FAR, t, 0.0)[..., None]
    return _Hit(t, (points - centre) / radius)


def _box(origin: np.ndarray, dirs: np.ndarray, low: np.ndarray, high: np.ndarray) -> _Hit:
    """Axis-aligned box by the slab method; the normal is the face whose slab is entered last."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / np.where(np.abs(dirs) < 1e-12, 1e-12, dirs)
        t1, t2 = (low - origin) * inv, (high - origin) * inv
    near, far = np.minimum(t1, t2), np.maximum(t1, t2)
    t_near, t_far = near.max(axis=-1), far.min(axis=-1)
    axis = near.argmax(axis=-1)
    t = np.where((t_near <= t_far) & (t_near > 1e-6), t_near, _FAR)
    normal = np.zeros(dirs.shape)
    sign = -np.sign(np.take_along_axis(dirs, axis[..., None], axis=-1)[..., 0])
    np.put_along_axis(normal, axis[..., None], sign[..., None], axis=-1)
    return _Hit(t, normal)


def _cylinder(origin: np.ndarray, dirs: np.ndarray, centre_xz: tuple[float, float], radius: float,
              y_range: tuple[float, float]) -> _Hit:
    """Vertical (y-axis) cylinder with a top cap."""
    ox, oz = origin[..., 0] - centre_xz[0], origin[..., 2] - centre_xz[1]
    dx, dz = dirs[..., 0], dirs[..., 2]
    a = dx * dx + dz * dz
    b = ox * dx + oz * dz
    c = ox * ox + oz * oz - radius ** 2
    disc = b * b - a * c
    with np.errstate(divide="ignore", invalid="ignore"):
        t_side = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
    y_side = origin[..., 1] + t_side * dirs[..., 1]
    side_ok = (disc > 0) & (t_side > 1e-6) & (y_side >= y_range[0]) & (y_side <= y_range[1])
    t_side = np.where(side_ok, t_side, _FAR)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_cap = (y_range[1] - origin[..., 1]) / dirs[..., 1]
    px, pz = ox + t_cap * dx, oz + t_cap * dz
    cap_ok = (dirs[..., 1] < 0) & (t_cap > 1e-6) & (px * px + pz * pz <= radius ** 2)
    t_cap = np.where(cap_ok, t_cap, _FAR)
    t = np.minimum(t_side, t_cap)
    side_normal = np.stack([ox + t_side * dx, np.zeros_like(dx), oz + t_side * dz], axis=-1) / radius
    normal = np.where((t_cap < t_side)[..., None], np.array([0.0, 1.0, 0.0]), side_normal)
    return _Hit(t, normal)


def _objects(rng: np.random.Generator) -> list[tuple[str, dict]]:
    """The scene's objects: (class name, parameters); positions keep them on the floor and apart."""
    floor_y = -rng.uniform(1.2, 1.6)
    objects: list[tuple[str, dict]] = [
        ("floor", {"kind": "plane", "normal": (0.0, 1.0, 0.0), "offset": floor_y}),
        ("wall", {"kind": "plane", "normal": (0.0, 0.0, -1.0), "offset": -rng.uniform(8.0, 11.0)}),
        ("wall", {"kind": "plane", "normal": (1.0, 0.0, 0.0), "offset": -rng.uniform(3.5, 5.0)}),
    ]
    slots = rng.permutation([(-2.2, 4.0), (0.0, 4.6), (2.2, 4.2), (-1.1, 6.8), (1.3, 7.0)])
    kinds = ["box", "sphere", "cylinder", str(rng.choice(["box", "sphere", "cylinder"]))]
    for kind, (x, z) in zip(kinds, slots, strict=False):
        x, z = x + rng.uniform(-0.3, 0.3), z + rng.uniform(-0.3, 0.3)
        size = rng.uniform(0.45, 0.8)
        if kind == "box":
            height = rng.uniform(0.6, 1.6)
            objects.append(("box", {"kind": "box", "low": np.array([x - size, floor_y, z - size]),
                                    "high": np.array([x + size, floor_y + height, z + size])}))
        elif kind == "sphere":
            objects.append(("sphere", {"kind": "sphere", "centre": np.array([x, floor_y + size, z]), "radius": size}))
        else:
            objects.append(("cylinder", {"kind": "cylinder", "centre_xz": (x, z), "radius": size * 0.8,
                                         "y_range": (floor_y, floor_y + rng.uniform(0.8, 2.0))}))
    return objects


def _intersect(obj: dict, origin: np.ndarray, dirs: np.ndarray) -> _Hit:
    if obj["kind"] == "plane":
        return _plane(origin, dirs, obj["normal"], obj["offset"])
    if obj["kind"] == "sphere":
        return _sphere(origin, dirs, obj["centre"], obj["radius"])
    if obj["kind"] == "box":
        return _box(origin, dirs, obj["low"], obj["high"])
    return _cylinder(origin, dirs, obj["centre_xz"], obj["radius"], obj["y_range"])


def _nearest(objects: list[tuple[str, dict]], origin: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t_best = np.full(dirs.shape[:-1], _FAR)
    index = np.full(dirs.shape[:-1], -1)
    normal = np.zeros(dirs.shape)
    for i, (_name, obj) in enumerate(objects):
        hit = _intersect(obj, origin, dirs)
        closer = hit.t < t_best
        t_best = np.where(closer, hit.t, t_best)
        index = np.where(closer, i, index)
        normal = np.where(closer[..., None], hit.normal, normal)
    return t_best, index, normal


def render_scene(seed: int, size: tuple[int, int] = SCENE_SIZE) -> Scene:
    """Render scene ``seed`` (deterministic): photo, depth, normals, instances, classes."""
    rng = np.random.default_rng(seed)
    width, height = size
    objects = _objects(rng)
    dirs = _rays(width, height)
    origin = np.zeros(3)
    t, index, normal = _nearest(objects, origin, dirs)
    points = dirs * t[..., None]
    # Textures: checker floor, striped walls, banded objects, each modulating a per-object albedo.
    albedo = rng.uniform(0.25, 0.95, (len(objects), 3))
    base = albedo[index]
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    checker = ((np.floor(x * 1.5) + np.floor(z * 1.5)) % 2).astype(np.float64)
    stripes = 0.5 + 0.5 * np.sin(y * 9.0 + x * 3.0)
    bands = 0.5 + 0.5 * np.sin((x + z) * 14.0)
    pattern = np.select([index == 0, index <= 2], [0.55 + 0.45 * checker, 0.7 + 0.3 * stripes], 0.75 + 0.25 * bands)
    # Lights: ambient + two directional lights, each with a shadow ray.
    shade = np.full(t.shape, 0.22)
    for _ in range(2):
        light = rng.normal(size=3) * np.array([1.0, 0.3, 0.6]) + np.array([0.0, 1.6, -0.8])
        light /= np.linalg.norm(light)
        lambert = np.clip(normal @ light, 0.0, None)
        shadow_t, _i, _n = _nearest(objects, points + normal * 1e-4, np.broadcast_to(light, dirs.shape))
        lit = shadow_t >= _FAR
        shade += rng.uniform(0.35, 0.6) * lambert * lit
    rgb = np.clip(base * pattern[..., None] * shade[..., None] * 1.3, 0.0, 1.0)
    rgb += rng.normal(0.0, 0.01, rgb.shape)  # sensor noise: gives SIFT something on flat walls
    photo = (np.clip(rgb, 0, 1) ** (1 / 2.2) * 255 + 0.5).astype(np.uint8)
    class_ids = np.array([CLASSES.index(name) + 1 for name, _obj in objects])
    cam_normals = normal * np.array([1.0, 1.0, -1.0])  # z forward -> z towards the viewer
    return Scene(rgb=photo, depth=(t * dirs[..., 2]).astype(np.float32),
                 normals=(cam_normals / np.linalg.norm(cam_normals, axis=-1, keepdims=True)).astype(np.float32),
                 instances=(index + 1).astype(np.int32), classes=class_ids[index].astype(np.int32))


# -- on-disk cache ----------------------------------------------------------------------------------
def scene_name(seed: int) -> str:
    return f"{SCENE_PREFIX}scene-{seed:04d}.png"


def scene_seed(name: str) -> int:
    return int(Path(name).stem.split("-")[-1])


def _cache_root() -> Path:
    from genlens.judges.cache import cache_dir  # the one user cache dir rule

    return cache_dir()


def ensure_scene(name: str) -> Path:
    """The cached photo of a named scene (rendered once, with its ground truth beside it)."""
    path = _cache_root() / name
    if path.is_file() and path.with_suffix(".npz").is_file():
        return path
    scene = render_scene(scene_seed(name))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, depth=scene.depth, normals=scene.normals.astype(np.float32),
                        instances=scene.instances, classes=scene.classes)
    atomic_write(path.with_suffix(".npz"), buffer.getvalue())
    buffer = io.BytesIO()
    Image.fromarray(scene.rgb).save(buffer, format="PNG")
    atomic_write(path, buffer.getvalue())
    return path


@lru_cache(maxsize=32)
def load_scene(name: str) -> Scene:
    """A named scene from the cache (rendered on first use); arrays are read-only."""
    path = ensure_scene(name)
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as data:
        arrays = {key: data[key] for key in ("depth", "normals", "instances", "classes")}
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    for array in (*arrays.values(), rgb):
        array.setflags(write=False)
    return Scene(rgb=rgb, **arrays)
