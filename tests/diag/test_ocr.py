"""OCR scoring rules by hand, and the real rapidocr reading text rendered in several scripts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from genlens.scorers.ocr import character_error_rate, coverage, levenshtein, normalise

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CJK = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def render(text: str, font_path: Path, size: tuple[int, int] = (900, 200)) -> np.ndarray:
    """Black text at 44 px on white, the way a clean sign would look."""
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((30, 70), text, font=ImageFont.truetype(str(font_path), 44), fill="black")
    return np.asarray(image)


def test_levenshtein_and_cer_by_hand():
    # kitten -> sitting: substitute k/s, e/i, insert g = 3 edits; CER = 3 / 6 = 0.5.
    assert levenshtein("kitten", "sitting") == 3
    assert character_error_rate("kitten", "sitting") == pytest.approx(0.5)
    # Case, spaces and punctuation are normalised away: "Fresh Bread, Daily!" == "fresh bread daily".
    assert normalise("Fresh Bread, Daily!") == "freshbreaddaily"
    assert character_error_rate("Fresh Bread Daily", "fresh bread, daily") == 0.0
    # Nothing read: 4 deletions / 4 = 1.0; a long wrong reading is capped at 1.0.
    assert character_error_rate("OPEN", "") == 1.0
    assert character_error_rate("OPEN", "CLOSED FOR THE DAY") == 1.0
    # 欢迎 read as 欢 : one deletion of two characters -> 0.5. NFKC folds full-width Ａ to A.
    assert character_error_rate("欢迎", "欢") == pytest.approx(0.5)
    assert normalise("ＡＢ") == "ab"


def test_coverage_decides_measurability():
    charset = frozenset("abcdefghijklmnopqrstuvwxyz欢迎")
    assert coverage("Open 欢迎", charset) == 1.0
    assert coverage("Привет", charset) == 0.0
    assert coverage("ab Пр", charset) == pytest.approx(0.5)  # 2 of the 4 non-space characters


@pytest.fixture(scope="module")
def ocr():
    pytest.importorskip("rapidocr")
    pytest.importorskip("onnxruntime")
    from genlens.scorers import ocr as module

    module.ocr_engine()  # one engine per session (about 3 s to load)
    return module


@pytest.mark.parametrize(("script", "text", "font"), [
    ("en", "Fresh Bread Daily", DEJAVU),
    ("zh", "新鲜面包每日供应", CJK),
    ("ja", "本日のおすすめ", CJK),
])
def test_real_ocr_reads_latin_chinese_and_japanese_exactly(ocr, script: str, text: str, font: Path):
    if not font.exists():
        pytest.skip(f"font {font} not installed (.ci/run installs fonts-wqy-zenhei)")
    result = ocr.score_text(render(text, font), text, script)
    assert result["measurable"] is True
    assert result["exact"] is True and result["cer"] == 0.0, result["read"]


def test_real_ocr_on_a_misspelt_sign_gives_the_hand_worked_cer(ocr):
    # The sign says "Fresh Bred Daily" where "Fresh Bread Daily" was asked: 1 deletion in 15
    # normalised characters -> CER 1/15 = 0.0667.
    if not DEJAVU.exists():
        pytest.skip(f"font {DEJAVU} not installed")
    result = ocr.score_text(render("Fresh Bred Daily", DEJAVU), "Fresh Bread Daily", "en")
    assert result["cer"] == pytest.approx(1 / 15) and result["exact"] is False


@pytest.mark.parametrize(("script", "text", "font"), [
    ("ko", "오늘의 추천 메뉴", CJK),
    ("ru", "Свежий хлеб каждый день", DEJAVU),
    ("ar", "خبز طازج كل يوم", DEJAVU),
    ("hi", "ताज़ी रोटी हर दिन", DEJAVU),
])
def test_scripts_the_recogniser_lacks_are_not_measurable_never_zero(ocr, script: str, text: str, font: Path):
    result = ocr.score_text(np.full((64, 64, 3), 255, np.uint8), text, script)
    assert result["measurable"] is False
    assert result["cer"] is None and result["exact"] is None
    assert "not measurable here" in result["reason"] and f"ocr_model_{script}" in result["reason"]


def test_a_given_recogniser_is_used_for_its_script(ocr):
    # Pointing Russian at the bundled model keeps it unmeasurable (0% Cyrillic) but names that model.
    path = str(ocr.default_rec_model())
    result = ocr.score_text(np.full((64, 64, 3), 255, np.uint8), "Привет", "ru", {"ru": path})
    assert result["measurable"] is False and result["recogniser"] == Path(path).name
