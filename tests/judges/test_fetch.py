"""`genlens data fetch`: download from a pinned source with sha256 checks (a local HTTP server here)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from genlens.data.fetch import MANIFEST_DIR, load_manifest, message_texts
from genlens.testing.http import FakeServer, Response
from tests.judges.wise_fixture import write_wise_data

SHARED = Path(os.environ.get("GENLENS_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")

# A script in the shape of an upstream evaluation script, with text written for this test.
SCRIPT = '''
SYSTEM = "You are a careful grader."

def build_evaluation_messages(prompt_data, image_base64):
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM}]},
        {"role": "user", "content": [
            {"type": "text", "text": f"""Grade it.
PROMPT: "{prompt_data['Prompt']}"
EXPLANATION: "{prompt_data['Explanation']}"
Answer with Score: 0 or 1."""},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image_base64}"}},
        ]},
    ]
'''
SYSTEM_TEXT = "You are a careful grader."
USER_TEXT = 'Grade it.\nPROMPT: "{Prompt}"\nEXPLANATION: "{Explanation}"\nAnswer with Score: 0 or 1.'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def upstream(tmp_path, monkeypatch):
    """A local 'upstream' serving fixture files, and a manifest pinning their sha256."""
    files = {f"/repo/{p.relative_to(tmp_path / 'src').as_posix()}": p.read_bytes()
             for p in write_wise_data(tmp_path / "src").rglob("*.json")}
    files["/repo/eval.py"] = SCRIPT.encode()
    with FakeServer() as server:
        server.route("GET", r"/repo/.+", lambda request: Response(200, files[request.path]) if request.path in files
                     else Response(404, b"not found"))
        manifest = {
            "name": "wise", "suites": ["wise"], "dir": "wise", "source": "local", "commit": "0" * 40, "license": "test",
            "files": [{"path": path.removeprefix("/repo/"), "url": server.url + path, "sha256": sha(data)}
                      for path, data in files.items() if path.endswith(".json")],
            "extracts": [{"url": server.url + "/repo/eval.py", "function": "build_evaluation_messages", "outputs": [
                {"path": "judge_prompts/wise_legacy_system.txt", "sha256": sha(SYSTEM_TEXT.encode())},
                {"path": "judge_prompts/wise_legacy_user_template.txt", "sha256": sha(USER_TEXT.encode())}]}],
        }
        manifests = tmp_path / "manifests"
        manifests.mkdir()
        (manifests / "wise.json").write_text(json.dumps(manifest))
        monkeypatch.setattr("genlens.data.fetch.MANIFEST_DIR", manifests)
        yield server, files, tmp_path


def test_fetch_verifies_writes_and_skips_what_is_present(cli, upstream):
    server, files, tmp = upstream
    dest = tmp / "fetched"
    result = cli("data", "fetch", "wise", "--data-dir", dest, "--json")
    assert result.exit_code == 0, result.output
    statuses = {f["path"]: f["status"] for f in json.loads(result.stdout)["files"]}
    assert statuses["legacy/natural_science.json"] == "downloaded"
    assert statuses["judge_prompts/wise_legacy_user_template.txt"] == "extracted"
    assert (dest / "legacy" / "natural_science.json").read_bytes() == files["/repo/legacy/natural_science.json"]
    assert (dest / "judge_prompts" / "wise_legacy_user_template.txt").read_text() == USER_TEXT
    requests = len(server.log)
    again = cli("data", "fetch", "wise", "--data-dir", dest, "--json")
    assert {f["status"] for f in json.loads(again.stdout)["files"]} == {"present"}
    assert len(server.log) == requests


def test_default_destination_is_the_data_dir_env(cli, upstream, monkeypatch):
    _server, _files, tmp = upstream
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp / "root"))
    assert cli("data", "fetch", "wise", "--json").exit_code == 0
    assert (tmp / "root" / "wise" / "legacy" / "cultural_common_sense.json").is_file()


def test_corrupted_copy_is_rejected_with_one_line_and_not_written(cli, upstream):
    _server, files, tmp = upstream
    files["/repo/legacy/natural_science.json"] = files["/repo/legacy/natural_science.json"].replace(b"fixture", b"fixturE", 1)
    dest = tmp / "fetched"
    result = cli("data", "fetch", "wise", "--data-dir", dest)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "sha256 mismatch" in lines[0] and "natural_science.json" in lines[0]
    assert not (dest / "legacy" / "natural_science.json").exists()


def test_changed_judge_prompt_is_rejected(cli, upstream):
    _server, files, tmp = upstream
    files["/repo/eval.py"] = SCRIPT.replace("Grade it.", "Grade it!").encode()
    result = cli("data", "fetch", "wise", "--data-dir", tmp / "fetched")
    assert result.exit_code == 2 and "sha256 mismatch for judge_prompts/wise_legacy_user_template.txt" in result.stderr


def test_unreachable_source_is_one_line(cli, upstream):
    server, _files, tmp = upstream
    server.stop()
    result = cli("data", "fetch", "wise", "--data-dir", tmp / "fetched")
    assert result.exit_code == 2 and "cannot download" in result.stderr


def test_unknown_suite_is_a_spec_error(cli):
    result = cli("data", "fetch", "nope")
    assert result.exit_code == 2 and "has no data to fetch" in result.stderr


def test_shipped_manifest_is_pinned_to_the_upstream_commit():
    manifest = load_manifest("wise")
    assert manifest.commit == "eb51174483a5de2e34e8614cf9dfb3319ee7fcd0" and load_manifest("wise-verified") is not None
    for entry in manifest.files + [o for e in manifest.extracts for o in e.outputs]:
        assert entry.url.startswith(f"https://raw.githubusercontent.com/PKU-YuanGroup/WISE/{manifest.commit}/")
    assert MANIFEST_DIR.is_dir()


@pytest.mark.skipif(not (SHARED / "benchmarks" / "wise").is_dir(), reason="shared benchmark copies not present")
def test_shipped_sha256_match_the_shared_byte_copies():
    manifest = load_manifest("wise")
    for entry in manifest.files:
        assert sha((SHARED / "benchmarks" / "wise" / entry.path).read_bytes()) == entry.sha256, entry.path
    prompts = SHARED / "benchmarks" / "judge_prompts"
    for output in [o for e in manifest.extracts for o in e.outputs]:
        assert sha((prompts / Path(output.path).name).read_bytes()) == output.sha256, output.path


@pytest.mark.skipif(not (SHARED / "benchmarks" / "judge_prompts").is_dir(), reason="shared judge prompts not present")
def test_extraction_round_trips_the_official_legacy_wording():
    """Rebuild a script in the upstream shape around the official text: extraction must give it back byte for byte."""
    prompts = SHARED / "benchmarks" / "judge_prompts"
    system = (prompts / "wise_legacy_system.txt").read_text()
    user = (prompts / "wise_legacy_user_template.txt").read_text()
    body = (user.replace("{", "{{").replace("}", "}}").replace("{{Prompt}}", "{prompt_data['Prompt']}")
            .replace("{{Explanation}}", "{prompt_data['Explanation']}"))
    script = (f"def build_evaluation_messages(prompt_data, image_base64):\n    return [\n"
              f"        {{'role': 'system', 'content': [{{'type': 'text', 'text': {system!r}}}]}},\n"
              f"        {{'role': 'user', 'content': [{{'type': 'text', 'text': f\"\"\"{body}\"\"\"}}]}}]\n")
    manifest = load_manifest("wise")
    texts = message_texts(script.encode(), "build_evaluation_messages")
    assert [sha(t.encode()) for t in texts] == [o.sha256 for o in manifest.extracts[0].outputs]


def test_extraction_never_executes_the_script(tmp_path):
    marker = tmp_path / "ran"
    script = f"open({str(marker)!r}, 'w').write('x')\n" + SCRIPT
    assert message_texts(script.encode(), "build_evaluation_messages") == [SYSTEM_TEXT, USER_TEXT]
    assert not marker.exists()
