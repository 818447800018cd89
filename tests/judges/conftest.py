"""Judge tests: the judge cache lives in a temp dir, API keys are fake, servers are on 127.0.0.1."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def judge_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return tmp_path
