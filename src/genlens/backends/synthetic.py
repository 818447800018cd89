"""``synthetic:<pattern>`` — procedurally drawn images: check a setup end to end with no API or GPU.

Not a model: a deterministic stand-in whose output is known, so the pipeline (resume, scoring,
reports) can be exercised anywhere. Patterns: ``gradient`` (honours the requested size),
``blank`` (a flat image), ``noise``, ``fixed`` (always 512×512, ignoring the requested size), and ``vision-gt`` — a labelled test aid for
the vision-* suites, not a model: it answers each built-in scene's instruction with the exact
ground-truth map (see :func:`genlens.suites._vision_data.oracle_map`).
Model args: ``delay`` seconds per image, ``format`` png|jpeg, ``refuse`` substring that triggers
a refusal, ``fail_every`` N (every Nth request raises a transient error).
"""

from __future__ import annotations

import asyncio
import io
import zlib
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from genlens.backends.base import Backend, BackendInfo, Session, register_backend
from genlens.errors import Refused, SpecError
from genlens.types import GeneratedImage, GenerationRequest

PATTERNS = ("gradient", "blank", "noise", "fixed", "vision-gt")


def draw(pattern: str, size: tuple[int, int], seed: int) -> Image.Image:
    width, height = size
    rng = np.random.default_rng(seed)
    if pattern == "blank":
        return Image.new("RGB", size, (128, 128, 128))
    if pattern == "noise":
        return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    y, x = np.mgrid[0:height, 0:width]
    base = rng.integers(0, 256, 3)
    arr = np.stack([(x * 255 // max(1, width - 1) + base[0]) % 256,
                    (y * 255 // max(1, height - 1) + base[1]) % 256,
                    ((x + y) * 127 // max(1, width + height - 2) + base[2]) % 256], axis=-1)
    return Image.fromarray(arr.astype(np.uint8))


@register_backend
class SyntheticBackend(Backend):
    info: ClassVar[BackendInfo] = BackendInfo(
        scheme="synthetic",
        syntax="synthetic:gradient|blank|noise|fixed|vision-gt",
        description="procedurally drawn test images (no model): verify a setup, resume and reports end to end",
        tasks=("generate", "edit", "multiturn"),
    )

    def __init__(self, target: str, params: dict[str, Any] | None = None):
        super().__init__(target, params)
        if target not in PATTERNS:
            raise SpecError(f"unknown synthetic pattern {target!r}", fix=f"use one of: {', '.join(PATTERNS)}")
        self.delay = float(self.params.get("delay", 0))
        self.format = str(self.params.get("format", "png")).lower()
        self.refuse = str(self.params.get("refuse", ""))
        self.fail_every = int(self.params.get("fail_every", 0))
        self.calls = 0

    def _encode(self, image: Image.Image) -> GeneratedImage:
        buffer = io.BytesIO()
        if self.format in ("jpg", "jpeg"):
            image.save(buffer, format="JPEG", quality=90)
            return GeneratedImage(buffer.getvalue(), "jpeg")
        image.save(buffer, format="PNG", compress_level=1)
        return GeneratedImage(buffer.getvalue(), "png")

    async def _make(self, prompt: str, size: tuple[int, int] | None, seed: int) -> GeneratedImage:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse and self.refuse in prompt:
            raise Refused(f"synthetic refusal: prompt contains {self.refuse!r}")
        if self.fail_every and self.calls % self.fail_every == 0:
            raise ConnectionError("synthetic transient failure")
        if self.target == "fixed" or size is None:
            size = (512, 512) if self.target == "fixed" else (256, 256)
        return self._encode(draw(self.target, size, seed ^ zlib.crc32(prompt.encode())))

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        return await self._make(request.prompt, request.size, request.seed)

    async def edit(self, request: GenerationRequest) -> GeneratedImage:
        if self.target == "vision-gt":
            from genlens.suites._vision_data import oracle_map

            self.calls += 1
            if self.refuse and self.refuse in request.prompt:
                raise Refused(f"synthetic refusal: prompt contains {self.refuse!r}")
            return self._encode(oracle_map(request.item_id, request.prompt))
        size = request.size
        if size is None and request.images:
            size = Image.open(io.BytesIO(request.images[0])).size
        return await self._make(request.prompt, size, request.seed)

    def session(self, request: GenerationRequest) -> Session:
        return _SyntheticSession(self, request)


class _SyntheticSession(Session):
    def __init__(self, backend: SyntheticBackend, request: GenerationRequest):
        self.backend = backend
        self.request = request
        self.rounds = 0

    async def send(self, instruction: str, image: bytes | None = None) -> GeneratedImage:
        self.rounds += 1
        size = self.request.size
        if size is None and self.request.images:
            size = Image.open(io.BytesIO(self.request.images[0])).size
        return await self.backend._make(instruction, size, self.request.seed + self.rounds)
