"""cvtg end to end: fixture data in CVTG-2K's layout, images with known text, rapidocr + a tiny CLIP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from genlens.suites.base import ScoreContext, get_suite_class
from genlens.types import GenerationRecord, Item, ScoredGeneration, ScoreRecord
from tests.t2i2026._text_images import text_image, write_cvtg_fixture


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    from genlens.testing.tiny_models import save_tiny_clip

    return save_tiny_clip(tmp_path_factory.mktemp("clip") / "clip")


def test_items_from_the_fixture_layout(tmp_path: Path):
    suite = get_suite_class("cvtg")(data_dir=write_cvtg_fixture(tmp_path / "data"))
    items = suite.items()
    assert [i.id for i in items][:4] == ["cvtg-2-0", "cvtg-3-0", "cvtg-4-0", "cvtg-5-0"] and len(items) == 8
    assert items[0].meta["texts"] == ["OPEN DAILY", "HOT COFFEE"] and items[0].category == "2"
    assert items[4].id == "style-2-1" and items[4].meta["subset"] == "CVTG-Style"
    assert suite.folder_candidates(items[4], 0) == ["CVTG-Style/2/1", "CVTG-style/2/1"]


def test_missing_data_is_a_one_line_error(cli, tmp_path: Path):
    result = cli("items", "cvtg", "--data-dir", tmp_path)
    assert result.exit_code == 2 and "CVTG/ not found" in result.output and "Traceback" not in result.output


def test_run_end_to_end_reads_the_rendered_words(cli, tmp_path: Path, clip_dir: Path):
    data = write_cvtg_fixture(tmp_path / "data")
    images = tmp_path / "images"
    text_image(images / "CVTG" / "2" / "0.png", ["OPEN DAILY", "HOT COFFEE"])  # 4/4 words
    text_image(images / "CVTG" / "3" / "0.png", ["NEW BOOKS"])  # 2 of new books sale today half price = 2/6
    for folder, index in (("CVTG", 0), ("CVTG-Style", 1)):
        for regions in ("2", "3", "4", "5"):
            path = images / folder / regions / f"{index}.png"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (320, 240), "white").save(path)
    run = tmp_path / "run"
    result = cli("run", "cvtg", "--model", f"folder:{images}", "--data-dir", data, "--clip", clip_dir, "--out", run, "--quiet")
    assert result.exit_code == 0, result.output
    results = json.loads((run / "results.json").read_text())
    # per image: 1.0, 1/3, then six blank images at 0 -> mean (1 + 1/3) / 8 = 1/6
    assert results["headline"]["word_accuracy"] == pytest.approx(1 / 6)
    assert results["categories"]["2"]["word_accuracy"] == pytest.approx(0.5)  # 1.0 and 0.0
    assert results["categories"]["3"]["word_accuracy"] == pytest.approx(1 / 6)  # 1/3 and 0.0
    # pooled over words: 4 + 2 matched of 2*(4 + 6 + 8 + 5) = 46 target words ("PLATFORM 4" is two words)
    assert results["metrics"]["word_accuracy_words"] == pytest.approx(6 / 46)
    assert results["metrics"]["clip_score"] is not None and results["provenance"]["official_scorer"] is False
    assert "the data holds 8 prompts" in " ".join(results["provenance"]["caveats"])
    assert set(results["extra"]["data_files_sha256"]) == {f"{f}/{r}.json" for f in ("CVTG", "CVTG-Style") for r in "2345"}
    rows = {r["item"]: r for r in map(json.loads, (run / "rows.jsonl").read_text().splitlines())}
    assert rows["cvtg-2-0"]["read"] == "OPEN DAILY HOT COFFEE" and rows["cvtg-2-0"]["ned"] == 1.0
    report = cli("report", run, "--format", "md")
    # the published rows stand beside the run (GLM-Image README table: word accuracy 0.9116, NED 0.9557, CLIPScore 0.7877)
    assert report.exit_code == 0 and "| GLM-Image | 0.912 | 0.956 | 0.788 |" in report.output


def _scored(item: Item, sample: int, status: str, value: dict | None) -> ScoredGeneration:
    gen = GenerationRecord("fp", item.id, sample, 0, status, ["x.png"] if status == "ok" else [])
    scores = {"cvtg_ocr": ScoreRecord("sfp", "fp", "cvtg_ocr", "ok", value)} if value is not None else {}
    return ScoredGeneration(item=item, generation=gen, scores=scores)


def test_partial_runs_have_no_headline_and_refusals_score_zero(tmp_path: Path):
    suite = get_suite_class("cvtg")(data_dir=write_cvtg_fixture(tmp_path / "data"))
    items = suite.items()
    # one image read perfectly (1.0), one refusal (0.0) -> 0.5 over 2 of 8 prompts: partial
    scored = [_scored(items[0], 0, "ok", {"read": "open daily hot coffee"}),
              _scored(items[1], 0, "refused", None)]
    result = suite.aggregate(scored, ScoreContext(run_dir=tmp_path))
    assert result.headline == {"word_accuracy": None}
    assert result.metrics["word_accuracy_partial"] == pytest.approx(0.5)
    assert result.extra["coverage"]["prompts"] == [2, 8] and result.counts["generation_refused"] == 1
    assert result.provenance["caveats"][0].startswith("partial run (2/8 prompts")


def test_import_reads_eval_py_layout_and_refuses_unknown_indices(tmp_path: Path):
    suite = get_suite_class("cvtg")(data_dir=write_cvtg_fixture(tmp_path / "data"))
    out = tmp_path / "out"
    for name in ("CVTG/2/0.png", "CVTG-Style/5/1.png"):
        text_image(out / name, ["x"], size=(64, 64), font_size=10)
    (out / "CVTG" / "2" / "0_rec.json").write_text("{}")  # eval.py's layout file beside the image: ignored
    assert sorted((i.item_id, i.sample) for i in suite.import_layout(out)) == [("cvtg-2-0", 0), ("style-5-1", 0)]
    text_image(out / "CVTG" / "3" / "7.png", ["x"], size=(64, 64), font_size=10)
    with pytest.raises(Exception, match=r"7\.png is not a prompt of CVTG/3\.json"):
        list(suite.import_layout(out))


def test_vqascore_with_a_local_judge(cli, tmp_path: Path, clip_dir: Path):
    pytest.importorskip("torch")
    from genlens.testing.tiny_vlm import save_tiny_qwen_vl

    data = write_cvtg_fixture(tmp_path / "data")
    images = tmp_path / "images"
    text_image(images / "cvtg-2-0" / "0.png", ["OPEN DAILY", "HOT COFFEE"])
    judge = save_tiny_qwen_vl(tmp_path / "qwen")
    run = tmp_path / "run"
    result = cli("run", "cvtg", "--model", f"folder:{images}", "--data-dir", data, "--clip", clip_dir, "--limit", "1",
                 "--judge", f"local:{judge}", "--out", run, "--quiet")
    assert result.exit_code == 0, result.output
    results = json.loads((run / "results.json").read_text())
    row = json.loads((run / "rows.jsonl").read_text().splitlines()[0])
    # one image: the run's VQAScore is that image's yes-probability (a random tiny model: any value in [0, 1])
    assert 0.0 <= row["vqa_score"] <= 1.0 and results["metrics"]["vqa_score"] == pytest.approx(row["vqa_score"])
    assert any(c.startswith("VQAScore = P('Yes')") for c in results["provenance"]["caveats"])


def test_vqascore_refuses_a_judge_without_yes_probability(cli, tmp_path: Path, clip_dir: Path):
    data = write_cvtg_fixture(tmp_path / "data")
    images = tmp_path / "images"
    text_image(images / "cvtg-2-0" / "0.png", ["OPEN"])
    result = cli("run", "cvtg", "--model", f"folder:{images}", "--data-dir", data, "--clip", clip_dir, "--limit", "1",
                 "--judge", "openai:gpt-4o", "--scorer-arg", "base_url=http://127.0.0.1:9/v1", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2 and "yes-probability" in result.output and "Traceback" not in result.output


def test_clip_weights_are_needed_only_while_clipscore_is_on(tmp_path: Path):
    from genlens.runs.preflight import check

    suite = get_suite_class("cvtg")(data_dir=write_cvtg_fixture(tmp_path / "data"))
    absent = str(tmp_path / "no-clip-here")
    on = check(suite, ScoreContext(run_dir=tmp_path / "run", clip=absent))
    assert any(m.what.startswith("CLIP") for m in on)
    off = check(suite, ScoreContext(run_dir=tmp_path / "run", clip=absent, scorer_args={"clipscore": "off"}))
    assert not any(m.what.startswith("CLIP") for m in off), [m.what for m in off]
