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


# ---- open_clip's eval transform (what GenEval feeds its CLIP) ---------------------------------
def test_open_clip_resize_keeps_the_shortest_side_and_truncates_the_other():
    from genlens.scorers.clip import open_clip_resize_size

    assert open_clip_resize_size(300, 227, 224) == (296, 224)  # 224 * 300 / 227 = 296.03 -> 296
    assert open_clip_resize_size(100, 150, 224) == (224, 336)  # 224 * 150 / 100 = 336
    assert open_clip_resize_size(224, 224, 224) == (224, 224)


def test_open_clip_centre_crop_rounds_half_to_even_not_down():
    from genlens.scorers.clip import open_clip_crop_origin

    # excess 3 -> round(1.5) = 2 (a floor gives 1); excess 1 -> round(0.5) = 0; excess 5 -> round(2.5) = 2;
    # excess 72 -> 36
    assert open_clip_crop_origin(227, 224, 224) == (2, 0)
    assert open_clip_crop_origin(225, 224, 224) == (0, 0)
    assert open_clip_crop_origin(224, 229, 224) == (0, 2)
    assert open_clip_crop_origin(296, 224, 224) == (36, 0)


def test_open_clip_pixels_crop_and_normalise_by_hand():
    from genlens.scorers.clip import OPENAI_MEAN, OPENAI_STD, open_clip_pixels

    # 11 x 8 image whose red value is the column index: shortest side 8 already, so no resize; excess 3 -> left 2
    arr = np.zeros((8, 11, 3), dtype=np.uint8)
    arr[..., 0] = np.arange(11, dtype=np.uint8)[None, :]
    pixels = open_clip_pixels([Image.fromarray(arr)], 8)
    assert tuple(pixels.shape) == (1, 3, 8, 8)
    first_column = (np.float32(2) / np.float32(255) - np.float32(OPENAI_MEAN[0])) / np.float32(OPENAI_STD[0])
    assert float(pixels[0, 0, 0, 0]) == pytest.approx(float(first_column), abs=1e-6)
    last_column = (np.float32(9) / np.float32(255) - np.float32(OPENAI_MEAN[0])) / np.float32(OPENAI_STD[0])
    assert float(pixels[0, 0, 0, 7]) == pytest.approx(float(last_column), abs=1e-6)
    green = -OPENAI_MEAN[1] / OPENAI_STD[1]  # value 0
    assert float(pixels[0, 1].min()) == float(pixels[0, 1].max()) == pytest.approx(green, abs=1e-6)


def test_open_clip_mode_feeds_the_model_open_clip_pixels(tmp_path):
    from genlens.scorers.clip import open_clip_pixels

    model = ClipModel.load(str(save_tiny_clip(tmp_path / "m")), device="cpu", preprocess="open_clip")
    images = _images(2)
    assert np.array_equal(model.pixel_values(images).numpy(), open_clip_pixels(images, 32).numpy())
    assert model.preprocessing_identity()["mode"] == "open_clip"
    assert model.preprocessing_identity()["backend"].startswith("Pillow ")
    assert model.half_logits is False  # CPU: float32 logits


def test_zero_shot_logits_in_float16_can_tie_where_float32_does_not():
    from genlens.scorers.clip import zero_shot_logits

    features = np.array([[1.0, 0.0]], dtype=np.float32)
    classifier = np.array([[0.50001, 0.0], [0.50002, 0.0]], dtype=np.float32)
    full = zero_shot_logits(features, classifier, half=False)
    assert full[0] == pytest.approx([50.001, 50.002], abs=1e-4) and int(np.argmax(full[0])) == 1
    # float16 spacing near 0.5 is 2^-11 = 0.000488: both weights round to 0.5, both logits to 50.0 -> the
    # first maximum (colour 0) wins, as upstream's argmax over CUDA autocast logits
    half = zero_shot_logits(features, classifier, half=True)
    assert half[0].tolist() == [50.0, 50.0] and int(np.argmax(half[0])) == 0
