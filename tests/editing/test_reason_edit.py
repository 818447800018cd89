"""Reason-Edit: layout reading, the judge-score rules by hand, SmartEdit metrics end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PIL import Image

from genlens.errors import InputError
from genlens.suites.base import ScoreContext
from genlens.suites.reason_edit import ReasonEditSuite, crop_to_mask, load_items, split_instruction
from genlens.types import GenerationRecord, Item, ScoredGeneration, ScoreRecord


def test_layout_pairs_images_masks_and_lines_in_sorted_order(reason_edit_dir: Path):
    items = load_items(reason_edit_dir)
    assert len(items) == 12
    first = items[0]
    assert first.id == "1-Left-Right/000" and first.kind == "edit" and first.category == "1-Left-Right"
    assert first.input_images == ("1-Left-Right/000.png",)
    assert first.mask is None  # the mask is for scoring only; models get instruction + image
    assert first.meta["eval_mask"] == "1-Left-Right/000_mask.jpg"
    assert first.prompt == "Turn the left object in folder 1 blue" and first.meta["caption"] == "a blue object 0"
    assert [i.meta["group"] for i in items].count("reasoning") == 2


def test_split_instruction():
    assert split_instruction("Remove the object that tells the time CLIP: a table") == ("Remove the object that tells the time", "a table")
    assert split_instruction("Make it blue") == ("Make it blue", None)


def test_missing_data_is_a_one_line_error_naming_the_fix(tmp_path: Path, cli):
    with pytest.raises(InputError, match="Google Drive"):
        load_items(None)
    result = cli("run", "reason-edit", "--model", "synthetic:gradient", "--data-dir", tmp_path / "nope", "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert "Reason-Edit data not found" in result.stderr and "--data-dir" in result.stderr
    assert "Traceback" not in result.stderr


def test_unpaired_folder_is_refused(reason_edit_dir: Path):
    (reason_edit_dir / "3-Mirror" / "000_mask.jpg").unlink()
    with pytest.raises(InputError, match="do not pair up"):
        load_items(reason_edit_dir)


def test_crop_to_mask_uses_the_box_at_256():
    edited = Image.new("RGB", (128, 64), (10, 20, 30))
    mask = Image.new("L", (128, 64), 0)
    mask.paste(255, (32, 16, 64, 48))  # box x 32..64, y 16..48 of 128×64 -> ×2 and ×4 at 256×256
    crop = crop_to_mask(edited, mask)
    # at 256²: non-zero x 64..127, y 64..191; SmartEdit's box (64, 64, 127, 191) leaves out the last
    # column and row -> 63 × 127
    assert crop.size == (63, 127)
    assert crop_to_mask(edited, Image.new("L", (128, 64), 0)) is None


def _gen(item: Item, status: str = "ok") -> GenerationRecord:
    return GenerationRecord(f"fp-{item.id}", item.id, 0, 0, status, ["x.png"] if status == "ok" else [], reason="policy")


def _judged(item: Item, sc: tuple[int, int] | None, pq: tuple[int, int] | None, *, status: str = "ok",
            psnr: float | None = None) -> ScoredGeneration:
    entry = ScoredGeneration(item, _gen(item, status))
    if status != "ok":
        return entry
    if sc is not None:
        entry.scores["judge_sc"] = ScoreRecord("a", "fp", "judge_sc", "ok", {"scores": {"edit_success": sc[0], "over_editing": sc[1]}, "raw": "{}"})
    else:
        entry.scores["judge_sc"] = ScoreRecord("a", "fp", "judge_sc", "unparsed", {"scores": None, "raw": "no idea"})
    if pq is not None:
        entry.scores["judge_pq"] = ScoreRecord("b", "fp", "judge_pq", "ok", {"scores": {"naturalness": pq[0], "artifacts": pq[1]}, "raw": "{}"})
    if psnr is not None:
        entry.scores["smartedit_metrics"] = ScoreRecord("c", "fp", "smartedit_metrics", "ok", {"psnr": psnr, "ssim": 0.9, "mse": 0.01})
    return entry


def test_judge_score_rules_by_hand(tmp_path: Path):
    def item(folder: str, k: int) -> Item:
        group = "reasoning" if folder.startswith("6") else "understanding"
        return Item(id=f"{folder}/{k}", prompt="p", category=folder, kind="edit", meta={"group": group})

    scored = [
        _judged(item("1-Left-Right", 0), (8, 5), (9, 7), psnr=30.0),   # SC = min(8,5) = 5, PQ = min(9,7) = 7, O = sqrt(35)
        _judged(item("1-Left-Right", 1), (10, 9), (6, 8), psnr=20.0),  # SC = 9, PQ = 6, O = sqrt(54)
        _judged(item("4-Color", 0), None, (5, 5)),                     # unparsed SC: left out, counted
        _judged(item("6-Reasoning", 0), (3, 7), (4, 10)),              # SC = 3, PQ = 4, O = sqrt(12)
        _judged(item("6-Reasoning", 1), None, None, status="refused"),  # refused: SC = PQ = 0
    ]
    suite = ReasonEditSuite()
    suite._items = [e.item for e in scored]
    result = suite.aggregate(scored, ScoreContext(run_dir=tmp_path, judge="openai:x"))
    # gpt_score = mean(5, 9, 3, 0)/10 = 17/40 = 0.425, but one SC is unparsed (4 of 5 prompts scored) and
    # only folders 1 and 6 of the six have a score: no headline, the number is gpt_score_partial
    assert result.headline == {"gpt_score": None}
    assert result.metrics["gpt_score_partial"] == pytest.approx(0.425)
    assert result.extra["coverage"] == {"complete": False, "prompts": [4, 5], "images": [4, 5], "tags": [2, 6]}
    assert result.intervals == {}  # 4 judged images: fewer than 10, no bootstrap interval, and the notes say so
    assert "no interval: 4 images (a bootstrap needs at least 10 to say anything)" in result.provenance["notes"]
    assert any(n.startswith("partial run (4/5 prompts, 4/5 images, 2/6 tags)") for n in result.provenance["notes"])
    # PQ over images with a PQ: (7 + 6 + 5 + 4 + 0)/5/10 = 0.44
    assert result.metrics["pq"] == pytest.approx(0.44)
    # overall = mean(sqrt(35), sqrt(54), sqrt(12), 0)/10 (the unparsed-SC image has no overall)
    expected_o = (math.sqrt(35) + math.sqrt(54) + math.sqrt(12) + 0) / 4 / 10
    assert result.metrics["overall"] == pytest.approx(expected_o)
    assert result.counts["unparsed_sc"] == 1 and result.counts["refused"] == 1
    # understanding pools folders 1–5 sample-weighted: SC (5, 9) -> 0.7; reasoning: (3, 0) -> 0.15
    assert result.categories["understanding"]["gpt_score"] == pytest.approx(0.7)
    assert result.categories["understanding"]["n"] == 3
    assert result.categories["reasoning"]["gpt_score"] == pytest.approx(0.15)
    assert result.categories["1-Left-Right"]["psnr"] == pytest.approx(25.0)
    assert result.categories["4-Color"]["gpt_score"] is None
    assert any("LPIPS" in note for note in result.provenance["notes"])


def test_the_headline_needs_every_prompt_of_folders_1_to_6(tmp_path: Path):
    folders = ("1-Left-Right", "2-Relative-Size", "3-Mirror", "4-Color", "5-Multiple-Objects", "6-Reasoning", "7-Add-supp")
    items = [Item(id=f"{f}/0", prompt="p", category=f, kind="edit",
                  meta={"group": "addition" if f.startswith("7") else "reasoning" if f.startswith("6") else "understanding"})
             for f in folders]
    scored = [_judged(i, (k + 1, 10), (5, 5)) for k, i in enumerate(items)]  # SC = 1 … 7
    suite = ReasonEditSuite()
    suite._items = items
    result = suite.aggregate(scored, ScoreContext(run_dir=tmp_path, judge="openai:x"))
    # headline over folders 1-6: (1+2+3+4+5+6)/6/10 = 0.35; with folder 7: (1+…+7)/7/10 = 0.4, beside it
    assert result.headline == {"gpt_score": pytest.approx(0.35)}
    assert result.metrics["gpt_score_with_add_supp"] == pytest.approx(0.4)
    assert result.extra["coverage"] == {"complete": True, "prompts": [6, 6], "images": [6, 6], "tags": [6, 6]}
    assert result.extra["headline_folders"] == list(folders[:6])


def test_end_to_end_with_a_folder_model_of_known_edits(reason_edit_dir: Path, tmp_path: Path, cli):
    edits = tmp_path / "edits"
    for item in load_items(reason_edit_dir):
        source = Image.open(reason_edit_dir / item.input_images[0]).convert("RGB")
        target = edits / f"{item.id}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if item.category == "2-Relative-Size":
            Image.new("RGB", source.size, (0, 0, 255)).save(target)  # everything repainted: background destroyed
        else:
            source.save(target)  # nothing changed: background preserved perfectly
    run = tmp_path / "run"
    result = cli("run", "reason-edit", "--model", f"folder:{edits}", "--data-dir", reason_edit_dir, "--out", run, "--quiet")
    assert result.exit_code == 0, result.stderr
    results = json.loads((run / "results.json").read_text())
    cats = results["categories"]
    assert set(cats) >= {"1-Left-Right", "6-Reasoning", "understanding", "reasoning"}
    assert cats["1-Left-Right"]["psnr"] == 100.0 and cats["1-Left-Right"]["ssim"] == pytest.approx(1.0)
    assert cats["2-Relative-Size"]["psnr"] < 15.0
    assert cats["reasoning"]["n"] == 2 and cats["reasoning"]["psnr"] == 100.0  # the reasoning folder is scored
    assert results["headline"]["gpt_score"] is None  # no judge given
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and all(r["psnr"] is not None for r in rows)


def test_import_smartedit_output_layout(reason_edit_dir: Path, tmp_path: Path, cli):
    outputs = tmp_path / "smartedit_out"
    for out_name, folder in (("LeftRight_metrics_1", "1-Left-Right"), ("Reasoning_metrics_1", "6-Reasoning")):
        target = outputs / ("understand" if folder != "6-Reasoning" else "reason") / out_name
        target.mkdir(parents=True)
        for k, source in enumerate(sorted((reason_edit_dir / folder).glob("*.png"))):
            Image.open(source).save(target / f"result_{k:02d}.png")  # SmartEdit names its outputs its own way
    run = tmp_path / "run"
    assert cli("import", outputs, "--suite", "reason-edit", "--data-dir", reason_edit_dir, "--out", run, "--quiet").exit_code == 0
    result = cli("score", run, "--data-dir", reason_edit_dir, "--quiet")
    assert result.exit_code == 0, result.stderr
    res = json.loads((run / "results.json").read_text())
    assert res["categories"]["1-Left-Right"]["n"] == 2 and res["categories"]["6-Reasoning"]["n"] == 2
    assert res["categories"]["reasoning"]["psnr"] == 100.0  # the k-th output paired with the k-th source
