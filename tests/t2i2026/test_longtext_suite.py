"""longtext end to end: the vendored prompts, a tiny Qwen2.5-VL reading through the official path, the rapidocr stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genlens.suites.base import get_suite_class
from genlens.suites.longtext import load_prompts
from tests.t2i2026._text_images import text_image

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def test_vendored_prompts():
    suite = get_suite_class("longtext")()
    items = suite.items()
    assert len(items) == 320 and suite.meta.default_samples == 4
    assert items[0].id == "en-0000" and items[0].meta["texts"] == ["FRESH BREWS, EVERY MORNING, EVERY DAY",
                                                                    "Locally Roasted Since 1998", "CENTRAL PARK - 2 BLOCKS"]
    assert items[160].id == "zh-0000" and items[160].meta["texts"][0] == "每日新鲜烘焙"
    assert {i.meta["topic"] for i in items} == {"sign", "label", "print", "webpage", "slide", "poster", "caption", "dialogue"}
    only_zh = get_suite_class("longtext")(suite_args={"language": "zh"})
    assert len(only_zh.items()) == 160 and len(load_prompts("en")) == 160


def test_import_layout_of_the_readme(tmp_path: Path):
    suite = get_suite_class("longtext")()
    for name in ("en/0000_1.png", "en/0000_4.png", "text_prompts_zh/0_2.png"):
        text_image(tmp_path / name, ["x"], size=(64, 64), font_size=10)
    found = sorted((i.item_id, i.sample) for i in suite.import_layout(tmp_path))
    # k counts from 1 upstream: 0000_1 is sample 0, 0000_4 sample 3; ImageEvalKit's folder name for Chinese works too
    assert found == [("en-0000", 0), ("en-0000", 3), ("zh-0000", 1)]
    flat = tmp_path / "flat"  # eval.sh's SAMPLE_FOLDER for one language
    text_image(flat / "0003_2.png", ["x"], size=(64, 64), font_size=10)
    only_en = get_suite_class("longtext")(suite_args={"language": "en"})
    assert [(i.item_id, i.sample) for i in only_en.import_layout(flat)] == [("en-0003", 1)]
    assert only_en.folder_candidates(only_en.items()[0], 1) == ["en/0000_2", "text_prompts/0000_2", "0000_2"]
    text_image(tmp_path / "en" / "0000_0.png", ["x"], size=(64, 64), font_size=10)
    with pytest.raises(Exception, match="k counts from 1"):
        list(suite.import_layout(tmp_path))


@pytest.fixture(scope="module")
def tiny_reader(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    from genlens.testing.tiny_vlm import save_tiny_qwen_vl

    # the rigged model always answers the one token "FRESH 每日" (see tiny_vlm): a known transcription
    return save_tiny_qwen_vl(tmp_path_factory.mktemp("vlm") / "qwen", answer="FRESH 每日")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_vlm_path_end_to_end(cli, tmp_path: Path, tiny_reader: Path, language: str):
    images = tmp_path / "images"
    text_image(images / language / "0000_1.png", ["anything"])
    run = tmp_path / "run"
    result = cli("run", "longtext", "--model", f"folder:{images}", "--suite-arg", f"language={language}", "--limit", "1",
                 "--samples", "1", "--judge", f"local:{tiny_reader}", "--scorer-arg", "max_new_tokens=1", "--out", run, "--quiet")
    assert result.exit_code == 0, result.output
    results = json.loads((run / "results.json").read_text())
    name = {"en": "english", "zh": "chinese"}[language]
    # EN: targets normalise to 14 words (fresh brews every morning every day locally roasted since 1998 central park 2 blocks);
    #     the reply "FRESH 每日" -> words fresh, 每日: one match -> 1/14.
    # ZH: 每日新鲜烘焙 (6) + 本地烘焙始于1998 (10) + 中央公园2公里 (7) = 23 characters; the reply's 每, 日 match -> 2/23.
    expected = {"en": 1 / 14, "zh": 2 / 23}[language]
    assert results["headline"] == {name: None}  # 1 of 160 prompts: partial, no headline
    assert results["metrics"][f"{name}_partial"] == pytest.approx(expected)
    assert results["provenance"]["official_scorer"] is False  # a tiny model, not Qwen2.5-VL-7B-Instruct
    assert "differ from the official Qwen/Qwen2.5-VL-7B-Instruct" in " ".join(results["provenance"]["caveats"])
    row = json.loads((run / "rows.jsonl").read_text().splitlines()[0])
    assert row["reply"] == "FRESH 每日" and row["matched"] == {"en": 1, "zh": 2}[language]
    report = cli("report", run, "--format", "md")
    # a one-language run stands beside that language's published column (GLM-Image README: EN 0.952, ZH 0.979)
    assert report.exit_code == 0 and f"| GLM-Image | {dict(en='0.952', zh='0.979')[language]} |" in report.output


def test_stand_in_reads_english_with_rapidocr(cli, tmp_path: Path):
    images = tmp_path / "images"
    # en-0000's three strings, one per line: all 14 words readable -> 14/14
    text_image(images / "en" / "0000_1.png", ["FRESH BREWS, EVERY MORNING,", "EVERY DAY", "Locally Roasted Since 1998",
                                              "CENTRAL PARK - 2 BLOCKS"], size=(900, 420))
    run = tmp_path / "run"
    result = cli("run", "longtext", "--model", f"folder:{images}", "--suite-arg", "language=en", "--limit", "1",
                 "--samples", "1", "--out", run, "--quiet")
    assert result.exit_code == 0, result.output
    results = json.loads((run / "results.json").read_text())
    assert results["metrics"]["english_partial"] == pytest.approx(1.0)
    assert results["provenance"]["scorer"] == "rapidocr stand-in" and results["provenance"]["official_scorer"] is False
    assert any(c.startswith("stand-in reader") for c in results["provenance"]["caveats"])


@pytest.mark.skipif(not WQY.exists(), reason=f"needs a CJK font to draw Chinese ({WQY})")
def test_stand_in_reads_chinese_with_rapidocr(cli, tmp_path: Path):
    from PIL import Image, ImageDraw, ImageFont

    images = tmp_path / "images"
    (images / "zh").mkdir(parents=True)
    image = Image.new("RGB", (900, 300), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(WQY), 48)
    draw.text((20, 20), "每日新鲜烘焙", fill="black", font=font)  # 6 of zh-0000's 23 characters
    image.save(images / "zh" / "0000_1.png")
    run = tmp_path / "run"
    result = cli("run", "longtext", "--model", f"folder:{images}", "--suite-arg", "language=zh", "--limit", "1",
                 "--samples", "1", "--out", run, "--quiet")
    assert result.exit_code == 0, result.output
    results = json.loads((run / "results.json").read_text())
    # 每日新鲜烘焙 read: 每 日 新 鲜 烘 焙 matched (烘焙 appears twice in the target, once here) -> 6/23
    assert results["metrics"]["chinese_partial"] == pytest.approx(6 / 23)


def test_aggregation_pools_per_language_and_averages_the_two(tmp_path: Path):
    from genlens.suites.base import ScoreContext
    from genlens.types import GenerationRecord, ScoredGeneration, ScoreRecord

    suite = get_suite_class("longtext")()
    by_id = {i.id: i for i in suite.items()}

    def entry(item_id: str, sample: int, reply: str | None) -> ScoredGeneration:
        status = "refused" if reply is None else "ok"
        gen = GenerationRecord("g", item_id, sample, 0, status, [] if reply is None else ["x.png"])
        scores = {} if reply is None else {"longtext_vlm": ScoreRecord("s", "g", "longtext_vlm", "ok", {"reply": reply, "model": "m"})}
        return ScoredGeneration(by_id[item_id], gen, scores)

    scored = [entry("en-0000", 0, "Fresh brews!"), entry("en-0000", 1, None), entry("zh-0000", 0, "每日新鲜烘焙")]
    result = suite.aggregate(scored, ScoreContext(run_dir=tmp_path, judge="local:m"))
    # EN: sample 0 matches fresh, brews = 2 of 14 words; the refusal matches 0 of 14 -> pooled 2/28 = 1/14
    # ZH: 每日新鲜烘焙 = 6 of 23 characters -> 6/23; average = (1/14 + 6/23) / 2
    assert result.categories["en"]["score"] == pytest.approx(1 / 14) and result.categories["zh"]["score"] == pytest.approx(6 / 23)
    assert list(result.headline) == ["average", "english", "chinese"] and result.headline["average"] is None  # 2/320 prompts
    assert result.metrics["average_partial"] == pytest.approx((1 / 14 + 6 / 23) / 2)
    assert result.counts["generation_refused"] == 1 and result.extra["languages"] == "en+zh"


def test_an_openai_compatible_reader_gets_the_official_instruction(cli, tmp_path: Path):
    """The reader served over HTTP (as vLLM would serve Qwen2.5-VL): a server this test starts on 127.0.0.1."""
    from genlens.testing.fake_chat import FakeChat
    from genlens.testing.http import FakeServer

    images = tmp_path / "images"
    text_image(images / "en" / "0000_1.png", ["anything"])
    run = tmp_path / "run"
    with FakeServer() as server:
        chat = FakeChat(server, answer=lambda _text: "FRESH BREWS, every morning addCriterion No text recognized.")
        result = cli("run", "longtext", "--model", f"folder:{images}", "--suite-arg", "language=en", "--limit", "1",
                     "--samples", "1", "--judge", "openai:Qwen/Qwen2.5-VL-7B-Instruct",
                     "--scorer-arg", f"base_url={server.url}/v1", "--out", run, "--quiet")
        assert result.exit_code == 0, result.output
        body = chat.requests[0]
    content = body["messages"][-1]["content"]
    texts = [part["text"] for part in content if part.get("type") == "text"]
    assert texts == ["Recognize the text in the image, only reply with the text content, but avoid repeating previously "
                     "mentioned content. If no text is recognized, please reply with 'No text recognized'."]
    assert body.get("max_tokens") == 1024 or body.get("max_completion_tokens") == 1024
    results = json.loads((run / "results.json").read_text())
    # reply words after the official clean-up: fresh brews every morning addcriterion -> fresh, brews, every, morning
    # match 4 of the 14 target words -> 4/14; the reader is the official model id, so official_scorer holds
    assert results["metrics"]["english_partial"] == pytest.approx(4 / 14)
    assert results["provenance"]["official_scorer"] is True
