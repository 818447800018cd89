"""Hand-worked checks of every vision-* scoring rule: alignment, polarity, colormap inversion,
palette and Hungarian matching, angular error, and the built-in scenes' ground truth."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")

from genlens.suites import _vision as V


def test_least_squares_recovers_scale_and_shift():
    pred = np.array([0.0, 1.0, 2.0])
    gt = np.array([1.0, 3.0, 5.0])  # gt = 2·pred + 1
    assert V.least_squares_scale_shift(pred, gt, np.ones(3, bool)) == pytest.approx((2.0, 1.0))
    # Only the masked pixels count: the last one (an outlier) is left out.
    gt_bad = np.array([1.0, 3.0, 50.0, 7.0])
    pred4 = np.array([0.0, 1.0, 2.0, 3.0])
    assert V.least_squares_scale_shift(pred4, gt_bad, np.array([True, True, False, True])) == pytest.approx((2.0, 1.0))


def test_depth_metrics_by_hand():
    gt = np.ones(3)
    pred = np.array([1.0, 1.3, 2.0])  # ratios 1, 1.3, 2
    m = V.depth_metrics(pred, gt, np.ones(3, bool))
    assert m["abs_rel"] == pytest.approx((0 + 0.3 + 1.0) / 3)
    assert m["delta1"] == pytest.approx(1 / 3)  # 1.3 >= 1.25
    assert m["delta2"] == pytest.approx(2 / 3)  # 1.3 < 1.5625 <= 2
    assert m["delta3"] == pytest.approx(2 / 3)  # 2 > 1.953125
    assert m["hits_delta1"] == 1 and m["n_valid"] == 3


def test_polarity_depth_fit_and_disparity_fit_are_both_found():
    gt = np.array([1.0, 2.0, 4.0])
    valid = np.ones(3, bool)
    # Inverted depth (near = bright, linear in depth): the depth-space fit is exact with a negative scale.
    fit = V.align_depth(10.0 - gt, gt, valid, (1e-3, 100.0))
    aligned = V.apply_fit(10.0 - gt, fit, (1e-3, 100.0))
    assert fit["alignment"] == "depth" and fit["scale"] == pytest.approx(-1.0) and fit["shift"] == pytest.approx(10.0)
    assert np.allclose(aligned, gt)
    # Proportional to disparity (what most "near is bright" maps are): only the disparity fit is exact.
    fit = V.align_depth(4.0 / gt, gt, valid, (1e-3, 100.0))
    aligned = V.apply_fit(4.0 / gt, fit, (1e-3, 100.0))
    assert fit["alignment"] == "disparity" and fit["abs_rel_disparity_fit"] == pytest.approx(0.0, abs=1e-6)  # float32
    assert fit["abs_rel_depth_fit"] > 0.01
    assert np.allclose(aligned, gt)


def test_constant_map_scores_the_hand_worked_numbers():
    gt = np.array([1.0, 2.0, 4.0])
    fit = V.align_depth(np.full(3, 0.5), gt, np.ones(3, bool), (1e-3, 100.0))
    aligned = V.apply_fit(np.full(3, 0.5), fit, (1e-3, 100.0))
    # Depth fit: every pixel becomes the mean 7/3 -> AbsRel (4/3 + 1/6 + 5/12) / 3 = 23/36.
    assert fit["abs_rel_depth_fit"] == pytest.approx(23 / 36)
    # Disparity fit: every pixel 1 / mean(1, 1/2, 1/4) = 12/7 -> AbsRel (5/7 + 1/7 + 4/7) / 3 = 10/21: kept.
    assert fit["abs_rel_disparity_fit"] == pytest.approx(10 / 21)
    assert fit["alignment"] == "disparity" and np.allclose(aligned, 12 / 7)
    assert fit["abs_rel"] == pytest.approx(10 / 21, rel=1e-6)  # the kept fit's metrics come with it


def test_alignment_clips_to_the_dataset_range():
    gt = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.0, 2.0, 3.0, 40.0])
    fit = V.align_depth(pred, gt, np.array([True, True, True, False]), (0.5, 5.0))
    aligned = V.apply_fit(pred, fit, (0.5, 5.0))
    assert fit["n_valid"] == 3 and fit["abs_rel"] == pytest.approx(0.0, abs=1e-6)
    assert aligned[3] == pytest.approx(5.0)  # the unmasked outlier, fitted exactly elsewhere, capped at max depth


@pytest.mark.parametrize("name", ["inferno", "viridis", "turbo", "jet", "grey"])
def test_colormap_inversion_reads_back_positions(name):
    table = V.colormap_table(name)
    rgb = np.round(table[[0, 37, 100, 200, 255]]).astype(np.uint8)[None]
    values, distance = V.invert_colormap(rgb, name)
    # Neighbouring entries of a colormap can be closer than the 6-bit lookup grid: within 4 steps of 255.
    assert np.allclose(values[0], np.array([0, 37, 100, 200, 255]) / 255, atol=4.5 / 255)
    assert distance.max() < 6


def test_colormap_detection_and_off_colormap_count():
    ramp = np.round(V.colormap_table("viridis")[np.tile(np.arange(256), (16, 1))]).astype(np.uint8)
    values, info = V.decode_depth(ramp, requested="inferno")
    assert info["decoded_as"] == "viridis" and info["colormap_matches_request"] is False
    ramp_off = ramp.copy()
    ramp_off[0, :10] = (255, 0, 255)  # magenta is far from viridis
    _values, info = V.decode_depth(ramp_off, requested="viridis")
    assert info["decoded_as"] == "viridis" and info["off_colormap_pixels"] == 10
    assert np.allclose(values[1], np.arange(256) / 255, atol=4.5 / 255)


def test_grey_maps_are_read_by_luminance():
    grey = np.repeat(np.tile(np.arange(0, 256, 5, dtype=np.uint8), (4, 1))[..., None], 3, axis=-1)
    values, info = V.decode_depth(grey, requested="inferno")
    assert info["decoded_as"] == "grey" and info["colormap_matches_request"] is False
    assert np.allclose(values[0], np.arange(0, 256, 5) / 255, atol=1e-3)


def test_palette_nearest_colour_in_lab_and_miou():
    palette = {1: (230, 25, 75), 2: (60, 180, 75)}
    rgb = np.array([[[250, 20, 70], [225, 30, 80], [70, 170, 90], [40, 200, 60]]], dtype=np.uint8)
    pred, distance = V.palette_labels(rgb, palette)
    assert pred.tolist() == [[1, 1, 2, 2]] and distance.max() < 20
    gt = np.array([[1, 1, 2, 2]])
    pred = np.array([[1, 2, 2, 2]])
    ids, inter, union = V.intersection_union(pred, gt, np.ones_like(gt, bool))
    assert ids == [1, 2] and inter.tolist() == [1, 2] and union.tolist() == [2, 3]
    # A class named but absent from both has an empty union and is left out of the mean.
    ids, inter, union = V.intersection_union(pred, gt, np.ones_like(gt, bool), [1, 2, 5])
    assert union.tolist() == [2, 3, 0]
    assert V.mean_iou(inter, union) == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_hungarian_matching_by_hand():
    segments = np.array([[0, 0, 1, 1]])
    clusters = np.array([[5, 5, 5, 7]])
    # IoU(5,0) = 2/3, IoU(5,1) = 1/4, IoU(7,1) = 1/2, IoU(7,0) = 0: best is 5->0, 7->1 (7/6 in total).
    result = V.hungarian_match(clusters, segments, np.ones_like(segments, bool))
    assert result["matching"] == {5: 0, 7: 1}
    assert result["miou"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert result["pixel_accuracy"] == pytest.approx(3 / 4)
    # Cluster ids are arbitrary: a permuted exact labelling is a perfect match.
    perfect = V.hungarian_match(np.array([[9, 9, 3, 3]]), segments, np.ones_like(segments, bool))
    assert perfect["miou"] == 1.0 and perfect["pixel_accuracy"] == 1.0
    # More segments than clusters: the unmatched segment scores 0.
    short = V.hungarian_match(np.array([[1, 1, 1, 1, 1, 1]]), np.array([[0, 0, 0, 0, 1, 1]]), np.ones((1, 6), bool))
    assert short["miou"] == pytest.approx((4 / 6 + 0) / 2)


def test_normals_decoding_and_angular_error():
    n, usable = V.decode_normals(np.array([[[128, 128, 255], [255, 128, 128], [127, 127, 127]]], dtype=np.uint8))
    assert np.allclose(n[0, 0], [0, 0, 1], atol=0.01) and np.allclose(n[0, 1], [1, 0, 0], atol=0.01)
    assert usable.tolist() == [[True, True, False]]  # mid-grey is the zero vector (within 1/255)
    assert V.angular_error(np.array([1.0, 0, 0]), np.array([0, 1.0, 0])) == pytest.approx(90.0)
    assert V.angular_error(np.array([1.0, 0, 0]), np.array([-1.0, 0, 0])) == pytest.approx(180.0)
    m = V.normal_metrics(np.array([5.0, 15.0, 25.0, 40.0]))
    assert m["mean_angle"] == pytest.approx(21.25) and m["median_angle"] == pytest.approx(20.0)
    assert (m["within_11.25"], m["within_22.5"], m["within_30"]) == (0.25, 0.5, 0.75)


def test_best_flip_finds_a_y_down_convention():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(8, 8, 3))
    gt /= np.linalg.norm(gt, axis=-1, keepdims=True)
    flip, errors = V.best_flip(gt * np.array([1, -1, 1]), gt, np.ones((8, 8), bool))
    assert flip == (1, -1, 1) and errors.max() < 1e-4


def test_scenes_are_deterministic_and_consistent():
    from genlens.suites._vision_scenes import CLASSES, render_scene

    a, b = render_scene(3, (64, 48)), render_scene(3, (64, 48))
    assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.depth, b.depth)
    assert not np.array_equal(a.rgb, render_scene(4, (64, 48)).rgb)
    assert a.depth.min() > 0 and np.isfinite(a.depth).all()
    assert np.allclose(np.linalg.norm(a.normals, axis=-1), 1.0, atol=1e-5)
    assert set(np.unique(a.classes)) <= set(range(1, len(CLASSES) + 1))
    # The floor (class 1) faces up and the back wall faces the camera.
    floor = a.normals[a.classes == 1]
    assert np.allclose(floor, [0, 1, 0], atol=1e-5)
    walls = a.normals[a.classes == 2]
    assert (np.isclose(walls[:, 2], 1, atol=1e-5) | np.isclose(walls[:, 0], 1, atol=1e-5)).all()


def test_scene_depth_is_planar_z_of_a_plane():
    """The back wall is a plane z = const: its planar depth is the same in every pixel it covers."""
    from genlens.suites._vision_scenes import render_scene

    scene = render_scene(0, (64, 48))
    back = (scene.classes == 2) & np.isclose(scene.normals[..., 2], 1.0)
    assert back.any() and np.ptp(scene.depth[back]) < 1e-4
