"""ImgEdit-Judge as the ``local:imgedit-judge`` preset: found where the download puts it, loaded through the
production from_pretrained path (a tiny random Qwen2.5-VL stands in for the 7B weights), answers read as ImgEdit's."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from genlens.testing.tiny_vlm import save_tiny_qwen_vl
from tests.editing.test_imgedit import build_data


def edits_for(data: Path, out: Path) -> Path:
    out.mkdir()
    for key, rec in json.loads((data / "UGE_edit.json").read_text()).items():
        Image.open(data / rec["id"]).save(out / f"{key}.png")
    return out


def test_the_preset_loads_the_downloaded_folder_and_its_answers_are_read_as_imgedits(cli, tmp_path: Path, monkeypatch):
    root = tmp_path / "genlens-data"
    monkeypatch.setenv("GENLENS_DATA_DIR", str(root))
    # huggingface-cli download --local-dir <data>/imgedit-judge keeps the dataset's ImgEdit_judge/ folder
    save_tiny_qwen_vl(root / "imgedit-judge" / "ImgEdit_judge", answer="Score: 4")
    data = build_data(tmp_path / "data")
    out = tmp_path / "run"
    result = cli("run", "imgedit-uge", "--model", f"folder:{edits_for(data, tmp_path / 'edits')}", "--data-dir", data,
                 "--out", out, "--judge", "local:imgedit-judge", "--scorer-arg", "max_new_tokens=1", "--quiet")
    assert result.exit_code == 0, result.stderr
    res = json.loads((out / "results.json").read_text())
    assert res["headline"]["score"] == 4.0  # "Score: 4" from every question, read by the strict reader
    judge = res["provenance"]["scorers"]["imgedit_judge"]
    assert judge["spec"] == "local:imgedit-judge"
    import sqlite3

    with sqlite3.connect(out / "genlens.sqlite") as conn:
        models = {json.loads(v)["model"] for (v,) in conn.execute("SELECT value FROM scores")}
    assert len(models) == 1 and "ImgEdit_judge@" in models.pop()  # recorded: the folder and a hash of config + weights


def test_the_preset_not_downloaded_says_how_to_get_it(cli, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "empty"))
    data = build_data(tmp_path / "data")
    result = cli("run", "imgedit-uge", "--model", f"folder:{edits_for(data, tmp_path / 'edits')}", "--data-dir", data,
                 "--out", tmp_path / "run", "--judge", "local:imgedit-judge", "--quiet")
    assert result.exit_code == 2 and "sysuyy/ImgEdit" in result.stderr and "Traceback" not in result.stderr
