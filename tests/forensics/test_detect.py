"""The built-in detector separates known artifact families from real tiles, and not same-process images.

Stated thresholds: out-of-fold AUC >= 0.95 for a family with a known artifact; AUC within
[0.3, 0.7] for two sets drawn from the same process (the leakage check).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genlens.forensics.detect import DetectOptions, build_images, run_detect

from .families import make_run, write_folder

PER_PHOTO = 8  # 6 photos -> 48 images per side


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("real") / "photos", "real", PER_PHOTO)


def detect_auc(run_dir: Path, real: Path, **options) -> float:
    result = run_detect(run_dir, real, DetectOptions(resamples=200, **options))
    return result["detectors"][0]["metrics"]["auc"]


@pytest.mark.parametrize("family", ["nearest", "bicubic", "block"])
def test_builtin_separates_a_known_artifact(tmp_path, real_dir, family):
    run_dir = make_run(tmp_path / family, family, PER_PHOTO, offset=PER_PHOTO)
    assert detect_auc(run_dir, real_dir) >= 0.95


def test_builtin_cannot_separate_the_same_process(tmp_path, real_dir):
    # the "generated" run holds other real tiles of the same photos: nothing to find but leakage
    run_dir = make_run(tmp_path / "same", "real", PER_PHOTO, offset=PER_PHOTO)
    assert 0.3 <= detect_auc(run_dir, real_dir) <= 0.7


def test_gradient_boosting_variant_also_separates(tmp_path, real_dir):
    run_dir = make_run(tmp_path / "nearest", "nearest", PER_PHOTO, offset=PER_PHOTO)
    result = run_detect(run_dir, real_dir, DetectOptions(detectors=("builtin:gb",), folds=3, resamples=100))
    assert result["detectors"][0]["name"] == "builtin:gb"
    assert result["detectors"][0]["metrics"]["auc"] >= 0.95


def test_file_format_alone_does_not_win(tmp_path, real_dir):
    # same-process tiles stored as JPEG q70 vs real PNGs: without the rule JPEG traces give them away;
    # with it both sides are re-encoded at q70 (the lowest source quality) and the cue is gone
    run_dir = make_run(tmp_path / "jpeg", "jpeg", PER_PHOTO, offset=PER_PHOTO)
    assert detect_auc(run_dir, real_dir, format_rule="none") >= 0.9
    result = run_detect(run_dir, real_dir, DetectOptions(resamples=100))
    assert 0.3 <= result["detectors"][0]["metrics"]["auc"] <= 0.7
    assert result["normalisation_rule"]["jpeg_quality"] == 70
    assert "JPEG quality 70" in result["normalisation"]


def test_groups_keep_each_prompt_in_one_fold(tmp_path, real_dir):
    from genlens.forensics.detectors import cv_folds

    run_dir = make_run(tmp_path / "nearest", "nearest", PER_PHOTO, offset=PER_PHOTO)
    data = build_images(run_dir, real_dir, DetectOptions())
    for train, test in cv_folds(data.labels, data.groups):
        assert not {data.groups[i] for i in train} & {data.groups[i] for i in test}


def test_detect_json_has_the_report_contract(tmp_path, real_dir):
    run_dir = make_run(tmp_path / "block", "block", 4, offset=PER_PHOTO)
    run_detect(run_dir, real_dir, DetectOptions(robustness=True, resamples=50))
    data = json.loads((run_dir / "detect.json").read_text())
    assert data["real_dir"] == str(real_dir) and "centre square crop of 64x64" in data["normalisation"]
    (det,) = data["detectors"]
    assert det["name"] == "builtin"
    assert set(det["metrics"]) == {"accuracy", "balanced_accuracy", "auc", "ap", "tpr_at_1pct_fpr"}
    # the 24 generated tiles come from fewer than 10 prompts: too few groups for a bootstrap, said instead of printed
    prompts = len({r["item"] for r in map(json.loads, (run_dir / "rows.jsonl").read_text().splitlines())}) \
        if (run_dir / "rows.jsonl").exists() else None
    assert det["intervals"] == {}
    (note,) = det["notes"]
    assert note.startswith("no intervals: ") and note.endswith(" generated groups (a bootstrap needs at least 10 per class "
                                                                "to say anything)")
    assert prompts is None or f": {prompts} generated" in note
    assert det["roc"]["fpr"][0] == 0.0 and det["roc"]["tpr"][-1] == 1.0
    assert set(det["robustness"]) == {"jpeg95", "jpeg75", "jpeg50", "resize0.5", "resize2", "blur", "crop"}
    for values in det["robustness"].values():
        assert set(values) == {"auc", "accuracy"} and 0.0 <= values["auc"] <= 1.0
    assert len(data["scores"]["builtin"]) == data["n_real"] + data["n_generated"] == 48 + 24


def test_worker_processes_give_identical_features(tmp_path, real_dir):
    from genlens.forensics.detectors import feature_tables

    run_dir = make_run(tmp_path / "block", "block", 2, offset=PER_PHOTO)
    data = build_images(run_dir, real_dir, DetectOptions())
    serial, serial_perturbed = feature_tables(data, ("blur",))
    parallel, parallel_perturbed = feature_tables(data, ("blur",), workers=2)
    np.testing.assert_array_equal(serial, parallel)
    np.testing.assert_array_equal(serial_perturbed["blur"], parallel_perturbed["blur"])


def test_images_under_32_px_are_skipped_and_counted(tmp_path, real_dir):
    # a 1x1 real photo crashed detect (ZeroDivisionError in the residual statistics) and a 20 px one
    # would have shrunk the crop of every image to 16; both are now skipped and counted
    from PIL import Image

    from genlens.errors import InputError

    real = tmp_path / "real"
    real.mkdir()
    for path in sorted(real_dir.iterdir())[:12]:
        (real / path.name).write_bytes(path.read_bytes())
    Image.new("RGB", (1, 1), (9, 9, 9)).save(real / "tiny.png")
    Image.new("RGB", (200, 20), (9, 9, 9)).save(real / "strip.png")
    run_dir = make_run(tmp_path / "nearest", "nearest", 2, offset=PER_PHOTO)
    result = run_detect(run_dir, real, DetectOptions(resamples=20, folds=2))
    assert result["skipped_small"] == {"min_side": 32, "real": 2, "generated": 0}
    assert result["n_real"] == 12 and result["normalisation_rule"]["crop"] == 64
    only_tiny = tmp_path / "only_tiny"
    only_tiny.mkdir()
    Image.new("RGB", (1, 1)).save(only_tiny / "tiny.png")
    with pytest.raises(InputError, match="smaller than 32 px"):
        build_images(run_dir, only_tiny, DetectOptions())


def test_features_of_a_one_pixel_image_are_finite():
    from PIL import Image

    from genlens.forensics.features import FEATURE_NAMES, forensic_features

    vector = forensic_features(Image.new("RGB", (1, 1), (9, 9, 9)))
    assert vector.shape == (len(FEATURE_NAMES),) and np.all(np.isfinite(vector))


def test_gradient_boosting_leaves_follow_the_training_size():
    from genlens.forensics.detectors import BuiltinDetector, gb_min_samples_leaf

    # 20 from 200 training images up, n // 10 below, at least 1
    assert [gb_min_samples_leaf(n) for n in (None, 1000, 200, 199, 36, 5)] == [20, 20, 20, 19, 3, 1]
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(18), np.ones(18)].astype(int)
    features = rng.normal(size=(36, 4)) + labels[:, None] * 3.0  # easily separable, 36 training images
    fixed = BuiltinDetector("gb").make_classifier().fit(features, labels)  # scikit-learn's 20: no split possible
    assert np.ptp(fixed.predict_proba(features)[:, 1]) == 0.0
    adapted = BuiltinDetector("gb").make_classifier(36).fit(features, labels)
    assert np.ptp(adapted.predict_proba(features)[:, 1]) > 0.5


def test_constant_scores_and_few_groups_are_said_not_dressed_as_intervals():
    from genlens.forensics.detectors import _report

    labels = np.r_[np.zeros(12), np.ones(12)].astype(int)
    groups = [f"real:{i}" for i in range(12)] + [f"p{i % 4}" for i in range(12)]  # 4 prompts on the generated side
    report = _report("x", labels, np.full(24, 0.5), {}, protocol="", identity={}, resamples=50, groups=groups)
    assert report.intervals == {} and report.metrics["auc"] == 0.5
    assert report.notes[0].startswith("degenerate: every image scored 0.5")
    assert report.notes[1] == "no intervals: 4 generated groups (a bootstrap needs at least 10 per class to say anything)"
    assert report.to_json()["notes"] == report.notes


def test_reduced_folds_are_reported(tmp_path, real_dir):
    run_dir = make_run(tmp_path / "nearest", "nearest", PER_PHOTO, offset=PER_PHOTO)
    result = run_detect(run_dir, real_dir, DetectOptions(folds=1000, resamples=20))
    notes = result["detectors"][0]["notes"]
    assert any(n.startswith("folds reduced: ") and "instead of the 1000 asked" in n for n in notes)
