"""The upstream scripts' own answer readers, for ``--scorer-arg parse=official``.

genlens's default parser (:mod:`genlens.judges.parsing`) is strict: a value outside the scale, a
decimal or a missing label leaves an answer unparsed. The official readers below take what the
upstream scripts take, byte for byte in behaviour (the rules were read from the scripts; no code
was copied):

- WISE legacy (PKU-YuanGroup/WISE @ eb51174, ``WISE_legacy/gpt_eval.py``): per label, the
  pattern ``**Label** : d`` (case-insensitive, up to two asterisks either side of the label,
  optional colon, then exactly one digit — so ``1.5`` reads 1 and ``10`` reads 1); the last
  match of a label wins; any digit is kept (no 0–2 range check). Only when no label matched at
  all: lines holding nothing but one digit 0–2 — with at least three such lines, the first three
  in label order. An answer is read only if all three labels got a value (upstream retries otherwise).
- WISE Verified (same commit, ``vllm_eval.py``): ``<think>…</think>`` removed, then the first
  ``Score: d`` with d in {0, 1} followed by a word boundary; else exactly one line holding
  nothing but 0 or 1 (two or more such lines: unread).
- VIEScore / GEdit-Bench (stepfun-ai/Step1X-Edit @ 570eba6, ``GEdit-Bench/viescore/utils.py``
  ``mllm_output_to_dict``): the text between two ``||V^=^V||`` delimiters, else from the first
  ``{`` to the last ``}``; without braces, a bare ``[a, b]`` list of two integers or an answer that
  is only an integer 0–10; newlines dropped, JSON decoded (with upstream's key-quoting repair as a
  second try); ``score`` may be one number or a list of any length, ints or floats, and values
  above 10 are kept (no clamp). The sub-score is ``min(score)``. Upstream finally *guesses* a
  random score for an answer it cannot read; genlens leaves it unread instead (and counts it).
- ComfyMind's Reason-Edit port (LitaoGuo/ComfyMind @ 4840cbf, ``script/evaluation.py``): the answer
  wrapped in ``{`` ``}`` and JSON-decoded (the prompt asks for ``"score": [...], "reasoning": "..."``
  without braces); ``score`` is a list, SC = ``min(score)``.
"""

from __future__ import annotations

import json
import re
from typing import Any

WISE_LEGACY_LABELS = ("Consistency", "Realism", "Aesthetic Quality")
_WISE_LABEL = re.compile(r"\*{0,2}(Consistency|Realism|Aesthetic Quality)\*{0,2}\s*:?\s*(\d)", re.IGNORECASE)
_WISE_BARE = re.compile(r"(?m)^\s*([0-2])\s*$")
_VERIFIED_SCORE = re.compile(r"\*{0,2}Score\*{0,2}\s*:?\s*([01])\b", re.IGNORECASE)
_VERIFIED_BARE = re.compile(r"(?m)^\s*([01])\s*$")
_THINK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
_CLOSE_THINK = re.compile(r"</think>\s*")
DELIMITER = "||V^=^V||"


def wise_legacy(raw: str) -> dict[str, float] | None:
    """WISE legacy's reading: {"Consistency": c, "Realism": r, "Aesthetic Quality": a} or None."""
    found: dict[str, float] = {}
    canonical = {label.lower(): label for label in WISE_LEGACY_LABELS}
    for name, digit in _WISE_LABEL.findall(raw or ""):
        found[canonical[name.lower()]] = float(digit)
    if not found:
        bare = _WISE_BARE.findall(raw or "")
        if len(bare) >= 3:
            found = {label: float(v) for label, v in zip(WISE_LEGACY_LABELS, bare[:3], strict=True)}
    return found if len(found) == len(WISE_LEGACY_LABELS) else None


def wise_verified(raw: str) -> dict[str, float] | None:
    """WISE Verified's reading: {"Score": 0.0 | 1.0} or None."""
    text = _CLOSE_THINK.sub("", _THINK.sub("", raw or ""))
    match = _VERIFIED_SCORE.search(text)
    if match:
        return {"Score": float(match.group(1))}
    bare = _VERIFIED_BARE.findall(text)
    return {"Score": float(bare[0])} if len(bare) == 1 else None


def _fix_json(text: str) -> str:
    """Upstream's repair: quote bare keys, wrap bare numbers in a list, quote other bare values."""
    fixed = re.sub(r"(\w+):", r'"\1":', text)

    def value(match: re.Match[str]) -> str:
        key, val, comma = match.groups()
        val = val.strip()
        if re.match(r"^-?\d+(\.\d+)?$", val):
            val = f"[{val}]"
        elif not re.match(r"^(true|false|null)$", val, re.IGNORECASE):
            val = f'"{val}"'
        return f"{key}: {val}{comma}"

    return re.sub(r'(".*?"):(.*?)(,|})', value, fixed)


def _int_0_to_10(text: str) -> bool:
    try:
        return 0 <= int(text) <= 10
    except ValueError:
        return False


def viescore_dict(raw: str) -> dict[str, Any] | None:
    """What VIEScore's ``mllm_output_to_dict`` returns for ``raw`` (None where it returns False)."""
    text = raw or ""
    if text.count(DELIMITER) == 2:
        start, end = text.find(DELIMITER) + len(DELIMITER), text.rfind(DELIMITER)
    else:
        start, end = text.find("{"), text.rfind("}") + 1
        if start == -1 or end == 0:
            start, end = text.find("["), text.rfind("]") + 1
            if re.match(r"^\[\d+, ?\d+\]$", text[start:end]):
                text = json.dumps({"score": json.loads(text[start:end]), "reasoning": "a bare list"})
            elif _int_0_to_10(text):
                text = json.dumps({"score": [int(text)], "reasoning": "a bare number"})
            else:
                return None
            start, end = 0, len(text)
    if start == -1 or end == -1 or start == end:
        return None
    body = text[start:end].strip().replace("\n", "")
    try:
        data = json.loads(body)
        if not isinstance(data["score"], list):
            data["score"] = [data["score"]]
    except Exception:
        try:
            data = json.loads(_fix_json(body))
        except Exception:
            return None
    return data if isinstance(data, dict) else None


def score_list(data: dict[str, Any] | None) -> list[float] | None:
    """The numeric ``score`` list that upstream takes ``min`` of (None when it would crash or is empty)."""
    if not isinstance(data, dict):
        return None
    values = data.get("score")
    if not isinstance(values, list) or not values:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    return [float(v) for v in values]


def viescore(raw: str, labels: tuple[str, str]) -> dict[str, Any] | None:
    """VIEScore's reading as genlens scores: both labels when exactly two values, else ``{"score": [...]}``."""
    return _as_scores(score_list(viescore_dict(raw)), labels)


def comfymind(raw: str, labels: tuple[str, str]) -> dict[str, Any] | None:
    """ComfyMind's reading: ``json.loads("{" + answer + "}")``, its ``score`` list."""
    try:
        data = json.loads("{" + (raw or "") + "}")
    except (json.JSONDecodeError, ValueError):
        return None
    return _as_scores(score_list(data), labels)


def _as_scores(values: list[float] | None, labels: tuple[str, str]) -> dict[str, Any] | None:
    if values is None:
        return None
    if len(values) == 2:
        return dict(zip(labels, values, strict=True))
    return {"score": values}


def parse_mode(params: dict[str, Any]) -> str:
    """``--scorer-arg parse=genlens|official`` (default genlens); a one-line error for anything else."""
    from genlens.errors import SpecError

    mode = str(params.get("parse", "genlens")).lower()
    if mode not in ("genlens", "official"):
        raise SpecError(f"unknown --scorer-arg parse={mode}",
                        fix="use parse=genlens (strict, default) or parse=official (the upstream script's reader)")
    return mode
