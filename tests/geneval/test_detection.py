"""mmdet-style instance post-processing on hand-built logits, the COCO label mapping, the test resize."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from genlens.errors import InputError  # noqa: E402
from genlens.scorers.detection import geneval_class_names, instance_postprocess, keep_ratio_size, mask_boxes  # noqa: E402
from genlens.suites.geneval import object_names  # noqa: E402
from genlens.testing.tiny_models import COCO_DETECTRON2_LABELS  # noqa: E402


def _logits() -> tuple:
    # query 0: logits [ln 3, 0, 0 | no-object 0] -> exp 3,1,1,1 / 6 -> class probs [0.5, 1/6, 1/6]
    # query 1: logits [0, ln 2, 0 | ln 5]        -> exp 1,2,1,5 / 9 -> class probs [1/9, 2/9, 1/9]
    cls = torch.tensor([[math.log(3), 0.0, 0.0, 0.0], [0.0, math.log(2), 0.0, math.log(5)]])
    masks = torch.full((2, 4, 6), -3.0)
    masks[0, 1:3, 2:5] = 2.0  # 2 rows x 3 cols = 6 pixels
    masks[1] = -1.0  # empty mask
    return cls, masks


def test_top_pairs_score_is_class_prob_times_mean_mask_prob():
    cls, masks = _logits()
    dets = instance_postprocess(cls, masks, (4, 6), (4, 6), (4, 6), ["a", "b", "c"], top_k=2)
    # top-2 pairs over 2x3: (q0, a) 0.5 and (q1, b) 2/9
    assert [d.label for d in dets] == ["a", "b"]
    sig2 = 1 / (1 + math.exp(-2))  # 0.8808, the mean sigmoid inside q0's binary mask
    assert dets[0].score == pytest.approx(0.5 * sig2, rel=1e-5)  # 0.4404
    assert dets[0].box == (2.0, 1.0, 5.0, 3.0)  # columns 2..4 -> x2 = 4 + 1; rows 1..2 -> y2 = 3
    assert int(dets[0].mask.sum()) == 6
    assert dets[1].score == 0.0 and dets[1].box == (0.0, 0.0, 0.0, 0.0)  # empty mask: score 0, zero box


def test_top_k_counts_query_class_pairs_not_queries():
    cls, masks = _logits()
    dets = instance_postprocess(cls, masks, (4, 6), (4, 6), (4, 6), ["a", "b", "c"], top_k=6)
    # all 6 (query, class) pairs, one query may appear under several classes
    assert sorted(d.label for d in dets) == ["a", "a", "b", "b", "c", "c"]


def test_min_class_prob_only_prunes_pairs_that_cannot_pass():
    cls, masks = _logits()
    dets = instance_postprocess(cls, masks, (4, 6), (4, 6), (4, 6), ["a", "b", "c"], min_class_prob=0.3)
    assert [d.label for d in dets] == ["a"]  # 2/9 and 1/6 are <= 0.3, so their scores could never exceed 0.3


def test_padding_is_cropped_before_upsampling_to_the_original_size():
    cls, _ = _logits()
    masks = torch.full((2, 4, 6), -5.0)
    masks[0, :2, :3] = 5.0  # positive over the resized image (2x3), negative over the padding
    dets = instance_postprocess(cls, masks, (4, 6), (2, 3), (4, 6), ["a", "b", "c"], top_k=1)
    # crop to 2x3 (all +5), upsample to 4x6 (all +5): the whole original image; without the crop
    # the mask would cover only its top-left quarter
    assert dets[0].box == (0.0, 0.0, 6.0, 4.0)
    assert dets[0].score == pytest.approx(0.5 / (1 + math.exp(-5)), rel=1e-5)


def test_mask_boxes_are_tight_with_exclusive_end():
    binary = torch.zeros((1, 5, 7), dtype=torch.bool)
    binary[0, 2, 3] = True
    assert mask_boxes(binary).tolist() == [[3.0, 2.0, 4.0, 3.0]]


def test_keep_ratio_test_size():
    assert keep_ratio_size(512, 512) == (800, 800)  # factor min(1333/512, 800/512) = 1.5625
    assert keep_ratio_size(1024, 768) == (1067, 800)  # factor 800/768: 1024 * 1.04167 = 1066.7 -> 1067
    assert keep_ratio_size(2000, 500) == (1333, 333)  # factor 1333/2000 = 0.6665: 500 * 0.6665 = 333.25 -> 333


def test_detectron2_labels_map_to_geneval_names():
    names = geneval_class_names(dict(enumerate(COCO_DETECTRON2_LABELS)), object_names())
    assert names == list(object_names())  # same COCO order, GenEval spellings
    assert names[62:67] == ["tv", "laptop", "computer mouse", "tv remote", "computer keyboard"]
    assert names[78] == "hair drier"
    voc_style = {**dict(enumerate(COCO_DETECTRON2_LABELS)), 3: "motorbike", 4: "aeroplane", 78: "hair_dryer"}
    assert geneval_class_names(voc_style, object_names()) == list(object_names())


def test_label_map_rejects_non_coco_checkpoints():
    with pytest.raises(InputError, match="not one of GenEval's 80"):
        geneval_class_names({**dict(enumerate(COCO_DETECTRON2_LABELS)), 80: "wall"}, object_names())
    with pytest.raises(InputError, match="missing: toothbrush"):
        geneval_class_names(dict(enumerate(COCO_DETECTRON2_LABELS[:79])), object_names())


def test_detector_preprocessing_and_mixed_sizes(tmp_path):
    from PIL import Image

    from genlens.scorers.detection import Mask2FormerDetector
    from genlens.testing.tiny_models import save_tiny_mask2former

    detector = Mask2FormerDetector.load(str(save_tiny_mask2former(tmp_path / "det", always_detect="mouse")),
                                        object_names(), device="cpu")
    flat = Image.new("RGB", (64, 48), (124, 116, 104))
    pixels, padded, resized = detector._pixels([flat])
    # keep ratio: factor min(1333/64, 800/48) = 16.67 -> 1067 x 800; padded up to multiples of 32 -> 1088 x 800
    assert resized == (800, 1067) and padded == (800, 1088) and tuple(pixels.shape) == (1, 3, 800, 1088)
    expected = (124 - 123.675) / 58.395  # red channel: (value - ImageNet mean * 255) / (std * 255)
    assert float(pixels[0, 0, 10, 10]) == pytest.approx(expected, rel=1e-4)
    # mmdet pads the uint8 image with 128 *before* Normalize: (128 - mean) / std per channel
    pad = pixels[0, :, :, 1067:]
    for channel, value in enumerate(((128 - 123.675) / 58.395, (128 - 116.28) / 57.12, (128 - 103.53) / 57.375)):
        assert float(pad[channel].min()) == float(pad[channel].max()) == pytest.approx(value, rel=1e-6)
    results = detector.detect([flat, Image.new("RGB", (40, 40)), flat.copy()], min_class_prob=0.3)
    assert [len(r) for r in results] == [8, 8, 8]  # 8 queries, all "mouse" (-> GenEval's "computer mouse")
    assert results[0][0].label == "computer mouse"
    assert results[0][0].box == (0.0, 0.0, 64.0, 48.0) and results[1][0].box == (0.0, 0.0, 40.0, 40.0)
    assert results[0][0].mask.shape == (48, 64)


def test_mmdet_resize_is_opencv_fixed_point_bilinear_on_uint8():
    import numpy as np

    from genlens.scorers.detection import mmdet_pixels

    # 2 x 2 image, columns 0 and 255, scale (5, 5): keep-ratio factor 2.5 -> 5 x 5, no padding (divisor 5).
    # Exact bilinear puts 25.5, 127.5, 229.5 between the columns and rounding would give 26, 128, 230;
    # OpenCV's INTER_LINEAR on uint8 (what mmcv's imresize calls) works in fixed point: 25, 127, 229 on the
    # outer rows and 26, 128, 229 on the middle one, although every row of the input is the same.
    img = np.zeros((2, 2, 3), dtype=np.uint8)
    img[:, 1] = 255
    out, padded, resized = mmdet_pixels(img, scale=(5, 5), size_divisor=5)
    assert resized == padded == (5, 5)
    raw = out[..., 0] * np.float32(58.395) + np.float32(123.675)  # undo Normalize (red channel)
    assert np.round(raw[0]).tolist() == np.round(raw[4]).tolist() == [0, 25, 127, 229, 255]
    assert np.round(raw[2]).tolist() == [0, 26, 128, 229, 255]


def test_mmdet_pad_comes_before_normalize_with_value_128():
    import numpy as np

    from genlens.scorers.detection import mmdet_pixels

    # 3 x 2 image of value 128, scale (3, 2) keeps the size; divisor 4 pads to 4 x 4 with 128 -> the whole
    # tensor is one normalised value per channel: (128 - mean) * (1 / std) in float32.
    img = np.full((2, 3, 3), 128, dtype=np.uint8)
    out, padded, resized = mmdet_pixels(img, scale=(3, 2), size_divisor=4)
    assert resized == (2, 3) and padded == (4, 4) and out.shape == (4, 4, 3) and out.dtype == np.float32
    expected = [0.0740645, 0.2051821, 0.4264924]  # 4.325 / 58.395, 11.72 / 57.12, 24.47 / 57.375
    for channel in range(3):
        assert np.unique(out[..., channel]).size == 1
        assert float(out[0, 0, channel]) == pytest.approx(expected[channel], abs=1e-7)
    # a pixel of 0 inside the image: -mean / std (R: -123.675 / 58.395 = -2.117904)
    img[0, 0] = 0
    out, _, _ = mmdet_pixels(img, scale=(3, 2), size_divisor=4)
    assert float(out[0, 0, 0]) == pytest.approx(-2.1179039, abs=1e-6)
