"""The vision-* suites end to end on the built-in scenes with synthetic: and folder: models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("cv2")


@pytest.fixture(autouse=True)
def scene_cache(tmp_path_factory, monkeypatch):
    """Scenes are rendered into a per-session cache, never the user's."""
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "genlens-cache"))


def run_suite(cli, suite: str, model: str, out: Path, *extra: str) -> dict:
    result = cli("run", suite, "--model", model, "--out", out, "--quiet", "--suite-arg", "scenes=3", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads((out / "results.json").read_text())


def rows_of(out: Path) -> dict[str, dict]:
    return {row["item"]: row for row in map(json.loads, (out / "rows.jsonl").read_text().splitlines())}


def scene(seed: int):
    from genlens.suites._vision_scenes import load_scene, scene_name

    return load_scene(scene_name(seed))


# -- ground truth in, perfect scores out ----------------------------------------------------------------------
def test_ground_truth_depth_scores_absrel_0_and_delta1_1(cli, tmp_path):
    results = run_suite(cli, "vision-depth", "synthetic:vision-gt", tmp_path / "run")
    # The oracle writes millimetres in a 16-bit PNG: AbsRel is the rounding (< 1e-4), δ1 exactly 1.
    assert results["headline"]["abs_rel"] == pytest.approx(0.0, abs=1e-4)
    assert results["metrics"]["delta1"] == 1.0 and results["categories"]["scenes"]["n"] == 3
    rows = rows_of(tmp_path / "run")
    assert rows["scenes-0000"]["decoded_as"] == "grey (16-bit)"
    assert (tmp_path / "run" / rows["scenes-0000"]["gallery_image"]).is_file()


def test_ground_truth_through_a_colormap_is_inverted(cli, tmp_path):
    results = run_suite(cli, "vision-depth", "synthetic:vision-gt", tmp_path / "run", "--suite-arg", "colormap=inferno")
    # Normalised disparity through inferno's 256 colours: an 8-bit disparity quantisation remains.
    assert results["headline"]["abs_rel"] < 0.01 and results["metrics"]["delta1"] == 1.0
    assert results["metrics"]["disparity_fit_share"] == 1.0 and results["counts"]["colormap_not_as_requested"] == 0


def test_ground_truth_segmentation_and_normals_are_perfect(cli, tmp_path):
    seg = run_suite(cli, "vision-seg", "synthetic:vision-gt", tmp_path / "seg")
    assert seg["headline"]["miou"] == 1.0 and seg["metrics"]["pixel_accuracy"] == 1.0
    assert seg["metrics"]["open_miou_upper_bound"] == 1.0
    normals = run_suite(cli, "vision-normals", "synthetic:vision-gt", tmp_path / "normals")
    assert normals["metrics"]["within_11.25"] == 1.0 and normals["headline"]["mean_angle"] < 0.5  # 8-bit rounding only
    assert normals["counts"]["flipped_convention"] == 0


# -- a constant map scores what the protocol gives by hand ------------------------------------------------------
def test_constant_depth_map_scores_the_hand_computed_absrel(cli, tmp_path):
    results = run_suite(cli, "vision-depth", "synthetic:blank", tmp_path / "run")
    expected = []
    for seed in range(3):
        gt = scene(seed).depth.astype(np.float64).ravel()
        # A constant aligns to the mean depth (depth fit) or the harmonic mean (disparity fit); the lower AbsRel is kept.
        by_depth = np.mean(np.abs(gt.mean() - gt) / gt)
        by_disparity = np.mean(np.abs(1 / np.mean(1 / gt) - gt) / gt)
        expected.append(min(by_depth, by_disparity))
    assert results["headline"]["abs_rel"] == pytest.approx(np.mean(expected), rel=1e-4)


def test_constant_normal_map_scores_the_hand_computed_angles(cli, tmp_path):
    folder = tmp_path / "maps"
    folder.mkdir()
    for seed in range(3):
        Image.new("RGB", (320, 240), (128, 128, 255)).save(folder / f"scenes-{seed:04d}.png")  # everything faces the camera
    results = run_suite(cli, "vision-normals", f"folder:{folder}", tmp_path / "run")
    n = np.array([128, 128, 255]) / 255 * 2 - 1
    n /= np.linalg.norm(n)
    errors = []
    for seed in range(3):
        gt = scene(seed).normals.reshape(-1, 3).astype(np.float64)
        errors.append(np.degrees(np.arccos(np.clip(gt @ n, -1, 1))).mean())  # flip (1, 1, 1) is the best for seed 0-2
    assert results["headline"]["mean_angle"] == pytest.approx(np.mean(errors), rel=1e-4)


# -- bad input: measured or counted, never a crash --------------------------------------------------------------
def _oracle(item_id: str, prompt: str) -> Image.Image:
    from genlens.suites._vision_data import oracle_map

    return oracle_map(item_id, prompt)


def test_bad_outputs_are_measured_or_counted(cli, tmp_path):
    from genlens.suites.vision_depth import VisionDepthSuite

    folder = tmp_path / "maps"
    folder.mkdir()
    items = VisionDepthSuite(suite_args={"scenes": 3, "colormap": "inferno"}).items()
    prompts = {item.id: item.prompt for item in items}
    # scenes-0000: the right map at twice the size, with an alpha channel (resized; alpha counted).
    big = _oracle("scenes-0000", prompts["scenes-0000"]).convert("RGBA").resize((640, 480), Image.NEAREST)
    big.save(folder / "scenes-0000.png")
    # scenes-0001: grey instead of the requested inferno (decoded as grey, counted as not as requested).
    depth = scene(1).depth
    Image.fromarray((255 * (depth.max() - depth) / np.ptp(depth)).astype(np.uint8)).convert("RGB").save(folder / "scenes-0001.png")
    # scenes-0002: a square of noise: another aspect ratio that does not register -> a failure.
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)).save(folder / "scenes-0002.png")
    results = run_suite(cli, "vision-depth", f"folder:{folder}", tmp_path / "run", "--suite-arg", "colormap=inferno")
    rows = rows_of(tmp_path / "run")
    assert rows["scenes-0000"]["registration"] == "resized" and rows["scenes-0000"]["values"]["abs_rel"] < 0.01
    assert rows["scenes-0001"]["decoded_as"] == "grey" and "asked for inferno" in rows["scenes-0001"]["reason"]
    assert rows["scenes-0001"]["values"]["abs_rel"] < 0.01  # linear in depth: the depth-space fit
    assert rows["scenes-0002"]["failure"] is True and rows["scenes-0002"]["score"] == 0.0
    assert results["counts"]["not_registered"] == 1 and results["counts"]["with_alpha"] == 1
    assert results["counts"]["colormap_not_as_requested"] == 1
    assert results["metrics"]["failure_rate"] == pytest.approx(1 / 3)
    assert results["metrics"]["delta1_with_failures"] == pytest.approx(2 / 3)
    assert results["categories"]["scenes"]["failures"] == 1 and results["categories"]["scenes"]["n"] == 3


def test_refusals_are_failures(cli, tmp_path):
    results = run_suite(cli, "vision-seg", "synthetic:vision-gt", tmp_path / "run", "--model-arg", "refuse=segmentation")
    assert results["counts"]["refused"] == 3 and results["headline"]["miou"] is None
    assert results["metrics"]["miou_with_failures"] == 0.0


def test_an_ignored_palette_is_counted(cli, tmp_path):
    folder = tmp_path / "maps"
    folder.mkdir()
    for seed in range(3):
        # Right regions, wrong colours: a hash colour per class, far from the palette.
        classes = scene(seed).classes
        colours = np.array([[0, 0, 0], [20, 20, 20], [40, 40, 160], [100, 60, 20], [200, 200, 160], [90, 40, 120]], np.uint8)
        Image.fromarray(colours[classes]).save(folder / f"scenes-{seed:04d}.png")
    results = run_suite(cli, "vision-seg", f"folder:{folder}", tmp_path / "run")
    assert results["counts"]["palette_ignored"] >= 1
    # Open mode sees the same regions and matches them perfectly: the upper bound is 1.
    assert results["metrics"]["open_miou_upper_bound"] == 1.0
    assert results["headline"]["miou"] < 0.6


def test_flipped_normal_convention_is_recorded(cli, tmp_path):
    folder = tmp_path / "maps"
    folder.mkdir()
    for seed in range(3):
        normals = scene(seed).normals * np.array([1, -1, 1])  # y down
        Image.fromarray(np.round((normals + 1) / 2 * 255).astype(np.uint8)).save(folder / f"scenes-{seed:04d}.png")
    results = run_suite(cli, "vision-normals", f"folder:{folder}", tmp_path / "run")
    assert results["counts"]["flipped_convention"] == 3 and results["metrics"]["within_11.25"] == 1.0
    assert {row["convention"] for row in rows_of(tmp_path / "run").values()} == {"y flipped"}


# -- specialist rows and the report ------------------------------------------------------------------------------
def test_specialist_depth_model_scored_on_the_same_inputs(cli, tmp_path):
    pytest.importorskip("transformers")
    from genlens.testing.tiny_models import save_tiny_depth_anything

    model = save_tiny_depth_anything(tmp_path / "tiny-da")
    results = run_suite(cli, "vision-depth", "synthetic:vision-gt", tmp_path / "run", "--scorer-arg", f"specialist={model}")
    specialist = results["categories"]["scenes (specialist)"]
    assert specialist["n"] == 3 and 0 <= specialist["delta1"] <= 1 and specialist["abs_rel"] > 0.0
    assert results["metrics"]["specialist_abs_rel"] == pytest.approx(specialist["abs_rel"])
    assert results["provenance"]["specialist"] == str(model)
    assert results["headline"]["abs_rel"] < 1e-4  # the generator's own rows are unchanged


def test_report_shows_the_gallery_strips(cli, tmp_path):
    run_suite(cli, "vision-normals", "synthetic:vision-gt", tmp_path / "run")
    result = cli("report", tmp_path / "run", "--format", "html", "--out", tmp_path / "report.html")
    assert result.exit_code == 0, result.stderr
    page = (tmp_path / "report.html").read_text()
    assert page.count('class="card high wide"') + page.count('class="card low wide"') >= 2
    assert "data:image/webp;base64," in page


def test_specialist_segmentation_model_scored_on_the_same_inputs(cli, tmp_path):
    pytest.importorskip("transformers")
    from genlens.testing.tiny_models import save_tiny_segformer

    model = save_tiny_segformer(tmp_path / "tiny-seg")
    results = run_suite(cli, "vision-seg", "synthetic:vision-gt", tmp_path / "run", "--scorer-arg", f"specialist={model}")
    specialist = results["categories"]["scenes (specialist)"]
    assert specialist["n"] == 3 and 0 <= specialist["miou"] < 1 and 0 < specialist["open_miou_upper_bound"] <= 1
    assert results["metrics"]["specialist_miou"] == pytest.approx(specialist["miou"])
    assert results["headline"]["miou"] == 1.0  # the generator's own rows are unchanged


def test_specialist_labels_map_to_palette_classes_by_name():
    """A specialist label named like a palette class counts for that class; others are wrong pixels."""
    from genlens.suites.vision_seg import _name_key, seg_measures

    assert _name_key("Floor;flooring") == "floor" and _name_key("wall, partition") == "wall"
    classes = np.array([[1, 1, 2, 2]])
    pred = np.array([[1, 0, 2, 2]])  # one pixel from an unmatched label (0)
    m = seg_measures(pred, np.array([[1, 2, 3, 3]]), classes, np.ones_like(classes, bool))
    # Class 0 is no class: IoU(1) = 1/2, IoU(2) = 1 -> mIoU 3/4; pixel accuracy 3/4.
    assert m["classes"] == [1, 2] and m["miou"] == pytest.approx(0.75) and m["pixel_accuracy"] == pytest.approx(0.75)
    # Open mode: 3 segments for 2 classes; the best one-to-one match covers 1 + 2 of 4 pixels.
    assert m["open_pixel_accuracy"] == pytest.approx(0.75)


def test_a_run_over_part_of_the_items_has_no_headline(cli, tmp_path):
    results = run_suite(cli, "vision-depth", "synthetic:vision-gt", tmp_path / "run", "--limit", "2")
    # 2 of 3 scenes: the same formula over what was scored moves to abs_rel_partial, with the coverage.
    assert results["headline"]["abs_rel"] is None
    assert results["metrics"]["abs_rel_partial"] == pytest.approx(0.0, abs=1e-4)
    assert results["extra"]["coverage"] == {"complete": False, "prompts": [2, 3], "images": [2, 3]}
    assert "partial run" in results["provenance"]["caveat"]
    full = run_suite(cli, "vision-depth", "synthetic:vision-gt", tmp_path / "full")
    assert full["extra"]["coverage"]["complete"] is True and "caveat" not in full["provenance"]
