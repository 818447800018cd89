"""diag-people's optional anatomy judge, against a scripted OpenAI-compatible chat server on 127.0.0.1."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("mediapipe")
pytest.importorskip("openai")
skimage_data = pytest.importorskip("skimage.data")

from genlens.testing.fake_chat import ChatAnswer, FakeChat  # noqa: E402
from genlens.testing.http import FakeServer  # noqa: E402


@pytest.fixture(autouse=True)
def judge_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def answer(text: str) -> str | ChatAnswer:
    """Scripted judge: the bicycle prompt has an anatomy error (1), umbrella two (0), a handshake
    gets prose it cannot parse, the hug gets refused, everything else is clean (2)."""
    if "bicycle" in text:
        return '{"anatomy": 1}'
    if "umbrella" in text:
        return "```json\n{\"anatomy\": 0}\n```"
    if "shaking hands" in text:
        return "The people look fine to me."
    if "carrying a large sofa" in text:
        return ChatAnswer(refusal="I can't help with that.")
    return '{"anatomy": 2}'


def test_anatomy_judge_scores_counts_unreadable_answers_and_is_remembered(cli, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    from genlens.suites.diag_people import DiagPeopleSuite

    astronaut = skimage_data.astronaut()
    for item in DiagPeopleSuite().items():
        Image.fromarray(np.ascontiguousarray(astronaut[::2, ::2])).save(images / f"{item.id}.png")
    with FakeServer() as server:
        chat = FakeChat(server, answer=answer)
        run = tmp_path / "run"
        result = cli("run", "diag-people", "--model", f"folder:{images}", "--out", run, "--judge", "openai:gpt-4o-2024-05-13",
                     "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
        assert result.exit_code == 0, result.output
        results = json.loads((run / "results.json").read_text())
        # 18 images: 16 answered readably — 14 × 2, one 1, one 0 -> mean anatomy/2 = (28 + 1 + 0) / 2 / 16
        assert results["metrics"]["anatomy_score"] == pytest.approx(29 / 32)
        assert results["metrics"]["anatomy_error_rate"] == pytest.approx(2 / 16)
        counts = results["counts"]
        assert (counts["anatomy_judged"], counts["anatomy_unparsed"], counts["anatomy_judge_errors"]) == (16, 2, 0)
        interaction = results["categories"]["interaction"]  # bicycle 1, umbrella 0, handshake/sofa unread, 2 × 2
        assert interaction["anatomy_score"] == pytest.approx((0.5 + 0 + 1 + 1) / 4)
        rows = {r["item"]: r for r in map(json.loads, (run / "rows.jsonl").read_text().splitlines())}
        assert rows["interaction-p0"]["anatomy"] == 1 and rows["interaction-p0"]["judge"]["scores"] == {"anatomy": 1}
        assert rows["interaction-p2"]["anatomy"] is None and rows["interaction-p2"]["judge"]["raw"] == "The people look fine to me."
        assert results["provenance"]["scorers"]["anatomy_judge"]["template_name"] == "genlens-anatomy-v1"
        first = chat.requests[0]["messages"]
        assert first[1]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
        # Scoring again without --judge keeps the remembered judge and asks nothing new.
        server.log.clear()
        assert cli("score", run, "--quiet").exit_code == 0
        assert server.log == []
    assert json.loads((run / "results.json").read_text())["metrics"]["anatomy_score"] == pytest.approx(29 / 32)


def test_without_a_judge_there_is_no_anatomy_score(cli, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(skimage_data.astronaut()).save(images / "count1-p0.png")
    run = tmp_path / "run"
    assert cli("run", "diag-people", "--model", f"folder:{images}", "--out", run, "--limit", "1", "--quiet").exit_code == 0
    results = json.loads((run / "results.json").read_text())
    assert results["metrics"]["anatomy_score"] is None and "anatomy_judge" not in results["provenance"]["scorers"]
