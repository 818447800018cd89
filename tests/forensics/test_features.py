"""Forensic features: fixed shape, hand-worked small cases, and each artifact showing where it should."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from genlens.forensics import features as F

from .families import tiles


def test_vector_has_fixed_names_and_length_for_any_size():
    for size in ((64, 64), (97, 41), (8, 8), (300, 200)):
        rng = np.random.default_rng(0)
        image = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
        vector = F.forensic_features(image)
        assert vector.shape == (len(F.FEATURE_NAMES),) and np.all(np.isfinite(vector))
    assert len(set(F.FEATURE_NAMES)) == len(F.FEATURE_NAMES)


def test_alpha_and_grey_images_become_rgb():
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))  # fully transparent black -> white
    assert F.to_rgb_array(rgba)[0, 0].tolist() == [255.0, 255.0, 255.0]
    assert F.to_rgb_array(Image.new("L", (4, 4), 7)).shape == (4, 4, 3)
    sixteen = Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16))  # 16-bit white -> 255, mid grey -> 128
    assert F.to_rgb_array(sixteen)[0, 0].tolist() == [255.0, 255.0, 255.0]
    assert F.to_rgb_array(Image.fromarray(np.full((4, 4), 32896, dtype=np.uint16)))[0, 0, 0] == 128.0


def test_cooccurrence_by_hand():
    # one row of horizontal residuals [0, 1, 1, -3] -> quantised/truncated (T=2) [0, 1, 1, -2] -> shifted [2, 3, 3, 0]
    # pairs (2,3) (3,3) (3,0) -> cells 13, 18, 15; no vertical residuals (empty)
    hist = F.cooccurrence(np.array([[0.0, 1.0, 1.0, -3.0]]), np.zeros((0, 4)), 1.0)
    expected = np.zeros(25)
    expected[[13, 18, 15]] = 1 / 3
    np.testing.assert_allclose(hist, expected)


def test_spectrum_of_a_pure_stripe_peaks_in_its_ring():
    x = np.arange(128)
    stripes = np.tile(127 + 100 * np.sin(2 * np.pi * 0.25 * x), (128, 1))  # 0.25 cycles/px -> ring 8 of 16
    spectrum = F.azimuthal_spectrum(stripes.astype(np.float32))
    assert int(np.argmax(spectrum)) == 8
    assert spectrum.mean() == pytest.approx(0.0, abs=1e-9)


def test_zigzag_order_is_jpegs():
    assert F._zigzag(6) == ((0, 1), (1, 0), (2, 0), (1, 1), (0, 2), (0, 3))


def test_dct_matrix_is_orthonormal():
    matrix = F.DCT8_F32  # shared with image_stats (one definition of the 8x8 DCT-II)
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(8), atol=1e-6)
    np.testing.assert_allclose(matrix[0], np.full(8, 1 / np.sqrt(8)), atol=1e-7)  # DC row: orthonormal scale


def _mean_feature(family: str, name: str, jpeg: bool = False) -> float:
    values = []
    for _, tile in tiles(family, 4):
        if jpeg:
            buffer = io.BytesIO()
            tile.save(buffer, format="JPEG", quality=70)
            tile = Image.open(buffer)
        values.append(F.forensic_features(tile)[F.FEATURE_NAMES.index(name)])
    return float(np.mean(values))


def test_each_artifact_shows_in_its_feature():
    # nearest 2x upsampling: every other first difference is zero -> energy at period 2
    assert _mean_feature("nearest", "peak_period_2") > _mean_feature("real", "peak_period_2") + 1.0
    # 8x8 block pull -> energy at period 8
    assert _mean_feature("block", "peak_period_8") > _mean_feature("real", "peak_period_8") + 1.0
    # JPEG q70 -> the aligned 8-grid is blockier than the rest
    assert _mean_feature("real", "blockiness_aligned", jpeg=True) > _mean_feature("real", "blockiness_aligned") + 0.05
    # bicubic from half resolution: little energy in the top frequency ring
    assert _mean_feature("bicubic", "spectrum_15") < _mean_feature("real", "spectrum_15") - 0.5
