"""TIIF-Bench scoring rules, each with hand-worked inputs and outputs."""

from __future__ import annotations

import pytest

from genlens.suites.tiif import (
    DIMENSIONS,
    GROUPS,
    count_correct,
    dimension_accuracy,
    genlens_answers,
    gned,
    group_scores,
    level_average,
    ned,
    official_answers,
    overall,
    split_read,
    text_recall,
    text_words,
    wording_index,
)


def test_groups_cover_the_39_dimension_files_once():
    assert len(DIMENSIONS) == len(set(DIMENSIONS)) == 39
    assert [len(d) for d in GROUPS.values()] == [4, 4, 4, 8, 8, 8, 1, 1, 1]


def test_official_reader_keeps_lines_starting_with_yes_or_no():
    raw = "Yes, a cat.\n\n  no - not red\n1. yes numbered\n**Yes** bold\nyesterday\nNo.\nyes/no"
    # kept: "Yes, a cat." "no - not red" "No." "yes/no"; skipped: numbered, bold, "yesterday" (no word boundary)
    assert official_answers(raw) == {"answers": ["yes", "no", "no", "yes"]}
    assert official_answers("I cannot tell.") is None
    assert official_answers("") is None


def test_genlens_reader_also_takes_numbers_bullets_bold_and_labels():
    raw = "<think>yes maybe</think>\n1. Yes, a cat.\n2) no\n- **No** it is not\nAnswer: yes\nyesterday"
    assert genlens_answers(raw) == {"answers": ["yes", "no", "no", "yes"]}
    assert official_answers(raw) is None  # upstream skips every one of these lines


def test_count_correct_compares_stripped_lower_case():
    assert count_correct(["Yes", " no ", "yes"], ["yes", "no", "no"]) == 2


def test_dimension_accuracy_is_micro_over_questions():
    # color+2d: image A 3 of 4 right, image B 1 of 2 right -> 4/6 (not the mean of 0.75 and 0.5)
    acc = dimension_accuracy({"color+2d": (4, 6), "text": (0, 0)})
    assert acc == {"color+2d": pytest.approx(4 / 6)}  # a dimension without questions has no accuracy


def test_groups_overall_and_level_averages_hand_worked():
    accuracy = {d: 1.0 for d in DIMENSIONS}
    accuracy.update({"shape+color": 0.6, "numeracy": 0.2, "text": 0.5})
    accuracy.pop("style")  # no scored style image
    groups = group_scores(accuracy)
    assert groups["basic_attribute"] == pytest.approx((0.6 + 3) / 4)  # 0.9
    assert groups["basic_reasoning"] == pytest.approx((0.2 + 3) / 4)  # 0.8
    assert groups["advanced_text"] == pytest.approx(0.5)
    assert groups["advanced_style"] is None
    # overall: the mean of the 8 groups that have a score = (0.9 + 1 + 0.8 + 1 + 1 + 1 + 0.5 + 1) / 8 = 7.2 / 8
    assert overall(groups) == pytest.approx(0.9)
    # basic average over its 12 dimensions: (0.6 + 0.2 + 10) / 12 = 0.9
    assert level_average(accuracy, ("basic_attribute", "basic_relation", "basic_reasoning")) == pytest.approx(10.8 / 12)
    # advanced over its 25 dimensions that have one (style missing): (24 + 0.5) / 25 = 0.98, not the mean of groups
    advanced = ("advanced_attribute_relation", "advanced_attribute_reasoning", "advanced_relation_reasoning",
                "advanced_text", "advanced_style")
    assert level_average(accuracy, advanced) == pytest.approx(24.5 / 25)
    assert overall({g: None for g in GROUPS}) is None


def test_ned_hand_worked():
    assert ned("kitten", "sitting") == pytest.approx(3 / 7)  # k->s, e->i, +g
    assert ned("", "") == 0.0
    assert ned("abc", "") == 1.0


def test_split_read_as_upstream():
    assert split_read(["hello world", "tea"]) == ["hello", "world", "tea"]
    assert split_read(["a  b"]) == ["a", "", "b"]  # single-space split keeps the empty piece
    assert split_read([]) == [""]  # nothing read counts as one empty piece


def test_gned_hand_worked():
    # expected ["tea", "cake"], read "tea cak": pieces ["tea", "cak"]; matching tea-tea 0, cak-cake 1/4
    # -> (0 + 0.25 + 0) / 2 = 0.125
    assert gned(["tea", "cake"], ["tea cak"]) == pytest.approx(0.125)
    # one extra piece: ["tea", "cake", "x"] vs expected ["tea", "cake"] -> (0 + 0 + 1) / 3
    assert gned(["tea", "cake"], ["tea cake x"]) == pytest.approx(1 / 3)
    # nothing read: [""] vs 2 words -> matched 1.0 + 1 unmatched -> 2 / 2
    assert gned(["tea", "cake"], []) == pytest.approx(1.0)
    # the Hungarian matching, not the greedy one: read ["ab", "abc"], expected ["abc", "ab"] -> 0
    assert gned(["abc", "ab"], ["ab abc"]) == pytest.approx(0.0)
    assert gned([], []) == pytest.approx(1.0)  # [""] read vs no words: 1 unmatched piece / 1


def test_recall_hand_worked():
    # expected tea, cake, relax; read "tea cak relaxx": tea 0 <= 0.3, cake-cak 0.25 <= 0.3, relax-relaxx 1/6 <= 0.3 -> 3/3
    assert text_recall(["tea", "cake", "relax"], ["tea cak relaxx"]) == pytest.approx(1.0)
    # "ca" vs "cake": 2/4 = 0.5 > 0.3 -> no match; 1 of 2
    assert text_recall(["tea", "cake"], ["tea ca"]) == pytest.approx(0.5)
    # a piece is used once: two expected "tea", one read "tea" -> 1/2
    assert text_recall(["tea", "tea"], ["tea"]) == pytest.approx(0.5)


def test_text_words_from_questions():
    assert text_words(["Is the text 'Eco-friendly' in the image?", "Is the text 'THE' in the image?  ", "Other?"]) == [
        "eco-friendly", "the"]


def test_wording_index_is_fixed_per_item():
    assert wording_index("short/text/3") == wording_index("short/text/3")
    assert {wording_index(f"short/style/{i}") for i in range(50)} == {0, 1, 2}


def test_anchor_tables_load_and_match_a_tiif_run_by_subset_and_length():
    from genlens.report.anchors import anchor_column, anchor_for

    short = anchor_for({"suite": "tiif", "extra": {"subset": "testmini", "report_length": "short", "judge_family": "gpt-4o"}})
    long_ = anchor_for({"suite": "tiif", "extra": {"subset": "testmini", "report_length": "long", "judge_family": "gpt-4o"}})
    assert short is not None and long_ is not None and short.key != long_.key
    assert anchor_for({"suite": "tiif", "extra": {"subset": "test", "report_length": "short", "judge_family": "gpt-4o"}}) is None
    # a run judged by another model (Qwen2.5-VL, …) is not set against the GPT-4o-judged tables
    assert anchor_for({"suite": "tiif", "extra": {"subset": "testmini", "report_length": "short", "judge_family": "other"}}) is None
    ref = short.reference
    assert ref is not None and ref.model.startswith("GPT-4o")
    # each row's overall is the mean of its nine group columns (the suite's rule)
    for row in short.rows:
        groups = [row.values[g] for g in GROUPS]
        assert row.values["overall"] == pytest.approx(sum(groups) / 9, abs=1e-4)
    assert anchor_column(short, "basic_attribute") == "basic_attribute"


class _StubJudge:
    """Answers from a list in order; records how many questions it was asked."""

    scheme = "openai"
    spec = "openai:stub"
    concurrency = 1

    def __init__(self, answers):
        self.params: dict = {}
        self.answers = list(answers)
        self.asked = 0

    def settings(self):
        return {}

    async def ask_batch(self, requests):
        from genlens.judges.base import JudgeReply

        out = []
        for _ in requests:
            self.asked += 1
            out.append(JudgeReply(self.answers.pop(0), "stub", "ok"))
        return out

    async def aclose(self):
        return None


@pytest.mark.parametrize(("answers", "asked", "read"), [
    (["yes", "yes\nno"], 2, ["yes", "no"]),             # one line for two questions: asked again, then right
    (["yes", "yes", "no\nno\nno"], 3, ["no", "no", "no"]),  # 3 attempts in all; the last is kept (then miscounted)
    (["1. yes\n2. no", "nothing", "yes\nno"], 3, ["yes", "no"]),  # unread by upstream's reader, twice
])
def test_miscounted_answers_are_asked_again_up_to_three_times(tmp_path, answers, asked, read):
    import asyncio

    from genlens.judges.cache import JudgeCache
    from genlens.judges.templates import Template
    from genlens.suites.tiif import TiifJudgeScorer, TiifRequest, official_answers

    judge = _StubJudge(answers)
    scorer = TiifJudgeScorer(name="t", version="1", judge=judge, template=Template("x", None, "{Questions}"),  # type: ignore[arg-type]
                             build=lambda inp, t: inp, parse=official_answers, cache=JudgeCache(tmp_path / "c.sqlite"))
    (reply,) = asyncio.run(scorer._answers([TiifRequest(system=None, text="q1\nq2", images=[], n_questions=2)]))
    assert judge.asked == asked
    assert official_answers(reply.raw) == {"answers": read}
    assert len(reply.earlier) == asked - 1  # the replaced answers are kept beside the final one
