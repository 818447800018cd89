"""End to end: `genlens run wise --model folder:<dir> --judge openai:<model>` against a local chat server."""

from __future__ import annotations

import json

import pytest

from genlens.runs.engine import image_stem
from genlens.testing.fake_chat import FakeChat
from genlens.testing.http import FakeServer, Fault
from tests.judges.wise_fixture import EXPECTED_CATEGORIES, EXPECTED_OVERALL, scripted_answer, write_images, write_wise_data


@pytest.fixture
def setup(tmp_path):
    data = write_wise_data(tmp_path / "wise_data")
    images = write_images(tmp_path / "images")
    with FakeServer() as server:
        chat = FakeChat(server, answer=scripted_answer, reported_model={"gpt-4o-2024-05-13": "gpt-4o-2024-05-13"})
        yield tmp_path, data, images, server, chat


def run_wise(cli, run, data, images, server, *extra):
    return cli("run", "wise", "--model", f"folder:{images}", "--judge", "openai:gpt-4o-2024-05-13", "--data-dir", data,
               "--out", run, "--scorer-arg", f"base_url={server.url}/v1", "--quiet", *extra)


def test_run_scores_categories_overall_and_counts_unparsed(cli, setup):
    tmp, data, images, server, chat = setup
    result = run_wise(cli, tmp / "run", data, images, server)
    assert result.exit_code == 0, result.output
    results = json.loads((tmp / "run" / "results.json").read_text())
    assert results["headline"]["overall"] is None  # 2 of 9 answers unread: no official overall
    assert results["metrics"]["overall_partial"] == pytest.approx(EXPECTED_OVERALL)
    for name, expected in EXPECTED_CATEGORIES.items():
        assert results["categories"][name]["score"] == pytest.approx(expected), name
    assert results["categories"]["chemistry"]["n"] == 1 and results["extra"]["unparsed_by_category"]["chemistry"] == 2
    counts = results["counts"]
    assert (counts["images_scored"], counts["unparsed"], counts["judge_refused"]) == (7, 1, 1)
    assert results["provenance"]["judge_models"] == ["gpt-4o-2024-05-13"]
    assert any(t.startswith("genlens-wise-legacy-v1:") for t in results["provenance"]["judge_templates"])
    assert results["extra"]["judge_usage"]["calls"] == 9
    # the judge saw Prompt and Explanation; the image was sent as a data URL
    first = chat.requests[0]["messages"][1]["content"]
    assert "what fixture" in first[0]["text"] and first[1]["image_url"]["url"].startswith("data:image/png;base64,")
    rows = [json.loads(line) for line in (tmp / "run" / "rows.jsonl").read_text().splitlines()]
    unparsed = next(r for r in rows if r["item"] == "902")
    assert unparsed["status"] == "unparsed" and unparsed["score"] is None
    assert unparsed["judge"]["raw"] == "The picture looks lovely, well done."


def test_rejudge_and_rescore_make_no_calls(cli, setup, monkeypatch):
    tmp, data, images, server, _chat = setup
    assert run_wise(cli, tmp / "run", data, images, server).exit_code == 0
    before = json.loads((tmp / "run" / "results.json").read_text())
    server.log.clear()
    # a new parser version changes the scorer's fingerprint: --rejudge moves every verdict across by re-parsing
    monkeypatch.setattr("genlens.judges.scorer.PARSER_VERSION", "2-test")
    result = cli("score", tmp / "run", "--rejudge", "--quiet")  # the judge is remembered from the run
    assert result.exit_code == 0, result.output
    assert server.log == []
    after = json.loads((tmp / "run" / "results.json").read_text())
    assert after["headline"] == before["headline"] and after["counts"]["unparsed"] == 1
    assert after["provenance"]["scorers"]["wise_judge"]["parser"].endswith("2-test")
    # a plain score afterwards finds everything final: still no calls
    assert cli("score", tmp / "run", "--quiet").exit_code == 0
    assert server.log == []


def test_another_run_dir_with_the_same_images_is_served_by_the_cache(cli, setup):
    tmp, data, images, server, _chat = setup
    assert run_wise(cli, tmp / "run1", data, images, server).exit_code == 0
    calls = len(server.log)
    assert run_wise(cli, tmp / "run2", data, images, server).exit_code == 0
    assert len(server.log) == calls  # refusals are cached too: nothing asked twice
    results = json.loads((tmp / "run2" / "results.json").read_text())
    assert results["headline"]["overall"] is None  # 2 of 9 answers unread: no official overall
    assert results["metrics"]["overall_partial"] == pytest.approx(EXPECTED_OVERALL)
    assert results["extra"]["judge_usage"] == {"calls": 0, "cached": 9, "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0}


def test_failed_judge_calls_are_retried_on_the_next_score(cli, setup):
    tmp, data, images, server, _chat = setup
    server.add_fault(Fault(status=500), times=3)  # one question fails all its attempts (max_retries=2)
    result = run_wise(cli, tmp / "run", data, images, server, "--scorer-arg", "max_retries=2", "--scorer-arg", "backoff_base_s=0.01",
                      "--concurrency", "1")
    assert result.exit_code == 1, result.output  # a failed judge call: exit 1, "run the same command again"
    assert "run the same command again to retry" in result.output
    first = json.loads((tmp / "run" / "results.json").read_text())
    assert first["counts"]["judge_errors"] == 1 and first["counts"]["images_scored"] == 6
    server.log.clear()
    assert cli("score", tmp / "run", "--quiet").exit_code == 0
    assert len(server.log) == 1  # only the failed question is asked again
    again = json.loads((tmp / "run" / "results.json").read_text())
    assert again["counts"]["judge_errors"] == 0 and again["metrics"]["overall_partial"] == pytest.approx(EXPECTED_OVERALL)


def test_judge_prompt_file_and_official_prompt_are_used_and_recorded(cli, setup):
    tmp, data, images, server, chat = setup
    prompt = tmp / "my_prompt.txt"
    prompt.write_text("[system]\nMy system.\n[user]\nMine: {Prompt} / {Explanation}\n")
    assert run_wise(cli, tmp / "run", data, images, server, "--judge-prompt", prompt).exit_code == 0
    assert chat.requests[0]["messages"][0]["content"] == "My system."
    assert chat.requests[0]["messages"][1]["content"][0]["text"].startswith("Mine: fixture-")
    results = json.loads((tmp / "run" / "results.json").read_text())
    assert [t.split(":")[0:2] for t in results["provenance"]["judge_templates"]] == [["file", "my_prompt.txt"]]
    # the official wording, as `genlens data fetch wise` leaves it in the data dir
    (data / "judge_prompts").mkdir()
    (data / "judge_prompts" / "wise_legacy_system.txt").write_text("Official system.")
    (data / "judge_prompts" / "wise_legacy_user_template.txt").write_text('PROMPT: "{Prompt}" EXPLANATION: "{Explanation}"')
    chat.requests.clear()
    assert run_wise(cli, tmp / "run2", data, images, server, "--suite-arg", "prompt=official").exit_code == 0
    assert chat.requests[0]["messages"][0]["content"] == "Official system."
    results = json.loads((tmp / "run2" / "results.json").read_text())
    assert results["provenance"]["judge_templates"][0].startswith("official:")
    assert not any("other than the official" in note for note in results["provenance"]["caveats"])


def test_official_prompt_not_fetched_is_a_one_line_error(cli, setup):
    tmp, data, images, server, _chat = setup
    result = run_wise(cli, tmp / "run", data, images, server, "--suite-arg", "prompt=official")
    assert result.exit_code == 2 and "genlens data fetch wise" in result.stderr


def test_rejudge_with_another_judge_reparses_nothing_and_calls_nothing(cli, setup):
    tmp, data, images, server, _chat = setup
    assert run_wise(cli, tmp / "run", data, images, server).exit_code == 0
    server.log.clear()
    result = cli("score", tmp / "run", "--rejudge", "--judge", "openai:another-model")
    assert result.exit_code == 0 and server.log == []
    assert "not_rescored 9" in result.stderr  # the stored answers belong to another judge: nothing is carried over
    results = json.loads((tmp / "run" / "results.json").read_text())
    assert results["headline"]["overall"] is None and results["counts"]["not_judged"] == 9


def test_an_image_lost_after_generation_is_one_line_not_a_crash(cli, setup):
    tmp, data, images, server, _chat = setup
    assert cli("generate", "wise", "--model", f"folder:{images}", "--data-dir", data, "--out", tmp / "run", "--quiet").exit_code == 0
    (tmp / "run" / "images" / f"{image_stem('1', 0)}.png").unlink()
    result = cli("score", tmp / "run", "--judge", "openai:gpt-4o-2024-05-13", "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
    # the lost image is one line naming it (exit 2), not a crash; the others are scored
    assert result.exit_code == 2 and "is missing" in result.output and "Traceback" not in result.output
    results = json.loads((tmp / "run" / "results.json").read_text())
    assert results["counts"]["images_scored"] == 6


def test_import_the_official_layout_then_score(cli, setup):
    tmp, data, images, server, _chat = setup
    result = cli("import", images, "--suite", "wise", "--out", tmp / "run", "--data-dir", data, "--quiet")
    assert result.exit_code == 0, result.output
    result = cli("score", tmp / "run", "--judge", "openai:gpt-4o-2024-05-13", "--data-dir", data,
                 "--scorer-arg", f"base_url={server.url}/v1", "--quiet")
    assert result.exit_code == 0, result.output
    results = json.loads((tmp / "run" / "results.json").read_text())
    assert results["headline"]["overall"] is None  # 2 of 9 answers unread: no official overall
    assert results["metrics"]["overall_partial"] == pytest.approx(EXPECTED_OVERALL)


def test_official_parser_rereads_the_stored_answers_and_disagreements_are_counted(cli, setup):
    tmp, data, images, server, _chat = setup
    assert run_wise(cli, tmp / "run", data, images, server).exit_code == 0
    strict = json.loads((tmp / "run" / "results.json").read_text())
    # upstream's pattern reads neither 401's JSON answer (a quote after the label) nor 801's full-width colons;
    # genlens reads both: 2 answers on which the parsers disagree (902 neither reads: agreement; 903 was refused)
    assert strict["counts"]["parse_disagreements"] == 2
    assert strict["provenance"]["parser"].startswith("parse=genlens (strict)")
    server.log.clear()
    result = cli("score", tmp / "run", "--rejudge", "--scorer-arg", "parse=official", "--quiet")
    assert result.exit_code == 0, result.output
    assert server.log == []  # stored answers re-read: no judge calls
    res = json.loads((tmp / "run" / "results.json").read_text())
    assert res["provenance"]["parser"].startswith("parse=official")
    assert res["provenance"]["scorers"]["wise_judge"]["parser"].startswith("wise_judge-official/")
    # now 401, 801 and 902 are unread: 5 of 9 scored; time (401) and physics (801) lose their only image
    assert (res["counts"]["images_scored"], res["counts"]["unparsed"], res["counts"]["parse_disagreements"]) == (5, 3, 2)
    assert res["categories"]["cultural"]["score"] == pytest.approx(0.70)
    assert res["categories"]["time"]["score"] is None and res["categories"]["physics"]["score"] is None
    assert json.loads((tmp / "run" / "judge.json").read_text())["judge_args"]["parse"] == "official"
    bad = cli("score", tmp / "run", "--rejudge", "--scorer-arg", "parse=loose")
    assert bad.exit_code == 2 and "parse='loose'" in bad.stderr and "one of genlens, official" in bad.stderr
