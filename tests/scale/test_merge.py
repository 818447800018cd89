"""`genlens merge`: shards of one run joined into the run an unsharded command makes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

VOLATILE = {"run", "run_dir", "merged", "genlens_version"}


def results_of(run: Path) -> dict:
    data = json.loads((run / "results.json").read_text())
    return {k: v for k, v in data.items() if k not in VOLATILE}


def rows_of(run: Path) -> list[dict]:
    return sorted((json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()),
                  key=lambda r: (r["item"], r["sample"]))


def generations_of(run: Path) -> list[tuple]:
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        return sorted(conn.execute("SELECT fingerprint, item_id, sample, seed, status FROM generations"))


def invoke(*args: object):
    from typer.testing import CliRunner

    from genlens.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def make_run(cli, out: Path, *extra: str) -> None:
    result = cli("run", "image-props", "--model", "synthetic:gradient", "--out", out, "--samples", "2", "--seed", "7",
                 "--limit", "12", "--quiet", *extra)
    assert result.exit_code == 0, result.stderr


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> tuple[Path, list[Path]]:
    """One unsharded run and its three shards, made once for the module (tests only read them)."""
    root = tmp_path_factory.mktemp("sharded")
    whole = root / "whole"
    make_run(invoke, whole)
    shards = [root / f"shard{i}" for i in range(3)]
    for i, shard in enumerate(shards):
        make_run(invoke, shard, "--shard", f"{i}/3")
    return whole, shards


def test_merging_three_shards_equals_the_unsharded_run(cli, sharded, tmp_path: Path) -> None:
    whole, shards = sharded
    merged = tmp_path / "merged"
    result = cli("merge", *shards, "--out", merged, "--quiet")
    assert result.exit_code == 0, result.stderr
    assert generations_of(merged) == generations_of(whole)
    assert results_of(merged) == results_of(whole)
    assert rows_of(merged) == rows_of(whole)
    for row in rows_of(merged):  # every image is there, byte-identical to the unsharded run's
        assert (merged / row["image"]).read_bytes() == (whole / row["image"]).read_bytes()
    assert "shard" not in json.loads((merged / "results.json").read_text())
    # merging again is a no-op resume
    again = cli("merge", *shards, "--out", merged, "--quiet")
    assert again.exit_code == 0 and generations_of(merged) == generations_of(whole)


def test_a_shard_alone_is_never_reported_as_the_result(cli, sharded) -> None:
    _whole, shards = sharded
    assert json.loads((shards[1] / "results.json").read_text())["shard"] == "1/3"
    result = cli("report", *shards)
    assert result.exit_code == 2
    assert "shard 0/3" in result.stderr and "genlens merge" in result.stderr


def test_a_missing_shard_is_said_and_the_merge_is_partial(cli, sharded, tmp_path: Path) -> None:
    whole, shards = sharded
    merged = tmp_path / "two-of-three"
    result = cli("merge", shards[0], shards[2], "--out", merged)
    assert result.exit_code == 0, result.stderr
    assert "missing shards: 1" in result.stderr
    assert json.loads((merged / "run.json").read_text())["missing_shards"] == [1]
    assert len(generations_of(merged)) < len(generations_of(whole))


def test_mismatched_shards_are_refused(cli, sharded, tmp_path: Path) -> None:
    _whole, shards = sharded
    other = tmp_path / "other-seed"
    make_run(cli, other, "--shard", "1/3", "--seed", "8")
    result = cli("merge", shards[0], other, "--out", tmp_path / "m1")
    assert result.exit_code == 2 and "seed=8" in result.stderr.replace("'", "")
    result = cli("merge", shards[0], shards[0], "--out", tmp_path / "m2")
    assert result.exit_code == 2 and "twice" in result.stderr
    fours = tmp_path / "fours"
    make_run(cli, fours, "--shard", "1/4")
    result = cli("merge", shards[0], fours, "--out", tmp_path / "m3")
    assert result.exit_code == 2 and "different counts" in result.stderr
    result = cli("merge", shards[0], "--out", tmp_path / "m4")
    assert result.exit_code == 2 and "at least two" in result.stderr
    assert not (tmp_path / "m1").exists() and not (tmp_path / "m2").exists()


def test_an_item_with_two_fingerprints_is_a_conflict(cli, sharded, tmp_path: Path) -> None:
    import shutil

    _whole, originals = sharded
    shards = [tmp_path / p.name for p in originals]  # a copy: the module's shards stay as made
    for source, dest in zip(originals, shards, strict=True):
        shutil.copytree(source, dest)
    with sqlite3.connect(shards[1] / "genlens.sqlite") as conn:  # same (item, sample) as in shard 0, other fingerprint
        _fp, item, sample, seed, status, payload, created = conn.execute(
            "SELECT fingerprint, item_id, sample, seed, status, payload, created FROM generations LIMIT 1").fetchone()
    with sqlite3.connect(shards[0] / "genlens.sqlite") as conn:
        conn.execute("INSERT INTO generations VALUES (?,?,?,?,?,?,?)", ("f" * 32, item, sample, seed, status, payload, created))
    result = cli("merge", *shards, "--out", tmp_path / "conflict")
    assert result.exit_code == 2 and "different fingerprints" in result.stderr
