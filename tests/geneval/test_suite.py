"""The geneval suite end to end: vendored metadata, layouts, tiny Mask2Former + CLIP through --detector/--clip."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from tests.conftest import write_png

from genlens.suites.base import get_suite_class
from genlens.suites.geneval import load_metadata, object_names

ALWAYS = "car"  # the rigged tiny detector sees one car per query (8 queries) over the whole image


def _shared_dir() -> Path:
    return Path(os.environ.get("GENLENS_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")


def test_vendored_metadata_counts_and_order():
    metadata = load_metadata()
    assert len(metadata) == 553
    assert Counter(m["tag"] for m in metadata) == {"single_object": 80, "two_object": 99, "counting": 80,
                                                    "colors": 94, "position": 100, "color_attr": 100}
    order = [m["tag"] for m in metadata]
    assert order == sorted(order, key=["single_object", "two_object", "counting", "colors", "position", "color_attr"].index)
    assert len(object_names()) == 80 and object_names()[62] == "tv"
    suite = get_suite_class("geneval")()
    items = suite.items()
    assert [i.id for i in items[:2]] == ["00000", "00001"] and items[-1].id == "00552"
    assert items[0].prompt == "a photo of a bench" and items[0].meta == metadata[0]
    assert suite.meta.default_samples == 4 and suite.meta.needs == ("detector", "clip")


def test_vendored_metadata_matches_shared_copy():
    upstream = _shared_dir() / "benchmarks" / "geneval" / "evaluation_metadata.jsonl"
    if not upstream.exists():
        pytest.skip(f"{upstream} not present")
    vendored = Path(__file__).resolve().parents[2] / "src" / "genlens" / "data" / "geneval" / "evaluation_metadata.jsonl"
    assert vendored.read_bytes() == upstream.read_bytes()


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("torch")
    from genlens.testing.tiny_models import save_tiny_clip, save_tiny_mask2former

    root = tmp_path_factory.mktemp("models")
    return {"clip": save_tiny_clip(root / "clip"), "detector": save_tiny_mask2former(root / "det", always_detect=ALWAYS)}


def _first(tag: str, cls: str | None = None) -> int:
    for index, meta in enumerate(load_metadata()):
        if meta["tag"] == tag and (cls is None or any(c["class"] == cls for c in meta["include"])):
            return index
    raise AssertionError(tag)


def _official_layout(root: Path, indices: list[int], samples: int, digits: int = 4) -> Path:
    for index in indices:
        folder = root / f"{index:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metadata.jsonl").write_text(json.dumps(load_metadata()[index]))
        for sample in range(samples):
            write_png(folder / "samples" / f"{sample:0{digits}d}.png", size=(32, 24), seed=index * 10 + sample)
    return root


def test_run_with_folder_model_end_to_end(cli, tmp_path, models):
    images = _official_layout(tmp_path / "images", [0, 1], samples=2, digits=5)
    run = tmp_path / "run"
    args = ["run", "geneval", "--model", f"folder:{images}", "--limit", "2", "--samples", "2",
            "--detector", models["detector"], "--clip", models["clip"], "--out", run, "--quiet"]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    results = json.loads((run / "results.json").read_text())
    # neither prompt is about a car, so all four images miss their object; 2 of 553 prompts (--limit 2),
    # 4 of 553 × 2 images and 1 of 6 tags: a partial run shows no headline, only overall_partial
    assert results["headline"] == {"overall": None} and results["metrics"]["overall_partial"] == 0.0
    assert results["extra"]["coverage"] == {"complete": False, "prompts": [2, 553], "images": [4, 1106], "tags": [1, 6]}
    assert results["provenance"]["caveat"].startswith("partial run (2/553 prompts, 4/1106 images, 1/6 tags): no headline overall")
    assert results["categories"]["single_object"]["n"] == 4
    assert results["provenance"]["detector"]["weights_sha256"] and results["provenance"]["clip"]["weights_sha256"]
    assert "instead of GenEval's mmdet 2.x checkpoint" in results["provenance"]["caveat"]
    # which weights scored, and how the models' inputs were made
    assert results["provenance"]["detector"]["weights"]["kind"] == "transformers"
    assert results["provenance"]["detector_weights"] == "transformers Mask2Former (not GenEval's mmdet checkpoint)"
    assert results["provenance"]["detector_preprocessing"]["pad_value"] == 128
    assert results["provenance"]["detector_preprocessing"]["backend"].startswith("opencv ")
    assert results["provenance"]["clip_preprocessing"]["mode"] == "open_clip"
    assert results["extra"]["failure_reasons"]["missing_object"] == {"bench": 2, load_metadata()[1]["include"][0]["class"]: 2}
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    assert {(r["item"], r["sample"]) for r in rows} == {("00000", 0), ("00000", 1), ("00001", 0), ("00001", 1)}
    assert all(r["passed"] is False and r["reason"] == "expected bench>=1, found 0" for r in rows if r["item"] == "00000")
    assert all(b["label"] == ALWAYS and b["box"] == [0.0, 0.0, 32.0, 24.0] for r in rows for b in r["boxes"])
    official = [json.loads(line) for line in (run / "geneval_results.jsonl").read_text().splitlines()]
    assert set(official[0]) == {"filename", "tag", "prompt", "correct", "reason", "metadata", "details"}
    assert json.loads(official[0]["metadata"]) == load_metadata()[0]
    assert len(json.loads(official[0]["details"])[ALWAYS]) == 8  # NMS off: 8 identical boxes kept
    assert (run / "geneval_summary.txt").read_text().startswith("Summary\n=======\nTotal images: 4\n")
    again = cli(*args)  # resume: nothing to generate or score again
    assert again.exit_code == 0 and json.loads((run / "results.json").read_text())["metrics"]["overall_partial"] == 0.0


def test_import_official_layout_scores_every_tag(cli, tmp_path, models):
    indices = [_first("single_object", ALWAYS), _first("two_object"), _first("counting"), _first("colors", ALWAYS),
               _first("position"), _first("color_attr", ALWAYS)]
    images = _official_layout(tmp_path / "images", indices, samples=1)
    run = tmp_path / "run"
    assert cli("import", images, "--suite", "geneval", "--out", run, "--quiet").exit_code == 0
    result = cli("score", run, "--detector", models["detector"], "--clip", models["clip"], "--quiet")
    assert result.exit_code == 0, result.output
    results = json.loads((run / "results.json").read_text())
    rows = {r["tag"]: r for r in (json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines())}
    assert set(rows) == set(results["categories"]) == {"single_object", "two_object", "counting", "colors", "position",
                                                       "color_attr"}
    assert rows["single_object"]["passed"] is True  # "a photo of a car": 8 cars at 0.995
    assert rows["counting"]["passed"] is False
    colored = rows["colors"]
    assert len([b for b in colored["boxes"] if b["color"]]) == 1  # only the top-1 car is colour-classified
    assert colored["passed"] == (colored["colors"][ALWAYS] == [load_metadata()[indices[3]]["include"][0]["color"]])
    # colour logits ran in float32 on CPU and say so; rows without a colour question carry no dtype
    assert colored["colour_logits_dtype"] == "float32" and "colour_logits_dtype" not in rows["single_object"]
    assert results["provenance"]["colour_logits_dtype"] == ["float32"]
    scores = [results["categories"][t]["score"] for t in results["categories"]]
    # every tag, but 6 of 553 prompts: overall_partial, never the headline
    assert results["headline"] == {"overall": None}
    assert results["metrics"]["overall_partial"] == pytest.approx(sum(scores) / 6)
    assert results["extra"]["coverage"] == {"complete": False, "prompts": [6, 553], "images": [6, 553], "tags": [6, 6]}
    # one prompt per tag: too few for a bootstrap interval, and the provenance says so
    assert results["intervals"] == {}
    assert "no interval for tags with fewer than 10 prompts" in results["provenance"]["intervals"]
    assert results["extra"]["official_summary"]["total_images"] == 6


def test_import_rejects_a_folder_whose_metadata_disagrees(cli, tmp_path):
    images = _official_layout(tmp_path / "images", [3], samples=1)
    (images / "00003" / "metadata.jsonl").write_text(json.dumps(load_metadata()[4]))
    result = cli("import", images, "--suite", "geneval", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2
    assert "00003/metadata.jsonl" in result.output and "does not match GenEval prompt 00003" in result.output


def test_import_layout_walks_like_the_official_evaluator(tmp_path):
    images = _official_layout(tmp_path / "images", [0], samples=2)
    samples = images / "00000" / "samples"
    write_png(samples / "0002.png", size=(8, 8)).rename(samples / "0002.png.bak")  # digits + ".png" at the start: taken
    write_png(samples / "grid.png", size=(8, 8))  # not digits: ignored
    (images / "notes").mkdir()
    found = list(get_suite_class("geneval")().import_layout(images))
    assert sorted((f.item_id, f.sample, f.path.name) for f in found) == [
        ("00000", 0, "0000.png"), ("00000", 1, "0001.png"), ("00000", 2, "0002.png.bak")]


def test_refused_generation_counts_as_incorrect():
    from genlens.suites.geneval import collect_rows
    from genlens.types import GenerationRecord, Item, ScoredGeneration

    item = Item(id="00000", prompt="a photo of a bench", category="single_object", meta=load_metadata()[0])
    refused = ScoredGeneration(item, GenerationRecord("fp", "00000", 0, 0, "refused", [], reason="policy"))
    errored = ScoredGeneration(item, GenerationRecord("fp2", "00000", 1, 0, "error", [], reason="timeout"))
    rows, n_errored, unscored = collect_rows([refused, errored], Path("/tmp"))
    assert [(r["correct"], r["reason"]) for r in rows] == [(False, "refused: policy")]
    assert (n_errored, unscored) == (1, 0)


def test_official_summary_shape_and_numbers():
    from genlens.suites.geneval import official_row, official_summary

    def row(item: str, tag: str, correct: bool) -> dict:
        return {"item": item, "tag": tag, "correct": correct, "filename": f"{item}.png", "prompt": "p", "reason": "",
                "metadata": {"tag": tag}, "details": {}}

    rows = [row("00000", "single_object", True), row("00000", "single_object", False),
            row("00200", "counting", False), row("00200", "counting", False),
            row("00201", "counting", True), row("00201", "counting", False)]
    data, text = official_summary(rows)
    # single_object 1/2 = 0.5, counting 1/4 = 0.25 -> overall (0.5 + 0.25) / 2 = 0.375 (image-weighted: 2/6)
    assert data["overall"] == 0.375 and data["tasks"]["counting"] == {"score": 0.25, "correct": 1, "total": 4}
    assert data["correct_prompts"] == pytest.approx(2 / 3)  # prompts with any correct image: 00000, 00201
    assert text.splitlines() == [
        "Summary", "=======", "Total images: 6", "Total prompts: 3", "% correct images: 33.33%",
        "% correct prompts: 66.67%", "", "Task breakdown", "==============",
        "single_object    = 50.00% (1 / 2)", "counting         = 25.00% (1 / 4)", "",
        "Overall score (avg. over tasks): 0.37500"]
    assert json.loads(official_row(rows[0])["metadata"]) == {"tag": "single_object"}
