"""The architecture probe: separates artifact families on held-out prompts, not same-process ones.

Stated thresholds: with three families (chance 1/3), held-out accuracy >= 0.9 and every
one-vs-rest AUC >= 0.95; two families drawn from one process: AUC within [0.3, 0.7].
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlens.errors import InputError
from genlens.forensics.normalise import NormalisationRule
from genlens.forensics.probe import (
    FeatureSpec,
    classify_run,
    fit_linear,
    fit_temperature,
    heldout_summary,
    load_probe,
    prompt_folds,
    reliability,
    softmax,
    train_probe,
    training_set,
)

from .families import make_run

FAMILIES = ("nearest", "bicubic", "block")


@pytest.fixture(scope="module")
def family_runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {family: make_run(root / family, family, 8) for family in FAMILIES}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, family_runs) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("probe") / "probe"
    return out, train_probe(family_runs, out, resamples=200)


def test_probe_separates_families_on_held_out_prompts(trained):
    _, meta = trained
    heldout = meta["heldout"]
    assert heldout["accuracy"] >= 0.9 and heldout["chance"] == pytest.approx(1 / 3)
    assert all(auc >= 0.95 for auc in heldout["auc_one_vs_rest"].values())
    # the families share a handful of photo prompts: too few for a bootstrap over prompts, said instead
    assert heldout["n_prompts"] < 10 and heldout["interval"] is None
    assert heldout["interval_note"] == f"no interval: {heldout['n_prompts']} prompts (a bootstrap needs at least 10 to say anything)"
    assert sum(map(sum, heldout["confusion"]["counts"])) == heldout["n_images"] == 3 * 48


def test_group_bootstrap_needs_ten_prompts():
    from genlens.forensics.probe import group_bootstrap_accuracy

    correct = np.array([1.0, 1.0, 0.0, 1.0] * 5)
    assert group_bootstrap_accuracy(correct, np.array([f"p{i % 9}" for i in range(20)])) is None
    # 10 prompts of 2 images, every prompt 1 correct of 2: every resample has accuracy 1/2
    pairs = np.array([1.0, 0.0] * 10)
    assert group_bootstrap_accuracy(pairs, np.array([f"p{i // 2}" for i in range(20)])) == [0.5, 0.5]


def test_probe_cannot_separate_one_process(tmp_path):
    runs = {name: make_run(tmp_path / name, name, 8) for name in ("noise_a", "noise_b")}
    meta = train_probe(runs, tmp_path / "probe", resamples=100)
    for auc in meta["heldout"]["auc_one_vs_rest"].values():
        assert 0.3 <= auc <= 0.7


def test_probe_cannot_learn_the_file_format(tmp_path):
    # one process, two "families": A stored as PNG, B re-saved as JPEG q95. Without one rule for
    # both, the JPEG traces alone gave a held-out accuracy of 0.99; with every image re-encoded once
    # at the lowest quality found (95), nothing but noise is left to learn.
    runs = {name: make_run(tmp_path / name, "noise_a" if name == "A" else "noise_b", 8) for name in ("A", "B")}
    for path in (runs["B"] / "images").rglob("*.png"):
        buffer = io.BytesIO()
        Image.open(path).convert("RGB").save(buffer, "JPEG", quality=95)
        path.write_bytes(buffer.getvalue())
    meta = train_probe(runs, tmp_path / "probe", resamples=100)
    assert meta["normalisation_rule"]["jpeg_quality"] == 95
    assert "re-encoded once as JPEG quality 95" in meta["normalisation"]
    assert meta["heldout"]["accuracy"] <= 0.75  # chance 0.5; 0.99 before the rule
    target = make_run(tmp_path / "target", "noise_a", 2, offset=8)
    result = classify_run(target, tmp_path / "probe")
    assert result["normalisation_rule"] == meta["normalisation_rule"]  # the training rule, unchanged


def test_no_prompt_on_both_sides_of_a_split(family_runs):
    data = training_set(family_runs)
    for train, test in prompt_folds(data.labels, data.groups, 5):
        assert not set(data.groups[train]) & set(data.groups[test])
        assert set(data.labels[test]) == {0, 1, 2}  # prompt-matched: every family's images of a prompt move together


def test_classify_writes_distribution_and_histogram(trained, tmp_path):
    out, _ = trained
    target = make_run(tmp_path / "target", "bicubic", 3, offset=8)  # unseen tiles of the bicubic family
    result = classify_run(target, out)
    assert result["distribution"]["bicubic"] >= 0.8
    assert sum(result["distribution"].values()) == pytest.approx(1.0)
    assert result["histogram"]["bins"] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert all(sum(counts) == 18 for counts in result["histogram"]["counts"].values())
    assert result["format_warning"] is None  # PNG target, PNG training: nothing the rule missed
    jpeg_target = make_run(tmp_path / "jpeg_target", "jpeg", 1, offset=8)  # JPEG q70; the probe saw only PNGs
    assert "6 of 6 images are lossy (jpeg)" in classify_run(jpeg_target, out)["format_warning"]
    on_disk = json.loads((target / "probe.json").read_text())
    assert on_disk["classes"] == list(FAMILIES) and on_disk["heldout"]["calibration"]["temperature"] > 0
    assert len(on_disk["images"]) == 18


def test_saved_probe_is_safetensors_and_json_and_reproduces_the_fit(trained, family_runs):
    out, meta = trained
    assert sorted(p.name for p in out.iterdir()) == ["probe.json", "probe.safetensors"]
    from safetensors import safe_open

    with safe_open(str(out / "probe.safetensors"), "np") as handle:
        assert handle.metadata()["format"] == "genlens-probe"
        assert set(handle.keys()) == {"scaler.mean", "scaler.scale", "linear.weight", "linear.bias", "temperature"}
    probe, loaded_meta = load_probe(out)
    assert loaded_meta["classes"] == list(FAMILIES) and probe.weight.shape == (3, len(meta["features"]["forensic"]))
    # the stored parameters give exactly what scikit-learn's refitted model gives, scaled by the temperature
    data = training_set(family_runs)
    spec = FeatureSpec(NormalisationRule.from_json(meta["normalisation_rule"]))
    features = spec.extract(data.paths[:12])
    refit = fit_linear(spec.extract(data.paths), data.labels, data.classes)
    np.testing.assert_allclose(probe.logits(features), refit.logits(features), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(probe.probabilities(features), softmax(refit.logits(features) / probe.temperature), atol=1e-9)


def test_binary_probe_keeps_sklearns_probabilities():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = np.r_[rng.normal(0, 1, (30, 3)), rng.normal(1, 1, (30, 3))]
    labels = np.r_[np.zeros(30), np.ones(30)].astype(int)
    probe = fit_linear(features, labels, ["a", "b"])
    scaled = (features - features.mean(0)) / features.std(0)
    expected = LogisticRegression(C=0.5, max_iter=5000).fit(scaled, labels).predict_proba(scaled)
    np.testing.assert_allclose(probe.probabilities(features), expected, atol=1e-6)


def test_reliability_and_ece_by_hand():
    # top-label confidences 0.9, 0.9 (one right, one wrong) and 0.6, 0.6 (both right)
    # bin (0.8, 0.9]: conf 0.9, acc 0.5 -> |0.4| * 2/4; bin (0.5, 0.6]: conf 0.6, acc 1 -> 0.4 * 2/4; ECE = 0.4
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.6, 0.4]])
    labels = np.array([0, 1, 1, 0])
    table = reliability(probabilities, labels)
    assert table["ece"] == pytest.approx(0.4)
    assert table["count"][8] == 2 and table["count"][5] == 2
    assert table["accuracy"][8] == pytest.approx(0.5) and table["confidence"][5] == pytest.approx(0.6)
    # Brier: (0.1²+0.1²) + (0.9²+0.9²) + (0.4²+0.4²) + (0.4²+0.4²) = 0.02 + 1.62 + 0.32 + 0.32 = 2.28 / 4
    assert table["brier"] == pytest.approx(2.28 / 4)


def test_temperature_cools_overconfident_logits():
    # logits claim ~99.995% but only 3 of 4 are right: the NLL-optimal temperature is > 1
    logits = np.array([[10.0, 0.0]] * 4)
    labels = np.array([0, 0, 0, 1])
    temperature = fit_temperature(logits, labels)
    # optimum: softmax(10/T) = 3/4 -> 10/T = ln 3 -> T = 10 / ln 3 = 9.10
    assert temperature == pytest.approx(10 / np.log(3), rel=1e-3)


def test_cli_train_and_classify(cli, family_runs, tmp_path):
    args = [a for name, run in family_runs.items() for a in ("--class", f"{name}={run}")]
    result = cli("probe", "train", *args, "--out", tmp_path / "p", "--folds", "3")
    assert result.exit_code == 0, result.output
    assert "held-out accuracy" in result.stdout and "3-fold" in result.stdout
    target = make_run(tmp_path / "t", "nearest", 2, offset=10)
    result = cli("probe", "classify", target, "--probe", tmp_path / "p")
    assert result.exit_code == 0, result.output
    assert "nearest" in result.stdout and "held-out accuracy" in result.stdout
    assert json.loads((target / "probe.json").read_text())["distribution"]["nearest"] >= 0.8


def test_cli_errors_are_one_line(cli, family_runs, tmp_path):
    (name, run), = list(family_runs.items())[:1]
    result = cli("probe", "train", "--class", f"{name}={run}", "--out", tmp_path / "p")
    assert result.exit_code == 2 and "at least two families" in result.stderr
    result = cli("probe", "train", "--class", "oops", "--class", f"{name}={run}", "--out", tmp_path / "p")
    assert result.exit_code == 2 and "NAME=RUN" in result.stderr
    result = cli("probe", "classify", run, "--probe", tmp_path / "nothing")
    assert result.exit_code == 2 and "not a genlens probe" in result.stderr


def test_damaged_probe_is_a_one_line_error(cli, trained, tmp_path):
    import shutil

    out, _ = trained
    target = make_run(tmp_path / "t", "nearest", 1, offset=10)
    for name, damage in (("garbage", lambda m: "{not json"), ("no_classes", lambda m: json.dumps({k: v for k, v in m.items() if k != "classes"}))):
        probe_dir = tmp_path / name
        shutil.copytree(out, probe_dir)
        meta = json.loads((probe_dir / "probe.json").read_text())
        (probe_dir / "probe.json").write_text(damage(meta))
        result = cli("probe", "classify", target, "--probe", probe_dir)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) <= 2
        assert ("not valid JSON" if name == "garbage" else "lacks classes") in result.stderr
    probe_dir = tmp_path / "bad_weights"
    shutil.copytree(out, probe_dir)
    (probe_dir / "probe.safetensors").write_bytes(b"\x00" * 16)
    result = cli("probe", "classify", target, "--probe", probe_dir)
    assert result.exit_code == 2 and "probe weights unreadable" in result.stderr and "Traceback" not in result.output


def test_a_fold_training_on_one_family_is_a_one_line_error():
    # family 0 has all its images on prompt p1, family 1 on p2 and p3: 3 prompts -> 3 folds, one
    # prompt each; the fold holding out p1 would train on family 1 alone
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    groups = np.array(["p1", "p1", "p1", "p2", "p2", "p3", "p3"])
    with pytest.raises(InputError, match="would train on one family only"):
        prompt_folds(labels, groups, 5)
    # the same images with both families on every prompt split fine
    shared = np.array(["p1", "p2", "p3", "p1", "p2", "p3", "p3"])
    assert len(prompt_folds(labels, shared, 5)) == 3


def test_calibration_numbers_use_a_temperature_fitted_on_other_folds():
    # fold A: logits (10, 0), 3 of 4 right; fold B: the same logits, 4 of 4 right.
    # In-sample, one T over all 8 (7 right) gives softmax(10/T) = 7/8 = accuracy -> ECE 0, which is
    # what the old numbers reported. Cross-fitted: A's T comes from B (all right -> T driven towards
    # its lower bound, confidence 1.0 vs accuracy 3/4) and B's from A (T = 10/ln 3, confidence 3/4 vs
    # accuracy 1): ECE = 4/8 * 1/4 + 4/8 * 1/4 = 0.25.
    logits = np.array([[10.0, 0.0]] * 8)
    labels = np.array([0, 0, 0, 1, 0, 0, 0, 0])
    splits = [(np.arange(4, 8), np.arange(0, 4)), (np.arange(0, 4), np.arange(4, 8))]
    summary, temperature = heldout_summary(logits, labels, np.array(["p"] * 4 + ["q"] * 4), ["a", "b"], splits, 50)
    calibration = summary["calibration"]
    assert temperature == pytest.approx(10 / np.log(7), rel=1e-3)  # softmax(10/T) = 7/8 -> T = 10 / ln 7
    assert calibration["fold_temperatures"][1] == pytest.approx(10 / np.log(3), rel=1e-3)
    assert calibration["fold_temperatures"][0] < 0.2  # NLL flat near 0 there: any T < 0.2 gives 10/T > 50, conf 1.0
    assert calibration["calibrated"]["ece"] == pytest.approx(0.25, abs=1e-3)
    assert "cross-fitted" in calibration["method"]


def test_reliability_bins_by_hand():
    """scikit-learn's calibration bins: per-bin accuracy and mean confidence, ECE weighted by bin size."""
    import numpy as np

    from genlens.forensics.probe import reliability

    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.55, 0.45], [0.95, 0.05]])
    labels = np.array([0, 0, 0, 0])  # confidences 0.9, 0.6, 0.55, 0.95; correct 1, 0, 1, 1
    table = reliability(probabilities, labels, bins=10)
    assert table["count"] == [0, 0, 0, 0, 0, 2, 0, 0, 1, 1]  # 0.9 sits on an edge: the lower bin (0.8, 0.9]
    assert table["confidence"][5] == pytest.approx(0.575) and table["accuracy"][5] == 0.5
    assert table["accuracy"][8] == 1.0 and table["confidence"][9] == pytest.approx(0.95)
    assert table["confidence"][0] is None
    assert table["ece"] == pytest.approx(2 / 4 * 0.075 + 1 / 4 * 0.1 + 1 / 4 * 0.05)
