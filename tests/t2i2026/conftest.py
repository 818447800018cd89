"""Issue-20 suites: caches and fetched data live in temp dirs; nothing is downloaded."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def t2i_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path
