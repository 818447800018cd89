"""Hand-worked checks of the edit metrics: PSNR, SSIM, SmartEdit weighting, CIELAB shift, ΔE2000."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from genlens.metrics import (
    PSNR_CAP_DB,
    as_float_rgb,
    box_keep_mask,
    color_drift,
    mask_bbox,
    mean_delta_e2000,
    mean_lab_shift,
    mse,
    psnr,
    smartedit_background,
    ssim,
)
from genlens.metrics.fidelity import windows_inside


def _block_pair() -> tuple[np.ndarray, np.ndarray]:
    """16×16 black image and the same with a 4×4 block raised by 0.1 in all three channels."""
    a = np.zeros((16, 16, 3), np.float32)
    b = a.copy()
    b[2:6, 3:7, :] += 0.1
    return a, b


def test_psnr_of_a_block_changed_by_a_known_amount():
    a, b = _block_pair()
    # 48 of 768 values differ by 0.1: MSE = 48·0.01/768 = 0.000625; PSNR = 10·log10(1/0.000625) = 10·log10(1600)
    assert mse(a, b) == pytest.approx(0.000625, rel=1e-6)
    assert psnr(a, b) == pytest.approx(32.0412, abs=1e-3)


def test_psnr_restricted_to_a_region():
    a, b = _block_pair()
    outside = np.ones((16, 16), bool)
    outside[2:6, 3:7] = False
    # Outside the block nothing changed: MSE 0 -> infinite PSNR, reported as the cap.
    assert psnr(a, b, keep=outside) == PSNR_CAP_DB
    # Inside the block every value differs by 0.1: MSE 0.01 -> 10·log10(100) = 20 dB.
    assert psnr(a, b, keep=~outside) == pytest.approx(20.0, abs=1e-4)
    assert psnr(a, b, keep=np.zeros((16, 16), bool)) is None


def test_ssim_of_two_flat_images_by_hand():
    a = np.full((24, 24, 3), 0.5, np.float32)
    b = np.full((24, 24, 3), 0.6, np.float32)
    # No variance, so SSIM = luminance term only: C1 = 0.01², C2 = 0.03²
    # (2·0.5·0.6 + 0.0001) / (0.25 + 0.36 + 0.0001) · (0 + C2)/(0 + C2) = 0.6001 / 0.6101 = 0.983609
    assert ssim(a, b) == pytest.approx(0.983609, abs=2e-5)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-6)


def test_ssim_matches_skimage_reference_definition():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(3)
    a = rng.random((40, 48, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    reference = structural_similarity(a.astype(np.float64), b.astype(np.float64), gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False, data_range=1.0, channel_axis=2)
    assert ssim(a, b) == pytest.approx(reference, abs=1e-4)


def test_ssim_outside_an_edit_uses_only_windows_clear_of_it():
    rng = np.random.default_rng(1)
    a = rng.random((40, 40, 3)).astype(np.float32)
    b = a.copy()
    b[10:20, 10:20] = 1.0 - b[10:20, 10:20]
    keep = box_keep_mask((40, 40), [(10 / 40, 10 / 40, 20 / 40, 20 / 40)])
    assert not keep[10:20, 10:20].any() and keep[:10].all()
    # Every window clear of the block sees identical pixels: SSIM exactly 1 there, less overall.
    assert ssim(a, b, keep=keep) == pytest.approx(1.0, abs=1e-6)
    assert ssim(a, b) < 0.9


def test_windows_inside_counts_by_hand():
    keep = np.ones((30, 30), bool)
    keep[10, 10] = False
    inside = windows_inside(keep)
    # 20×20 window positions; a window starting at row r covers r..r+10, so rows 0..10 (11) and
    # columns 0..10 (11) contain pixel (10, 10): 400 − 121 = 279 windows stay.
    assert inside.shape == (20, 20)
    assert int(inside.sum()) == 279


def test_smartedit_weighting_zeroes_the_edit_region():
    source = np.full((256, 256, 3), 100, np.uint8)
    edited = source.copy()
    edited[0:64, 0:64] = 200
    mask = np.zeros((256, 256), np.uint8)
    mask[0:64, 0:64] = 255
    full = smartedit_background(Image.fromarray(source), Image.fromarray(edited), Image.fromarray(mask))
    # Weight 1 − 255/255 = 0 on the block: both images are zero there, identical elsewhere.
    assert full["mse"] == 0.0 and full["psnr"] == PSNR_CAP_DB and full["ssim"] == pytest.approx(1.0, abs=1e-6)


def test_smartedit_soft_mask_is_not_binarised():
    source = np.full((256, 256, 3), 100, np.uint8)
    edited = source.copy()
    edited[0:64, 0:64] = 200
    mask = np.zeros((256, 256), np.uint8)
    mask[0:64, 0:64] = 128
    out = smartedit_background(Image.fromarray(source), Image.fromarray(edited), Image.fromarray(mask))
    # weight = 1 − 128/255 = 127/255; weighted difference = (100/255)·(127/255) = 0.1953094
    # MSE = 0.1953094² · (64·64)/(256·256) = 0.0381457 · 0.0625 = 0.00238411; PSNR = 10·log10(1/MSE) = 26.2267
    assert out["mse"] == pytest.approx(0.00238411, rel=1e-4)
    assert out["psnr"] == pytest.approx(26.2267, abs=1e-3)


def test_smartedit_resizes_to_256_bicubic_and_mask_nearest():
    source = Image.new("RGB", (100, 60), (50, 60, 70))
    edited = Image.new("RGB", (300, 200), (50, 60, 70))
    mask = Image.new("L", (100, 60), 0)
    out = smartedit_background(source, edited, mask)
    assert out["psnr"] == PSNR_CAP_DB  # flat images stay flat through bicubic resizing


def test_mask_bbox_is_the_box_of_nonzero_pixels():
    mask = np.zeros((50, 80), np.uint8)
    mask[10:20, 30:45] = 255
    mask[25, 5] = 3
    assert mask_bbox(mask) == (5, 10, 45, 26)
    assert mask_bbox(np.zeros((4, 4), np.uint8)) is None


def test_delta_e2000_white_black_and_grey_by_hand():
    white = np.ones((2, 2, 3), np.float32)
    black = np.zeros((2, 2, 3), np.float32)
    # Lab: white (100, 0, 0), black (0, 0, 0). L̄ = 50 so S_L = 1 and ΔE00 = ΔL = 100.
    assert mean_delta_e2000(white, black) == pytest.approx(100.0, abs=1e-3)
    grey = as_float_rgb(np.full((2, 2, 3), 128, np.uint8))
    # sRGB 128: (128/255 + 0.055)/1.055 = 0.527925; ^2.4 -> Y = 0.215861; L = 116·Y^(1/3) − 16 = 53.585.
    # White vs grey: ΔL = 46.415, L̄ = 76.7925, S_L = 1 + 0.015·(26.7925)²/sqrt(20 + 26.7925²) = 1.39640,
    # ΔE00 = 46.415 / 1.39640 = 33.239 (a* = b* = 0, so no chroma or hue terms).
    assert mean_delta_e2000(white, grey) == pytest.approx(33.239, abs=2e-3)


def test_mean_lab_shift_of_half_black_image_by_hand():
    before = np.ones((4, 4, 3), np.float32)
    after = before.copy()
    after[:, :2] = 0.0
    # Half the pixels go from L 100 to 0: mean L drops by 50; a*, b* stay 0.
    shift = mean_lab_shift(before, after)
    assert shift["dL"] == pytest.approx(-50.0, abs=1e-3)
    assert shift["da"] == pytest.approx(0.0, abs=5e-3) and shift["db"] == pytest.approx(0.0, abs=5e-3)  # sRGB white is a*, b* ≈ 0 to rounding
    assert shift["magnitude"] == pytest.approx(50.0, abs=1e-3)
    keep = np.ones((4, 4), bool)
    keep[:, :2] = False
    assert mean_lab_shift(before, after, keep)["magnitude"] == pytest.approx(0.0, abs=1e-6)


def test_a_yellow_cast_is_a_positive_b_shift():
    rng = np.random.default_rng(0)
    before = rng.uniform(0.2, 0.8, (16, 16, 3)).astype(np.float32)
    after = before.copy()
    after[..., 2] *= 0.8  # less blue = warmer/yellower
    drift = color_drift(before, after)
    assert drift["lab_shift_db"] > 3.0
    assert drift["delta_e2000"] > 1.0
    assert math.isclose(color_drift(before, before)["delta_e2000"], 0.0, abs_tol=1e-6)


def test_lab_conversion_matches_skimage_for_uint8_and_float():
    from skimage.color import rgb2lab

    from genlens.metrics import rgb_to_lab

    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    reference = rgb2lab(pixels)
    assert np.abs(rgb_to_lab(pixels) - reference).max() < 2e-3
    assert np.abs(rgb_to_lab(as_float_rgb(pixels)) - reference).max() < 2e-3


@pytest.mark.parametrize(("lab1", "lab2", "expected"), [
    # Sharma, Wu & Dalal (2005), test pairs 1–4: the CIEDE2000 reference values
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
])
def test_delta_e2000_published_pairs(lab1, lab2, expected):
    from genlens.metrics.color import delta_e2000

    assert float(delta_e2000(np.array([lab1]), np.array([lab2]))[0]) == pytest.approx(expected, abs=2e-4)



def test_clip_crop_follows_smartedits_box_convention():
    from PIL import Image

    from genlens.suites.reason_edit import crop_to_mask

    mask = np.zeros((256, 256), np.uint8)
    mask[10:26, 5:45] = 255  # non-zero x 5..44, y 10..25
    edited = Image.new("RGB", (256, 256), (1, 2, 3))
    # upstream box (5, 10, 44, 25): 39 × 15 pixels (last column and row excluded)
    assert crop_to_mask(edited, Image.fromarray(mask)).size == (39, 15)
    one = np.zeros((256, 256), np.uint8)
    one[7, 9] = 255
    assert crop_to_mask(edited, Image.fromarray(one)).size == (1, 1)
