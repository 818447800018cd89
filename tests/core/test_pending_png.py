"""Local backends hand the engine PIL images whose PNG bytes are made on the engine's file thread."""

from __future__ import annotations

import io
import pickle
import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image

from genlens.backends.base import Backend, BackendInfo
from genlens.runs import engine
from genlens.runs.rundir import DB_NAME
from genlens.runs.store import RunStore
from genlens.suites.image_props import ImagePropsSuite
from genlens.types import GeneratedImage, GenerationRequest, Item, PendingPNG


def _image(seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8))


def test_bytes_are_made_once_on_first_read_and_match_a_direct_encode():
    image = _image(1)
    expected = io.BytesIO()
    image.save(expected, format="PNG", compress_level=1)
    pending = PendingPNG(image, {"batch": 2})
    assert pending._encoded is None  # nothing encoded by the backend's thread
    assert pending.data == expected.getvalue() and pending.data is pending.data
    assert pending.format == "png" and pending.meta == {"batch": 2} and pending.trace == []


def test_pickling_sends_plain_encoded_bytes():
    pending = PendingPNG(_image(2), {"seed": 5})
    back = pickle.loads(pickle.dumps(pending))
    assert type(back) is GeneratedImage
    assert back.data == pending.data and back.meta == {"seed": 5}


class _PilBackend(Backend):
    info: ClassVar[BackendInfo] = BackendInfo("pilbench", "pilbench:", "returns PendingPNG", ("generate",))
    encoded_on: ClassVar[set[str]] = set()

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        outer = self

        class Watched(PendingPNG):
            @property
            def data(self) -> bytes:
                outer.encoded_on.add(threading.current_thread().name)
                return PendingPNG.data.fget(self)  # type: ignore[attr-defined]

        return Watched(_image(request.seed), {"item": request.item_id})


def test_the_engine_writes_them_from_its_file_thread(tmp_path: Path):
    class Three(ImagePropsSuite):
        def items(self):  # type: ignore[no-untyped-def]
            return [Item(id=f"{i:02d}", prompt=f"p{i}") for i in range(3)]

    run = tmp_path / "run"
    summary = engine.generate(run, Three(), _PilBackend("x"), engine.GenerateOptions(samples=1, quiet=True))
    assert summary.statuses.get("ok") == 3
    assert _PilBackend.encoded_on and all(name.startswith("genlens-files") for name in _PilBackend.encoded_on)
    with RunStore(run / DB_NAME) as store:
        records = list(store.generations())
    for record in records:
        data = (run / record.images[0]).read_bytes()
        assert Image.open(io.BytesIO(data)).size == (32, 24)
        assert record.image_sizes == [len(data)] and record.meta["item"] == record.item_id


class _SlowInLoopBackend(Backend):
    """Computes for 0.3 s per image without awaiting: the worst case for handing units over in groups."""

    info: ClassVar[BackendInfo] = BackendInfo("slowbench", "slowbench:", "blocks the loop", ("generate",))
    seen: ClassVar[list[int]] = []

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        import time

        images = Path(self.target) / "images"
        self.seen.append(len(list(images.glob("*.png"))) if images.is_dir() else 0)  # files written so far
        time.sleep(0.3)
        buffer = io.BytesIO()
        _image(request.seed).save(buffer, format="PNG")
        return GeneratedImage(buffer.getvalue(), "png")


def test_a_backend_that_never_awaits_still_has_each_unit_written_about_as_it_is_made(tmp_path: Path):
    class Four(ImagePropsSuite):
        def items(self):  # type: ignore[no-untyped-def]
            return [Item(id=f"{i:02d}", prompt=f"p{i}") for i in range(4)]

    run = tmp_path / "run"
    _SlowInLoopBackend.seen.clear()
    engine.generate(run, Four(), _SlowInLoopBackend(str(run)), engine.GenerateOptions(samples=1, quiet=True))
    # a unit that took FILE_GROUP_SECONDS to make is sent at once, not when FILE_GROUP units are in: while the
    # third image is made (0.3 s after the first was), the first is on disk, and so on
    seen = _SlowInLoopBackend.seen
    assert seen[0] == 0 and seen[2] >= 1 and seen[3] >= 2, seen
