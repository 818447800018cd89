"""parse_scores: every accepted shape, and every way an answer stays unparsed (never a guess)."""

from __future__ import annotations

import pytest

from genlens.judges.parsing import parse_score_list, parse_scores, strip_thinking

WISE = ("Consistency", "Realism", "Aesthetic Quality")
ZERO_TO_TWO = range(3)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Consistency: 2\nRealism: 1\nAesthetic Quality: 0", (2, 1, 0)),
    ("**Consistency**: 1\n**Realism:** 2\n**Aesthetic Quality**: 0", (1, 2, 0)),
    ("Consistency：0\nRealism：1\nAesthetic Quality：2", (0, 1, 2)),  # full-width colons
    ("consistency = 1, realism = 1, aesthetic quality = 1", (1, 1, 1)),
    ("Consistency (0-2): 2/2\nRealism score: 1\nAesthetic_Quality: 1", (2, 1, 1)),
    ('```json\n{"consistency": 1, "realism": 0, "aesthetic_quality": 2}\n```', (1, 0, 2)),
    ('{"scores": {"Consistency": "2", "Realism": 1.0, "Aesthetic Quality": 0}}', (2, 1, 0)),
    ('Here you go: {"Consistency": 0, "Realism": 0, "Aesthetic-Quality": 1} as asked.', (0, 0, 1)),
    # the last occurrence wins (a judge restating its final answer), as in the official parser
    ("Consistency: 1 at first sight\nFinal answer:\nConsistency: 2\nRealism: 2\nAesthetic Quality: 1", (2, 2, 1)),
    ("<think>Consistency: 0 maybe</think>\nConsistency: 2\nRealism: 2\nAesthetic Quality: 2", (2, 2, 2)),
    ("1\n2\n0", (1, 2, 0)),  # lone-number fallback, in label order
    ("**1**\n**0**\n**2**.", (1, 0, 2)),
])
def test_accepted_shapes(raw, expected):
    assert parse_scores(raw, WISE, ZERO_TO_TWO) == dict(zip(WISE, expected, strict=True))


@pytest.mark.parametrize("raw", [
    "",
    "I'm sorry, I can't help with that.",
    "Consistency: 2\nRealism: 1",                              # a label missing
    "Consistency: 3\nRealism: 1\nAesthetic Quality: 0",        # outside 0-2
    "Consistency: 1.5\nRealism: 1\nAesthetic Quality: 0",      # not an integer
    "Consistency: 2\nRealism: 1\nAesthetic Quality: 0.5",      # one value unusable spoils the answer
])
def test_unreadable_answers_are_none(raw):
    assert parse_scores(raw, WISE, ZERO_TO_TWO) is None


def test_stray_lone_numbers_do_not_matter_when_every_label_is_present():
    raw = "Consistency: 2\nRealism: 1\nAesthetic Quality: 0\n1\n2"
    assert parse_scores(raw, WISE, ZERO_TO_TWO) == {"Consistency": 2, "Realism": 1, "Aesthetic Quality": 0}


def test_lone_number_fallback_takes_the_first_allowed_lone_numbers_in_order():
    # WISE's fallback: "the first three lines that are a lone digit 0–2, in order C, R, A".
    assert parse_scores("1\n2\n0\n\n3", WISE, ZERO_TO_TWO) == {"Consistency": 1, "Realism": 2, "Aesthetic Quality": 0}
    assert parse_scores("1\n2\n0\n1", WISE, ZERO_TO_TWO) == {"Consistency": 1, "Realism": 2, "Aesthetic Quality": 0}
    assert parse_scores("2\n5\n1\n0", WISE, ZERO_TO_TWO) == {"Consistency": 2, "Realism": 1, "Aesthetic Quality": 0}  # 5 is no digit 0–2
    assert parse_scores("1\n2", WISE, ZERO_TO_TWO) is None  # too few
    assert parse_scores("- 2.\n1\n0", WISE, ZERO_TO_TWO) is None  # "- 2." is not a lone digit


def test_binary_verified_shape():
    assert parse_scores("Score: 1", ["Score"], (0, 1)) == {"Score": 1}
    assert parse_scores("<think>hmm</think>\n0", ["Score"], (0, 1)) == {"Score": 0}
    assert parse_scores("Score: 2", ["Score"], (0, 1)) is None
    assert parse_scores("Scores: 1", ["Score"], (0, 1)) is None  # another word, not the label


def test_json_wins_over_lines_and_bad_json_falls_through():
    assert parse_scores('{"Consistency": 2, "Realism": 2, "Aesthetic Quality": 2}\nConsistency: 0', WISE, ZERO_TO_TWO) == \
        {"Consistency": 2, "Realism": 2, "Aesthetic Quality": 2}
    assert parse_scores('{"Consistency": 2,,}\nConsistency: 0\nRealism: 0\nAesthetic Quality: 1', WISE, ZERO_TO_TWO) == \
        {"Consistency": 0, "Realism": 0, "Aesthetic Quality": 1}


def test_score_list_viescore_shape():
    raw = '```json\n{"score": [8, 5], "reasoning": "..."}\n```'
    assert parse_score_list(raw, count=2, allowed=range(11)) == [8, 5]
    assert parse_score_list('{"score": [8]}', count=2, allowed=range(11)) is None
    assert parse_score_list('{"score": [8, 11]}', count=2, allowed=range(11)) is None


def test_strip_thinking_keeps_the_answer_after_an_unopened_close_tag():
    assert strip_thinking("reasoning...</think>Score: 1") == "Score: 1"
