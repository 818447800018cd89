"""People counting and pose plausibility: mediapipe on skimage's astronaut, checks by hand."""

from __future__ import annotations

import numpy as np
import pytest

from genlens.scorers.people import box_overlap, merge_boxes, pose_plausibility, tiles


def test_box_overlap_and_merging_by_hand():
    # [0,0,10,10] and [5,0,15,10]: intersection 50, union 150 -> IoU 1/3, half of the smaller inside.
    iou, inside = box_overlap((0, 0, 10, 10), (5, 0, 15, 10))
    assert iou == pytest.approx(1 / 3) and inside == pytest.approx(0.5)
    boxes = [(0.9, (0, 0, 10, 10)), (0.8, (5, 0, 15, 10)), (0.7, (2, 2, 6, 6)), (0.95, (40, 40, 50, 50))]
    # (5,0,15,10) overlaps the first by IoU 1/3 > 0.3 -> dropped; (2,2,6,6) lies fully inside -> dropped.
    assert [b for _s, b in merge_boxes(boxes)] == [(40, 40, 50, 50), (0, 0, 10, 10)]


def test_tiles_cover_a_wide_image_at_two_scales():
    # 1536 × 512: the whole image; squares of 512 at stride 256 (x = 0 … 1024: 5) at confidence
    # 0.75; squares of 256 at stride 128 (x = 0 … 1280: 11, y = 0, 128, 256: 3) at 0.85; a
    # quarter (128 px) is under the detector's 192-px input and is skipped. 1 + 5 + 33 = 39 tiles.
    found = tiles(1536, 512)
    expected = {(0, 0, 1536, 512, 0.75)} | {(x, 0, x + 512, 512, 0.75) for x in range(0, 1025, 256)}
    expected |= {(x, y, x + 256, y + 256, 0.85) for x in range(0, 1281, 128) for y in (0, 128, 256)}
    assert found == sorted(expected) and len(found) == 39


def skeleton(upper_arm: float = 0.30, forearm: float = 0.26) -> np.ndarray:
    """A standing adult in metres: shoulders 0.38 apart, hips 0.26, thighs 0.45, shins 0.42."""
    world = np.zeros((33, 3))
    world[11], world[12] = (0.19, -0.5, 0), (-0.19, -0.5, 0)
    world[13], world[14] = (0.19, -0.5 + upper_arm, 0), (-0.19, -0.5 + 0.30, 0)
    world[15], world[16] = (0.19, -0.5 + upper_arm + forearm, 0), (-0.19, -0.5 + 0.30 + 0.26, 0)
    world[23], world[24] = (0.13, 0, 0), (-0.13, 0, 0)
    world[25], world[26] = (0.13, 0.45, 0), (-0.13, 0.45, 0)
    world[27], world[28] = (0.13, 0.87, 0), (-0.13, 0.87, 0)
    return world


def test_plausible_proportions_pass_every_check():
    # l/r pairs equal (ratio 1); forearm/upper 0.26/0.30 = 0.87; shin/thigh 0.42/0.45 = 0.93;
    # shoulders/hips 0.38/0.26 = 1.46: all inside their ranges -> 9 of 9.
    result = pose_plausibility(skeleton(), np.ones(33))
    assert result["checks_evaluated"] == 9 and result["plausibility"] == 1.0


def test_a_left_arm_three_times_too_long_fails_three_checks():
    # Left upper arm 0.90: l/r upper arm 3.0 (> 1.67) and l forearm/upper 0.29 (< 0.5) fail;
    # the left forearm stays 0.26 so l/r forearm passes -> 7 of 9 pass.
    result = pose_plausibility(skeleton(upper_arm=0.90), np.ones(33))
    assert result["failed_checks"] == ["l_upper_arm/r_upper_arm", "l_forearm/l_upper_arm"]
    assert result["plausibility"] == pytest.approx(7 / 9)


def test_hidden_landmarks_leave_checks_out():
    visibility = np.ones(33)
    visibility[[23, 24, 25, 26, 27, 28]] = 0.1  # legs and hips hidden: 4 arm checks remain
    result = pose_plausibility(skeleton(), visibility)
    assert result["checks_evaluated"] == 4 and result["plausibility"] == 1.0
    assert pose_plausibility(skeleton(), np.zeros(33))["plausibility"] is None


def test_mediapipe_counts_the_astronaut_once_twice_and_not_in_a_coffee_cup():
    pytest.importorskip("mediapipe")
    data = pytest.importorskip("skimage.data")
    from genlens.scorers.people import analyse_people

    astronaut = data.astronaut()
    one = analyse_people(astronaut)
    assert one["people_found"] == 1 and one["pose_found"] is True
    x0, y0, x1, y1 = one["faces"][0]["box"]  # the face sits near (170..280, 65..175) in the photo
    assert 150 < x0 < x1 < 300 and 40 < y0 < y1 < 200
    pair = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    assert analyse_people(pair)["people_found"] == 2
    assert analyse_people(data.coffee())["people_found"] == 0


def test_six_small_people_on_a_large_canvas_are_all_counted():
    # Six 256-px astronauts (faces ≈ 55 px) on a 1024² grey canvas: in the whole image the faces
    # shrink to ≈ 10 px at the detector's 192-px input and are lost; the 256-px tiles see them at
    # ≈ 40 px. Expected count: 6.
    pytest.importorskip("mediapipe")
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    from genlens.scorers.people import detect_faces

    small = np.asarray(Image.fromarray(data.astronaut()).resize((256, 256)))
    canvas = np.full((1024, 1024, 3), 120, np.uint8)
    for index in range(6):
        y, x = 266 * (index // 3), 266 * (index % 3)
        canvas[y:y + 256, x:x + 256] = small
    assert len(detect_faces(canvas)) == 6
