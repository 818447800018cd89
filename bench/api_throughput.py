"""API throughput: the shared call layer against a local fake OpenAI server with fixed latency.

The server runs in its own process, as a remote API would, so its work does not share the
client's interpreter lock.

Three measurements, printed as lines for docs/performance.md:
1. N requests at concurrency C with L seconds of server latency: wall time vs the ideal
   N·L/C, and the throughput ratio ideal/wall (target >= 0.85).
2. The same with a fraction of requests answered 429 + Retry-After: every request must end
   succeeded or recorded (none lost); retries and wall time are reported.
3. A sequential loop with the synchronous SDK, one request after another (how GPT-ImgEval's
   collection script worked), and the speed-up of (1) over it.

Usage: PYTHONPATH=src python bench/api_throughput.py [--n 400] [--concurrency 16] [--latency 0.25]
       [--rate-429 0.1] [--sequential-n 400]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from genlens.backends.base import make_backend
from genlens.errors import Refused
from genlens.testing.fake_openai import FakeOpenAI
from genlens.testing.http import FakeServer, Request, Response
from genlens.types import GenerationRequest

MODEL = "bench-image"  # not an OpenAI name: the size is sent as asked (64x64 keeps the server's work small)
SIZE = (64, 64)


def flaky(handler: Any, rate: float, seed: int = 0) -> Any:
    """Wrap a route: answer 429 with Retry-After to a seeded random ``rate`` of requests."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def route(request: Request) -> Response:
        with lock:
            hit = rng.random() < rate
        if hit:
            return Response.json({"error": {"message": "rate limited (injected)", "type": "requests", "code": "rate_limit_exceeded"}},
                                 429, {"Retry-After": "0.5"})
        return handler(request)

    return route


def _serve(latency: float, rate_429: float, ports: Any, stop: Any) -> None:
    server = FakeServer(latency=latency)
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms
    # to every response, which a real API does not.
    server._server.RequestHandlerClass.disable_nagle_algorithm = True
    fake = FakeOpenAI()
    if rate_429:
        server.route("POST", r"/v1/images/generations", flaky(fake.images_generations, rate_429))
    else:
        fake.install(server)
    server.start()
    ports.put(server.port)
    stop.wait()
    server.stop()


@contextmanager
def served(latency: float, rate_429: float = 0.0) -> Iterator[str]:
    """The fake server in its own process (as a remote API would be): yields its /v1 URL."""
    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    process = context.Process(target=_serve, args=(latency, rate_429, ports, stop), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=60)}/v1"
    finally:
        stop.set()
        process.join(timeout=10)


async def concurrent(url: str, n: int, concurrency: int) -> dict[str, Any]:
    backend = make_backend(f"openai:{MODEL}", {"base_url": url, "concurrency": concurrency, "max_retries": 8})
    requests = [GenerationRequest(f"i{i}", f"bench prompt {i}", 0, i, size=SIZE) for i in range(n)]
    workers = asyncio.Semaphore(concurrency)  # the engine's worker pool

    async def one(request: GenerationRequest) -> str:
        async with workers:
            try:
                await backend.generate(request)
                return "ok"
            except Refused:
                return "refused"
            except Exception:
                return "error"

    await backend.generate(GenerationRequest("warm-up", "warm up", 0, 0, size=SIZE))  # SDK import + client, not timed
    backend.calls.stats = type(backend.calls.stats)()
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one(r) for r in requests))
    wall = time.perf_counter() - started
    await backend.aclose()
    counts = {k: outcomes.count(k) for k in ("ok", "refused", "error")}
    return {"wall": wall, "counts": counts, "stats": backend.calls.stats.summary()}


def sequential(url: str, n: int) -> float:
    from openai import OpenAI

    client = OpenAI(base_url=url, api_key=os.environ.get("OPENAI_API_KEY", "bench-key"), max_retries=0)
    client.images.generate(model=MODEL, prompt="warm up", size=f"{SIZE[0]}x{SIZE[1]}", response_format="b64_json")
    started = time.perf_counter()
    for i in range(n):
        client.images.generate(model=MODEL, prompt=f"bench prompt {i}", size=f"{SIZE[0]}x{SIZE[1]}", response_format="b64_json")
    wall = time.perf_counter() - started
    client.close()
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--rate-429", type=float, default=0.10)
    parser.add_argument("--sequential-n", type=int, default=400)
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "bench-key")
    ideal = args.n * args.latency / args.concurrency

    with served(args.latency) as url:
        clean = asyncio.run(concurrent(url, args.n, args.concurrency))
        print(f"concurrent: n={args.n} concurrency={args.concurrency} latency={args.latency}s "
              f"wall={clean['wall']:.2f}s ideal={ideal:.2f}s throughput={ideal / clean['wall']:.3f} of ideal "
              f"outcomes={clean['counts']} p50={clean['stats']['latency_p50_s']}s p95={clean['stats']['latency_p95_s']}s")

    with served(args.latency, args.rate_429) as url:
        faulty = asyncio.run(concurrent(url, args.n, args.concurrency))
        accounted = sum(faulty["counts"].values())
        print(f"with {args.rate_429:.0%} 429s (Retry-After 0.5s): wall={faulty['wall']:.2f}s "
              f"throughput={ideal / faulty['wall']:.3f} of ideal retries={faulty['stats']['retries']} "
              f"outcomes={faulty['counts']} accounted={accounted}/{args.n} lost={args.n - accounted}")

    with served(args.latency) as url:
        seq_wall = sequential(url, args.sequential_n)
        per_request = seq_wall / args.sequential_n
        projected = per_request * args.n
        note = "" if args.sequential_n == args.n else f" (measured on {args.sequential_n}, projected to {args.n})"
        print(f"sequential loop (sync SDK, one at a time): wall={projected:.2f}s for {args.n}{note} "
              f"per-request={per_request:.3f}s speed-up of concurrent={projected / clean['wall']:.1f}x")


if __name__ == "__main__":
    from _machine import print_machine

    print_machine("start")
    main()
    print_machine("end")
