"""Run files are written with the user's umask, so a shared cluster can read them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_results_images_and_report_follow_the_umask(cli, tmp_path: Path, umask: int, expected: int) -> None:
    old = os.umask(umask)
    try:
        run = tmp_path / "run"
        r = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "2", "-q")
        assert r.exit_code == 0, r.output
        r = cli("report", run, "--format", "html", "--out", tmp_path / "report.html")
        assert r.exit_code == 0, r.output
    finally:
        os.umask(old)
    files = [run / "results.json", run / "rows.jsonl", run / "run.json", tmp_path / "report.html",
             *(run / "images").rglob("*.png")]
    assert len(files) > 5
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
