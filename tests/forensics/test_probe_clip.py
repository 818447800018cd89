"""The probe with CLIP image embeddings added, through a tiny random-init CLIP saved to a temp dir
(``genlens.testing.tiny_models.save_tiny_clip``) and loaded by ``genlens.scorers.clip.ClipModel``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genlens.forensics.probe import ClipEmbedder, classify_run, train_probe
from genlens.testing.tiny_models import save_tiny_clip

from .families import make_run, tiles


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


def test_embeddings_are_unit_vectors_from_the_checkpoint(clip_dir):
    import torch
    from transformers import AutoImageProcessor, CLIPModel

    images = [tile for _, tile in tiles("real", 1)]
    vectors = ClipEmbedder(str(clip_dir)).embed(images)
    assert vectors.shape == (6, 16)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    model = CLIPModel.from_pretrained(clip_dir).eval()
    pixels = AutoImageProcessor.from_pretrained(clip_dir)(images=images, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        out = model.get_image_features(pixel_values=pixels)
    direct = (out if isinstance(out, torch.Tensor) else out.pooler_output).numpy()
    direct /= np.linalg.norm(direct, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, direct, atol=1e-5)


def test_probe_with_clip_features_trains_and_classifies(tmp_path, clip_dir):
    runs = {family: make_run(tmp_path / family, family, 5) for family in ("nearest", "block")}
    meta = train_probe(runs, tmp_path / "probe", clip=str(clip_dir), resamples=100)
    assert meta["features"]["clip"] == str(clip_dir) and meta["features"]["clip_dim"] == 16
    assert meta["heldout"]["accuracy"] >= 0.9
    target = make_run(tmp_path / "target", "block", 2, offset=5)
    result = classify_run(target, tmp_path / "probe")  # the CLIP recorded at training is used again
    assert result["distribution"]["block"] >= 0.8


def test_classifying_with_other_features_than_trained_is_a_one_line_error(tmp_path, clip_dir, cli):
    runs = {family: make_run(tmp_path / family, family, 2) for family in ("nearest", "block")}
    train_probe(runs, tmp_path / "probe", resamples=20)  # forensic features only
    result = cli("probe", "classify", runs["block"], "--probe", tmp_path / "probe", "--clip", clip_dir)
    assert result.exit_code == 2
    assert "features have 124 values but the probe expects 108" in result.stderr


def test_missing_clip_is_a_one_line_error(tmp_path, cli):
    runs = {family: make_run(tmp_path / family, family, 2) for family in ("nearest", "block")}
    args = [a for name, run in runs.items() for a in ("--class", f"{name}={run}")]
    result = cli("probe", "train", *args, "--out", tmp_path / "probe", "--clip", tmp_path / "no-such-clip")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
