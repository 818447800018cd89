"""OneIG-Bench's scoring rules, each with inputs whose result is worked out by hand from the official scripts."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from genlens.errors import SpecError
from genlens.suites import _oneig_rules as rules


# -- grids -------------------------------------------------------------------------------------------
def test_grid_boxes_are_row_major_with_floor_division():
    # 2x2 of a 101x61 image: tiles 101//2=50 wide, 61//2=30 tall; the last column/row of pixels is cut off
    assert rules.grid_boxes(101, 61, 2, 2) == [(0, 0, 50, 30), (50, 0, 100, 30), (0, 30, 50, 60), (50, 30, 100, 60)]
    # "1,4" divides the WIDTH by 1 and the HEIGHT by 4: four horizontal strips, top to bottom
    assert rules.grid_boxes(40, 80, 1, 4) == [(0, 0, 40, 20), (0, 20, 40, 40), (0, 40, 40, 60), (0, 60, 40, 80)]


def test_parse_grid_takes_first_and_last_number():
    assert rules.parse_grid("2,2") == (2, 2) and rules.parse_grid("4,1") == (4, 1) and rules.parse_grid("1x1") == (1, 1)
    for bad in ("0,2", "a,b", "17,1"):
        with pytest.raises(SpecError):
            rules.parse_grid(bad)


def test_split_grid_drops_only_exactly_black_tiles_in_order():
    grid = Image.new("RGB", (20, 20), (0, 0, 0))
    grid.paste(Image.new("RGB", (10, 10), (255, 0, 0)), (0, 0))    # tile 0 (top left): red
    grid.paste(Image.new("RGB", (10, 10), (1, 0, 0)), (0, 10))     # tile 2 (bottom left): almost black, kept
    # tiles 1 and 3 stay pure black and are dropped
    tiles, black = rules.split_grid(grid, 2, 2)
    assert black == 2 and [t.getpixel((5, 5)) for t in tiles] == [(255, 0, 0), (1, 0, 0)]
    # an RGBA grid is compared in RGB: a transparent black tile is black too
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    assert rules.split_grid(rgba, 1, 1) == ([], 1)


def test_tiles_reach_the_models_as_jpeg():
    data = rules.tile_jpeg(Image.new("RGB", (16, 16), (10, 200, 30)))
    assert data[:2] == b"\xff\xd8" and Image.open(io.BytesIO(data)).format == "JPEG"


# -- alignment ---------------------------------------------------------------------------------------
def test_only_the_exact_answer_yes_counts():
    assert rules.answer_scores({1: "Yes", 2: "yes", 3: "Yes.", 4: "No"}) == {1: 1.0, 2: 0.0, 3: 0.0, 4: 0.0}


def test_dependencies_zero_children_of_a_failed_parent_one_level_only():
    # q1 (root) No; q2 depends on q1 -> zeroed; q3 depends on q2, whose RAW answer is Yes -> kept (not transitive)
    # q4 root Yes; q5 depends on [0, 4] -> kept. Filtered: [0, 0, 1, 1, 1] -> 3/5 = 0.6
    answers = {1: "No", 2: "Yes", 3: "Yes", 4: "Yes", 5: "Yes"}
    deps = {1: [0], 2: [1], 3: [2], 4: [0], 5: [0, 4]}
    assert rules.filtered_scores(rules.answer_scores(answers), deps) == {1: 0.0, 2: 0.0, 3: 1.0, 4: 1.0, 5: 1.0}
    assert rules.tile_alignment(answers, deps) == pytest.approx(0.6)
    # a parent id that is not a question is ignored (upstream prints a warning and goes on)
    assert rules.tile_alignment({1: "Yes", 2: "Yes"}, {1: [0], 2: [9]}) == 1.0


# -- text --------------------------------------------------------------------------------------------
def test_normalisation_of_english_and_chinese():
    # punctuation goes, whitespace runs collapse; the truth is upstream's Python-list string
    assert rules.normalise_text("['Hello,  World!', 'Caf\u00e9 2025']") == "Hello World Caf\u00e9 2025"
    # Chinese: only CJK, ASCII letters and digits kept, spaces removed
    assert rules.normalise_text("['\u4f60\u597d \u4e16\u754c', 'AI 2']") == "\u4f60\u597d\u4e16\u754cAI2"


def test_ocr_cleaning_and_edit_distance():
    assert rules.clean_ocr("No text recognized.") == "" and rules.clean_ocr("addCriterionHELLO") == "HELLO"
    assert rules.edit_distance("kitten", "sitting") == 3 and rules.edit_distance("", "abc") == 3
    assert rules.edit_distance("abc", "abc") == 0


def test_word_and_character_matches_are_multiset_overlaps():
    # EN words: truth {the:2, cat:1}, ocr {the:1, cat:1, dog:1} -> min counts 1 + 1 = 2 of 3
    assert rules.unit_matches("the the cat", "the cat dog") == (2, 3)
    # ZH characters: truth 你好你 {你:2, 好:1}, ocr 你好 -> 2 of 3
    assert rules.unit_matches("\u4f60\u597d\u4f60", "\u4f60\u597d") == (2, 3)


def test_text_score_over_tiles_hand_worked():
    # tile 1: OCR "Hello World" vs truth ['Hello World'] -> ED 0, CR 1, 2/2 words
    # tile 2: OCR "Hxllo" vs same truth "Hello World" -> ED: 1 substitution + 6 insertions (" World") = 7, CR 0, 0/2 words
    one = rules.text_tile("Hello World", "['Hello World']")
    two = rules.text_tile("Hxllo", "['Hello World']")
    assert (one.distance, one.complete, one.matched, one.truth_units) == (0, 1, 2, 2)
    assert (two.distance, two.complete, two.matched, two.truth_units) == (7, 0, 0, 2)
    # ED = 3.5, CR = 0.5, WAC = 2/4 = 0.5; text = 1 - min(100, 3.5)*(1-0.5)*(1-0.5)/100 = 1 - 0.875/100 = 0.99125
    totals = rules.text_totals([one, two], "en")
    assert totals == pytest.approx({"ED": 3.5, "CR": 0.5, "WAC": 0.5, "text": 0.99125})
    # ZH caps ED at 50: ED 60, CR 0, WAC 0 -> 1 - 50/50 = 0
    far = rules.TextTile(60, 0, 0, 4)
    assert rules.text_totals([far], "zh")["text"] == pytest.approx(0.0)
    assert rules.text_totals([], "en") is None


def test_ocr_budget_follows_the_word_count_of_the_truth():
    assert rules.ocr_token_budget(" ".join(["w"] * 60)) == 128 and rules.ocr_token_budget(" ".join(["w"] * 61)) == 256


# -- style, diversity --------------------------------------------------------------------------------
def test_style_tile_clamps_each_encoder_at_zero_then_averages():
    # CSD best 0.6, style encoder best -0.2 -> (0.6 + 0) / 2 = 0.3
    assert rules.style_tile([0.1, 0.6], [-0.5, -0.2]) == pytest.approx(0.3)
    assert rules.style_label("Chinese Ink Painting") == "chinese_ink_painting"
    assert rules.style_label("") is None and rules.style_label("nan") is None


def test_diversity_is_the_mean_pairwise_one_minus_cosine():
    # a=(1,0), b=(0,1), c=(1,1)/√2: distances a-b 1, a-c 1-√½, b-c 1-√½ -> mean (3 - 2·0.70711)/3 = 0.52860
    value = rules.pairwise_distance_mean([[1, 0], [0, 1], [2, 2]])
    assert value == pytest.approx((3 - 2 * 0.5 ** 0.5) / 3)
    assert rules.pairwise_distance_mean([[1, 0]]) is None
