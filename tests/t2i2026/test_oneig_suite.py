"""``genlens run oneig`` end to end offline: fixture data, tiny Qwen2.5-VL judge, tiny CLIP encoders, report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from genlens.testing.tiny_models import save_tiny_clip
from genlens.testing.tiny_vlm import save_tiny_qwen_vl
from tests.t2i2026.oneig_fixture import write_oneig_data


@pytest.fixture(autouse=True)
def oneig_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("oneig_models")
    judge = save_tiny_qwen_vl(root / "qwen", answer="Yes")
    clip = save_tiny_clip(root / "clip")
    from safetensors.numpy import save_file

    # one reference per encoder for the fixture's only style; both encoders are the tiny CLIP (L2-normalised, as upstream's are)
    dim = json.loads((clip / "config.json").read_text())["projection_dim"]
    rng = np.random.default_rng(0)
    refs = {}
    for enc in ("csd", "se"):
        vectors = rng.normal(size=(2, dim))
        refs[f"{enc}/watercolor"] = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    save_file(refs, str(root / "refs.safetensors"))
    return {"judge": judge, "clip": clip, "refs": root / "refs.safetensors"}


def suite_args(models, **extra) -> list[str]:
    args = {"csd_model": models["clip"], "style_encoder": models["clip"], "style_refs": models["refs"],
            "diversity_model": models["clip"], "reasoning_model": models["clip"], **extra}
    out: list[str] = []
    for key, value in args.items():
        out += ["--suite-arg", f"{key}={value}"]
    return out


def test_items_per_dimension_en_and_zh(tmp_path):
    from genlens.suites.oneig import OneIGSuite

    data = write_oneig_data(tmp_path / "oneig")
    items = {i.id: i for i in OneIGSuite(data_dir=data).items()}
    assert list(items) == ["anime_000", "anime_001", "human_000", "object_000", "text_000", "reasoning_000"]
    assert items["anime_000"].meta["dimensions"] == ["diversity", "alignment", "style"]
    assert items["anime_000"].meta["style"] == "watercolor" and "style" not in items["anime_001"].meta["dimensions"]
    assert items["human_000"].meta["questions"] == {"1": "Is there a man?", "2": "Is the man old?", "3": "Is he smiling?"}
    assert items["text_000"].meta["dimensions"] == ["diversity", "text"]
    assert items["reasoning_000"].meta["answer"].startswith("Water boils")
    zh = {i.id: i for i in OneIGSuite(data_dir=data, suite_args={"lang": "zh"}).items()}
    assert zh["multilingualism_000"].meta["dimensions"] == ["diversity", "alignment"]
    assert zh["text_000"].meta["text_truth"] == "['\u5f00\u95e8']" and zh["anime_000"].prompt.startswith("zh ")


def test_end_to_end_offline_with_tiny_models(cli, tmp_path, models):
    data = write_oneig_data(tmp_path / "oneig")
    run = tmp_path / "run"
    r = cli("run", "oneig", "-m", "synthetic:gradient", "--samples", "2", "--data-dir", data, "-o", run, "-q",
            "--judge", f"local:{models['judge']}", "--scorer-arg", "max_new_tokens=1", *suite_args(models))
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    head = results["headline"]
    # every question answered exactly "Yes" -> every tile 1.0 -> alignment 1.0 over the 4 alignment prompts
    assert head["alignment"] == pytest.approx(1.0)
    # OCR "Yes" vs "OPEN NOW": no character in common (case-sensitive) -> ED 8, CR 0, WAC 0 -> 1 - 8/100 = 0.92
    assert head["text"] == pytest.approx(0.92)
    assert results["metrics"]["text_ED"] == pytest.approx(8.0) and results["metrics"]["text_WAC"] == 0.0
    for name in ("style", "diversity", "reasoning"):
        assert isinstance(head[name], float), name
    assert 0.0 <= head["style"] <= 1.0 and head["diversity"] >= 0.0
    scorers = results["provenance"]["scorers"]
    assert scorers["diversity"]["official"] is False and "STAND-IN" in scorers["reasoning"]["note"]
    assert scorers["alignment"]["official"] is False  # a tiny judge, not Qwen2.5-VL-7B-Instruct
    assert any("not the official Qwen" in c for c in results["provenance"]["caveats"])
    assert results["extra"]["coverage_by_dimension"]["alignment"] == {"complete": True, "prompts": [4, 4], "images": [8, 8]}
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    text_row = next(r for r in rows if r["item"] == "text_000")
    assert text_row["text"] == [{"ED": 8, "CR": 0, "WAC": 0.0}]
    # a tiny judge and the stand-ins: their numbers are not set against the published columns
    assert results["categories"]["alignment (not comparable)"] == {"score": pytest.approx(1.0), "n": 4}
    assert "diversity (not comparable)" in results["categories"] and "style (not comparable)" in results["categories"]
    report = cli("report", run, "--format", "md")
    # the published EN leaderboard stands beside the run (GPT-4o alignment 0.851), with no difference for our rows
    assert report.exit_code == 0 and "GPT-4o" in report.stdout and "0.851" in report.stdout
    assert "alignment (not comparable)" in report.stdout and "(+0.149)" not in report.stdout


def test_a_partial_run_has_no_headline_and_says_why(cli, tmp_path, models):
    data = write_oneig_data(tmp_path / "oneig")
    run = tmp_path / "run"
    # --limit 2: only anime_000 and anime_001 -> alignment 2/4 prompts, text 0/1, diversity 2/6
    r = cli("run", "oneig", "-m", "synthetic:gradient", "--samples", "1", "--limit", "2", "--data-dir", data, "-o", run, "-q",
            "--judge", f"local:{models['judge']}", "--scorer-arg", "max_new_tokens=1",
            "--suite-arg", "dimensions=alignment,text")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    assert results["headline"]["alignment"] is None and results["metrics"]["alignment_partial"] == pytest.approx(1.0)
    assert results["headline"]["text"] is None and results["metrics"].get("text_partial") is None
    assert results["extra"]["coverage_by_dimension"]["alignment"]["prompts"] == [2, 4]
    assert any(c.startswith("alignment: partial (2/4 prompts") for c in results["provenance"]["caveats"])
    assert results["categories"]["alignment (not comparable)"]["score"] is None


def test_bad_setup_is_one_line(cli, tmp_path):
    r = cli("run", "oneig", "-m", "synthetic:gradient", "--data-dir", tmp_path / "nowhere", "-o", tmp_path / "run")
    assert r.exit_code == 2 and "genlens data fetch oneig" in r.output and "Traceback" not in r.output
    data = write_oneig_data(tmp_path / "oneig")
    r = cli("run", "oneig", "-m", "synthetic:gradient", "--data-dir", data, "-o", tmp_path / "run2",
            "--suite-arg", "grid=0,2", "--generate-only")
    assert r.exit_code == 2 and "grid" in r.output and "Traceback" not in r.output
    r = cli("run", "oneig", "-m", "synthetic:gradient", "--data-dir", data, "-o", tmp_path / "run3",
            "--suite-arg", "dimensions=alignment,colour")
    assert r.exit_code == 2 and "unknown OneIG dimension" in r.output
    (data / "scripts" / "alignment" / "Q_D" / "human.json").write_text("[1, 2]")
    r = cli("run", "oneig", "-m", "synthetic:gradient", "--data-dir", data, "-o", tmp_path / "run4", "--generate-only")
    assert r.exit_code == 2 and "JSON object keyed by prompt id" in r.output


def test_grids_are_split_and_missing_dimensions_reported(cli, tmp_path, models):
    data = write_oneig_data(tmp_path / "oneig")
    images = tmp_path / "images"
    rng = np.random.default_rng(1)
    for folder, pid in (("anime", "000"), ("anime", "001"), ("human", "000"), ("object", "000"), ("text", "000"), ("reasoning", "000")):
        grid = Image.fromarray(rng.integers(1, 255, (64, 64, 3), dtype=np.uint8))
        if folder == "human":  # one failed sample: a black bottom-right tile, dropped as upstream drops it
            grid.paste((0, 0, 0), (32, 32, 64, 64))
        (images / folder / "mymodel").mkdir(parents=True, exist_ok=True)
        grid.save(images / folder / "mymodel" / f"{pid}.webp", lossless=True)
    run = tmp_path / "run"
    r = cli("import", images, "--suite", "oneig", "--data-dir", data, "-o", run, "-q")
    assert r.exit_code == 0, r.output
    r = cli("score", run, "--judge", f"local:{models['judge']}", "--scorer-arg", "max_new_tokens=1", "--data-dir", data,
            "--suite-arg", "grid=2,2", "--suite-arg", "dimensions=alignment,diversity",
            "--suite-arg", f"diversity_model={models['clip']}", "-q")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    assert results["headline"]["alignment"] == pytest.approx(1.0)
    assert results["counts"]["black_tiles"] == 1
    rows = {r["item"]: r for r in (json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines())}
    assert rows["human_000"]["alignment"] == [1.0, 1.0, 1.0] and rows["anime_000"]["alignment"] == [1.0] * 4
    assert rows["text_000"]["diversity"] == {"tiles": 4}
    for name in ("text", "style", "reasoning"):
        assert results["headline"][name] is None and "needs" in results["extra"]["missing_dimensions"][name]


def test_chinese_set_caps_the_edit_distance_at_50_and_scores_multilingualism(cli, tmp_path, models):
    data = write_oneig_data(tmp_path / "oneig")
    run = tmp_path / "run"
    r = cli("run", "oneig", "-m", "synthetic:gradient", "--samples", "1", "--data-dir", data, "-o", run, "-q",
            "--judge", f"local:{models['judge']}", "--scorer-arg", "max_new_tokens=1",
            "--suite-arg", "lang=zh", "--suite-arg", "dimensions=alignment,text")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    # alignment now covers 5 prompts (anime x2, human, object, multilingualism)
    assert results["extra"]["coverage_by_dimension"]["alignment"]["prompts"] == [5, 5]
    # OCR "Yes" vs truth 开门: ED 3 (2 substitutions + 1 insertion), CR 0, 0/2 characters -> 1 - 3/50 = 0.94
    assert results["headline"]["text"] == pytest.approx(0.94)
    assert results["extra"]["lang"] == "zh"
    report = cli("report", run, "--format", "md")  # the ZH leaderboard, not the EN one (GPT-4o ZH alignment 0.812)
    assert report.exit_code == 0 and "OneIG-Bench-ZH" in report.stdout and "0.812" in report.stdout
