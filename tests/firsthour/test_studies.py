"""Studies: several suites for one model, skipped parts named with what they need, one report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import write_png


def test_studies_lists_the_built_in_study(cli) -> None:
    r = cli("studies", "--json")
    assert r.exit_code == 0, r.output
    studies = {s["name"]: s for s in json.loads(r.stdout)}
    assert studies["gpt-imgeval"]["suites"] == [
        "geneval", "wise", "reason-edit", "multiturn-edit", "diag-blur", "diag-people", "diag-size", "diag-text", "diag-tone"]
    plain = cli("studies")
    assert plain.exit_code == 0 and "gpt-imgeval" in plain.stdout


def test_gpt_imgeval_on_the_synthetic_model_runs_what_it_can_and_writes_the_report(cli, tmp_path: Path) -> None:
    """The README's first command (with --limit so the test is short): weight-free parts run, the rest say why not."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    first = next(line for line in readme.splitlines() if line.startswith("./scripts/install && "))
    args = first.split("#")[0].split("&& .venv/bin/genlens ")[1].split()
    assert args[:2] == ["run", "gpt-imgeval"] and "synthetic:gradient" in args
    out = tmp_path / "demo"
    args[args.index("--out") + 1] = str(out)
    r = cli(*args, "--limit", "2")
    assert r.exit_code == 0, r.output
    study = json.loads((out / "study.json").read_text())
    assert {"multiturn-edit", "diag-blur", "diag-size", "diag-tone"} <= set(study["ran"])
    assert "needs detector weights" in study["skipped"]["geneval"]
    assert "genlens data fetch wise" in study["skipped"]["wise"]
    skip_lines = [line for line in r.stderr.splitlines() if line.startswith("skip ")]
    assert len(skip_lines) == len(study["skipped"])  # one line per skipped part
    for suite in study["ran"]:
        assert (out / suite / "results.json").exists()
    html = (out / "report.html").read_text()
    assert "diag-blur" in html and "multiturn-edit" in html
    # resumable as a whole: nothing is generated again
    again = cli("run", "gpt-imgeval", "--model", "synthetic:gradient", "--out", out, "--limit", "2", "--offline")
    assert again.exit_code == 0, again.output
    assert "diag-blur: 2 images, 2 already done, 0 new" in again.stderr


def test_comma_separated_suites_run_into_one_directory_each(cli, tmp_path: Path) -> None:
    out = tmp_path / "m"
    r = cli("run", "image-props,diag-size", "-m", "synthetic:gradient", "-o", out, "--limit", "2", "-q")
    assert r.exit_code == 0, r.output
    for suite in ("image-props", "diag-size"):
        assert json.loads((out / suite / "results.json").read_text())["suite"] == suite
    assert (out / "report.html").exists()


def test_a_users_own_study_file_with_a_typo_is_refused_and_a_good_one_runs(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: mine\nsuites: [image-prop]\n")
    r = cli("run", str(bad), "-m", "synthetic:gradient", "-o", tmp_path / "x")
    assert r.exit_code == 2 and "did you mean image-props" in r.output and "Traceback" not in r.output
    bad.write_text("name: mine\nsuite: [image-props]\n")
    r = cli("run", str(bad), "-m", "synthetic:gradient", "-o", tmp_path / "x")
    assert r.exit_code == 2 and "unknown study key(s): suite" in r.output
    studies = tmp_path / "studies"
    studies.mkdir()
    (studies / "mine.yaml").write_text("name: mine\ntitle: two quick ones\nsuites:\n  - image-props\n  - {suite: diag-size, limit: 1}\n")
    r = cli("run", "mine", "-m", "synthetic:gradient", "-o", tmp_path / "mine", "-q", env={"GENLENS_STUDY_PATH": str(studies)})
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "mine" / "diag-size" / "results.json").read_text())["counts"]["generations_ok"] == 1


def test_study_detect_runs_against_real_photos_when_given(cli, tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    real = tmp_path / "real"
    for i in range(12):
        write_png(real / f"{i}.png", size=(96, 96), seed=i)
    study = tmp_path / "s.yaml"
    study.write_text("name: s\nsuites: [image-props]\ndetect: {runs: [image-props]}\n")
    out = tmp_path / "out"
    r = cli("run", str(study), "-m", "synthetic:noise", "-o", out, "--limit", "12", "--real", real, "-q")
    assert r.exit_code == 0, r.output
    detect = json.loads((out / "image-props" / "detect.json").read_text())
    assert detect["n_real"] == 12
    assert json.loads((out / "study.json").read_text())["forensics"] == {"detect": "image-props"}


def test_preflight_refuses_before_generation_unless_generate_only(cli, tmp_path: Path) -> None:
    run = tmp_path / "g"
    r = cli("run", "geneval", "-m", "synthetic:gradient", "-o", run, "--limit", "2", "--offline")
    assert r.exit_code == 2, r.output
    assert "geneval scoring needs detector weights" in r.output and "--generate-only" in r.output
    assert not (run / "images").exists()  # nothing was generated (no money spent)
    r = cli("run", "geneval", "-m", "synthetic:gradient", "-o", run, "--limit", "2", "--generate-only", "--offline")
    assert r.exit_code == 0, r.output
    assert len(list((run / "images").rglob("*.png"))) == 8  # 2 items x GenEval's 4 samples


def test_preflight_names_a_missing_judge_key(monkeypatch, tmp_path: Path) -> None:
    from genlens.runs.preflight import check
    from genlens.suites.base import ScoreContext, get_suite_class

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    suite = get_suite_class("multiturn-edit")()
    assert check(suite, ScoreContext(run_dir=tmp_path)) == []  # judge optional: nothing missing
    wise = get_suite_class("wise")(data_dir=tmp_path)
    whats = [m.what for m in check(wise, ScoreContext(run_dir=tmp_path, judge="openai:gpt-4o-2024-05-13"))]
    assert any("OPENAI_API_KEY" in w for w in whats) and any("wise data" in w for w in whats)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    whats = [m.what for m in check(wise, ScoreContext(run_dir=tmp_path, judge="openai:gpt-4o-2024-05-13"))]
    assert not any("OPENAI_API_KEY" in w for w in whats)


def test_study_options_reach_only_the_parts_that_use_them() -> None:
    from genlens.api import RunOptions
    from genlens.studies import _options_for

    opts = RunOptions(judge="openai:gpt-4o", judge_prompt="r.txt", detector="/d", clip="/c")
    assert _options_for(("none",), opts) == RunOptions()
    geneval = _options_for(("detector", "clip"), opts)
    assert (geneval.judge, geneval.detector, geneval.clip) == (None, "/d", "/c")
    multiturn = _options_for(("none", "judge (optional, for success)"), opts)
    assert (multiturn.judge, multiturn.judge_prompt, multiturn.clip) == ("openai:gpt-4o", "r.txt", None)


def test_the_editing_study_runs_what_it_can_and_names_what_the_rest_needs(cli, tmp_path, monkeypatch):
    """editing-2026 bundles the 2026 editing suites; offline with no data, each data-bound suite is one skip line."""
    import json

    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "no-data"))
    result = cli("run", "editing-2026", "--model", "synthetic:gradient", "--out", tmp_path / "study", "--offline",
                 "--limit", "1", "--quiet")
    assert result.exit_code == 0, result.stderr
    study = json.loads((tmp_path / "study" / "study.json").read_text())
    assert study["ran"] == ["multiturn-edit"]
    assert set(study["skipped"]) == {"gedit", "imgedit", "imgedit-uge", "rise", "kris", "reason-edit"}
    assert "genlens data fetch imgedit" in study["skipped"]["imgedit"] and "genlens data fetch rise" in study["skipped"]["rise"]
    assert (tmp_path / "study" / "report.html").is_file()
