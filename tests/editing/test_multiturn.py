"""multiturn-edit: the sequences, per-round metrics by hand, curves, comparison, end to end, kill + resume."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlens.suites.base import ScoreContext
from genlens.suites.multiturn_edit import (
    OPS,
    MultiturnEditSuite,
    compare_runs,
    comparison_markdown,
    load_sequences,
    round_metrics,
)
from genlens.types import GenerationRecord, Item, ScoredGeneration, ScoreRecord
from tests.conftest import count_generations, subprocess_env

TL = [0.0, 0.0, 0.4, 0.4]


def test_sequences_cover_every_operation_in_four_rounds():
    sequences = load_sequences()
    assert len(sequences) >= 40
    assert len({s["id"] for s in sequences}) == len(sequences)
    ops = {r["op"] for s in sequences for r in s["rounds"]}
    assert ops == set(OPS)
    for seq in sequences:
        assert len(seq["rounds"]) == 4
        for r in seq["rounds"]:
            assert r["instruction"].strip() and r["op"] in OPS
            for box in r["regions"] or []:
                x0, y0, x1, y1 = box
                assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1


def test_round_metrics_by_hand():
    original = Image.new("RGB", (64, 64), (255, 255, 255))
    edited = original.copy()
    edited.paste((255, 0, 0), (0, 0, 20, 20))  # inside the allowed top-left box (26×26 px at 0.4·64 = 25.6 -> 26)
    m = round_metrics(original, edited, [[TL]])
    # Outside the box nothing changed: SSIM 1, PSNR capped, no colour drift.
    assert m["scope"] == "outside" and m["ssim"] == pytest.approx(1.0) and m["psnr"] == 100.0
    assert m["delta_e2000"] == pytest.approx(0.0, abs=1e-6) and m["lab_shift"] == pytest.approx(0.0, abs=1e-6)
    assert m["kept_fraction"] == pytest.approx(1 - 26 * 26 / 64 / 64)
    # Round 2 turns everything outside the box mid-grey (sRGB 128): L* 100 -> 53.585 (ΔL = −46.415), and
    # ΔE2000 = 46.415 / S_L with S_L = 1 + 0.015·26.7925²/sqrt(20 + 26.7925²) = 1.39640 -> 33.239 per pixel.
    greyed = Image.new("RGB", (64, 64), (128, 128, 128))
    greyed.paste(edited.crop((0, 0, 26, 26)), (0, 0))
    m2 = round_metrics(original, greyed, [[TL], [TL]])
    assert m2["delta_e2000"] == pytest.approx(33.239, abs=2e-3)
    assert m2["lab_shift_dL"] == pytest.approx(-46.415, abs=2e-3)
    # 8-bit PSNR of 255 vs 128: MSE = (127/255)² -> 10·log10(1/0.248043) = 6.0548 dB
    assert m2["psnr"] == pytest.approx(6.0548, abs=1e-3)


def test_size_change_and_global_rounds():
    original = Image.new("RGB", (60, 40), (10, 120, 200))
    bigger = original.resize((120, 120))
    m = round_metrics(original, bigger, [[TL]])
    # 60×40 -> 120×120: aspect 1.5 -> 1.0, |ln(1/1.5)| = 0.405465; compared after resizing back to 60×40.
    assert m["size_changed"] and m["aspect_error"] == pytest.approx(0.405465, abs=1e-6)
    assert m["delta_e2000"] == pytest.approx(0.0, abs=1e-3)
    styled = round_metrics(original, original, [[TL], None])
    assert styled["scope"] == "global" and styled["kept_fraction"] == 0.0


def _sequence_entry(index: int, success: list[int], ssim_values: list[float], status: str = "ok") -> ScoredGeneration:
    item = Item(id=f"mt-{index}", prompt="p", category="pattern", kind="multiturn", input_images=("x.png",),
                rounds=("a", "b", "c", "d"), meta={"ops": ["add", "recolour", "move", "style"], "regions": [[TL]] * 3 + [None]})
    gen = GenerationRecord(f"fp{index}", item.id, 0, 0, status, [f"r{k}.png" for k in range(1, 5)] if status == "ok" else [])
    entry = ScoredGeneration(item, gen)
    if status != "ok":
        return entry
    rounds = [{"scope": "outside" if k < 3 else "global", "ssim": s, "psnr": 30.0 - 5 * k, "delta_e2000": 1.0 + k,
               "lab_shift": 0.5 * k, "lab_shift_db": 0.25 * k, "size_changed": k == 3, "aspect_error": 0.0}
              for k, s in enumerate(ssim_values)]
    entry.scores["turn_metrics"] = ScoreRecord("m", gen.fingerprint, "turn_metrics", "ok", {"rounds": rounds})
    for k, value in enumerate(success, start=1):
        entry.scores[f"turn_judge_r{k}"] = ScoreRecord(
            f"j{k}", gen.fingerprint, f"turn_judge_r{k}", "ok", {"scores": {"edit_success": value, "over_editing": 6}, "raw": "{}"})
    return entry


def test_curves_and_round_categories_by_hand(tmp_path: Path):
    scored = [
        _sequence_entry(1, [10, 8, 6, 4], [0.9, 0.8, 0.7, 0.1]),
        _sequence_entry(2, [8, 8, 4, 2], [0.7, 0.6, 0.5, 0.1]),
        _sequence_entry(3, [], [], status="refused"),
    ]
    result = MultiturnEditSuite().aggregate(scored, ScoreContext(run_dir=tmp_path, judge="openai:x"))
    curves = result.extra["curves"]
    # success per round: (10+8+0)/3/10, (8+8+0)/30, (6+4+0)/30, (4+2+0)/30 — the refused sequence scores 0
    assert curves["success"]["rounds"] == [1, 2, 3, 4]
    assert curves["success"]["values"] == pytest.approx([0.6, 16 / 30, 10 / 30, 0.2])
    # sc = min(success, over-editing 6)/10: round 1 (6 + 6 + 0)/3 = 0.4
    assert curves["sc"]["values"][0] == pytest.approx(0.4)
    # preservation only where the kept area is known: rounds 1-3 mean of the two sequences; round 4 is global
    assert curves["ssim"]["values"][:3] == pytest.approx([0.8, 0.7, 0.6])
    assert curves["ssim"]["values"][3] is None and result.categories["round_4"]["n_global"] == 2
    assert curves["size_changed"]["values"] == pytest.approx([0.0, 0.0, 0.0, 1.0])
    assert result.extra["by_op"]["add"]["success"] == pytest.approx(0.6)
    assert result.counts["refused"] == 1
    assert result.headline["ssim_r4"] is None and result.metrics["ssim_r1"] == pytest.approx(0.8)


def _fake_results(model: str, mode: str, success: list[float]) -> dict:
    return {"model": model, "extra": {"mode": mode, "curves": {"success": {"rounds": [1, 2, 3, 4], "values": success}}}}


def test_compare_runs_side_by_side():
    a = _fake_results("openai:gpt-image-1", "native", [0.9, 0.8, 0.7, 0.6])
    b = _fake_results("gemini:flash", "reupload", [0.8, 0.6, 0.4, None])
    rows = compare_runs([a, b], metrics=["success"])
    assert rows[1] == {"metric": "success", "round": 2, "openai:gpt-image-1 [native]": 0.8, "gemini:flash [reupload]": 0.6}
    table = comparison_markdown([a, b], metrics=["success"])
    assert "| success | 4 | 0.600 | — |" in table


def _write_rounds(run_folder: Path, suite: MultiturnEditSuite, items: list[Item]) -> None:
    """Pre-made rounds for a folder model: outside the edited box each round adds a stronger yellow cast."""
    for item in items:
        source = np.asarray(Image.open(suite.input_path(item.input_images[0])).convert("RGB"), dtype=np.float32)
        for k in range(1, 5):
            cast = source.copy()
            cast[..., 2] *= 1 - 0.08 * k  # less blue each round
            (run_folder / item.id).mkdir(parents=True, exist_ok=True)
            Image.fromarray(cast.clip(0, 255).astype(np.uint8)).save(run_folder / item.id / f"0_r{k}.png")


def test_end_to_end_curves_show_drift_and_report_compares_runs(tmp_path: Path, cli):
    sources = tmp_path / "sources"
    from tests.editing.conftest import sample_photo

    for index in range(2):
        sources.mkdir(exist_ok=True)
        sample_photo(index, (48, 40)).save(sources / f"photo{index}.png")
    suite = MultiturnEditSuite(data_dir=sources)
    model = tmp_path / "model_outputs"
    _write_rounds(model, suite, list(suite.items()[:3]))
    run_a = tmp_path / "run_a"
    result = cli("run", "multiturn-edit", "--model", f"folder:{model}", "--data-dir", sources, "--limit", "3", "--out", run_a, "--quiet")
    assert result.exit_code == 0, result.stderr
    res_a = json.loads((run_a / "results.json").read_text())
    drift = res_a["extra"]["curves"]["delta_e2000"]["values"]
    yellow = res_a["extra"]["curves"]["lab_shift_db"]["values"]
    assert drift[0] < drift[1] < drift[2] and yellow[0] > 0 and yellow[0] < yellow[1] < yellow[2]
    run_b = tmp_path / "run_b"
    result = cli("run", "multiturn-edit", "--model", "synthetic:gradient", "--suite-arg", "mode=reupload",
                 "--data-dir", sources, "--limit", "3", "--out", run_b, "--quiet")
    assert result.exit_code == 0, result.stderr
    assert json.loads((run_b / "results.json").read_text())["extra"]["mode"] == "reupload"
    report = cli("report", run_a, run_b, "--format", "md")
    assert report.exit_code == 0
    line = next(ln for ln in report.stdout.splitlines() if "| round_2 | delta_e2000 |" in ln)
    assert line.count("|") == 6  # suite, scope, metric + one column per run
    html = tmp_path / "report.html"
    assert cli("report", run_a, run_b, "--format", "html", "--out", html).exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert "delta_e2000 by round" in page and "ssim by round" in page  # the curves, one line per run


def test_default_sources_are_skimage_photos(tmp_path: Path):
    suite = MultiturnEditSuite()
    items = suite.items()
    assert items[0].input_images == ("skimage/astronaut.png",) and items[1].input_images == ("skimage/coffee.png",)
    path = suite.input_path(items[0].input_images[0])
    assert Image.open(path).size == (512, 512)






def test_kill_mid_run_then_resume_finishes_each_sequence_once(tmp_path: Path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "genlens", "run", "multiturn-edit", "--model", "synthetic:gradient",
               "--model-arg", "delay=0.05", "--limit", "8", "--concurrency", "2", "--out", str(run), "--quiet"]
    proc = subprocess.Popen(command, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while count_generations(run, "ok") < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = count_generations(run, "ok")
    assert 2 <= before < 8
    finished = subprocess.run(command, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        rows = conn.execute("SELECT item_id, status FROM generations").fetchall()
    assert len(rows) == len({r[0] for r in rows}) == 8 and {r[1] for r in rows} == {"ok"}
    images = [p for p in (run / "images").rglob("*.png")]
    assert len(images) == 8 * 4  # four rounds each, no duplicates or partial files
    results = json.loads((run / "results.json").read_text())
    assert results["categories"]["round_4"]["n"] == 8


def test_gedit_images_as_sources(gedit_dir: Path, tmp_path: Path, cli):
    suite = MultiturnEditSuite(data_dir=gedit_dir, suite_args={"sources": "gedit"})
    items = suite.items()
    assert items[0].input_images[0].startswith("gedit/") and suite.input_path(items[0].input_images[0]).is_file()
    assert len({i.input_images[0] for i in items}) == 11  # the fixture's 11 distinct source images, cycled
    run = tmp_path / "run"
    result = cli("run", "multiturn-edit", "--model", "synthetic:gradient", "--suite-arg", "sources=gedit",
                 "--data-dir", gedit_dir, "--limit", "2", "--out", run, "--quiet")
    assert result.exit_code == 0, result.stderr
    assert json.loads((run / "results.json").read_text())["categories"]["round_1"]["n"] == 2


def test_rows_and_category_counts_agree_after_kill_and_resume(tmp_path):
    """One row per (sequence, sample, round): no duplicates, and the category n add up to the rows."""
    import collections
    import json
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import count_generations, subprocess_env

    run = tmp_path / "run"
    command = [sys.executable, "-m", "genlens", "run", "multiturn-edit", "--model", "synthetic:gradient",
               "--model-arg", "delay=0.05", "--limit", "4", "--samples", "2", "--out", str(run), "--quiet"]
    proc = subprocess.Popen(command, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while count_generations(run) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = subprocess.run(command, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    keys = collections.Counter((r["item"], r["sample"], r["round"]) for r in rows)
    assert len(rows) == len(keys) == 4 * 2 * 4  # sequences x samples x rounds, each once
    results = json.loads((run / "results.json").read_text())
    assert sum(c["n"] for c in results["categories"].values()) == len(rows) == results["counts"]["rows"]
    assert results["counts"]["sequences"] == 8
