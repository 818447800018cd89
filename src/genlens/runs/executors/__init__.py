"""Where the units of a phase run: in this process (``local``, the default) or on Ray actors (``ray``).

Either way the driver process keeps the run directory and its SQLite store as the single writer:
an executor only turns a unit's requests into images (generation) or a batch of inputs into
scores (scoring), and hands the results back to the engine, which writes them exactly as it does
for a local run (temp file + rename, row committed after). Fingerprints and seeds are made by the
driver, so a run gives the same records whichever executor ran it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genlens.errors import SpecError

EXECUTORS = ("local", "ray")


@dataclass
class ExecutorOptions:
    """``--executor``, ``--ray-address``, ``--workers``, ``--gpus-per-worker`` as given on the command line."""

    kind: str = "local"
    address: str | None = None
    workers: int | None = None
    gpus_per_worker: float = 0.0
    max_attempts: int = 3  # a unit whose worker dies is retried on another worker this many times in all
    extra_env: dict[str, str] | None = None

    def check(self) -> None:
        if self.kind not in EXECUTORS:
            raise SpecError(f"unknown executor {self.kind!r}", fix=f"use one of: {', '.join(EXECUTORS)}")
        if self.workers is not None and self.workers < 1:
            raise SpecError(f"--workers {self.workers} must be at least 1", fix="e.g. --workers 4")
        if self.gpus_per_worker < 0:
            raise SpecError(f"--gpus-per-worker {self.gpus_per_worker} must not be negative", fix="e.g. --gpus-per-worker 1")
        if self.kind == "local" and (self.address or self.workers or self.gpus_per_worker):
            raise SpecError("--ray-address, --workers and --gpus-per-worker need --executor ray",
                            fix="add --executor ray (or drop those options)")


def make_executor(options: ExecutorOptions | None) -> Any:
    """None for the local executor (the engine's own code path), else a started Ray executor."""
    if options is None or options.kind == "local":
        if options is not None:
            options.check()
        return None
    options.check()
    from genlens.runs.executors.ray import RayExecutor

    return RayExecutor(options)
