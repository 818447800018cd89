"""LongText-Bench scoring rules, as X-Omni-Team/X-Omni @ 2b8237b ``textbench/`` computes them.

- The OCR reply is cleaned as ``evaluate_text_reward.py`` really does: its loop rebinds the result
  from the *original* text for every keyword, so only the last keyword, ``"No text recognized."``,
  is removed; ``"addCriterion"`` survives (a known upstream trap, reproduced on purpose).
- ``summary_scores.py`` normalises reply and target (the target is the item's text list joined by
  single spaces): every character outside CJK U+4E00–U+9FA5, ASCII letters and digits, whitespace
  and the French accented letters àâäéèêëîïôöùûüç (and capitals) is deleted.
  English: whitespace runs become one space, stripped, lower-cased; the unit is the word (split on
  whitespace). Chinese: whitespace is dropped too, case is kept; the unit is the character.
- matched units = multiset intersection of target and reply units; the language's score is
  Σ matched / Σ target units over all its images (a micro average, not a mean of per-image ratios).
- Reports give English, Chinese and their mean.
"""

from __future__ import annotations

import re
from collections import Counter

NO_TEXT = "No text recognized."
#: The official OCR instruction (a fact of the protocol: the VLM's prompt, sent as is).
OCR_PROMPT = ("Recognize the text in the image, only reply with the text content, "
              "but avoid repeating previously mentioned content. "
              "If no text is recognized, please reply with 'No text recognized'.")
_ACCENTS = "àâäéèêëîïôöùûüçÀÂÄÉÈÊËÎÏÔÖÙÛÜÇ"
_DROP = re.compile(rf"[^\u4e00-\u9fa5a-zA-Z0-9\s{_ACCENTS}]")
_KEEP_ZH = re.compile(rf"[\u4e00-\u9fa5a-zA-Z0-9{_ACCENTS}]")


def clean_reply(text: str) -> str:
    """The official clean-up: only ``"No text recognized."`` is removed (see the module docstring)."""
    return text.replace(NO_TEXT, "")


def normalise(text: str, language: str) -> str:
    """The official normalisation for ``en`` (words, lower case) or ``zh`` (characters, case kept)."""
    if language == "en":
        return re.sub(r"\s+", " ", _DROP.sub("", text)).strip().lower()
    return "".join(_KEEP_ZH.findall(text)).strip()


def units(text: str, language: str) -> list[str]:
    """What is counted: words for English, characters for Chinese (of normalised text)."""
    return text.split() if language == "en" else list(text)


def match_counts(targets: list[str], reply: str, language: str) -> tuple[int, int]:
    """(matched units, target units) for one image, after the official clean-up and normalisation."""
    wanted = Counter(units(normalise(" ".join(targets), language), language))
    got = Counter(units(normalise(clean_reply(reply), language), language))
    return sum((wanted & got).values()), sum(wanted.values())


def text_score(pairs: list[tuple[int, int]]) -> float | None:
    """Σ matched / Σ target over images (None without any target unit)."""
    total = sum(t for _m, t in pairs)
    return sum(m for m, _t in pairs) / total if total else None
