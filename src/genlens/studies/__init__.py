"""Studies: named bundles of suites + forensics + one report, written as small YAML files.

A study file::

    name: my-study
    title: what it diagnoses
    suites:                      # each runs into OUT/<suite>/ and resumes on its own
      - geneval
      - {suite: wise, samples: 1, suite_args: {prompt: official}}
    detect: {runs: [geneval]}    # with --real DIR: the first listed suite that ran is tested
    probe: {runs: [geneval]}     # with --probe DIR: the first listed suite that ran is classified
    report: report.html          # written into OUT/

Built-in studies live next to this module; users add their own by passing a ``.yaml`` path or by
putting files in a directory named by ``GENLENS_STUDY_PATH`` (``:``-separated).
``genlens run a,b --model M --out DIR`` is an ad-hoc study of suites a and b.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from genlens.errors import BackendBug, GenlensError, SpecError

STUDY_KEYS = {"name", "title", "description", "suites", "detect", "probe", "report"}
PART_KEYS = {"suite", "samples", "limit", "suite_args", "data_dir"}
STUDY_JSON = "study.json"


@dataclass(frozen=True)
class Part:
    """One suite of a study, with the options the study fixes for it."""

    suite: str
    samples: int | None = None
    limit: int | None = None
    suite_args: dict[str, Any] = field(default_factory=dict)
    data_dir: str | None = None


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    parts: tuple[Part, ...]
    detect_runs: tuple[str, ...] = ()
    probe_runs: tuple[str, ...] = ()
    report: str | None = "report.html"
    source: str = ""
    description: str = ""


def study_dirs() -> list[Path]:
    """Where studies are looked up: GENLENS_STUDY_PATH's directories first, then the built-ins."""
    extra = [Path(p).expanduser() for p in os.environ.get("GENLENS_STUDY_PATH", "").split(os.pathsep) if p]
    return [*extra, Path(__file__).resolve().parent]


def study_files() -> dict[str, Path]:
    """Every findable study, by file stem (an earlier directory wins)."""
    found: dict[str, Path] = {}
    for directory in study_dirs():
        if directory.is_dir():
            for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
                found.setdefault(path.stem, path)
    return found


def _part(entry: Any, path: Path) -> Part:
    if isinstance(entry, str):
        return Part(entry)
    if not isinstance(entry, dict) or "suite" not in entry:
        raise SpecError(f"study suite entry {entry!r} is neither a suite name nor a mapping with 'suite'", path=path,
                        fix="write - geneval, or - {suite: wise, samples: 1}")
    unknown = sorted(set(entry) - PART_KEYS)
    if unknown:
        raise SpecError(f"unknown key(s) in study suite entry: {', '.join(unknown)}", path=path, fix=f"use only: {', '.join(sorted(PART_KEYS))}")
    args = entry.get("suite_args") or {}
    if not isinstance(args, dict):
        raise SpecError("suite_args must be a mapping", path=path, fix="e.g. suite_args: {mode: reupload}")
    return Part(str(entry["suite"]), samples=entry.get("samples"), limit=entry.get("limit"), suite_args=dict(args),
                data_dir=str(entry["data_dir"]) if entry.get("data_dir") else None)


def parse_study(data: Any, path: Path) -> Study:
    """A study from its YAML mapping, every key checked (a typo is an error, never ignored)."""
    from genlens.suites.base import suite_classes

    if not isinstance(data, dict):
        raise SpecError("a study must be a mapping with name, suites, …", path=path, fix="see docs/studies.md")
    unknown = sorted(set(data) - STUDY_KEYS)
    if unknown:
        raise SpecError(f"unknown study key(s): {', '.join(unknown)}", path=path, fix=f"use only: {', '.join(sorted(STUDY_KEYS))}")
    suites = data.get("suites")
    if not isinstance(suites, list) or not suites:
        raise SpecError("a study needs a non-empty 'suites' list", path=path, fix="e.g. suites: [geneval, diag-blur]")
    parts = tuple(_part(entry, path) for entry in suites)
    known = suite_classes()
    for part in parts:
        if part.suite not in known:
            import difflib

            near = difflib.get_close_matches(part.suite, known, n=1)
            raise SpecError(f"study names unknown suite {part.suite!r}" + (f" (did you mean {near[0]}?)" if near else ""),
                            path=path, fix="see `genlens suites`")

    def runs_of(key: str) -> tuple[str, ...]:
        value = data.get(key) or {}
        runs = value.get("runs", []) if isinstance(value, dict) else value
        if not isinstance(runs, list):
            raise SpecError(f"{key}: runs must be a list of suite names", path=path, fix=f"e.g. {key}: {{runs: [geneval]}}")
        return tuple(str(r) for r in runs)

    report = data.get("report", "report.html")
    return Study(name=str(data.get("name") or path.stem), title=str(data.get("title") or ""), parts=parts,
                 detect_runs=runs_of("detect"), probe_runs=runs_of("probe"), report=str(report) if report else None,
                 source=str(path), description=str(data.get("description") or ""))


def load_study(name: str) -> Study:
    """A study by name (built-in or on GENLENS_STUDY_PATH), by .yaml path, or ``a,b,…`` (ad hoc)."""
    import yaml

    if "," in name:
        entries = [s.strip() for s in name.split(",") if s.strip()]
        base = next((e for e in entries if is_study_request(e)), None)
        if base is None:
            return parse_study({"name": "+".join(entries), "suites": entries}, Path("<command line>"))
        # ``STUDY,suite,…``: the study (its forensics and report) with more suites appended, e.g.
        # ``genlens run gpt-imgeval,kris,imgedit,rise`` adds the 2026 editing benchmarks to GPT-ImgEval's set
        study = load_study(base)
        others = [e for e in entries if e != base]
        if any(is_study_request(e) for e in others):
            raise SpecError(f"{name!r} names more than one study", fix="combine one study with suites: STUDY,suite,suite")
        extra = parse_study({"name": "+".join(others), "suites": others}, Path("<command line>")).parts
        have = {p.suite for p in study.parts}
        return replace(study, name="+".join(entries), parts=study.parts + tuple(p for p in extra if p.suite not in have))
    path = Path(name) if name.endswith((".yaml", ".yml")) else study_files().get(name)
    if path is None:
        raise SpecError(f"unknown study {name!r}", fix=f"choose one of: {', '.join(study_files())} (see `genlens studies`)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError("study file not found", path=path, fix="check the path") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"study is not valid YAML ({str(exc).splitlines()[0]})", path=path, fix="fix the YAML syntax") from None
    return parse_study(data, path)


def is_study_request(name: str) -> bool:
    """Whether ``genlens run NAME`` means a study (several suites) rather than one suite."""
    from genlens.suites.base import suite_classes

    if "," in name or name.endswith((".yaml", ".yml")):
        return True
    return name not in suite_classes() and name in study_files()


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _first_ran(names: tuple[str, ...], ran: dict[str, Any]) -> str | None:
    return next((n for n in names if n in ran), None)


def run_study(name: str, model: Any, out: Path, opts: Any, *, real: Path | None = None, probe: Path | None = None,
              log: Callable[[str], None] = _stderr) -> Any:
    """Run every part of a study into ``out/<suite>/`` (each resumable), then forensics and the report."""
    from genlens.api import Run, StudyRun, run_suite
    from genlens.runs.preflight import check
    from genlens.suites.base import get_suite_class

    study = load_study(name)
    if real is not None and not study.detect_runs:
        study = replace(study, detect_runs=tuple(p.suite for p in study.parts))
    if probe is not None and not study.probe_runs:
        study = replace(study, probe_runs=tuple(p.suite for p in study.parts))
    runs: dict[str, Run] = {}
    skipped: dict[str, str] = {}
    for part in study.parts:
        part_opts = replace(opts, samples=opts.samples or part.samples, limit=opts.limit or part.limit,
                            suite_args={**part.suite_args, **opts.suite_args},
                            data_dir=_part_data_dir(opts.data_dir, part))
        part_opts = _options_for(get_suite_class(part.suite).meta.needs, part_opts)
        run_dir = out / part.suite
        suite_obj = get_suite_class(part.suite)(
            data_dir=Path(part_opts.data_dir) if part_opts.data_dir else None, suite_args=part_opts.suite_args)
        missing = [] if part_opts.generate_only else check(suite_obj, part_opts.score_context(run_dir))
        if missing:
            skipped[part.suite] = missing[0].line()
            log(f"skip {part.suite}: {missing[0].line()}")
            continue
        if not opts.quiet:
            log(f"{part.suite}: running into {run_dir}")
        try:
            result = run_suite(part.suite, model, run_dir, part_opts)
        except BackendBug:
            raise
        except GenlensError as exc:
            skipped[part.suite] = str(exc)
            log(f"skip {part.suite}: {exc}")
            continue
        runs[part.suite] = result
        if not opts.quiet and result.generated is not None:
            g = result.generated
            log(f"{part.suite}: {g.total} images, {g.skipped} already done, {g.done} new")
        if result.failed:
            log(f"{part.suite}: {result.failed} request(s) or scoring(s) failed; run the same command again to retry them")
    forensics = _forensics(study, runs, real, probe, log)
    report_path = None
    if study.report and runs:
        from genlens.report import render

        report_path = out / study.report
        render([r.dir for r in runs.values()], "html", report_path)
    _write_study_json(out, study, runs, skipped, forensics, report_path)
    return StudyRun(dir=out, runs=runs, skipped=skipped, report=report_path, forensics=forensics)


def _options_for(needs: tuple[str, ...], opts: Any) -> Any:
    """A study's --judge / --detector / --clip reach only the parts whose scoring uses them."""
    uses = " ".join(needs)
    return replace(
        opts,
        judge=opts.judge if "judge" in uses else None,
        judge_prompt=opts.judge_prompt if "judge" in uses else None,
        detector=opts.detector if "detector" in uses else None,
        clip=opts.clip if "clip" in uses else None,
    )


def _part_data_dir(value: Any, part: Part) -> str | None:
    """--data-dir for a study: SUITE=DIR pairs (comma-separated) or one DIR for every part."""
    if part.data_dir:
        return part.data_dir
    if not value:
        return None
    text = str(value)
    if "=" not in text:
        return text
    for pair in text.split(","):
        suite, _, directory = pair.partition("=")
        if suite.strip() == part.suite:
            return directory.strip()
    return None


def _forensics(study: Study, runs: dict[str, Any], real: Path | None, probe: Path | None,
               log: Callable[[str], None]) -> dict[str, str]:
    done: dict[str, str] = {}
    if real is not None:
        target = _first_ran(study.detect_runs, runs)
        if target is None:
            log(f"skip detect: none of {', '.join(study.detect_runs)} produced images here")
        else:
            try:
                from genlens.forensics.detect import DetectOptions, run_detect

                run_detect(runs[target].dir, real, DetectOptions())
                done["detect"] = target
            except ImportError as exc:
                log(f"skip detect: {_import_line(exc)}")
            except GenlensError as exc:
                log(f"skip detect: {exc}")
    if probe is not None:
        target = _first_ran(study.probe_runs, runs)
        if target is None:
            log(f"skip probe: none of {', '.join(study.probe_runs)} produced images here")
        else:
            try:
                from genlens.forensics.probe import classify_run

                classify_run(runs[target].dir, probe)
                done["probe"] = target
            except ImportError as exc:
                log(f"skip probe: {_import_line(exc)}")
            except GenlensError as exc:
                log(f"skip probe: {exc}")
    return done


def _import_line(exc: ImportError) -> str:
    from genlens.extras import missing_dependency

    missing = missing_dependency(exc)
    if missing is None:
        raise exc
    return str(missing)


def _write_study_json(out: Path, study: Study, runs: dict[str, Any], skipped: dict[str, str],
                      forensics: dict[str, str], report: Path | None) -> None:
    from genlens.imageio import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / STUDY_JSON, json.dumps({
        "study": study.name, "source": study.source, "ran": sorted(runs), "skipped": skipped,
        "forensics": forensics, "report": report.name if report else None,
    }, indent=2) + "\n")
