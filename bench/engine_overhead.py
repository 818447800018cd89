"""Engine overhead: 5,000 items through generate + score vs the same work in a bare Python loop.

The "work" is what a trivial model and scorer do: draw and PNG-encode a small image, write it,
decode it again and take its mean. The bare loop does exactly that and keeps scores in a list;
the engine adds fingerprints, atomic writes, one SQLite transaction per record, progress and
aggregation. Prints the ratio (engine / bare) and the resume-scan time of the finished run.

    .venv/bin/python bench/engine_overhead.py [--items 5000] [--size 128]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from genlens.backends.base import Backend, BackendInfo
from genlens.runs import engine
from genlens.scorers.base import Scorer
from genlens.suites.base import ScoreContext, Suite, SuiteMeta, SuiteResult
from genlens.types import GeneratedImage, GenerationRequest, Item, ScoredGeneration, ScoreInput


def make_png(seed: int, size: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def mean_of(data: bytes) -> float:
    return float(np.asarray(Image.open(io.BytesIO(data))).mean())


class BenchBackend(Backend):
    info: ClassVar[BackendInfo] = BackendInfo("bench", "bench:<size>", "benchmark stand-in", ("generate",))

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        return GeneratedImage(make_png(request.seed, int(self.target)), "png")


class MeanScorer(Scorer):
    name = "mean"
    batch_size = 64

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return [("ok", {"mean": mean_of(inp.image_paths[0].read_bytes())}) for inp in batch]


def bench_suite(n: int) -> Suite:
    class BenchSuite(Suite):
        meta = SuiteMeta("bench", "1", "bench", "generate", ("all",), ("none",), "bench", 1, n)

        def items(self) -> Sequence[Item]:
            return [Item(id=f"{i:05d}", prompt=f"prompt {i}", category="all") for i in range(n)]

        def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
            return [MeanScorer()]

        def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
            values = [s.scores["mean"].value["mean"] for s in scored if "mean" in s.scores]
            return SuiteResult(headline={"mean": float(np.mean(values))}, counts={"n": len(values)})

    return BenchSuite()


def bare_loop(n: int, size: int, out: Path) -> float:
    started = time.perf_counter()
    scores = []
    for i in range(n):
        data = make_png(i, size)
        path = out / f"{i:05d}.png"
        path.write_bytes(data)
        scores.append(mean_of(path.read_bytes()))
    _ = float(np.mean(scores))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args(argv)
    n = args.items
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bare").mkdir()
        bare = bare_loop(n, args.size, root / "bare")

        suite = bench_suite(n)
        run = root / "run"
        ctx = ScoreContext(run_dir=run, quiet=True)
        opts = engine.GenerateOptions(samples=1, concurrency=1, quiet=True)
        started = time.perf_counter()
        engine.generate(run, suite, BenchBackend(str(args.size)), opts)
        # score/aggregate look the suite up by name: register the in-process bench suite
        from genlens.suites import base as suites_base

        suites_base._SUITES["bench"] = type(suite)
        engine.score(run, ctx)
        engine.aggregate(run, ctx)
        full = time.perf_counter() - started

        started = time.perf_counter()
        summary = engine.generate(run, suite, BenchBackend(str(args.size)), opts)
        scored_again = engine.score(run, ctx)
        resume = time.perf_counter() - started
        assert summary.skipped == n and summary.done == 0 and scored_again.done == 0

    print(f"items: {n}, image {args.size}x{args.size} PNG, python {sys.version.split()[0]}")
    print(f"bare loop (generate+write+score):   {bare:8.2f} s  ({n / bare:7.0f} items/s)")
    print(f"engine (generate+score+aggregate):  {full:8.2f} s  ({n / full:7.0f} items/s)")
    print(f"ratio engine/bare: {full / bare:.3f}  -> engine overhead {100 * (full / bare - 1):+.1f}% (target <= +15%)")
    print(f"resume scan of the finished run (generate+score, nothing to do): {resume:.3f} s (target < 1 s)"
          f" = {resume / bare:.3f} of the bare loop's time")


if __name__ == "__main__":
    main()
