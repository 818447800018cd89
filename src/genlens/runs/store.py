"""The run's SQLite store (WAL): items, generations, scores. Rows are committed only after their files are on disk."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from genlens.redact import active_secrets, scrubbed_json
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


def store_error(exc: sqlite3.Error, path: Path) -> Exception:
    """A one-line error for a damaged, read-only or busy ``genlens.sqlite`` (None of these is a traceback)."""
    from genlens.errors import GenlensError, RunDirError

    text = str(exc)
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return GenlensError(f"cannot write: the run store is read-only ({text})", path=path,
                            fix="make the run directory writable, or copy it somewhere writable and use that")
    if "locked" in lowered or "busy" in lowered:
        return RunDirError(f"the run store is busy ({text})", path=path,
                           fix="wait for the other genlens process on this run to finish, then run the command again")
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in lowered:
        return GenlensError("cannot write: the disk is full", path=path,
                            fix="free some space, then run the same command again to resume")
    if "disk i/o" in lowered:
        return GenlensError(f"cannot write: {text}", path=path, fix="check the disk, then run the same command again to resume")
    return RunDirError(f"the run store is damaged ({text})", path=path,
                       fix="restore genlens.sqlite from a copy, or start a new --out directory "
                           "(`genlens import` can register the finished images under images/)")


def _guarded(method: Any) -> Any:
    """SQLite errors (a garbled page, a read-only file) leave a store method as one-line genlens errors."""
    import functools

    @functools.wraps(method)
    def wrapper(self: RunStore, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
            if isinstance(result, Iterator):
                return _guarded_iter(self, result)
            return result
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from None

    return wrapper


def _guarded_iter(store: RunStore, rows: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from rows
    except sqlite3.Error as exc:
        raise store_error(exc, store.path) from None


def _damaged_row(store: RunStore, what: str, exc: Exception) -> Exception:
    from genlens.errors import RunDirError

    return RunDirError(f"{what} is damaged ({type(exc).__name__}: {exc})", path=store.path,
                       fix="run the same `genlens run`/`generate` command to redo it, or start a new --out directory")


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
        # a row whose payload is damaged does not count as known: the resume rewrites it
        known = dict(self.conn.execute("SELECT id, hash FROM items WHERE json_valid(payload)"))
        if len(known) >= len(items) and all(known.get(i.id) == i.content_hash() for i in items):
            return
        rows = [(i.id, i.category, i.content_hash(), json.dumps(i.to_json(), ensure_ascii=False)) for i in items]
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT OR REPLACE INTO items(id, category, hash, payload) VALUES (?,?,?,?)", rows)

    def items(self) -> dict[str, Item]:
        out = {}
        for item_id, payload in self.conn.execute("SELECT id, payload FROM items ORDER BY rowid"):
            try:
                out[item_id] = Item.from_json(json.loads(payload))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise _damaged_row(self, f"the items row {item_id!r}", exc) from None
        return out

    # -- generations --------------------------------------------------------------------------
    @staticmethod
    def _generation_row(record: GenerationRecord, now: float, secrets: list[str] | None = None) -> tuple[Any, ...]:
        payload = {
            "images": record.images, "image_sizes": record.image_sizes, "formats": record.formats,
            "trace": record.trace, "reason": record.reason, "meta": record.meta,
        }
        # an error body that echoes a key or a URL password is never stored
        return (record.fingerprint, record.item_id, record.sample, record.seed, record.status,
                scrubbed_json(payload, active_secrets() if secrets is None else secrets), now)

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
        secrets = active_secrets()  # read once per transaction, not per row
        rows = [self._generation_row(r, now, secrets) for r in records]
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
            try:
                data = json.loads(payload)
                record = GenerationRecord(
                    fingerprint=fp, item_id=item_id, sample=sample, seed=seed, status=st,
                    images=list(data["images"]), image_sizes=list(data.get("image_sizes", [])),
                    formats=list(data.get("formats", [])), trace=list(data.get("trace", [])),
                    reason=str(data.get("reason", "")), meta=dict(data.get("meta", {})),
                )
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise _damaged_row(self, f"the generations row of item {item_id!r} sample {sample}", exc) from None
            yield record

    def generation_states(self) -> dict[str, tuple[str, list[str], list[int]]]:
        """fingerprint -> (status, images, sizes): the resume scan, one query."""
        out = {}
        for fp, st, payload in self.conn.execute("SELECT fingerprint, status, payload FROM generations"):
            try:
                data = json.loads(payload)
                out[fp] = (st, list(data["images"]), list(data.get("image_sizes", [])))
            except (ValueError, TypeError, KeyError, AttributeError):
                out[fp] = ("damaged", [], [])  # not final: the unit is made again and its row replaced
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
        secrets = active_secrets()
        rows = [
            (r.fingerprint, r.generation_fingerprint, r.scorer, r.status,
             scrubbed_json(r.value, secrets), now)
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
            try:
                parsed = json.loads(value)
            except ValueError:  # a damaged score is scored again (not final)
                parsed, st = {"reason": "stored value was damaged"}, "error"
            yield ScoreRecord(fingerprint=fp, generation_fingerprint=gen, scorer=name, status=st, value=parsed)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for status, n in self.conn.execute("SELECT status, COUNT(*) FROM generations GROUP BY status"):
            out[status] = n
        return out


for _name in ("get_meta", "set_meta", "put_items", "items", "put_generation", "put_generations", "generations",
              "generation_states",
              "delete_generations", "put_scores", "score_fingerprints", "scores", "counts"):
    setattr(RunStore, _name, _guarded(getattr(RunStore, _name)))
