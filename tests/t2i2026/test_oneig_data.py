"""OneIG data: the shipped manifest is pinned and covers every file the suite reads; fetch round-trips (127.0.0.1)."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from genlens.data.fetch import load_manifest
from genlens.suites.oneig import FILES, STYLE_FILE, OneIGSuite
from genlens.testing.http import FakeServer, Response
from tests.t2i2026.oneig_fixture import write_oneig_data


def test_shipped_manifest_is_pinned_and_complete():
    manifest = load_manifest("oneig")
    assert manifest.commit == "41b49831e79e6dde5323618c164da1c4cf0f699d" and "CC BY-NC 4.0" in manifest.license
    paths = {f.path for f in manifest.files}
    assert all(f.url.startswith(f"https://raw.githubusercontent.com/OneIG-Bench/OneIG-Benchmark/{manifest.commit}/")
               and f.url.endswith(f.path) and len(f.sha256) == 64 for f in manifest.files)
    wanted = {STYLE_FILE, "scripts/style/CSD_embed.pt", "scripts/style/SE_embed.pt"}
    for lang, files in FILES.items():
        wanted |= {files["prompts"], files["text"], files["answers"]}
        folders = ("anime", "human", "object") + (("multilingualism",) if lang == "zh" else ())
        wanted |= {files["qd"].format(folder=f) for f in folders}
    assert wanted <= paths, wanted - paths


def test_fetch_then_items_load_from_the_fetched_folder(cli, tmp_path, monkeypatch):
    source = write_oneig_data(tmp_path / "src")
    files = {f"/repo/{p.relative_to(source).as_posix()}": p.read_bytes() for p in source.rglob("*") if p.is_file()}
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "data"))
    with FakeServer() as server:
        server.route("GET", r"/repo/.+", lambda request: Response(200, files[request.path]) if request.path in files
                     else Response(404, b"not found"))
        manifest = {"name": "oneig", "suites": ["oneig"], "dir": "oneig", "source": "local", "commit": "0" * 40, "license": "test",
                    "files": [{"path": path.removeprefix("/repo/"), "url": server.url + path,
                               "sha256": hashlib.sha256(data).hexdigest()} for path, data in files.items()]}
        (tmp_path / "manifests").mkdir()
        (tmp_path / "manifests" / "oneig.json").write_text(json.dumps(manifest))
        monkeypatch.setattr("genlens.data.fetch.MANIFEST_DIR", tmp_path / "manifests")
        r = cli("data", "fetch", "oneig")
        assert r.exit_code == 0, r.output
    suite = OneIGSuite()
    assert suite.oneig_dir == tmp_path / "data" / "oneig" and len(suite.items()) == 6


SHARED = Path(os.environ.get("GENLENS_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared") / "benchmarks" / "oneig"
needs_shared = pytest.mark.skipif(not (SHARED / "OneIG-Bench.csv").is_file(), reason="no shared copy of the OneIG data")


@needs_shared
def test_shipped_sha256_match_the_shared_byte_copies():
    for entry in load_manifest("oneig").files:
        assert hashlib.sha256((SHARED / entry.path).read_bytes()).hexdigest() == entry.sha256, entry.path


@needs_shared
def test_the_real_data_gives_the_published_prompt_counts():
    # README: 245 anime, 244 portrait, 206 object, 200 text, 225 reasoning (EN and ZH) + 200 multilingualism (ZH)
    en = OneIGSuite(data_dir=SHARED).items()
    zh = OneIGSuite(data_dir=SHARED, suite_args={"lang": "zh"}).items()
    assert len(en) == 1120 and len(zh) == 1320
    count = Counter(d for item in en for d in item.meta["dimensions"])
    assert count == {"diversity": 1120, "alignment": 245 + 244 + 206, "text": 200, "reasoning": 225, "style": 114}
    assert Counter(d for item in zh for d in item.meta["dimensions"])["alignment"] == 245 + 244 + 206 + 200
    assert len({item.meta["style"] for item in en if "style" in item.meta}) == 29  # upstream's style_list
