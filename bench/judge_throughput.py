"""Judge throughput: 1,000 WISE judge calls at 200 ms server latency, concurrency 16, vs the bare limit.

A local OpenAI-compatible server (genlens.testing.fake_chat) answers every request after
``--latency`` seconds. A WISE run of ``--items`` made-up prompts (one small PNG each) is scored
through the real path: engine → JudgeScorer → judge cache → openai SDK → shared call layer.
The bare limit is items × latency / concurrency; efficiency = limit / wall (target ≥ 0.85).
The naive way (one call at a time) is timed on a slice. Then ``--rejudge`` re-parses all stored
verdicts with no call (target < 2 s), and a second run dir with the same images is scored from
the judge cache.

    .venv/bin/python bench/judge_throughput.py [--items 1000] [--latency 0.2] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from genlens.backends.folder import FolderBackend
from genlens.judges import make_judge
from genlens.runs import engine
from genlens.runs.engine import GenerateOptions
from genlens.suites.base import ScoreContext
from genlens.suites.wise import WiseSuite
from genlens.testing.fake_chat import FakeChat
from genlens.testing.http import FakeServer

ANSWER = "Consistency: 1\nRealism: 2\nAesthetic Quality: 1"


def write_fixture(root: Path, items: int) -> tuple[Path, Path]:
    """Made-up WISE records spread over the six legacy ranges, and one 32×32 PNG per prompt."""
    ids = np.linspace(1, 1000, items).round().astype(int) if items <= 1000 else np.arange(1, items + 1)
    ids = sorted(set(int(i) for i in ids))
    files = {"legacy/cultural_common_sense.json": [], "legacy/spatio-temporal_reasoning.json": [],
             "legacy/natural_science.json": []}
    for pid in ids:
        name = list(files)[0 if pid <= 400 else 1 if pid <= 700 else 2]
        files[name].append({"Prompt": f"bench prompt {pid}", "Explanation": f"bench explanation {pid}",
                            "Category": "bench", "Subcategory": "bench", "prompt_id": pid})
    data = root / "data"
    for name, records in files.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text(json.dumps(records))
    images = root / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for pid in ids:
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buffer, format="PNG")
        (images / f"{pid}.png").write_bytes(buffer.getvalue())
    return data, images


def generate(run: Path, data: Path, images: Path) -> int:
    suite = WiseSuite(data_dir=data)
    engine.generate(run, suite, FolderBackend(str(images)), GenerateOptions(samples=1, concurrency=8, quiet=True), data_dir=data)
    return len(suite.items())


def score(run: Path, data: Path, url: str, concurrency: int, rejudge: bool = False) -> float:
    ctx = ScoreContext(run_dir=run, judge="openai:gpt-4o-2024-05-13", data_dir=data, concurrency=concurrency, quiet=True,
                       rejudge=rejudge, scorer_args={"base_url": f"{url}/v1"})
    started = time.perf_counter()
    engine.score(run, ctx)
    return time.perf_counter() - started


async def naive(url: str, calls: int) -> float:
    """One call at a time through the same judge (no concurrency): the naive way."""
    judge = make_judge("openai:gpt-4o-2024-05-13", concurrency=1, params={"base_url": f"{url}/v1"})
    image = (Path(__file__).parent / "judge_throughput.py").read_bytes()[:64]
    started = time.perf_counter()
    for index in range(calls):
        await judge.ask(system=None, text=f"naive {index}", images=[image])
    await judge.aclose()
    return time.perf_counter() - started


def serve(latency: float) -> None:
    """The provider stand-in, run in its own process (a real provider does not share our GIL)."""
    import sys

    from genlens.testing.http import Response

    with FakeServer(latency=latency) as server:
        chat = FakeChat(server, answer=lambda _text: ANSWER)
        server.route("GET", r"/count", lambda _request: Response.json({"chat_requests": len(chat.requests)}))
        print(server.url, flush=True)
        sys.stdin.read()  # until the parent closes the pipe


class Provider:
    """:func:`serve` in a subprocess; ``calls()`` asks it how many chat requests it has answered."""

    def __init__(self, latency: float):
        import subprocess
        import sys

        self.process = subprocess.Popen([sys.executable, __file__, "--serve", str(latency)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.url = self.process.stdout.readline().strip()  # type: ignore[union-attr]

    def calls(self) -> int:
        import httpx

        return int(httpx.get(f"{self.url}/count").json()["chat_requests"])

    def close(self) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        self.process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--naive-calls", type=int, default=25)
    parser.add_argument("--serve", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ.update(GENLENS_CACHE_DIR=str(root / "cache"), OPENAI_API_KEY="sk-bench")
        data, images = write_fixture(root, args.items)
        n = generate(root / "run", data, images)
        generate(root / "run2", data, images)
        provider = Provider(args.latency)
        import openai  # noqa: F401 - the SDK's one-time import (~1-2 s here) is startup, not throughput
        try:
            wall = score(root / "run", data, provider.url, args.concurrency)
            calls = provider.calls()
            ideal = calls * args.latency / args.concurrency
            naive_wall = asyncio.run(naive(provider.url, args.naive_calls))
            before = provider.calls()
            rejudge_wall = score(root / "run", data, provider.url, args.concurrency, rejudge=True)
            rejudge_calls = provider.calls() - before
            cached_wall = score(root / "run2", data, provider.url, args.concurrency)
            cached_calls = provider.calls() - before - rejudge_calls
        finally:
            provider.close()
    naive_rate = args.naive_calls / naive_wall
    print(f"items {n}, judge calls {calls}, server latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}")
    print(f"scoring wall {wall:.2f} s; bare limit {ideal:.2f} s; efficiency limit/wall = {ideal / wall:.3f} (target >= 0.85)")
    print(f"throughput {calls / wall:.1f} calls/s vs naive one-at-a-time {naive_rate:.2f} calls/s: {calls / wall / naive_rate:.1f}x")
    print(f"--rejudge of {n} stored verdicts: {rejudge_wall:.2f} s, {rejudge_calls} calls (target < 2 s, 0 calls)")
    print(f"second run dir, same images: {cached_wall:.2f} s, {cached_calls} calls (judge cache)")


if __name__ == "__main__":
    from _machine import print_machine

    print_machine("start")
    main()
    print_machine("end")
