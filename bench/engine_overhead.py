"""Engine overhead: 5,000 items through generate + score vs the same work in a bare Python loop.

The "work" is what a trivial model and scorer do: draw and PNG-encode a small image, write it,
decode it again and take its mean. The bare loop does exactly that and keeps scores in a list;
the engine adds fingerprints, atomic writes, one SQLite transaction per record, progress and
aggregation. Prints the ratio (engine / bare) and the resume-scan time of the finished run, each as the median
of ``--repeats`` interleaved runs while ``--background-load`` cores are kept busy by a second process.
Each timed run starts from a flushed disk (``os.sync()``), so neither pays for the other's writeback.

    .venv/bin/python bench/engine_overhead.py [--items 5000] [--size 128] [--repeats 5] [--background-load 1]
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

from _machine import background_load, describe, median_spread, print_machine, quiesce_disk
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
    quiesce_disk()
    started = time.perf_counter()
    scores = []
    for i in range(n):
        data = make_png(i, size)
        path = out / f"{i:05d}.png"
        path.write_bytes(data)
        scores.append(mean_of(path.read_bytes()))
    _ = float(np.mean(scores))
    return time.perf_counter() - started


def engine_once(n: int, size: int, root: Path) -> tuple[float, float]:
    """(generate+score+aggregate seconds, resume-scan seconds) of one fresh run."""
    suite = bench_suite(n)
    run = root / "run"
    ctx = ScoreContext(run_dir=run, quiet=True)
    opts = engine.GenerateOptions(samples=1, concurrency=1, quiet=True)
    # score/aggregate look the suite up by name: register the in-process bench suite
    from genlens.suites import base as suites_base

    suites_base._SUITES["bench"] = type(suite)
    quiesce_disk()
    started = time.perf_counter()
    engine.generate(run, suite, BenchBackend(str(size)), opts)
    engine.score(run, ctx)
    engine.aggregate(run, ctx)
    full = time.perf_counter() - started

    quiesce_disk()
    started = time.perf_counter()
    summary = engine.generate(run, suite, BenchBackend(str(size)), opts)
    scored_again = engine.score(run, ctx)
    resume = time.perf_counter() - started
    assert summary.skipped == n and summary.done == 0 and scored_again.done == 0
    return full, resume


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved bare/engine pairs (median reported)")
    parser.add_argument("--background-load", type=int, default=1, metavar="CORES",
                        help="keep this many cores busy with a spinning process while measuring (0: none)")
    args = parser.parse_args(argv)
    n = args.items
    print_machine("start")
    bares: list[float] = []
    fulls: list[float] = []
    resumes: list[float] = []
    ratios: list[float] = []
    with background_load(args.background_load):
        for rep in range(args.repeats):
            # alternate which goes first so drift in the machine's load hits both equally; each in a
            # folder of its own, deleted (untimed) before the other starts
            for method in ("bare", "engine") if rep % 2 == 0 else ("engine", "bare"):
                with tempfile.TemporaryDirectory() as tmp:
                    if method == "bare":
                        bare = bare_loop(n, args.size, Path(tmp))
                    else:
                        full, resume = engine_once(n, args.size, Path(tmp))
            bares.append(bare)
            fulls.append(full)
            resumes.append(resume)
            ratios.append(full / bare)
            print(f"  repeat {rep + 1}: bare {bare:6.2f} s, engine {full:6.2f} s, ratio {full / bare:.3f}, resume {resume:.3f} s",
                  flush=True)
    print_machine("end")

    print(f"items: {n}, image {args.size}x{args.size} PNG, python {sys.version.split()[0]}, "
          f"background load {args.background_load} core(s), {args.repeats} interleaved repeats")
    print(f"bare loop (generate+write+score):   {describe(bares, '{:.2f}')} s")
    print(f"engine (generate+score+aggregate):  {describe(fulls, '{:.2f}')} s")
    ratio = median_spread(ratios)[0]
    print(f"ratio engine/bare: {describe(ratios)}  -> engine overhead {100 * (ratio - 1):+.1f}% (target <= 1.10)")
    print(f"resume scan of the finished run (generate+score, nothing to do): {describe(resumes)} s (target <= 0.5 s)")


if __name__ == "__main__":
    main()
