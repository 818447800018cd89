"""The edit judge's answer reading and combination rules, by hand."""

from __future__ import annotations

import math

import pytest

from genlens.suites._edit_judge import PQ_LABELS, SC_LABELS, genlens_templates, overall_of, parse_pair, pq_of, sc_of


@pytest.mark.parametrize(("raw", "expected"), [
    ('{"reasoning": "fine", "score": [8, 5]}', {"edit_success": 8, "over_editing": 5}),           # VIEScore shape
    ('```json\n{"score": [10, 0], "reasoning": "x"}\n```', {"edit_success": 10, "over_editing": 0}),
    ("Edit success: 7\nOver editing: 9", {"edit_success": 7, "over_editing": 9}),                 # labelled lines
    ('{"edit_success": 6, "over_editing": 4}', {"edit_success": 6, "over_editing": 4}),             # labelled JSON
    ('{"score": [11, 5]}', None),                                                                   # out of 0–10
    ('{"score": [7.5, 5]}', None),                                                                  # not a whole number
    ('{"score": [7]}', None),                                                                       # one score missing
    ("Looks good to me!", None),
])
def test_parse_pair(raw, expected):
    assert parse_pair(raw, SC_LABELS) == expected


def test_min_of_two_and_overall_by_hand():
    # SC = min(8, 5) = 5; PQ = min(9, 6) = 6; O = sqrt(5·6) = sqrt(30) = 5.4772
    sc = sc_of({"edit_success": 8, "over_editing": 5})
    pq = pq_of({"naturalness": 9, "artifacts": 6})
    assert (sc, pq) == (5.0, 6.0)
    assert overall_of(sc, pq) == pytest.approx(math.sqrt(30))
    assert overall_of(sc, None) is None and sc_of(None) is None
    assert parse_pair('{"score": [3, 4]}', PQ_LABELS) == {"naturalness": 3, "artifacts": 4}


def test_genlens_wording_has_the_instruction_placeholder_and_stable_hash():
    sc, pq = genlens_templates()
    assert "instruction" in sc.placeholders() and not pq.placeholders()
    system, text = sc.render(instruction="Make the sky pink")
    assert '"Make the sky pink"' in text and system
    assert len(sc.sha256) == 64 and sc.sha256 != pq.sha256
