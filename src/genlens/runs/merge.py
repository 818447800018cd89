"""``genlens merge SHARD… --out RUN``: one run from the shards of a sharded run (Slurm arrays, several machines).

The shards must be the same suite, suite version, model, public model args, seed, samples, limit and
suite args, all cut with the same ``n`` of ``--shard i/n``. Their records are copied as they are —
fingerprints, seeds, image bytes (hard-linked where the file system allows, else copied) and scores —
so the merged run is the run an unsharded command would have made, and it is aggregated once.
An (item, sample) found in two shards with different fingerprints is a conflict: refused.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlens.errors import InputError, RunDirError
from genlens.imageio import atomic_write_text
from genlens.runs.rundir import DB_NAME, RUN_JSON, RunSpec, load_run
from genlens.types import FINAL_STATUSES, GenerationRecord, ScoreRecord

#: run.json spec fields that must agree between shards (everything that changes what a unit is).
SHARD_IDENTITY = ("suite", "suite_version", "model", "params", "seed", "samples", "limit", "mode", "suite_args")
#: side files holding a run's remembered scoring options, copied from the first shard that has them.
REMEMBERED_FILES = ("scoring.json", "judge.json")


@dataclass
class MergeSummary:
    shards: int = 0
    shard_count: int | None = None
    missing_shards: list[int] = field(default_factory=list)
    generations: int = 0
    duplicates: int = 0
    scores: int = 0
    images_linked: int = 0
    images_copied: int = 0


def shard_of(run_json: dict[str, Any]) -> tuple[int, int] | None:
    """The (index, count) a run directory was cut with, from run.json; None for an unsharded run."""
    shard = run_json.get("shard")
    if isinstance(shard, list | tuple) and len(shard) == 2:
        return int(shard[0]), int(shard[1])
    return None


def _identity(spec: dict[str, Any]) -> dict[str, Any]:
    out = {key: spec.get(key) for key in SHARD_IDENTITY}
    out["params"] = out["params"] or {}
    out["suite_args"] = out["suite_args"] or {}
    out["mode"] = out["mode"] or ""
    return out


def check_shards(shards: list[Path]) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """run.json of each shard, after checking they belong together (one-line refusal otherwise)."""
    if len(shards) < 2:
        raise InputError("merge needs at least two shard directories", fix="give every shard's run directory")
    seen: dict[Path, Path] = {}
    for shard in shards:
        real = shard.resolve()
        if real in seen:
            raise InputError("the same shard is given twice", path=shard, fix="give each shard directory once")
        seen[real] = shard
    datas = [load_run(shard) for shard in shards]
    first = _identity(datas[0]["spec"])
    counts = set()
    for shard, data in zip(shards, datas, strict=True):
        mine = _identity(data["spec"])
        for key in SHARD_IDENTITY:
            if mine[key] != first[key]:
                raise RunDirError(
                    f"is not a shard of the same run as {shards[0]}: {key}={mine[key]!r} there vs {first[key]!r}",
                    path=shard, fix="merge only shards made by the same command with different --shard i/n",
                )
        cut = shard_of(data)
        counts.add(cut[1] if cut else None)
    if len(counts) > 1:
        raise RunDirError(
            f"the shards were cut with different counts ({', '.join(sorted(str(c) for c in counts))})",
            path=shards[0], fix="merge shards of one --shard i/n series (same n)",
        )
    count = counts.pop()
    indices = [shard_of(d) for d in datas]
    if count is not None:
        by_index: dict[int, Path] = {}
        for shard, cut in zip(shards, indices, strict=True):
            assert cut is not None
            if cut[0] in by_index:
                raise InputError(f"shard {cut[0]}/{count} is given twice ({by_index[cut[0]]} and {shard})",
                                 path=shard, fix="give each shard once")
            by_index[cut[0]] = shard
    return datas, ((0, count) if count is not None else None)


def _read_store(shard: Path) -> tuple[list[GenerationRecord], list[ScoreRecord]]:
    """Every generation and score of a shard, read-only (a shard being written is refused by its lock)."""
    import fcntl

    lock_path = shard / ".lock"
    lock = open(lock_path, "a+") if os.access(shard, os.W_OK) else None  # noqa: SIM115 - held while reading
    try:
        if lock is not None:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunDirError("a genlens process is still writing this shard", path=shard,
                                  fix="wait for it to finish, then merge") from None
        db = shard / DB_NAME
        if not db.exists():
            raise RunDirError("has no genlens.sqlite (nothing generated yet)", path=shard, fix="run its shard first")
        from genlens.runs.store import RunStore

        try:
            store = RunStore(db)
        except sqlite3.DatabaseError as exc:
            raise RunDirError(f"genlens.sqlite cannot be read ({exc})", path=shard,
                              fix="re-run that shard into a new --out directory") from None
        try:
            return list(store.generations()), list(store.scores())
        finally:
            store.close()
    finally:
        if lock is not None:
            lock.close()


def _place(source: Path, dest: Path, summary: MergeSummary) -> None:
    """Hard-link ``source`` to ``dest`` (same file system), else copy it; atomic either way."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".tmp-merge-{os.getpid()}-{dest.name}")
    try:
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)
            summary.images_linked += 1
        except OSError:
            shutil.copy2(source, tmp)
            summary.images_copied += 1
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def merge_shards(shards: list[Path], out: Path, *, quiet: bool = False) -> MergeSummary:
    """Join shard run directories into ``out`` (created, or resumed when it holds the same run)."""
    from genlens.progress import progress_bar
    from genlens.runs.engine import IMAGES_DIR, disk_error, locked_run, make_suite, prepare_run, run_lock

    datas, cut = check_shards(shards)
    if out.resolve() in {s.resolve() for s in shards}:
        raise InputError("--out is one of the shards", path=out, fix="merge into a new directory")
    spec_data = datas[0]["spec"]
    spec = RunSpec(**{k: spec_data.get(k) for k in RunSpec.__dataclass_fields__ if k in spec_data})
    data_dir = next((d.get("data_dir") for d in datas if d.get("data_dir")), None)
    suite = make_suite(spec.suite, data_dir=Path(data_dir) if data_dir else None, suite_args=spec.suite_args)
    summary = MergeSummary(shards=len(shards), shard_count=cut[1] if cut else None)
    if cut is not None:
        present = {shard_of(d)[0] for d in datas}  # type: ignore[index]
        summary.missing_shards = [i for i in range(cut[1]) if i not in present]

    records: dict[str, tuple[GenerationRecord, Path]] = {}
    by_unit: dict[tuple[str, int], str] = {}
    scores: dict[str, ScoreRecord] = {}
    for shard in shards:
        generations, shard_scores = _read_store(shard)
        for gen in generations:
            unit = (gen.item_id, gen.sample)
            other = by_unit.get(unit)
            if other is not None and other != gen.fingerprint:
                raise RunDirError(
                    f"item {gen.item_id!r} sample {gen.sample} appears in two shards with different fingerprints",
                    path=shard, fix="these shards were not made by one command: re-run the conflicting shard",
                )
            kept = records.get(gen.fingerprint)
            if kept is not None:
                summary.duplicates += 1
                if kept[0].status in FINAL_STATUSES or gen.status not in FINAL_STATUSES:
                    continue  # keep the finished record (an error elsewhere is a retry that succeeded here)
            records[gen.fingerprint] = (gen, shard)
            by_unit[unit] = gen.fingerprint
        for score in shard_scores:
            scores[score.fingerprint] = score

    extra: dict[str, Any] = {"merged_from": [str(s.resolve()) for s in shards], "data_dir": data_dir}
    if summary.missing_shards:
        extra["missing_shards"] = summary.missing_shards
    with run_lock(out):  # run.json, scoring.json and the store are all written under the run's lock
        with locked_run(out) as store:
            prepare_run(out, store, suite, spec, extra)
            existing = store.generation_states()
            with progress_bar("merge", len(records), quiet=quiet) as advance:
                for fp, (gen, shard) in records.items():
                    advance(1)
                    if fp in existing and existing[fp][0] in FINAL_STATUSES:
                        continue
                    try:
                        for rel in [*gen.images, *gen.trace]:
                            source = shard / rel
                            if not source.is_file():
                                raise InputError(f"image {rel} of a recorded generation is missing", path=shard,
                                                 fix="re-run that shard (it resumes and remakes the image), then merge again")
                            _place(source, out / rel, summary)
                    except OSError as exc:
                        raise disk_error(exc, out) from None
                    store.put_generation(gen)
                    summary.generations += 1
            kept_generations = set(records)
            chosen = [s for s in scores.values() if s.generation_fingerprint in kept_generations]
            store.put_scores(chosen)
            summary.scores = len(chosen)
        for name in REMEMBERED_FILES:
            if not (out / name).exists():
                source = next((s / name for s in shards if (s / name).is_file()), None)
                if source is not None:
                    atomic_write_text(out / name, source.read_text(encoding="utf-8"))
        if not (out / IMAGES_DIR).exists():
            (out / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
        _note_merge(out, summary)
    return summary


def _note_merge(out: Path, summary: MergeSummary) -> None:
    """Record how the run was merged in run.json (read back by reports and `genlens merge` itself)."""
    path = out / RUN_JSON
    data = json.loads(path.read_text(encoding="utf-8"))
    data["merge"] = {
        "shards": summary.shards, "shard_count": summary.shard_count, "missing_shards": summary.missing_shards,
        "generations": summary.generations, "duplicates": summary.duplicates,
    }
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
