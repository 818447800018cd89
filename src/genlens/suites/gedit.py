"""``gedit``: GEdit-Bench (StepFun), real-user edit instructions in English and Chinese, VIEScore-judged.

Data: the Hugging Face dataset ``stepfun-ai/GEdit-Bench`` (MIT), fetched at run time with
``huggingface_hub`` and converted once into a cache export (``records.jsonl`` + ``images/<key>.png``,
with a ``source.json`` naming the exact dataset commit and each file's sha256). ``--data-dir``
may point at such an export, or at a downloaded snapshot holding the parquet files.

Scoring (VIEScore, task "tie"; see :mod:`genlens.suites._edit_judge`): per image SC = min of
two 0–10 scores, PQ = min of two, O = sqrt(SC·PQ); per task type the means of SC, PQ and O;
the model score is the unweighted mean over the 11 task types; English and Chinese are reported
separately, each for the full set and for the "Intersection" subset. Upstream, an answer that
cannot be parsed twice is replaced by a random score; here it is ``unparsed``: left out of the
means and counted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from genlens.data.paths import inside_data_dir, plain_name
from genlens.errors import InputError, SpecError
from genlens.imageio import atomic_write, atomic_write_text, decode
from genlens.judges.scorer import parse_disagreements
from genlens.scorers.base import Scorer
from genlens.stats import mean_or_none
from genlens.suites._coverage import Coverage
from genlens.suites._edit_judge import (
    UPSTREAM_JPEG_QUALITY,
    configured_judge,
    edit_pair_images,
    make_edit_judge_scorers,
    official_protocol,
    overall_of,
    parser_note,
    pq_of,
    sc_of,
)
from genlens.suites.base import ImportedImage, ScoreContext, Suite, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

REPO_ID = "stepfun-ai/GEdit-Bench"
TASK_TYPES = (
    "background_change", "color_alter", "material_alter", "motion_change", "ps_human", "style_change",
    "subject-add", "subject-remove", "subject-replace", "text_change", "tone_transfer",
)
LANGUAGES = ("en", "cn")
RECORDS = "records.jsonl"
SOURCE_JSON = "source.json"


def cache_dir() -> Path:
    """``$GENLENS_CACHE_DIR``, else ``$XDG_CACHE_HOME/genlens``, else ``~/.cache/genlens``."""
    if os.environ.get("GENLENS_CACHE_DIR"):
        return Path(os.environ["GENLENS_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "genlens"


# ---------------------------------------------------------------------------------------------
# data: HF rows -> export -> items
# ---------------------------------------------------------------------------------------------
def export_records(rows: Iterable[dict[str, Any]], out_dir: Path, source: dict[str, Any]) -> Path:
    """Write dataset rows (HF record shape: key, task_type, instruction, instruction_language,
    input_image {bytes, path}, Intersection_exist) as ``records.jsonl`` + ``images/<key>.png``."""
    lines: list[str] = []
    written: dict[str, str] = {}
    for row in rows:
        key = plain_name(str(row.get("key")), record=f"key {str(row.get('key'))[:80]!r}", source=out_dir)
        image = row.get("input_image") or {}
        data = image.get("bytes") if isinstance(image, dict) else None
        if not data:
            raise InputError(f"GEdit-Bench record {key!r} has no input_image bytes", path=out_dir,
                             fix="re-download the dataset (genlens data fetch gedit)")
        if key not in written:
            decode(data, source=f"{REPO_ID}:{key}")
            rel = f"images/{key}{_extension(data)}"
            atomic_write(inside_data_dir(out_dir, rel, record=f"key {key!r}", source=out_dir), data)
            written[key] = rel
        lines.append(json.dumps({
            "key": key, "task_type": row["task_type"], "instruction": row["instruction"],
            "instruction_language": row["instruction_language"],
            "intersection": bool(row.get("Intersection_exist")), "image": written[key],
        }, ensure_ascii=False))
    atomic_write_text(out_dir / RECORDS, "\n".join(lines) + "\n")
    atomic_write_text(out_dir / SOURCE_JSON, json.dumps(source, indent=2) + "\n")
    return out_dir


def _extension(data: bytes) -> str:
    return ".jpg" if data[:3] == b"\xff\xd8\xff" else ".png"


def parquet_rows(files: Sequence[Path]) -> Iterator[dict[str, Any]]:
    """Rows of the dataset's parquet files (needs pyarrow, the ``gedit`` extra)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SpecError("reading GEdit-Bench's parquet files needs pyarrow",
                        fix="pip install 'genlens[gedit]' (or pass --data-dir with a genlens export)") from None
    for path in files:
        yield from pq.read_table(path).to_pylist()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_snapshot(snapshot: Path, out_dir: Path, revision: str | None) -> Path:
    """Convert a downloaded snapshot (parquet files) into a genlens export, recording sha256s."""
    files = sorted(snapshot.rglob("*.parquet"))
    if not files:
        raise InputError("no GEdit-Bench parquet files found", path=snapshot,
                         fix="pass the folder of a `huggingface-cli download stepfun-ai/GEdit-Bench --repo-type dataset`")
    source = {"repo": REPO_ID, "revision": revision, "files": {f.relative_to(snapshot).as_posix(): file_sha256(f) for f in files}}
    return export_records(parquet_rows(files), out_dir, source)


def fetch(revision: str | None = None) -> Path:
    """Download the dataset at ``revision`` (default: the current commit, resolved and recorded) and export it."""
    try:
        from huggingface_hub import HfApi, snapshot_download
    except ImportError:
        raise SpecError("fetching GEdit-Bench needs huggingface_hub", fix="pip install 'genlens[gedit]'") from None
    try:
        sha = revision or HfApi().dataset_info(REPO_ID).sha
        snapshot = Path(snapshot_download(REPO_ID, repo_type="dataset", revision=sha, allow_patterns=["*.parquet", "*.md"]))
    except Exception as exc:
        raise InputError(f"cannot download {REPO_ID} ({type(exc).__name__}: {str(exc)[:200]})", path=cache_dir(),
                         fix="check the network / HF_HUB_OFFLINE, or pass --data-dir with a local copy") from None
    return export_snapshot(snapshot, cache_dir() / "gedit" / str(sha), sha)


def cached_export(revision: str | None) -> Path | None:
    """The cached export for ``revision`` (or the only one cached when no revision is asked for)."""
    root = cache_dir() / "gedit"
    if revision:
        return root / revision if (root / revision / RECORDS).exists() else None
    found = sorted(p.parent for p in root.glob(f"*/{RECORDS}")) if root.is_dir() else []
    return found[0] if len(found) == 1 else None


def resolve_data(data_dir: Path | None, revision: str | None) -> Path:
    """An export directory: ``--data-dir`` as given (export or snapshot), the cache, or a fresh fetch."""
    if data_dir is not None:
        if (data_dir / RECORDS).exists():
            return data_dir
        if not data_dir.is_dir():
            raise InputError("GEdit-Bench data folder not found", path=data_dir,
                             fix="pass a genlens export or a downloaded snapshot, or leave out --data-dir to fetch it")
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
        out = cache_dir() / "gedit" / f"local-{digest}"
        return out if (out / RECORDS).exists() else export_snapshot(data_dir, out, revision)
    return cached_export(revision) or fetch(revision)


def read_records(export: Path) -> list[dict[str, Any]]:
    """The export's records, each checked: its key a plain file name, its image a file inside the export."""
    path = export / RECORDS
    try:
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read GEdit-Bench records ({exc})", path=path,
                         fix="delete the folder and fetch the data again") from None
    for number, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            raise InputError(f"record {number} is not a JSON object", path=path, fix="delete the folder and fetch the data again")
        name = f"{number} (key {str(rec.get('key'))[:80]!r})"
        plain_name(rec.get("key"), record=name, source=path)
        inside_data_dir(export, rec.get("image"), record=name, source=path)
    return records


def item_id(language: str, task: str, key: str) -> str:
    return f"{language}/{task}/{key}"


def items_from_records(records: Sequence[dict[str, Any]], languages: Sequence[str]) -> list[Item]:
    out = []
    for rec in records:
        if rec["instruction_language"] not in languages:
            continue
        out.append(Item(
            id=item_id(rec["instruction_language"], rec["task_type"], rec["key"]), prompt=rec["instruction"],
            category=rec["task_type"], kind="edit", input_images=(rec["image"],),
            meta={"language": rec["instruction_language"], "key": rec["key"], "intersection": bool(rec["intersection"])},
        ))
    return out


# ---------------------------------------------------------------------------------------------
# suite
# ---------------------------------------------------------------------------------------------
@register_suite
class GEditSuite(Suite):
    meta = SuiteMeta(
        name="gedit",
        version="1",
        title="GEdit-Bench: real-user image editing (VIEScore SC/PQ/O), English and Chinese",
        task="edit",
        categories=TASK_TYPES,
        needs=("judge",),
        data_source=f"HF {REPO_ID} (MIT), fetched at run time and cached",
        default_samples=1,
        item_count=None,
        description="11 task types × en/cn; VIEScore SC = min of two, PQ = min of two, O = sqrt(SC·PQ); mean of task types.",
    )

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        language = str(self.suite_args.get("language", "all"))
        if language not in ("all", *LANGUAGES):
            raise SpecError(f"unknown GEdit language {language!r}", fix="use --suite-arg language=en, cn or all")
        self.languages = LANGUAGES if language == "all" else (language,)
        self.revision = self.suite_args.get("revision")
        self._export: Path | None = None
        self._items: list[Item] | None = None

    @property
    def export(self) -> Path:
        if self._export is None:
            self._export = resolve_data(self.data_dir, str(self.revision) if self.revision else None)
        return self._export

    def items(self) -> Sequence[Item]:
        if self._items is None:
            self._items = items_from_records(read_records(self.export), self.languages)
        return self._items

    def input_path(self, name: str) -> Path:
        return inside_data_dir(self.export, name, record=f"image {name[:80]!r}", source=self.export / RECORDS)

    def source_info(self) -> dict[str, Any]:
        try:
            return json.loads((self.export / SOURCE_JSON).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {"repo": REPO_ID, "revision": None}

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        max_side = int(ctx.suite_args.get("judge_max_side", 0))
        quality = UPSTREAM_JPEG_QUALITY if configured_judge(ctx) and official_protocol(ctx) else None

        def sc_inputs(inp: ScoreInput) -> tuple[str, list[bytes]]:
            return inp.item.prompt, edit_pair_images(self.input_path(inp.item.input_images[0]), inp.image_paths[0], max_side,
                                                     quality)

        def pq_input(inp: ScoreInput) -> list[bytes]:
            return edit_pair_images(self.input_path(inp.item.input_images[0]), inp.image_paths[0], max_side, quality)[1:]

        return make_edit_judge_scorers(ctx, name_prefix="viescore", version="1", sc_inputs=sc_inputs, pq_input=pq_input)

    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        language, task, key = item.meta["language"], item.category, item.meta["key"]
        return [f"fullset/{task}/{language}/{key}", f"{task}/{language}/{key}"]

    def import_layout(self, directory: Path) -> Iterator[ImportedImage]:
        """``[fullset/]<task_type>/<en|cn>/<key>.png`` (Step1X-Edit's layout; ``*_SRCIMG`` skipped)."""
        root = directory / "fullset" if (directory / "fullset").is_dir() else directory
        for path in sorted(root.glob("*/*/*")):
            task, language = path.parent.parent.name, path.parent.name
            if task in TASK_TYPES and language in LANGUAGES and path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp") \
                    and not path.stem.endswith("_SRCIMG"):
                yield ImportedImage(item_id(language, task, path.stem), 0, path)

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        rows, counts = gedit_rows(scored)
        categories: dict[str, dict[str, float | int | None]] = {}
        metrics: dict[str, float | None] = {}
        headline: dict[str, float | None] = {}
        partial: list[str] = []
        coverages: dict[str, Coverage] = {}
        for language in self.languages:
            for subset in ("fullset", "intersection"):
                chosen = [r for r in rows if r["language"] == language and (subset == "fullset" or r["intersection"])]
                per_task = {task: task_means([r for r in chosen if r["category"] == task]) for task in TASK_TYPES}
                summary = model_score(per_task)
                suffix = f"{language}" if subset == "fullset" else f"{language}_intersection"
                for name in ("sc", "pq", "overall"):
                    metrics[f"{name}_{suffix}"] = summary[name]  # type: ignore[assignment]
                metrics[f"task_types_{suffix}"] = summary["n_types"]  # type: ignore[assignment]
                if subset == "fullset":
                    # The model score is the mean over all 11 task types and every prompt of the language;
                    # over fewer it is not that number: it moves to overall_<lang>_partial.
                    cover = language_coverage(self.items(), chosen, language)
                    coverages[language] = cover
                    complete = cover.complete and summary["n_types"] == len(TASK_TYPES)
                    headline[f"overall_{language}"] = summary["overall"] if complete else None  # type: ignore[assignment]
                    if not complete:
                        metrics[f"overall_{language}_partial"] = metrics.pop(f"overall_{language}")
                        if summary["overall"] is not None:
                            partial.append(f"{language}: {cover.text()}")
                    for task, means in per_task.items():
                        categories[f"{language}/{task}"] = means
        provenance = gedit_provenance(ctx, self.source_info())
        if partial:
            provenance["notes"].append(
                "partial run (" + "; ".join(partial) + "): no headline overall_<lang> where a prompt or task type has no "
                "score; overall_<lang>_partial is the same mean over what was scored, not comparable with published numbers")
        def added(pairs: list[tuple[int, int]]) -> tuple[int, int]:
            return sum(p[0] for p in pairs), sum(p[1] for p in pairs)

        total = Coverage(prompts=added([c.prompts for c in coverages.values()]),
                         images=added([c.images for c in coverages.values()]),
                         tags=added([c.tags for c in coverages.values() if c.tags]))
        extra = {"coverage": {**total.as_dict(), "by_language": {k: c.as_dict() for k, c in coverages.items()}}}
        return SuiteResult(headline=headline, metrics=metrics, categories=categories, counts=counts, extra=extra,
                           provenance=provenance, rows=rows)


def gedit_rows(scored: Sequence[ScoredGeneration]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One row per edited image: SC, PQ, O on the 0–10 scale (None when unparsed), and counts."""
    rows: list[dict[str, Any]] = []
    counts = {"refused": 0, "errored": 0, "unparsed_sc": 0, "unparsed_pq": 0, "judge_refused": 0, "judge_errors": 0,
              "parse_disagreements": 0}
    for entry in scored:
        gen, item = entry.generation, entry.item
        counts["parse_disagreements"] += parse_disagreements([entry.scores.get("viescore_sc"), entry.scores.get("viescore_pq")])
        row: dict[str, Any] = {
            "item": item.id, "sample": gen.sample, "category": item.category, "language": item.meta.get("language"),
            "intersection": bool(item.meta.get("intersection")), "prompt": item.prompt, "status": gen.status,
            "image": gen.images[0] if gen.images else None, "sc": None, "pq": None, "overall": None,
        }
        if gen.status == "error":
            counts["errored"] += 1
            rows.append({**row, "score": None, "reason": gen.reason})
            continue
        if gen.status == "refused":
            counts["refused"] += 1
            rows.append({**row, "sc": 0.0, "pq": 0.0, "overall": 0.0, "score": 0.0, "reason": f"refused: {gen.reason}"})
            continue
        sc_rec, pq_rec = entry.scores.get("viescore_sc"), entry.scores.get("viescore_pq")
        sc_scores = sc_rec.value.get("scores") if sc_rec is not None and sc_rec.status == "ok" else None
        pq_scores = pq_rec.value.get("scores") if pq_rec is not None and pq_rec.status == "ok" else None
        for name, rec in (("sc", sc_rec), ("pq", pq_rec)):
            if rec is not None and rec.status == "unparsed":
                counts[f"unparsed_{name}"] += 1
                counts["judge_refused"] += int(rec.value.get("reply_status") == "refused")  # a subset of unparsed
            if rec is not None and rec.status == "error":
                counts["judge_errors"] += 1
        row["sc"], row["pq"] = sc_of(sc_scores), pq_of(pq_scores)
        row["overall"] = overall_of(row["sc"], row["pq"])
        row["score"] = row["overall"]
        row["reason"] = "; ".join(f"{n} judge answer unparsed" for n, r in (("SC", sc_rec), ("PQ", pq_rec))
                                  if r is not None and r.status == "unparsed")
        if sc_scores or pq_scores:
            row["judge"] = {"raw": sc_rec.value.get("raw") if sc_rec else None, "scores": {**(sc_scores or {}), **(pq_scores or {})}}
        rows.append(row)
    return rows, counts


def language_coverage(items: Sequence[Item], rows: list[dict[str, Any]], language: str) -> Coverage:
    """One language's prompts with a score (SC and PQ read, or a refused edit scored 0) against all of
    its prompts, and its task types with a score against the 11."""
    expected = [i for i in items if i.meta.get("language") == language]
    done = {r["item"] for r in rows if r["overall"] is not None}
    types = {r["category"] for r in rows if r["overall"] is not None}
    return Coverage(prompts=(len(done), len(expected)), images=(len(done), len(expected)),
                    tags=(len(types), len(TASK_TYPES)))


def task_means(rows: list[dict[str, Any]]) -> dict[str, float | int | None]:
    """Per task type: mean SC, PQ and O (O computed per image first), each over the images that have it."""
    return {
        "sc": mean_or_none([r["sc"] for r in rows if r["sc"] is not None]),
        "pq": mean_or_none([r["pq"] for r in rows if r["pq"] is not None]),
        "overall": mean_or_none([r["overall"] for r in rows if r["overall"] is not None]),
        "n": len(rows),
    }


def model_score(per_task: dict[str, dict[str, float | int | None]]) -> dict[str, float | int | None]:
    """The unweighted mean over task types of each per-type mean, and ``n_types`` with an overall.

    Types with no score are left out of the means; ``n_types`` says how many the overall covers,
    so a caller can refuse to call a mean over fewer than the 11 types "the model score".
    """
    out: dict[str, float | int | None] = {}
    for name in ("sc", "pq", "overall"):
        values = [float(m[name]) for m in per_task.values() if m[name] is not None]  # type: ignore[arg-type]
        out[name] = mean_or_none(values)
    out["n_types"] = sum(1 for m in per_task.values() if m["overall"] is not None)
    return out


def gedit_provenance(ctx: ScoreContext, source: dict[str, Any]) -> dict[str, Any]:
    notes = [
        "VIEScore tie: SC = min(edit success, over-editing), PQ = min(naturalness, artifacts), O = sqrt(SC*PQ) per image, "
        "0-10 scale; per task-type means; model score = unweighted mean over the 11 task types",
        "unparsed judge answers (and judge refusals) are left out and counted; upstream fills them with a random score",
        "refused edits score SC = PQ = O = 0",
        "the edited image is resized to the source size before judging (upstream rule)",
        "upstream judges: 'gpt4o' backbone = gpt-4.1 (API default temperature), or Qwen2.5-VL-72B-Instruct-AWQ",
    ]
    if not configured_judge(ctx):
        notes.append("no --judge given: no scores")
        return {"notes": notes, "dataset": source, "judge": None}
    from genlens.judges.official import parse_mode
    from genlens.judges.scorer import judge_choice

    official = official_protocol(ctx)
    notes.append(f"images sent to the judge as JPEG quality {UPSTREAM_JPEG_QUALITY}, as VIEScore's client re-encodes them"
                 if official else "images sent to the judge as PNG (upstream re-encodes them as JPEG quality 75: "
                 "use --scorer-arg parse=official or --suite-arg protocol=official for that)")
    mode = parse_mode(judge_choice(ctx, "").params)
    return {"notes": notes, "dataset": source, "judge": configured_judge(ctx), "parser": parser_note(mode, "viescore"),
            "judge_image_format": f"JPEG q{UPSTREAM_JPEG_QUALITY}" if official else "PNG"}
