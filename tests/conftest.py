"""Shared test set-up: offline by construction, small images, and a CLI runner."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def write_png(path: Path, size: tuple[int, int] = (64, 48), color: tuple[int, int, int] | None = None, seed: int = 0) -> Path:
    """A small PNG: flat ``color`` if given, else a seeded gradient with noise (not blank)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    if color is not None:
        Image.new("RGB", size, color).save(path)
        return path
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    arr = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], -1)
    arr = (arr + rng.integers(0, 20, arr.shape)).clip(0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


def subprocess_env() -> dict[str, str]:
    """The environment for a `python -m genlens` subprocess: this checkout's src first on the path."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def count_generations(run: Path, status: str | None = None) -> int:
    """Generation rows in a run (of one status), 0 while the store does not exist or is busy."""
    db = run / "genlens.sqlite"
    if not db.exists():
        return 0
    query = "SELECT COUNT(*) FROM generations" + (" WHERE status = ?" if status else "")
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute(query, (status,) if status else ()).fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.fixture
def cli():
    """Invoke the genlens CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from genlens.cli import app

    runner = CliRunner()

    def invoke(*args: str, **kwargs):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return invoke
