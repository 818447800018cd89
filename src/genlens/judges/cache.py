"""A cross-run cache of judge answers, so re-runs and other runs with the same images cost nothing.

Keyed on (judge spec + decoding settings, template hash, image hashes, the exact rendered
system and user texts). Only final answers are kept (``ok`` and ``refused``); errors are asked
again. One SQLite file (WAL) under the user cache dir; ``GENLENS_CACHE_DIR`` moves it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from genlens.judges.base import JudgeReply, JudgeRequest
from genlens.redact import scrub_value

CACHE_FILE = "judge_cache.sqlite"


def cache_dir() -> Path:
    """``$GENLENS_CACHE_DIR``, else ``$XDG_CACHE_HOME/genlens``, else ``~/.cache/genlens``."""
    if os.environ.get("GENLENS_CACHE_DIR"):
        return Path(os.environ["GENLENS_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "genlens"


def request_key(judge_key: dict[str, Any], template_sha256: str, request: JudgeRequest) -> str:
    """The cache key of one question (no secrets can enter: the judge key holds spec and settings)."""
    payload = {
        "judge": judge_key,
        "template": template_sha256,
        "images": [hashlib.sha256(image).hexdigest() for image in request.images],
        "system": request.system,
        "text": request.text,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class JudgeCache:
    """Thread-safe get/put of :class:`JudgeReply` by key."""

    def __init__(self, path: Path | None = None):
        self.path = path or cache_dir() / CACHE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, judge TEXT NOT NULL, reply TEXT NOT NULL, created REAL NOT NULL)"
        )

    def get(self, key: str) -> JudgeReply | None:
        with self._lock:
            row = self._conn.execute("SELECT reply FROM replies WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        reply = JudgeReply.from_json(json.loads(row[0]))
        reply.cached = True
        return reply

    def put(self, key: str, judge_spec: str, reply: JudgeReply) -> None:
        if reply.status not in ("ok", "refused"):
            return
        data = json.dumps(scrub_value({**reply.to_json(), "cached": False}), ensure_ascii=False, default=str)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO replies(key, judge, reply, created) VALUES (?,?,?,?)",
                (key, judge_spec, data, time.time()),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
