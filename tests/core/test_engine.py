"""The run engine: resume, fingerprints, statuses, sharding, atomicity — through the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from genlens.runs.fingerprint import generation_fingerprint, sample_seed
from genlens.suites.image_props import ImagePropsSuite

N_ITEMS = ImagePropsSuite.meta.item_count  # 33


def _rows(run: Path, query: str) -> list[tuple]:
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        return conn.execute(query).fetchall()


def test_seeds_are_per_item_and_sample_and_stable() -> None:
    assert sample_seed(0, "a", 0) == sample_seed(0, "a", 0)
    assert len({sample_seed(0, "a", 0), sample_seed(0, "a", 1), sample_seed(0, "b", 0), sample_seed(1, "a", 0)}) == 4
    assert 0 <= sample_seed(7, "x", 3) < 2**31


def test_fingerprint_changes_with_what_produced_the_record() -> None:
    base = dict(suite="s", suite_version="1", item_id="i", item_hash="h", model="m", params={"steps": 4}, seed=1, sample=0)
    fp = generation_fingerprint(**base)
    assert fp == generation_fingerprint(**base)
    for key, value in [("suite_version", "2"), ("item_hash", "h2"), ("model", "m2"), ("params", {"steps": 5}), ("seed", 2)]:
        assert generation_fingerprint(**{**base, key: value}) != fp


def test_run_then_rerun_skips_everything(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = cli("run", "image-props", "--model", "synthetic:gradient", "--out", run, "--quiet")
    assert first.exit_code == 0, first.output
    results = json.loads((run / "results.json").read_text())
    assert results["headline"]["pass_rate"] == 1.0
    assert results["categories"]["square"]["n"] == 9 and results["categories"]["landscape"]["n"] == 12
    assert _rows(run, "SELECT COUNT(*) FROM generations")[0][0] == N_ITEMS
    created = _rows(run, "SELECT fingerprint, created FROM generations ORDER BY fingerprint")

    again = cli("run", "image-props", "--model", "synthetic:gradient", "--out", run)
    assert again.exit_code == 0
    assert f"{N_ITEMS} already done, 0 new" in again.output
    assert _rows(run, "SELECT fingerprint, created FROM generations ORDER BY fingerprint") == created


def test_lost_image_file_is_redone(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli("run", "image-props", "--model", "synthetic:gradient", "--out", run, "-q").exit_code == 0
    victim = next((run / "images").rglob("*.png"))
    victim.unlink()
    again = cli("run", "image-props", "--model", "synthetic:gradient", "--out", run)
    assert f"{N_ITEMS - 1} already done, 1 new" in again.output
    assert victim.exists()
    assert _rows(run, "SELECT COUNT(*) FROM generations")[0][0] == N_ITEMS


def test_more_samples_extend_the_run(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "2", "-q").exit_code == 0
    out = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "2", "--samples", "3")
    assert "6 units, 2 already done, 4 new" in out.output
    samples = _rows(run, "SELECT item_id, sample FROM generations ORDER BY item_id, sample")
    assert len(samples) == len(set(samples)) == 6


def test_wrong_size_model_scores_by_the_rule(cli, tmp_path: Path) -> None:
    # synthetic:fixed always returns 512x512: only the 512x512 item of each of the 3 prompts passes -> 3/33.
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", "synthetic:fixed", "-o", run, "-q").exit_code == 0
    res = json.loads((run / "results.json").read_text())
    assert abs(res["headline"]["pass_rate"] - 3 / 33) < 1e-12
    # square items: 1024², 512², 768² per prompt -> 3 of 9 pass
    assert abs(res["categories"]["square"]["pass_rate"] - 3 / 9) < 1e-12
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    failing = next(r for r in rows if r["item"] == "p0-1536x1024")
    assert failing["passed"] is False and failing["reason"] == "size 512x512 != requested 1536x1024"
    # aspect error for 1536x1024 -> 1:1 is |ln(1 / 1.5)| = 0.405465
    assert abs(failing["aspect_error"] - 0.4054651) < 1e-6


def test_blank_images_fail(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", "synthetic:blank", "-o", run, "-q").exit_code == 0
    res = json.loads((run / "results.json").read_text())
    assert res["headline"]["pass_rate"] == 0.0 and res["metrics"]["blank_rate"] == 1.0


def test_refusals_are_final_and_errors_are_retried(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    # Prompt 1 ("a busy city street …") is refused; every 5th request fails transiently.
    args = ["run", "image-props", "-m", "synthetic:gradient", "-o", run, "-a", "refuse=city street", "-a", "fail_every=5", "-c", "1"]
    first = cli(*args)
    assert first.exit_code == 1, first.output  # some requests failed -> exit 1, retry hint
    assert "run the same command again to retry" in first.output
    statuses = dict(_rows(run, "SELECT status, COUNT(*) FROM generations GROUP BY status"))
    assert statuses["refused"] == 11
    errors_before = statuses["error"]
    assert errors_before > 0
    for _ in range(5):
        result = cli(*args)
        if result.exit_code == 0:
            break
    statuses = dict(_rows(run, "SELECT status, COUNT(*) FROM generations GROUP BY status"))
    assert statuses == {"ok": 22, "refused": 11}
    res = json.loads((run / "results.json").read_text())
    assert abs(res["headline"]["pass_rate"] - 22 / 33) < 1e-12  # refusals count as failures


def test_shards_partition_the_items(cli, tmp_path: Path) -> None:
    seen = []
    for index in range(3):
        run = tmp_path / f"shard{index}"
        assert cli("generate", "image-props", "-m", "synthetic:gradient", "-o", run, "--shard", f"{index}/3", "-q").exit_code == 0
        seen += [r[0] for r in _rows(run, "SELECT item_id FROM generations")]
    assert sorted(seen) == sorted(item.id for item in ImagePropsSuite().items())


def test_generate_then_score_equals_run(cli, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli("run", "image-props", "-m", "synthetic:noise", "-o", a, "-q").exit_code == 0
    assert cli("generate", "image-props", "-m", "synthetic:noise", "-o", b, "-q").exit_code == 0
    assert not (b / "results.json").exists()
    assert cli("score", b, "-q").exit_code == 0
    ra, rb = (json.loads((d / "results.json").read_text()) for d in (a, b))
    assert ra["headline"] == rb["headline"] and ra["categories"] == rb["categories"]


def test_json_output_is_machine_readable(cli, tmp_path: Path) -> None:
    result = cli("run", "image-props", "-m", "synthetic:gradient", "-o", tmp_path / "r", "--limit", "3", "--json", "-q")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["headline"]["pass_rate"] == 1.0


def test_no_temp_files_left(cli, tmp_path: Path) -> None:
    run = tmp_path / "r"
    cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "-q")
    assert not list(run.rglob(".tmp-*"))


def test_a_regenerated_image_is_scored_again(cli, tmp_path: Path) -> None:
    """Resume redoes a generation whose file was replaced; its old verdict must not survive."""
    from tests.conftest import write_png

    src = tmp_path / "imgs"
    write_png(src / "p0-1024x1024" / "0.png", size=(1024, 1024))
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", f"folder:{src}", "-o", run, "--limit", "1", "-q").exit_code == 0
    assert json.loads((run / "results.json").read_text())["headline"]["pass_rate"] == 1.0
    write_png(src / "p0-1024x1024" / "0.png", size=(64, 64))  # the source changes …
    next((run / "images").rglob("*.png")).unlink()             # … and the run's copy is lost
    again = cli("run", "image-props", "-m", f"folder:{src}", "-o", run, "--limit", "1")
    assert "1 new" in again.output
    res = json.loads((run / "results.json").read_text())
    assert res["headline"]["pass_rate"] == 0.0  # scored from the new 64x64 file
    assert _rows(run, "SELECT COUNT(*) FROM scores")[0][0] == 1


def test_operational_model_args_do_not_block_a_resume(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "2", "-q").exit_code == 0
    again = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "2", "-a", "delay=0.01")
    assert again.exit_code == 0 and "2 already done, 0 new" in again.output
    other = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "-a", "format=jpeg")
    assert other.exit_code == 2  # an argument that changes the images is a different run
