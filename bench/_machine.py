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
from collections.abc import Iterator, Sequence
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


def median_spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, min, max) of repeated measurements."""
    return statistics.median(values), min(values), max(values)


def describe(values: Sequence[float], fmt: str = "{:.3f}") -> str:
    """'median M (min a, max b; n=K)' for a list of repeated measurements."""
    med, low, high = median_spread(values)
    return f"median {fmt.format(med)} (min {fmt.format(low)}, max {fmt.format(high)}; n={len(values)})"
