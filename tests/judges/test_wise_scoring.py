"""WiScore, category means and overall weights against hand-computed values; data checks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from genlens.errors import InputError
from genlens.judges.templates import Template, load_template_file
from genlens.suites.base import ScoreContext
from genlens.suites.wise import WiseSuite, WiseVerifiedSuite, category_of, weighted_overall, wiscore
from genlens.types import GenerationRecord, Item, ScoredGeneration, ScoreRecord
from tests.judges.wise_fixture import write_wise_data

SHARED = Path(os.environ.get("GENLENS_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")


def test_wiscore_formula():
    assert wiscore(2, 2, 2) == pytest.approx(1.0)
    assert wiscore(0, 0, 0) == 0.0
    assert wiscore(2, 1, 0) == pytest.approx((1.4 + 0.2 + 0.0) / 2)  # 0.8
    assert wiscore(1, 0, 2) == pytest.approx((0.7 + 0.0 + 0.2) / 2)  # 0.45


def test_category_by_prompt_id_range_edges():
    ranges = WiseSuite.ranges
    assert [category_of(i, ranges) for i in (1, 400, 401, 567, 568, 700, 701, 800, 801, 900, 901, 1000)] == [
        "cultural", "cultural", "time", "time", "space", "space", "biology", "biology", "physics", "physics",
        "chemistry", "chemistry"]
    assert category_of(1001, ranges) is None and category_of(0, ranges) is None
    verified = WiseVerifiedSuite.ranges
    assert [category_of(i, verified) for i in (520, 521, 640, 641, 760, 761, 880, 881)] == [
        "time", "space", "space", "biology", "biology", "physics", "physics", "chemistry"]


def test_overall_weights_reproduce_gpt_imgeval_gpt4o_row():
    # GPT-ImgEval's GPT-4o row: 0.4*0.81 + 0.167*0.71 + 0.133*0.89 + 0.1*(0.83 + 0.79 + 0.74)
    #   = 0.324 + 0.11857 + 0.11837 + 0.236 = 0.79694 -> 0.80 at two decimals
    cats = {"cultural": 0.81, "time": 0.71, "space": 0.89, "biology": 0.83, "physics": 0.79, "chemistry": 0.74}
    assert weighted_overall(cats, WiseSuite.weights) == pytest.approx(0.79694)
    assert sum(WiseSuite.weights.values()) == pytest.approx(1.0)
    assert sum(WiseVerifiedSuite.weights.values()) == pytest.approx(1.0)
    assert weighted_overall({**cats, "space": None}, WiseSuite.weights) is None


def _entry(pid: int, category: str, status: str, scores: dict | None, reply_status: str = "ok") -> ScoredGeneration:
    item = Item(id=str(pid), prompt=f"p{pid}", category=category, meta={"explanation": "e"})
    gen = GenerationRecord(f"g{pid}", str(pid), 0, 0, "ok", [f"images/{pid}/0.png"])
    value = {"raw": "x", "scores": scores, "reply_status": reply_status, "model": "judge-v1", "template": "ab" * 32,
             "template_name": "official", "usage": {"prompt_tokens": 10, "completion_tokens": 2}, "cost_usd": 0.5}
    return ScoredGeneration(item, gen, {"wise_verified_judge": ScoreRecord(f"s{pid}", f"g{pid}", "wise_verified_judge", status, value)})


def test_verified_binary_aggregation_by_hand(tmp_path):
    suite = WiseVerifiedSuite(data_dir=tmp_path)
    suite._items = []  # aggregation needs no data for this check
    one, zero = {"Score": 1}, {"Score": 0}
    scored = [
        _entry(1, "cultural", "ok", one), _entry(2, "cultural", "ok", zero), _entry(3, "cultural", "ok", one),
        _entry(401, "time", "ok", one), _entry(521, "space", "ok", zero), _entry(641, "biology", "ok", one),
        _entry(761, "physics", "ok", one), _entry(881, "chemistry", "ok", zero),
        _entry(882, "chemistry", "unparsed", None), _entry(883, "chemistry", "unparsed", None, reply_status="refused"),
    ]
    result = suite.aggregate(scored, ScoreContext(run_dir=tmp_path))
    # cultural 2/3; time 1; space 0; biology 1; physics 1; chemistry 0 (882/883 not scored)
    # overall = 0.40*(2/3) + 0.12*(1 + 0 + 1 + 1 + 0) = 0.266667 + 0.36 = 0.626667
    # 2 of the 10 prompts have no score, so (as the official script) no headline overall:
    assert result.headline["overall"] is None
    assert result.metrics["overall_partial"] == pytest.approx(0.4 * 2 / 3 + 0.36)
    assert result.categories["cultural"]["score"] == pytest.approx(2 / 3)
    assert result.categories["chemistry"] == {"score": 0.0, "n": 1}
    assert result.extra["unparsed_by_category"]["chemistry"] == 2
    assert (result.counts["unparsed"], result.counts["judge_refused"]) == (1, 1)
    assert result.extra["judge_usage"]["cost_usd"] == pytest.approx(5.0)  # 10 answered calls × 0.5


def test_no_overall_when_a_category_has_no_score(tmp_path):
    suite = WiseVerifiedSuite(data_dir=tmp_path)
    suite._items = []
    result = suite.aggregate([_entry(1, "cultural", "ok", {"Score": 1})], ScoreContext(run_dir=tmp_path))
    assert result.headline["overall"] is None
    assert any("no overall score" in note for note in result.provenance["caveats"])


def test_items_from_fixture_data_generator_sees_prompt_only(tmp_path):
    suite = WiseSuite(data_dir=write_wise_data(tmp_path))
    items = suite.items()
    assert [i.id for i in items] == ["1", "2", "401", "568", "701", "801", "901", "902", "903"]
    assert items[2].category == "time" and items[3].category == "space"
    assert "what fixture" not in items[0].prompt and items[0].meta["explanation"] == "what fixture 1 must show"
    assert suite.folder_candidates(items[0], 0) == ["1"]


def test_missing_and_broken_data_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="genlens data fetch wise"):
        WiseSuite(data_dir=tmp_path).items()
    write_wise_data(tmp_path)
    (tmp_path / "legacy" / "natural_science.json").write_text(json.dumps([{"Prompt": "x", "prompt_id": 5000, "Explanation": "y"}]))
    with pytest.raises(InputError, match="outside every category range"):
        WiseSuite(data_dir=tmp_path).items()


def test_templates_hash_render_and_file_sections(tmp_path):
    template = Template("t", "sys {Prompt}", "P={Prompt} E={explanation} {keep}")
    assert template.render(Prompt="a", Explanation="b") == ("sys a", "P=a E=b {keep}")
    assert template.sha256 != Template("t", "sys {Prompt} ", template.user).sha256  # any byte changes the hash
    path = tmp_path / "judge.txt"
    path.write_text("[system]\nBe fair.\n[user]\nRate {Prompt} given {Explanation}.\n")
    loaded = load_template_file(path, required=("Prompt", "Explanation"))
    assert (loaded.system, loaded.user) == ("Be fair.", "Rate {Prompt} given {Explanation}.")
    path.write_text("Rate {Prompt}.")
    with pytest.raises(InputError, match="Explanation"):
        load_template_file(path, required=("Prompt", "Explanation"))


@pytest.mark.skipif(not (SHARED / "benchmarks" / "wise").is_dir(), reason="shared benchmark copies not present")
def test_real_data_loads_with_official_counts():
    legacy = WiseSuite(data_dir=SHARED / "benchmarks" / "wise").items()
    counts = {c: sum(1 for i in legacy if i.category == c) for c in WiseSuite.ranges}
    assert len(legacy) == 1000
    assert counts == {"cultural": 400, "time": 167, "space": 133, "biology": 100, "physics": 100, "chemistry": 100}
    # the id ranges agree with upstream's own Category field
    upstream = {c: {i.meta["upstream_category"] for i in legacy if i.category == c} for c in WiseSuite.ranges}
    assert upstream["time"] == {"time"} and upstream["space"] == {"Space"} and upstream["chemistry"] == {"Chemistry"}
    verified = WiseVerifiedSuite(data_dir=SHARED / "benchmarks" / "wise").items()
    counts = {c: sum(1 for i in verified if i.category == c) for c in WiseVerifiedSuite.ranges}
    assert counts == {"cultural": 400, "time": 120, "space": 120, "biology": 120, "physics": 120, "chemistry": 120}


def test_a_record_without_an_integer_prompt_id_is_one_line(tmp_path):
    import json as _json

    from genlens.errors import InputError
    from genlens.suites.wise import WiseSuite

    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in ("cultural_common_sense.json", "spatio-temporal_reasoning.json", "natural_science.json"):
        (legacy / name).write_text(_json.dumps([{"Prompt": "p", "Explanation": "e", "prompt_id": "abc"}]))
    with pytest.raises(InputError, match="no integer prompt_id"):
        WiseSuite(data_dir=tmp_path).items()


def test_agree_survives_a_corrupt_judge_json(tmp_path):
    from genlens.judges.scorer import read_judge_choice

    (tmp_path / "judge.json").write_text("{bad")
    assert read_judge_choice(tmp_path) == {}
    (tmp_path / "judge.json").write_text('["not", "a", "mapping"]')
    assert read_judge_choice(tmp_path) == {}
