"""Images that are not what they claim: decompression bombs (from users and from an API), garbled
model output, odd file names and ambiguous layouts. Each is one line (user input, exit 2) or a
recorded, final-or-retried generation (model output), never a traceback or an unfinishable run."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import write_png

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def header_bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG whose header claims width x height RGB pixels, with (almost) no pixel data behind it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def real_bomb_png(side: int = 10_000) -> bytes:
    """A real 100-megapixel PNG (all black; compresses to ~100 kB): over Pillow's default cap."""
    row = b"\x00" + b"\x00" * side  # filter byte + 1 byte per pixel (greyscale)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def huge_jpeg() -> bytes:
    """A small JPEG whose SOF0 header is patched to claim 60000 x 60000 pixels."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60_000, 60_000)
    return bytes(data)


BOMBS = {"header-png": header_bomb_png, "real-png": real_bomb_png, "jpeg": huge_jpeg}


def _one_error_line(result) -> str:
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert lines, result.output
    return lines[0]


def _items(n: int = 2):
    from genlens.suites.image_props import ImagePropsSuite

    return list(ImagePropsSuite().items())[:n]


# -- the decoder itself -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_decode_refuses_bombs_before_decoding(kind):
    from genlens.imageio import ImageTooLarge, decode

    with pytest.raises(ImageTooLarge, match="over the cap"):
        decode(BOMBS[kind](), source="bomb")


def test_pixel_cap_is_configurable(monkeypatch, tmp_path):
    from genlens.errors import InputError
    from genlens.imageio import ImageTooLarge, decode

    data = write_png(tmp_path / "a.png", size=(64, 48)).read_bytes()
    decode(data)
    monkeypatch.setenv("GENLENS_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(ImageTooLarge, match="3072 pixels, over the cap of 1000"):
        decode(data)
    monkeypatch.setenv("GENLENS_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(InputError, match="GENLENS_MAX_IMAGE_PIXELS"):
        decode(data)


# -- user inputs: one line per file, exit 2 --------------------------------------------------
@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_bomb_in_a_model_folder_is_one_line(cli, tmp_path, kind):
    folder = tmp_path / "imgs"
    items = _items()
    write_png(folder / items[0].id / "0.png", size=items[0].size)
    (folder / items[1].id).mkdir(parents=True)
    (folder / items[1].id / "0.png").write_bytes(BOMBS[kind]())
    result = cli("run", "image-props", "--model", f"folder:{folder}", "--limit", "2", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "over the cap" in line and items[1].id in line


def test_bomb_in_an_import_is_one_line(cli, tmp_path):
    folder = tmp_path / "imgs"
    items = _items()
    write_png(folder / items[0].id / "0.png", size=items[0].size)
    (folder / items[1].id).mkdir(parents=True)
    (folder / items[1].id / "0.png").write_bytes(header_bomb_png())
    result = cli("import", folder, "--suite", "image-props", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2 and "over the cap" in _one_error_line(result)


def test_bomb_in_a_run_dir_being_scored_is_one_line(cli, tmp_path):
    folder = tmp_path / "imgs"
    for item in _items():
        write_png(folder / item.id / "0.png", size=item.size)
    run = tmp_path / "run"
    assert cli("generate", "image-props", "--model", f"folder:{folder}", "--limit", "2", "--out", run, "--quiet").exit_code == 0
    image = next((run / "images").rglob("*.png"))
    bomb = huge_jpeg()
    image.write_bytes(bomb)
    result = cli("score", run, "--quiet")
    assert result.exit_code == 2
    assert "changed since it was generated" in _one_error_line(result)


def test_generate_redoes_a_changed_image(cli, tmp_path):
    """The resume scan sees the changed file and makes the unit again; then it scores."""
    folder = tmp_path / "imgs"
    for item in _items():
        write_png(folder / item.id / "0.png", size=item.size)
    run = tmp_path / "run"
    args = ("run", "image-props", "--model", f"folder:{folder}", "--limit", "2", "--out", run, "--quiet")
    assert cli(*args).exit_code == 0
    next((run / "images").rglob("*.png")).write_bytes(huge_jpeg())
    assert cli(*args).exit_code == 0


# -- model outputs: recorded, never an unfinishable run ----------------------------------------
@pytest.fixture
def fake_openai(monkeypatch, tmp_path):
    pytest.importorskip("openai")
    from genlens.testing.fake_openai import FakeOpenAI
    from genlens.testing.http import FakeServer

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with FakeServer() as server:
        yield server, FakeOpenAI().install(server)


def _statuses(run: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        rows = conn.execute("SELECT status, payload FROM generations ORDER BY item_id").fetchall()
    return [(status, json.loads(payload)["reason"]) for status, payload in rows]


def test_bomb_returned_by_an_api_is_a_final_record(cli, fake_openai, monkeypatch, tmp_path):
    server, _fake = fake_openai
    import genlens.testing.fake_openai as fake_module

    monkeypatch.setattr(fake_module, "draw_png", lambda size, text, base=None: header_bomb_png())
    run = tmp_path / "run"
    args = ["run", "image-props", "--model", "openai:gpt-image-1", "--model-arg", f"base_url={server.url}/v1",
            "--model-arg", "backoff_base=0.01", "--limit", "2", "--out", run, "--quiet"]
    first = cli(*args)
    assert "Traceback" not in first.output
    rows = _statuses(run)
    assert [status for status, _ in rows] == ["refused", "refused"]
    assert all("over the cap" in reason for _, reason in rows)
    requests = len(server.log)
    again = cli(*args)  # resumable: the bombs are final, nothing is asked again
    assert again.exit_code == 0, again.output
    assert len(server.log) == requests


def test_garbled_image_from_an_api_is_an_error_then_retried(cli, fake_openai, monkeypatch, tmp_path):
    server, _fake = fake_openai
    import genlens.testing.fake_openai as fake_module

    real = fake_module.draw_png
    garbled = {"on": True}

    def draw(size, text, base=None):
        data = real(size, text, base)
        return data[:60] + b"\x00" * 40 + data[100:] if garbled["on"] else data  # a valid signature, broken body

    monkeypatch.setattr(fake_module, "draw_png", draw)
    run = tmp_path / "run"
    args = ["run", "image-props", "--model", "openai:gpt-image-1", "--model-arg", f"base_url={server.url}/v1",
            "--model-arg", "max_retries=0", "--limit", "2", "--out", run, "--quiet"]
    first = cli(*args)
    assert first.exit_code == 1 and "Traceback" not in first.output
    assert [status for status, _ in _statuses(run)] == ["error", "error"]
    assert all("invalid image" in reason for _, reason in _statuses(run))
    assert not list((run / "images").rglob("*.png")) if (run / "images").exists() else True
    garbled["on"] = False
    assert cli(*args).exit_code == 0
    assert [status for status, _ in _statuses(run)] == ["ok", "ok"]


# -- odd names and ambiguous layouts ---------------------------------------------------------
def test_two_images_for_one_sample_are_refused_naming_both(cli, tmp_path):
    folder = tmp_path / "imgs"
    item = _items(1)[0]
    write_png(folder / f"{item.id}.png", size=item.size)
    write_png(folder / item.id / "0.png", size=item.size)
    result = cli("run", "image-props", "--model", f"folder:{folder}", "--limit", "1", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert f"{item.id}.png" in line and f"{item.id}/0.png" in line


def test_geneval_layout_with_two_folders_for_one_prompt(cli, tmp_path):
    folder = tmp_path / "geneval"
    write_png(folder / "0" / "samples" / "0000.png")
    write_png(folder / "00000" / "samples" / "0000.png")
    result = cli("import", folder, "--suite", "geneval", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "0/" in line and "00000/" in line


def test_huge_sample_number_is_refused(cli, tmp_path):
    folder = tmp_path / "geneval"
    write_png(folder / "00000" / "samples" / f"{10**30}.png")
    result = cli("import", folder, "--suite", "geneval", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2 and "not below" in _one_error_line(result)
    generic = tmp_path / "generic"
    write_png(generic / _items(1)[0].id / f"{10**30}.png")
    result = cli("import", generic, "--suite", "image-props", "--out", tmp_path / "run2", "--quiet")
    assert result.exit_code == 2 and "not below" in _one_error_line(result)


@pytest.mark.skipif(os.name != "posix", reason="raw byte file names are a POSIX thing")
def test_non_utf8_file_names_do_not_crash(cli, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    bad = os.fsdecode(b"caf\xe9-\xff.png")
    write_png(folder / bad)
    result = cli("import", folder, "--suite", "image-props", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2
    assert "\\xe9" in _one_error_line(result)
    item = _items(1)[0]
    (folder / bad).unlink()
    target = folder / item.id
    target.mkdir()
    write_png(target / "0.png", size=item.size)
    (target / os.fsdecode(b"notes-\xff.txt")).write_bytes(b"x")
    result = cli("import", folder, "--suite", "image-props", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 0, result.output


def test_bomb_as_a_suite_input_image_is_one_line(cli, tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "a.png").write_bytes(header_bomb_png())
    result = cli("run", "multiturn-edit", "--model", "synthetic:gradient", "--data-dir", sources, "--limit", "1",
                 "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "a.png" in line and "over the cap" in line
