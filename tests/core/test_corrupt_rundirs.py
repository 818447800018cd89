"""Corrupted run directories: one line naming the file, what is wrong and what to do, exit 2,
nothing else touched; `report` skips an unreadable run with a note and renders the rest."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    from typer.testing import CliRunner

    from genlens.cli import app

    run = tmp_path_factory.mktemp("base") / "run"
    result = CliRunner().invoke(app, ["run", "image-props", "-m", "synthetic:gradient", "--limit", "3", "-o", str(run), "-q"])
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture
def run(base_run, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(base_run, copy)
    return copy


def _line(result) -> str:
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def _snapshot(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file() and p.name != ".lock"}


def garble_pages(run: Path) -> None:
    path = run / "genlens.sqlite"
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(4096)
        handle.write(bytes((i * 37 + 11) % 256 for i in range(size - 4096)))


def set_payload(table: str, payload: str):
    def damage(run: Path) -> None:
        conn = sqlite3.connect(run / "genlens.sqlite")
        with conn:
            conn.execute(f"UPDATE {table} SET payload=? WHERE rowid=1", (payload,))
        conn.close()
    return damage


def write(name: str, text: str | None):
    def damage(run: Path) -> None:
        path = run / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        if text is None:
            path.mkdir()
        else:
            path.write_text(text)
    return damage


def edit_results(**changes):
    def damage(run: Path) -> None:
        data = json.loads((run / "results.json").read_text())
        data.update(changes)
        (run / "results.json").write_text(json.dumps(data))
    return damage


SCORE_CASES = {
    "garbled sqlite page": (garble_pages, "genlens.sqlite", "damaged"),
    "items payload not JSON": (set_payload("items", "{not json"), "genlens.sqlite", "items row"),
    "generation payload incomplete": (set_payload("generations", "{}"), "genlens.sqlite", "generations row"),
    "run.json a string": (write("run.json", '"x"'), "run.json", "not a genlens run description"),
    "run.json null": (write("run.json", "null"), "run.json", "not a genlens run description"),
    "run.json a directory": (write("run.json", None), "run.json", "not a file"),
    "scoring.json a list": (write("scoring.json", "[1]"), "scoring.json", "not a mapping"),
    "images a file": (write("images", "x"), "images", "not a folder"),
}


@pytest.mark.parametrize("case", sorted(SCORE_CASES))
def test_score_on_a_corrupted_run_is_one_line(cli, run, case):
    damage, names, what = SCORE_CASES[case]
    damage(run)
    before = _snapshot(run)
    result = cli("score", run, "--quiet")
    assert result.exit_code == 2
    line = _line(result)
    assert names in line and what in line and " — " in line
    assert _snapshot(run) == before  # nothing else touched


def test_damaged_generation_row_is_redone_by_the_same_run_command(cli, run):
    set_payload("generations", "{oops")(run)
    result = cli("run", "image-props", "-m", "synthetic:gradient", "--limit", "3", "-o", run, "-q")
    assert result.exit_code == 0, result.output
    assert cli("score", run, "-q").exit_code == 0


REPORT_CASES = {
    "results a list": (write("results.json", "[1]"), "is a list"),
    "string headline": (edit_results(headline="high"), "headline is a str"),
    "list categories": (edit_results(categories=[1, 2]), "categories is a list"),
    "list in a category": (edit_results(categories={"square": {"n": [3]}}), "is not a single value"),
    "text headline value": (edit_results(headline={"pass_rate": "high"}), "is not a number"),
    "not JSON": (write("results.json", "{"), "not valid JSON"),
    "run.json null": (write("run.json", "null"), "not a genlens run description"),
}


@pytest.mark.parametrize("case", sorted(REPORT_CASES))
@pytest.mark.parametrize("fmt", ["table", "md", "json", "csv", "html"])
def test_report_of_a_corrupted_run(cli, run, base_run, case, fmt, tmp_path):
    damage, what = REPORT_CASES[case]
    damage(run)
    out = tmp_path / f"report.{fmt}"
    alone = cli("report", run, "--format", fmt, "--out", out)
    assert alone.exit_code == 2 and what in _line(alone)
    both = cli("report", base_run, run, "--format", fmt, "--out", out)
    assert both.exit_code == 0, both.output
    assert "Traceback" not in both.output and "note: skipped" in both.output and what in both.output
    assert out.stat().st_size > 0


def test_report_out_errors(cli, base_run, tmp_path):
    result = cli("report", base_run, "--out", tmp_path)
    assert result.exit_code == 2 and "names a directory" in _line(result)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cli("report", base_run, "--format", "md", "--out", blocker / "r.md")
    assert result.exit_code == 2 and "cannot write" in _line(result)


def test_report_out_on_a_full_disk(cli, base_run, tmp_path, monkeypatch):
    import errno

    import genlens.report as report

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report, "atomic_write_text", full)
    result = cli("report", base_run, "--format", "md", "--out", tmp_path / "r.md")
    assert result.exit_code == 2 and "disk is full" in _line(result)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads every file")
def test_unreadable_image_is_one_line(cli, tmp_path):
    from genlens.suites.image_props import ImagePropsSuite
    from tests.conftest import write_png

    item = next(iter(ImagePropsSuite().items()))
    image = write_png(tmp_path / "imgs" / item.id / "0.png", size=item.size)
    image.chmod(0)
    try:
        result = cli("run", "image-props", "-m", f"folder:{tmp_path / 'imgs'}", "--limit", "1", "-o", tmp_path / "r", "-q")
    finally:
        image.chmod(0o644)
    assert result.exit_code == 2 and "permission denied" in _line(result)


def test_damaged_item_row_is_rewritten_by_the_same_run_command(cli, run):
    set_payload("items", "{not json")(run)
    assert cli("score", run, "-q").exit_code == 2
    result = cli("run", "image-props", "-m", "synthetic:gradient", "--limit", "3", "-o", run, "-q")
    assert result.exit_code == 0, result.output


def test_judge_json_of_the_wrong_shape_is_not_a_traceback(tmp_path):
    from genlens.judges.scorer import read_judge_choice
    from genlens.suites._edit_judge import configured_judge
    from genlens.suites.base import ScoreContext

    (tmp_path / "judge.json").write_text("[1, 2]")
    assert read_judge_choice(tmp_path) == {} and configured_judge(ScoreContext(run_dir=tmp_path)) is None
    (tmp_path / "judge.json").write_text(json.dumps({"judge": ["x"], "judge_prompt": [1], "judge_args": "a"}))
    assert read_judge_choice(tmp_path) == {} and configured_judge(ScoreContext(run_dir=tmp_path)) is None
