"""``genlens diagnose DIR``: formats, output file, bad files named one line each with exit 2."""

from __future__ import annotations

import json

import pytest
from PIL import Image

skimage_data = pytest.importorskip("skimage.data")
pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("diag")
    photo = Image.fromarray(skimage_data.astronaut())
    photo.save(root / "photo.png")
    (root / "nested").mkdir()
    photo.save(root / "nested" / "q60.jpg", quality=60)
    photo.resize((256, 256), Image.LANCZOS).resize((512, 512), Image.NEAREST).save(root / "upscaled.png")
    (root / ".hidden").mkdir()
    photo.save(root / ".hidden" / "skip.png")
    (root / "notes.txt").write_text("not an image")
    return root


def test_json_has_every_image_and_a_summary(cli, folder):
    result = cli("diagnose", folder, "--format", "json", "--quiet")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    by_name = {row["image"]: row for row in data["images"]}
    assert set(by_name) == {"photo.png", "nested/q60.jpg", "upscaled.png"}  # hidden folder and .txt skipped
    assert by_name["nested/q60.jpg"]["jpeg_quality"] == 60
    assert by_name["upscaled.png"]["upsampling_period"] == pytest.approx(2.0, abs=0.02)
    assert by_name["photo.png"]["upsampling_period"] is None
    assert data["summary"]["images"] == 3 and data["summary"]["jpeg_files"] == 1 and data["summary"]["resampling_peaks"] == 1
    assert data["errors"] == []


def test_rows_and_out_file(cli, folder, tmp_path):
    out = tmp_path / "rows.jsonl"
    result = cli("diagnose", folder, "--format", "rows", "--out", out, "-q")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["image"] for r in rows] == ["nested/q60.jpg", "photo.png", "upscaled.png"]
    table_file = tmp_path / "table.txt"
    assert cli("diagnose", folder, "-q", "--out", table_file).exit_code == 0
    text = table_file.read_text()
    assert "photo.png" in text and "3 images" in text and "upscaled.png" in text


def test_bad_files_are_named_and_the_rest_finish(cli, folder, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    Image.fromarray(skimage_data.astronaut()).save(broken / "good.png")
    (broken / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    data = (folder / "nested" / "q60.jpg").read_bytes()
    (broken / "truncated.jpg").write_bytes(data[: len(data) // 2])
    result = cli("diagnose", broken, "--format", "json", "-q")
    assert result.exit_code == 2
    assert [row["image"] for row in json.loads(result.stdout)["images"]] == ["good.png"]
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 2 and "bad.png" in error_lines[0] and "truncated.jpg" in error_lines[1]
    assert "Traceback" not in result.stderr


def test_unknown_format_and_missing_folder_are_user_errors(cli, folder, tmp_path):
    assert cli("diagnose", folder, "--format", "xml").exit_code == 2
    result = cli("diagnose", tmp_path / "nope")
    assert result.exit_code == 2 and "no such folder or file" in result.stderr


def test_odd_modes_and_tiny_images_are_probed_or_marked(cli, tmp_path):
    # A 16-bit grey copy (v × 257) must read as the 8-bit grey (same Laplacian variance), not clip
    # at 255; RGBA/LA drop alpha; an image under 16 px is listed with a note and no readings.
    import numpy as np

    photo = Image.fromarray(skimage_data.astronaut())
    grey = np.asarray(photo.convert("L"))
    Image.fromarray(grey).save(tmp_path / "grey8.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "grey16.png")
    photo.convert("RGBA").save(tmp_path / "rgba.png")
    photo.resize((8, 8)).save(tmp_path / "tiny.png")
    result = cli("diagnose", tmp_path, "--format", "json", "-q")
    assert result.exit_code == 0, result.stderr
    rows = {r["image"]: r for r in json.loads(result.stdout)["images"]}
    assert rows["grey16.png"]["laplacian_var"] == pytest.approx(rows["grey8.png"]["laplacian_var"], rel=1e-6)
    assert rows["rgba.png"]["laplacian_var"] > 0
    assert rows["tiny.png"]["laplacian_var"] is None and "not probed" in rows["tiny.png"]["note"]


def test_parallel_workers_give_the_same_rows(cli, folder):
    one = json.loads(cli("diagnose", folder, "--format", "json", "-q").stdout)
    two = json.loads(cli("diagnose", folder, "--format", "json", "-q", "--workers", "2").stdout)
    assert one == two


def test_out_naming_a_folder_is_one_line_exit_2(cli, folder, tmp_path):
    result = cli("diagnose", folder, "-q", "--format", "json", "--out", tmp_path)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert str(tmp_path) in result.stderr and "is a folder" in result.stderr


def test_a_single_image_file_is_diagnosed_and_another_file_named(cli, folder):
    result = cli("diagnose", folder / "nested" / "q60.jpg", "--format", "json", "-q")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [row["image"] for row in data["images"]] == ["q60.jpg"] and data["images"][0]["jpeg_quality"] == 60
    result = cli("diagnose", folder / "notes.txt")
    assert result.exit_code == 2 and "notes.txt" in result.stderr and "not an image" in result.stderr


def test_the_image_column_keeps_its_names_at_80_columns(folder):
    import io

    from rich.console import Console

    from genlens.cli.commands.diagnose import _table
    from genlens.diagnose import diagnose_paths, find_images

    buffer = io.StringIO()
    Console(file=buffer, width=80, highlight=False).print(_table(diagnose_paths(find_images(folder), folder), 80))
    lines = buffer.getvalue().splitlines()
    # Compact at 80 columns: every name whole (the longest, "nested/q60.jpg", is 14 wide), every value
    # whole, no line wider than the console.
    assert any(line.startswith("photo.png") for line in lines) and any(line.startswith("nested/q60.jpg") for line in lines)
    assert any("upscaled.png" in line and "2.0" in line for line in lines)
    assert max(len(line) for line in lines) <= 80
