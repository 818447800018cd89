"""A run remembers --detector/--clip/--data-dir so a later `genlens score RUN` uses the same ones."""

from __future__ import annotations

import json
from pathlib import Path

from genlens.runs.engine import remember_scoring_options
from genlens.suites.base import ScoreContext


def test_options_are_saved_then_filled_in(tmp_path: Path) -> None:
    first = ScoreContext(run_dir=tmp_path, detector="det-dir", clip="clip-dir", data_dir=tmp_path / "data")
    remember_scoring_options(tmp_path, first)
    saved = json.loads((tmp_path / "scoring.json").read_text())
    assert saved == {"detector": "det-dir", "clip": "clip-dir", "data_dir": str(tmp_path / "data")}

    later = ScoreContext(run_dir=tmp_path)  # `genlens score RUN` with no options
    remember_scoring_options(tmp_path, later)
    assert (later.detector, later.clip, later.data_dir) == ("det-dir", "clip-dir", tmp_path / "data")

    override = ScoreContext(run_dir=tmp_path, clip="other-clip")  # an explicit option wins and is saved
    remember_scoring_options(tmp_path, override)
    assert override.clip == "other-clip" and override.detector == "det-dir"
    assert json.loads((tmp_path / "scoring.json").read_text())["clip"] == "other-clip"


def test_import_records_the_data_dir(cli, tmp_path: Path) -> None:
    from tests.conftest import write_png

    src = tmp_path / "src"
    write_png(src / "p0-512x512" / "0.png", size=(512, 512))
    data = tmp_path / "data"
    data.mkdir()
    run = tmp_path / "run"
    assert cli("import", src, "--suite", "image-props", "--out", run, "--data-dir", data).exit_code == 0
    assert json.loads((run / "run.json").read_text())["data_dir"] == str(data.resolve())
