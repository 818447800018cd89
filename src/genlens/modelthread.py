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
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_model_thread_id: int | None = None


def _mark_model_thread() -> None:
    global _model_thread_id
    _model_thread_id = threading.get_ident()


def model_executor() -> ThreadPoolExecutor:
    """The process's model thread (started on first use)."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="genlens-model",
                                           initializer=_mark_model_thread)
        return _executor


def _forget_after_fork() -> None:  # a forked child has no such thread: it starts its own
    global _executor, _lock, _model_thread_id
    _executor, _lock, _model_thread_id = None, threading.Lock(), None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")  # never imported here: only a process that uses torch has a count
    return int(torch.get_num_threads()) if torch is not None else None


def _run(threads: int | None, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    if threads is not None and _torch_threads() != threads:
        sys.modules["torch"].set_num_threads(threads)
    return fn(*args, **kwargs)


async def on_model_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``await asyncio.to_thread(fn, *args, **kwargs)``, on the process's model thread.

    Context variables travel as with ``to_thread``; a call cancelled before it starts never runs.
    PyTorch's intra-op thread count is per OpenMP thread and a fresh thread took the process's
    latest ``torch.set_num_threads``; the long-lived thread is given the caller's count instead, so
    setting it before a call still applies (the same kernels, so the same bytes, as before)."""
    if threading.get_ident() == _model_thread_id:  # an event loop inside a model call: queuing would wait on itself
        return fn(*args, **kwargs)
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, _run, _torch_threads(), fn, args, kwargs)
    return await loop.run_in_executor(model_executor(), call)
