"""The Python API: everything ``genlens run / score / report`` does, as functions.

    import genlens
    run = genlens.run("image-props", model="synthetic:gradient", out="runs/demo", limit=4)
    run.results["headline"]          # the suite's official number(s)
    run.rows[0]                      # one row per image: verdict and reason
    run.to_pandas()                  # the rows as a DataFrame (pandas installed)
    genlens.report([run], fmt="html", out="report.html")

``model`` is a spec string (``openai:gpt-image-1``, ``diffusers:<dir>`` …) or an in-process
object with an async or plain ``generate(request)`` (and optionally ``edit``/``session``): a
pipeline already in memory. A backend that raises a programming error (TypeError, AttributeError …)
stops the run and the exception comes back with its traceback; it is never recorded as a failed
request.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from genlens.backends.base import Backend, BackendInfo, Session, make_backend
from genlens.config import parse_shard, slug
from genlens.errors import BackendBug, SpecError
from genlens.runs.engine import ROWS_JSONL, GenerateOptions, PhaseSummary
from genlens.suites.base import ScoreContext, get_suite_class
from genlens.types import GeneratedImage, GenerationRequest

__all__ = ["Run", "RunOptions", "StudyRun", "report", "run", "score"]


@dataclass
class RunOptions:
    """The options ``genlens run`` takes, by their Python names (``None``: the suite's default)."""

    samples: int | None = None
    limit: int | None = None
    seed: int = 0
    concurrency: int = 4
    shard: str | tuple[int, int] | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    suite_args: dict[str, Any] = field(default_factory=dict)
    scorer_args: dict[str, Any] = field(default_factory=dict)
    judge: str | None = None
    judge_prompt: str | Path | None = None
    detector: str | None = None
    clip: str | None = None
    data_dir: str | Path | None = None
    generate_only: bool = False
    quiet: bool = True
    prompt_variant: str = "original"  # which prompts the model was given (recorded, fingerprinted, reported)

    @classmethod
    def from_kwargs(cls, options: dict[str, Any]) -> RunOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            import difflib

            hints = [difflib.get_close_matches(name, known, n=1) for name in unknown]
            hint = "; ".join(f"{u} (did you mean {h[0]}?)" if h else u for u, h in zip(unknown, hints, strict=True))
            raise SpecError(f"unknown run option(s): {hint}", fix=f"use: {', '.join(sorted(known))}")
        return cls(**options)

    def score_context(self, run_dir: Path) -> ScoreContext:
        return ScoreContext(
            run_dir=run_dir, judge=self.judge, judge_prompt=Path(self.judge_prompt) if self.judge_prompt else None,
            detector=self.detector, clip=self.clip, data_dir=Path(self.data_dir) if self.data_dir else None,
            concurrency=self.concurrency, suite_args=dict(self.suite_args), scorer_args=dict(self.scorer_args),
            quiet=self.quiet,
        )


class Run:
    """A run directory and what is in it: ``results`` (results.json) and ``rows`` (rows.jsonl)."""

    def __init__(self, directory: str | Path, *, generated: PhaseSummary | None = None, scored: PhaseSummary | None = None):
        self.dir = Path(directory)
        self.generated = generated
        self.scored = scored

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r})"

    def __fspath__(self) -> str:
        return str(self.dir)

    @property
    def results(self) -> dict[str, Any]:
        """results.json: headline, metrics, categories, counts, intervals, provenance."""
        from genlens.report import load_results

        return load_results(self.dir)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """rows.jsonl: one dict per image (item, sample, verdict, reason …)."""
        path = self.dir / ROWS_JSONL
        if not path.exists():
            raise SpecError("has no rows.jsonl yet", fix=f"score it first: genlens.score({str(self.dir)!r})")
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise SpecError("Run.to_pandas() needs pandas", fix="pip install pandas") from None
        return pd.DataFrame(self.rows)

    @property
    def failed(self) -> int:
        """Requests and scorings that ended in ``error`` this time (a new call retries them)."""
        return sum(s.statuses.get("error", 0) for s in (self.generated, self.scored) if s is not None)


@dataclass
class StudyRun:
    """A study's outcome: one :class:`Run` per part that ran, the skipped parts and why, the report."""

    dir: Path
    runs: dict[str, Run]
    skipped: dict[str, str]
    report: Path | None
    forensics: dict[str, str] = field(default_factory=dict)

    def __fspath__(self) -> str:
        return str(self.dir)


# ----------------------------------------------------------------------------------------------
# in-process backends
# ----------------------------------------------------------------------------------------------
def _as_image(value: Any) -> GeneratedImage:
    """What a user's generate() may return: GeneratedImage, encoded bytes, or a PIL image."""
    if isinstance(value, GeneratedImage):
        return value
    if isinstance(value, (bytes, bytearray)):
        return GeneratedImage(data=bytes(value), format="")  # the engine sniffs the container
    if hasattr(value, "save") and hasattr(value, "size"):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return GeneratedImage(data=buffer.getvalue(), format="png")
    raise TypeError(f"generate() returned {type(value).__name__}; return GeneratedImage, image bytes or a PIL image")


async def _call(func: Any, *args: Any) -> Any:
    if inspect.iscoroutinefunction(func):
        return await func(*args)
    result = await asyncio.to_thread(func, *args)
    return await result if inspect.isawaitable(result) else result


class _InProcessSession(Session):
    def __init__(self, inner: Any):
        self.inner = inner

    async def send(self, instruction: str, image: bytes | None = None) -> GeneratedImage:
        return _as_image(await _call(self.inner.send, instruction, image))

    async def close(self) -> None:
        if hasattr(self.inner, "close"):
            await _call(self.inner.close)


class InProcessBackend(Backend):
    """Wraps a Python object with ``generate(request)`` (sync or async) as a backend.

    Its spec is ``python:<name>`` where name is the object's ``name`` attribute or its class name;
    that spec enters the run's identity, so give two different pipelines different names.
    """

    info = BackendInfo(scheme="python", syntax="python:<object>", description="an in-process Python object",
                       tasks=("generate", "edit", "multiturn"))
    #: The object lives in this process: under --executor ray it is called here, never rebuilt in a worker.
    runs_in_driver = True

    def __init__(self, obj: Any, params: dict[str, Any] | None = None):
        if not callable(getattr(obj, "generate", None)):
            raise SpecError(f"model object {type(obj).__name__} has no generate(request) method",
                            fix="pass a spec string or an object with generate(request) -> image")
        name = str(getattr(obj, "name", None) or type(obj).__name__)
        super().__init__(name, {**dict(getattr(obj, "params", None) or {}), **(params or {})})
        self.obj = obj
        self.batch_size = int(getattr(obj, "batch_size", 1) or 1)

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        return _as_image(await _call(self.obj.generate, request))

    async def edit(self, request: GenerationRequest) -> GeneratedImage:
        if not callable(getattr(self.obj, "edit", None)):
            return await super().edit(request)
        return _as_image(await _call(self.obj.edit, request))

    def session(self, request: GenerationRequest) -> Session:
        if not callable(getattr(self.obj, "session", None)):
            return super().session(request)
        return _InProcessSession(self.obj.session(request))

    async def generate_batch(self, requests: list[GenerationRequest]) -> list[GeneratedImage | BaseException]:
        if callable(getattr(self.obj, "generate_batch", None)):
            results = await _call(self.obj.generate_batch, requests)
            return [r if isinstance(r, BaseException) else _as_image(r) for r in results]
        return await super().generate_batch(requests)

    async def aclose(self) -> None:
        if callable(getattr(self.obj, "aclose", None)):
            await _call(self.obj.aclose)


def as_backend(model: str | Any, model_args: dict[str, Any] | None = None) -> Backend:
    """A backend from a spec string, a :class:`Backend` instance, or an in-process object."""
    if isinstance(model, str):
        return make_backend(model, model_args)
    if isinstance(model, Backend):
        if model_args:
            model.params.update(model_args)
        return model
    return InProcessBackend(model, model_args)


# ----------------------------------------------------------------------------------------------
# run / score / report
# ----------------------------------------------------------------------------------------------
def _unwrap_bug(exc: BackendBug) -> BaseException:
    """The backend's own exception, traceback attached (the API shows the user's code, not ours)."""
    return exc.original


def run_suite(suite: str, model: str | Any, out: str | Path | None, opts: RunOptions) -> Run:
    """One suite: pre-flight check, phase 1, phase 2 and aggregation (each resumable)."""
    from genlens.runs import engine
    from genlens.runs.preflight import require
    from genlens.runs.rundir import check_prompt_variant

    suite_cls = get_suite_class(suite)
    data_dir = Path(opts.data_dir) if opts.data_dir else None
    suite_obj = suite_cls(data_dir=data_dir, suite_args=dict(opts.suite_args))
    backend = as_backend(model, opts.model_args)
    run_dir = Path(out) if out is not None else Path("runs") / f"{suite}__{slug(backend.spec)}"
    ctx = opts.score_context(run_dir)
    if not opts.generate_only:
        require(suite_obj, ctx)
    gen_opts = GenerateOptions(
        samples=int(opts.samples or suite_obj.meta.default_samples), seed=int(opts.seed), limit=opts.limit,
        concurrency=int(opts.concurrency),
        shard=parse_shard(opts.shard) if isinstance(opts.shard, str) else opts.shard,
        mode=str(opts.suite_args.get("mode", "native")) if suite_obj.meta.task == "multiturn" else "",
        quiet=opts.quiet, prompt_variant=check_prompt_variant(opts.prompt_variant),
    )
    generated = engine.generate(run_dir, suite_obj, backend, gen_opts, data_dir=data_dir)
    if opts.generate_only:
        return Run(run_dir, generated=generated)
    scored = engine.score(run_dir, ctx)
    engine.aggregate(run_dir, ctx)
    return Run(run_dir, generated=generated, scored=scored)


def run(suite: str, model: str | Any, out: str | Path | None = None, **options: Any) -> Run | StudyRun:
    """Generate then score ``suite`` (or a study, or ``"a,b"``) for ``model`` into ``out``; resumable.

    ``options`` are :class:`RunOptions` fields (samples, limit, seed, judge, model_args …); a study
    also takes ``real`` (a folder of real photos for ``detect``) and ``probe`` (a trained probe dir).
    Returns a :class:`Run` for one suite, a :class:`StudyRun` for several or a study.
    """
    from genlens.studies import is_study_request, run_study

    real = options.pop("real", None)
    probe = options.pop("probe", None)
    opts = RunOptions.from_kwargs(options)
    try:
        if is_study_request(suite):
            if out is None:
                raise SpecError("a study needs an output directory", fix="pass out='runs/<model>'")
            return run_study(suite, model, Path(out), opts, real=Path(real) if real else None,
                             probe=Path(probe) if probe else None)
        if real or probe:
            raise SpecError("real= and probe= belong to studies", fix="run genlens.detect / probe on the run instead")
        return run_suite(suite, model, out, opts)
    except BackendBug as exc:
        raise _unwrap_bug(exc) from None


def score(run_dir: str | Path | Run, **options: Any) -> Run:
    """Phase 2 on an existing run (resumable): scorers, then the official aggregation."""
    from genlens.runs import engine

    directory = Path(run_dir.dir if isinstance(run_dir, Run) else run_dir)
    opts = RunOptions.from_kwargs(options)
    ctx = opts.score_context(directory)
    scored = engine.score(directory, ctx)
    engine.aggregate(directory, ctx)
    return Run(directory, scored=scored)


def report(runs: Iterable[str | Path | Run | StudyRun] | str | Path | Run, fmt: str = "table", out: str | Path | None = None) -> Any:
    """Render runs as ``table`` (a rich Table), ``md``, ``json``, ``csv`` or ``html``; write to ``out`` if given."""
    from genlens.report import render

    if isinstance(runs, (str, Path, Run, StudyRun)):
        runs = [runs]
    dirs: list[Path] = []
    for entry in runs:
        if isinstance(entry, StudyRun):
            dirs.extend(r.dir for r in entry.runs.values())
        else:
            dirs.append(Path(entry.dir if isinstance(entry, Run) else entry))
    if not dirs:
        raise SpecError("no runs to report", fix="pass one or more run directories")
    return render(dirs, fmt, Path(out) if out is not None else None)

