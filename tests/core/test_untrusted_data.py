"""Hostile data files: paths in them never leave their data folder; credential-looking argument names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genlens.backends.base import is_secret_arg
from genlens.errors import InputError
from tests.conftest import write_png


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def _rows(key: str) -> list[dict]:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buffer, format="PNG")
    return [{"key": key, "task_type": "color_alter", "instruction": "make it red", "instruction_language": "en",
             "input_image": {"bytes": buffer.getvalue(), "path": "x.png"}, "Intersection_exist": True}]


@pytest.mark.parametrize("key", ["../../../../X", "/tmp/X", "a/../../X", "..", "sub\\..\\..\\X"])
def test_a_parquet_key_cannot_write_outside_the_export(tmp_path: Path, key: str) -> None:
    from genlens.suites.gedit import export_records

    out = tmp_path / "cache" / "gedit" / "rev"
    with pytest.raises(InputError, match="record key") as info:
        export_records(_rows(key), out, {"repo": "fixture"})
    assert "\n" not in str(info.value)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # nothing outside, nothing inside either


def _export_with_image(tmp_path: Path, image: str) -> Path:
    from genlens.suites.gedit import RECORDS, export_records

    export = export_records(_rows("k1"), tmp_path / "export", {"repo": "fixture"})
    record = json.loads((export / RECORDS).read_text().splitlines()[0])
    record["image"] = image
    (export / RECORDS).write_text(json.dumps(record) + "\n")
    return export


@pytest.mark.parametrize("image", ["ABSOLUTE", "../secret.png", "images/../../secret.png", "", "images/link.png"])
def test_a_records_image_outside_the_export_is_refused(tmp_path: Path, image: str) -> None:
    from genlens.suites.gedit import GEditSuite

    secret = write_png(tmp_path / "secret.png", color=(1, 2, 3))
    export = _export_with_image(tmp_path, str(secret) if image == "ABSOLUTE" else image)
    (export / "images" / "link.png").symlink_to(secret)  # a symlink inside that points outside
    with pytest.raises(InputError, match=r"record 1 \(key 'k1'\) names a path outside its data folder"):
        GEditSuite(data_dir=export).items()


def test_the_cli_refuses_such_a_record_in_one_line_and_sends_nothing(tmp_path: Path, cli) -> None:
    secret = write_png(tmp_path / "secret.png", color=(1, 2, 3))
    export = _export_with_image(tmp_path, str(secret))
    result = cli("run", "gedit", "--model", "synthetic:gradient", "--data-dir", export, "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "record 1" in lines[0] and "outside its data folder" in lines[0]
    assert not (tmp_path / "run" / "images").exists()


def test_gedit_input_path_refuses_names_outside(tmp_path: Path) -> None:
    from genlens.suites.gedit import GEditSuite

    export = _export_with_image(tmp_path, "images/k1.png")
    suite = GEditSuite(data_dir=export)
    assert suite.input_path("images/k1.png").is_file()
    for name in ("/etc/passwd", "../x.png"):
        with pytest.raises(InputError, match="outside its data folder"):
            suite.input_path(name)


def test_multiturn_gedit_sources_use_checked_records(tmp_path: Path) -> None:
    from genlens.suites.multiturn_edit import MultiturnEditSuite

    export = _export_with_image(tmp_path, "../../etc/passwd")
    with pytest.raises(InputError, match="outside its data folder"):
        MultiturnEditSuite(data_dir=export, suite_args={"sources": "gedit"}).items()


def test_the_folder_backend_never_reads_outside_its_folder(tmp_path: Path) -> None:
    import asyncio

    from genlens.backends.base import make_backend
    from genlens.types import GenerationRequest

    write_png(tmp_path / "outside" / "0.png")
    (tmp_path / "images").mkdir()
    backend = make_backend(f"folder:{tmp_path / 'images'}", {})
    request = GenerationRequest(item_id="../outside", prompt="p", sample=0, seed=0)
    with pytest.raises(InputError, match="no image for item"):
        asyncio.run(backend.generate(request))


def test_more_credential_words_count_as_whole_name_parts() -> None:
    for name in ("bearer", "auth_bearer", "pass", "db_pass", "pwd", "user-pwd", "access", "accessKey", "sk", "sk_live",
                 "token", "refresh_token", "secret", "auth", "x-auth"):
        assert is_secret_arg(name), name
    for name in ("max_tokens", "passes", "num_passes", "skip", "sketch", "accessibility", "author", "tokenizer",
                 "secretary_mode", "bypass_cache", "keyframes", "task"):
        assert not is_secret_arg(name), name


def test_relative_inside_refuses_every_way_out_before_the_folder_is_known():
    import pytest

    from genlens.data.paths import relative_inside
    from genlens.errors import InputError

    assert relative_inside("animal/000342021.jpg", record="r1", fix="f") == "animal/000342021.jpg"
    assert relative_inside("a\\b.png", record="r1", fix="f") == "a/b.png"
    for bad in ("../x.png", "a/../../x.png", "/etc/passwd", "C:\\x.png", "..\\x.png", "", "  ", None, 3):
        with pytest.raises(InputError, match=r"record r1: image path .* leaves the data directory"):
            relative_inside(bad, record="r1", fix="f")
