"""``genlens detect`` end to end: an engine-made run, hf: checkpoints, plugins and user errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlens.forensics.detectors import HFDetector, make_detector

from .families import tiles, write_folder


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("real") / "photos", "real", 6)


@pytest.fixture(scope="module")
def engine_run(tmp_path_factory, real_dir) -> Path:
    """image-props (33 items, 3 prompts) run through the engine from a folder of nearest-upsampled tiles."""
    from typer.testing import CliRunner

    from genlens.cli import app
    from genlens.suites.image_props import ImagePropsSuite

    root = tmp_path_factory.mktemp("engine")
    folder = root / "model"
    folder.mkdir()
    generated = [tile for _, tile in tiles("nearest", 6, offset=6)]
    for index, item in enumerate(ImagePropsSuite().items()):
        generated[index].save(folder / f"{item.id}.png")
    run_dir = root / "run"
    result = CliRunner().invoke(app, ["run", "image-props", "--model", f"folder:{folder}", "--out", str(run_dir), "--quiet"])
    assert (run_dir / "genlens.sqlite").is_file(), result.output
    return run_dir


@pytest.fixture(scope="module")
def tiny_vit(tmp_path_factory) -> Path:
    """A random-init 2-label ViT classifier + processor saved like a hub checkpoint."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    config = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=64, num_labels=2, id2label={0: "real", 1: "FAKE"}, label2id={"real": 0, "FAKE": 1})
    directory = tmp_path_factory.mktemp("vit") / "detector"
    ViTForImageClassification(config).save_pretrained(directory)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(directory)
    return directory


def test_cli_prints_metrics_with_robustness_columns(cli, engine_run, real_dir):
    result = cli("detect", engine_run, "--real", real_dir, "--robustness", "--bootstrap", "100")
    assert result.exit_code == 0, result.output
    assert "builtin" in result.stdout and "jpeg50" in result.stdout and "TPR@1%FPR" in result.stdout
    data = json.loads((engine_run / "detect.json").read_text())
    assert data["n_generated"] == 33 and data["n_real"] == 36
    assert data["detectors"][0]["metrics"]["auc"] >= 0.95  # nearest-upsampled vs real, 3 prompt groups
    assert "3-fold" in data["detectors"][0]["protocol"]


def test_hf_detector_scores_are_the_checkpoints_softmax(tiny_vit):
    import torch
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    images = [tile for _, tile in tiles("real", 1)]
    detector = make_detector(f"hf:{tiny_vit}")
    assert isinstance(detector, HFDetector)
    scores = detector.score(images)
    model = AutoModelForImageClassification.from_pretrained(tiny_vit).eval()
    inputs = AutoImageProcessor.from_pretrained(tiny_vit)(images=images, return_tensors="pt")
    with torch.no_grad():
        expected = torch.softmax(model(**inputs).logits, -1)[:, 1].numpy()  # label 1 is "FAKE"
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    assert detector.identity()["synthetic_label"] == "FAKE"
    # naming the other label flips the probabilities
    np.testing.assert_allclose(make_detector(f"hf:{tiny_vit}#real").score(images), 1 - expected, rtol=1e-4)


def test_cli_runs_an_hf_detector_beside_the_builtin(cli, engine_run, real_dir, tiny_vit):
    result = cli("detect", engine_run, "--real", real_dir, "--detector", "builtin", "--detector", f"hf:{tiny_vit}",
                 "--bootstrap", "50", "--robustness", "--json")
    assert result.exit_code == 0, result.output
    builtin, hf = json.loads(result.stdout)["detectors"]
    assert (builtin["name"], hf["name"]) == ("builtin", f"hf:{tiny_vit}")
    assert hf["identity"]["synthetic_label"] == "FAKE" and len(hf["robustness"]) == 7
    # per-image scores (36 real + 33 generated) are probabilities
    scores = json.loads((engine_run / "detect.json").read_text())["scores"][hf["name"]]
    assert len(scores) == 69 and all(0.0 <= s <= 1.0 for s in scores)


def test_unknown_hf_label_is_a_one_line_error(cli, engine_run, real_dir, tiny_vit):
    result = cli("detect", engine_run, "--real", real_dir, "--detector", f"hf:{tiny_vit}#generated")
    assert result.exit_code == 2
    assert "['FAKE', 'real']" in result.stderr and "#<label>" in result.stderr
    assert "Traceback" not in result.output


def test_plugin_detector_from_the_entry_point_group(tmp_path, monkeypatch, engine_run, real_dir):
    # a real installed distribution (dist-info on sys.path) that declares a genlens.detectors entry point
    site = tmp_path / "site"
    (site / "brightplug-0.1.dist-info").mkdir(parents=True)
    (site / "brightplug-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: brightplug\nVersion: 0.1\n")
    (site / "brightplug-0.1.dist-info" / "entry_points.txt").write_text("[genlens.detectors]\nbright = brightplug:make\n")
    (site / "brightplug.py").write_text(
        "import numpy as np\n"
        "class Bright:\n"
        "    def __init__(self, scale):\n"
        "        self.name = f'bright:{scale}'\n"
        "        self.scale = float(scale)\n"
        "    def score(self, images):\n"
        "        return [min(1.0, np.asarray(im.convert('L')).mean() / 255 * self.scale) for im in images]\n"
        "def make(argument):\n"
        "    return Bright(argument or 1)\n"
    )
    monkeypatch.syspath_prepend(str(site))
    detector = make_detector("bright:0.5")
    assert detector.name == "bright:0.5"
    white = Image.new("RGB", (16, 16), (255, 255, 255))
    assert list(detector.score([white])) == [0.5]
    from genlens.forensics.detect import DetectOptions, run_detect

    result = run_detect(engine_run, real_dir, DetectOptions(detectors=("bright",), resamples=20))
    assert result["detectors"][0]["name"] == "bright:1"
    assert result["detectors"][0]["protocol"] == "pretrained detector, every image scored"
    sys.modules.pop("brightplug", None)


def test_user_errors_exit_two_with_one_line(cli, tmp_path, engine_run, real_dir):
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    result = cli("detect", not_a_run, "--real", real_dir)
    assert result.exit_code == 2 and "no genlens.sqlite" in result.stderr
    result = cli("detect", engine_run, "--real", not_a_run)
    assert result.exit_code == 2 and "no images found" in result.stderr
    result = cli("detect", engine_run, "--real", real_dir, "--detector", "nosuchdetector")
    assert result.exit_code == 2 and "unknown detector" in result.stderr


@pytest.mark.parametrize(("argument", "message"), [("nan", "non-finite score"), ("short", "scores for")])
def test_a_plugin_giving_bad_scores_is_a_one_line_error(cli, tmp_path, monkeypatch, engine_run, real_dir, argument, message):
    site = tmp_path / "site"
    (site / "badplug-0.1.dist-info").mkdir(parents=True)
    (site / "badplug-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: badplug\nVersion: 0.1\n")
    (site / "badplug-0.1.dist-info" / "entry_points.txt").write_text("[genlens.detectors]\nbad = badplug:make\n")
    (site / "badplug.py").write_text(
        "class Bad:\n"
        "    def __init__(self, mode):\n"
        "        self.name, self.mode = f'bad:{mode}', mode\n"
        "    def score(self, images):\n"
        "        return [float('nan')] * len(images) if self.mode == 'nan' else [0.5] * (len(images) - 1)\n"
        "def make(argument):\n"
        "    return Bad(argument)\n"
    )
    monkeypatch.syspath_prepend(str(site))
    result = cli("detect", engine_run, "--real", real_dir, "--detector", f"bad:{argument}", "--quiet")
    assert result.exit_code == 2, result.output
    assert f"'bad:{argument}'" in result.stderr and message in result.stderr and "Traceback" not in result.output
    sys.modules.pop("badplug", None)
