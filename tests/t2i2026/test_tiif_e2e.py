"""End to end: `genlens run tiif` on a fixture data set, against a fake OpenAI-compatible judge on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from genlens.testing.fake_chat import FakeChat
from genlens.testing.http import FakeServer
from tests.t2i2026.tiif_fixture import EXPECTED_BASIC_AVG, EXPECTED_OVERALL, ScriptedJudge, write_images, write_tiif_data


@pytest.fixture(autouse=True)
def judge_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def setup(tmp_path):
    data = write_tiif_data(tmp_path / "tiif_data")
    images = write_images(tmp_path / "images")
    script = ScriptedJudge()
    with FakeServer() as server:
        chat = FakeChat(server, answer=script, reported_model={"gpt-4o-2024-08-06": "gpt-4o-2024-08-06"})
        yield tmp_path, data, images, server, chat, script


def run_tiif(cli, run, data, images, server, *extra):
    return cli("run", "tiif", "--model", f"folder:{images}", "--data-dir", data, "--out", run,
               "--suite-arg", "length=short", "--suite-arg", "gned=false",
               "--scorer-arg", f"base_url={server.url}/v1", "--quiet", *extra)


def results_of(run):
    return json.loads((run / "results.json").read_text())


def test_run_scores_groups_overall_and_retries_a_miscounted_answer(cli, setup):
    tmp, data, images, server, chat, script = setup
    result = run_tiif(cli, tmp / "run", data, images, server)
    assert result.exit_code == 0, result.output
    res = results_of(tmp / "run")
    assert res["headline"] == {"overall_short": pytest.approx(EXPECTED_OVERALL)}
    assert res["categories"]["basic_attribute"]["short"] == pytest.approx(0.875)
    assert res["categories"]["real_world"]["short"] == pytest.approx(1.0)
    assert res["metrics"]["basic_avg_short"] == pytest.approx(EXPECTED_BASIC_AVG)
    assert res["metrics"]["advanced_avg_short"] == pytest.approx(1.0)
    assert res["extra"]["dimensions"]["short"]["shape+color"] == {"accuracy": 0.5, "correct": 1, "questions": 2}
    counts = res["counts"]
    assert counts["images_scored"] == 39 and counts["miscounted"] == 0 and counts["unparsed"] == 0
    assert counts["parse_disagreements"] == 1  # negation: upstream's reader finds no line starting with yes/no
    assert script.asked["style"] == 2  # one line for two questions: asked again, as upstream does
    assert res["extra"]["judge_usage"]["calls"] == 40  # 39 questions + the style retry (tokens/cost: whatever the server says)
    assert res["extra"]["coverage"]["complete"] is True
    # which parts scored as upstream does: the judge family yes; genlens's wording and reader (defaults) no
    assert res["provenance"]["official"] == {"judge": True, "question_text": False, "reader": False, "ocr": False}
    assert res["extra"]["judge_family"] == "gpt-4o"  # so reports set it beside the GPT-4o-judged reference tables
    # the judge got genlens's wording with the stripped questions, one per line, and the image
    first = next(r for r in chat.requests if "Is fixture numeracy first" in r["messages"][1]["content"][0]["text"])
    text = first["messages"][1]["content"][0]["text"]
    assert "Is fixture numeracy first true?\nIs fixture numeracy second true?" in text
    assert first["messages"][1]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    rows = [json.loads(line) for line in (tmp / "run" / "rows.jsonl").read_text().splitlines()]
    row = next(r for r in rows if r["item"] == "short/shape+color/0")
    assert (row["correct"], row["questions"], row["answers"]) == (1, 2, ["yes", "yes"])
    # the report renders the run
    assert cli("report", tmp / "run", "--out", tmp / "report.html").exit_code == 0


def test_resume_asks_nothing_again_and_rejudge_reads_officially(cli, setup):
    tmp, data, images, server, _chat, _script = setup
    assert run_tiif(cli, tmp / "run", data, images, server).exit_code == 0
    server.log.clear()
    assert cli("score", tmp / "run", "--quiet").exit_code == 0
    assert server.log == []  # every verdict is final: nothing asked again
    result = cli("score", tmp / "run", "--rejudge", "--scorer-arg", "parse=official", "--quiet")
    assert result.exit_code == 0, result.output
    assert server.log == []
    res = results_of(tmp / "run")
    # negation is unread by upstream's reader: no headline; the partial overall is the same formula
    assert res["headline"]["overall_short"] is None
    assert res["metrics"]["overall_short_partial"] == pytest.approx(EXPECTED_OVERALL)
    assert res["counts"]["unparsed"] == 1 and res["counts"]["parse_disagreements"] == 1


def test_official_wording_is_sent_when_fetched(cli, setup):
    tmp, data, images, server, chat, _script = setup
    (data / "judge_prompts").mkdir()
    for i in range(3):
        (data / "judge_prompts" / f"tiif_question_{i}.txt").write_text(f"\nWORDING {i}\nQuestions:\n##YNQuestions##\n")
    (data / "judge_prompts" / "tiif_system.txt").write_text("Official critic.")
    result = run_tiif(cli, tmp / "run", data, images, server, "--suite-arg", "prompt=official")
    assert result.exit_code == 0, result.output
    sent = [r["messages"] for r in chat.requests]
    assert all(m[0]["content"] == "Official critic." for m in sent)
    from genlens.suites.tiif import wording_index

    numeracy = next(m for m in sent if "Is fixture numeracy first" in m[1]["content"][0]["text"])
    assert numeracy[1]["content"][0]["text"] == (f"\nWORDING {wording_index('short/numeracy/0')}\nQuestions:\n"
                                                 "Is fixture numeracy first true?\nIs fixture numeracy second true?\n")
    res = results_of(tmp / "run")
    assert res["provenance"]["judge_templates"][0].startswith("official:A113N-W3I/TIIF-Bench@3aae750")
    assert not any("genlens's wording" in c for c in res["provenance"]["caveats"])


def test_official_wording_not_fetched_is_a_one_line_error(cli, setup):
    tmp, data, images, server, _chat, _script = setup
    result = run_tiif(cli, tmp / "run", data, images, server, "--suite-arg", "prompt=official")
    assert result.exit_code == 2
    assert "genlens data fetch tiif" in result.output and "Traceback" not in result.output


def test_missing_data_is_a_one_line_error(cli, tmp_path):
    result = cli("run", "tiif", "--model", f"folder:{tmp_path}", "--data-dir", tmp_path / "nowhere", "--out", tmp_path / "run",
                 "--judge", "openai:gpt-4o-2024-08-06", "--quiet")
    assert result.exit_code == 2
    assert "genlens data fetch tiif" in result.output and "Traceback" not in result.output


def test_tiny_generator_both_lengths_on_a_subset_of_dimensions_is_never_a_headline(cli, setup, tmp_path):
    """A tiny random-init diffusers pipeline makes the images; the data holds 2 of 39 dimensions."""
    pytest.importorskip("diffusers")
    from genlens.testing.tiny_diffusers import build_text2image

    _tmp, _data, _images, server, _chat, _script = setup
    pipeline = build_text2image(tmp_path / "sd")
    data = write_tiif_data(tmp_path / "few", dims=("numeracy", "text"))
    result = cli("run", "tiif", "--model", f"diffusers:{pipeline}", "--model-arg", "steps=2", "--model-arg", "size=32",
                 "--data-dir", data, "--out", tmp_path / "run", "--suite-arg", "gned=false",
                 "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
    assert result.exit_code == 0, result.output
    res = results_of(tmp_path / "run")
    assert res["headline"] == {"overall_short": None, "overall_long": None}
    # numeracy (basic_reasoning) and text (advanced_text) both fully right: the partial overall is 1.0 per length
    assert res["metrics"]["overall_short_partial"] == pytest.approx(1.0)
    assert res["metrics"]["overall_long_partial"] == pytest.approx(1.0)
    assert res["counts"]["images_scored"] == 4
    assert any("2 of TIIF-Bench's 39 dimensions" in c for c in res["provenance"]["caveats"])
    # the generator got the long description for the long items
    assert any("much longer fixture prompt describing numeracy" in json.dumps(r) for r in
               [json.loads(line) for line in (tmp_path / "run" / "rows.jsonl").read_text().splitlines()])


def test_suites_lists_tiif_with_its_needs(cli):
    result = cli("suites")
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.strip().startswith("tiif"))
    assert "judge" in line


def test_text_images_get_gned_and_recall_from_pp_ocr(cli, setup, tmp_path):
    """The text image shows "hello" and "world" (expected words: hello, world): GNED 0, recall 1."""
    pytest.importorskip("rapidocr")
    from PIL import Image, ImageDraw, ImageFont

    _tmp, _data, _images, server, _chat, _script = setup
    data = write_tiif_data(tmp_path / "few", dims=("text", "numeracy"))
    images = write_images(tmp_path / "imgs", dims=("numeracy",))
    picture = Image.new("RGB", (320, 160), "white")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=40)
    draw.text((20, 20), "Hello", fill="black", font=font)
    draw.text((20, 90), "world", fill="black", font=font)
    (images / "text" / "short_description").mkdir(parents=True)
    picture.save(images / "text" / "short_description" / "0.png")
    result = cli("run", "tiif", "--model", f"folder:{images}", "--data-dir", data, "--out", tmp_path / "run",
                 "--suite-arg", "length=short", "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
    assert result.exit_code == 0, result.output
    res = results_of(tmp_path / "run")
    assert res["metrics"]["text_gned_short"] == pytest.approx(0.0)
    assert res["metrics"]["text_recall_short"] == pytest.approx(1.0)
    rows = [json.loads(line) for line in (tmp_path / "run" / "rows.jsonl").read_text().splitlines()]
    text_row = next(r for r in rows if r["item"] == "short/text/0")
    assert text_row["ocr"]["read"].lower() == "hello world"
    assert "ocr" not in next(r for r in rows if r["item"] == "short/numeracy/0")
    assert res["provenance"]["scorers"][ "tiif_ocr"]["model"].startswith("rapidocr")


def test_a_local_tiny_qwen_vl_judge_scores_through_the_production_loader(cli, tmp_path):
    """A tiny random-init Qwen2.5-VL, saved and loaded with from_pretrained, whose greedy answer is "yes\\nno"."""
    pytest.importorskip("transformers")
    from genlens.testing.tiny_vlm import save_tiny_qwen_vl

    model = save_tiny_qwen_vl(tmp_path / "qwen", answer="yes\nno")
    data = write_tiif_data(tmp_path / "few", dims=("numeracy", "negation"))
    images = write_images(tmp_path / "imgs", dims=("numeracy", "negation"))
    result = cli("run", "tiif", "--model", f"folder:{images}", "--data-dir", data, "--out", tmp_path / "run",
                 "--suite-arg", "length=short", "--suite-arg", "gned=false", "--judge", f"local:{model}",
                 "--scorer-arg", "max_new_tokens=1", "--quiet")
    assert result.exit_code == 0, result.output
    res = results_of(tmp_path / "run")
    # both fixture prompts expect yes, no: every answer right, but 2 of 39 dimensions is never a headline
    assert res["headline"]["overall_short"] is None
    assert res["metrics"]["overall_short_partial"] == pytest.approx(1.0)
    assert res["counts"]["images_scored"] == 2
    assert res["provenance"]["judge_models"][0].startswith(str(model))
    assert res["extra"]["judge_family"] == "other"  # never set against the GPT-4o-judged reference tables


def test_import_upstream_layout_with_a_model_folder_then_score_both_lengths(cli, setup, tmp_path):
    _tmp, data, _images, server, _chat, _script = setup
    images = write_images(tmp_path / "output", lengths=("short", "long"), model="my-model")
    result = cli("import", images, "--suite", "tiif", "--out", tmp_path / "run", "--data-dir", data, "--quiet")
    assert result.exit_code == 0, result.output
    result = cli("score", tmp_path / "run", "--judge", "openai:gpt-4o-2024-08-06", "--scorer-arg", f"base_url={server.url}/v1",
                 "--quiet")
    assert result.exit_code == 0, result.output
    res = results_of(tmp_path / "run")
    # short and long reported separately, each by the same hand-worked formula (the fixture judge answers alike)
    assert res["headline"] == {"overall_short": pytest.approx(EXPECTED_OVERALL), "overall_long": pytest.approx(EXPECTED_OVERALL)}
    assert res["categories"]["basic_attribute"] == {"short": 0.875, "n_short": 4, "long": 0.875, "n_long": 4, "n": 8}
    assert res["counts"]["images_scored"] == 78


@pytest.mark.parametrize(("name", "text", "message"), [
    ("numeracy_eval_prompts.jsonl", "{not json\n", "line 1 is not JSON"),
    ("numeracy_eval_prompts.jsonl", "", "1 prompts but 0 question sets"),
    ("numeracy_eval_prompts.jsonl", '{"type": "numeracy", "yn_question_list": ["a?"], "yn_answer_list": []}\n',
     "numeracy record 0"),
])
def test_damaged_data_is_one_line_exit_2(cli, tmp_path, name, text, message):
    data = write_tiif_data(tmp_path / "d", dims=("numeracy",))
    (data / "testmini_eval_prompts" / name).write_text(text)
    result = cli("run", "tiif", "--model", f"folder:{tmp_path}", "--data-dir", data, "--out", tmp_path / "run",
                 "--judge", "openai:gpt-4o-2024-08-06", "--quiet")
    assert result.exit_code == 2, result.output
    assert message in result.output and "genlens data fetch tiif" in result.output and "Traceback" not in result.output
