"""GenEval 2 / Soft-TIFA: the answer lists, AM/GM and the per-skill / per-atomicity breakdowns, worked by hand;
a tiny random-init Qwen3-VL loaded through ``local:<dir>``; and a run end to end on a hand-written fixture."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from genlens.data.fetch import load_manifest
from genlens.suites import geneval2 as g2
from genlens.testing.tiny_vlm import save_tiny_qwen_vl

# Hand-written records in the upstream format (not upstream's prompts: the data is CC BY-NC, never shipped).
FIXTURE = [
    {"prompt": "a red kite and a cat", "atom_count": 3,
     "vqa_list": [["How many kites are in the image?", "one"], ["Is the kite red?", "Yes"],
                  ["Are there any kites in the image?", "Yes"], ["How many cats are in the image?", "one"],
                  ["Are there any cats in the image?", "Yes"]],
     "skills": ["count", "attribute", "object", "count", "object"]},
    {"prompt": "two glass lamps left of a dog", "atom_count": 4,
     "vqa_list": [["How many lamps are in the image?", "two"], ["Are the lamps glass?", "Yes"],
                  ["Are there any lamps in the image?", "Yes"], ["Are the lamps left of the dog?", "Yes"]],
     "skills": ["count", "attribute", "object", "position"]},
]


def write_fixture(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / g2.DATA_FILE).write_text("".join(json.dumps(r) + "\n" for r in FIXTURE), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def tiny_qwen3(tmp_path_factory):
    """Tiny Qwen3-VL with a zeroed output head: every next-token probability is 1/264 (see below)."""
    return save_tiny_qwen_vl(tmp_path_factory.mktemp("q3") / "model", answer="Score: 1", kind="qwen3_vl")


def test_accepted_answers_are_upstreams_lists():
    assert g2.accepted_answers("Is the kite red?", "Yes") == ("Yes", "yes", " yes", " Yes")
    assert g2.accepted_answers("How many lamps are in the image?", "two") == ("two", "Two", " two", " Two", "2", " 2")
    # a number word outside one…ten maps to the word 'other', as upstream's return_numeric_string does
    assert g2.accepted_answers("How many cats are in the image?", "eleven")[4:] == ("other", " other")
    assert g2.question_text("Is the kite red?") == "Is the kite red? Answer in one word."


def test_am_gm_and_breakdowns_by_hand():
    # prompt A atoms [0.9, 0.4, 1.0]: AM = 2.3/3 = 0.7667; GM = (0.36)^(1/3) = 0.7114
    # prompt B atoms [0.5, 0.0]:      AM = 0.25;          GM = 0 (one zero atom)
    a, b = g2.prompt_scores([0.9, 0.4, 1.0]), g2.prompt_scores([0.5, 0.0])
    assert a["am"] == pytest.approx(2.3 / 3) and a["gm"] == pytest.approx(0.36 ** (1 / 3))
    assert b == {"am": 0.25, "gm": 0.0}
    totals = g2.benchmark_scores([a, b])
    # 100 × mean over prompts: AM (0.7667 + 0.25)/2 = 50.83; GM (0.7114 + 0)/2 = 35.57
    assert totals["soft_tifa_am"] == pytest.approx(100 * (2.3 / 3 + 0.25) / 2)
    assert totals["soft_tifa_gm"] == pytest.approx(100 * 0.36 ** (1 / 3) / 2)
    # per skill, atom-weighted: count atoms 0.9 (A) and 0.5 (B) -> 70; object 1.0 (A) and 0.0 (B) -> 50; attribute 0.4 -> 40
    skills = g2.per_skill([[0.9, 0.4, 1.0], [0.5, 0.0]], [["count", "attribute", "object"], ["count", "object"]])
    assert skills == {"object": pytest.approx(50.0), "attribute": pytest.approx(40.0), "count": pytest.approx(70.0),
                      "position": None, "verb": None}
    # per atomicity: A is a 3-atom prompt, B a 4-atom one -> 71.14 and 0; other counts have no prompt
    atomicity = g2.per_atomicity([a["gm"], b["gm"]], [3, 4])
    assert atomicity[3] == pytest.approx(100 * 0.36 ** (1 / 3)) and atomicity[4] == 0.0 and atomicity[10] is None


def png(color, size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def test_qwen3_vl_answer_probability_matches_generate_and_is_batch_invariant(tiny_qwen3):
    """The probability is what greedy generate(max_new_tokens=1, output_scores=True) gives for the first token."""
    import torch

    from genlens.judges import make_judge
    from genlens.judges.base import JudgeRequest

    requests = [JudgeRequest(None, g2.question_text("How many kites are in the image?"), [png((200, 0, 0))]),
                JudgeRequest(None, g2.question_text("Is the kite red?"), [png((0, 0, 200), (128, 96))])]
    answers = [g2.accepted_answers("How many kites are in the image?", "one"), g2.YES_ANSWERS]
    # a random (not zeroed) head so the probabilities differ per question
    random_dir = save_tiny_qwen_vl(tiny_qwen3.parent / "random", kind="qwen3_vl")
    batched = asyncio.run(make_judge(f"local:{random_dir}", params={"batch_size": 2}).answer_probability(requests, answers))
    single = asyncio.run(make_judge(f"local:{random_dir}", params={"batch_size": 1}).answer_probability(requests, answers))
    assert batched == pytest.approx(single, abs=1e-6) and batched[0] != pytest.approx(batched[1])
    judge = make_judge(f"local:{random_dir}", params={"batch_size": 1})
    model, tokenizer, _processor, _device = judge.load()
    inputs, _ = judge._inputs(requests[:1])
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=1, do_sample=False, output_scores=True, return_dict_in_generate=True)
    probs = torch.softmax(out.scores[0], dim=-1)
    expected = sum(float(probs[0, tokenizer.encode(a)[0]]) for a in answers[0])
    assert batched[0] == pytest.approx(expected, rel=1e-5)
    # Qwen3-VL's template adds no system turn when none is given
    text = tokenizer.decode(inputs["input_ids"][0])
    assert text.startswith("<|im_start|>user\n<|vision_start|>") and "system" not in text


def test_run_end_to_end_with_a_tiny_qwen3_vl(cli, tmp_path, tiny_qwen3):
    """Hand-worked: the zeroed head makes every next-token probability 1/264 (1 answer token + 256 byte tokens
    + 7 specials). The byte-level tokenizer has no merges, so an answer's first token is its first character:
    Yes/yes/ yes/ Yes -> Y, y, Ġ, Ġ: 4/264 per yes atom (Ġ counted twice, as upstream's loop does);
    one/One/ one/ One/1/ 1 -> o, O, Ġ, Ġ, 1, Ġ: 6/264 per count atom (two: t, T, Ġ, Ġ, 2, Ġ, also 6/264).
    Prompt 000 atoms [6,4,4,6,4]/264: AM = 24/5/264, GM = (6·4·4·6·4)^(1/5)/264.
    Prompt 001 atoms [6,4,4,4]/264:   AM = 18/4/264, GM = (6·4·4·4)^(1/4)/264."""
    data = write_fixture(tmp_path / "g2")
    run = tmp_path / "run"
    r = cli("run", "geneval2", "--data-dir", data, "-m", "synthetic:gradient", "--judge", f"local:{tiny_qwen3}",
            "-o", run, "-q")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    am = 100 * (24 / 5 + 18 / 4) / 2 / 264
    gm = 100 * ((6 * 4 * 4 * 6 * 4) ** (1 / 5) + (6 * 4 * 4 * 4) ** (1 / 4)) / 2 / 264
    assert results["headline"]["soft_tifa_am"] == pytest.approx(am, rel=1e-4)
    assert results["headline"]["soft_tifa_gm"] == pytest.approx(gm, rel=1e-4)
    # count atoms are 6/264 each, all other atoms 4/264
    assert results["categories"]["skill:count"]["soft_tifa_am"] == pytest.approx(100 * 6 / 264, rel=1e-4)
    assert results["categories"]["skill:object"]["n"] == 3 and results["categories"]["skill:verb"]["soft_tifa_am"] is None
    assert results["categories"]["4-atom"]["soft_tifa_gm"] == pytest.approx(100 * (6 * 4 * 4 * 4) ** 0.25 / 264, rel=1e-4)
    prov = results["provenance"]
    assert prov["scorer"]["official"] is False and any("not comparable" in c for c in prov["caveats"])
    assert prov["data"]["sha256"] and prov["data"]["license"] == "CC BY-NC 4.0"
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    assert rows[0]["atoms"] == pytest.approx([6 / 264, 4 / 264, 4 / 264, 6 / 264, 4 / 264], rel=1e-4)
    assert rows[0]["score"] == pytest.approx(100 * (6 * 4 * 4 * 6 * 4) ** (1 / 5) / 264, rel=1e-4) and "passed" not in rows[0]
    report = cli("report", run)
    assert report.exit_code == 0, report.output
    html = cli("report", run, "--format", "html", "--out", tmp_path / "report.html")
    assert html.exit_code == 0 and "soft_tifa_gm" in (tmp_path / "report.html").read_text()


def test_missing_images_make_the_headline_partial(cli, tmp_path, tiny_qwen3):
    data = write_fixture(tmp_path / "g2")
    run = tmp_path / "run"
    r = cli("run", "geneval2", "--data-dir", data, "-m", "synthetic:gradient", "--limit", "1", "--judge", f"local:{tiny_qwen3}",
            "-o", run, "-q")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    assert results["headline"] == {"soft_tifa_gm": None, "soft_tifa_am": None}
    assert results["metrics"]["soft_tifa_am_partial"] == pytest.approx(100 * 24 / 5 / 264, rel=1e-4)
    assert results["extra"]["coverage"]["prompts"] == [1, 2]


def test_data_errors_and_text_judges_are_refused(cli, tmp_path):
    r = cli("run", "geneval2", "--data-dir", tmp_path / "none", "-m", "synthetic:gradient", "-o", tmp_path / "run", "-q")
    assert r.exit_code == 2 and "genlens data fetch geneval2" in r.output
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / g2.DATA_FILE).write_text('{"prompt": "x", "atom_count": 3, "vqa_list": [["q", "Yes"]], "skills": []}\n')
    with pytest.raises(Exception, match="matching vqa_list/skills"):
        g2.read_data(bad / g2.DATA_FILE)


def test_manifest_pins_the_upstream_commit():
    manifest = load_manifest("geneval2")
    assert manifest.commit == "a6e82d2289e8d418f27f0adee77908b07060eea3" and "CC BY-NC" in manifest.license
    assert [f.path for f in manifest.files] == ["geneval2_data.jsonl"] and len(manifest.files[0].sha256) == 64


def test_an_image_shared_by_several_questions_is_processed_once_with_the_same_result(tiny_qwen3):
    """Soft-TIFA sends one image with every atom: the judge processes it once and repeats its patches; the
    probabilities equal those of one question at a time."""
    from genlens.judges import make_judge
    from genlens.judges.base import JudgeRequest

    random_dir = tiny_qwen3.parent / "random-shared"
    if not random_dir.exists():
        save_tiny_qwen_vl(random_dir, kind="qwen3_vl")
    shared, other = png((10, 200, 30), (96, 64)), png((240, 240, 0))
    questions = ["How many kites are in the image?", "Is the kite red?", "Are there any kites in the image?"]
    requests = [JudgeRequest(None, g2.question_text(q), [shared]) for q in questions]
    requests.insert(1, JudgeRequest(None, g2.question_text("Is the cat red?"), [other]))
    answers = [g2.accepted_answers("How many kites are in the image?", "one")] + [g2.YES_ANSWERS] * 3
    judge = make_judge(f"local:{random_dir}", params={"batch_size": 4})
    inputs, _ = judge._inputs(requests)
    assert inputs["image_grid_thw"].shape[0] == 4  # one grid per question, in order
    together = asyncio.run(judge.answer_probability(requests, answers))
    alone = asyncio.run(make_judge(f"local:{random_dir}", params={"batch_size": 1}).answer_probability(requests, answers))
    assert together == pytest.approx(alone, abs=1e-6)
