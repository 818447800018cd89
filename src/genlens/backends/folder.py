"""``folder:<dir>`` — images another tool already made, found by item id and sample."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from genlens.args import Arg
from genlens.backends.base import Backend, BackendInfo, register_backend
from genlens.errors import InputError
from genlens.imageio import decode, display_path, sniff_format
from genlens.suites.base import IMAGE_EXTENSIONS
from genlens.types import GeneratedImage, GenerationRequest

GENERIC_LAYOUTS = (  # the documented one first: it is the one a missing-file message names
    "{item}/{sample}",
    "{item}_{sample}",
    "{item}/samples/{sample:05d}",
    "{item}/samples/{sample:04d}",
    "{item}/samples/{sample}",
)


def generic_candidates(item_id: str, sample: int) -> list[str]:
    """Stems (no extension) a folder may use for an item's sample; ``<item>.png`` for sample 0.

    A genlens run's own ``images/`` folder (``<item>_s<sample>``) is one of them, so one run's images
    can be scored again by another suite or run without copying.
    """
    from genlens.runs.engine import image_stem

    stems = [layout.format(item=item_id, sample=sample) for layout in GENERIC_LAYOUTS]
    stems.append(image_stem(item_id, sample))
    if sample == 0:
        stems.append(item_id)
    return stems


@register_backend
class FolderBackend(Backend):
    """Reads existing images: ``<dir>/<item id>/<sample>.png`` and the suite's official layouts.

    The engine sets :attr:`suite_candidates` so the suite's own layout is tried first; any image
    extension is accepted and the bytes are kept as they are. Multi-round results are replayed
    from ``<item>/<sample>_r<k>.png`` in native and re-upload mode alike.
    """

    replays_sessions: ClassVar[bool] = True
    runs_in_driver: ClassVar[bool] = True

    info: ClassVar[BackendInfo] = BackendInfo(
        scheme="folder",
        syntax="folder:<dir>",
        description="images made elsewhere: <dir>/<item id>/<sample>.png, <dir>/<item id>.png, or the suite's official layout",
        tasks=("generate", "edit", "multiturn"),
    )
    args: ClassVar[tuple[Arg, ...]] = ()  # the images are already made: nothing to tune

    def __init__(self, target: str, params: dict[str, Any] | None = None):
        super().__init__(target, params)
        self.root = Path(target).expanduser()
        if not self.root.is_dir():
            raise InputError("model folder does not exist", path=self.root, fix="give folder:<dir> with the images")
        self.suite_candidates: Any = None  # set by the engine: (item_id, sample) -> list[str]
        self.suite_name = ""  # set by the engine, for the missing-file message

    @property
    def spec(self) -> str:
        return f"folder:{self.root.resolve()}"

    def _find(self, item_id: str, sample: int, round_index: int | None = None) -> Path:
        stems = list(self.suite_candidates(item_id, sample)) if self.suite_candidates else []
        stems += generic_candidates(item_id, sample)
        if round_index is not None:
            stems = [f"{stem}_r{round_index}" for stem in stems]
        found: list[Path] = []
        root = os.path.normpath(self.root)
        for stem in stems:
            for ext in ("", *IMAGE_EXTENSIONS):
                path = self.root / f"{stem}{ext}"
                if ext == "" and not Path(stem).suffix:
                    continue
                # Item ids come from data files: an id with ``..`` or an absolute path never reads elsewhere
                # (checked on the name; the user's own symlinks inside the folder are followed).
                inside = os.path.commonpath([root, os.path.normpath(path)]) == root
                if inside and path.is_file() and not any(path.samefile(seen) for seen in found):
                    found.append(path)
        if len(found) > 1:  # e.g. p0-512x512.png and p0-512x512/0.png: which one is the model's?
            raise InputError(
                f"two images for item {item_id!r} sample {sample}: {display_path(found[0])} and {display_path(found[1])}",
                path=display_path(found[0]), fix="keep one of them (move the other out of the folder)",
            )
        if found:
            return found[0]
        first = self.root / f"{stems[0]}.png"
        listing = f"`genlens items {self.suite_name}` lists every expected name" if self.suite_name else "`genlens items SUITE` lists every expected name"
        raise InputError(
            f"no image for item {item_id!r} sample {sample}", path=first,
            fix=f"add it as {stems[0]}.png (or {', '.join(s + '.png' for s in stems[1:3])}); {listing}; "
                "or use --limit/--samples to match the folder",
        )

    def _read(self, path: Path) -> GeneratedImage:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the image ({exc.strerror or exc})", path=display_path(path),
                             fix="fix the file or its permissions, then run the same command again") from None
        decode(data, source=path)  # a corrupt, truncated or over-the-pixel-cap file is the user's to fix, not a score
        return GeneratedImage(data=data, format=sniff_format(data), meta={"source_path": display_path(path)})

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        return self._read(self._find(request.item_id, request.sample))

    async def edit(self, request: GenerationRequest) -> GeneratedImage:
        return self._read(self._find(request.item_id, request.sample))

    def session(self, request: GenerationRequest) -> _FolderSession:
        return _FolderSession(self, request)


class _FolderSession:
    """Replays pre-made multi-round results: ``<item>/<sample>_r1.png``, ``_r2`` …"""

    def __init__(self, backend: FolderBackend, request: GenerationRequest):
        self.backend = backend
        self.request = request
        self.round = 0

    async def send(self, instruction: str, image: bytes | None = None) -> GeneratedImage:
        self.round += 1
        return self.backend._read(self.backend._find(self.request.item_id, self.request.sample, self.round))

    async def close(self) -> None:
        return None
