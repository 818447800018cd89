"""LongText-Bench rules (X-Omni textbench/summary_scores.py), each with a hand-worked case."""

from __future__ import annotations

import pytest

from genlens.suites import _longtext_metrics as rules


def test_only_the_last_keyword_is_removed_as_upstream_does():
    # the upstream loop rebinds from the original text each time: "addCriterion" survives
    assert rules.clean_reply("addCriterion HELLO No text recognized.") == "addCriterion HELLO "
    # the instruction asks for 'No text recognized' without the full stop: that reply is kept
    assert rules.clean_reply("No text recognized") == "No text recognized"


def test_english_normalisation_keeps_letters_digits_cjk_and_french_accents():
    # "Café," -> "café"; "--" and "!" deleted; runs of spaces become one; lower case; "Ü" kept then lowered
    assert rules.normalise("  Café,  OPEN -- 24/7!  ÜBER 中文 ", "en") == "café open 247 über 中文"
    # ß, ñ and Cyrillic are outside the kept set: deleted
    assert rules.normalise("Straße Señor Привет", "en") == "strae seor"


def test_chinese_normalisation_drops_spaces_and_punctuation_and_keeps_case():
    assert rules.normalise("中央公园 - 2公里，OK!", "zh") == "中央公园2公里OK"


def test_english_counts_words_as_a_multiset():
    # targets "EVERY DAY, EVERY NIGHT" -> every day every night (4 words);
    # reply "every every every day" -> every×2 (the target has two), day -> 3 of 4
    assert rules.match_counts(["EVERY DAY, EVERY NIGHT"], "every every every day", "en") == (3, 4)
    # case and punctuation do not matter; word order does not either
    assert rules.match_counts(["Since 1998"], "1998 SINCE!", "en") == (2, 2)


def test_chinese_counts_characters_as_a_multiset():
    # target 本地烘焙 + 烘焙 -> 本 地 烘×2 焙×2 (6 chars); reply 烘焙烘 -> 烘×2, 焙×1 -> 3 of 6
    assert rules.match_counts(["本地烘焙", "烘焙"], "烘焙烘", "zh") == (3, 6)
    # case is kept in Chinese mode: "ok" does not match "OK"
    assert rules.match_counts(["OK"], "ok", "zh") == (0, 2)


def test_a_language_score_pools_units_over_images_not_ratios():
    # image 1: 1 of 1 word, image 2: 1 of 9 -> pooled 2/10 = 0.2 (the mean of ratios would be 0.556)
    assert rules.text_score([(1, 1), (1, 9)]) == pytest.approx(0.2)
    assert rules.text_score([]) is None
