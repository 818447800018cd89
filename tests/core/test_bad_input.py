"""User mistakes: one line naming the file and the fix, exit code 2, nothing finished lost."""

from __future__ import annotations

import errno
import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import write_png


def _one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert lines, result.output
    assert "Traceback" not in result.output
    return lines[0]


def _folder(tmp_path: Path, n: int = 4) -> Path:
    from genlens.suites.image_props import ImagePropsSuite

    folder = tmp_path / "imgs"
    for item in list(ImagePropsSuite().items())[:n]:
        write_png(folder / item.id / "0.png", size=item.size, seed=1)
    return folder


def test_unknown_suite_and_model(cli, tmp_path: Path) -> None:
    r = cli("run", "no-such-suite", "-m", "synthetic:gradient", "-o", tmp_path / "r")
    assert r.exit_code == 2 and "unknown suite 'no-such-suite'" in _one_error_line(r)
    r = cli("run", "image-props", "-m", "nonsense:thing", "-o", tmp_path / "r")
    assert r.exit_code == 2 and "unknown model backend 'nonsense'" in _one_error_line(r)
    r = cli("run", "image-props", "-m", "no-colon", "-o", tmp_path / "r")
    assert r.exit_code == 2 and "is not SCHEME:TARGET" in _one_error_line(r)
    r = cli("run", "image-props", "-o", tmp_path / "r")
    assert r.exit_code == 2 and "no model given" in _one_error_line(r)


def test_missing_image_names_the_file_and_keeps_the_rest(cli, tmp_path: Path) -> None:
    folder = _folder(tmp_path, n=3)
    run = tmp_path / "run"
    r = cli("run", "image-props", "-m", f"folder:{folder}", "-o", run, "--limit", "4")
    assert r.exit_code == 2
    line = _one_error_line(r)
    assert "p0-1536x1024" in line and "no image for item" in line
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM generations WHERE status='ok'").fetchone()[0] == 3
    # fix it and run again: the 3 finished ones are kept, only the 4th is new
    write_png(folder / "p0-1536x1024" / "0.png", size=(1536, 1024))
    r = cli("run", "image-props", "-m", f"folder:{folder}", "-o", run, "--limit", "4")
    assert r.exit_code == 0 and "3 already done, 1 new" in r.output


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_image_is_named(cli, tmp_path: Path, damage: str) -> None:
    folder = _folder(tmp_path, n=3)
    bad = folder / "p0-512x512" / "0.png"
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not an image at all")
    r = cli("run", "image-props", "-m", f"folder:{folder}", "-o", tmp_path / "run", "--limit", "3")
    assert r.exit_code == 2
    line = _one_error_line(r)
    assert str(bad) in line and "not a readable image" in line and "replace the file" in line


def test_model_folder_that_does_not_exist(cli, tmp_path: Path) -> None:
    r = cli("run", "image-props", "-m", f"folder:{tmp_path / 'nope'}", "-o", tmp_path / "run")
    assert r.exit_code == 2 and "model folder does not exist" in _one_error_line(r)


def test_run_dir_of_another_suite_or_model_is_refused(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "1", "-q").exit_code == 0
    r = cli("run", "image-props", "-m", "synthetic:noise", "-o", run)
    line = _one_error_line(r)
    assert r.exit_code == 2 and "model='synthetic:gradient'" in line and "new --out" in line
    r = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--seed", "5")
    assert r.exit_code == 2 and "seed=0" in _one_error_line(r)
    data = json.loads((run / "run.json").read_text())
    data["spec"]["suite"] = "geneval"
    (run / "run.json").write_text(json.dumps(data))
    r = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run)
    assert r.exit_code == 2 and "suite='geneval'" in _one_error_line(r)


def test_run_dir_from_an_incompatible_genlens(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "1", "-q").exit_code == 0
    data = json.loads((run / "run.json").read_text())
    data["format"] = 99
    data["genlens_version"] = "9.0.0"
    (run / "run.json").write_text(json.dumps(data))
    for args in (("run", "image-props", "-m", "synthetic:gradient", "-o", run), ("score", run), ("report", run)):
        r = cli(*args)
        assert r.exit_code == 2 and "format 99 was written by genlens 9.0.0" in _one_error_line(r)


def test_not_a_run_dir(cli, tmp_path: Path) -> None:
    r = cli("score", tmp_path)
    assert r.exit_code == 2 and "not a genlens run directory" in _one_error_line(r)
    r = cli("report", tmp_path / "missing")
    assert r.exit_code == 2 and "no such run directory" in _one_error_line(r)


def test_full_disk_is_one_line_and_keeps_finished_work(cli, tmp_path: Path, monkeypatch) -> None:
    import genlens.runs.engine as engine

    real = engine.atomic_write
    calls = {"n": 0}

    def flaky(path, data):
        calls["n"] += 1
        if calls["n"] > 5:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(engine, "atomic_write", flaky)
    run = tmp_path / "run"
    r = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "-c", "1")
    assert r.exit_code == 2
    line = _one_error_line(r)
    assert "the disk is full" in line and "run the same command again" in line
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM generations").fetchone()[0] == 5
    monkeypatch.setattr(engine, "atomic_write", real)
    r = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run)
    assert r.exit_code == 0 and "5 already done, 28 new" in r.output


def test_read_only_run_dir(cli, tmp_path: Path, monkeypatch) -> None:
    import genlens.runs.engine as engine

    def read_only(path, data):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(engine, "atomic_write", read_only)
    r = cli("run", "image-props", "-m", "synthetic:gradient", "-o", tmp_path / "run")
    assert r.exit_code == 2 and "read-only" in _one_error_line(r)


def test_bad_config_and_options(cli, tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("modle: synthetic:gradient\n")
    r = cli("run", "image-props", "--config", cfg, "-o", tmp_path / "r")
    assert r.exit_code == 2 and "unknown config key(s): modle" in _one_error_line(r)
    cfg.write_text("model: [unclosed\n")
    r = cli("run", "image-props", "--config", cfg, "-o", tmp_path / "r")
    assert r.exit_code == 2 and "not valid YAML" in _one_error_line(r)
    r = cli("run", "image-props", "-m", "synthetic:gradient", "-a", "novalue", "-o", tmp_path / "r")
    assert r.exit_code == 2 and "is not key=value" in _one_error_line(r)
    r = cli("run", "image-props", "-m", "synthetic:gradient", "--shard", "3/3", "-o", tmp_path / "r")
    assert r.exit_code == 2 and "--shard '3/3'" in _one_error_line(r)
    r = cli("run", "image-props", "-m", "synthetic:nope", "-o", tmp_path / "r")
    assert r.exit_code == 2 and "unknown synthetic pattern" in _one_error_line(r)


def test_import_layout_errors(cli, tmp_path: Path) -> None:
    r = cli("import", tmp_path / "nope", "--suite", "image-props", "--out", tmp_path / "r")
    assert r.exit_code == 2 and "no such folder" in _one_error_line(r)
    empty = tmp_path / "empty"
    empty.mkdir()
    r = cli("import", empty, "--suite", "image-props", "--out", tmp_path / "r")
    assert r.exit_code == 2 and "no images in the image-props layout" in _one_error_line(r)
    stray = tmp_path / "stray"
    write_png(stray / "holiday.png")
    r = cli("import", stray, "--suite", "image-props", "--out", tmp_path / "r")
    assert r.exit_code == 2 and "holiday.png" in _one_error_line(r)


def test_error_lines_keep_brackets_in_file_names(cli, tmp_path: Path) -> None:
    folder = tmp_path / "imgs[final]"
    r = cli("run", "image-props", "-m", f"folder:{folder}", "-o", tmp_path / "r")
    assert r.exit_code == 2 and "imgs[final]" in _one_error_line(r)


@pytest.mark.parametrize(("yaml_text", "expected"), [
    ("model_args: [size=3]\n", "config model_args must be a mapping"),
    ("samples: abc\n", "config samples: 'abc' is not a whole number >= 1"),
    ("limit: -2\n", "config limit: -2 is not a whole number >= 1"),
    ("shard: [1, 2]\n", "config shard: [1, 2] is not a single value"),
    ("quiet: maybe\n", "config quiet: 'maybe' is not true/false"),
    ("mode: reupload\n", "unknown config key(s): mode"),
])
def test_config_values_are_checked(cli, tmp_path: Path, yaml_text: str, expected: str) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("model: synthetic:gradient\n" + yaml_text)
    r = cli("run", "image-props", "--config", cfg, "-o", tmp_path / "r")
    assert r.exit_code == 2 and expected in _one_error_line(r)


def test_config_quiet_is_honoured(cli, tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("model: synthetic:gradient\nlimit: 1\nquiet: true\n")
    r = cli("run", "image-props", "--config", cfg, "-o", tmp_path / "r")
    assert r.exit_code == 0 and r.output == ""
