"""ImgEdit-Bench (basic + UGE): upstream's answer reader and arithmetic by hand, and end to end on a fake judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from genlens.suites.imgedit import CRITERIA, EDIT_TYPES, item_score, official_values, strict_values
from genlens.testing.fake_chat import FakeChat
from genlens.testing.http import FakeServer
from tests.editing.conftest import sample_photo

JUDGE = "openai:gpt-4o-2024-11-20"


# -- the readers, by hand ------------------------------------------------------------------------
def test_official_reader_takes_every_label_digits_line():
    answer = "Brief reasoning: fine, 3 objects\nPrompt Compliance: 4\nVisual Naturalness: 3\nPhysical & Detail Integrity: 5"
    assert official_values(answer) == {"values": [4, 3, 5]}
    assert official_values("**Prompt Compliance**: 4\nScore: 10") == {"values": [4, 10]}  # no range check, any label
    assert official_values("Prompt Compliance: 4/5\nVisual: 3.5\nA: b: 3\nCompliance:4") is None  # none qualifies
    assert official_values("  Score: 2  ") == {"values": [2]}  # the line is stripped first
    assert official_values("") is None


def test_item_score_is_the_mean_rounded_to_two_decimals():
    assert item_score([4, 3, 5]) == 4.0
    assert item_score([4, 4, 5]) == 4.33
    assert item_score([5, 4, 4, 4]) == 4.25
    assert item_score([1, 2]) == 1.5


def test_strict_reader_wants_each_criterion_once_and_in_range():
    labels = CRITERIA["add"]
    good = "Brief reasoning: ok\nPrompt Compliance: 5\nVisual Naturalness: 4\nPhysical & Detail Coherence: 3"
    assert strict_values(good, labels) == {"values": [5, 4, 3]}
    assert strict_values(good.replace(": 3", ": 6"), labels) is None  # 6 is off the 1-5 scale
    assert strict_values("Prompt Compliance: 5\nVisual Naturalness: 4", labels) is None  # a criterion missing


# -- end to end ------------------------------------------------------------------------------------
def build_data(root: Path) -> Path:
    """Instruction files in upstream's shape (one edit per type, two UGE edits) and their source images."""
    basic, uge = {}, {}
    for index, edit_type in enumerate(EDIT_TYPES):
        rel = f"img/{index:03d}.jpg"
        (root / "img").mkdir(parents=True, exist_ok=True)
        sample_photo(index, (48, 32)).save(root / rel, quality=95)
        basic[str(100 + index)] = {"id": rel, "prompt": f"please do the {edit_type} edit", "edit_type": edit_type}
    for index in range(2):
        rel = f"{900 + index}.jpg"
        sample_photo(index, (40, 40)).save(root / rel, quality=95)
        uge[str(900 + index)] = {"id": rel, "prompt": f"hard edit number {index}"}
    (root / "basic_edit.json").write_text(json.dumps(basic))
    (root / "UGE_edit.json").write_text(json.dumps(uge))
    (root / "prompts.json").write_text(json.dumps({t: f"Official {t} rubric. Instruction: <edit_prompt>." for t in EDIT_TYPES}))
    return root


def judge(text: str) -> str:
    """Scripted answers: (5, 4, 3) for most types; extract (2, 2, 5); style has a 6 (off-scale)."""
    for edit_type in EDIT_TYPES:
        if f"{edit_type} edit" in text:
            labels = CRITERIA[edit_type]
            values = {"extract": (2, 2, 5), "style": (4, 6, 5)}.get(edit_type, (5, 4, 3))
            return "Brief reasoning: as asked\n" + "\n".join(f"{label}: {v}" for label, v in zip(labels, values, strict=True))
    if "hard edit number 0" in text:
        return "Brief reasoning: good\nScore: 4"
    return "Brief reasoning: poor\nScore: 2"


@pytest.fixture
def setup(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    data = build_data(tmp_path / "data")
    edits = tmp_path / "edits"
    edits.mkdir()
    for key, rec in {**json.loads((data / "basic_edit.json").read_text()), **json.loads((data / "UGE_edit.json").read_text())}.items():
        image = Image.open(data / rec["id"])
        if key == "100":  # the add edit comes back at another size: judged as it is, and counted
            image = image.resize((64, 64))
        image.save(edits / f"{key}.png")
    with FakeServer() as server:
        chat = FakeChat(server, answer=judge)
        yield data, edits, server, chat


def run(cli, suite: str, setup, out: Path, *extra: str) -> dict:
    data, edits, server, _chat = setup
    result = cli("run", suite, "--model", f"folder:{edits}", "--data-dir", data, "--out", out, "--judge", JUDGE,
                 "--scorer-arg", f"base_url={server.url}/v1", "--quiet", *extra)
    assert result.exit_code in (0, 1), result.stderr
    return json.loads((out / "results.json").read_text())


def test_basic_strict_reader_leaves_the_off_scale_answer_unread_and_the_headline_partial(cli, setup, tmp_path):
    res = run(cli, "imgedit", setup, tmp_path / "strict")
    # 8 items read: 7 at (5+4+3)/3 = 4.0 and extract at (2+2+5)/3 = 3.0 -> 31/8; style unread
    assert res["headline"]["overall"] is None
    assert res["metrics"]["overall_partial"] == pytest.approx(31 / 8)
    assert res["categories"]["extract"]["score"] == 3.0 and res["categories"]["style"]["score"] is None
    assert res["counts"]["unparsed"] == 1 and res["counts"]["parse_disagreements"] == 1
    assert res["counts"]["size_changed"] == 1
    assert res["extra"]["coverage"]["prompts"] == [8, 9]


def test_basic_official_reader_reads_as_upstream(cli, setup, tmp_path):
    res = run(cli, "imgedit", setup, tmp_path / "official", "--scorer-arg", "parse=official")
    # style is read as upstream reads it: (4+6+5)/3 = 5.0; overall over 9 items = (7*4 + 3 + 5)/9 = 4.0
    assert res["categories"]["style"]["score"] == 5.0
    assert res["headline"]["overall"] == pytest.approx(4.0)
    assert res["metrics"]["overall_type_mean"] == pytest.approx(4.0)
    assert res["counts"]["parse_disagreements"] == 1
    assert "upstream's reader" in res["provenance"]["parser"]


def test_official_rubrics_are_sent_per_type(cli, setup, tmp_path):
    chat = setup[3]
    seen: list[str] = []

    def recording(text: str) -> str:
        seen.append(text)
        return judge(text)

    chat.answer = recording
    res = run(cli, "imgedit", setup, tmp_path / "rubrics", "--suite-arg", "prompt=official")
    assert any(t.startswith("Official add rubric. Instruction: please do the add edit.") for t in seen)
    assert res["provenance"]["scorers"]["imgedit_judge"]["template_name"].startswith("official:PKU-YuanGroup/ImgEdit@547185d")


def test_uge_score_is_the_mean_over_items(cli, setup, tmp_path):
    res = run(cli, "imgedit-uge", setup, tmp_path / "uge")
    assert res["headline"]["score"] == pytest.approx(3.0)  # (4 + 2) / 2
    bad = cli("run", "imgedit-uge", "--model", "synthetic:gradient", "--data-dir", setup[0], "--out", tmp_path / "x",
              "--suite-arg", "prompt=official")
    assert bad.exit_code == 2 and "--judge-prompt" in bad.stderr


def test_an_image_path_leaving_the_data_dir_is_refused(tmp_path, cli):
    data = tmp_path / "data"
    data.mkdir()
    (data / "basic_edit.json").write_text(json.dumps({"1": {"id": "../../etc/passwd", "prompt": "x", "edit_type": "add"}}))
    result = cli("run", "imgedit", "--model", "synthetic:gradient", "--data-dir", data, "--out", tmp_path / "r")
    assert result.exit_code == 2 and "leaves the data directory" in result.stderr


def test_missing_data_says_how_to_get_it(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "empty"))
    result = cli("run", "imgedit", "--model", "synthetic:gradient", "--out", tmp_path / "r")
    assert result.exit_code == 2 and "genlens data fetch imgedit" in result.stderr


def test_the_pinned_manifest_matches_the_upstream_files_in_shared():
    """The sha256 genlens pins are those of the files at the pinned commit (kept in ../shared as fetched)."""
    import hashlib
    import os

    from genlens.data.fetch import load_manifest

    shared = Path(os.environ.get("GENLENS_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared") / "benchmarks" / "imgedit"
    if not shared.is_dir():
        pytest.skip("../shared/benchmarks/imgedit is not beside this checkout")
    names = {"basic_edit.json": "basic_edit.json", "UGE_edit.json": "UGE_edit.json", "prompts.json": "judge_prompts_basic.json"}
    manifest = load_manifest("imgedit")
    assert {f.path for f in manifest.files} == set(names)
    for entry in manifest.files:
        assert hashlib.sha256((shared / names[entry.path]).read_bytes()).hexdigest() == entry.sha256
        assert manifest.commit in entry.url


def test_fetch_writes_verified_files_from_the_manifest(tmp_path, monkeypatch):
    """`genlens data fetch imgedit` through a local 'upstream' serving the pinned bytes; a corrupted copy is refused."""
    import hashlib

    from genlens.data import fetch as fetch_module
    from genlens.testing.http import Response

    data = build_data(tmp_path / "src")
    files = {name: (data / name).read_bytes() for name in ("basic_edit.json", "UGE_edit.json", "prompts.json")}
    with FakeServer() as server:
        server.route("GET", r"/repo/.+", lambda request: Response(200, files[request.path.removeprefix("/repo/")]))
        manifest = fetch_module.Manifest(
            name="imgedit", suites=("imgedit", "imgedit-uge"), dir="imgedit", source="local", commit="0" * 40, license="test",
            files=[fetch_module.ManifestFile(n, f"{server.url}/repo/{n}", hashlib.sha256(b).hexdigest()) for n, b in files.items()],
        )
        fetch_module.fetch(manifest, tmp_path / "dest")
        assert (tmp_path / "dest" / "basic_edit.json").read_bytes() == files["basic_edit.json"]
        files["prompts.json"] = b"{}"  # upstream changed: the pinned hash no longer matches
        with pytest.raises(Exception, match="sha256"):
            fetch_module.fetch(manifest, tmp_path / "dest2")


@pytest.mark.parametrize("suite", ["imgedit", "rise"])
def test_a_tiny_instruct_pix2pix_pipeline_judged_end_to_end(suite, cli, setup, tmp_path):
    """Both new editing suites run offline with a real (tiny) diffusers edit pipeline and the fake judge."""
    from genlens.testing.tiny_diffusers import build_instruct_pix2pix
    from tests.editing.test_rise import RECORDS
    from tests.editing.test_rise import judge as rise_judge

    data, _edits, server, chat = setup
    if suite == "rise":
        data = tmp_path / "rise-data"
        for index, rec in enumerate(RECORDS):
            for key in ("image", "reference_img"):
                if key in rec:
                    (data / rec[key]).parent.mkdir(parents=True, exist_ok=True)
                    sample_photo(index, (40, 32)).save(data / rec[key])
        (data / "data_total.json").write_text(json.dumps(RECORDS))
        chat.answer = rise_judge
    pipeline = build_instruct_pix2pix(tmp_path / "pix2pix")
    out = tmp_path / "run"
    args = ("run", suite, "--model", f"diffusers:{pipeline}", "--model-arg", "steps=2", "--model-arg", "size=32x32",
            "--data-dir", data, "--limit", "3", "--out", out, "--judge", JUDGE, "--scorer-arg", f"base_url={server.url}/v1",
            "--quiet")
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    res = json.loads((out / "results.json").read_text())
    assert res["counts"]["generations_ok"] == 3
    assert res["extra"]["coverage"]["prompts"][0] == 3
    headline = next(iter(res["headline"]))
    assert res["headline"][headline] is None  # 3 of the items: partial, never the benchmark's number
    assert res["metrics"][f"{headline}_partial"] is not None
    assert cli(*args).exit_code == 0  # resume: nothing redone


def test_judged_edit_run_killed_mid_generation_resumes_every_item_once(setup, tmp_path):
    """SIGKILL during generation of a judged imgedit run; the rerun generates the rest and judges each item once."""
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    from tests.conftest import count_generations, subprocess_env

    data, _edits, server, chat = setup
    asked: list[str] = []

    def counting(text: str) -> str:
        asked.append(text)
        return judge(text)

    chat.answer = counting
    run_dir = tmp_path / "killed"
    command = [sys.executable, "-m", "genlens", "run", "imgedit", "--model", "synthetic:gradient", "--model-arg", "delay=0.2",
               "--concurrency", "1", "--data-dir", str(data), "--out", str(run_dir), "--judge", JUDGE,
               "--scorer-arg", f"base_url={server.url}/v1", "--quiet"]
    env = {**subprocess_env(), "OPENAI_API_KEY": "sk-test-not-a-real-key"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while count_generations(run_dir, "ok") < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 2 <= count_generations(run_dir, "ok") < 9
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode in (0, 1), finished.stderr
    with sqlite3.connect(run_dir / "genlens.sqlite") as conn:
        items = [row[0] for row in conn.execute("SELECT item_id FROM generations WHERE status = 'ok'")]
        judged = [row[0] for row in conn.execute("SELECT generation FROM scores WHERE scorer = 'imgedit_judge'")]
    assert len(items) == len(set(items)) == 9
    assert len(judged) == len(set(judged)) == 9  # each item judged exactly once
    # asked once each, except the style answer genlens's strict reader cannot read: asked again up to 3 times in all
    assert len(asked) == 8 + 3
