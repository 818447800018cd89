"""What every bench prints about the machine, a background load it can start itself, and medians.

A ratio measured on a busy machine is only comparable with one measured under the same load, so
each bench prints the core count and load average when it starts and when it ends, and the
overhead benches can keep ``--background-load N`` cores busy themselves (one spinning process per
core, started before the first timed run and stopped after the last).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

_SPIN = "import time\nwhile True:\n    time.perf_counter()\n"


def machine_line(when: str) -> str:
    """One line: cores, load average (1/5/15 min), Python, wall-clock time."""
    try:
        one, five, fifteen = os.getloadavg()
        load = f"{one:.2f} / {five:.2f} / {fifteen:.2f}"
    except OSError:
        load = "n/a"
    return (
        f"[machine {when}] cores {os.cpu_count()}, load average {load}, python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}"
    )


def print_machine(when: str) -> None:
    print(machine_line(when), flush=True)


@contextmanager
def background_load(cores: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Keep ``cores`` CPU cores busy (one spinning Python process each) for the block's duration."""
    procs = [
        subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(max(0, cores))
    ]
    if procs:
        time.sleep(0.5)  # let them reach the scheduler before the first timed run
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def quiesce_disk(pause_s: float = 0.5) -> None:
    """Flush dirty pages and let the file system finish deferred work (an earlier run's deleted files)
    before a timed run that writes files: otherwise the writeback of whatever ran before lands inside
    the next measurement, and the method timed second pays for the first."""
    os.sync()
    time.sleep(pause_s)


def median_spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, min, max) of repeated measurements."""
    return statistics.median(values), min(values), max(values)


def describe(values: Sequence[float], fmt: str = "{:.3f}") -> str:
    """'median M (min a, max b; n=K)' for a list of repeated measurements."""
    med, low, high = median_spread(values)
    return f"median {fmt.format(med)} (min {fmt.format(low)}, max {fmt.format(high)}; n={len(values)})"


class Clock:
    """Wall and process CPU seconds (all threads) of a block; CPU time barely moves when other jobs share the machine."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def interleaved_best(methods: dict[str, Callable[[int], Clock]], rounds: int) -> dict[str, list[Clock]]:
    """Each method once per round, the order rotated every round (drift in the machine's load hits all alike).

    Prints every round's times; the benches then take the best of each method.
    """
    times: dict[str, list[Clock]] = {name: [] for name in methods}
    order = list(methods)
    for round_index in range(rounds):
        shift = round_index % len(order)
        for name in order[shift:] + order[:shift]:
            times[name].append(methods[name](round_index))
        print(f"round {round_index + 1}: " + ", ".join(f"{k} {v[-1].wall:.1f}s wall / {v[-1].cpu:.1f}s cpu"
                                                       for k, v in times.items()), flush=True)
    return times


def print_against_limit(times: dict[str, list[Clock]], n: int, unit_name: str, digits: int) -> None:
    """genlens vs its bare limit and the naive way, best of the rounds, in wall and in CPU time (target >= 0.8)."""
    for unit in ("wall", "cpu"):
        ours, limit, naive = (min(getattr(c, unit) for c in times[k]) for k in ("genlens", "limit", "naive"))
        print(f"[{unit} time] genlens {n / ours:.{digits}f} {unit_name}/s, limit {n / limit:.{digits}f} {unit_name}/s, "
              f"naive {n / naive:.{digits}f} {unit_name}/s; "
              f"genlens / limit = {limit / ours:.2f} (target >= 0.8); speed-up over naive = {naive / ours:.2f}x")
