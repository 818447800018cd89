"""CVTG-2K text metrics: the target strings of a prompt, Word Accuracy and NED (genlens's stated definition).

NJU-PCALab/TextCrafter (@ 023a313) ships no scorer — ``TextCrafter_Flux/eval.py`` only generates —
so every published CVTG-2K number comes from a private script. genlens's definition, chosen to match
what the TextCrafter paper and later reports describe (OCR of the whole image, words of all regions):

- **target text**: the quoted spans of the prompt (``"…"``, ``“…”``; ``'…'`` only when a prompt has no
  double quotes, and then only quotes not inside a word, so "Joe's" stays one word);
- **words**: NFKC, case-folded, split on whitespace, punctuation (Unicode category P*) removed from
  each word, empty words dropped;
- **Word Accuracy** of an image: target words found among the OCR words, counted as a multiset (each
  OCR word matches at most one target word), divided by the number of target words;
- **NED** of an image: 1 − Levenshtein(target, read) / max(len(target), len(read)), both strings being
  their words joined by single spaces (1.0 when both are empty).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_DOUBLE = re.compile(r"\"([^\"]+)\"|“([^”]+)”")
_SINGLE = re.compile(r"(?<![\w])'(.+?)'(?![\w])|‘([^’]+)’")


def target_texts(prompt: str) -> list[str]:
    """The strings a CVTG prompt asks to render, in order of appearance."""
    found = [a or b for a, b in _DOUBLE.findall(prompt)]
    if not found:
        found = [a or b for a, b in _SINGLE.findall(prompt)]
    return [text.strip() for text in found if text.strip()]


def words(text: str) -> list[str]:
    """NFKC, case-folded, whitespace-split words with their punctuation removed (empty ones dropped)."""
    out = []
    for word in unicodedata.normalize("NFKC", text).casefold().split():
        kept = "".join(ch for ch in word if not unicodedata.category(ch).startswith("P"))
        if kept:
            out.append(kept)
    return out


def word_accuracy(targets: list[str], read: str) -> tuple[int, int]:
    """(matched target words, target words): a multiset intersection of target and OCR words."""
    wanted = Counter(w for text in targets for w in words(text))
    got = Counter(words(read))
    return sum((wanted & got).values()), sum(wanted.values())


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions each cost 1)."""
    from genlens.scorers.ocr import levenshtein as distance

    return distance(a, b)


def ned(targets: list[str], read: str) -> float:
    """1 − normalised edit distance between the target words and the OCR words (each joined by spaces)."""
    expected = " ".join(w for text in targets for w in words(text))
    got = " ".join(words(read))
    longest = max(len(expected), len(got))
    if longest == 0:
        return 1.0
    return 1.0 - levenshtein(expected, got) / longest


def clip_s(cosine: float, weight: float = 2.5) -> float:
    """CLIP-S (Hessel et al. 2021): w · max(cos, 0), w = 2.5 — the scale CVTG-2K tables report (≈0.7–0.8)."""
    return weight * max(float(cosine), 0.0)
