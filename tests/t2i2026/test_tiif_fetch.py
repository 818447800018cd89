"""`genlens data fetch tiif`: the shipped manifest's shape, and a fetch from a local 'upstream' feeding a run."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from genlens.data.fetch import load_manifest
from genlens.suites.tiif import COMMIT, DIMENSIONS, TiifSuite
from genlens.testing.http import FakeServer, Response
from tests.t2i2026.tiif_fixture import write_tiif_data

# A script in the shape of upstream's eval_with_vlm.py, with text written for this test.
SCRIPT = '''
raw_prompt = """
First wording.
##YNQuestions##
"""
raw_prompt_1 = """
Second wording.
##YNQuestions##
"""
raw_prompt_2 = """
Third wording.
##YNQuestions##
"""

def generate_with_prompt(prompt, image_path, client, model="x"):
    messages = [
        {"role": "system", "content": "You grade pictures."},
        {"role": "user", "content": [{"type": "text", "text": prompt}]},
    ]
    return messages
'''


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_shipped_manifest_pins_every_dimension_of_both_subsets_at_the_commit():
    manifest = load_manifest("tiif")
    assert manifest.commit == COMMIT and "no LICENSE" in manifest.license
    paths = {f.path for f in manifest.files}
    for subset in ("testmini", "test"):
        for dim in DIMENSIONS:
            assert f"{subset}_prompts/{dim}_prompts.jsonl" in paths
            assert f"{subset}_eval_prompts/{dim}_eval_prompts.jsonl" in paths
    assert len(paths) == 4 * 39
    for entry in manifest.files:
        assert entry.url == f"https://raw.githubusercontent.com/A113N-W3I/TIIF-Bench/{COMMIT}/data/{entry.path}"
        assert len(entry.sha256) == 64
    constants, system = manifest.extracts
    assert constants.kind == "python-constants" and constants.function.split(",") == ["raw_prompt", "raw_prompt_1", "raw_prompt_2"]
    assert [o.path for o in constants.outputs] == [f"judge_prompts/tiif_question_{i}.txt" for i in range(3)]
    assert system.kind == "python-message-texts" and system.function == "generate_with_prompt"
    assert all(e.url.endswith(f"{COMMIT}/eval/eval_with_vlm.py") for e in manifest.extracts)


@pytest.fixture
def upstream(tmp_path, monkeypatch):
    src = write_tiif_data(tmp_path / "src", dims=("numeracy", "text"))
    files = {f"/repo/data/{p.relative_to(src).as_posix()}": p.read_bytes() for p in src.rglob("*.jsonl")}
    files["/repo/eval/eval_with_vlm.py"] = SCRIPT.encode()
    wordings = ["\nFirst wording.\n##YNQuestions##\n", "\nSecond wording.\n##YNQuestions##\n", "\nThird wording.\n##YNQuestions##\n"]
    with FakeServer() as server:
        server.route("GET", r"/repo/.+", lambda request: Response(200, files[request.path]) if request.path in files
                     else Response(404, b"not found"))
        shipped = load_manifest("tiif")
        manifest = {
            "name": "tiif", "suites": ["tiif"], "dir": "tiif", "source": "local", "commit": COMMIT, "license": shipped.license,
            "files": [{"path": path.removeprefix("/repo/data/"), "url": server.url + path, "sha256": sha(data)}
                      for path, data in files.items() if path.endswith(".jsonl")],
            "extracts": [
                {"url": server.url + "/repo/eval/eval_with_vlm.py", "kind": "python-constants",
                 "function": "raw_prompt,raw_prompt_1,raw_prompt_2",
                 "outputs": [{"path": f"judge_prompts/tiif_question_{i}.txt", "sha256": sha(w.encode())} for i, w in enumerate(wordings)]},
                {"url": server.url + "/repo/eval/eval_with_vlm.py", "kind": "python-message-texts", "function": "generate_with_prompt",
                 "outputs": [{"path": "judge_prompts/tiif_system.txt", "sha256": sha(b"You grade pictures.")}]},
            ],
        }
        folder = tmp_path / "manifests"
        folder.mkdir()
        (folder / "tiif.json").write_text(json.dumps(manifest))
        monkeypatch.setattr("genlens.data.fetch.MANIFEST_DIR", folder)
        monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "root"))
        yield server, files, tmp_path


def test_fetch_then_the_suite_reads_the_data_and_the_official_wording(cli, upstream):
    _server, _files, tmp = upstream
    result = cli("data", "fetch", "tiif", "--json")
    assert result.exit_code == 0, result.output
    statuses = {f["path"]: f["status"] for f in json.loads(result.stdout)["files"]}
    assert statuses["testmini_eval_prompts/text_eval_prompts.jsonl"] == "downloaded"
    assert statuses["judge_prompts/tiif_question_2.txt"] == "extracted"
    suite = TiifSuite(suite_args={"prompt": "official"})  # default location: $GENLENS_DATA_DIR/tiif
    assert suite.root == tmp / "root" / "tiif"
    assert [i.id for i in suite.items()] == ["short/numeracy/0", "short/text/0", "long/numeracy/0", "long/text/0"]
    assert suite.items()[1].meta["words"] == ["hello", "world"]
    template = suite.template(None)
    assert template.system == "You grade pictures." and json.loads(template.user)[1] == "\nSecond wording.\n##YNQuestions##\n"


def test_a_changed_upstream_wording_is_refused(cli, upstream):
    _server, files, tmp = upstream
    files["/repo/eval/eval_with_vlm.py"] = SCRIPT.replace("Third wording.", "Third wording!").encode()
    result = cli("data", "fetch", "tiif", "--data-dir", tmp / "fetched")
    assert result.exit_code == 2 and "sha256 mismatch for judge_prompts/tiif_question_2.txt" in result.stderr


SHARED = Path(os.environ.get("GENLENS_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")


@pytest.mark.skipif(not (SHARED / "benchmarks" / "tiif").is_dir(), reason="shared TIIF-Bench copy not present")
def test_shipped_sha256_match_the_shared_copy_and_the_real_data_loads():
    root = SHARED / "benchmarks" / "tiif"
    for entry in load_manifest("tiif").files:
        assert sha((root / entry.path).read_bytes()) == entry.sha256, entry.path
    mini, full = TiifSuite(data_dir=root), TiifSuite(data_dir=root, suite_args={"subset": "test", "length": "short"})
    assert len(mini.items()) == 2 * 277 and len(full.items()) == 2538
    assert {i.category for i in mini.items()} == set(DIMENSIONS)
    text = [i for i in full.items() if i.category == "text"]
    assert len(text) == 300 and all(len(i.meta["words"]) == len(i.meta["questions"]) for i in text)


def test_testmini_items_carry_their_full_test_line_and_the_layout_follows_numbering(tmp_path):
    import json as _json

    root = write_tiif_data(tmp_path / "d", dims=("numeracy",))
    mini_prompt = (root / "testmini_prompts" / "numeracy_prompts.jsonl").read_text()
    mini_eval = (root / "testmini_eval_prompts" / "numeracy_eval_prompts.jsonl").read_text()
    other = _json.dumps({"type": "numeracy", "short_description": "other", "long_description": "other, long"}) + "\n"
    other_eval = _json.dumps({"type": "numeracy", "yn_question_list": ["q?"], "yn_answer_list": ["yes"]}) + "\n"
    (root / "test_prompts").mkdir()
    (root / "test_eval_prompts").mkdir()
    # the testmini record is line 2 of the full files (upstream's released testmini outputs are named 2.png)
    (root / "test_prompts" / "numeracy_prompts.jsonl").write_text(other + other + mini_prompt)
    (root / "test_eval_prompts" / "numeracy_eval_prompts.jsonl").write_text(other_eval + other_eval + mini_eval)
    suite = TiifSuite(data_dir=root, suite_args={"length": "short"})
    (item,) = suite.items()
    assert item.id == "short/numeracy/2" and (item.meta["index"], item.meta["position"]) == (2, 0)
    assert suite.folder_candidates(item, 0) == ["numeracy/short_description/2"]
    by_position = TiifSuite(data_dir=root, suite_args={"length": "short", "numbering": "subset"})
    assert by_position.folder_candidates(by_position.items()[0], 0) == ["numeracy/short_description/0"]
    assert [i.id for i in TiifSuite(data_dir=root, suite_args={"subset": "test", "length": "short"}).items()] == [
        "short/numeracy/0", "short/numeracy/1", "short/numeracy/2"]
