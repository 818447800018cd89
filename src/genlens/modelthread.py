"""One long-lived thread for a process's local model calls.

CUDA libraries keep state per host thread: PyTorch's cuDNN execution-plan cache is thread-local and
cuBLAS handles belong to the thread that made them. ``asyncio.to_thread`` runs work on the current
event loop's default executor, and every ``engine.generate`` / ``engine.score`` (every suite of a
``genlens run``) has an event loop of its own, so model calls landed on fresh threads that rebuilt
that state each run. Local generation, scoring and judging go through :func:`on_model_thread`
instead: one thread per process, so it is built once, as a plain script that calls its model from
the main thread builds it once. Local model calls were already one at a time (each backend holds a
lock around its model), so one thread costs no parallelism.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def model_executor() -> ThreadPoolExecutor:
    """The process's model thread (started on first use)."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="genlens-model")
        return _executor


def _forget_after_fork() -> None:  # a forked child has no such thread: it starts its own
    global _executor, _lock
    _executor, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


async def on_model_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``await asyncio.to_thread(fn, *args, **kwargs)``, on the process's model thread.

    Context variables travel as with ``to_thread``; a call cancelled before it starts never runs."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(model_executor(), call)
