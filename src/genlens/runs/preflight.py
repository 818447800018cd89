"""Pre-flight: is everything a suite's scoring needs here, *before* phase 1 spends time or money?

Each ``needs`` entry of a suite's metadata maps to concrete checks: Python packages importable,
weights present (a local directory, or cached in the hub cache when downloads are off), a judge
chosen and its API key set, the suite's data readable. ``check`` lists what is missing, one
:class:`Missing` per problem; ``require`` refuses the run with the first of them.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlens.errors import GenlensError, SpecError
from genlens.extras import extra_for
from genlens.suites.base import ScoreContext, Suite


@dataclass(frozen=True)
class Missing:
    """One thing a suite's scoring needs that this machine or this command does not have."""

    what: str
    fix: str

    def line(self) -> str:
        return f"needs {self.what} — {self.fix}"


def downloads_allowed() -> bool:
    """Hub downloads are possible unless HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE says otherwise."""
    return not any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
                   for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _module_missing(module: str) -> Missing | None:
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return None
    entry = extra_for(module)
    extra = f"pip install 'genlens[{entry.extra}]'" if entry and entry.extra != "people" else "see README 'mediapipe'"
    return Missing(f"{entry.package if entry else module} (Python package)", extra)


def weights_cached(repo_id: str) -> bool:
    """Whether a hub model's config is in the local hub cache (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    for name in ("config.json", "model_index.json", "preprocessor_config.json"):
        try:
            found = try_to_load_from_cache(repo_id, name)
        except Exception:  # a malformed id is "not cached", the loader names the real problem
            return False
        if isinstance(found, str):
            return True
    return False


def weights_status(id_or_dir: str) -> tuple[bool, str]:
    """(usable, how): a local directory, cached hub weights, or a hub id that will download."""
    path = Path(id_or_dir).expanduser()
    if path.is_dir():
        return True, "local directory"
    if id_or_dir.startswith((".", "/", "~")) or os.sep + os.sep in id_or_dir:
        return False, "no such directory"
    if weights_cached(id_or_dir):
        return True, "cached"
    if downloads_allowed():
        return True, "downloads on first use"
    return False, "not in the hub cache and downloads are off (HF_HUB_OFFLINE)"


def _weights(kind: str, id_or_dir: str, option: str) -> list[Missing]:
    out = [m for m in (_module_missing("torch"), _module_missing("transformers")) if m is not None]
    ok, how = weights_status(id_or_dir)
    if not ok:
        out.append(Missing(f"{kind} weights {id_or_dir} ({how})",
                           f"give {option} <local dir>, or allow the hub download once (unset HF_HUB_OFFLINE)"))
    return out


def judge_spec(suite: Suite, ctx: ScoreContext) -> str | None:
    """The judge a run would be scored with: --judge, else the run's judge.json, else the suite's default."""
    if ctx.judge:
        return ctx.judge
    from genlens.judges.scorer import read_judge_choice

    stored = read_judge_choice(ctx.run_dir).get("judge")
    return stored or getattr(suite, "default_judge", None)


def _judge(suite: Suite, ctx: ScoreContext, *, required: bool = False) -> list[Missing]:
    """The judge's package and key. Without any judge configured only a suite that cannot score without one misses it."""
    spec = judge_spec(suite, ctx)
    if not spec:
        return [Missing("a judge", "add --judge openai:<model>, gemini:<model> or local:<id or dir>")] if required else []
    scheme, _, target = spec.partition(":")
    base_url = ctx.scorer_args.get("base_url")
    if scheme == "openai":
        missing = _module_missing("openai")
        if missing:
            return [missing]
        if not (os.environ.get("OPENAI_API_KEY") or base_url or os.environ.get("OPENAI_BASE_URL")):
            return [Missing(f"OPENAI_API_KEY for the judge {spec}", "export OPENAI_API_KEY=… (or --judge another judge)")]
    elif scheme == "gemini":
        missing = _module_missing("google.genai")
        if missing:
            return [missing]
        if not (os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")):
            return [Missing(f"GEMINI_API_KEY for the judge {spec}", "export GEMINI_API_KEY=… (or --judge another judge)")]
    elif scheme == "local":
        from genlens.judges.local_judge import PRESETS, preset_dir

        if target in PRESETS:  # a named open judge: its folder must be downloaded
            try:
                target = str(preset_dir(target))
            except GenlensError as exc:
                return [Missing(f"judge weights {spec} ({exc.message})", exc.fix or "download them")]
        return _weights("judge", target, "--judge local:")
    return []


def _remembered(ctx: ScoreContext) -> None:
    """Fill detector/clip the user left out from the run's scoring.json (what a resumed run will use)."""
    import json

    try:
        saved = json.loads((ctx.run_dir / "scoring.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for name in ("detector", "clip"):
        if getattr(ctx, name) is None and isinstance(saved, dict) and saved.get(name):
            setattr(ctx, name, str(saved[name]))


def check(suite: Suite, ctx: ScoreContext, *, data: bool = True) -> list[Missing]:
    """Everything ``suite``'s scoring needs that is missing (empty: ready to run); ``data=False`` skips reading items."""
    from genlens.scorers.clip import DEFAULT_CLIP
    from genlens.scorers.detection import DEFAULT_DETECTOR

    missing: list[Missing] = []
    _remembered(ctx)
    try:
        if data:
            suite.items()
    except GenlensError as exc:
        missing.append(Missing(f"{suite.meta.name} data ({exc.message})", exc.fix or f"run `genlens data fetch {suite.meta.name}`"))
    for need in suite.meta.needs:
        if need == "detector":
            missing += _weights("detector", ctx.detector or DEFAULT_DETECTOR, "--detector")
        elif need == "clip":
            missing += _weights("CLIP", ctx.clip or DEFAULT_CLIP, "--clip")
        elif need == "judge":
            missing += _judge(suite, ctx)  # suites without a default judge (reason-edit, gedit) score metrics without one
        elif need == "ocr":
            missing += [m for m in (_module_missing("rapidocr"), _module_missing("onnxruntime")) if m]
        elif need == "mediapipe":
            missing += [m for m in (_module_missing("mediapipe"),) if m]
    extra: Any = getattr(suite, "preflight", None)
    if callable(extra):
        missing += list(extra(ctx))
    seen: set[str] = set()
    return [m for m in missing if not (m.what in seen or seen.add(m.what))]


def require(suite: Suite, ctx: ScoreContext) -> None:
    """Refuse a run whose scoring cannot happen here, before any image is generated."""
    missing = check(suite, ctx)
    if missing:
        first = missing[0]
        more = f" (and {len(missing) - 1} more: {'; '.join(m.what for m in missing[1:])})" if len(missing) > 1 else ""
        raise SpecError(
            f"{suite.meta.name} scoring needs {first.what}{more}",
            fix=f"{first.fix}; or pass --generate-only to make the images now and score later",
        )
