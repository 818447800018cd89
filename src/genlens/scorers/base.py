"""The scorer protocol: load once, score batches, say which model produced each score."""

from __future__ import annotations

import asyncio
import hashlib
import json
from abc import ABC, abstractmethod
from typing import Any

from genlens.modelthread import on_model_thread
from genlens.types import ScoreInput


class Scorer(ABC):
    """Scores generations in batches.

    - ``name``: the key aggregation finds this scorer's result under (e.g. ``"geneval"``).
    - ``version``: bump when the scoring logic changes; it enters every score fingerprint.
    - :meth:`identity` names the model(s) and revision/hash used — also part of the fingerprint,
      so swapping a detector checkpoint re-scores instead of mixing results.
    - :meth:`score_batch` returns one ``(status, value)`` per input, in order. ``status`` is
      ``ok``, ``unparsed`` (a judge answer that could not be read), ``error`` or ``skipped``.

    Heavy models load lazily in :meth:`load`, called once per process before the first batch.
    """

    name: str = "scorer"
    version: str = "1"
    batch_size: int = 16
    #: Batches in flight at once (API judges > 1; local models 1).
    concurrency: int = 1
    #: Run the sync ``score_batch_sync`` in a worker thread (CPU-bound scorers).
    threaded: bool = True
    #: ``--rejudge`` re-derives this scorer's results from stored values with :meth:`rescore`.
    rescoring: bool = False

    def identity(self) -> dict[str, Any]:
        """Models and revisions behind the scores; stored in results' provenance."""
        return {}

    def fingerprint_key(self) -> str:
        payload = json.dumps(
            {"name": self.name, "version": self.version, "identity": self.identity()},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def load(self) -> None:  # noqa: B027 - optional hook
        """Load weights (once). Default: nothing to load."""

    def rescore(self, stored_value: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """A new ``(status, value)`` from a stored value without any model call (None: cannot)."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release clients made in the scoring event loop (called at the end of each scorer's loop)."""

    async def score_batch(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        if self.threaded:
            if self.concurrency <= 1:  # a local model: the process's model thread (CUDA per-thread state built once)
                return await on_model_thread(self.score_batch_sync, batch)
            return await asyncio.to_thread(self.score_batch_sync, batch)
        return self.score_batch_sync(batch)

    @abstractmethod
    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        """Synchronous scoring of one batch (override :meth:`score_batch` for async scorers)."""
