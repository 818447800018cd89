"""The upstream answer readers (--scorer-arg parse=official), on hand-written answers."""

from __future__ import annotations

import pytest

from genlens.errors import SpecError
from genlens.judges import official
from genlens.judges.official import parse_mode
from genlens.judges.scorer import same_scores
from genlens.suites._edit_judge import PQ_LABELS, SC_LABELS, parse_pair, pq_of, sc_of

FULL = {"Consistency": 2.0, "Realism": 1.0, "Aesthetic Quality": 0.0}


@pytest.mark.parametrize(("answer", "expected"), [
    ("Consistency: 2\nRealism: 1\nAesthetic Quality: 0", FULL),
    ("**Consistency**: 2\n**Realism** 1\naesthetic quality:0", FULL),           # bold, no colon, any case
    ("Consistency: 1.5\nRealism: 1\nAesthetic Quality: 0", {**FULL, "Consistency": 1.0}),  # first digit of a decimal
    ("Consistency: 10\nRealism: 1\nAesthetic Quality: 0", {**FULL, "Consistency": 1.0}),   # first digit of 10
    ("Consistency: 7\nRealism: 1\nAesthetic Quality: 0", {**FULL, "Consistency": 7.0}),    # no 0-2 range check
    ("Consistency: 0\nConsistency: 2\nRealism: 1\nAesthetic Quality: 0", FULL),            # last occurrence wins
    ("2\n1\n0\n2", FULL),                                # no label anywhere: the first three bare 0-2 lines
    ("2\n1", None),                                      # fewer than three bare lines
    ("Consistency: 2\n1\n0", None),                      # a label matched, so no bare fallback: two labels missing
    ("Consistency：2\nRealism：1\nAesthetic Quality：0", None),  # full-width colon: not upstream's pattern
    ('{"Consistency": 2, "Realism": 1, "Aesthetic Quality": 0}', None),  # JSON: the quote breaks the pattern
])
def test_wise_legacy_reads_as_upstream(answer, expected):
    assert official.wise_legacy(answer) == expected


@pytest.mark.parametrize(("answer", "expected"), [
    ("Score: 1", {"Score": 1.0}),
    ("**Score**: 0 because … Score: 1", {"Score": 0.0}),  # the first match (re.search)
    ("Score: 10", None),                                  # '1' then '0': no word boundary, and no bare line
    ("<think>Score: 0</think>\n1", {"Score": 1.0}),       # thinking removed first; one bare line
    ("1\n0", None),                                       # the single-bare-line rule: two lines are not read
    ("2", None),
])
def test_wise_verified_reads_as_upstream(answer, expected):
    assert official.wise_verified(answer) == expected


@pytest.mark.parametrize(("answer", "expected"), [
    ('{"score": [7, 4], "reasoning": "ok"}', {"edit_success": 7.0, "over_editing": 4.0}),
    ('||V^=^V||\n{"score": [9, 8],\n"reasoning": "x"}\n||V^=^V||', {"edit_success": 9.0, "over_editing": 8.0}),
    ('{"score": 6, "reasoning": "one number"}', {"score": [6.0]}),      # a single score becomes [6]
    ('{"score": [7.5, 12], "reasoning": "x"}', {"edit_success": 7.5, "over_editing": 12.0}),  # floats, >10 kept
    ('{"score": [3, 5, 8]}', {"score": [3.0, 5.0, 8.0]}),                # three scores: min of all three
    ("[6, 3]", {"edit_success": 6.0, "over_editing": 3.0}),             # a bare list of two integers
    ("7", {"score": [7.0]}),                                             # a bare integer 0-10
    ("11", None), ("[6.5, 3]", None), ("no scores here", None),
    ("{score: 5, reasoning: fine}", {"score": [5.0]}),                  # upstream's key-quoting repair
    ('{"score": "8"}', None),                                           # a string score (upstream would crash)
])
def test_viescore_reads_as_mllm_output_to_dict(answer, expected):
    assert official.viescore(answer, SC_LABELS) == expected


def test_sub_scores_are_the_min_of_upstream_lists():
    assert sc_of({"score": [3.0, 5.0, 8.0]}) == 3.0 and pq_of({"score": [6.0]}) == 6.0
    assert sc_of({"edit_success": 7.5, "over_editing": 12.0}) == 7.5


def test_comfymind_format_without_braces():
    answer = '"score" : [10, 9], "reasoning" : "The bird was changed."'
    assert official.comfymind(answer, SC_LABELS) == {"edit_success": 10.0, "over_editing": 9.0}
    assert official.comfymind('{"score": [1, 2]}', SC_LABELS) is None  # braces inside braces: not JSON
    # genlens's strict reader takes the same no-braces answer
    assert parse_pair(answer, SC_LABELS) == {"edit_success": 10, "over_editing": 9}
    assert parse_pair('"score": [10, 11], "reasoning": ""', PQ_LABELS) is None  # 11 is off the scale


def test_parse_mode_and_agreement():
    assert parse_mode({}) == "genlens" and parse_mode({"parse": "OFFICIAL"}) == "official"
    with pytest.raises(SpecError, match="parse=official"):
        parse_mode({"parse": "loose"})
    assert same_scores({"a": 2}, {"a": 2.0}) and same_scores(None, None)
    assert not same_scores({"a": 2}, None) and not same_scores({"score": [6.0]}, {"a": 6})
