"""The reusable CLIP wrapper on a tiny random-init model saved to disk and loaded like a real one."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")

from genlens.errors import InputError
from genlens.scorers.clip import ClipModel, resolve_pretrained
from genlens.testing.tiny_models import save_tiny_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> ClipModel:
    return ClipModel.load(str(save_tiny_clip(tmp_path_factory.mktemp("clip") / "m")), device="cpu")


def _images(n: int) -> list[Image.Image]:
    return [Image.fromarray(np.random.default_rng(i).integers(0, 256, (20 + i, 30, 3), dtype=np.uint8)) for i in range(n)]


def test_embeddings_are_unit_vectors(clip):
    images = clip.image_embeddings(_images(3), batch_size=2)
    texts = clip.text_embeddings(["a photo of a red car", "a photo of a blue car", "一只猫"])
    assert images.shape == (3, 16) and texts.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, rtol=1e-5)
    # distinct texts pool at their own end-of-text token (a wrong eos id would make them identical)
    assert not np.allclose(texts[0], texts[1])
    np.testing.assert_allclose(clip.image_embeddings(_images(3)[1:2])[0], images[1], rtol=1e-4, atol=1e-5)


def test_zero_shot_classifier_normalises_averages_renormalises(clip):
    prompts = [["a red car", "a red-colored car"], ["a blue car", "a blue-colored car"]]
    weights = clip.zero_shot_classifier(prompts)
    emb = clip.text_embeddings([p for group in prompts for p in group])
    expected = np.stack([emb[0:2].mean(0), emb[2:4].mean(0)])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-6)
    images = _images(4)
    np.testing.assert_array_equal(clip.classify(images, weights), np.argmax(clip.image_embeddings(images) @ weights.T, 1))


def test_identity_names_the_local_weights(clip, tmp_path):
    identity = clip.identity()
    assert identity["source"] == "local" and len(identity["weights_sha256"]) == 64
    other = resolve_pretrained(str(save_tiny_clip(tmp_path / "other", seed=1))).identity
    assert other["weights_sha256"] != identity["weights_sha256"]


def test_loading_errors_are_one_line_input_errors(tmp_path):
    with pytest.raises(InputError, match="directory does not exist"):
        ClipModel.load(str(tmp_path / "missing" / "dir"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no \*\.safetensors"):
        ClipModel.load(str(tmp_path / "empty"))
    with pytest.raises(InputError, match="cannot get CLIP model weights 'genlens-test/not-a-model'"):
        ClipModel.load("genlens-test/not-a-model")  # offline (HF_HUB_OFFLINE=1) and not cached
