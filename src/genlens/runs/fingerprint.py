"""Fingerprints: stable hashes of what produced a record, so resume can skip it."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(payload: dict[str, Any]) -> str:
    """sha256 of canonical JSON (sorted keys), 32 hex chars."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def sample_seed(base_seed: int, item_id: str, sample: int) -> int:
    """Deterministic per-(item, sample) seed in [0, 2**31), independent of run order or sharding."""
    digest = hashlib.sha256(f"{base_seed}\x00{item_id}\x00{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def generation_fingerprint(
    *, suite: str, suite_version: str, item_id: str, item_hash: str, model: str,
    params: dict[str, Any], seed: int, sample: int, mode: str = "", prompt_variant: str = "original",
) -> str:
    payload = {
        "suite": suite, "suite_version": suite_version, "item": item_id, "item_hash": item_hash,
        "model": model, "params": params, "seed": seed, "sample": sample, "mode": mode,
    }
    if prompt_variant != "original":  # only then, so every fingerprint of an original-prompt run stays as it was
        payload["prompt_variant"] = prompt_variant
    return fingerprint(payload)


def score_fingerprint(generation_fp: str, scorer_name: str, scorer_key: str) -> str:
    return fingerprint({"generation": generation_fp, "scorer": scorer_name, "key": scorer_key})
