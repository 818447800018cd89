"""The run's SQLite store (WAL): items, generations, scores. Rows are committed only after their files are on disk."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from genlens.types import GenerationRecord, Item, ScoreRecord

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, category TEXT NOT NULL, hash TEXT NOT NULL, payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS generations (
    fingerprint TEXT PRIMARY KEY, item_id TEXT NOT NULL, sample INTEGER NOT NULL,
    seed INTEGER NOT NULL, status TEXT NOT NULL, payload TEXT NOT NULL, created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS generations_item ON generations(item_id, sample);
CREATE TABLE IF NOT EXISTS scores (
    fingerprint TEXT PRIMARY KEY, generation TEXT NOT NULL, scorer TEXT NOT NULL,
    status TEXT NOT NULL, value TEXT NOT NULL, created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS scores_generation ON scores(generation);
"""


class RunStore:
    """Thin typed access to ``genlens.sqlite``. Safe to reopen after a crash (WAL)."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed row survives a killed process (not necessarily power loss).
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- items --------------------------------------------------------------------------------
    def put_items(self, items: Iterable[Item]) -> None:
        """Store the suite's items in order; a resume whose items are all unchanged writes nothing."""
        items = list(items)
        known = dict(self.conn.execute("SELECT id, hash FROM items"))
        if len(known) >= len(items) and all(known.get(i.id) == i.content_hash() for i in items):
            return
        rows = [(i.id, i.category, i.content_hash(), json.dumps(i.to_json(), ensure_ascii=False)) for i in items]
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT OR REPLACE INTO items(id, category, hash, payload) VALUES (?,?,?,?)", rows)

    def items(self) -> dict[str, Item]:
        return {
            row[0]: Item.from_json(json.loads(row[1]))
            for row in self.conn.execute("SELECT id, payload FROM items ORDER BY rowid")
        }

    # -- generations --------------------------------------------------------------------------
    @staticmethod
    def _generation_row(record: GenerationRecord, now: float) -> tuple[Any, ...]:
        payload = {
            "images": record.images, "image_sizes": record.image_sizes, "formats": record.formats,
            "trace": record.trace, "reason": record.reason, "meta": record.meta,
        }
        return (record.fingerprint, record.item_id, record.sample, record.seed, record.status,
                json.dumps(payload, ensure_ascii=False, default=str), now)

    def put_generation(self, record: GenerationRecord) -> None:
        self.put_generations([record])

    def put_generations(self, records: Sequence[GenerationRecord]) -> None:
        """Commit records in one transaction (their images are already on disk).

        A generation is only ever replaced after the resume scan found it stale and removed it
        with its scores (delete_generations).
        """
        if not records:
            return
        now = time.time()
        rows = [self._generation_row(r, now) for r in records]
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT OR REPLACE INTO generations(fingerprint, item_id, sample, seed, status, payload, created)"
                " VALUES (?,?,?,?,?,?,?)",
                rows,
            )

    def generations(self, status: str | None = None) -> Iterator[GenerationRecord]:
        query = "SELECT fingerprint, item_id, sample, seed, status, payload FROM generations"
        args: tuple[Any, ...] = ()
        if status is not None:
            query += " WHERE status=?"
            args = (status,)
        for fp, item_id, sample, seed, st, payload in self.conn.execute(query + " ORDER BY item_id, sample", args):
            data = json.loads(payload)
            yield GenerationRecord(
                fingerprint=fp, item_id=item_id, sample=sample, seed=seed, status=st,
                images=data["images"], image_sizes=data.get("image_sizes", []), formats=data.get("formats", []),
                trace=data.get("trace", []), reason=data.get("reason", ""), meta=data.get("meta", {}),
            )

    def generation_states(self) -> dict[str, tuple[str, list[str], list[int]]]:
        """fingerprint -> (status, images, sizes): the resume scan, one query."""
        out = {}
        for fp, st, payload in self.conn.execute("SELECT fingerprint, status, payload FROM generations"):
            data = json.loads(payload)
            out[fp] = (st, data["images"], data.get("image_sizes", []))
        return out

    def delete_generations(self, fingerprints: Iterable[str]) -> None:
        """Forget generations and their scores (their files went missing or changed)."""
        keys = [(f,) for f in fingerprints]
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany("DELETE FROM scores WHERE generation=?", keys)
            self.conn.executemany("DELETE FROM generations WHERE fingerprint=?", keys)

    # -- scores -------------------------------------------------------------------------------
    def put_scores(self, records: Iterable[ScoreRecord]) -> None:
        now = time.time()
        rows = [
            (r.fingerprint, r.generation_fingerprint, r.scorer, r.status,
             json.dumps(r.value, ensure_ascii=False, default=str), now)
            for r in records
        ]
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT OR REPLACE INTO scores(fingerprint, generation, scorer, status, value, created)"
                " VALUES (?,?,?,?,?,?)",
                rows,
            )

    def score_fingerprints(self, *, final_only: bool = False) -> set[str]:
        """Fingerprints of stored scores; ``final_only`` leaves out ``error`` ones (retried on resume)."""
        query = "SELECT fingerprint FROM scores" + (" WHERE status != 'error'" if final_only else "")
        return {row[0] for row in self.conn.execute(query)}

    def scores(self, scorer: str | None = None) -> Iterator[ScoreRecord]:
        query = "SELECT fingerprint, generation, scorer, status, value FROM scores"
        args: tuple[Any, ...] = ()
        if scorer is not None:
            query += " WHERE scorer=?"
            args = (scorer,)
        for fp, gen, name, st, value in self.conn.execute(query, args):
            yield ScoreRecord(fingerprint=fp, generation_fingerprint=gen, scorer=name, status=st, value=json.loads(value))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for status, n in self.conn.execute("SELECT status, COUNT(*) FROM generations GROUP BY status"):
            out[status] = n
        return out
