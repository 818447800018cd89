"""Replay upstream's released GPT-4o judge answers through the suite's reader and aggregation (shared copy only).

For each of the ten anchor models, every released answer file becomes a judged generation; the suite must
read the same predictions as upstream stored and give the numbers of the shipped anchor tables.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from genlens.report.anchors import anchor_for
from genlens.suites.base import ScoreContext
from genlens.suites.tiif import GROUPS, SCORER, TiifSuite, official_answers
from genlens.types import GenerationRecord, ScoredGeneration, ScoreRecord

SHARED = Path(os.environ.get("GENLENS_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")
ROOT = SHARED / "benchmarks" / "tiif"
RELEASED = ROOT / "eval-results-gpt4o"
FOLDERS = {"GPT-4o (image generation)": "GPT-4o", "DALL-E 3": "DALLE3", "Midjourney v7": "MidJourney_v7_0429",
           "SD 3.5": "sd35", "SD 3": "sd3", "SANA 1.5": "sana_1_5", "PixArt-Sigma": "PixArt-Sigma", "SDXL": "sd_xl",
           "Janus-Pro": "Janus-Pro", "Infinity": "Infinity"}


@pytest.mark.skipif(not RELEASED.is_dir(), reason="shared copy of upstream's released judge answers not present")
@pytest.mark.parametrize("model", list(FOLDERS))
def test_released_answers_replayed_give_the_anchor_numbers(model, tmp_path):
    suite = TiifSuite(data_dir=ROOT, suite_args={"gned": False})
    by_id = {item.id: item for item in suite.items()}
    scored = []
    for path in sorted((RELEASED / FOLDERS[model]).rglob("*.json")):
        released = json.loads(path.read_text(encoding="utf-8"))
        item = by_id[f"{path.parent.name}/{released['attribute']}/{released['line_idx']}"]
        assert item.meta["questions"] == released["questions"]  # released line_idx = the full-test line
        read = official_answers(released["model_output"])
        assert read is not None and read["answers"] == released["model_pred"]  # upstream's reader, reproduced
        value = {"raw": released["model_output"], "scores": read, "reply_status": "ok", "model": "gpt-4o",
                 "template": "0" * 64, "template_name": "official:released"}
        gen = GenerationRecord(f"g-{item.id}", item.id, 0, 0, "ok", [f"images/{item.id}.png"])
        scored.append(ScoredGeneration(item, gen, {SCORER: ScoreRecord(f"s-{item.id}", gen.fingerprint, SCORER, "ok", value)}))
    result = suite.aggregate(scored, ScoreContext(run_dir=tmp_path, scorer_args={"parse": "official"}))
    for length in ("short", "long"):
        table = anchor_for({"suite": "tiif", "extra": {"subset": "testmini", "report_length": length, "judge_family": "gpt-4o"}})
        row = next(r for r in table.rows if r.model == model)
        complete = result.extra["coverage"]["complete"]
        overall = result.headline[f"overall_{length}"] if complete else result.metrics[f"overall_{length}_partial"]
        assert overall == pytest.approx(row.values["overall"], abs=5e-5)
        for group in GROUPS:
            assert result.categories[group][length] == pytest.approx(row.values[group], abs=5e-5), group
    assert result.counts["parse_disagreements"] == 0
