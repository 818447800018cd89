"""Progress on long phases: a bar with ETA on a terminal, plain log lines elsewhere (Slurm, nohup, CI).

When stderr is not a terminal, a line ``generate: 120/553 (22%) 3.1/s ETA 2m20s errors 2`` is printed
every ``GENLENS_PROGRESS_INTERVAL`` seconds (default 30; 0 prints on every step) while it runs (the phase summary
says how it ended).
:class:`FirstErrors` prints the first error of each kind with its reason, so a failing run says why
on the console and not only in ``rows.jsonl``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Advance = Callable[[int], None]
DEFAULT_INTERVAL_S = 30.0


def bars_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def log_interval() -> float:
    """Seconds between plain progress lines (``GENLENS_PROGRESS_INTERVAL``; bad values: the default)."""
    try:
        return max(0.0, float(os.environ.get("GENLENS_PROGRESS_INTERVAL", DEFAULT_INTERVAL_S)))
    except ValueError:
        return DEFAULT_INTERVAL_S


def _duration(value: float) -> str:
    seconds = round(value)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def progress_line(description: str, done: int, total: int, elapsed: float, errors: int | None = None) -> str:
    """``name: done/total (pct) rate/s ETA … [errors n]`` — the plain-text progress record."""
    rate = done / elapsed if elapsed > 0 else 0.0
    pct = 100.0 * done / total if total else 100.0
    eta = _duration((total - done) / rate) if rate > 0 and done < total else ("0s" if done >= total else "?")
    line = f"{description}: {done}/{total} ({pct:.0f}%) {rate:.2f}/s ETA {eta}"
    if errors is not None:
        line += f" errors {errors}"
    return line


class _LineLogger:
    """Counts steps and prints a progress line when the interval has passed (clock injectable for tests)."""

    def __init__(self, description: str, total: int, errors: Callable[[], int] | None, interval: float,
                 clock: Callable[[], float] = time.monotonic):
        self.description, self.total, self.errors, self.interval, self.clock = description, total, errors, interval, clock
        self.started = self.last = clock()
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            self.emit(now)

    def emit(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        errors = self.errors() if self.errors is not None else None
        print(progress_line(self.description, self.done, self.total, now - self.started, errors), file=sys.stderr, flush=True)


@contextmanager
def progress_bar(description: str, total: int, *, quiet: bool = False,
                 errors: Callable[[], int] | None = None) -> Iterator[Advance]:
    """Yield ``advance(n)``: a bar on a terminal, periodic plain lines otherwise, nothing when quiet."""
    if quiet or total <= 0:
        yield lambda n=1: None
        return
    if not sys.stderr.isatty():
        # No closing line: the phase's own summary says how it ended.
        yield _LineLogger(description, total, errors, log_interval()).advance
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


class FirstErrors:
    """Prints the first error of each kind (with its reason) on stderr; later ones are only counted."""

    def __init__(self, phase: str, *, quiet: bool = False):
        self.phase = phase
        self.quiet = quiet
        self.seen: set[str] = set()

    def note(self, kind: str, reason: str) -> None:
        if kind in self.seen:
            return
        self.seen.add(kind)
        if not self.quiet:
            Console(stderr=True, highlight=False, soft_wrap=True).print(
                escape(f"{self.phase}: first error of kind {kind} — {reason[:300]} (more of this kind are counted, not printed; "
                       "every one is in rows.jsonl, and a re-run retries them)"))


def error_kind(reason: str) -> str:
    """The kind of an error reason: its leading exception name (``RuntimeError: …`` -> RuntimeError)."""
    head = reason.split(":", 1)[0].strip()
    return head if head and " " not in head and len(head) <= 60 else "other"
