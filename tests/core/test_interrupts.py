"""Ctrl-C: the first SIGINT finishes the writes in flight, says how to resume and exits 130; a second
one exits at once; one during start-up is one line. No traceback, nothing partial, resume is exact."""

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

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SAMPLES = 2
EXPECTED = {(item.id, s) for item in ImagePropsSuite().items() for s in range(SAMPLES)}


def _command(run: Path) -> list[str]:
    return [sys.executable, "-m", "genlens", "run", "image-props", "--model", "synthetic:gradient",
            "--model-arg", "delay=0.05", "--samples", str(SAMPLES), "--concurrency", "3", "--out", str(run), "--quiet"]


def _start_and_wait(run: Path, done: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(_command(run), env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while count_generations(run) < done and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    return proc


def _resume_is_exact(run: Path) -> None:
    finished = subprocess.run(_command(run), env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        rows = conn.execute("SELECT item_id, sample, status FROM generations").fetchall()
    pairs = [(item, sample) for item, sample, _ in rows]
    assert len(pairs) == len(set(pairs)) == len(EXPECTED) and set(pairs) == EXPECTED
    images = [p for p in (run / "images").rglob("*") if p.is_file()]
    assert len(images) == len(EXPECTED) and not [p for p in images if p.name.startswith(".tmp-")]


def test_first_ctrl_c_finishes_writes_says_how_to_resume_and_exits_130(tmp_path):
    run = tmp_path / "run"
    proc = _start_and_wait(run, 4)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    text = err.decode()
    assert proc.returncode == 130, text
    assert "Traceback" not in text and "run the same command again to resume" in text
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        recorded = conn.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
    assert 4 <= recorded < len(EXPECTED)
    images = [p for p in (run / "images").rglob("*") if p.is_file()]
    assert len(images) == recorded  # every written image has its row, and no partial file is left
    _resume_is_exact(run)


def test_second_ctrl_c_exits_at_once(tmp_path):
    run = tmp_path / "run"
    proc = _start_and_wait(run, 2)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    text = err.decode()
    assert proc.returncode == 130, text
    assert "Traceback" not in text and "run the same command again" in text
    _resume_is_exact(run)


def test_ctrl_c_during_start_up_is_one_line(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(_command(run), env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.3)  # inside the imports
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    text = err.decode()
    assert proc.returncode == 130, text
    assert "Traceback" not in text


def test_protected_block_finishes_before_a_deferred_interrupt():
    import os

    from genlens import interrupts

    state = interrupts._state
    saved = (state.started, state.count)
    done: list[str] = []
    try:
        state.started, state.count = True, 0
        with pytest.raises(KeyboardInterrupt), interrupts.protected():
            done.append("write")
            interrupts._handler(signal.SIGINT, None)  # a first Ctrl-C arrives mid-block: deferred
            done.append("commit")
        assert done == ["write", "commit"]
        assert interrupts.requested()
    finally:
        state.started, state.count = saved
        state.deferred = False
    assert os.getpid()  # still running: a first Ctrl-C never exits at once
