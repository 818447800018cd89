"""Reading scores out of a judge's text. What cannot be read is ``None`` — never a guess.

Shapes accepted, tried in this order (the first that yields every label wins):

1. a JSON object — in a fenced block (```json … ```), the whole answer, or the first ``{…}``
   in it; keys match labels ignoring case, spaces, ``_`` and ``-``; one level of nesting is
   searched (``{"scores": {...}}``); values may be ints, integral floats or digit strings;
2. labelled lines: ``Label: n`` with optional ``**bold**`` markers, an optional ``(0-2)``
   range note, an ASCII or full-width colon (``：``) or ``=``, and ``n`` or ``n/max``; when a
   label occurs more than once the last occurrence wins (the judge's final answer, as the
   official WISE parser does);
3. fallback when no label is found at all: the first lines holding nothing but a number, as
   many as there are labels, taken in label order (further such lines are ignored; fewer than
   the labels leaves the answer unparsed).

The upstream scripts' own readers, which differ in places, are in :mod:`genlens.judges.official`
(``--scorer-arg parse=official``).

Every value must be in ``allowed``; a value outside it, a decimal such as ``1.5``, or a missing
label makes the whole answer unparsed. ``<think>…</think>`` blocks are removed first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

PARSER_VERSION = "1"

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_NUMBER = r"(\d+(?:\.\d+)?)"
# A line holding only the number (upstream WISE's fallback), optionally bold or with a full stop; not a bullet.
_LONE_NUMBER = re.compile(r"^(?:\*\*)?(\d+)(?:\*\*)?\.?$")


def strip_thinking(raw: str) -> str:
    """Drop reasoning blocks some open judges emit before the answer."""
    text = _THINK.sub("", raw)
    if "</think>" in text.lower():  # an unopened closing tag: keep what follows it
        text = re.split(r"</think>", text, flags=re.IGNORECASE)[-1]
    return text.strip()


def _norm_key(text: str) -> str:
    return re.sub(r"[\s_\-*]+", "", str(text)).lower()


def _as_int(value: Any, allowed: frozenset[int]) -> int | None:
    """An integer score in ``allowed`` from an int, an integral float or a digit string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*" + _NUMBER + r"(?:\s*/\s*\d+)?\s*", value)
        if not match:
            return None
        value = float(match.group(1))
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int) and value in allowed:
        return value
    return None


def json_objects(text: str) -> list[Any]:
    """JSON values found in fenced blocks, in the whole text, or as the first ``{…}`` span."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    found = []
    for candidate in candidates:
        try:
            found.append(json.loads(candidate.strip()))
        except (json.JSONDecodeError, ValueError):
            continue
    return found


def _from_mapping(obj: Any, labels: Sequence[str], allowed: frozenset[int]) -> dict[str, int] | None:
    if not isinstance(obj, dict):
        return None
    keys = {_norm_key(k): v for k, v in obj.items()}
    out: dict[str, int] = {}
    for label in labels:
        value = _as_int(keys.get(_norm_key(label)), allowed) if _norm_key(label) in keys else None
        if value is None:
            break
        out[label] = value
    if len(out) == len(labels):
        return out
    for nested in obj.values():  # {"scores": {...}}
        if isinstance(nested, dict):
            inner = _from_mapping(nested, labels, allowed)
            if inner is not None:
                return inner
    return None


def _label_pattern(label: str) -> re.Pattern[str]:
    words = r"[\s_]+".join(re.escape(w) for w in label.split())
    return re.compile(
        r"(?<![A-Za-z])" + words + r"(?![A-Za-z])(?:\s+score)?\s*\**\s*(?:\(\s*\d+\s*[-–~]\s*\d+\s*\))?\s*\**\s*[:：=\-]?\s*\**\s*"
        + _NUMBER + r"(?:\s*/\s*\d+)?",
        re.IGNORECASE,
    )


def _from_lines(text: str, labels: Sequence[str], allowed: frozenset[int]) -> tuple[dict[str, int] | None, bool]:
    """Labelled values (last occurrence wins); second item says whether any label was seen."""
    out: dict[str, int] = {}
    seen = False
    for label in labels:
        matches = _label_pattern(label).findall(text)
        if not matches:
            continue
        seen = True
        value = _as_int(matches[-1], allowed)
        if value is None:
            return None, True
        out[label] = value
    return (out if len(out) == len(labels) else None), seen


def _from_lone_numbers(text: str, labels: Sequence[str], allowed: frozenset[int]) -> dict[str, int] | None:
    """The first ``len(labels)`` lines that are a lone allowed number, in label order (WISE's fallback)."""
    values = [v for line in text.splitlines() if (m := _LONE_NUMBER.match(line.strip()))
              and (v := _as_int(m.group(1), allowed)) is not None]
    if len(values) < len(labels):
        return None
    return dict(zip(labels, values[: len(labels)], strict=True))


def parse_scores(raw: str, labels: Sequence[str], allowed: Iterable[int]) -> dict[str, int] | None:
    """Scores for every label, or None when the answer cannot be read (see the module doc)."""
    if not raw or not labels:
        return None
    allowed_set = frozenset(allowed)
    text = strip_thinking(raw)
    for obj in json_objects(text):
        parsed = _from_mapping(obj, labels, allowed_set)
        if parsed is not None:
            return parsed
    parsed, seen = _from_lines(text, labels, allowed_set)
    if parsed is not None or seen:
        return parsed
    return _from_lone_numbers(text, labels, allowed_set)


def parse_score_list(raw: str, *, key: str = "score", count: int, allowed: Iterable[int]) -> list[int] | None:
    """A JSON list of ``count`` scores under ``key`` (VIEScore style ``{"score": [8, 5], ...}``), or None."""
    allowed_set = frozenset(allowed)
    for obj in json_objects(strip_thinking(raw or "")):
        if not isinstance(obj, dict):
            continue
        keys = {_norm_key(k): v for k, v in obj.items()}
        values = keys.get(_norm_key(key))
        if isinstance(values, list) and len(values) == count:
            parsed = [_as_int(v, allowed_set) for v in values]
            if all(v is not None for v in parsed):
                return parsed  # type: ignore[return-value]
    return None
