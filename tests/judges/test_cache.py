"""The cross-run judge answer cache: what it keys on, what it keeps."""

from __future__ import annotations

from genlens.judges.base import JudgeReply, JudgeRequest
from genlens.judges.cache import JudgeCache, cache_dir, request_key

JUDGE = {"spec": "openai:gpt-4o", "settings": {"temperature": 0.0, "seed": 0}}


def test_key_changes_with_judge_settings_template_image_and_text():
    base = request_key(JUDGE, "t1", JudgeRequest("sys", "text", [b"img"]))
    assert base == request_key(JUDGE, "t1", JudgeRequest("sys", "text", [b"img"]))
    others = [
        request_key({**JUDGE, "spec": "openai:gpt-4.1"}, "t1", JudgeRequest("sys", "text", [b"img"])),
        request_key({**JUDGE, "settings": {"temperature": 0.0, "seed": 1}}, "t1", JudgeRequest("sys", "text", [b"img"])),
        request_key(JUDGE, "t2", JudgeRequest("sys", "text", [b"img"])),
        request_key(JUDGE, "t1", JudgeRequest("sys", "text", [b"img2"])),
        request_key(JUDGE, "t1", JudgeRequest("sys", "text!", [b"img"])),
        request_key(JUDGE, "t1", JudgeRequest(None, "text", [b"img"])),
    ]
    assert base not in others and len(set(others)) == len(others)


def test_final_answers_are_kept_errors_are_not(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    cache = JudgeCache()
    assert cache.path == tmp_path / "c" / "judge_cache.sqlite"
    cache.put("ok", "openai:x", JudgeReply("Score: 1", "x-2024", "ok", {"prompt_tokens": 3}, 0.01, 0.2))
    cache.put("refused", "openai:x", JudgeReply("", "x-2024", "refused", error="policy"))
    cache.put("error", "openai:x", JudgeReply("", "x", "error", error="HTTP 500"))
    hit = cache.get("ok")
    assert hit is not None and hit.cached and (hit.raw, hit.model, hit.usage, hit.cost_usd) == ("Score: 1", "x-2024", {"prompt_tokens": 3}, 0.01)
    assert cache.get("refused").status == "refused"  # type: ignore[union-attr]
    assert cache.get("error") is None and cache.get("never") is None
    cache.close()
    assert JudgeCache().get("ok") is not None  # persisted across instances (and processes)
