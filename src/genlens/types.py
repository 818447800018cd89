"""The data that flows between suites, backends, the run store and scorers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

TaskKind = Literal["generate", "edit", "multiturn"]
GenerationStatus = Literal["ok", "refused", "error"]
# A generation in one of these states is final: resume skips it. "error" is retried on the next run.
FINAL_STATUSES: frozenset[str] = frozenset({"ok", "refused"})


def _plain(value: Any) -> Any:
    """What ``dataclasses.asdict`` makes of a field value: containers copied, dataclasses as dicts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value) if not hasattr(value, "_fields") else type(value)(*(_plain(v) for v in value))
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


@dataclass(frozen=True)
class Item:
    """One benchmark item: what a model is asked to do, plus what scoring needs to know.

    ``kind`` says which backend call it takes: ``generate`` (text to image), ``edit``
    (``input_images`` + ``prompt`` as the instruction, optional ``mask``), or ``multiturn``
    (``input_images[0]`` edited by each of ``rounds`` in turn).
    """

    id: str
    prompt: str
    category: str = ""
    kind: TaskKind = "generate"
    input_images: tuple[str, ...] = ()
    mask: str | None = None
    rounds: tuple[str, ...] = ()
    size: tuple[int, int] | None = None  # requested (width, height), if the item asks for one
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def content_hash(self) -> str:
        """A stable hash of everything that defines the item (a changed prompt is a new item).

        Computed once per Item (items are frozen; the resume scan asks for it for every unit).
        """
        cached = self.__dict__.get("_content_hash")
        if cached is None:
            payload = json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False, default=str)
            cached = hashlib.sha256(payload.encode()).hexdigest()[:16]
            object.__setattr__(self, "_content_hash", cached)
        return cached

    def to_json(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict (a deep copy that cost more than the whole
        # resume scan); the JSON is the same, so item hashes of existing runs are unchanged.
        return {
            "id": self.id, "prompt": self.prompt, "category": self.category, "kind": self.kind,
            "input_images": list(self.input_images), "mask": self.mask, "rounds": list(self.rounds),
            "size": list(self.size) if self.size else None, "meta": _plain(self.meta),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        return cls(
            id=data["id"],
            prompt=data["prompt"],
            category=data.get("category", ""),
            kind=data.get("kind", "generate"),
            input_images=tuple(data.get("input_images") or ()),
            mask=data.get("mask"),
            rounds=tuple(data.get("rounds") or ()),
            size=tuple(data["size"]) if data.get("size") else None,  # type: ignore[arg-type]
            meta=dict(data.get("meta") or {}),
        )


@dataclass
class GenerationRequest:
    """One sample of one item, as handed to a backend.

    ``images`` are the input images' bytes (edits); ``mask`` the optional mask's bytes.
    ``params`` are the user's ``--model-arg`` values (already parsed), minus secrets.
    """

    item_id: str
    prompt: str
    sample: int
    seed: int
    kind: TaskKind = "generate"
    size: tuple[int, int] | None = None
    images: list[bytes] = field(default_factory=list)
    mask: bytes | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class GeneratedImage:
    """Image bytes exactly as the provider returned them, plus what it told us about the call.

    ``meta`` may hold ``usage`` (token counts), ``cost_usd``, ``latency_s``, ``revised_prompt``,
    ``model_version``, ``resized`` (a recorded resize rule for oversized inputs), etc.
    ``trace`` holds ordered partial images (streaming) when the provider sent them.
    """

    data: bytes
    format: str = "png"
    meta: dict[str, Any] = field(default_factory=dict)
    trace: list[bytes] = field(default_factory=list)


class PendingPNG(GeneratedImage):
    """A generated image whose PNG bytes are made when ``data`` is first read.

    Local backends return these so that encoding (tens of milliseconds for a 1024² image) happens on
    the engine's file thread, beside the next batch, instead of on the model thread between batches.
    Pickling (Ray) sends the encoded bytes as a plain :class:`GeneratedImage`."""

    def __init__(self, image: Any, meta: dict[str, Any] | None = None, *, compress_level: int = 1):
        self._image: Any = image
        self._compress_level = compress_level
        self._encoded: bytes | None = None
        self.format = "png"
        self.meta = dict(meta or {})
        self.trace = []

    @property  # type: ignore[override]
    def data(self) -> bytes:
        if self._encoded is None:
            import io

            buffer = io.BytesIO()
            self._image.save(buffer, format="PNG", compress_level=self._compress_level)
            self._encoded, self._image = buffer.getvalue(), None
        return self._encoded

    def __reduce__(self) -> tuple[Any, ...]:
        return GeneratedImage, (self.data, self.format, self.meta, self.trace)


@dataclass
class GenerationRecord:
    """A finished (or refused / failed) generation as stored in the run."""

    fingerprint: str
    item_id: str
    sample: int
    seed: int
    status: GenerationStatus
    images: list[str]  # paths relative to the run dir, in order (rounds for multi-turn)
    image_sizes: list[int] = field(default_factory=list)  # bytes on disk, to detect lost files
    formats: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)  # partial-image frames, relative paths
    reason: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def image_paths(self, run_dir: Path) -> list[Path]:
        return [run_dir / p for p in self.images]


@dataclass
class ScoreInput:
    """What a scorer sees for one generation."""

    item: Item
    generation: GenerationRecord
    run_dir: Path
    data_dir: Path | None = None  # where the suite's input images live (edits)

    @property
    def image_paths(self) -> list[Path]:
        return self.generation.image_paths(self.run_dir)


@dataclass
class ScoreRecord:
    """One scorer's verdict on one generation. ``value`` is free-form JSON owned by the scorer."""

    fingerprint: str
    generation_fingerprint: str
    scorer: str
    status: Literal["ok", "unparsed", "error", "skipped"]
    value: dict[str, Any]


@dataclass
class ScoredGeneration:
    """Everything aggregation needs about one generation: its item, record and scores by scorer name."""

    item: Item
    generation: GenerationRecord
    scores: dict[str, ScoreRecord] = field(default_factory=dict)
