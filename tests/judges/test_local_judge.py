"""local:<dir> judges: tiny random-init Qwen2.5-VL / Qwen2-VL saved to a temp dir, loaded via from_pretrained."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from PIL import Image

from genlens.errors import SpecError
from genlens.judges import make_judge
from genlens.judges.base import JudgeRequest
from genlens.testing.tiny_vlm import save_tiny_qwen_vl
from tests.judges.wise_fixture import write_images, write_verified_data, write_wise_data


@pytest.fixture(scope="module")
def tiny_scorer(tmp_path_factory):
    """A tiny Qwen2.5-VL whose greedy answer is always the single token 'Score: 1'."""
    return save_tiny_qwen_vl(tmp_path_factory.mktemp("qwen25") / "model", answer="Score: 1")


def png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, format="PNG")
    return buf.getvalue()


def test_batched_answers_with_mixed_image_counts(tiny_scorer):
    judge = make_judge(f"local:{tiny_scorer}", params={"max_new_tokens": 3, "batch_size": 2})
    requests = [JudgeRequest("be strict", "rate", [png((1, 2, 3))]),
                JudgeRequest(None, "compare these two", [png((200, 0, 0)), png((0, 0, 200))]),
                JudgeRequest(None, "no image at all", [])]
    replies = asyncio.run(judge.ask_batch(requests))
    assert [r.status for r in replies] == ["ok", "ok", "ok"]
    assert [r.raw for r in replies] == ["Score: 1Score: 1Score: 1"] * 3
    assert all(r.usage["completion_tokens"] == 3 for r in replies)
    # two images take more prompt tokens than one: each 64x48 image -> a 56x56 grid of 4x4 patches -> 4 merged tokens
    assert replies[1].usage["prompt_tokens"] - replies[0].usage["prompt_tokens"] > 4
    assert replies[0].model.startswith(f"{tiny_scorer}@") and judge.identity()["version"] == replies[0].model
    assert judge.settings() == {"decoding": "greedy", "max_new_tokens": 3}


def test_qwen2_vl_loads_and_answers(tmp_path):
    model_dir = save_tiny_qwen_vl(tmp_path / "q2", kind="qwen2_vl")
    judge = make_judge(f"local:{model_dir}", params={"max_new_tokens": 2})
    first = asyncio.run(judge.ask(system=None, text="rate", images=[png((9, 9, 9))]))
    second = asyncio.run(judge.ask(system=None, text="rate", images=[png((9, 9, 9))]))
    assert first.status == "ok" and first.raw == second.raw  # greedy: deterministic


def test_unsupported_or_missing_models_are_setup_errors(tmp_path):
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(SpecError, match=r"Qwen2\.5-VL and Qwen2-VL"):
        asyncio.run(make_judge(f"local:{tmp_path / 'bert'}").ask(system=None, text="x", images=[]))
    with pytest.raises(SpecError, match="cannot load judge"):
        asyncio.run(make_judge(f"local:{tmp_path / 'nowhere'}").ask(system=None, text="x", images=[]))


def test_run_wise_verified_with_a_local_judge(cli, tmp_path, tiny_scorer):
    data = write_verified_data(tmp_path / "data")
    result = cli("run", "wise-verified", "--model", f"folder:{tmp_path / 'verified_images'}", "--judge", f"local:{tiny_scorer}",
                 "--data-dir", data, "--out", tmp_path / "run", "--scorer-arg", "max_new_tokens=3", "--quiet")
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    # every verdict reads "Score: 1": each category is 1.0 and overall = 0.40 + 0.12*5 = 1.0
    assert results["headline"]["overall"] == pytest.approx(1.0)
    assert results["counts"]["images_scored"] == 7 and results["counts"]["unparsed"] == 0
    assert results["provenance"]["judge_models"] == [json.loads((tmp_path / "run" / "rows.jsonl").read_text().splitlines()[0])["judge"]["model"]]


def test_run_wise_legacy_with_a_local_judge_counts_unreadable_answers(cli, tmp_path, tiny_scorer):
    data = write_wise_data(tmp_path / "data")
    images = write_images(tmp_path / "images")
    result = cli("run", "wise", "--model", f"folder:{images}", "--judge", f"local:{tiny_scorer}", "--data-dir", data,
                 "--out", tmp_path / "run", "--scorer-arg", "max_new_tokens=2", "--quiet")
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    # "Score: 1" carries none of Consistency/Realism/Aesthetic Quality: every answer is unparsed, none is guessed
    assert results["headline"]["overall"] is None
    assert results["counts"]["unparsed"] == 9 and results["counts"]["images_scored"] == 0
    assert all(results["categories"][c]["score"] is None for c in results["categories"])
