"""Backends for exercising executors: a fixed amount of CPU work per image, and one that kills its own worker.

Not registered as model specs (they are not models); tests and ``bench/ray_scaling.py`` build them
directly and hand them to :func:`genlens.runs.engine.generate`. Ray rebuilds them in its workers
from their class, target and args, so they must stay importable from ``genlens.testing``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import ClassVar

from genlens.args import Arg
from genlens.backends.base import BackendInfo
from genlens.backends.synthetic import SyntheticBackend
from genlens.types import GeneratedImage, GenerationRequest


def burn_cpu(seconds: float) -> None:
    """Busy-loop on this thread for ``seconds`` of process CPU time (a stand-in for a model's forward)."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


class CpuBoundBackend(SyntheticBackend):
    """``synthetic:<pattern>`` images after ``work`` seconds of CPU per image (model arg ``work``)."""

    info: ClassVar[BackendInfo] = BackendInfo(
        "cpu-bound", "cpu-bound:<pattern>", "synthetic images after a fixed CPU cost per image (benchmarks)", ("generate",),
    )
    args = (*SyntheticBackend.args, Arg("work", "duration", 0.05, "CPU seconds per image", "0.05", maximum=60))

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        burn_cpu(float(self.params.get("work", 0.05)))
        return await super().generate(request)


class KillsItsWorkerOnce(SyntheticBackend):
    """Kills its own process (SIGKILL) the first time it is asked for item ``kill_item``, then behaves.

    The first attempt leaves a marker file in ``marker_dir`` before dying, so the retry of the same
    unit (on a restarted or another worker) succeeds: a deterministic "worker killed mid-run".
    """

    info: ClassVar[BackendInfo] = BackendInfo(
        "kills-worker", "kills-worker:<pattern>", "synthetic images; SIGKILLs its worker once (tests)", ("generate",),
    )
    args = (*SyntheticBackend.args, Arg("kill_item", "str", None, "the item whose first request kills the worker", "p0"),
            Arg("marker_dir", "str", None, "where the one-time marker is written", "/tmp/x"))

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        marker = Path(str(self.params["marker_dir"])) / f"killed-{request.item_id}-{request.sample}"
        if request.item_id == self.params.get("kill_item"):
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return await super().generate(request)

