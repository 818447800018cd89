"""Text read back from images with rapidocr (PP-OCR ONNX models shipped inside the wheel).

One engine per process (loading costs seconds). Whether a script can be measured is decided
from the recogniser's own character list (stored in the ONNX model's metadata): a string is
*measurable* when the recogniser knows at least 99% of its characters. The bundled PP-OCRv6
recogniser covers Latin, Chinese and Japanese (kana and kanji); Korean, Cyrillic, Arabic and
Devanagari are not in it, so those strings are reported as not measurable — never as zero.
Another recogniser (a PP-OCR ``rec`` ONNX file with its character list in the metadata) can be
given per script with ``--scorer-arg ocr_model_<script>=PATH``.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

MEASURABLE_COVERAGE = 0.99
_LOCK = threading.Lock()


def normalise(text: str) -> str:
    """NFKC, case-folded, without whitespace or punctuation (what CER and exact match compare)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions each cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(expected: str, read: str) -> float:
    """Levenshtein(expected, read) / len(expected) on normalised text, capped at 1.0."""
    ref, hyp = normalise(expected), normalise(read)
    if not ref:
        return 0.0 if not hyp else 1.0
    return min(1.0, levenshtein(ref, hyp) / len(ref))


def default_rec_model() -> Path:
    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    found = sorted(models.glob("*rec*.onnx"))
    if not found:
        raise FileNotFoundError(f"no bundled recogniser in {models}")
    return found[0]


@lru_cache(maxsize=8)
def recogniser_charset(model_path: str) -> frozenset[str]:
    """The characters a PP-OCR recogniser can output (from its ONNX metadata)."""
    import onnxruntime as ort

    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    characters = session.get_modelmeta().custom_metadata_map.get("character", "")
    return frozenset(characters.splitlines()) | {" "}


@lru_cache(maxsize=8)
def ocr_engine(rec_model: str | None = None) -> Any:
    """A shared rapidocr engine (optionally with another recogniser); built once per process.

    Detection works on the image scaled to at most 960 px on the long side; the angle
    classifier is off (signs are upright), which makes a call ~10× faster than the defaults.
    """
    from rapidocr import RapidOCR

    params: dict[str, Any] = {"Global.log_level": "error", "Global.use_cls": False,
                              "Det.limit_type": "max", "Det.limit_side_len": 960}
    if rec_model:
        params["Rec.model_path"] = rec_model
    return RapidOCR(params=params)


def read_text(rgb: np.ndarray, rec_model: str | None = None) -> tuple[str, float | None]:
    """All text lines in reading order (top to bottom, then left to right), joined by spaces, and the mean confidence."""
    engine = ocr_engine(rec_model)
    with _LOCK:  # one ONNX session; calls from worker threads take turns
        result = engine(np.ascontiguousarray(rgb))
    if result.txts is None or result.boxes is None:
        return "", None
    lines = []
    for text, box, score in zip(result.txts, result.boxes, result.scores, strict=False):
        box = np.asarray(box)
        lines.append((float(box[:, 1].mean()), float(box[:, 0].min()), float(box[:, 1].max() - box[:, 1].min()), text, score))
    lines.sort(key=lambda line: (line[0], line[1]))
    ordered: list[tuple[float, float, str, float]] = []  # group lines whose centres lie within half a height
    for cy, x, height, text, score in lines:
        if ordered and abs(cy - ordered[-1][0]) < 0.5 * height:
            ordered.append((ordered[-1][0], x, text, score))
        else:
            ordered.append((cy, x, text, score))
    ordered.sort(key=lambda line: (line[0], line[1]))
    return " ".join(t for _cy, _x, t, _s in ordered), float(np.mean([s for *_rest, s in ordered]))


def coverage(text: str, charset: frozenset[str]) -> float:
    """Share of the normalised characters of ``text`` the recogniser can output."""
    chars = normalise(text)
    if not chars:
        return 1.0
    known = {c.casefold() for c in charset} | set(charset)
    return sum(1 for c in chars if c in known) / len(chars)


def score_text(rgb: np.ndarray, expected: str, script: str, models: dict[str, str] | None = None) -> dict[str, Any]:
    """OCR verdict for one image: CER and exact match, or not measurable (with the reason)."""
    model = (models or {}).get(script)
    model_path = model or str(default_rec_model())
    share = coverage(expected, recogniser_charset(model_path))
    name = Path(model_path).name
    if share < MEASURABLE_COVERAGE:
        return {"measurable": False, "cer": None, "exact": None, "read": None, "recogniser": name, "coverage": share,
                "reason": (f"not measurable here: recogniser {name} knows {share:.0%} of the {script} characters "
                           f"(give one with --scorer-arg ocr_model_{script}=PATH)")}
    read, confidence = read_text(rgb, model)
    cer = character_error_rate(expected, read)
    return {"measurable": True, "cer": cer, "exact": normalise(read) == normalise(expected), "read": read,
            "confidence": confidence, "recogniser": name, "coverage": share,
            "reason": "exact match" if cer == 0 and normalise(read) == normalise(expected) else f"CER {cer:.2f}: read {read!r}"}
