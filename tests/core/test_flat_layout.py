"""A run keeps its images in one flat folder (``images/<item>_s<sample>.<ext>``), and that folder imports back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genlens.runs.engine import image_stem, parse_image_stem, path_component


@pytest.mark.parametrize(("item_id", "sample"), [
    ("00012", 0), ("00012", 3), ("a_s1", 0),      # an id that itself ends like a stem: the last _s<n> is the sample
    ("x_s0_s2", 11), ("odd id/with:chars", 1),    # unsafe characters: path_component's hashed name
])
def test_stem_round_trips_to_the_item_component_and_sample(item_id: str, sample: int) -> None:
    stem = image_stem(item_id, sample)
    assert "/" not in stem
    assert parse_image_stem(stem) == (path_component(item_id), sample)


@pytest.mark.parametrize("stem", ["00012", "00012_s", "s1", "a_sx", "a_s1_r2"])
def test_names_that_are_not_flat_stems_are_refused(stem: str) -> None:
    # multi-round images carry _r<round> after the stem; they are not importable single images
    assert parse_image_stem(stem) is None


def test_a_run_writes_no_folder_per_item_and_its_images_folder_imports(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "3", "--samples", "2",
               "-q").exit_code == 0
    images = run / "images"
    assert [p for p in images.iterdir() if p.is_dir()] == []
    ids = [json.loads(line)["id"] for line in cli("items", "image-props").stdout.splitlines()][:3]
    assert sorted(p.name for p in images.iterdir()) == sorted(f"{image_stem(i, s)}.png" for i in ids for s in (0, 1))

    result = cli("import", str(images), "--suite", "image-props", "-o", tmp_path / "again", "-q")
    assert result.exit_code == 0, result.output
    original = {(r["item"], r["sample"]) for r in map(json.loads, (run / "rows.jsonl").read_text().splitlines())}
    store_rows = cli("score", tmp_path / "again", "-q")
    assert store_rows.exit_code == 0, store_rows.output
    again = {(r["item"], r["sample"]) for r in map(json.loads, (tmp_path / "again" / "rows.jsonl").read_text().splitlines())}
    assert again == original and len(again) == 6


def test_a_runs_images_folder_is_a_folder_model(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "2", "--samples", "2", "-q").exit_code == 0
    again = tmp_path / "again"
    result = cli("run", "image-props", "-m", f"folder:{run / 'images'}", "-o", again, "--limit", "2", "--samples", "2", "-q")
    assert result.exit_code == 0, result.output
    rows = {(r["item"], r["sample"]): r for r in map(json.loads, (again / "rows.jsonl").read_text().splitlines())}
    assert len(rows) == 4
    for key, row in rows.items():  # byte-identical copies of the first run's images
        assert (again / row["image"]).read_bytes() == (run / "images" / f"{image_stem(*key)}.png").read_bytes()
