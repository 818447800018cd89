"""Web-UI collection: the browser: backend against the mock image-chat app with a fixed server delay.

The mock runs in its own process (as a remote site would). Each item takes ``delay`` seconds on
the server, spread over its intermediate frames and the final image.

Measurements, printed as lines for docs/performance.md:
1. N items (GenEval prompts, one sample each) through ``genlens generate`` at 1 and at 4 contexts:
   wall time (browser start included) vs the ideal delay·N/contexts, ratio ideal/wall (target >= 0.8).
2. The fixed-wait way GPT-ImgEval's released script collected from the ChatGPT app: per item a new
   window, type, send, wait a fixed time that must cover the slowest answer (here ``wait_factor``·delay;
   the paper waited 120 s), then take the shown image. Measured on a few items, projected to N,
   and compared with (1) at 1 context. It keeps no intermediate frames.

Usage: PYTHONPATH=src python bench/browser_collect.py [--items 50] [--delay 2.0] [--contexts 1 4]
       [--fixed-items 8] [--wait-factor 2.0]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from genlens.testing.http import FakeServer
from genlens.testing.web_chat import MockChatApp, recipe


def _serve(delay: float, frames: int, size: int, ports: Any, stop: Any) -> None:
    server = FakeServer()
    MockChatApp(frames=frames, size=size, delay=delay).install(server)
    server.start()
    ports.put(server.port)
    stop.wait()
    server.stop()


def collect(recipe_path: Path, items: int, contexts: int, run_dir: Path) -> tuple[float, dict[str, int], int]:
    """`genlens generate geneval --limit N --samples 1` through the browser backend: (wall s, statuses, frames)."""
    from genlens.backends.base import make_backend
    from genlens.runs import engine
    from genlens.runs.engine import GenerateOptions
    from genlens.runs.store import RunStore

    suite = engine.make_suite("geneval")
    backend = make_backend(f"browser:{recipe_path}", {"concurrency": contexts})
    started = time.perf_counter()
    summary = engine.generate(run_dir, suite, backend, GenerateOptions(samples=1, limit=items, concurrency=max(4, contexts + 1), quiet=True))
    wall = time.perf_counter() - started
    store = RunStore(run_dir / "genlens.sqlite")
    frames = sum(len(g.trace) for g in store.generations("ok"))
    store.close()
    return wall, summary.statuses, frames


async def fixed_wait(url: str, prompts: list[str], wait_s: float) -> tuple[float, int]:
    """The fixed-wait collector: new window, type, send, sleep ``wait_s``, read the shown image. (wall s, images)."""
    from playwright.async_api import async_playwright

    from genlens.backends.browser import LAUNCH_ARGS, chromium_path

    got = 0
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=list(LAUNCH_ARGS))
        started = time.perf_counter()
        for prompt in prompts:
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(url)
            await page.fill("textarea#prompt", prompt)
            await page.click("button[data-testid=send]")
            await asyncio.sleep(wait_s)  # the approach under comparison: a fixed wait, not an event
            source = await page.locator("img.generated").last.get_attribute("src", timeout=1000)
            response = await page.request.get(url.rstrip("/") + source)
            got += bool(await response.body())
            await context.close()
        wall = time.perf_counter() - started
        await browser.close()
    return wall, got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--delay", type=float, default=2.0, help="server seconds per item")
    parser.add_argument("--contexts", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--fixed-items", type=int, default=8)
    parser.add_argument("--wait-factor", type=float, default=2.0)
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(args.delay, args.frames, args.size, ports, stop), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=60)}/"
    print(f"items={args.items} delay={args.delay}s frames={args.frames} size={args.size}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            os.environ["GENLENS_CACHE_DIR"] = str(root / "cache")
            recipe_path = root / "mock.yaml"
            recipe_path.write_text(yaml.safe_dump(recipe(url)))
            walls = {}
            for contexts in args.contexts:
                wall, statuses, frames = collect(recipe_path, args.items, contexts, root / f"run-{contexts}")
                ideal = args.delay * args.items / contexts
                walls[contexts] = wall
                print(f"contexts={contexts}: {args.items} items in {wall:.1f}s, ideal {ideal:.1f}s, ratio ideal/wall {ideal / wall:.3f}"
                      f" (target >= 0.8); statuses {statuses}; trace frames kept {frames}")
            prompts = [f"fixed wait {k}" for k in range(args.fixed_items)]
            wait_s = args.wait_factor * args.delay
            wall, got = asyncio.run(fixed_wait(url, prompts, wait_s))
            per_item = wall / args.fixed_items
            projected = per_item * args.items
            first = args.contexts[0]
            print(f"fixed wait {wait_s:.1f}s (GPT-ImgEval style): {args.fixed_items} items in {wall:.1f}s ({per_item:.2f}s/item, "
                  f"{got} images, 0 trace frames); projected {args.items} items {projected:.1f}s; "
                  f"ours at {first} context(s) is {projected / walls[first]:.2f}x faster"
                  + (f", at {args.contexts[-1]} contexts {projected / walls[args.contexts[-1]]:.2f}x" if len(args.contexts) > 1 else ""))
    finally:
        stop.set()
        server.join(timeout=10)


if __name__ == "__main__":
    from _machine import print_machine

    print_machine("start")
    main()
    print_machine("end")
