"""folder: replays pre-made multi-round results in re-upload mode too (<item>/<sample>_r<k>.png)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.conftest import write_png


def test_reupload_mode_reads_each_rounds_file(cli, tmp_path: Path) -> None:
    from genlens.suites.multiturn_edit import MultiturnEditSuite

    item = MultiturnEditSuite().items()[0]
    folder = tmp_path / "made_elsewhere"
    for k in range(1, len(item.rounds) + 1):
        write_png(folder / item.id / f"0_r{k}.png", size=(64 + k, 48), seed=k)  # a different size per round
    run = tmp_path / "run"
    r = cli("generate", "multiturn-edit", "-m", f"folder:{folder}", "-o", run, "--limit", "1",
            "--suite-arg", "mode=reupload", "-q")
    assert r.exit_code == 0, r.output
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        payload = json.loads(conn.execute("SELECT payload FROM generations").fetchone()[0])
    sources = [m["source_path"] for m in payload["meta"]["rounds"]]
    assert sources == [str(folder / item.id / f"0_r{k}.png") for k in range(1, len(item.rounds) + 1)]
