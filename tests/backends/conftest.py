"""Fixtures for backend tests: local fake OpenAI / Gemini servers, distinctive fake keys, tiny pipelines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from genlens.testing.fake_gemini import FakeGemini
from genlens.testing.fake_openai import FakeOpenAI
from genlens.testing.http import FakeServer

# Distinctive values: a test scans run directories and logs for them.
OPENAI_KEY = "sk-genlens-FAKE-KEY-7f3a9c1e5d"
GEMINI_KEY = "gm-genlens-FAKE-KEY-51d2e8b0aa"


@pytest.fixture
def api_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return {"openai": OPENAI_KEY, "gemini": GEMINI_KEY}


@pytest.fixture
def openai_server(api_keys: dict[str, str]) -> Iterator[tuple[FakeServer, FakeOpenAI]]:
    with FakeServer() as server:
        yield server, FakeOpenAI().install(server)


@pytest.fixture
def gemini_server(api_keys: dict[str, str]) -> Iterator[tuple[FakeServer, FakeGemini]]:
    with FakeServer() as server:
        yield server, FakeGemini().install(server)


@pytest.fixture(scope="session")
def tiny_pipelines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny text-to-image and a tiny InstructPix2Pix pipeline, saved once per test session."""
    pytest.importorskip("diffusers")
    from genlens.testing.tiny_diffusers import build_instruct_pix2pix, build_text2image

    root = tmp_path_factory.mktemp("tiny-pipelines")
    return {"text2image": build_text2image(root / "sd"), "pix2pix": build_instruct_pix2pix(root / "pix2pix")}
