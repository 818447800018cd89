"""Local model calls share one long-lived thread per process (CUDA's per-thread state is built once)."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from genlens.modelthread import on_model_thread

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def _thread_and_context(tag: str) -> tuple[int, str, str]:
    return threading.get_ident(), WHO.get(), tag


def test_calls_from_separate_event_loops_run_on_one_thread_with_their_context():
    async def one(tag: str) -> tuple[int, str, str]:
        WHO.set(f"run {tag}")
        return await on_model_thread(_thread_and_context, tag)

    first, second = asyncio.run(one("a")), asyncio.run(one("b"))  # two runs, two event loops
    assert first[0] == second[0] != threading.get_ident()
    assert (first[1], first[2]) == ("run a", "a") and (second[1], second[2]) == ("run b", "b")


def test_a_call_cancelled_before_it_starts_never_runs_and_errors_reach_the_caller():
    started, release, ran = threading.Event(), threading.Event(), []

    def blocker() -> None:
        started.set()
        release.wait(10)

    async def main() -> None:
        busy = asyncio.ensure_future(on_model_thread(blocker))
        await asyncio.to_thread(started.wait, 10)
        queued = asyncio.ensure_future(on_model_thread(ran.append, "queued"))
        await asyncio.sleep(0)
        queued.cancel()
        await asyncio.wait([queued])  # cancelled while the thread is still busy
        assert queued.cancelled()
        release.set()
        await busy
        await on_model_thread(lambda: None)  # the queue has drained past the cancelled call
        try:
            await on_model_thread(int, "not a number")
        except ValueError as exc:
            assert "not a number" in str(exc)
        else:
            raise AssertionError("the call's error did not reach the caller")

    asyncio.run(main())
    assert ran == []


def test_the_callers_torch_thread_count_applies_on_the_model_thread():
    torch = __import__("torch")
    before = torch.get_num_threads()

    async def count_there() -> int:
        return await on_model_thread(torch.get_num_threads)

    try:
        asyncio.run(count_there())  # the model thread has its own count now
        torch.set_num_threads(1)
        assert asyncio.run(count_there()) == 1
        torch.set_num_threads(2)
        assert asyncio.run(count_there()) == 2
    finally:
        torch.set_num_threads(before)


def test_a_model_call_that_runs_an_event_loop_of_its_own_does_not_wait_on_itself():
    def inner() -> int:
        return threading.get_ident()

    def model_call() -> tuple[int, int]:  # e.g. a sync scorer that drives an async judge with asyncio.run
        return threading.get_ident(), asyncio.run(on_model_thread(inner))

    async def outer() -> tuple[int, int]:
        return await asyncio.wait_for(on_model_thread(model_call), timeout=10)

    here, nested = asyncio.run(outer())
    assert here == nested
