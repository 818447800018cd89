"""A run killed with SIGKILL at any point and restarted ends with every item exactly once."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genlens.suites.image_props import ImagePropsSuite
from tests.conftest import count_generations, subprocess_env

SAMPLES = 3
EXPECTED = {(item.id, s) for item in ImagePropsSuite().items() for s in range(SAMPLES)}


def _command(run: Path) -> list[str]:
    return [sys.executable, "-m", "genlens", "run", "image-props", "--model", "synthetic:gradient",
            "--model-arg", "delay=0.02", "--samples", str(SAMPLES), "--concurrency", "3", "--out", str(run), "--quiet"]






@pytest.mark.parametrize("kill_after", [1, 40])
def test_sigkill_mid_run_then_resume(tmp_path: Path, kill_after: int) -> None:
    run = tmp_path / "run"
    proc = subprocess.Popen(_command(run), env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while count_generations(run) < kill_after and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, f"run finished before it could be killed: {proc.stderr.read().decode()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = count_generations(run)
    assert kill_after <= done_before < len(EXPECTED)

    finished = subprocess.run(_command(run), env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr

    with sqlite3.connect(run / "genlens.sqlite") as conn:
        rows = conn.execute("SELECT item_id, sample, status FROM generations").fetchall()
        scores = conn.execute("SELECT generation, COUNT(*) FROM scores GROUP BY generation HAVING COUNT(*) > 1").fetchall()
    pairs = [(item, sample) for item, sample, _ in rows]
    assert len(pairs) == len(set(pairs)) == len(EXPECTED)  # exactly once each
    assert set(pairs) == EXPECTED and {status for *_, status in rows} == {"ok"}
    assert not scores
    images = [p for p in (run / "images").rglob("*") if p.is_file()]
    assert len(images) == len(EXPECTED)  # no orphan or partial files
    assert not [p for p in images if p.name.startswith(".tmp-")]
    assert (run / "results.json").exists()
