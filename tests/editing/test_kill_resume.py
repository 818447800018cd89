"""reason-edit and gedit runs killed with SIGKILL mid-generation resume to every item exactly once."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import count_generations, subprocess_env


@pytest.mark.parametrize(("suite", "total"), [("reason-edit", 12), ("gedit", 22)])
def test_sigkill_then_resume(suite: str, total: int, reason_edit_dir: Path, gedit_dir: Path, tmp_path: Path):
    data = reason_edit_dir if suite == "reason-edit" else gedit_dir
    run = tmp_path / "run"
    command = [sys.executable, "-m", "genlens", "run", suite, "--model", "synthetic:gradient", "--model-arg", "delay=0.1",
               "--concurrency", "1", "--data-dir", str(data), "--out", str(run), "--quiet"]
    proc = subprocess.Popen(command, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while count_generations(run, "ok") < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 3 <= count_generations(run, "ok") < total
    finished = subprocess.run(command, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        items = [row[0] for row in conn.execute("SELECT item_id FROM generations WHERE status = 'ok'")]
    assert len(items) == len(set(items)) == total
    assert len([p for p in (run / "images").rglob("*") if p.is_file()]) == total
    results = json.loads((run / "results.json").read_text())
    assert results["counts"]["generations_ok"] == total
