"""Where did the input go? Scale, shift and crop between an input image and an edited output.

SIFT keypoints matched with Lowe's ratio test, then a RANSAC affine fit (OpenCV): output
coordinates = A · input coordinates + t. From A and t we read the scale on each axis, the
rotation, the shift, and how much of the input is still visible in the output — so a model that
silently crops, pads, stretches or rescales is caught even when the output size looks right.
Matching runs on copies at most ``WORK_SIDE`` pixels wide; the fit is mapped back to full size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

WORK_SIDE = 512
MIN_INLIERS = 12
RATIO = 0.75


@dataclass
class Registration:
    """An affine map from input pixels to output pixels, with what it implies."""

    matrix: list[list[float]]  # 2×3: [[a, b, tx], [c, d, ty]]
    scale_x: float
    scale_y: float
    rotation_deg: float
    shift_x: float  # where the input's top-left corner lands in the output (pixels)
    shift_y: float
    visible_fraction: float  # share of the input's area that lies inside the output frame
    covered_fraction: float  # share of the output frame filled by the input
    inliers: int
    matches: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _gray8(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    import cv2

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    factor = min(1.0, WORK_SIDE / max(gray.shape))
    if factor < 1.0:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray.astype(np.uint8)), factor


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _clip_polygon(points: np.ndarray, width: float, height: float) -> np.ndarray:
    """Sutherland–Hodgman clip of a convex polygon to the rectangle [0, width] × [0, height]."""
    edges = ((0, 0.0, 1), (0, width, -1), (1, 0.0, 1), (1, height, -1))
    poly = [tuple(p) for p in points]
    for axis, bound, sign in edges:
        if not poly:
            break
        out = []
        for i, current in enumerate(poly):
            previous = poly[i - 1]
            inside_c = sign * (current[axis] - bound) >= 0
            inside_p = sign * (previous[axis] - bound) >= 0
            if inside_c != inside_p:
                t = (bound - previous[axis]) / (current[axis] - previous[axis])
                out.append(tuple(previous[k] + t * (current[k] - previous[k]) for k in range(2)))
            if inside_c:
                out.append(current)
        poly = out
    return np.array(poly, dtype=np.float64).reshape(-1, 2)


def describe_affine(matrix: np.ndarray, input_size: tuple[int, int], output_size: tuple[int, int],
                    inliers: int = 0, matches: int = 0) -> Registration:
    """Scale, rotation, shift and visible/covered fractions implied by a 2×3 input→output map."""
    a, b, tx = matrix[0]
    c, d, ty = matrix[1]
    width, height = input_size
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    mapped = corners @ matrix[:, :2].T + matrix[:, 2]
    mapped_area = _polygon_area(mapped)
    inside = _clip_polygon(mapped, *output_size)
    inside_area = _polygon_area(inside) if len(inside) >= 3 else 0.0
    return Registration(
        matrix=[[float(v) for v in row] for row in matrix],
        scale_x=float(np.hypot(a, c)), scale_y=float(np.hypot(b, d)),
        rotation_deg=float(np.degrees(np.arctan2(c, a))),
        shift_x=float(tx), shift_y=float(ty),
        visible_fraction=inside_area / mapped_area if mapped_area > 0 else 0.0,
        covered_fraction=inside_area / float(output_size[0] * output_size[1]),
        inliers=inliers, matches=matches,
    )


def register_images(source: np.ndarray, output: np.ndarray) -> Registration | None:
    """The affine map from ``source`` to ``output`` pixels (RGB or grey uint8 arrays), or None.

    SIFT is not invariant to strong stretching, so when the direct fit fails and the aspect
    ratios differ, the output is first resized to the source's size (undoing a whole-frame
    stretch), registered, and the resize is composed back into the map. None when fewer than
    ``MIN_INLIERS`` matches agree (unrelated images, flat images).
    """
    import cv2

    direct = _fit(source, output)
    if direct is not None:
        return direct
    (h_in, w_in), (h_out, w_out) = source.shape[:2], output.shape[:2]
    if abs(np.log((w_out / h_out) / (w_in / h_in))) < 0.02:
        return None
    unstretched = cv2.resize(output, (w_in, h_in), interpolation=cv2.INTER_AREA)
    fit = _fit(source, unstretched)
    if fit is None:
        return None
    sx, sy = w_out / w_in, h_out / h_in  # pixel centres: x_out + 0.5 = sx (x + 0.5)
    stretch = np.array([[sx, 0.0, 0.5 * (sx - 1)], [0.0, sy, 0.5 * (sy - 1)], [0.0, 0.0, 1.0]])
    matrix = (stretch @ np.vstack([np.array(fit.matrix), [0.0, 0.0, 1.0]]))[:2]
    return describe_affine(matrix, (w_in, h_in), (w_out, h_out), fit.inliers, fit.matches)


def _fit(source: np.ndarray, output: np.ndarray) -> Registration | None:
    """One SIFT + RANSAC affine fit (see :func:`register_images`)."""
    import cv2

    src, f_src = _gray8(source)
    out, f_out = _gray8(output)
    sift = cv2.SIFT_create(nfeatures=1000)
    kp1, des1 = sift.detectAndCompute(src, None)
    kp2, des2 = sift.detectAndCompute(out, None)
    if des1 is None or des2 is None or len(kp1) < MIN_INLIERS or len(kp2) < MIN_INLIERS:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(des1, des2, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    pts1 = np.float32([kp1[m.queryIdx].pt for m in good]) / f_src
    pts2 = np.float32([kp2[m.trainIdx].pt for m in good]) / f_out
    matrix, mask = cv2.estimateAffine2D(pts1, pts2, method=cv2.RANSAC, ransacReprojThreshold=3.0 / f_out,
                                        maxIters=4000, confidence=0.999, refineIters=20)
    if matrix is None or mask is None or int(mask.sum()) < MIN_INLIERS:
        return None
    height_in, width_in = source.shape[:2]
    height_out, width_out = output.shape[:2]
    return describe_affine(matrix, (width_in, height_in), (width_out, height_out), int(mask.sum()), len(good))


def warp_to_source(output: np.ndarray, registration: Registration, source_shape: tuple[int, ...]) -> np.ndarray:
    """The output resampled into the source's frame (for pixel-wise comparisons after a shift)."""
    import cv2

    matrix = np.array(registration.matrix, dtype=np.float64)
    inverse = cv2.invertAffineTransform(matrix)
    height, width = source_shape[:2]
    return cv2.warpAffine(output, inverse, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def source_mask_visible(registration: Registration, source_shape: tuple[int, ...], output_size: tuple[int, int]) -> np.ndarray:
    """Boolean mask over the source: pixels whose image lands inside the output frame."""
    height, width = source_shape[:2]
    matrix = np.array(registration.matrix, dtype=np.float64)
    y, x = np.mgrid[0:height, 0:width]
    ox = matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2]
    oy = matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2]
    return (ox >= 0) & (oy >= 0) & (ox <= output_size[0] - 1) & (oy <= output_size[1] - 1)
