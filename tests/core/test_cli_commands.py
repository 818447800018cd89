"""suites / models / doctor / report / import / config / secrets."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.conftest import write_png


def test_suites_and_models_list(cli) -> None:
    r = cli("suites", "--json")
    assert r.exit_code == 0
    suites = {s["name"]: s for s in json.loads(r.stdout)}
    props = suites["image-props"]
    assert props["items"] == 33 and props["needs"] == ["none"] and props["categories"] == ["square", "landscape", "portrait"]
    r = cli("models", "--json")
    schemes = {b["scheme"] for b in json.loads(r.stdout)["backends"]}
    assert {"folder", "synthetic"} <= schemes
    assert cli("suites").exit_code == 0 and cli("models").exit_code == 0


def test_doctor_names_keys_but_never_values(cli, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-doctor-secret-123")
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    r = cli("doctor", "--json")
    assert r.exit_code == 0
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["OPENAI_API_KEY"] == {"name": "OPENAI_API_KEY", "ok": True, "detail": "set"}
    assert checks["GEMINI_API_KEY"]["ok"] is False
    assert checks["torch"]["ok"] is True
    assert "sk-doctor-secret-123" not in r.output
    assert "sk-doctor-secret-123" not in cli("doctor").output


def test_secret_model_args_are_refused_and_never_reach_the_run_dir(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    secret = "sk-never-write-me-4242"
    r = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "-a", f"api_key={secret}", "--limit", "2")
    assert r.exit_code == 2 and "would put a credential on the command line" in r.output and secret not in r.output
    # a credential-looking suite arg is an argument no suite declares: refused, its value never shown or stored
    r = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "--suite-arg", f"token={secret}", "-a", "format=png",
            "--limit", "2")
    assert r.exit_code == 2 and "takes no argument 'token'" in r.output and secret not in r.output
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    r = cli("run", "image-props", "-m", "synthetic:gradient", "-o", run, "-a", "format=png", "--limit", "2")
    assert r.exit_code == 0, r.output
    data = json.loads((run / "run.json").read_text())
    assert data["spec"]["params"] == {"format": "png"} and data["spec"]["suite_args"] == {}


def test_recorded_command_masks_credentials() -> None:
    from genlens.runs.rundir import redact_argv

    argv = ["/x/bin/genlens", "run", "wise", "--scorer-arg", "api_key=sk-1", "-a", "max_tokens=5", "--judge", "openai:m"]
    assert redact_argv(argv) == ["genlens", "run", "wise", "--scorer-arg", "api_key=***", "-a", "max_tokens=5",
                                 "--judge", "openai:m"]


def test_report_formats(cli, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli("run", "image-props", "-m", "synthetic:gradient", "-o", a, "-q").exit_code == 0
    assert cli("run", "image-props", "-m", "synthetic:fixed", "-o", b, "-q").exit_code == 0
    md = cli("report", a, b, "--format", "md").stdout
    assert md.splitlines()[0] == "| suite | scope | metric | a (synthetic:gradient) | b (synthetic:fixed) |"
    assert "| image-props | headline | pass_rate | 1.000 | 0.091 |" in md
    data = json.loads(cli("report", a, b, "-f", "json").stdout)
    assert [d["model"] for d in data] == ["synthetic:gradient", "synthetic:fixed"]
    rows = list(csv.DictReader(io.StringIO(cli("report", a, b, "-f", "csv").stdout)))
    head = [r for r in rows if r["scope"] == "headline"]
    assert [(r["run"], float(r["value"])) for r in head] == [("a", 1.0), ("b", 3 / 33)]
    assert float(head[0]["ci_low"]) > 0.89  # Wilson lower bound for 33/33 = 0.8957
    table = cli("report", a, b)
    assert table.exit_code == 0 and "pass_rate" in table.stdout
    out = tmp_path / "r.md"
    assert cli("report", a, "-f", "md", "-o", out).exit_code == 0 and out.read_text().startswith("| suite")
    r = cli("report", a, "-f", "pdf")
    assert r.exit_code == 2 and "unknown report format 'pdf'" in r.output


def test_report_of_unscored_run(cli, tmp_path: Path) -> None:
    run = tmp_path / "g"
    assert cli("generate", "image-props", "-m", "synthetic:gradient", "-o", run, "-q", "--limit", "1").exit_code == 0
    r = cli("report", run)
    assert r.exit_code == 2 and "has no results.json yet" in r.output and f"genlens score {run}" in r.output


def test_import_generic_layout_then_score(cli, tmp_path: Path) -> None:
    from genlens.suites.image_props import ImagePropsSuite

    src = tmp_path / "made_elsewhere"
    items = list(ImagePropsSuite().items())[:4]
    for item in items[:3]:
        write_png(src / item.id / "0.png", size=item.size)
    write_png(src / f"{items[3].id}.png", size=(10, 10))  # wrong size, flat layout
    run = tmp_path / "run"
    r = cli("import", src, "--suite", "image-props", "--out", run)
    assert r.exit_code == 0, r.output
    assert cli("score", run, "-q").exit_code == 0
    res = json.loads((run / "results.json").read_text())
    assert res["headline"]["pass_rate"] == 0.75 and res["counts"]["images_scored"] == 4
    assert res["model"] == f"folder:{src.resolve()}"
    again = cli("import", src, "--suite", "image-props", "--out", run)
    assert "4 already done" in again.output


def test_config_file_supplies_options(cli, tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"model: synthetic:gradient\nout: {tmp_path / 'cfgrun'}\nlimit: 2\nsamples: 2\nmodel_args: {{format: png, delay: 0}}\n")
    r = cli("run", "image-props", "--config", cfg, "-q")
    assert r.exit_code == 0, r.output
    spec = json.loads((tmp_path / "cfgrun" / "run.json").read_text())["spec"]
    assert spec["samples"] == 2 and spec["limit"] == 2 and spec["params"] == {"format": "png"}  # delay is operational
    # the command line wins over the file
    r = cli("run", "image-props", "--config", cfg, "--limit", "1", "-o", tmp_path / "cli", "-q")
    assert json.loads((tmp_path / "cli" / "run.json").read_text())["spec"]["limit"] == 1


def test_help_explains(cli) -> None:
    r = cli("run", "--help")
    assert r.exit_code == 0
    for option in ("--samples", "--limit", "--seed", "--concurrency", "--model-arg", "--config", "--quiet", "--json"):
        assert option in r.output


def test_reimport_of_a_changed_image_drops_its_old_score(cli, tmp_path: Path) -> None:
    import sqlite3

    src = tmp_path / "src"
    write_png(src / "p0-512x512" / "0.png", size=(512, 512))
    run = tmp_path / "run"
    assert cli("import", src, "--suite", "image-props", "--out", run, "-q").exit_code == 0
    assert cli("score", run, "-q").exit_code == 0
    write_png(src / "p0-512x512" / "0.png", size=(64, 64))
    next((run / "images").rglob("*.png")).unlink()  # the run's copy is lost: re-import it
    assert cli("import", src, "--suite", "image-props", "--out", run, "-q").exit_code == 0
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 0
    assert cli("score", run, "-q").exit_code == 0
    assert json.loads((run / "results.json").read_text())["headline"]["pass_rate"] == 0.0
