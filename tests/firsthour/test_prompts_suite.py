"""``genlens run prompts --data …``: your own prompt set, the scorers you pick, per-category tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genlens.runs.engine import image_stem
from tests.conftest import write_png

ROWS = [
    {"id": "cat", "prompt": "a red cat", "category": "animals", "size": "64x64", "questions": ["Is there a cat?", "Is it red?"]},
    {"id": "dog", "prompt": "a dog", "category": "animals", "size": [96, 64], "questions": ["Is there a dog?"]},
    {"id": "tower", "prompt": "a tower", "category": "buildings", "size": "80x80", "questions": ["Is there a tower?"]},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_jsonl_prompt_set_end_to_end_with_per_category_tables(cli, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "prompts.jsonl", ROWS)
    run = tmp_path / "run"
    # synthetic:fixed ignores the size (always 512x512): every image fails the size rule
    r = cli("run", "prompts", "--data", data, "-m", "synthetic:gradient", "-o", run, "-q")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    assert results["headline"] == {"pass_rate": 1.0}
    assert results["categories"] == {"animals": {"n": 2, "pass_rate": 1.0}, "buildings": {"n": 1, "pass_rate": 1.0}}
    assert results["provenance"]["prompt_set"]["rows"] == 3 and len(results["provenance"]["prompt_set"]["sha256"]) == 64
    fixed = tmp_path / "fixed"
    assert cli("run", "prompts", "--data", data, "-m", "synthetic:fixed", "-o", fixed, "-q").exit_code == 0
    rows = [json.loads(line) for line in (fixed / "rows.jsonl").read_text().splitlines()]
    assert [r["pass_rate"] for r in rows] == [0.0, 0.0, 0.0] and "512x512 != requested 64x64" in rows[0]["reason"]
    md = cli("report", run, fixed, "--format", "md")
    assert "buildings" in md.stdout


def test_csv_prompt_set_with_a_reference_image_becomes_an_edit(cli, tmp_path: Path) -> None:
    write_png(tmp_path / "refs" / "room.png", size=(64, 64))
    (tmp_path / "p.csv").write_text("id,prompt,category,size,image,questions\n"
                                    "room,make the walls blue,edits,64x64,refs/room.png,Are the walls blue? | Is it a room?\n"
                                    "sky,a blue sky,,,,\n")
    from genlens.suites.prompts import read_prompt_set

    items, _provenance = read_prompt_set(str(tmp_path / "p.csv"))
    assert items[0].kind == "edit" and items[0].input_images == (str(tmp_path / "refs" / "room.png"),)
    assert items[0].meta["questions"] == ["Are the walls blue?", "Is it a room?"]
    assert items[1].id == "sky" and items[1].category == "all" and items[1].size is None and items[1].kind == "generate"
    r = cli("run", "prompts", "--data", tmp_path / "p.csv", "-m", "synthetic:gradient", "-o", tmp_path / "run", "-q")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize(("content", "message"), [
    ('{"id": "a"}\n', "row 1: no 'prompt'"),
    ('{"prompt": "x", "size": "big"}\n', "size 'big' is not WIDTHxHEIGHT"),
    ('{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n', "rows 1 and 2 share the id 'a'"),
    ("not json\n", "line 1 is not JSON"),
])
def test_bad_prompt_sets_are_one_line_errors(cli, tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "p.jsonl").write_text(content)
    r = cli("run", "prompts", "--data", tmp_path / "p.jsonl", "-m", "synthetic:gradient", "-o", tmp_path / "run")
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output
    r = cli("run", "prompts", "-m", "synthetic:gradient", "-o", tmp_path / "run2")
    assert r.exit_code == 2 and "needs a prompt set" in r.output


def test_hf_dataset_saved_by_datasets_loads_with_its_fingerprint_recorded(cli, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    rows = [{k: (json.dumps(v) if k == "questions" else (str(v) if k == "size" and isinstance(v, list) else v)) for k, v in r.items()} for r in ROWS]
    rows[1]["size"] = "96x64"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "ds"))
    run = tmp_path / "run"
    r = cli("run", "prompts", "--data", f"hf:{tmp_path / 'ds'}:test", "-m", "synthetic:gradient", "-o", run, "-q")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    source = results["provenance"]["prompt_set"]
    assert source["split"] == "test" and source["rows"] == 3 and source["fingerprint"]
    assert results["categories"]["animals"]["n"] == 2


def test_clip_score_is_100_times_the_positive_cosine(cli, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from genlens.suites.prompts import clip_score
    from genlens.testing.tiny_models import save_tiny_clip

    assert clip_score(0.3125) == 31.25 and clip_score(-0.2) == 0.0 and clip_score(0.0) == 0.0
    clip_dir = save_tiny_clip(tmp_path / "clip")
    data = write_jsonl(tmp_path / "p.jsonl", ROWS[:2])
    run = tmp_path / "run"
    r = cli("run", "prompts", "--data", data, "--suite-arg", "scorers=props,clip", "--clip", clip_dir,
            "-m", "synthetic:gradient", "-o", run, "-q")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    assert set(results["metrics"]) == {"pass_rate", "clip_score"}
    from genlens.imageio import load_rgb
    from genlens.scorers.clip import ClipModel

    model = ClipModel.load(str(clip_dir))
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    for row, item in zip(rows, ROWS[:2], strict=True):
        image = load_rgb(next((run / "images").glob(f"{image_stem(item['id'], 0)}.*")))
        cosine = float((model.image_embeddings([image]) * model.text_embeddings([item["prompt"]])).sum())
        assert row["clip_score"] == pytest.approx(clip_score(cosine), abs=1e-4)


def test_preflight_refuses_a_picked_scorer_without_what_it_needs(cli, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "p.jsonl", ROWS)
    r = cli("run", "prompts", "--data", data, "--suite-arg", "scorers=judge", "-m", "synthetic:gradient",
            "-o", tmp_path / "run", "--offline")
    assert r.exit_code == 2 and "needs a judge" in r.output and not (tmp_path / "run" / "images").exists()


@pytest.fixture(scope="module")
def tiny_yes_judge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    from genlens.testing.tiny_vlm import save_tiny_qwen_vl

    return save_tiny_qwen_vl(tmp_path_factory.mktemp("qwen") / "yes", answer="Score: 7")


def test_vqa_yes_probability_and_rubric_judge_with_a_local_vlm(cli, tmp_path: Path, tiny_yes_judge: Path) -> None:
    """Hand-worked: the tiny judge's output head is zero, so every next-token logit is 0 and softmax is
    uniform over its 264 tokens (1 answer token + 256 byte tokens + 7 specials): P(Yes) = 1/264 for every
    question, so each item's vqa_score is 1/264. Greedy decoding picks token 0, "Score: 7": judge_score 7."""
    data = write_jsonl(tmp_path / "p.jsonl", ROWS)
    rubric = tmp_path / "rubric.txt"
    rubric.write_text("[system]\nYou grade images.\n[user]\nHow well does the image show: {prompt}? End with 'Score: N' (0-10).\n")
    run = tmp_path / "run"
    r = cli("run", "prompts", "--data", data, "--suite-arg", "scorers=vqa,judge", "--judge", f"local:{tiny_yes_judge}",
            "--judge-prompt", rubric, "--scorer-arg", "max_new_tokens=1", "-m", "synthetic:gradient", "-o", run, "-q")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    assert results["headline"]["vqa_score"] == pytest.approx(1 / 264, rel=1e-4)
    assert results["metrics"]["judge_score"] == 7.0
    assert results["categories"]["animals"] == {"n": 2, "vqa_score": pytest.approx(1 / 264, rel=1e-4), "judge_score": 7.0}


def test_parsers_of_judge_answers() -> None:
    from genlens.suites.prompts import parse_rubric_score, parse_yes_no

    assert parse_rubric_score("The cat is red. Score: 8") == {"score": 8.0}
    assert parse_rubric_score("score = 3.5 … final **Score: 6**") == {"score": 6.0}
    assert parse_rubric_score("no number here") is None
    assert parse_yes_no("Yes, there is a cat.") == 1.0 and parse_yes_no("no.") == 0.0 and parse_yes_no("maybe") is None
