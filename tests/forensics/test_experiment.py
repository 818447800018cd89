"""`genlens probe experiment` end to end on tiny families (Janus vq-ar, Stable Diffusion) and a synthetic target."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genlens.forensics.experiment import out_of_distribution, share_intervals, verdict_sentence

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    pytest.importorskip("diffusers")
    from genlens.testing.tiny_ar import save_tiny_janus
    from genlens.testing.tiny_diffusers import build_text2image

    root = tmp_path_factory.mktemp("families")
    return {"janus": save_tiny_janus(root / "janus"), "sd": build_text2image(root / "sd")}


def experiment_args(models, out, *extra):
    return ("probe", "experiment", "--family", f"vq-ar=transformers:{models['janus']}",
            "--family", f"diffusion=diffusers:{models['sd']}", "--family-arg", "diffusion.steps=2",
            "--family-arg", "diffusion.size=32x32", "--target", "synthetic:noise",
            "--prompts", "geneval", "--limit", "6", "--samples", "2", "--folds", "3", "--crop", "32", "--out", out, *extra)


def test_experiment_end_to_end_and_resume(cli, models, tmp_path):
    out = tmp_path / "exp"
    result = cli(*experiment_args(models, out, "--quiet"))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "experiment.json").read_text())
    assert set(summary["shares"]) == {"vq-ar", "diffusion"}
    assert abs(sum(row["share"] for row in summary["shares"].values()) - 1.0) < 1e-9
    for row in summary["shares"].values():  # 6 prompts: too few for a bootstrap interval, and said so
        assert row["interval"] is None and "6 prompts" in row["interval_note"]
    assert "too few prompts" in summary["verdict"]
    assert summary["probe"]["heldout"]["n_images"] == 24 and summary["partial"] is False
    assert summary["classification"]["n_images"] == 12
    svg = (out / "histogram.svg").read_text()
    assert svg.startswith("<svg") and "vq-ar" in svg and "diffusion" in svg
    report = (out / "report.md").read_text()
    assert "| vq-ar |" in report and "out of distribution" in report and "histogram.svg" in report
    # the tiny models' images are nothing like uniform noise: the guard says so
    assert summary["out_of_distribution"]["share_outside"] > 0.5
    with __import__("sqlite3").connect(out / "runs" / "vq-ar" / "genlens.sqlite") as conn:
        families = {json.loads(p)["meta"]["family"] for (p,) in conn.execute("SELECT payload FROM generations")}
    assert families == {"vq-ar"}
    before = (out / "runs" / "vq-ar" / "images").stat().st_mtime_ns
    assert cli(*experiment_args(models, out, "--quiet")).exit_code == 0  # resumes: nothing regenerated
    assert (out / "runs" / "vq-ar" / "images").stat().st_mtime_ns == before


@pytest.mark.parametrize("args, message", [
    (("--family", "a=synthetic:noise", "--target", "synthetic:noise"), "at least two families"),
    (("--family", "a=synthetic:noise", "--family", "a=synthetic:gradient", "--target", "synthetic:noise"), "given twice"),
    (("--family", "a=synthetic:noise", "--family", "b=synthetic:noise", "--target", "synthetic:noise"), "same model spec"),
    (("--family", "a=synthetic:noise", "--family", "b", "--target", "synthetic:noise"), "not NAME=SPEC"),
    (("--family", "a=synthetic:noise", "--family", "b=synthetic:gradient"), "no target"),
])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, args, message):
    result = cli("probe", "experiment", *args, "--out", tmp_path / "x", "--quiet")
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_non_generator_family_is_refused_and_finished_runs_are_kept(cli, models, tmp_path):
    from genlens.testing.tiny_models import save_tiny_clip

    clip = save_tiny_clip(tmp_path / "clip")
    out = tmp_path / "exp"
    result = cli("probe", "experiment", "--family", "a=synthetic:gradient", "--family", f"b=transformers:{clip}",
                 "--target", "synthetic:noise", "--limit", "2", "--samples", "1", "--out", out, "--quiet")
    assert result.exit_code == 2 and "not an image generator" in result.output
    assert any((out / "runs" / "a" / "images").rglob("*.png"))  # family a's finished images are kept


def test_target_run_from_other_prompts_is_refused(cli, tmp_path):
    target = tmp_path / "target"
    assert cli("generate", "geneval", "--model", "synthetic:noise", "--limit", "8", "--out", target, "--quiet").exit_code == 0
    result = cli("probe", "experiment", "--family", "a=synthetic:gradient", "--family", "b=synthetic:blank",
                 "--target", f"run:{target}", "--limit", "3", "--samples", "1", "--out", tmp_path / "exp", "--quiet")
    assert result.exit_code == 2 and "prompt(s) no family was generated from" in result.output


def test_config_file_holds_the_same(cli, tmp_path):
    config = tmp_path / "exp.yaml"
    config.write_text("families:\n  a: synthetic:gradient\n  b: {model: synthetic:fixed, args: {format: jpeg}}\n"
                      "target: synthetic:noise\nprompts: geneval\nlimit: 6\nsamples: 1\nfolds: 2\ncrop: 32\n")
    result = cli("probe", "experiment", "--config", config, "--out", tmp_path / "exp", "--quiet")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "exp" / "experiment.json").read_text())
    assert summary["families"]["b"]["spec"] == "synthetic:fixed"
    warnings = " ".join(summary["warnings"])
    assert "differ in resolution (a: 256x256; b: 512x512)" in warnings  # gradient's default size vs fixed's
    assert "differ in format (a: png; b: jpeg)" in warnings and "re-encodes every image as JPEG" in warnings
    bad = tmp_path / "bad.yaml"
    bad.write_text("familes: {}\n")
    result = cli("probe", "experiment", "--config", bad, "--out", tmp_path / "e2", "--quiet")
    assert result.exit_code == 2 and "unknown config key" in result.output


def test_share_intervals_and_ood_by_hand():
    # 10 prompts of 2 images: prompts 0-4 both 'a', prompts 5-9 one 'a' and one 'b'
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2]] * 5 + [[0.3, 0.7], [0.6, 0.4]] * 5)
    groups = np.repeat([f"p{i}" for i in range(10)], 2)
    shares = share_intervals(probabilities, groups, ["a", "b"], resamples=200)
    assert shares["a"]["share"] == 0.75 and shares["b"]["share"] == 0.25
    low, high = shares["a"]["interval"]
    assert 0.5 <= low <= 0.75 <= high <= 1.0  # every resample lies between all-mixed (0.5) and all-pure (1.0)
    assert shares["a"]["mean_probability"] == pytest.approx(0.65)
    few = share_intervals(probabilities[:4], groups[:4], ["a", "b"])
    assert few["a"]["interval"] is None and "2 prompts" in few["a"]["interval_note"]

    class Probe:
        mean, scale = np.zeros(2), np.ones(2)

    train = {"probe": Probe(), "features": np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0]]),
             "labels": np.array([0, 0, 1, 1])}
    # centroids (0, 1) and (10, 1); every training image is 1 from its centroid, so the threshold is 1
    ood = out_of_distribution(train, {"features": np.array([[0.0, 1.5], [5.0, 1.0]])}, ["a", "b"])
    assert ood["threshold"] == pytest.approx(1.0)
    assert ood["share_outside"] == 0.5  # (0, 1.5) is 0.5 from a; (5, 1) is 5 from both
    heldout = {"interval": [0.4, 0.6], "chance": 0.5}
    assert "no conclusion" in verdict_sentence(shares, heldout, ood)


def test_backbone_probe_reports_on_the_same_folds(cli, tmp_path):
    from genlens.testing.tiny_models import save_tiny_clip

    clip = save_tiny_clip(tmp_path / "clip")
    out = tmp_path / "exp"
    result = cli("probe", "experiment", "--family", "a=synthetic:gradient", "--family", "b=synthetic:noise",
                 "--target", "synthetic:blank", "--limit", "6", "--samples", "2", "--folds", "3", "--crop", "64",
                 "--backbone", str(clip), "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "experiment.json").read_text())
    forensic, backbone = summary["probe"]["heldout"], summary["backbone_probe"]["heldout"]
    assert backbone["protocol"] == forensic["protocol"] and backbone["n_images"] == forensic["n_images"] == 24
    assert set(backbone["per_class_recall"]) == {"a", "b"}
    assert sum(map(sum, backbone["confusion"]["counts"])) == 24
    assert (out / "backbone_probe" / "head.safetensors").is_file()
    assert "Both probes on the same folds" in (out / "report.md").read_text()


def test_trained_head_separates_two_clusters():
    from genlens.forensics.backbone_probe import classify, train_head

    rng = np.random.default_rng(0)
    centres = np.repeat(np.eye(4)[:2], 20, axis=0)  # 20 points near e1, 20 near e2
    x = centres + rng.normal(0, 0.05, (40, 4))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.array([0] * 20 + [1] * 20)
    weight, bias = train_head(x, y, 2)
    probabilities = classify(weight, bias, 1.0, x)
    assert (probabilities.argmax(axis=1) == y).all() and probabilities.max(axis=1).min() > 0.9


def test_finetuning_restores_the_blocks_between_folds(cli, tmp_path):
    import torch

    from genlens.forensics.backbone_probe import Backbone, FineTune
    from genlens.forensics.normalise import NormalisationRule
    from genlens.testing.tiny_models import save_tiny_clip
    from tests.conftest import write_png

    clip = save_tiny_clip(tmp_path / "clip")
    paths = [write_png(tmp_path / f"img{i}.png", size=(48, 48), seed=i) for i in range(6)]
    backbone = Backbone(str(clip), device="cpu")
    tuner = FineTune(backbone, NormalisationRule(32, None, "test"), blocks=1, epochs=2)
    before = [p.detach().clone() for p in tuner.layers[0].parameters()]
    tuner.fit(paths, np.array([0, 1, 0, 1, 0, 1]), 2)
    assert any(not torch.equal(a, b) for a, b in zip(before, tuner.layers[0].parameters(), strict=True))
    tuner.restore()
    assert all(torch.equal(a, b) for a, b in zip(before, tuner.layers[0].parameters(), strict=True))

    out = tmp_path / "exp"
    result = cli("probe", "experiment", "--family", "a=synthetic:gradient", "--family", "b=synthetic:noise",
                 "--target", "synthetic:blank", "--limit", "4", "--samples", "1", "--folds", "2", "--crop", "32",
                 "--backbone", str(clip), "--finetune-blocks", "1", "--finetune-epochs", "1", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "experiment.json").read_text())
    assert "fine-tuned" in summary["backbone_probe"]["head"] and summary["backbone_probe"]["heldout"]["n_images"] == 8
    assert (out / "backbone_probe" / "tuned.safetensors").is_file()
    bad = cli("probe", "experiment", "--family", "a=synthetic:gradient", "--family", "b=synthetic:noise",
              "--target", "synthetic:blank", "--finetune-blocks", "1", "--out", tmp_path / "e2", "--quiet")
    assert bad.exit_code == 2 and "needs --backbone" in bad.output
