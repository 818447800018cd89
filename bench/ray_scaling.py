"""Ray executor: speed-up with 1 and 2 workers on a CPU-bound backend, and the driver's cost per unit.

A synthetic backend burns a fixed amount of CPU per image (``--work`` seconds, a stand-in for a
model's forward) and draws a small PNG. Measured on a local Ray cluster of this machine, after a
warm-up run (cluster start and actor start-up are not in the timings):

- local engine (one process) vs ``--executor ray`` with 1 and 2 workers: speed-up and its ratio
  to the ideal (the worker count, where cores allow);
- per-unit overhead of the Ray path: (ray with 1 worker - local) / units with ``work=0``, i.e. what
  the driver pays per unit to ship the request, await the actor and receive the image bytes.

    PYTHONPATH=src python bench/ray_scaling.py [--items 40] [--work 0.2] [--overhead-items 400]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # local cluster on loopback only

from _machine import print_machine
from genlens.runs import engine
from genlens.runs.executors import ExecutorOptions
from genlens.testing.workers import CpuBoundBackend
from genlens.types import Item


def generate(root: Path, name: str, items: int, work: float, executor: ExecutorOptions | None) -> float:
    suite = engine.make_suite("image-props")
    suite.items = lambda: [  # type: ignore[method-assign]
        Item(id=f"{i:04d}", prompt=f"prompt {i}", size=(64, 64)) for i in range(items)
    ]
    opts = engine.GenerateOptions(samples=1, concurrency=1, quiet=True)
    backend = CpuBoundBackend("gradient", {"work": work})
    started = time.perf_counter()
    summary = engine.generate(root / name, suite, backend, opts, executor=executor)
    seconds = time.perf_counter() - started
    assert summary.statuses.get("ok") == items, summary.statuses
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--work", type=float, default=0.2, help="CPU seconds per image")
    parser.add_argument("--overhead-items", type=int, default=400)
    args = parser.parse_args()
    import ray

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
             logging_level="ERROR")
    print_machine("start")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one, two = ExecutorOptions("ray", workers=1), ExecutorOptions("ray", workers=2)
        generate(root, "warm1", 2, 0.0, one)
        generate(root, "warm2", 4, 0.0, two)
        local = generate(root, "local", args.items, args.work, None)
        ray1 = generate(root, "ray1", args.items, args.work, one)
        ray2 = generate(root, "ray2", args.items, args.work, two)
        local0 = generate(root, "local0", args.overhead_items, 0.0, None)
        ray0 = generate(root, "ray0", args.overhead_items, 0.0, one)
    print_machine("end")
    ray.shutdown()
    n, m = args.items, args.overhead_items
    print(f"{n} images x {args.work:.2f} s CPU each ({os.cpu_count()} cores)")
    print(f"local engine:      {local:7.2f} s  ({n / local:5.2f} images/s)")
    print(f"ray, 1 worker:     {ray1:7.2f} s  ({n / ray1:5.2f} images/s)  = {local / ray1:.2f}x local")
    print(f"ray, 2 workers:    {ray2:7.2f} s  ({n / ray2:5.2f} images/s)  = {ray1 / ray2:.2f}x the 1-worker run "
          f"({ray1 / ray2 / 2:.2f} of ideal 2x; target >= 0.8 where cores allow)")
    per_unit = (ray0 - local0) / m
    print(f"driver overhead per unit (work=0, {m} units): ray {1000 * ray0 / m:.2f} ms vs local {1000 * local0 / m:.2f} ms"
          f" -> +{1000 * per_unit:.2f} ms per unit (target <= 10 ms)")
    print(f"units/s one driver can feed at that cost: {1 / max(per_unit + local0 / m, 1e-9):.0f}")


if __name__ == "__main__":
    main()
