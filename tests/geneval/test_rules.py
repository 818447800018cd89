"""GenEval's rules on hand-built detections; every expected value is worked out from the protocol."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from genlens.suites._geneval_rules import (
    Detection,
    color_crop,
    color_requests,
    evaluate_image,
    failure_histogram,
    filter_detections,
    interval_note,
    overall_score,
    prompt_scores,
    relative_position,
    stratified_prompt_bootstrap,
    tag_scores,
)


def det(x1: float, y1: float, x2: float, y2: float, score: float = 0.95, label: str = "") -> Detection:
    return Detection(box=(x1, y1, x2, y2), score=score, label=label)


# ---- thresholds, cap, NMS ----------------------------------------------------------------------
def test_threshold_is_strictly_greater_than_0_3():
    kept = filter_detections({"bench": [det(0, 0, 5, 5, 0.3), det(0, 0, 5, 5, 0.3000001)]}, "single_object")
    assert [d.score for d in kept["bench"]] == [0.3000001]  # 0.3 is not > 0.3
    assert filter_detections({"bench": [det(0, 0, 5, 5, 0.3)]}, "single_object") == {}  # empty class dropped


def test_threshold_compares_in_float32_like_upstream():
    import numpy as np

    f32_03 = float(np.float32(0.3))  # 0.30000001192092896: above 0.3 in float64, equal to the threshold in float32
    assert f32_03 > 0.3
    next_up = float(np.nextafter(np.float32(0.3), np.float32(1)))  # 0.30000004172325134, the next float32
    kept = filter_detections({"bench": [det(0, 0, 5, 5, f32_03), det(0, 0, 5, 5, next_up)]}, "single_object")
    assert [d.score for d in kept["bench"]] == [next_up]  # float32(0.3) > float32(0.3) is false
    # 0.9 rounds down in float32 (0.89999997615814209): that value is not > it, the next float32 is
    f32_09 = float(np.float32(0.9))
    above = float(np.nextafter(np.float32(0.9), np.float32(1)))
    kept = filter_detections({"clock": [det(0, 0, 5, 5, f32_09), det(0, 0, 5, 5, above)]}, "counting")
    assert [d.score for d in kept["clock"]] == [above]


def test_equal_scores_keep_upstream_reversed_stable_order():
    # upstream: np.argsort(scores)[::-1] -> ascending stable [a, b, c] for equal scores, reversed: c, b, a
    a, b, c, d = det(0, 0, 1, 1, 0.5), det(0, 0, 2, 2, 0.5), det(0, 0, 3, 3, 0.5), det(0, 0, 4, 4, 0.7)
    kept = filter_detections({"cup": [a, b, d, c]}, "single_object")["cup"]
    assert kept == [d, c, b, a]
    # and the 16 cap cuts that order: 17 equal scores keep the last 16 listed, last first
    same = [det(0, 0, i + 1, 1, 0.5) for i in range(17)]
    kept = filter_detections({"cup": same}, "single_object")["cup"]
    assert kept == same[::-1][:16] and same[0] not in kept


def test_counting_images_use_0_9_for_every_class():
    dets = {"clock": [det(0, 0, 5, 5, 0.9), det(0, 0, 5, 5, 0.9000001)], "cat": [det(0, 0, 5, 5, 0.85)]}
    kept = filter_detections(dets, "counting")
    assert [d.score for d in kept["clock"]] == [0.9000001]
    assert "cat" not in kept  # 0.85 <= 0.9, even for a class the prompt does not mention
    assert len(filter_detections(dets, "two_object")["cat"]) == 1  # the same 0.85 passes 0.3 elsewhere


def test_at_most_16_per_class_highest_first_and_no_nms():
    # 20 identical boxes (IoU 1) with scores 0.40, 0.41 … 0.59: NMS is off, so duplicates survive the
    # score filter and the cap keeps the 16 best: 0.59 down to 0.44.
    dets = [det(10, 10, 20, 20, 0.40 + i / 100) for i in range(20)]
    kept = filter_detections({"cup": dets}, "single_object")["cup"]
    assert len(kept) == 16
    assert kept[0].score == pytest.approx(0.59) and kept[-1].score == pytest.approx(0.44)


def test_counting_verdict_is_exactly_n():
    meta = {"tag": "counting", "include": [{"class": "clock", "count": 2}], "exclude": [{"class": "clock", "count": 3}]}
    two = {"clock": [det(0, 0, 5, 5), det(10, 0, 15, 5)]}
    assert evaluate_image(two, meta).correct
    three = {"clock": [det(0, 0, 5, 5), det(10, 0, 15, 5), det(20, 0, 25, 5)]}
    verdict = evaluate_image(three, meta)
    assert not verdict.correct and verdict.reason == "expected clock<3, found 3"
    assert verdict.failures == [{"kind": "count_off", "class": "clock", "expected": 2, "found": 3}]
    one = evaluate_image({"clock": [det(0, 0, 5, 5)]}, meta)
    assert not one.correct and one.reason == "expected clock>=2, found 1"
    assert one.failures == [{"kind": "count_off", "class": "clock", "expected": 2, "found": 1}]  # off by -1


def test_missing_object_and_extra_objects_are_not_penalised():
    meta = {"tag": "two_object", "include": [{"class": "bench", "count": 1}, {"class": "sports ball", "count": 1}]}
    both = {"bench": [det(0, 0, 5, 5)], "sports ball": [det(0, 0, 5, 5)], "dog": [det(0, 0, 9, 9)]}
    assert evaluate_image(both, meta).correct
    verdict = evaluate_image({"bench": [det(0, 0, 5, 5)]}, meta)
    assert not verdict.correct and verdict.reason == "expected sports ball>=1, found 0"
    assert verdict.failures[0]["kind"] == "missing_object"


# ---- position ------------------------------------------------------------------------------------
def test_position_left_of():
    # centres (5,5) and (25,5): offset (-20, 0); x margin 0.1*(10+10)=2 -> shrunk (-18, 0); /|offset| 20 -> dx=-0.9
    assert relative_position(det(0, 0, 10, 10), det(20, 0, 30, 10)) == {"left of"}
    assert relative_position(det(20, 0, 30, 10), det(0, 0, 10, 10)) == {"right of"}
    # y grows downward: A at y 0..10 is above B at y 40..50
    assert relative_position(det(0, 0, 10, 10), det(0, 40, 10, 50)) == {"above"}
    assert relative_position(det(0, 40, 10, 50), det(0, 0, 10, 10)) == {"below"}


def test_position_diagonal_gives_two_relations():
    # offset (-20,-20); margins 2 and 2 -> (-18,-18); norm 28.284 -> (-0.636,-0.636): both beyond -0.5
    assert relative_position(det(0, 0, 10, 10), det(20, 20, 30, 30)) == {"left of", "above"}
    # offset (-20,-12) -> shrunk (-18,-10); norm sqrt(544)=23.32 -> (-0.772,-0.429): only "left of"
    assert relative_position(det(0, 0, 10, 10), det(20, 12, 30, 22)) == {"left of"}


def test_position_divides_shrunk_offset_by_original_norm():
    # offset (-3, 0); margin 2 -> shrunk -1; -1/3 = -0.333 is not < -0.5: no relation, though not centred
    assert relative_position(det(0, 0, 10, 10), det(3, 0, 13, 10)) == set()
    # offset (-11, 0) -> shrunk -9; -9/11 = -0.818 -> left of
    assert relative_position(det(0, 0, 10, 10), det(11, 0, 21, 10)) == {"left of"}


def test_position_zero_offset_gives_no_relation():
    assert relative_position(det(0, 0, 10, 10), det(0, 0, 10, 10)) == set()  # identical boxes: offset 0, no division
    # offset (-5, 0) inside the margin 0.1*(100+100)=20 -> shrunk 0 in both axes -> empty set
    assert relative_position(det(0, 0, 100, 100), det(5, 0, 105, 100)) == set()


def test_position_clause_checks_top1_against_reference_and_reports_the_miss():
    meta = {"tag": "position", "include": [{"class": "kite", "count": 1},
                                           {"class": "wine glass", "count": 1, "position": ["above", 0]}]}
    kite = det(0, 40, 10, 50, 0.8)
    good = {"kite": [kite], "wine glass": [det(0, 0, 10, 10, 0.9), det(0, 80, 10, 90, 0.5)]}
    assert evaluate_image(good, meta).correct  # only the top-1 glass (above) is checked, not the 0.5 one below
    bad = {"kite": [kite], "wine glass": [det(20, 40, 30, 50)]}
    verdict = evaluate_image(bad, meta)
    assert not verdict.correct and verdict.reason == "expected wine glass above target, found right of target"
    assert verdict.failures == [{"kind": "wrong_relation", "class": "wine glass", "expected": "above", "found": "right of"}]


def test_position_without_reference_fails_both_clauses():
    meta = {"tag": "position", "include": [{"class": "kite", "count": 1},
                                           {"class": "wine glass", "count": 1, "position": ["above", 0]}]}
    verdict = evaluate_image({"wine glass": [det(0, 0, 10, 10)]}, meta)
    assert not verdict.correct
    assert verdict.reason == "expected kite>=1, found 0\nno target for wine glass to be above"


# ---- colour ----------------------------------------------------------------------------------------
def test_colour_is_checked_on_top_count_only():
    meta = {"tag": "colors", "include": [{"class": "car", "count": 1, "color": "red"}]}
    kept = {"car": [det(0, 0, 5, 5, 0.9, label="blue"), det(10, 0, 15, 5, 0.8, label="red")]}
    asked: list[int] = []

    def classify(name: str, dets):
        asked.append(len(dets))
        return [d.label for d in dets]

    verdict = evaluate_image(kept, meta, classify)
    assert asked == [1]  # only the most confident car is classified; the red runner-up does not help
    assert not verdict.correct
    assert verdict.reason == "expected red car>=1, found 0 red; and 1 blue"
    assert verdict.failures == [{"kind": "wrong_color", "class": "car", "expected": "red", "found": "blue"}]
    assert color_requests(kept, meta) == [("car", kept["car"][:1])]


def test_colour_attr_needs_both_colours():
    meta = {"tag": "color_attr", "include": [{"class": "bus", "count": 1, "color": "green"},
                                             {"class": "microwave", "count": 1, "color": "purple"}]}
    kept = {"bus": [det(0, 0, 5, 5, label="green")], "microwave": [det(0, 0, 5, 5, label="purple")]}
    assert evaluate_image(kept, meta, lambda n, ds: [d.label for d in ds]).correct
    kept["microwave"][0].label = "pink"
    verdict = evaluate_image(kept, meta, lambda n, ds: [d.label for d in ds])
    assert not verdict.correct and verdict.reason == "expected purple microwave>=1, found 0 purple; and 1 pink"


def test_colour_not_asked_when_the_object_is_missing():
    meta = {"tag": "colors", "include": [{"class": "car", "count": 1, "color": "red"}]}
    assert color_requests({}, meta) == []
    verdict = evaluate_image({}, meta, lambda n, ds: pytest.fail("must not classify"))
    assert verdict.reason == "expected car>=1, found 0"


def test_color_crop_matches_pillow_composite_then_crop():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:12, 8:20] = True
    detection = Detection(box=(7.5, 4.6, 20.4, 12.5), score=0.9, mask=mask)
    ours = color_crop(image, detection)
    pil = Image.fromarray(image)
    composite = Image.composite(pil, Image.new("RGB", pil.size, "#999"), Image.fromarray(mask))
    expected = np.asarray(composite.crop(detection.box))  # Pillow rounds: (8, 5, 20, 12); 7.5 -> 8, 12.5 -> 12
    assert ours.shape == (7, 12, 3)
    np.testing.assert_array_equal(ours, expected)
    assert (ours[~mask[5:12, 8:20]] == 153).all()


# ---- aggregation -------------------------------------------------------------------------------------
def test_overall_is_unweighted_mean_of_tag_scores():
    rows = [("single_object", c) for c in (True, True, True, False)] + [("counting", c) for c in [True, True] + [False] * 6]
    per_tag = tag_scores(rows)
    assert per_tag == {"single_object": 0.75, "counting": 0.25}  # 3/4 and 2/8
    assert overall_score(per_tag) == 0.5  # (0.75 + 0.25) / 2; image-weighted would be 5/12
    assert overall_score({}) is None


def test_prompt_any_and_all_of_k():
    rows = [("p1", True), ("p1", False), ("p2", False), ("p2", False), ("p3", True), ("p3", True)]
    assert prompt_scores(rows) == {"any_of_k": pytest.approx(2 / 3), "all_of_k": pytest.approx(1 / 3)}


def test_failure_histogram_buckets():
    hist = failure_histogram([
        {"kind": "count_off", "class": "clock", "expected": 2, "found": 3},
        {"kind": "count_off", "class": "cup", "expected": 4, "found": 2},
        {"kind": "wrong_color", "class": "car", "expected": "red", "found": "blue"},
        {"kind": "wrong_relation", "class": "cat", "expected": "left of", "found": "none"},
        {"kind": "missing_object", "class": "bench"},
        {"kind": "missing_object", "class": "bench"},
    ])
    assert hist["count_off"] == {"+1": 1, "-2": 1}
    assert hist["wrong_color"] == {"red -> blue": 1}
    assert hist["wrong_relation"] == {"left of -> none": 1}
    assert hist["missing_object"] == {"bench": 2}


def test_bootstrap_intervals_bracket_the_scores():
    groups = {"single_object": [[True] * 4] * 10, "counting": [[True, False, False, False]] * 5 + [[True] * 4] * 5}
    intervals = stratified_prompt_bootstrap(groups, resamples=500)
    assert intervals["single_object"] == [1.0, 1.0]  # every resample is all-correct
    lo, hi = intervals["counting"]
    assert lo <= 0.625 <= hi  # (5*1 + 5*4) / 40
    lo, hi = intervals["overall"]
    assert lo <= (1.0 + 0.625) / 2 <= hi
    assert intervals == stratified_prompt_bootstrap(groups, resamples=500)  # seeded: reproducible
    assert interval_note(groups) is None


def test_tags_with_fewer_than_ten_prompts_get_no_interval():
    groups = {"single_object": [[True] * 4] * 10, "counting": [[True, False]] * 9}
    intervals = stratified_prompt_bootstrap(groups, resamples=200)
    assert set(intervals) == {"single_object"}  # counting (9 prompts) has none, so the overall has none
    assert interval_note(groups) == ("no interval for tags with fewer than 10 prompts: counting (9); "
                                     "so none for the overall either")
