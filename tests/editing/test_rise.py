"""RISEBench: upstream's reader, combination, weights and accuracy by hand, and end to end on a fake judge."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from genlens.suites.rise import (
    RiseSuite,
    complete,
    dimension_scores,
    item_score,
    judge_image,
    official_numbers,
    strict_number,
)
from genlens.testing.fake_chat import FakeChat
from genlens.testing.http import FakeServer
from genlens.types import Item
from tests.editing.conftest import sample_photo

JUDGE = "openai:gpt-4.1-2025-04-14"


def test_official_reader_as_upstream_extract():
    assert official_numbers("Step 1 ... **Final Score:** **4**") == [4]
    assert official_numbers("Final Score: 3, 5") == [3, 5]  # every number of the first match
    assert official_numbers("final score 2") == [2]
    assert official_numbers("Final Score: none\nFinal Score: 4") == [4]  # the first match that has digits
    assert official_numbers("Final Scores: 1 0") == [1, 0]  # the plural is the fallback
    assert official_numbers("Final Scores: n/a") == []  # matched without numbers: unscored upstream
    assert official_numbers("no verdict") is None


def test_strict_reader_wants_one_number():
    assert strict_number("**Final Score:** **4**", range(1, 6)) == [4]
    assert strict_number("Final Score: 3, 5", range(1, 6)) is None
    assert strict_number("Final Score: 7", range(1, 6)) is None
    assert strict_number("Final Score: 2\nFinal Score: 3", range(1, 6)) is None


def test_combination_weights_and_completion_by_hand():
    dims = dimension_scores("temporal_reasoning", [4], [5], [3], False)
    assert dims == {"consistency": 4, "reasoning": 5, "plausibility": 3}
    assert item_score("temporal_reasoning", dims, False) == pytest.approx(0.3 * 4 + 0.5 * 5 + 0.2 * 3)  # 4.3
    assert not complete("temporal_reasoning", dims, False)
    full = dimension_scores("causal_reasoning", [5], [5], [5], False)
    assert item_score("causal_reasoning", full, False) == 5.0 and complete("causal_reasoning", full, False)
    halved = dimension_scores("spatial_reasoning", [5], [1], [5], False)
    assert item_score("spatial_reasoning", halved, False) == pytest.approx((1.5 + 0.5 + 1.0) / 2)  # 3.0 -> 1.5
    floor = dimension_scores("spatial_reasoning", [1], [1], [1], False)
    assert item_score("spatial_reasoning", floor, False) == 1.0  # 1.0 halved is 0.5, kept at 1
    logic = dimension_scores("logical_reasoning", [1], [0], None, False)
    assert logic == {"consistency": 5, "reasoning": 1, "plausibility": None}  # 4*min(s,1)+1
    assert item_score("logical_reasoning", logic, False) == pytest.approx((0.3 * 5 + 0.7 * 1) / 2)  # 2.2 -> 1.1
    assert dimension_scores("logical_reasoning", [7], [1], None, False)["consistency"] == 5  # min(s, 1)
    free = dimension_scores("temporal_reasoning", None, [5], [4], True)
    assert item_score("temporal_reasoning", free, True) == pytest.approx(0.2 * 4 + 0.8 * 5)
    assert not complete("temporal_reasoning", free, True)
    assert dimension_scores("temporal_reasoning", [4], [3, 4], [5], False) is None  # four numbers: cannot be placed
    assert dimension_scores("temporal_reasoning", [4], [], [5], False) is None
    assert not complete("temporal_reasoning", None, False)


def test_judge_images_are_sent_as_upstreams_client_sends_them(tmp_path: Path):
    path = tmp_path / "big.png"
    Image.new("RGBA", (1000, 500), (10, 20, 30, 128)).save(path)
    data = judge_image(path)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.mode == "RGB" and image.size == (768, 384)
    small = tmp_path / "small.png"
    Image.new("RGB", (100, 50)).save(small)
    assert Image.open(io.BytesIO(judge_image(small))).size == (100, 50)  # never enlarged


# -- end to end ------------------------------------------------------------------------------------
RECORDS = [
    {"index": "temporal_reasoning_1", "category": "temporal_reasoning", "instruction": "perfect aging", "image": "t/1.png", "reference": "old"},
    {"index": "temporal_reasoning_2", "category": "temporal_reasoning", "instruction": "weak aging", "image": "t/2.png", "reference": "old"},
    {"index": "causal_reasoning_1", "category": "causal_reasoning", "instruction": "unreadable melt", "image": "c/1.png", "reference": "melted"},
    {"index": "spatial_reasoning_1", "category": "spatial_reasoning", "instruction": "perfect view", "image": "s/1.png", "reference_img": "s/1_ref.png"},
    {"index": "logical_reasoning_1", "category": "logical_reasoning", "instruction": "perfect path", "image": "l/1.png", "reference_txt": "1-2-4"},
    {"index": "logical_reasoning_2", "category": "logical_reasoning", "instruction": "wrong maze", "image": "l/2.png", "reference_img": "l/2_ref.png"},
]


def judge(text: str) -> str:
    binary = "1 if yes" in text
    if "unreadable" in text and "correct result is described" in text:
        return "I cannot tell."
    if "weak" in text and "did NOT ask" in text:
        return "Some things changed.\nFinal Score: 4"
    if "wrong" in text and "reference solution of a puzzle" in text:
        return "Different marks.\n**Final Score**: **0**"
    return "All good.\n**Final Score:** **" + ("1" if binary else "5") + "**"


@pytest.fixture
def rise_setup(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    data = tmp_path / "data"
    for index, rec in enumerate(RECORDS):
        for key in ("image", "reference_img"):
            if key in rec:
                (data / rec[key]).parent.mkdir(parents=True, exist_ok=True)
                sample_photo(index, (40, 32)).save(data / rec[key])
    (data / "data_total.json").write_text(json.dumps(RECORDS))
    edits = tmp_path / "edits"
    for index, rec in enumerate(RECORDS):
        (edits / "images" / rec["category"]).mkdir(parents=True, exist_ok=True)
        sample_photo(index, (40, 32)).save(edits / "images" / rec["category"] / f"{rec['index']}.png")
    with FakeServer() as server:
        FakeChat(server, answer=judge)
        yield data, edits, server


def test_rise_accuracy_end_to_end(cli, rise_setup, tmp_path: Path):
    data, edits, server = rise_setup
    out = tmp_path / "run"
    result = cli("run", "rise", "--model", f"folder:{edits}", "--data-dir", data, "--out", out, "--judge", JUDGE,
                 "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
    assert result.exit_code == 0, result.stderr
    res = json.loads((out / "results.json").read_text())
    # complete: temporal_1, spatial_1, logical_1 -> 3 of 6 (the unreadable causal item counts, not complete)
    assert res["headline"]["accuracy"] == pytest.approx(0.5)
    cats = res["categories"]
    assert cats["temporal_reasoning"]["accuracy"] == 0.5 and cats["causal_reasoning"]["accuracy"] == 0.0
    assert cats["spatial_reasoning"]["accuracy"] == 1.0 and cats["logical_reasoning"]["accuracy"] == 0.5
    # scores over the 5 scored items: 5, 4.7, 5, 5, 1.1
    assert res["metrics"]["score"] == pytest.approx((5 + 4.7 + 5 + 5 + 1.1) / 5)
    assert res["metrics"]["score_percentage"] == pytest.approx(25 * ((5 + 4.7 + 5 + 5 + 1.1) / 5 - 1))
    assert res["counts"]["unscored"] == 1
    assert "plausibility" in res["provenance"]["scorers"]["rise_plausibility"]["template_name"]
    # the logical items were never asked the plausibility question
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    logical = next(r for r in rows if r["item"] == "logical_reasoning_1")
    assert logical["plausibility"] is None and logical["complete"] is True


def test_strict_reader_refuses_an_off_scale_binary_answer():
    item = Item(id="l", prompt="p", category="logical_reasoning", kind="edit", input_images=("a.png",),
                meta={"reference_txt": "x"})
    assert RiseSuite._off_scale(item, [[1], [5], None])  # 5 on a 0/1 question
    assert not RiseSuite._off_scale(item, [[1], [0], None])
    other = Item(id="t", prompt="p", category="temporal_reasoning", kind="edit", input_images=("a.png",), meta={"reference": "r"})
    assert RiseSuite._off_scale(other, [[0], [5], [5]])  # 0 on a 1-5 question


def test_official_texts_are_read_as_module_constants_never_executed():
    from genlens.data.fetch import load_manifest, module_constants
    from genlens.errors import InputError
    from genlens.suites.rise import OFFICIAL_NAMES

    script = b'import os\nprompt_a = """Rate it.\\n**Final Score:** **X**"""\nprompt_b = "short {instruct}"\nos.system("echo never")\n'
    assert module_constants(script, ["prompt_a", "prompt_b"]) == ["Rate it.\n**Final Score:** **X**", "short {instruct}"]
    with pytest.raises(InputError, match="no string constant prompt_c"):
        module_constants(script, ["prompt_c"])
    manifest = load_manifest("rise")
    (extract,) = manifest.extracts
    assert extract.kind == "python-constants"
    assert extract.function.split(",") == [v for v in OFFICIAL_NAMES.values()]
    assert [o.path for o in extract.outputs] == [f"judge_prompts/{v}.txt" for v in OFFICIAL_NAMES.values()]
    assert manifest.commit in extract.url and all(manifest.commit in f.url for f in manifest.files)
    assert any(f.path == "data_total.json" for f in manifest.files)


def test_per_subtask_table_as_upstreams_groupby(cli, rise_setup, tmp_path: Path):
    """The 360-item data's subtask column gives upstream's per-subtask accuracy and score rows."""
    data, edits, server = rise_setup
    records = json.loads((data / "data_total.json").read_text())
    for rec, subtask in zip(records, ["aging", "aging", "melting", None, "path", "maze"], strict=True):
        if subtask:
            rec["subtask"] = subtask
    (data / "data_total.json").write_text(json.dumps(records))
    out = tmp_path / "sub"
    result = cli("run", "rise", "--model", f"folder:{edits}", "--data-dir", data, "--out", out, "--judge", JUDGE,
                 "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
    assert result.exit_code == 0, result.stderr
    subtasks = json.loads((out / "results.json").read_text())["metrics"]["subtasks"]
    assert set(subtasks) == {"temporal_reasoning-aging", "causal_reasoning-melting", "logical_reasoning-path",
                             "logical_reasoning-maze"}
    aging = subtasks["temporal_reasoning-aging"]
    assert aging["n"] == 2 and aging["accuracy"] == 0.5 and aging["score"] == pytest.approx((5 + 4.7) / 2)
    melting = subtasks["causal_reasoning-melting"]  # unreadable: not complete, no score (as pandas' mean skips NaN)
    assert melting["accuracy"] == 0.0 and melting["score"] is None
    assert subtasks["logical_reasoning-maze"]["score"] == pytest.approx(1.1)
