"""People in an image: how many (faces) and whether a body pose is anatomically plausible.

Uses the legacy solutions of ``mediapipe==0.10.21``, whose TFLite weights ship in the wheel:

- **Count** = faces found by the full-range face detector on the whole image and on square
  tiles (the short side, a half and a quarter of it; see :func:`tiles` for the confidences),
  merged by non-maximum suppression (IoU > 0.3, or one box half inside another); a face cut by
  a tile edge is left to the tile that sees it whole. Tiling matters: the detector sees a
  192×192 input, so faces in a group photo are otherwise too small. Limits: people whose
  faces are hidden, turned away or under ~40 px are not counted (the count is a lower bound);
  OpenCV's Haar frontal-face count is reported beside it (``haar_faces``) but not used — it
  fires on texture too often to count with.
- **Pose** = the legacy Pose model (one person: the most prominent). Plausibility is the share
  of limb-proportion checks passed, on its 3-D world landmarks (metres, so foreshortening does
  not bend the ratios), among the checks whose landmarks are visible (visibility ≥ 0.5).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import numpy as np

FACE_CONFIDENCE = 0.75
SMALL_TILE_CONFIDENCE = 0.85
MIN_TILE = 192  # the detector's input size: smaller tiles are upsampled and gain nothing
VISIBLE = 0.5
_LOCK = threading.Lock()

# Pose landmark indices (BlazePose topology).
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28
SEGMENTS = {
    "l_upper_arm": (L_SHOULDER, L_ELBOW), "r_upper_arm": (R_SHOULDER, R_ELBOW),
    "l_forearm": (L_ELBOW, L_WRIST), "r_forearm": (R_ELBOW, R_WRIST),
    "l_thigh": (L_HIP, L_KNEE), "r_thigh": (R_HIP, R_KNEE),
    "l_shin": (L_KNEE, L_ANKLE), "r_shin": (R_KNEE, R_ANKLE),
    "shoulders": (L_SHOULDER, R_SHOULDER), "hips": (L_HIP, R_HIP),
}
#: (numerator segment, denominator segment, low, high): adult proportions with wide margins.
RATIO_CHECKS = (
    ("l_upper_arm", "r_upper_arm", 0.6, 1.67), ("l_forearm", "r_forearm", 0.6, 1.67),
    ("l_thigh", "r_thigh", 0.6, 1.67), ("l_shin", "r_shin", 0.6, 1.67),
    ("l_forearm", "l_upper_arm", 0.5, 1.6), ("r_forearm", "r_upper_arm", 0.5, 1.6),
    ("l_shin", "l_thigh", 0.6, 1.6), ("r_shin", "r_thigh", 0.6, 1.6),
    ("shoulders", "hips", 0.8, 2.5),
)


def box_overlap(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float]:
    """(IoU, intersection / smaller area) of two [x0, y0, x1, y1] boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    union = area_a + area_b - inter
    return (inter / union if union > 0 else 0.0), (inter / min(area_a, area_b) if min(area_a, area_b) > 0 else 0.0)


def merge_boxes(scored: list[tuple[float, tuple[float, ...]]]) -> list[tuple[float, tuple[float, ...]]]:
    """Non-maximum suppression: keep the best box of every group with IoU > 0.3 or half containment."""
    kept: list[tuple[float, tuple[float, ...]]] = []
    for score, box in sorted(scored, key=lambda t: -t[0]):
        if all(box_overlap(box, other)[0] <= 0.3 and box_overlap(box, other)[1] <= 0.5 for _s, other in kept):
            kept.append((score, box))
    return kept


def tiles(width: int, height: int) -> list[tuple[int, int, int, int, float]]:
    """(x0, y0, x1, y1, confidence): the whole image, then squares of the short side and of half
    and a quarter of it (at least 192 px), each at half-tile stride.

    Small tiles find small faces but also more face-like texture, so their detections must be
    surer: 0.75 for the whole image and short-side squares, 0.85 for the smaller squares (real
    faces score about 0.9; texture false positives 0.65–0.75 in our checks on skimage's photos).
    """
    out = {(0, 0, width, height, FACE_CONFIDENCE)}
    short = min(width, height)
    for divisor, confidence in ((1, FACE_CONFIDENCE), (2, SMALL_TILE_CONFIDENCE), (4, SMALL_TILE_CONFIDENCE)):
        side = short // divisor
        if side < MIN_TILE and divisor > 1:
            continue
        stride = max(1, side // 2)
        for y in range(0, max(1, height - side + stride), stride):
            for x in range(0, max(1, width - side + stride), stride):
                out.add((x, y, min(width, x + side), min(height, y + side), confidence))
    return sorted(out)


def _cut_by_tile(box: Any, tile: tuple[int, int, int, int], size: tuple[int, int], margin: float = 0.01) -> bool:
    """A face box touching a tile edge that is not an image edge: a partial face, seen whole in another tile."""
    x0, y0, x1, y1 = tile
    return ((box.xmin <= margin and x0 > 0) or (box.ymin <= margin and y0 > 0)
            or (box.xmin + box.width >= 1 - margin and x1 < size[0]) or (box.ymin + box.height >= 1 - margin and y1 < size[1]))


@lru_cache(maxsize=1)
def _face_detector() -> Any:
    import mediapipe as mp

    return mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=FACE_CONFIDENCE)


@lru_cache(maxsize=1)
def _pose_model() -> Any:
    import mediapipe as mp

    return mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)


def detect_faces(rgb: np.ndarray) -> list[dict[str, Any]]:
    """Face boxes [x0, y0, x1, y1] in pixels with scores, merged over tiles."""
    height, width = rgb.shape[:2]
    found: list[tuple[float, tuple[float, ...]]] = []
    detector = _face_detector()
    for x0, y0, x1, y1, confidence in tiles(width, height):
        with _LOCK:
            result = detector.process(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
        for detection in result.detections or []:
            if detection.score[0] < confidence:
                continue
            box = detection.location_data.relative_bounding_box
            w, h = x1 - x0, y1 - y0
            if _cut_by_tile(box, (x0, y0, x1, y1), (width, height)):
                continue
            found.append((float(detection.score[0]), (x0 + box.xmin * w, y0 + box.ymin * h,
                                                      x0 + (box.xmin + box.width) * w, y0 + (box.ymin + box.height) * h)))
    return [{"box": [round(v, 1) for v in box], "score": score, "label": "face"} for score, box in merge_boxes(found)]


def haar_faces(rgb: np.ndarray) -> int:
    """OpenCV's Haar frontal-face count (informative only; see the module notes)."""
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return len(cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24)))


def pose_plausibility(world: np.ndarray, visibility: np.ndarray) -> dict[str, Any]:
    """Limb-proportion checks on 33 world landmarks (N×3, metres) whose visibility ≥ 0.5.

    Returns the segment lengths, each evaluated check and ``plausibility`` = passed / evaluated
    (None when no check could be evaluated).
    """
    lengths = {name: float(np.linalg.norm(world[a] - world[b])) for name, (a, b) in SEGMENTS.items()
               if visibility[a] >= VISIBLE and visibility[b] >= VISIBLE}
    checks = []
    for top, bottom, low, high in RATIO_CHECKS:
        if top in lengths and bottom in lengths and lengths[bottom] > 0:
            ratio = lengths[top] / lengths[bottom]
            checks.append({"check": f"{top}/{bottom}", "ratio": ratio, "range": [low, high], "ok": low <= ratio <= high})
    passed = sum(1 for c in checks if c["ok"])
    return {"segments": lengths, "checks": checks, "checks_evaluated": len(checks),
            "plausibility": passed / len(checks) if checks else None,
            "failed_checks": [c["check"] for c in checks if not c["ok"]]}


def estimate_pose(rgb: np.ndarray) -> dict[str, Any]:
    """The most prominent person's pose checks, or ``{"pose_found": False}``."""
    with _LOCK:
        result = _pose_model().process(np.ascontiguousarray(rgb))
    if result.pose_world_landmarks is None:
        return {"pose_found": False, "plausibility": None, "checks_evaluated": 0}
    world = np.array([[p.x, p.y, p.z] for p in result.pose_world_landmarks.landmark])
    visibility = np.array([p.visibility for p in result.pose_landmarks.landmark])
    return {"pose_found": True, **pose_plausibility(world, visibility)}


def analyse_people(rgb: np.ndarray) -> dict[str, Any]:
    """Faces (count and boxes), the Haar count for reference, and the pose checks of one person."""
    faces = detect_faces(rgb)
    return {"people_found": len(faces), "faces": faces, "haar_faces": haar_faces(rgb), **estimate_pose(rgb)}


def identity() -> dict[str, Any]:
    import mediapipe

    return {"model": f"mediapipe {mediapipe.__version__} legacy face_detection (full range) + pose (complexity 1)",
            "face_confidence": FACE_CONFIDENCE, "tiling": "short-side squares, half stride"}
