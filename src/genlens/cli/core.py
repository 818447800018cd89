"""Core commands: suites, models, doctor, run, generate, score, import, report."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from genlens.backends.base import backend_classes, make_backend, plugin_errors
from genlens.cli import err_console, out_console, user_errors
from genlens.config import load_config, merge_kv, parse_shard, pick, slug
from genlens.errors import SpecError
from genlens.runs import engine
from genlens.runs.engine import GenerateOptions, PhaseSummary
from genlens.runs.executors import ExecutorOptions
from genlens.runs.rundir import check_prompt_variant
from genlens.suites.base import ScoreContext, Suite, check_scoring_options, get_suite_class, suite_classes

# -- shared option types ----------------------------------------------------------------------
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Model spec: openai:<model>, gemini:<model>, diffusers:<id or dir>, browser:<recipe.yaml>, folder:<dir>, synthetic:<pattern>.")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Run directory (default: runs/<suite>__<model>). The same command again resumes it.")]
SamplesOpt = Annotated[int | None, typer.Option("--samples", "-k", min=1, help="Images per prompt (default: the suite's official number).")]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Only the first N items (official order).")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Base seed; each (item, sample) gets its own derived seed.")]
ConcurrencyOpt = Annotated[int | None, typer.Option("--concurrency", "-c", min=1, help="Requests in flight at once (API backends and judges).")]
ModelArgOpt = Annotated[list[str] | None, typer.Option("--model-arg", "-a", help="Backend argument key=value (repeatable; a=1,b=2 is two): size, steps, guidance, base_url … — each backend's are listed by `genlens models --json`.")]
PromptVariantOpt = Annotated[str | None, typer.Option("--prompt-variant", help="Which prompts the model was given: original (default), rewritten, or an enhancer's name. Part of the run's identity; reports show it and never compare a non-original variant with published numbers silently.")]
SuiteArgOpt = Annotated[list[str] | None, typer.Option("--suite-arg", help="Suite argument key=value (repeatable), e.g. mode=reupload — each suite's are listed by `genlens suites --json`.")]
ScorerArgOpt = Annotated[list[str] | None, typer.Option("--scorer-arg", help="Scorer or judge argument key=value (repeatable), e.g. temperature=0 — listed by `genlens suites --json`.")]
JudgeOpt = Annotated[str | None, typer.Option("--judge", help="Judge spec for judged suites: openai:<model>, gemini:<model>, local:<id or dir>.")]
JudgePromptOpt = Annotated[Path | None, typer.Option("--judge-prompt", help="Use this judge prompt text instead of genlens's own wording.")]
DetectorOpt = Annotated[str | None, typer.Option("--detector", help="Detector weights (hub id or local dir) for suites that detect objects.")]
ClipOpt = Annotated[str | None, typer.Option("--clip", help="CLIP weights (hub id or local dir) for suites that use CLIP.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Where the suite's data lives (see `genlens data fetch`).")]
ShardOpt = Annotated[str | None, typer.Option("--shard", help="Only this shard of the items, i/n (for Slurm arrays).")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML file holding any of these options (the command line wins).")]
ExecutorOpt = Annotated[str | None, typer.Option("--executor", help="Where units run: local (default) or ray (Ray actors; the driver stays the only writer).")]
RayAddressOpt = Annotated[str | None, typer.Option("--ray-address", help="Ray cluster to join: auto (after `ray start`) or ray://host:port. Default: a cluster of this machine.")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", min=1, help="Ray actors (default: one per GPU with --gpus-per-worker, else one per CPU).")]
GpusPerWorkerOpt = Annotated[float | None, typer.Option("--gpus-per-worker", min=0, help="GPUs each Ray actor holds (1 for a local model per GPU).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summaries.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON to stdout.")]
GenerateOnlyOpt = Annotated[bool, typer.Option("--generate-only", help="Phase 1 only: make the images now, score later with `genlens score` (skips the pre-flight check).")]
RealOpt = Annotated[Path | None, typer.Option("--real", help="Studies: a folder of real photos to test the images' detectability against (`detect`).")]
ProbeOpt = Annotated[Path | None, typer.Option("--probe", help="Studies: a trained probe directory to classify the images with (`probe classify`).")]
PromptDataOpt = Annotated[str | None, typer.Option("--data", help="The prompts suite's prompt set: FILE.jsonl, FILE.csv or hf:<dataset>[:split] (same as --suite-arg data=…).")]
OfflineOpt = Annotated[bool, typer.Option("--offline", help="Use only what this machine has: no hub downloads; parts needing uncached weights are skipped (studies) or refused.")]


def _score_context(run_dir: Path, config: dict[str, Any], *, judge: str | None, judge_prompt: Path | None,
                   detector: str | None, clip: str | None, data_dir: Path | None, concurrency: int | None,
                   suite_arg: list[str] | None, scorer_arg: list[str] | None, quiet: bool, rejudge: bool = False) -> ScoreContext:
    jp = pick(judge_prompt, config, "judge_prompt")
    dd = pick(data_dir, config, "data_dir")
    return ScoreContext(
        run_dir=run_dir,
        judge=pick(judge, config, "judge"),
        judge_prompt=Path(jp) if jp else None,
        detector=pick(detector, config, "detector"),
        clip=pick(clip, config, "clip"),
        data_dir=Path(dd) if dd else None,
        rejudge=rejudge,
        concurrency=int(pick(concurrency, config, "concurrency", 4)),
        suite_args=merge_kv(config.get("suite_args"), suite_arg, "--suite-arg"),
        scorer_args=merge_kv(config.get("scorer_args"), scorer_arg, "--scorer-arg"),
        quiet=quiet,
    )


def _executor(config: dict[str, Any], executor: str | None, address: str | None, workers: int | None,
              gpus: float | None) -> ExecutorOptions | None:
    """--executor and its options (from the command line or the config file)."""
    kind = pick(executor, config, "executor")
    address = pick(address, config, "ray_address")
    workers = pick(workers, config, "workers")
    gpus = pick(gpus, config, "gpus_per_worker")
    if kind is None and address is None and workers is None and gpus is None:
        return None
    options = ExecutorOptions(kind=str(kind or "local"), address=address, workers=int(workers) if workers else None,
                              gpus_per_worker=float(gpus or 0))
    options.check()
    return options


def _print_phase(name: str, summary: PhaseSummary, quiet: bool) -> None:
    if summary.input_errors:
        for line in summary.input_errors[:20]:
            err_console.print(f"[bold red]error:[/] {escape(line)}")
        more = len(summary.input_errors) - 20
        if more > 0:
            err_console.print(f"… and {more} more input errors")
    if quiet:
        return
    states = ", ".join(f"{k} {v}" for k, v in sorted(summary.statuses.items())) or "nothing new"
    err_console.print(
        f"{name}: {summary.total} units, {summary.skipped} already done, {summary.done} new ({states}) in {summary.seconds:.1f}s"
    )


def _finish(*summaries: PhaseSummary) -> None:
    """Exit 2 for input errors the user must fix, 1 when some requests or scorings failed (a re-run retries them)."""
    if any(summary.input_errors for summary in summaries):
        err_console.print("fix the files named above, then run the same command again: finished work is kept")
        raise typer.Exit(2)
    failed = sum(summary.statuses.get("error", 0) for summary in summaries)
    if failed:
        err_console.print(f"{failed} request(s) or scoring(s) failed; run the same command again to retry them")
        raise typer.Exit(1)


def _show_results(results: dict[str, Any], as_json: bool, quiet: bool) -> None:
    if as_json:
        out_console.print_json(json.dumps(results, default=str))
        return
    if quiet:
        return
    from genlens.report.tables import results_table

    out_console.print(results_table([results]))


def _note_outside(results: dict[str, Any], quiet: bool) -> None:
    outside = (results.get("counts") or {}).get("stored_outside_selection")
    if outside and not quiet:
        err_console.print(f"note: {outside} stored generation(s) lie outside this run's --limit/--samples "
                          "and are not counted (they stay on disk; a larger --limit/--samples counts them again)")


def _generate_phase(suite_name: str, model: str | None, out: Path | None, config: dict[str, Any], *,
                    samples: int | None, limit: int | None, seed: int | None, concurrency: int | None,
                    model_arg: list[str] | None, suite_arg: list[str] | None, data_dir: Path | None,
                    shard: str | None, quiet: bool, executor: ExecutorOptions | None = None,
                    hold: ExitStack | None = None,
                    check: Callable[[Suite, Path], None] | None = None,
                    prompt_variant: str | None = None) -> tuple[Path, PhaseSummary]:
    """Generate into the run directory; with ``hold``, its lock is taken there and kept until ``hold`` closes."""
    suite_name = pick(suite_name, config, "suite")
    model = pick(model, config, "model")
    if not model:
        raise SpecError("no model given", fix="add --model SPEC, e.g. --model folder:./images (see `genlens models`)")
    suite_cls = get_suite_class(suite_name)
    suite_args = merge_kv(config.get("suite_args"), suite_arg, "--suite-arg")
    dd = pick(data_dir, config, "data_dir")
    suite = suite_cls(data_dir=Path(dd) if dd else None, suite_args=suite_args)
    params = merge_kv(config.get("model_args"), model_arg, "--model-arg")
    backend = make_backend(model, params)
    run_dir = Path(pick(out, config, "out") or Path("runs") / f"{suite_name}__{slug(model)}")
    opts = GenerateOptions(
        samples=int(pick(samples, config, "samples", suite.meta.default_samples)),
        seed=int(pick(seed, config, "seed", 0)),
        limit=pick(limit, config, "limit"),
        concurrency=int(pick(concurrency, config, "concurrency", 4)),
        shard=parse_shard(pick(shard, config, "shard")),
        mode=str(suite_args.get("mode", "native")) if suite.meta.task == "multiturn" else "",
        quiet=quiet,
        prompt_variant=check_prompt_variant(pick(prompt_variant, config, "prompt_variant", "original")),
    )
    if check is not None:  # pre-flight: refuse before phase 1 when scoring cannot happen here
        check(suite, run_dir)
    if hold is not None:
        hold.enter_context(engine.run_lock(run_dir))
    summary = engine.generate(run_dir, suite, backend, opts, data_dir=Path(dd) if dd else None, executor=executor)
    return run_dir, summary


#: Terminal width from which `suites` / `models` draw tables (narrower: one block per entry).
WIDE = 120


def _block(head: str, *details: str) -> None:
    """A heading line and indented detail lines, word-wrapped by Rich to the terminal (never mid-word)."""
    from rich.padding import Padding
    from rich.text import Text

    out_console.print(Text(head), soft_wrap=False)
    for detail in details:
        out_console.print(Padding(Text(detail), (0, 0, 0, 4), expand=False), soft_wrap=False)


def suites_table(rows: list[dict[str, Any]]) -> Table:
    """The suites as a table whose identifier columns never wrap (readable at 80 columns)."""
    table = Table(title="genlens suites", expand=False)
    table.add_column("suite", no_wrap=True)
    table.add_column("task", no_wrap=True)
    table.add_column("items", justify="right", no_wrap=True)
    table.add_column("k", justify="right", no_wrap=True)
    table.add_column("scoring needs", overflow="fold")
    table.add_column("data", overflow="fold", ratio=1)
    for r in rows:
        table.add_row(*(escape(cell) for cell in (
            r["name"], r["task"], str(r["items"] or "fetched"), str(r["default_samples"]), ", ".join(r["needs"]), r["data"])))
    return table


def models_table(rows: list[dict[str, Any]]) -> Table:
    """The backends as a table; the spec syntax is split only at its | alternatives, never mid-word."""
    table = Table(title="genlens model backends")
    table.add_column("spec", no_wrap=True)
    table.add_column("tasks")
    table.add_column("needs")
    table.add_column("what", ratio=1)
    for r in rows:
        spec = "\n".join(_split_alternatives(r["syntax"], 24))
        table.add_row(escape(spec), escape(", ".join(r["tasks"])), escape(r["requires"] or "-"), escape(r["description"]))
    return table


def _split_alternatives(syntax: str, width: int) -> list[str]:
    """``synthetic:gradient|blank|noise|fixed`` as lines of at most ~width characters, broken after a ``|``."""
    lines, current = [], ""
    for part in syntax.split("|"):
        piece = part if not current else "|" + part
        if current and len(current) + len(piece) > width:
            lines.append(current + "|")
            current = part
        else:
            current += piece
    return [*lines, current]


def register(app: typer.Typer) -> None:
    @app.command("suites")
    @user_errors
    def suites_cmd(as_json: JsonOpt = False) -> None:
        """List the suites: name, items, categories, what scoring needs, where the data comes from."""
        from genlens.suites.base import suite_plugin_errors

        rows = []
        for name, cls in suite_classes().items():
            m = cls.meta
            rows.append({"name": name, "version": m.version, "title": m.title, "task": m.task,
                         "items": m.item_count, "default_samples": m.default_samples,
                         "categories": list(m.categories), "needs": list(m.needs), "data": m.data_source,
                         "uses": sorted(cls.uses),
                         "suite_args": [a.describe() for a in cls.args or ()],
                         "scorer_args": [a.describe() for a in cls.scorer_args or ()]})
        broken = suite_plugin_errors()
        if as_json:
            out_console.print_json(json.dumps(rows))
            return
        if out_console.is_terminal and out_console.width >= WIDE:
            out_console.print(suites_table(rows))
        elif out_console.is_terminal:  # narrow terminal: a block per suite, nothing split mid-word
            for r in rows:
                _block(f"{r['name']}  ({r['task']}, {r['items'] or 'fetched'} items, k={r['default_samples']})",
                       f"needs: {', '.join(r['needs'])}", f"data:  {r['data']}")
        else:  # piped: one line per suite, so `genlens suites | grep geneval` shows all of it
            for r in rows:
                typer.echo("\t".join((r["name"], r["task"], f"items={r['items'] or 'fetched'}", f"k={r['default_samples']}",
                                      f"needs={','.join(r['needs'])}", f"data={r['data']}")))
        for name, why in broken.items():
            err_console.print(escape(f"plugin suite {name!r} failed to load: {why}"))

    @app.command("models")
    @user_errors
    def models_cmd(as_json: JsonOpt = False) -> None:
        """List the generation backends and their model-spec syntax."""
        rows = [{"scheme": s, "syntax": c.info.syntax, "tasks": list(c.info.tasks), "requires": c.info.requires,
                 "description": c.info.description,
                 "args": None if c.args is None else [{"name": a.name, "type": a.type, "default": a.default, "help": a.help,
                                                       "example": a.example, "min": a.minimum, "max": a.maximum,
                                                       "choices": list(a.choices)} for a in c.args]}
                for s, c in backend_classes().items()]
        broken = plugin_errors()
        if as_json:
            out_console.print_json(json.dumps({"backends": rows, "plugin_errors": broken}))
            return
        if out_console.is_terminal and out_console.width >= WIDE:
            out_console.print(models_table(rows))
        elif out_console.is_terminal:
            for r in rows:
                _block(f"{r['syntax']}  ({', '.join(r['tasks'])})", f"needs: {r['requires'] or '-'}", r["description"])
        else:  # piped: one line per backend
            for r in rows:
                typer.echo("\t".join((r["syntax"], ",".join(r["tasks"]), f"needs={r['requires'] or '-'}", r["description"])))
        for name, why in broken.items():
            err_console.print(escape(f"plugin backend {name!r} failed to load: {why}"))
        if out_console.is_terminal:
            out_console.print("Plugins register more through the 'genlens.backends' entry-point group.")

    @app.command("doctor")
    @user_errors
    def doctor_cmd(as_json: JsonOpt = False) -> None:
        """What this machine has: torch/CUDA, cached weights, API keys present (never values), chromium, OCR."""
        from genlens.doctor import checks

        report = checks()
        if as_json:
            out_console.print_json(json.dumps(report, default=str))
            return
        table = Table(title="genlens doctor")
        table.add_column("check")
        table.add_column("status")
        table.add_column("detail", overflow="fold")
        for row in report["checks"]:
            mark = "[green]ok[/]" if row["ok"] else "[yellow]missing[/]"
            table.add_row(escape(row["name"]), mark, escape(row["detail"]))
        out_console.print(table)

    @app.command("run")
    @user_errors
    def run_cmd(
        suite: Annotated[str, typer.Argument(help="Suite name (see `genlens suites`).")],
        model: ModelOpt = None, out: OutOpt = None, samples: SamplesOpt = None, limit: LimitOpt = None,
        seed: SeedOpt = None, concurrency: ConcurrencyOpt = None, model_arg: ModelArgOpt = None,
        suite_arg: SuiteArgOpt = None, scorer_arg: ScorerArgOpt = None, judge: JudgeOpt = None,
        judge_prompt: JudgePromptOpt = None, detector: DetectorOpt = None, clip: ClipOpt = None,
        data_dir: DataDirOpt = None, shard: ShardOpt = None, config: ConfigOpt = None,
        quiet: QuietOpt = False, as_json: JsonOpt = False, executor: ExecutorOpt = None,
        ray_address: RayAddressOpt = None, workers: WorkersOpt = None, gpus_per_worker: GpusPerWorkerOpt = None,
        generate_only: GenerateOnlyOpt = False, real: RealOpt = None, probe: ProbeOpt = None,
        offline: OfflineOpt = False, data: PromptDataOpt = None, prompt_variant: PromptVariantOpt = None,
    ) -> None:
        """Generate then score into a run directory; SUITE may be a study (`genlens studies`) or a,b,c. Resumes."""
        cfg = load_config(config)
        quiet = quiet or bool(cfg.get("quiet"))
        suite_arg = [*(suite_arg or []), f"data={data}"] if data else suite_arg
        if offline:
            import os

            os.environ["HF_HUB_OFFLINE"] = "1"
        from genlens.studies import is_study_request

        if is_study_request(pick(suite, cfg, "suite")):
            from genlens.cli.commands.studies import run_study_cmd

            run_study_cmd(pick(suite, cfg, "suite"), pick(model, cfg, "model"), pick(out, cfg, "out"), cfg, real=real,
                          probe=probe, samples=samples, limit=limit, seed=seed, concurrency=concurrency,
                          model_arg=model_arg, suite_arg=suite_arg, scorer_arg=scorer_arg, judge=judge,
                          judge_prompt=judge_prompt, detector=detector, clip=clip, data_dir=data_dir, shard=shard,
                          quiet=quiet, generate_only=generate_only)
            return
        if real is not None or probe is not None:
            raise SpecError("--real and --probe belong to studies", fix="run `genlens detect RUN --real DIR` / `genlens probe classify RUN --probe DIR`")

        def check(suite_obj: Suite, run_dir: Path) -> None:
            from genlens.runs.preflight import require

            require(suite_obj, _score_context(run_dir, cfg, judge=judge, judge_prompt=judge_prompt, detector=detector,
                                              clip=clip, data_dir=data_dir, concurrency=concurrency, suite_arg=suite_arg,
                                              scorer_arg=scorer_arg, quiet=quiet))

        # Scoring options the suite cannot use are refused before anything is generated.
        early = _score_context(Path("."), cfg, judge=judge, judge_prompt=judge_prompt, detector=detector, clip=clip,
                               data_dir=data_dir, concurrency=concurrency, suite_arg=suite_arg,
                               scorer_arg=scorer_arg, quiet=quiet)
        check_scoring_options(get_suite_class(pick(suite, cfg, "suite")), early)
        ex = _executor(cfg, executor, ray_address, workers, gpus_per_worker)
        with ExitStack() as hold:  # one lock for generate + score + aggregate: no other command slips in between
            run_dir, summary = _generate_phase(suite, model, out, cfg, samples=samples, limit=limit, seed=seed,
                                               concurrency=concurrency, model_arg=model_arg, suite_arg=suite_arg,
                                               data_dir=data_dir, shard=shard, quiet=quiet, executor=ex, hold=hold,
                                               check=None if generate_only else check, prompt_variant=prompt_variant)
            _print_phase("generate", summary, quiet)
            if generate_only:
                if not quiet:
                    err_console.print(f"run directory: {run_dir} (score it with `genlens score {run_dir}`)")
                _finish(summary)
                return
            ctx = _score_context(run_dir, cfg, judge=judge, judge_prompt=judge_prompt, detector=detector, clip=clip,
                                 data_dir=data_dir, concurrency=concurrency, suite_arg=suite_arg,
                                 scorer_arg=scorer_arg, quiet=quiet)
            scored = engine.score(run_dir, ctx, executor=ex)
            _print_phase("score", scored, quiet)
            results = engine.aggregate(run_dir, ctx)
        _show_results(results, as_json, quiet)
        _note_outside(results, quiet)
        if not quiet:
            err_console.print(f"results: {run_dir / 'results.json'}")
        _finish(summary, scored)

    @app.command("generate")
    @user_errors
    def generate_cmd(
        suite: Annotated[str, typer.Argument(help="Suite name (see `genlens suites`).")],
        model: ModelOpt = None, out: OutOpt = None, samples: SamplesOpt = None, limit: LimitOpt = None,
        seed: SeedOpt = None, concurrency: ConcurrencyOpt = None, model_arg: ModelArgOpt = None,
        suite_arg: SuiteArgOpt = None, data_dir: DataDirOpt = None, shard: ShardOpt = None,
        config: ConfigOpt = None, quiet: QuietOpt = False, executor: ExecutorOpt = None,
        ray_address: RayAddressOpt = None, workers: WorkersOpt = None, gpus_per_worker: GpusPerWorkerOpt = None,
        data: PromptDataOpt = None, prompt_variant: PromptVariantOpt = None,
    ) -> None:
        """Phase 1 only: generate (or collect) the images into a run directory."""
        suite_arg = [*(suite_arg or []), f"data={data}"] if data else suite_arg
        cfg = load_config(config)
        quiet = quiet or bool(cfg.get("quiet"))
        ex = _executor(cfg, executor, ray_address, workers, gpus_per_worker)
        run_dir, summary = _generate_phase(suite, model, out, cfg, samples=samples, limit=limit, seed=seed,
                                           concurrency=concurrency, model_arg=model_arg, suite_arg=suite_arg,
                                           data_dir=data_dir, shard=shard, quiet=quiet, executor=ex,
                                           prompt_variant=prompt_variant)
        _print_phase("generate", summary, quiet)
        if not quiet:
            err_console.print(f"run directory: {run_dir} (score it with `genlens score {run_dir}`)")
        _finish(summary)

    @app.command("score")
    @user_errors
    def score_cmd(
        run: Annotated[Path, typer.Argument(help="Run directory made by `genlens generate`, `run` or `import`.")],
        judge: JudgeOpt = None, judge_prompt: JudgePromptOpt = None, detector: DetectorOpt = None,
        clip: ClipOpt = None, data_dir: DataDirOpt = None, concurrency: ConcurrencyOpt = None,
        suite_arg: SuiteArgOpt = None, scorer_arg: ScorerArgOpt = None,
        rejudge: Annotated[bool, typer.Option("--rejudge", help="Re-parse stored judge responses without calling any judge.")] = False,
        config: ConfigOpt = None, quiet: QuietOpt = False, as_json: JsonOpt = False, executor: ExecutorOpt = None,
        ray_address: RayAddressOpt = None, workers: WorkersOpt = None, gpus_per_worker: GpusPerWorkerOpt = None,
    ) -> None:
        """Phase 2 only: score a run's images and write results.json (resumable)."""
        cfg = load_config(config)
        quiet = quiet or bool(cfg.get("quiet"))
        ex = _executor(cfg, executor, ray_address, workers, gpus_per_worker)
        ctx = _score_context(run, cfg, judge=judge, judge_prompt=judge_prompt, detector=detector, clip=clip,
                             data_dir=data_dir, concurrency=concurrency, suite_arg=suite_arg,
                             scorer_arg=scorer_arg, quiet=quiet, rejudge=rejudge)
        summary = engine.score(run, ctx, executor=ex)
        _print_phase("score", summary, quiet)
        results = engine.aggregate(run, ctx)
        _show_results(results, as_json, quiet)
        _note_outside(results, quiet)
        _finish(summary)

    @app.command("import")
    @user_errors
    def import_cmd(
        directory: Annotated[Path, typer.Argument(help="Folder of images in the suite's official layout.")],
        suite: Annotated[str, typer.Option("--suite", "-s", help="Suite whose layout the folder follows.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Run directory to create or resume.")],
        data_dir: DataDirOpt = None, quiet: QuietOpt = False, prompt_variant: PromptVariantOpt = None,
    ) -> None:
        """Register images made elsewhere (official layout, e.g. GenEval's <index>/samples/<n>.png)."""
        suite_obj = get_suite_class(suite)(data_dir=data_dir)
        summary = engine.import_images(directory, suite_obj, out, quiet=quiet,
                                       prompt_variant=check_prompt_variant(prompt_variant or "original"))
        _print_phase("import", summary, quiet)
        if not quiet:
            err_console.print(f"run directory: {out} (score it with `genlens score {out}`)")
        _finish(summary)

    @app.command("report")
    @user_errors
    def report_cmd(
        runs: Annotated[list[Path], typer.Argument(help="One or more run directories.")],
        fmt: Annotated[str, typer.Option("--format", "-f", help="table | md | json | csv | latex (booktabs) | html (one self-contained page; use --out FILE).")] = "table",
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
        figures: Annotated[Path | None, typer.Option("--figures", help="Also write each suite's figures (SVG and PDF) into this folder.")] = None,
    ) -> None:
        """Compare runs: headline, metrics and per-category scores side by side (latex: booktabs tables)."""
        from genlens.report import load_results, render

        if figures is not None:
            from genlens.report.figures import write_figures

            written = write_figures([load_results(run) for run in runs], figures)
            err_console.print(f"wrote {len(written)} figure file(s) to {figures}")
        notes: list[str] = []
        text = render(runs, fmt, out, notes=notes)
        for note in notes:  # an unreadable run is left out, the rest still rendered
            err_console.print(f"[yellow]note:[/] {escape(note)}")
        if out is None and text is not None:
            if fmt == "table":
                out_console.print(text)
            else:
                typer.echo(text, nl=not str(text).endswith("\n"))
        elif out is not None:
            err_console.print(f"wrote {out}")
