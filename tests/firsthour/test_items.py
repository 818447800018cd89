"""``genlens items``: the ids, prompts, sizes and expected file names, for images made elsewhere."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from genlens.runs.engine import image_stem


def test_items_jsonl_and_csv_name_the_files_folder_expects(cli, tmp_path: Path) -> None:
    r = cli("items", "image-props")
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 33 and rows[0]["size"] == "1024x1024" and rows[0]["folder_path"] == f"{rows[0]['id']}/0.png"
    geneval = list(csv.DictReader(io.StringIO(cli("items", "geneval", "--format", "csv", "--samples", "2").stdout)))
    assert len(geneval) == 553 * 2
    assert geneval[1]["folder_path"] == "00000/samples/00001.png" and geneval[0]["prompt"] == "a photo of a bench"
    multi = [json.loads(line) for line in cli("items", "multiturn-edit").stdout.splitlines()]
    assert multi[0]["folder_path"].split("|")[:2] == ["mt-001/0_r1.png", "mt-001/0_r2.png"]
    assert cli("items", "image-props", "--format", "xml").exit_code == 2


def test_a_folder_laid_out_from_items_imports_cleanly_and_a_missing_file_is_named(cli, tmp_path: Path) -> None:
    made = tmp_path / "made"
    source = tmp_path / "gen"
    assert cli("run", "image-props", "-m", "synthetic:gradient", "-o", source, "--limit", "3", "-q").exit_code == 0
    rows = [json.loads(line) for line in cli("items", "image-props").stdout.splitlines()][:3]
    for row in rows:  # lay out images "made elsewhere" by the names `items` gave
        target = made / row["folder_path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(next((source / "images").glob(f"{image_stem(row['id'], 0)}.*")), target)
    r = cli("run", "image-props", "-m", f"folder:{made}", "-o", tmp_path / "run", "--limit", "3", "-q")
    assert r.exit_code == 0, r.output
    r = cli("run", "image-props", "-m", f"folder:{made}", "-o", tmp_path / "run2", "--limit", "4", "-q")
    assert r.exit_code == 2
    fourth = json.loads(cli("items", "image-props").stdout.splitlines()[3])
    assert f"add it as {fourth['id']}/0.png" in r.output and "`genlens items image-props` lists every expected name" in r.output
