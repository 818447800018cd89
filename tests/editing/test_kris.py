"""KRIS-Bench: upstream's readers, the question per task, aggregation by hand, and end to end on a fake judge."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from genlens.suites.kris import (
    FOLDERS,
    KNOWLEDGE,
    OFFICIAL_NAMES,
    OFFICIAL_OF,
    TEMPORAL,
    official_dual,
    official_score,
    percent,
    predicted_frame,
    questions,
    read_answer,
    strict_score,
)
from genlens.testing.fake_chat import FakeChat, count_images
from genlens.testing.http import FakeServer
from genlens.types import Item
from tests.editing.conftest import sample_photo

JUDGE = "openai:gpt-4o-2024-11-20"


# -- readers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("answer", "expected"), [
    ('Elements compared.\n{\n"reasoning": "same", "consistency_score": 4\n}', 4),  # the JSON block the rubric asks for
    ('{"consistency_score": "3", "reasoning": "x"}', 3),  # a string value: int() of it
    ('{"consistency_score": 7}', 7),  # any integer is kept (upstream does not clamp)
    ("Consistency Score: 2", 2),  # the key-words prefix, colon optional
    ("consistency score 5", 5),
    ("I would give it 4/5.", 4),
    ("That is 3 out of 5 overall", 3),
    ("Mostly fine, 2 things changed", 2),  # the first lone digit 1-5
    ('{"consistency_score": X} then 5/5', 5),  # broken JSON: the regex fallbacks
    ("no number at all", None),
])
def test_official_single_reader_as_upstream(answer, expected):
    assert official_score(answer, "consistency_score") == expected


def test_official_dual_reader_as_upstream():
    assert official_dual('{"instruction_score": 4, "knowledge_score": 2}') == {"instruction": 4, "knowledge": 2}
    assert official_dual('{"instruction_score": 4}') == {"instruction": 4, "knowledge": None}
    assert official_dual("Instruction score: 3\nKnowledge_score：5") == {"instruction": 3, "knowledge": 5}  # full-width colon
    assert official_dual("instruction score 3") == {"instruction": None, "knowledge": None}  # the dual regex needs a colon


def test_strict_reader_wants_the_key_once_with_a_whole_number_1_to_5():
    assert strict_score('{"reasoning": "ok", "quality_score": 4}', "quality_score") == 4
    assert strict_score("quality_score: 5", "quality_score") == 5
    assert strict_score('{"quality_score": 6}', "quality_score") is None
    assert strict_score('{"quality_score": 4.5}', "quality_score") is None
    assert strict_score("quality_score: 4\nquality_score: 5", "quality_score") is None
    assert strict_score("4/5", "quality_score") is None
    assert read_answer('{"instruction_score": 2, "knowledge_score": 1}', "instruction", official=False) == {
        "instruction": 2, "knowledge": 1}
    assert read_answer('{"instruction_score": 2, "knowledge_score": "high"}', "instruction", official=False) is None
    assert read_answer("4 out of 5", "quality", official=True) == {"quality": 4}
    assert read_answer("4 out of 5", "quality", official=False) is None


def test_temporal_frame_to_predict_and_the_question_per_task():
    assert predicted_frame(["1-2.jpg", "1-3.jpg", "1-4.jpg"]) == 1
    assert predicted_frame(["9-1.png", "9-2.png", "9-4.png"]) == 3
    assert predicted_frame(["x.jpg"]) == 1
    anomaly = Item(id="a", prompt="fix it", category="anomaly_correction", kind="edit", input_images=("a.png",))
    assert questions(anomaly, official=False)["instruction"] == "anomaly"
    assert questions(anomaly, official=True)["instruction"] == "instruction"  # upstream's abnormality_correction check
    physics = Item(id="p", prompt="p", category="physics", kind="edit", input_images=("a.png",))
    assert questions(physics, official=True) == {"consistency": "consistency", "instruction": "dual", "quality": "quality"}
    assert set(OFFICIAL_OF.values()) == set(OFFICIAL_NAMES)


def test_percent_scale():
    assert [percent(s) for s in (1, 2, 3, 4, 5)] == [0, 25, 50, 75, 100]
    assert percent(None) is None


# -- end to end ------------------------------------------------------------------------------------
def build_kris(root: Path, with_prompts: bool = False) -> Path:
    """One item per task folder in upstream's layout (multi-element: two sources; temporal: three frames)."""
    for index, folder in enumerate(FOLDERS):
        directory = root / folder
        directory.mkdir(parents=True)
        rec: dict = {"ins_en": f"edit the {folder} picture", "explain_en": f"because of {folder}" if folder in KNOWLEDGE else ""}
        if folder == TEMPORAL:
            rec["ori_img"] = ["1-2.jpg", "1-3.jpg", "1-4.jpg"]
            rec["gt_img"] = "1-1.jpg"
        elif folder == "multi-element_composition":
            rec["ori_img"] = ["1-1.png", "1-2.png"]
        else:
            rec["ori_img"] = "1.png"
        if folder == "viewpoint_change":
            rec["gt_img"] = "1_gt.png"
        names = rec["ori_img"] if isinstance(rec["ori_img"], list) else [rec["ori_img"]]
        for k, name in enumerate([*names, *([rec["gt_img"]] if "gt_img" in rec else [])]):
            sample_photo(index + k, (40, 32)).save(directory / name)
        (directory / "annotation.json").write_text(json.dumps({"1": rec}))
    if with_prompts:
        (root / "judge_prompts").mkdir()
        for name in OFFICIAL_NAMES:
            extra = " Frame {N}." if "temporal" in name else ""
            explain = " Explanation: {explanation}" if name in ("prompt_dual_evaluation", "prompt_abnormal_instruction_following") else ""
            key = "quality_score" if name == "prompt_quality" else ("consistency_score" if "consist" in name else "instruction_score")
            key += '": X, "knowledge_score' if name == "prompt_dual_evaluation" else ""
            (root / "judge_prompts" / f"{name}.txt").write_text(
                f"OFFICIAL {name}. Instruction: {{instruct}}.{explain}{extra}\n{{{{\"{key}\": X}}}}\n", encoding="utf-8")
    return root


def kris_judge(text: str) -> str:
    """consistency 5, quality 4, instruction 3; knowledge tasks 5/5 on the dual question, physics 2/3 (rule broken)."""
    if "knowledge_score" in text:
        pair = (2, 3) if "physics" in text else (5, 5)
        return f'Reasoning first.\n{{"instruction_reasoning": "r", "instruction_score": {pair[0]}, "knowledge_reasoning": "k", "knowledge_score": {pair[1]}}}'
    if "consistency_score" in text:
        return 'Compared.\n{"reasoning": "same", "consistency_score": 5}'
    if "quality_score" in text:
        return "quality_score: 4"
    return '{"instruction_score": 3, "reasoning": "partly"}'


@pytest.fixture
def kris_setup(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    data = build_kris(tmp_path / "KRIS_Bench", with_prompts=True)
    edits = tmp_path / "edits"
    for index, folder in enumerate(FOLDERS):
        (edits / folder).mkdir(parents=True)
        size = (48, 48) if folder == "color_change" else (40, 32)  # one edit comes back at another size
        sample_photo(index + 5, size).save(edits / folder / "1.png")
    with FakeServer() as server:
        chat = FakeChat(server, answer=kris_judge)
        yield data, edits, server, chat


def kris_run(cli, setup, out: Path, *extra: str) -> dict:
    data, edits, server, _chat = setup
    result = cli("run", "kris", "--model", f"folder:{edits}", "--data-dir", data, "--out", out, "--judge", JUDGE,
                 "--scorer-arg", f"base_url={server.url}/v1", "--quiet", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads((out / "results.json").read_text())


def test_kris_aggregation_by_hand_end_to_end(cli, kris_setup, tmp_path: Path):
    res = kris_run(cli, kris_setup, tmp_path / "run")
    # 10 non-knowledge items: (5+4+3)/3 = 4; 9 knowledge items (5+4+5+5)/4 = 4.75; physics (5+4+2+3)/4 = 3.5
    assert res["headline"]["overall"] == pytest.approx(((40 + 9 * 4.75 + 3.5) / 20 - 1) * 25)  # 82.8125
    metrics = res["metrics"]
    assert metrics["factual"] == pytest.approx(75.0)  # 8 items at 4
    assert metrics["conceptual"] == pytest.approx(((7 * 4.75 + 3.5) / 8 - 1) * 25)  # 89.84375
    assert metrics["procedural"] == pytest.approx(((4.75 + 4.75 + 4 + 4) / 4 - 1) * 25)  # 84.375
    assert metrics["knowledge_mean"] == pytest.approx(((9 * 5 + 3) / 10 - 1) * 25)  # 95.0
    assert metrics["instruction_mean"] == pytest.approx(((10 * 3 + 9 * 5 + 2) / 20 - 1) * 25)  # 71.25
    assert metrics["consistency_mean"] == 100.0 and metrics["quality_mean"] == 75.0
    assert res["categories"]["physics"]["score"] == pytest.approx(62.5)
    assert res["categories"]["physics"]["knowledge"] == 50.0
    assert metrics["tasks"]["temporal_reverse"]["n"] == 1 and metrics["tasks"]["temporal_forward"]["n"] == 0
    assert metrics["dimensions"]["procedural/instruction_decomposition"]["score"] == 75.0
    counts = res["counts"]
    assert counts["knowledge_rule_broken"] == 1 and counts["size_changed"] == 1
    assert counts["parse_disagreements"] == 0  # JSON and 'key: n' answers read alike by both readers


def test_requests_carry_the_images_upstream_sends(cli, kris_setup, tmp_path: Path):
    _data, _edits, _server, chat = kris_setup
    kris_run(cli, kris_setup, tmp_path / "run")
    seen: dict[str, list[int]] = {}
    for body in chat.requests:
        text = "\n".join(p.get("text", "") for m in body["messages"] if isinstance(m.get("content"), list)
                         for p in m["content"] if p.get("type") == "text")
        folder = re.search(r"edit the (\S+) picture", text)
        seen.setdefault(folder.group(1) if folder else "quality", []).append(count_images(body["messages"]))
    assert sorted(seen["multi-element_composition"]) == [3, 3]  # two sources + the composite
    assert sorted(seen[TEMPORAL]) == [4, 4]  # three reference frames + the generated one
    assert sorted(seen["viewpoint_change"]) == [2, 3]  # the instruction question adds the ground-truth view
    assert set(seen["quality"]) == {1}  # the edited image alone (identical requests are answered from the cache)
    temporal = next(json.dumps(b) for b in chat.requests if "edit the temporal_prediction picture" in json.dumps(b))
    assert "Frame 1 (Generated): / Frame 2 (Reference):" in temporal


def test_official_texts_and_reader(cli, kris_setup, tmp_path: Path):
    _data, _edits, _server, chat = kris_setup
    res = kris_run(cli, kris_setup, tmp_path / "official", "--suite-arg", "prompt=official", "--scorer-arg", "parse=official")
    texts = [json.dumps(b) for b in chat.requests]
    anomaly = [t for t in texts if "edit the anomaly_correction picture" in t]
    assert anomaly and all("prompt_abnormal_instruction_following" not in t for t in anomaly)  # upstream's quirk kept
    assert any("OFFICIAL prompt_instruction_following" in t for t in anomaly)
    assert any("OFFICIAL prompt_consist_temporal" in t and "Frame 1." in t for t in texts)  # {N} filled
    assert any("Explanation: because of physics" in t for t in texts)
    assert res["headline"]["overall"] == pytest.approx(((40 + 9 * 4.75 + 3.5) / 20 - 1) * 25)
    assert res["provenance"]["prompt"] == "official"
    assert "official" in res["provenance"]["scorers"]["kris_quality"]["template_name"]


def test_official_reader_keeps_what_strict_refuses_and_counts_it(cli, kris_setup, tmp_path: Path):
    _data, _edits, _server, chat = kris_setup
    chat.answer = lambda text: ("Quality is good: 4 out of 5" if "quality_score" in text else kris_judge(text))
    strict = kris_run(cli, kris_setup, tmp_path / "strict")
    assert strict["headline"]["overall"] is not None  # quality unread, the item means are of the rest
    assert strict["metrics"]["quality_mean"] is None and strict["counts"]["unparsed"] == len(FOLDERS)
    assert strict["counts"]["parse_disagreements"] == len(FOLDERS)
    official = kris_run(cli, kris_setup, tmp_path / "off", "--scorer-arg", "parse=official")
    assert official["metrics"]["quality_mean"] == 75.0 and official["counts"]["parse_disagreements"] == len(FOLDERS)


def test_missing_folders_make_the_run_partial(cli, kris_setup, tmp_path: Path):
    data, _edits, _server, _chat = kris_setup
    import shutil

    shutil.rmtree(data / "physics")
    res = kris_run(cli, kris_setup, tmp_path / "part")
    assert res["headline"]["overall"] is None and res["metrics"]["overall_partial"] is not None


def test_missing_data_says_how_to_get_it(cli, tmp_path: Path):
    result = cli("run", "kris", "--model", "synthetic:gradient", "--data-dir", tmp_path, "--out", tmp_path / "r", "--quiet")
    assert result.exit_code == 2 and "KRIS_Bench" in result.stderr and "Traceback" not in result.stderr


def test_a_tiny_instruct_pix2pix_pipeline_judged_end_to_end(cli, kris_setup, tmp_path: Path):
    from genlens.testing.tiny_diffusers import build_instruct_pix2pix

    data, _edits, server, _chat = kris_setup
    pipeline = build_instruct_pix2pix(tmp_path / "pix2pix")
    out = tmp_path / "run"
    args = ("run", "kris", "--model", f"diffusers:{pipeline}", "--model-arg", "steps=2", "--model-arg", "size=32x32",
            "--data-dir", data, "--limit", "3", "--out", out, "--judge", JUDGE, "--scorer-arg", f"base_url={server.url}/v1",
            "--quiet")
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    res = json.loads((out / "results.json").read_text())
    assert res["counts"]["generations_ok"] == 3
    assert res["headline"]["overall"] is None and res["metrics"]["overall_partial"] is not None
    made = Image.open(next(p for p in (out / "images").rglob("*.png"))).size
    assert res["counts"]["size_changed"] == (3 if made != (40, 32) else 0)  # counted against the 40x32 sources
    assert cli(*args).exit_code == 0  # resume: nothing redone


def test_the_manifest_reads_every_official_text_from_the_pinned_commit():
    from genlens.data.fetch import load_manifest

    manifest = load_manifest("kris")
    (extract,) = manifest.extracts
    assert extract.kind == "python-constants" and manifest.commit in extract.url and extract.url.endswith("/utils/prompts.py")
    assert extract.function.split(",") == list(OFFICIAL_NAMES)
    assert [o.path for o in extract.outputs] == [f"judge_prompts/{n}.txt" for n in OFFICIAL_NAMES]
    assert all(len(o.sha256) == 64 for o in extract.outputs)


def test_fetched_texts_are_verified_then_used(tmp_path: Path, monkeypatch):
    """The constants are read out of a local 'upstream' prompts.py (never executed) and checked by sha256."""
    import hashlib

    from genlens.data import fetch as fetch_module
    from genlens.suites.kris import KrisSuite
    from genlens.testing.http import Response

    texts = {name: f"{name} says: rate {{instruct}} as {{{{\"score\": X}}}}" for name in OFFICIAL_NAMES}
    script = ("import os\nos.system('never run')\n" + "".join(f"{n} = {t!r}\n" for n, t in texts.items())).encode()
    with FakeServer() as server:
        server.route("GET", r"/utils/prompts.py", lambda _request: Response(200, script))
        outputs = tuple(fetch_module.ManifestFile(f"judge_prompts/{n}.txt", "", hashlib.sha256(t.encode()).hexdigest())
                        for n, t in texts.items())
        manifest = fetch_module.Manifest(name="kris", suites=("kris",), dir="kris", source="local", commit="0" * 40,
                                         license="test", extracts=[fetch_module.ManifestExtract(
                                             f"{server.url}/utils/prompts.py", ",".join(OFFICIAL_NAMES), outputs, "python-constants")])
        monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "cache"))
        fetch_module.fetch(manifest, tmp_path / "cache" / "kris")
        suite = KrisSuite(build_kris(tmp_path / "KRIS_Bench"), {"prompt": "official"})
        assert suite.texts()["dual"] == texts["prompt_dual_evaluation"]
        texts["prompt_quality"] = "changed upstream"
        script = ("".join(f"{n} = {t!r}\n" for n, t in texts.items())).encode()
        with pytest.raises(Exception, match="sha256"):
            fetch_module.fetch(manifest, tmp_path / "other")


def test_official_texts_missing_refuse_the_run_before_generation(cli, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    data = build_kris(tmp_path / "KRIS_Bench")
    result = cli("run", "kris", "--model", "synthetic:gradient", "--data-dir", data, "--out", tmp_path / "r",
                 "--judge", JUDGE, "--suite-arg", "prompt=official", "--quiet")
    assert result.exit_code == 2 and "genlens data fetch kris" in result.stderr
    assert not (tmp_path / "r" / "images").exists()


def test_a_kris_run_stands_beside_the_published_bagel_table(cli, kris_setup, tmp_path: Path):
    from genlens.report.anchors import anchor_column, anchor_for
    from genlens.report.summary import suite_summary

    res = kris_run(cli, kris_setup, tmp_path / "run")
    table = anchor_for(res)
    assert table is not None and table.key == "kris_bagel_published" and table.suites == ("kris",)
    assert table.columns == ("overall", "factual", "conceptual", "procedural")
    assert table.reference is not None and table.reference.values["overall"] == 80.09  # GPT-4o, Bagel README
    bagel = next(r for r in table.rows if r.model == "BAGEL")
    assert bagel.values == {"overall": 56.21, "factual": 60.26, "conceptual": 55.86, "procedural": 51.69}
    assert next(r for r in table.rows if r.model == "Step1X-Edit").values["factual"] is None  # not published
    assert anchor_column(table, "physics") is None  # task folders are not the table's knowledge-type columns
    summary = suite_summary("kris", [res])
    run = summary.run_rows[0]
    assert run.values["overall"] == pytest.approx(82.8125)
    assert run.deltas["overall"] == pytest.approx(82.8125 - 80.09)  # same 0-100 scale, no conversion
    assert next(r.label for r in summary.anchor_rows) == "GPT-4o"
    for kind in ("factual", "conceptual", "procedural"):  # per knowledge type from metrics, beside BAGEL's columns
        assert run.values[kind] == pytest.approx(res["metrics"][kind])
        assert run.deltas[kind] is None  # GPT-4o's row publishes no per-type numbers


def test_gpt_imgeval_study_takes_the_2026_editing_suites_as_optional_parts(cli, tmp_path: Path, monkeypatch):
    """`genlens run gpt-imgeval,kris,imgedit,imgedit-uge,rise`: the study's own parts, forensics and report, plus these."""
    from genlens.studies import load_study

    base = load_study("gpt-imgeval")
    study = load_study("gpt-imgeval,kris,imgedit,imgedit-uge,rise")
    assert [p.suite for p in study.parts] == [p.suite for p in base.parts] + ["kris", "imgedit", "imgedit-uge", "rise"]
    assert study.detect_runs == base.detect_runs and study.report == base.report
    assert [p.suite for p in load_study("gpt-imgeval,reason-edit").parts] == [p.suite for p in base.parts]  # no duplicate
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "no-data"))
    result = cli("run", "gpt-imgeval,kris,imgedit,rise", "--model", "synthetic:gradient", "--out", tmp_path / "s",
                 "--offline", "--limit", "1", "--quiet")
    assert result.exit_code == 0, result.stderr
    ran = json.loads((tmp_path / "s" / "study.json").read_text())
    assert {"kris", "imgedit", "rise"} <= set(ran["skipped"])  # no data here: one line each saying what it needs
    assert "KRIS_Bench" in ran["skipped"]["kris"]


def test_judged_run_killed_mid_judging_resumes_without_re_asking_any_cached_answer(kris_setup, tmp_path: Path):
    """SIGKILL sent by the judge itself on its 12th question (an event, not a timer); the rerun asks exactly the
    questions whose answers were not stored, and every item ends with one verdict per question."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys

    from genlens.judges.cache import CACHE_FILE, cache_dir
    from tests.conftest import subprocess_env

    data, _edits, server, chat = kris_setup
    holder: dict[str, subprocess.Popen] = {}

    def killing(text: str) -> str:
        proc = holder.pop("proc", None) if len(chat.requests) >= 12 else None
        if proc is not None:  # once, from the judge's side
            holder["killed"] = proc
            os.kill(proc.pid, signal.SIGKILL)
        return kris_judge(text)

    chat.answer = killing
    run_dir = tmp_path / "killed"
    command = [sys.executable, "-m", "genlens", "run", "kris", "--model", "synthetic:gradient", "--concurrency", "1",
               "--data-dir", str(data), "--out", str(run_dir), "--judge", JUDGE,
               "--scorer-arg", f"base_url={server.url}/v1", "--quiet"]
    env = subprocess_env()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    holder["proc"] = proc
    assert proc.wait(timeout=300) == -signal.SIGKILL, proc.stderr.read().decode()

    def cached() -> int:
        with sqlite3.connect(cache_dir() / CACHE_FILE) as conn:
            return conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    at_kill = cached()
    asked_before = len(chat.requests)
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    asked_again = len(chat.requests) - asked_before
    assert 1 <= at_kill < cached()  # the kill came after some answers were stored and before the last
    assert asked_again == cached() - at_kill  # each missing question asked once; nothing stored is asked again
    with sqlite3.connect(run_dir / "genlens.sqlite") as conn:
        verdicts = conn.execute("SELECT scorer, generation FROM scores WHERE scorer LIKE 'kris_%'").fetchall()
    assert len(verdicts) == len(set(verdicts)) == 3 * len(FOLDERS)
    res = json.loads((run_dir / "results.json").read_text())
    assert res["headline"]["overall"] is not None and res["counts"]["generations_ok"] == len(FOLDERS)


def test_a_refused_edit_scores_the_minimum_on_every_metric(cli, kris_setup, tmp_path: Path):
    data, _edits, server, _chat = kris_setup
    out = tmp_path / "refused"
    result = cli("run", "kris", "--model", "synthetic:gradient", "--model-arg", "refuse=physics", "--data-dir", data,
                 "--out", out, "--judge", JUDGE, "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
    assert result.exit_code == 0, result.stderr
    res = json.loads((out / "results.json").read_text())
    assert res["counts"]["refused"] == 1
    physics = res["categories"]["physics"]
    assert physics["score"] == 0.0 and physics["knowledge"] == 0.0 and physics["n"] == 1
    # the other 19 as before: 10 at 4, 9 at 4.75; physics at 1
    assert res["headline"]["overall"] == pytest.approx(((40 + 9 * 4.75 + 1) / 20 - 1) * 25)


FORMATS = ('Compared.\n{{"reasoning": "r", "consistency_score": {n}}}', "Consistency Score: {n}", "consistency score {n}",
           "I would say {n}/5.", "{n} out of 5", "Mostly unchanged, {n} small things differ")


def test_every_answer_format_upstream_accepts_is_read_by_the_official_reader(cli, kris_setup, tmp_path: Path):
    """Consistency answers in each format upstream's extractor takes (cycled over the tasks), all a 4."""
    _data, _edits, _server, chat = kris_setup

    def varied(text: str) -> str:
        if "consistency_score" not in text:
            return kris_judge(text)
        folder = re.search(r"edit the (\S+) picture", text)
        index = FOLDERS.index(folder.group(1)) if folder else 0
        return FORMATS[index % len(FORMATS)].format(n=4)

    chat.answer = varied
    official = kris_run(cli, kris_setup, tmp_path / "official", "--scorer-arg", "parse=official")
    assert official["metrics"]["consistency_mean"] == 75.0 and official["counts"]["unparsed"] == 0
    strict = kris_run(cli, kris_setup, tmp_path / "strict")  # only the JSON and 'key: n' forms are strict answers
    assert strict["metrics"]["consistency_mean"] == 75.0 and strict["counts"]["unparsed"] > 0
    assert strict["counts"]["parse_disagreements"] > 0
