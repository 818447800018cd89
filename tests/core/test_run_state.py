"""Run-state edge cases: changed --limit/--samples, the lock held before any write and across
`genlens run`, absolute remembered paths, and a full disk at open."""

from __future__ import annotations

import fcntl
import json
import sqlite3
from pathlib import Path

import pytest


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def _try_lock(run: Path) -> bool:
    """Whether another holder (a fresh open file, as another process would have) could take the run's lock."""
    with open(run / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return True


def test_a_smaller_limit_and_samples_aggregate_only_what_they_select(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "3", "--samples", "3", "-q").exit_code == 0
    big = json.loads((run / "results.json").read_text())
    assert big["samples"] == 3 and big["counts"]["generations_ok"] == 9
    again = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "1", "--samples", "1")
    assert again.exit_code == 0, again.output
    small = json.loads((run / "results.json").read_text())
    assert small["samples"] == 1 and small["limit"] == 1
    assert small["counts"]["generations_ok"] == 1  # exactly the 1 item x 1 sample selected
    assert small["counts"]["stored_outside_selection"] == 8
    assert sum(c.get("n", 0) for c in small["categories"].values()) == 1
    assert len((run / "rows.jsonl").read_text().splitlines()) == 1
    assert any("8 stored generation(s) lie outside" in note for note in small["provenance"]["notes"])
    assert "8 stored generation(s) lie outside" in again.stderr
    # nothing was deleted: the larger options count them again
    assert cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "3", "--samples", "3", "-q").exit_code == 0
    assert json.loads((run / "results.json").read_text())["counts"]["generations_ok"] == 9


def test_a_locked_run_is_refused_before_scoring_json_is_written(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "1", "-q").exit_code == 0
    before = (run / "scoring.json").read_bytes() if (run / "scoring.json").exists() else None
    with open(run / ".lock", "a+") as other:  # another genlens process holds the run
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = cli("score", run, "--clip", "some/other-clip")
    assert result.exit_code == 2 and "another genlens process" in _one_error_line(result)
    after = (run / "scoring.json").read_bytes() if (run / "scoring.json").exists() else None
    assert after == before


def test_score_of_a_missing_run_creates_nothing(cli, tmp_path: Path) -> None:
    result = cli("score", tmp_path / "missing")
    assert result.exit_code == 2 and "no such run directory" in _one_error_line(result)
    assert not (tmp_path / "missing").exists()


def test_remembered_paths_are_absolute_and_resolved(cli, tmp_path: Path, monkeypatch) -> None:
    work = tmp_path / "work"
    (work / "models" / "m2f").mkdir(parents=True)
    (work / "data").mkdir()
    monkeypatch.chdir(work)
    result = cli("run", "image-props", "-m", "synthetic:gradient", "-o", "run", "--limit", "1", "-q",
                 "--detector", "models/m2f", "--clip", "openai/clip-vit-base-patch32", "--data-dir", "data")
    assert result.exit_code == 0, result.output
    saved = json.loads((work / "run" / "scoring.json").read_text())
    assert saved["detector"] == str((work / "models" / "m2f").resolve())
    assert saved["clip"] == "openai/clip-vit-base-patch32"  # a hub id stays a hub id
    assert saved["data_dir"] == str((work / "data").resolve())
    assert json.loads((work / "run" / "run.json").read_text())["data_dir"] == str((work / "data").resolve())
    monkeypatch.chdir(tmp_path)  # a later `genlens score RUN` from elsewhere finds the same folders
    assert cli("score", work / "run", "-q").exit_code == 0
    assert json.loads((work / "run" / "scoring.json").read_text()) == saved


def test_genlens_run_holds_one_lock_from_generate_to_aggregate(cli, tmp_path: Path, monkeypatch) -> None:
    import genlens.runs.engine as engine

    run = tmp_path / "run"
    seen: dict[str, bool] = {}
    real_score, real_aggregate = engine.score, engine.aggregate

    def score(run_dir, ctx, **kwargs):
        seen["free_before_score"] = _try_lock(run_dir)
        return real_score(run_dir, ctx, **kwargs)

    def aggregate(run_dir, ctx, **kwargs):
        seen["free_before_aggregate"] = _try_lock(run_dir)
        return real_aggregate(run_dir, ctx, **kwargs)

    monkeypatch.setattr(engine, "score", score)
    monkeypatch.setattr(engine, "aggregate", aggregate)
    result = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "1", "-q")
    assert result.exit_code == 0, result.output
    assert seen == {"free_before_score": False, "free_before_aggregate": False}
    assert _try_lock(run)  # and let go at the end


def test_run_lock_is_reentrant_in_one_thread_only(tmp_path: Path) -> None:
    import threading

    from genlens.errors import RunDirError
    from genlens.runs.engine import run_lock

    errors: list[Exception] = []

    def other_thread() -> None:
        try:
            with run_lock(tmp_path):
                pass
        except RunDirError as exc:
            errors.append(exc)

    with run_lock(tmp_path), run_lock(tmp_path):
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        assert not _try_lock(tmp_path)
    assert len(errors) == 1 and _try_lock(tmp_path)


@pytest.mark.parametrize("when", ["open", "record"])
def test_a_full_disk_says_free_space_and_rerun(cli, tmp_path: Path, monkeypatch, when: str) -> None:
    import genlens.runs.engine as engine

    run = tmp_path / "run"
    if when == "open":
        def full(*_args, **_kwargs):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(engine, "RunStore", full)
    else:
        real = engine.RunStore.put_generations
        calls = {"n": 0}

        def flaky(self, records):
            records = list(records)
            if calls["n"] + len(records) > 2:
                raise sqlite3.OperationalError("database or disk is full")
            calls["n"] += len(records)
            real(self, records)

        monkeypatch.setattr(engine.RunStore, "put_generations", flaky)
        monkeypatch.setattr(engine, "COMMIT_ROWS", 1)  # one row per transaction: the third one finds the disk full
    result = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "4", "-c", "1")
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "the disk is full" in line and "free some space, then run the same command again to resume" in line
    assert "new --out" not in line
    monkeypatch.undo()
    again = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--limit", "4")
    assert again.exit_code == 0
    if when == "record":
        assert "2 already done, 2 new" in again.output
