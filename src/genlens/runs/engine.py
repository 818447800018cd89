"""The two phases: generate (or import) images into a run directory, then score and aggregate.

Resume is by fingerprint: a unit of work (item × sample) whose record exists — and whose image
files are still on disk with the recorded size — is skipped. Images are written atomically
(temp file + rename) *before* their row is committed, so a killed run loses at most the units
in flight, never a finished one, and never records one twice.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlens import interrupts
from genlens.backends.base import Backend, identity_params, public_params
from genlens.errors import PROGRAMMING_ERRORS, BackendBug, Blocked, GenlensError, InputError, Refused, RunDirError, SpecError
from genlens.imageio import (
    EXTENSION,
    ImageTooLarge,
    atomic_write,
    atomic_write_text,
    check_complete,
    display_path,
    open_checked,
    sniff_format,
)
from genlens.progress import FirstErrors, error_kind, progress_bar
from genlens.redact import active_secrets, scrub, scrub_value, scrubbed_json
from genlens.runs.cost import cost_summary
from genlens.runs.executors import ExecutorOptions
from genlens.runs.fingerprint import generation_fingerprint, sample_seed, score_fingerprint
from genlens.runs.rundir import (
    DB_NAME,
    RESULTS_JSON,
    RunSpec,
    check_compatible,
    load_run,
    write_run_json,
)
from genlens.runs.store import RunStore, store_error
from genlens.scorers.base import Scorer
from genlens.suites.base import ScoreContext, Suite, SuiteResult, check_scoring_options, get_suite_class
from genlens.types import (
    FINAL_STATUSES,
    GeneratedImage,
    GenerationRecord,
    GenerationRequest,
    Item,
    ScoredGeneration,
    ScoreInput,
    ScoreRecord,
)

IMAGES_DIR = "images"
ROWS_JSONL = "rows.jsonl"
#: Groups of units whose files may still be being written while the next ones are generated (bounds memory).
FILES_AHEAD = 2
#: Units handed to the file thread together: at most this many, and as soon as the event loop turns
#: (a backend that awaits its model or provider sends each chunk at once; one that computes without
#: awaiting hands over this many at a time instead of paying a thread hand-off per unit).
FILE_GROUP = 16
#: ... and sent at once when its first unit has waited this long or a unit took this long to make (a
#: backend that computes for seconds without awaiting still has each unit written as soon as it is made).
FILE_GROUP_SECONDS = 0.25
#: Generation rows are committed in groups: at most this many, at most this many seconds apart.
COMMIT_ROWS = 64
COMMIT_SECONDS = 0.25


# ----------------------------------------------------------------------------------------------
# run directory handling
# ----------------------------------------------------------------------------------------------
_HELD = threading.local()  # run directories whose lock this thread holds -> nesting depth


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's exclusive lock (two processes never write one run).

    Re-entrant within a thread: ``genlens run`` takes it once for generate + score + aggregate, and
    the phases inside take it again without letting go in between, so no other command slips in.
    """
    held: dict[str, int] = _HELD.__dict__.setdefault("dirs", {})
    key = str(run_dir.resolve())
    if key in held:
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = open(run_dir / ".lock", "a+")  # noqa: SIM115 - held for the context's lifetime
    except OSError as exc:
        raise disk_error(exc, run_dir) from None
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise RunDirError(
            "another genlens process is using this run directory", path=run_dir,
            fix="wait for it to finish (or stop it), then run the command again",
        ) from None
    held[key] = 1
    try:
        yield
    finally:
        del held[key]
        lock.close()


def check_images_dir(run_dir: Path) -> None:
    images = run_dir / IMAGES_DIR
    if images.exists() and not images.is_dir():
        raise RunDirError(f"{IMAGES_DIR} is not a folder", path=images,
                          fix="move that file away (the run's images live in images/), or start a new --out directory")


@contextmanager
def locked_run(run_dir: Path) -> Iterator[RunStore]:
    """Open the run's store under the run directory's exclusive lock (see :func:`run_lock`)."""
    with run_lock(run_dir):
        try:
            store = RunStore(run_dir / DB_NAME)
        except Exception as exc:
            if isinstance(exc, OSError):
                raise disk_error(exc, run_dir) from None
            if is_disk_full(exc):
                raise database_full(run_dir) from None
            if isinstance(exc, sqlite3.Error):
                raise store_error(exc, run_dir / DB_NAME) from None
            raise RunDirError(f"cannot open genlens.sqlite ({exc})", path=run_dir, fix="use a new --out directory") from None
        interrupts.started()  # from here a first Ctrl-C lets the writes in flight finish
        try:
            yield store
        finally:
            store.close()


def database_full(run_dir: Path) -> GenlensError:
    """The disk-full message for the run's database: free space, then the same command resumes."""
    return disk_error(OSError(errno.ENOSPC, "database or disk is full", str(run_dir / DB_NAME)), run_dir)


def is_disk_full(exc: BaseException) -> bool:
    """SQLite's own "database or disk is full" (SQLITE_FULL), which is no OSError."""
    import sqlite3

    return isinstance(exc, sqlite3.OperationalError) and (
        getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc))


def disk_error(exc: OSError, path: Path) -> GenlensError:
    """A one-line message for read-only / full / forbidden disks (finished work stays on disk)."""
    where = getattr(exc, "filename", None) or path
    reasons = {
        errno.ENOSPC: ("the disk is full", "free some space, then run the same command again to resume"),
        errno.EROFS: ("the file system is read-only", "choose a writable --out directory"),
        errno.EACCES: ("permission denied", "choose a writable --out directory or fix its permissions"),
        errno.EDQUOT: ("the disk quota is exceeded", "free some space, then run the same command again to resume"),
    }
    message, fix = reasons.get(exc.errno or 0, (exc.strerror or str(exc), "check the path and run the command again"))
    return GenlensError(f"cannot write: {message}", path=where, fix=fix)


def _clean_temp_files(images_root: Path) -> None:
    """Remove partial writes left by a killed run (they were never recorded)."""
    if not images_root.exists():
        return
    for dirpath, _dirnames, filenames in os.walk(images_root):
        for name in filenames:
            if name.startswith(".tmp-"):
                try:
                    os.unlink(os.path.join(dirpath, name))
                except FileNotFoundError:
                    pass


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def path_component(item_id: str) -> str:
    """A file-system-safe folder name for an item id (distinct ids stay distinct)."""
    safe = _UNSAFE.sub("_", item_id)[:80]
    if safe != item_id or safe in {"", ".", ".."}:
        safe = f"{safe}-{hashlib.sha256(item_id.encode()).hexdigest()[:8]}"
    return safe


def image_stem(item_id: str, sample: int) -> str:
    """The file name (without extension) of an item's sample in a run's flat ``images/`` folder: ``<item>_s<sample>``.

    One folder for the whole run, not one per item: creating a folder cost more than writing the image
    (0.44 ms vs 0.07 ms per image on the reference VM), and records hold every path, so readers never
    rebuild it. Multi-round images add ``_r<round>``; trace frames go in ``<stem>.trace/``. Runs written
    before keep their ``<item>/<sample>`` paths (their records say where). :func:`parse_image_stem` inverts it.
    """
    return f"{path_component(item_id)}_s{sample}"


_STEM = re.compile(r"(?P<item>.+)_s(?P<sample>\d+)")


def parse_image_stem(stem: str) -> tuple[str, int] | None:
    """``('<item component>', sample)`` of a flat run image name's stem, or None if it is not one."""
    match = _STEM.fullmatch(stem)
    return (match["item"], int(match["sample"])) if match else None


def make_suite(name: str, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None) -> Suite:
    return get_suite_class(name)(data_dir=data_dir, suite_args=suite_args)


def select_items(items: Sequence[Item], limit: int | None, shard: tuple[int, int] | None) -> list[Item]:
    """First ``limit`` items (official order), then this shard's share (item i goes to shard i % n)."""
    chosen = list(items[:limit] if limit is not None else items)
    if shard is not None:
        index, count = shard
        chosen = [item for pos, item in enumerate(chosen) if pos % count == index]
    return chosen


# ----------------------------------------------------------------------------------------------
# phase 1: generate
# ----------------------------------------------------------------------------------------------
@dataclass
class GenerateOptions:
    samples: int
    seed: int = 0
    limit: int | None = None
    concurrency: int = 4
    shard: tuple[int, int] | None = None
    mode: str = ""  # multi-round: "native" (session) or "reupload" (edit of the previous result)
    quiet: bool = False
    prompt_variant: str = "original"  # which prompts the model got: recorded, fingerprinted, reported


@dataclass
class PhaseSummary:
    total: int = 0
    skipped: int = 0
    done: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    input_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


@dataclass
class _Unit:
    item: Item
    sample: int
    seed: int
    fingerprint: str


def _plan_units(
    store: RunStore, suite: Suite, items: Sequence[Item], spec: RunSpec, opts: GenerateOptions,
    run_dir: Path,
) -> tuple[list[_Unit], int]:
    """Units still to do, and how many were skipped as finished (the resume scan)."""
    states = store.generation_states()
    stale: list[str] = []
    todo: list[_Unit] = []
    skipped = 0
    for item in items:
        item_hash = item.content_hash()
        for sample in range(opts.samples):
            seed = sample_seed(opts.seed, item.id, sample)
            fp = generation_fingerprint(
                suite=suite.meta.name, suite_version=suite.meta.version, item_id=item.id, item_hash=item_hash,
                model=spec.model, params=spec.params, seed=seed, sample=sample, mode=opts.mode,
                prompt_variant=spec.prompt_variant,
            )
            state = states.get(fp)
            if state is not None and state[0] in FINAL_STATUSES:
                _status, images, sizes = state
                if _files_intact(run_dir, images, sizes):
                    skipped += 1
                    continue
                stale.append(fp)
            todo.append(_Unit(item, sample, seed, fp))
    if stale:
        store.delete_generations(stale)
    return todo, skipped


def _files_intact(run_dir: Path, images: list[str], sizes: list[int]) -> bool:
    for rel, size in zip(images, sizes, strict=False):
        try:
            if os.stat(run_dir / rel).st_size != size:
                return False
        except OSError:  # missing, or a path through something that is not a folder
            return False
    return True


def setup_error(result: object) -> SpecError | None:
    """A provider's 401/403 (credentials) or 404 (model) stops the run: retrying every unit cannot help."""
    if not isinstance(result, Exception) or isinstance(result, Refused):
        return None
    status = getattr(result, "status_code", None) or getattr(result, "code", None)
    message = scrub(str(getattr(result, "message", None) or result).replace("\n", " "))[:200]
    if status in (401, 403):
        return SpecError(f"the provider rejected the request's credentials (HTTP {status}: {message})",
                         fix="check the API key in the environment (`genlens doctor`) and its access to this model")
    if status == 404:
        return SpecError(f"the provider does not know this model or endpoint (HTTP 404: {message})",
                         fix="check the model name in --model and any base_url model arg")
    return None


async def _multiturn(backend: Backend, request: GenerationRequest, item: Item, mode: str) -> list[GeneratedImage]:
    """Each round edits the previous result: in one session (native) or by re-uploading it."""
    results: list[GeneratedImage] = []
    if mode == "reupload" and not backend.replays_sessions:
        current = request.images[0]
        for instruction in item.rounds:
            step = GenerationRequest(
                item_id=item.id, prompt=instruction, sample=request.sample, seed=request.seed, kind="edit",
                size=request.size, images=[current], params=request.params,
            )
            image = await backend.edit(step)
            results.append(image)
            current = image.data
        return results
    session = backend.session(request)
    try:
        for index, instruction in enumerate(item.rounds):
            results.append(await session.send(instruction, request.images[0] if index == 0 else None))
    finally:
        await session.close()
    return results


async def call_backend(
    backend: Backend, requests: Sequence[GenerationRequest | None], item: Item, mode: str,
) -> list[list[GeneratedImage] | BaseException | None]:
    """One unit of phase 1: the backend calls for a chunk of requests of one kind (None: skipped).

    The same function runs in the driver (local executor) and inside a Ray actor, so both make
    exactly the same calls in the same batches.
    """
    out: list[list[GeneratedImage] | BaseException | None] = [None] * len(requests)
    live = [(pos, req) for pos, req in enumerate(requests) if req is not None]
    if item.kind == "multiturn":
        for pos, req in live:
            try:
                out[pos] = await _multiturn(backend, req, item, mode)
            except Exception as exc:  # recorded per unit by the engine
                out[pos] = exc
    elif len(live) == 1:
        pos, req = live[0]
        call = backend.edit if req.kind == "edit" else backend.generate
        try:
            out[pos] = [await call(req)]
        except Exception as exc:
            out[pos] = exc
    elif live:
        results = await backend.generate_batch([req for _pos, req in live])
        for (pos, _req), result in zip(live, results, strict=True):
            out[pos] = result if isinstance(result, BaseException) else [result]
    return out


class _Generator:
    """Runs the units of phase 1 with ``concurrency`` workers and records each as it finishes."""

    def __init__(self, run_dir: Path, store: RunStore, suite: Suite, backend: Backend, opts: GenerateOptions,
                 executor: Any = None):
        self.run_dir = run_dir
        self.store = store
        self.suite = suite
        self.backend = backend
        self.opts = opts
        self.executor = executor
        self.summary = PhaseSummary()
        self.first_errors = FirstErrors("generate", quiet=opts.quiet)
        self._pending: list[GenerationRecord] = []
        self._last_commit = time.monotonic()

    def _read_input(self, name: str) -> bytes:
        path = self.suite.input_path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(
                "input image not found", path=path,
                fix="point --data-dir at the suite's data (or run `genlens data fetch SUITE`)",
            ) from None
        except OSError as exc:
            raise InputError(f"cannot read the input image ({exc.strerror or exc})", path=path,
                             fix="fix the file or its permissions, then run the same command again") from None
        open_checked(data, source=path)  # over the pixel cap or not an image: one line, before any upload
        return data

    def _request(self, unit: _Unit) -> GenerationRequest:
        item = unit.item
        return GenerationRequest(
            item_id=item.id, prompt=item.prompt, sample=unit.sample, seed=unit.seed, kind=item.kind,
            size=item.size, images=[self._read_input(n) for n in item.input_images],
            mask=self._read_input(item.mask) if item.mask else None,
            params=dict(self.backend.params),
        )

    async def _produce(self, units: list[_Unit]) -> list[list[GeneratedImage] | BaseException]:
        requests: list[GenerationRequest | None] = []
        out: list[list[GeneratedImage] | BaseException | None] = [None] * len(units)
        for pos, unit in enumerate(units):
            try:
                requests.append(self._request(unit))
            except InputError as exc:
                out[pos] = exc
                requests.append(None)
        if any(req is not None for req in requests):
            if self.executor is not None:
                produced = await self.executor.produce(requests, units[0].item, self.opts.mode)
            else:
                produced = await call_backend(self.backend, requests, units[0].item, self.opts.mode)
            for pos, result in enumerate(produced):
                if requests[pos] is not None:
                    out[pos] = result
        return [r if r is not None else RuntimeError("no result") for r in out]

    def _save(self, unit: _Unit, images: list[GeneratedImage]) -> GenerationRecord:
        base = image_stem(unit.item.id, unit.sample)
        rels: list[str] = []
        sizes: list[int] = []
        formats: list[str] = []
        trace: list[str] = []
        family = getattr(self.backend, "family_meta", None)  # which architecture family made it
        meta: dict[str, Any] = dict(family()) if callable(family) else {}
        multi = len(images) > 1 or unit.item.kind == "multiturn"
        for index, image in enumerate(images):
            fmt = sniff_format(image.data) if image.format in ("", "bin") else image.format
            ext = EXTENSION.get(fmt, ".bin")
            stem = f"{base}_r{index + 1}" if multi else base
            rel = Path(IMAGES_DIR) / f"{stem}{ext}"
            atomic_write(self.run_dir / rel, image.data)
            rels.append(rel.as_posix())
            sizes.append(len(image.data))
            formats.append(fmt)
            for frame_index, frame in enumerate(image.trace):
                frame_rel = Path(IMAGES_DIR) / f"{stem}.trace" / f"{frame_index:03d}{EXTENSION.get(sniff_format(frame), '.bin')}"
                atomic_write(self.run_dir / frame_rel, frame)
                trace.append(frame_rel.as_posix())
            if multi:
                meta.setdefault("rounds", []).append(image.meta)
            else:
                meta.update(image.meta)
        return GenerationRecord(
            fingerprint=unit.fingerprint, item_id=unit.item.id, sample=unit.sample, seed=unit.seed, status="ok",
            images=rels, image_sizes=sizes, formats=formats, trace=trace, meta=meta,
        )

    def _verify(self, unit: _Unit, images: list[GeneratedImage]) -> GenerationRecord | None:
        """Every returned image (and partial frame) must be complete (``check_complete``) before its row is committed.

        Over the pixel cap (a decompression bomb): a final ``refused`` record with the reason, so a
        provider that always answers the same way cannot make the run unfinishable. Not decodable
        (garbled bytes): an ``error`` record, asked again on resume. None when all is well.
        """
        for index, image in enumerate(images):
            for frame_index, data in enumerate([image.data, *image.trace]):
                what = f"round {index + 1} " if len(images) > 1 else ""
                what += "image" if frame_index == 0 else f"partial frame {frame_index}"
                try:
                    check_complete(data, source=f"the model's {what} for {unit.item.id!r} sample {unit.sample}")
                except ImageTooLarge as exc:
                    return GenerationRecord(unit.fingerprint, unit.item.id, unit.sample, unit.seed, "refused", [],
                                            reason=f"invalid image: {exc.message}", meta={"invalid_image": True})
                except InputError as exc:
                    return GenerationRecord(unit.fingerprint, unit.item.id, unit.sample, unit.seed, "error", [],
                                            reason=f"invalid image: {exc.message}")
        return None

    def _stop_error(self, result: object) -> BaseException | None:
        """The error that ends the run for this result (retrying other units cannot help), else None."""
        if isinstance(result, InputError):
            return None
        if isinstance(result, SpecError | Blocked):
            return result
        setup = setup_error(result)
        if setup is not None:
            return setup
        if isinstance(result, PROGRAMMING_ERRORS):
            return BackendBug(self.backend.spec, result)
        return None

    def _store_files(self, unit: _Unit, result: list[GeneratedImage] | BaseException) -> GenerationRecord | OSError | None:
        """The file half of recording a unit (runs on the file thread): verify the images, then write them.

        None for a result that is an exception (nothing to write); an ``OSError`` is returned, not raised,
        so the event loop turns it into its one-line disk error when it records the unit.
        """
        if isinstance(result, BaseException):
            return None
        record = self._verify(unit, result)
        if record is not None:
            return record
        try:
            return self._save(unit, result)
        except OSError as exc:
            return exc

    def _record(self, unit: _Unit, result: list[GeneratedImage] | BaseException,
                stored: GenerationRecord | OSError | None = None) -> None:
        """Record one unit (on the event loop); ``stored`` is what :meth:`_store_files` returned for it."""
        if isinstance(result, InputError):
            self.summary.input_errors.append(str(result))
            self.summary.count("input_error")
            return
        stop = self._stop_error(result)
        if stop is not None:  # stop, keep what is done
            raise stop
        if isinstance(result, Refused):
            record = GenerationRecord(unit.fingerprint, unit.item.id, unit.sample, unit.seed, "refused", [], reason=result.reason)
        elif isinstance(result, BaseException):
            reason = scrub(f"{type(result).__name__}: {result}")[:500]
            self.first_errors.note(type(result).__name__, scrub(f"item {unit.item.id} sample {unit.sample}: {str(result)[:300]}"))
            record = GenerationRecord(unit.fingerprint, unit.item.id, unit.sample, unit.seed, "error", [], reason=reason)
        else:
            done = stored if stored is not None else self._store_files(unit, result)
            if isinstance(done, OSError):
                raise disk_error(done, self.run_dir) from None
            assert done is not None
            record = done
        self._commit(record)
        self.summary.count(record.status)
        self.summary.done += 1

    def _commit(self, record: GenerationRecord) -> None:
        """Queue a record whose files are on disk; commit the queue every COMMIT_ROWS rows or COMMIT_SECONDS.

        One transaction per group instead of per row (the resume guarantee is unchanged: a committed
        row's images are complete; a killed run redoes at most the last COMMIT_SECONDS of units).
        """
        self._pending.append(record)
        if len(self._pending) >= COMMIT_ROWS or time.monotonic() - self._last_commit >= COMMIT_SECONDS:
            self.flush()

    def _keep_written(self, ahead: deque[tuple[list[_Unit], list[Any], Future[list[Any]]]]) -> None:
        """After an error or Ctrl-C: commit the units whose files the file thread had written (nothing raises here)."""
        while ahead:
            _chunk, _results, future = ahead.popleft()
            if future.cancelled() or future.exception() is not None:
                continue
            for done in future.result():
                if isinstance(done, GenerationRecord):  # queued, not flushed here: the caller flushes once after
                    self._pending.append(done)
                    self.summary.count(done.status)
                    self.summary.done += 1

    def flush(self) -> None:
        if self._pending:
            try:
                self.store.put_generations(self._pending)
            except OSError as exc:
                raise disk_error(exc, self.run_dir) from None
            except Exception as exc:
                if is_disk_full(exc):
                    raise database_full(self.run_dir) from None
                raise
            self._pending = []
        self._last_commit = time.monotonic()

    async def run(self, units: list[_Unit]) -> PhaseSummary:
        batched = self.backend.batch_size > 1
        queue: asyncio.Queue[list[_Unit]] = asyncio.Queue()
        # Batches hold units of one kind so a batched backend gets homogeneous requests;
        # a multi-round unit is a conversation of its own.
        for kind in ("generate", "edit", "multiturn"):
            same = [u for u in units if u.item.kind == kind]
            size = self.backend.batch_size if batched and kind != "multiturn" else 1
            for start in range(0, len(same), size):
                queue.put_nowait(same[start:start + size])
        # A batched (local, GPU-bound) backend gets one worker; API backends get --concurrency.
        # On Ray, two units per actor are in flight (one running, one queued): the bound on the
        # images the driver holds undelivered.
        workers = 1 if batched else max(1, self.opts.concurrency)
        if self.executor is not None:
            workers = self.executor.in_flight(workers)
        with progress_bar("generate", len(units), quiet=self.opts.quiet,
                          errors=lambda: self.summary.statuses.get("error", 0)) as advance:

            # The file work of a chunk (decode check, atomic writes) runs on one file thread while the
            # next chunk is generated; its rows are committed on the loop, in order, once its files are
            # written, so a committed row still means complete images. At most FILES_AHEAD chunks wait.
            files = ThreadPoolExecutor(max_workers=1, thread_name_prefix="genlens-files")
            ahead: deque[tuple[list[_Unit], list[Any], Future[list[Any]]]] = deque()
            settling = asyncio.Lock()
            group: tuple[list[_Unit], list[Any]] = ([], [])  # produced, not yet handed to the file thread
            group_started = [0.0]
            loop = asyncio.get_running_loop()

            def send_group() -> None:
                if group[0]:
                    chunk, results = group[0][:], group[1][:]
                    group[0].clear()
                    group[1].clear()
                    ahead.append((chunk, results, files.submit(store_chunk, chunk, results)))

            def store_chunk(chunk: list[_Unit], results: list[Any]) -> list[Any]:
                return [self._store_files(unit, result) for unit, result in zip(chunk, results, strict=True)]

            async def settle(keep: int) -> None:
                async with settling:
                    while len(ahead) > keep:
                        chunk, results, future = ahead[0]
                        # a finished chunk is read directly (no wake-up through the loop's self-pipe)
                        stored = future.result() if future.done() else await asyncio.wrap_future(future)
                        ahead.popleft()
                        for unit, result, done in zip(chunk, results, stored, strict=True):
                            self._record(unit, result, done)
                        advance(len(chunk))

            async def worker() -> None:
                while True:
                    try:
                        chunk = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    made = time.monotonic()
                    results = await self._produce(chunk)
                    made = time.monotonic() - made
                    if any(self._stop_error(result) is not None for result in results):  # record in order now: the run ends here
                        send_group()
                        await settle(0)
                        async with settling:
                            for unit, result in zip(chunk, results, strict=True):
                                self._record(unit, result)
                            advance(len(chunk))
                        continue
                    if not group[0]:
                        loop.call_soon(send_group)
                        group_started[0] = time.monotonic()
                    group[0].extend(chunk)
                    group[1].extend(results)
                    if (len(group[0]) >= FILE_GROUP or made >= FILE_GROUP_SECONDS
                            or time.monotonic() - group_started[0] >= FILE_GROUP_SECONDS):
                        send_group()
                    await settle(FILES_AHEAD)

            tasks = [asyncio.create_task(worker()) for _ in range(workers)]
            try:
                await asyncio.gather(*tasks)
                send_group()
                await settle(0)
            finally:
                for task in tasks:
                    task.cancel()
                send_group()  # an error or Ctrl-C: what was generated is still written and kept
                files.shutdown(wait=True)  # the file thread finishes what it started: no write after we return
                self._keep_written(ahead)
                self.flush()  # every finished unit is committed, also on an error or Ctrl-C
        return self.summary


def prepare_run(
    run_dir: Path, store: RunStore, suite: Suite, spec: RunSpec, extra: dict[str, Any] | None = None,
    items: Sequence[Item] | None = None,
) -> Sequence[Item]:
    """Check the run directory belongs to this spec, then (re)write run.json and the items.

    Returns the suite's items (``items`` when given): callers plan with the same objects, whose
    content hashes are then computed once."""
    check_compatible(run_dir, spec)
    check_images_dir(run_dir)
    try:
        write_run_json(run_dir, spec, extra)
    except OSError as exc:
        raise disk_error(exc, run_dir) from None
    store.set_meta("suite", spec.suite)
    items = suite.items() if items is None else items
    store.put_items(items)
    return items


def _generation_pool(executor: ExecutorOptions | None, backend: Backend) -> Any:
    """A started Ray pool for this backend, or None to run here (local executor, or a backend bound to this process)."""
    if executor is None or executor.kind == "local":
        if executor is not None:
            executor.check()
        return None
    if getattr(backend, "runs_in_driver", False):
        executor.check()
        return None
    from genlens.runs.executors import make_executor

    pool = make_executor(executor)
    pool.start_generation(backend)
    return pool


def generate(
    run_dir: Path, suite: Suite, backend: Backend, opts: GenerateOptions, *, data_dir: Path | None = None,
    executor: ExecutorOptions | None = None,
) -> PhaseSummary:
    """Phase 1. Safe to call again on the same directory: it resumes.

    ``executor`` (``--executor ray``) sends the units to Ray actors that each build the backend from
    its spec once; backends that must run in this process (API clients, folder:) stay here.
    """
    started = time.perf_counter()
    spec = RunSpec(
        suite=suite.meta.name, suite_version=suite.meta.version, model=backend.spec,
        params=identity_params(backend.params), samples=opts.samples, seed=opts.seed, limit=opts.limit,
        mode=opts.mode, suite_args=public_params(suite.suite_args), prompt_variant=opts.prompt_variant,
    )
    with locked_run(run_dir) as store:
        all_items = prepare_run(run_dir, store, suite, spec, {
            "backend": backend.describe(), "data_dir": str(data_dir.expanduser().resolve()) if data_dir else None,
            "shard": list(opts.shard) if opts.shard else None,  # `genlens merge` and reports read it
        })
        _clean_temp_files(run_dir / IMAGES_DIR)
        items = select_items(all_items, opts.limit, opts.shard)
        units, skipped = _plan_units(store, suite, items, spec, opts, run_dir)
        if hasattr(backend, "suite_candidates"):  # folder: the suite's official layout first
            by_id = {item.id: item for item in items}
            backend.suite_candidates = lambda item_id, sample: suite.folder_candidates(by_id[item_id], sample)
            if hasattr(backend, "suite_name"):
                backend.suite_name = suite.meta.name
        backend.attach_run(run_dir)
        pool = _generation_pool(executor, backend) if units else None
        runner = _Generator(run_dir, store, suite, backend, opts, pool)
        runner.summary.total = len(units) + skipped
        runner.summary.skipped = skipped

        async def main() -> PhaseSummary:
            try:
                return await runner.run(units)
            finally:
                await backend.aclose()

        try:
            summary = interrupts.run(main())
        finally:
            if pool is not None:
                if pool.retries:  # units re-sent after their worker died (shown in the phase summary)
                    runner.summary.statuses["worker_retries"] = pool.retries
                pool.close()
    summary.seconds = time.perf_counter() - started
    return summary


# ----------------------------------------------------------------------------------------------
# import (images made elsewhere, in a suite's official layout)
# ----------------------------------------------------------------------------------------------
def import_images(source: Path, suite: Suite, run_dir: Path, *, quiet: bool = False,
                  prompt_variant: str = "original") -> PhaseSummary:
    """Register images laid out in the suite's official layout as a ``folder:`` run (copies them)."""
    started = time.perf_counter()
    if not source.is_dir():
        raise InputError("no such folder", path=source, fix="give the folder that holds the images")
    found = list(suite.import_layout(source))
    if not found:
        raise InputError(
            f"no images in the {suite.meta.name} layout were found", path=source,
            fix=f"see `genlens suites` / docs for the {suite.meta.name} folder layout",
        )
    suite_items = suite.items()
    items = {item.id: item for item in suite_items}
    samples = max(f.sample for f in found) + 1
    spec = RunSpec(suite=suite.meta.name, suite_version=suite.meta.version, model=f"folder:{source.resolve()}",
                   samples=samples, prompt_variant=prompt_variant)
    summary = PhaseSummary(total=len(found))
    with locked_run(run_dir) as store:
        prepare_run(run_dir, store, suite, spec, {
            "imported_from": str(source.resolve()),
            "data_dir": str(suite.data_dir.resolve()) if suite.data_dir else None,
        }, items=suite_items)
        _clean_temp_files(run_dir / IMAGES_DIR)
        states = store.generation_states()
        with progress_bar("import", len(found), quiet=quiet) as advance:
            for entry in found:
                advance(1)
                item = items.get(entry.item_id)
                if item is None:
                    summary.input_errors.append(str(InputError(
                        f"item {entry.item_id!r} is not part of suite {suite.meta.name}", path=entry.path,
                        fix="remove or rename it to an item of the suite",
                    )))
                    continue
                seed = sample_seed(0, item.id, entry.sample)
                fp = generation_fingerprint(
                    suite=suite.meta.name, suite_version=suite.meta.version, item_id=item.id,
                    item_hash=item.content_hash(), model=spec.model, params={}, seed=seed, sample=entry.sample,
                    prompt_variant=spec.prompt_variant,
                )
                state = states.get(fp)
                if state is not None and state[0] in FINAL_STATUSES and _files_intact(run_dir, state[1], state[2]):
                    summary.skipped += 1
                    continue
                if state is not None:  # stale: its scores belong to the image it replaces
                    store.delete_generations([fp])
                try:
                    data = entry.path.read_bytes()
                    check_complete(data, source=entry.path)
                except (InputError, OSError) as exc:
                    summary.input_errors.append(str(exc) if isinstance(exc, InputError)
                                                else f"{display_path(entry.path)}: {exc.strerror or exc}")
                    continue
                fmt = sniff_format(data)
                rel = Path(IMAGES_DIR) / f"{image_stem(item.id, entry.sample)}{EXTENSION.get(fmt, '.bin')}"
                with interrupts.protected():  # the copy and its row, or neither
                    try:
                        atomic_write(run_dir / rel, data)
                    except OSError as exc:
                        raise disk_error(exc, run_dir) from None
                    store.put_generation(GenerationRecord(
                        fingerprint=fp, item_id=item.id, sample=entry.sample, seed=seed, status="ok",
                        images=[rel.as_posix()], image_sizes=[len(data)], formats=[fmt],
                        meta={"source_path": display_path(entry.path), "family": "unknown", "family_source": "imported"},
                    ))
                summary.done += 1
                summary.count("ok")
    summary.seconds = time.perf_counter() - started
    return summary


# ----------------------------------------------------------------------------------------------
# phase 2: score, then aggregate
# ----------------------------------------------------------------------------------------------
SCORING_JSON = "scoring.json"
#: Scoring options a run remembers, so `genlens score RUN` later scores with the same models and data.
REMEMBERED_OPTIONS = ("detector", "clip", "data_dir")


def remember_scoring_options(run_dir: Path, ctx: ScoreContext) -> None:
    """Fill options the user left out from the run's scoring.json, then save the effective ones."""
    path = run_dir / SCORING_JSON
    try:
        saved = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise RunDirError(f"scoring.json cannot be read ({exc})", path=path,
                          fix="delete it (it only remembers --detector/--clip/--data-dir) and give those options again") from None
    if not isinstance(saved, dict) or not all(isinstance(v, str) for v in saved.values()):
        raise RunDirError("scoring.json is not a mapping of option: value", path=path,
                          fix="delete it (it only remembers --detector/--clip/--data-dir) and give those options again")
    for name in REMEMBERED_OPTIONS:
        if getattr(ctx, name) is None and saved.get(name):
            setattr(ctx, name, Path(saved[name]) if name == "data_dir" else saved[name])
    # Paths are remembered absolute and resolved: a later `genlens score RUN` may run from anywhere.
    if ctx.data_dir is not None:
        ctx.data_dir = Path(ctx.data_dir).expanduser().resolve()
    for name in ("detector", "clip"):
        value = getattr(ctx, name)
        if value is not None and Path(str(value)).expanduser().exists():  # a local folder, not a hub id
            setattr(ctx, name, str(Path(str(value)).expanduser().resolve()))
    current = {name: str(getattr(ctx, name)) for name in REMEMBERED_OPTIONS if getattr(ctx, name) is not None}
    if current != saved:
        try:
            atomic_write_text(path, json.dumps(current, indent=2) + "\n")
        except OSError as exc:
            raise disk_error(exc, run_dir) from None


def open_suite_for_run(run_dir: Path, ctx: ScoreContext) -> tuple[dict[str, Any], Suite]:
    data = load_run(run_dir)
    spec = data["spec"]
    check_images_dir(run_dir)
    if not ctx.options_checked:  # the options given, before scoring.json fills in remembered ones
        check_scoring_options(get_suite_class(spec["suite"]), ctx)
        ctx.options_checked = True
    remember_scoring_options(run_dir, ctx)
    data_dir = ctx.data_dir or (Path(data["data_dir"]) if data.get("data_dir") else None)
    suite_args = {**(spec.get("suite_args") or {}), **ctx.suite_args}
    suite = make_suite(spec["suite"], data_dir=data_dir, suite_args=suite_args)
    ctx.suite_args = {name: suite.suite_args[name] for name in ctx.suite_args}  # typed and checked
    if suite.meta.version != spec["suite_version"]:
        raise RunDirError(
            f"was made with {spec['suite']} version {spec['suite_version']}, this genlens has version {suite.meta.version}",
            path=run_dir, fix="score it with the genlens that made it, or generate a new run",
        )
    if ctx.data_dir is None:
        ctx.data_dir = data_dir
    return data, suite


def selection(spec: dict[str, Any], suite: Suite) -> Callable[[GenerationRecord], bool]:
    """Which stored generations the run's current options select: the suite's first ``limit`` items
    (official order) and samples below ``samples``. A re-run with a smaller --limit/--samples keeps
    the images beyond them on disk but neither scores nor counts them."""
    limit, samples = spec.get("limit"), spec.get("samples")
    chosen = {item.id for item in select_items(suite.items(), int(limit), None)} if limit is not None else None

    def selected(gen: GenerationRecord) -> bool:
        return (chosen is None or gen.item_id in chosen) and (samples is None or gen.sample < int(samples))

    return selected


def score(run_dir: Path, ctx: ScoreContext, *, executor: ExecutorOptions | None = None) -> PhaseSummary:
    """Phase 2: run every scorer of the suite over every finished generation not yet scored.

    ``executor`` (``--executor ray``) scores batches on Ray actors that load the scorer once; API
    judges (scorers with their own request concurrency) keep their call layer in this process.
    """
    started = time.perf_counter()
    summary = PhaseSummary()
    load_run(run_dir)  # refuse a missing run before the lock would create its folder
    with locked_run(run_dir) as store:  # nothing (scoring.json included) is written before the lock is held
        data, suite = open_suite_for_run(run_dir, ctx)
        items = store.items()
        selected = selection(data["spec"], suite)
        generations = [g for g in store.generations("ok") if g.item_id in items and selected(g)]
        reported: set[str] = set()
        for scorer in suite.scorers(ctx):
            key = scorer.fingerprint_key()
            if ctx.rejudge and scorer.rescoring:
                _rescore_stored(store, scorer, generations, key, summary)
                continue
            done = store.score_fingerprints(final_only=True)
            pending = [
                (g, score_fingerprint(g.fingerprint, scorer.name, key)) for g in generations
            ]
            pending = [(g, fp) for g, fp in pending if fp not in done]
            pending = [(g, fp) for g, fp in pending if not _unreadable_images(run_dir, g, summary, reported)]
            summary.total += len(generations)
            summary.skipped += len(generations) - len(pending)
            if not pending:
                continue
            pool = _scoring_pool(executor, scorer, suite, ctx)
            if pool is None:
                scorer.load()
            try:
                interrupts.run(_score_pending(store, scorer, pending, items, run_dir, ctx, summary, pool))
            finally:
                if pool is not None:
                    pool.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _unreadable_images(run_dir: Path, gen: GenerationRecord, summary: PhaseSummary, reported: set[str]) -> bool:
    """An image of a finished generation that is gone, changed or unreadable is the user's to fix
    (one line each, exit 2), not a score: the generation is left unscored until it is."""
    for rel, size in zip(gen.images, gen.image_sizes, strict=False):
        path = run_dir / rel
        try:
            problem = "" if os.stat(path).st_size == size else "changed since it was generated (its size differs)"
        except FileNotFoundError:
            problem = "is missing"
        except OSError as exc:
            problem = f"cannot be read ({exc.strerror or exc})"
        if not problem and not os.access(path, os.R_OK):
            problem = "cannot be read (permission denied)"
        if problem:
            if gen.fingerprint not in reported:
                reported.add(gen.fingerprint)
                summary.input_errors.append(str(InputError(
                    f"image {problem}", path=display_path(path),
                    fix="restore it, or run the same `genlens run`/`generate` command to make it again")))
            return True
    return False


def _rescore_stored(
    store: RunStore, scorer: Scorer, generations: list[GenerationRecord], key: str, summary: PhaseSummary,
) -> None:
    """``--rejudge``: re-derive scores from the stored records with ``scorer.rescore`` (no model call).

    A generation with no stored record the scorer accepts is counted ``not_rescored`` and left as is.
    """
    stored: dict[str, list[ScoreRecord]] = {}
    for record in store.scores(scorer.name):
        stored.setdefault(record.generation_fingerprint, []).append(record)
    records = []
    for gen in generations:
        fp = score_fingerprint(gen.fingerprint, scorer.name, key)
        candidates = sorted(stored.get(gen.fingerprint, []), key=lambda r: r.fingerprint != fp)
        result = next((r for r in (scorer.rescore(c.value) for c in candidates) if r is not None), None)
        summary.total += 1
        if result is None:
            summary.count("not_rescored")
            continue
        records.append(ScoreRecord(fp, gen.fingerprint, scorer.name, result[0], result[1]))
        summary.count(result[0])
    store.put_scores(records)
    summary.done += len(records)


def _scoring_pool(executor: ExecutorOptions | None, scorer: Scorer, suite: Suite, ctx: ScoreContext) -> Any:
    if executor is None or executor.kind == "local" or scorer.concurrency > 1:
        if executor is not None:
            executor.check()
        return None
    from genlens.runs.executors import make_executor

    pool = make_executor(executor)
    pool.start_scoring(suite.meta.name, ctx.data_dir, dict(suite.suite_args), ctx, scorer.name)
    return pool


async def _score_pending(
    store: RunStore, scorer: Scorer, pending: list[tuple[GenerationRecord, str]], items: dict[str, Item],
    run_dir: Path, ctx: ScoreContext, summary: PhaseSummary, pool: Any = None,
) -> None:
    size = max(1, scorer.batch_size)
    batches = [pending[i:i + size] for i in range(0, len(pending), size)]
    queue: asyncio.Queue[list[tuple[GenerationRecord, str]]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    first_errors = FirstErrors(f"score: {scorer.name}", quiet=ctx.quiet)
    with progress_bar(f"score: {scorer.name}", len(pending), quiet=ctx.quiet,
                      errors=lambda: summary.statuses.get("error", 0)) as advance:

        async def worker() -> None:
            while True:
                try:
                    batch = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                inputs = [ScoreInput(items[g.item_id], g, run_dir, ctx.data_dir) for g, _fp in batch]
                if pool is not None:
                    results = await pool.score(inputs)
                    if isinstance(results, BaseException):  # the batch kept killing its worker: errors, retried next run
                        results = [("error", {"reason": str(results)}) for _ in batch]
                else:
                    results = await scorer.score_batch(inputs)
                if len(results) != len(batch):
                    raise RuntimeError(f"scorer {scorer.name} returned {len(results)} results for {len(batch)} inputs")
                records = [
                    ScoreRecord(fp, g.fingerprint, scorer.name, status, value)
                    for (g, fp), (status, value) in zip(batch, results, strict=True)
                ]
                try:
                    store.put_scores(records)
                except Exception as exc:
                    if is_disk_full(exc):
                        raise database_full(run_dir) from None
                    raise
                for (gen, _fp), record in zip(batch, records, strict=True):
                    summary.count(record.status)
                    if record.status == "error":
                        reason = str((record.value or {}).get("reason") or "no reason recorded")
                        first_errors.note(error_kind(reason), f"item {gen.item_id} sample {gen.sample}: {reason}")
                summary.done += len(records)
                advance(len(records))

        workers = pool.in_flight(1) if pool is not None else max(1, scorer.concurrency)
        tasks = [asyncio.create_task(worker()) for _ in range(workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await scorer.aclose()  # API clients belong to this event loop: close them in it


def collect(run_dir: Path, suite: Suite, ctx: ScoreContext, store: RunStore,
            selected: Callable[[GenerationRecord], bool] | None = None) -> list[ScoredGeneration]:
    """Every (selected) generation of the run with the scores of the *current* scorers (by fingerprint)."""
    return _collect(suite, ctx, store, selected)[0]


def _collect(suite: Suite, ctx: ScoreContext, store: RunStore,
             selected: Callable[[GenerationRecord], bool] | None) -> tuple[list[ScoredGeneration], int]:
    """:func:`collect`, and how many stored generations ``selected`` left out (one pass over the rows)."""
    items = store.items()
    by_fp = {s.fingerprint: s for s in store.scores()}
    keys = [(sc.name, sc.fingerprint_key()) for sc in suite.scorers(ctx)]
    scored = []
    outside = 0
    for gen in store.generations():
        if selected is not None and not selected(gen):
            outside += 1
            continue
        item = items.get(gen.item_id)
        if item is None:
            continue
        entry = ScoredGeneration(item, gen)
        for name, key in keys:
            record = by_fp.get(score_fingerprint(gen.fingerprint, name, key))
            if record is not None:
                entry.scores[name] = record
        scored.append(entry)
    return scored, outside


def aggregate(run_dir: Path, ctx: ScoreContext) -> dict[str, Any]:
    """Apply the suite's official aggregation; write results.json and rows.jsonl; return results."""
    load_run(run_dir)
    with locked_run(run_dir) as store:
        data, suite = open_suite_for_run(run_dir, ctx)
        selected = selection(data["spec"], suite)
        scored, outside = _collect(suite, ctx, store, selected)
    counts: dict[str, int] = {}
    for entry in scored:
        counts[entry.generation.status] = counts.get(entry.generation.status, 0) + 1
    result: SuiteResult = suite.aggregate(scored, ctx)
    spec = data["spec"]
    provenance = {"scorers": {sc.name: sc.identity() for sc in suite.scorers(ctx)}, **result.provenance}
    results = {
        "suite": suite.meta.name,
        "suite_version": suite.meta.version,
        "title": suite.meta.title,
        "model": spec["model"],
        "run": run_dir.name,
        "genlens_version": data.get("genlens_version"),
        "headline": result.headline,
        "metrics": result.metrics,
        "categories": result.categories,
        "counts": {**{f"generations_{k}": v for k, v in counts.items()}, **result.counts,
                   **({"stored_outside_selection": outside} if outside else {})},
        "intervals": result.intervals,
        "extra": result.extra,
        "provenance": provenance,
        "cost": cost_summary(entry.generation for entry in scored),
        "samples": spec.get("samples"),
        "limit": spec.get("limit"),
        "seed": spec.get("seed"),
        "prompt_variant": spec.get("prompt_variant") or "original",
    }
    results["provenance"]["prompt_variant"] = results["prompt_variant"]
    if outside:
        results["provenance"].setdefault("notes", []).append(
            f"{outside} stored generation(s) lie outside this run's --limit/--samples: kept on disk, not scored or counted")
    if data.get("shard"):  # one shard's headline is not the run's: reports refuse it and point to `genlens merge`
        results["shard"] = "{}/{}".format(*data["shard"])
    if data.get("merge"):
        results["merged"] = data["merge"]
    secrets = active_secrets()
    results = scrub_value(results, secrets)
    rows = "".join(scrubbed_json(r, secrets) + "\n" for r in result.rows)
    try:
        with interrupts.protected():  # results.json and rows.jsonl of the same aggregation, or neither
            atomic_write_text(run_dir / RESULTS_JSON, json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
            atomic_write_text(run_dir / ROWS_JSONL, rows)
    except OSError as exc:
        raise disk_error(exc, run_dir) from None
    return results

