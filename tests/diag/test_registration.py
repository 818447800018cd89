"""Registration of an edited output to its input: known crops, scales and stretches come back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("cv2")
skimage_data = pytest.importorskip("skimage.data")

from genlens.scorers.registration import describe_affine, register_images  # noqa: E402


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage_data.astronaut()


def test_crop_then_scale_is_recovered(astronaut: np.ndarray):
    # Crop x 60..452, y 50..482 (392 × 432), then resize by 1.25 to 490 × 540. Pillow maps pixel
    # centres, so output x = 1.25 (x_in − 60) + 0.125: shift (−74.875, −62.375), scale 1.25 on
    # both axes; the visible input is 392·432 / 512² = 0.6460 of it; the frame is fully covered.
    crop = astronaut[50:482, 60:452]
    output = np.asarray(Image.fromarray(crop).resize((490, 540), Image.BICUBIC))
    reg = register_images(astronaut, output)
    assert reg is not None
    assert reg.scale_x == pytest.approx(1.25, rel=0.01) and reg.scale_y == pytest.approx(1.25, rel=0.01)
    assert reg.shift_x == pytest.approx(-74.875, abs=1.0) and reg.shift_y == pytest.approx(-62.375, abs=1.0)
    assert reg.visible_fraction == pytest.approx(392 * 432 / 512 ** 2, abs=0.01)
    assert reg.covered_fraction == pytest.approx(1.0, abs=0.01)
    assert abs(reg.rotation_deg) < 0.2


def test_anisotropic_stretch_is_recovered(astronaut: np.ndarray):
    # 512 × 512 -> 700 × 512: scale_x = 700/512 = 1.3672, scale_y = 1, nothing cropped.
    output = np.asarray(Image.fromarray(astronaut).resize((700, 512), Image.BICUBIC))
    reg = register_images(astronaut, output)
    assert reg is not None
    assert reg.scale_x == pytest.approx(700 / 512, rel=0.01) and reg.scale_y == pytest.approx(1.0, rel=0.01)
    assert reg.visible_fraction == pytest.approx(1.0, abs=0.01)


def test_padding_shows_as_an_uncovered_frame(astronaut: np.ndarray):
    # The photo pasted at (64, 0) on a 640 × 512 black canvas: shift (64, 0), the input covers
    # 512·512 / (640·512) = 0.8 of the frame, all of it visible.
    canvas = np.zeros((512, 640, 3), np.uint8)
    canvas[:, 64:576] = astronaut
    reg = register_images(astronaut, canvas)
    assert reg is not None
    assert reg.shift_x == pytest.approx(64, abs=1.0) and reg.shift_y == pytest.approx(0, abs=1.0)
    assert reg.covered_fraction == pytest.approx(0.8, abs=0.01)
    assert reg.visible_fraction == pytest.approx(1.0, abs=0.01)


def test_unrelated_or_flat_images_do_not_register(astronaut: np.ndarray):
    assert register_images(astronaut, skimage_data.chelsea()) is None
    assert register_images(astronaut, np.full((300, 300, 3), 128, np.uint8)) is None


def test_describe_affine_by_hand():
    # x' = 0.5 x + 10, y' = 0.5 y − 20 maps a 100 × 100 input to [10, 60] × [−20, 30] in a
    # 50 × 50 frame: inside is [10, 50] × [0, 30] = 1200 of the mapped 2500 -> visible 0.48,
    # covered 1200 / 2500 = 0.48.
    reg = describe_affine(np.array([[0.5, 0.0, 10.0], [0.0, 0.5, -20.0]]), (100, 100), (50, 50))
    assert reg.scale_x == 0.5 and reg.scale_y == 0.5
    assert reg.visible_fraction == pytest.approx(0.48) and reg.covered_fraction == pytest.approx(0.48)
