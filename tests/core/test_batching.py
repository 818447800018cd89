"""The engine hands batched backends homogeneous batches and records each unit once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from genlens.backends.base import BackendInfo
from genlens.backends.synthetic import SyntheticBackend
from genlens.runs import engine
from genlens.suites.image_props import ImagePropsSuite
from genlens.types import GeneratedImage, GenerationRequest


class RecordingBatched(SyntheticBackend):
    info: ClassVar[BackendInfo] = BackendInfo("recording", "recording:x", "test", ("generate",))
    batch_size = 4

    def __init__(self) -> None:
        super().__init__("gradient", {})
        self.batches: list[list[str]] = []

    async def generate_batch(self, requests: list[GenerationRequest]) -> list[GeneratedImage | BaseException]:
        self.batches.append([r.item_id for r in requests])
        return list(await asyncio.gather(*(self.generate(r) for r in requests)))


def test_batched_backend_gets_batches_of_its_size(tmp_path: Path) -> None:
    backend = RecordingBatched()
    summary = engine.generate(tmp_path / "run", ImagePropsSuite(), backend,
                              engine.GenerateOptions(samples=1, limit=10, concurrency=8, quiet=True))
    assert summary.done == 10 and summary.statuses == {"ok": 10}
    assert [len(b) for b in backend.batches] == [4, 4, 2]
    assert sorted(i for b in backend.batches for i in b) == sorted(i.id for i in ImagePropsSuite().items()[:10])


class RejectedKey(Exception):
    status_code = 401


class KeylessBackend(SyntheticBackend):
    info: ClassVar[BackendInfo] = BackendInfo("keyless", "keyless:x", "test", ("generate",))

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        raise RejectedKey("Incorrect API key provided")


def test_a_rejected_key_stops_the_run_with_one_line(tmp_path: Path) -> None:
    import pytest

    from genlens.errors import SpecError

    with pytest.raises(SpecError, match=r"rejected the request's credentials \(HTTP 401: Incorrect API key provided\)"):
        engine.generate(tmp_path / "run", ImagePropsSuite(), KeylessBackend("gradient", {}),
                        engine.GenerateOptions(samples=1, limit=5, concurrency=2, quiet=True))
