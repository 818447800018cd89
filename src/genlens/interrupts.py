"""Ctrl-C for the ``genlens`` command: the first one stops cleanly, a second one stops at once.

First SIGINT: while a phase runs in an event loop, its root task is cancelled, so workers stop at
their next ``await`` — never between an image's write and its row's commit — and the command
says how to resume and exits 130. Outside an event loop a :func:`protected` block (a write and its
commit) is finished before the interrupt is raised. During start-up nothing has been written: the
process exits 130 at once. A second SIGINT exits 130 at once, whatever is running (a run killed
this way loses at most the units in flight, like SIGKILL; temporary files are removed on resume).

Stdlib only: this module is imported before anything else of the CLI.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

RESUME_HINT = "interrupted — finished work is saved; run the same command again to resume"


class _State:
    installed = False
    started = False  # False during start-up (imports, option parsing): nothing written yet
    count = 0
    critical = 0
    deferred = False
    root: asyncio.Task[Any] | None = None
    loop: asyncio.AbstractEventLoop | None = None


_state = _State()


def _say(text: str) -> None:
    try:
        os.write(2, (text + "\n").encode())
    except OSError:
        pass


def _handler(signum: int, frame: Any) -> None:
    _state.count += 1
    if not _state.started:
        _say("interrupted — stopping now (no run directory was being written)")
        os._exit(130)
    if _state.count >= 2:
        _say("interrupted again — stopping now; run the same command again to resume")
        os._exit(130)
    _say("interrupt: finishing the writes in flight (press Ctrl-C again to stop at once)")
    root, loop = _state.root, _state.loop
    if root is not None and loop is not None and not root.done():
        loop.call_soon_threadsafe(root.cancel)
        return
    if _state.critical:
        _state.deferred = True
        return
    raise KeyboardInterrupt


def is_cli_process() -> bool:
    """True in the ``genlens`` console script and ``python -m genlens`` (not when imported by tests)."""
    argv0 = sys.argv[0] if sys.argv else ""
    return os.path.basename(argv0) == "genlens" or argv0.endswith(os.path.join("genlens", "__main__.py"))


def install() -> None:
    """Take over SIGINT for this process (main thread only; idempotent)."""
    if _state.installed or threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, _handler)
    _state.installed = True


def started() -> None:
    """Start-up is over: from now on a first Ctrl-C stops cleanly instead of exiting at once."""
    _state.started = True


def requested() -> bool:
    return _state.count > 0


@contextmanager
def protected() -> Iterator[None]:
    """A block (a write and its commit) that a first Ctrl-C lets finish before it interrupts."""
    _state.critical += 1
    try:
        yield
    finally:
        _state.critical -= 1
        if not _state.critical and _state.deferred:
            _state.deferred = False
            raise KeyboardInterrupt


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` whose root task a first Ctrl-C cancels (KeyboardInterrupt once it has unwound)."""
    if not _state.installed:
        return asyncio.run(coro)

    async def root() -> T:
        _state.root = asyncio.current_task()
        _state.loop = asyncio.get_running_loop()
        return await coro

    try:
        result = asyncio.run(root())
    except asyncio.CancelledError:
        if _state.count:
            raise KeyboardInterrupt from None
        raise
    finally:
        _state.root = None
        _state.loop = None
    if _state.count:  # the Ctrl-C came as the phase was finishing: stop before the next one
        raise KeyboardInterrupt
    return result
