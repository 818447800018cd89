"""OneIG aggregation from stored per-tile values, worked out by hand (no model involved)."""

from __future__ import annotations

import json

import pytest

from genlens.suites.base import ScoreContext
from genlens.suites.oneig import OneIGSuite
from genlens.types import GenerationRecord, ScoredGeneration, ScoreRecord
from tests.t2i2026.oneig_fixture import write_oneig_data

SAME, APART = [[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]
STORED = {  # item -> scorer -> value
    "anime_000": {"alignment": {"tiles": [{"1": "Yes", "2": "Yes"}, {"1": "No", "2": "Yes"}]},   # 1.0, 0.5 -> 0.75
                  "style": {"style": "watercolor", "tiles": [{"csd_max": 0.6, "se_max": -0.2}, {"csd_max": 0.4, "se_max": 0.2}]},
                  "diversity": {"embeddings": APART}},
    "anime_001": {"alignment": {"tiles": [{"1": "No", "2": "Yes"}]}, "diversity": {"embeddings": SAME}},  # q2 <- q1: 0.0
    "human_000": {"alignment": {"tiles": [{"1": "Yes", "2": "No", "3": "Yes"}]}, "diversity": {"embeddings": SAME}},  # 2/3
    "object_000": {"alignment": {"tiles": [{"1": "Yes"}]}, "diversity": {"embeddings": SAME}},  # 1.0
    "text_000": {"text": {"tiles": [{"ocr": "OPEN NOW"}, {"ocr": "OPEN"}]}, "diversity": {"embeddings": SAME}},
    "reasoning_000": {"reasoning": {"tiles": [0.2, 0.4]}, "diversity": {"embeddings": SAME}},
}


def scored_run(tmp_path, stored):
    data = write_oneig_data(tmp_path / "oneig")
    suite = OneIGSuite(data_dir=data)
    items = {i.id: i for i in suite.items()}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text(json.dumps({"spec": {"samples": 1}}))
    entries = []
    for item_id, by_scorer in stored.items():
        gen = GenerationRecord("g-" + item_id, item_id, 0, 0, "ok", [f"images/{item_id}/0.png"])
        scores = {f"oneig_{name}": ScoreRecord("s", gen.fingerprint, f"oneig_{name}", "ok", {"black_tiles": 0, **value})
                  for name, value in by_scorer.items()}
        entries.append(ScoredGeneration(items[item_id], gen, scores))
    return suite, entries, ScoreContext(run_dir=tmp_path / "run")


def test_every_dimension_by_hand(tmp_path):
    suite, entries, ctx = scored_run(tmp_path, STORED)
    result = suite.aggregate(entries, ctx)
    # alignment: mean over PROMPTS pooled across folders: (0.75 + 0 + 2/3 + 1) / 4 = 0.6041667
    # (a mean of folder means would be (0.375 + 0.6667 + 1) / 3 = 0.6806: not what upstream computes)
    assert result.headline["alignment"] == pytest.approx((0.75 + 0 + 2 / 3 + 1) / 4)
    assert result.extra["by_folder"]["anime"]["alignment"] == pytest.approx(0.375)
    # text over tiles: "OPEN NOW" (ED 0, CR 1, 2/2 words), "OPEN" (ED 4, CR 0, 1/2) -> ED 2, CR 0.5, WAC 3/4
    # text = 1 - min(100, 2) * 0.5 * 0.25 / 100 = 0.9975
    assert result.headline["text"] == pytest.approx(0.9975)
    assert result.metrics["text_ED"] == 2 and result.metrics["text_CR"] == 0.5 and result.metrics["text_WAC"] == 0.75
    assert result.extra["per_prompt"]["text"]["text_000"] == {"ED": 2.0, "CR": 0.5, "WAC": 0.75}
    # style: tiles (0.6 + 0)/2 = 0.3 and (0.4 + 0.2)/2 = 0.3 -> 0.3
    assert result.headline["style"] == pytest.approx(0.3) and result.metrics["style_watercolor"] == pytest.approx(0.3)
    # diversity: anime_000's two orthogonal tiles are 1 apart, the five others 0 -> 1/6
    assert result.headline["diversity"] == pytest.approx(1 / 6)
    assert result.headline["reasoning"] == pytest.approx(0.3)
    # no judge model recorded here, so alignment counts as official; the stand-ins never do
    assert result.categories["alignment"] == {"score": pytest.approx(0.6041667), "n": 4}
    # style: no csd_model converted by genlens here, so not the official pair
    assert set(result.categories) == {"alignment", "text", "style (not comparable)", "reasoning (not comparable)",
                                      "diversity (not comparable)"}
    assert all(c["complete"] for c in result.extra["coverage_by_dimension"].values())
    assert result.extra["coverage"] == {"complete": True, "prompts": [6, 6], "images": [6, 6]}


def test_a_prompt_whose_tiles_were_all_black_is_unscored_not_skipped(tmp_path):
    stored = {k: dict(v) for k, v in STORED.items()}
    stored["object_000"] = {"alignment": {"tiles": [], "black_tiles": 4}, "diversity": {"embeddings": [], "black_tiles": 4}}
    suite, entries, ctx = scored_run(tmp_path, stored)
    result = suite.aggregate(entries, ctx)
    # upstream's mean() would silently give (0.75 + 0 + 2/3) / 3; genlens: no headline, the same number as _partial
    assert result.headline["alignment"] is None
    assert result.metrics["alignment_partial"] == pytest.approx((0.75 + 0 + 2 / 3) / 3)
    assert result.extra["coverage_by_dimension"]["alignment"]["prompts"] == [3, 4]
    assert result.counts["black_tiles"] == 4 and any("all-black" in c for c in result.provenance["caveats"])
    assert result.headline["text"] == pytest.approx(0.9975)  # other dimensions are unaffected


def test_style_is_official_only_with_a_converted_csd_and_the_oneig_style_encoder(tmp_path):
    from genlens.suites.oneig import DEFAULT_STYLE_ENCODER, _official_style

    data = write_oneig_data(tmp_path / "oneig")
    (tmp_path / "csd").mkdir()
    assert not _official_style(OneIGSuite(data_dir=data, suite_args={"csd_model": str(tmp_path / "csd")}))
    (tmp_path / "csd" / "genlens_provenance.json").write_text(json.dumps({"what": "CSD (Somepalli et al.) style model"}))
    assert _official_style(OneIGSuite(data_dir=data, suite_args={"csd_model": str(tmp_path / "csd")}))
    other = {"csd_model": str(tmp_path / "csd"), "style_encoder": "./my-encoder"}
    assert DEFAULT_STYLE_ENCODER == "xingpng/OneIG-StyleEncoder" and not _official_style(OneIGSuite(data_dir=data, suite_args=other))


def test_diversity_with_one_image_per_prompt_says_what_it_needs(tmp_path):
    stored = {k: {"diversity": {"embeddings": [[1.0, 0.0]]}} for k in STORED}
    suite, entries, ctx = scored_run(tmp_path, stored)
    result = suite.aggregate(entries, ctx)
    assert result.headline["diversity"] is None and any("--samples 4" in c for c in result.provenance["caveats"])
