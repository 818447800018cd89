"""CVTG-2K rules, each with a hand-worked case."""

from __future__ import annotations

import pytest

from genlens.suites import _cvtg_metrics as rules


def test_targets_are_the_quoted_strings_in_order():
    assert rules.target_texts('a sign "OPEN" and a mug “Best Dad”, not \'this\'') == ["OPEN", "Best Dad"]
    # single quotes only when no double quotes; an apostrophe inside a word is not a quote
    assert rules.target_texts("a cover with 'Joe's Diner' and 'Since 1950'") == ["Joe's Diner", "Since 1950"]
    assert rules.target_texts("no text at all") == []


def test_words_are_casefolded_without_punctuation():
    # "Hello," -> "hello"; "WORLD!" -> "world"; "--" is punctuation only and dropped; NFKC turns "ﬁ" into "fi"
    assert rules.words("Hello,  WORLD! -- ﬁne") == ["hello", "world", "fine"]


def test_word_accuracy_counts_a_multiset_intersection():
    # targets: "the cat", "THE END" -> words the, cat, the, end (4); read: "the cat end dog" has one "the"
    # -> matched the×1, cat, end = 3 of 4
    assert rules.word_accuracy(["the cat", "THE END"], "the cat end dog") == (3, 4)
    assert rules.word_accuracy(["OPEN"], "") == (0, 1)


def test_ned_is_one_minus_normalised_levenshtein_of_the_joined_words():
    # expected "open daily" (10 chars), read "opem daily" -> 1 substitution: 1 - 1/10 = 0.9
    assert rules.ned(["OPEN DAILY"], "OPEM daily") == pytest.approx(0.9)
    # expected "sale" (4), read "sale today" (10): distance 6 -> 1 - 6/10 = 0.4 (extra text costs)
    assert rules.ned(["SALE"], "sale today") == pytest.approx(0.4)
    assert rules.ned([], "") == 1.0 and rules.ned(["A"], "") == 0.0


def test_clip_s_scale():
    # 2.5 * 0.3 = 0.75; a negative cosine is clipped to 0
    assert rules.clip_s(0.3) == pytest.approx(0.75) and rules.clip_s(-0.2) == 0.0
