"""What this machine has for genlens: never prints a secret's value, only whether it is set.

Rows are ``{"name", "ok", "detail"}``. Every optional dependency is really imported (a package that
is installed but broken shows as broken), grouped under the extra that installs it; each suite says
which weights, data or keys its scoring needs and whether this machine has them.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from genlens.extras import OPTIONAL

API_KEYS = ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
CJK_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
MEDIAPIPE_STEP = "install it as the README's 'mediapipe' step says (pip install --no-deps mediapipe==0.10.21 …)"


def _pkg(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _torch_detail() -> tuple[bool, str]:
    if importlib.util.find_spec("torch") is None:
        return False, "not installed (pip install 'genlens[local]')"
    try:
        import torch
    except Exception as exc:
        return False, f"installed but does not import ({type(exc).__name__}: {str(exc)[:120]})"
    cuda = torch.cuda.is_available()
    detail = f"torch {torch.__version__}; CUDA {'yes: ' + torch.cuda.get_device_name(0) if cuda else 'no'}"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        detail += "; MPS yes"
    return True, detail


def _hf_cache() -> tuple[bool, str]:
    root = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", Path.home() / ".cache/huggingface")) / "hub")
    if not root.is_dir():
        return False, f"no hub cache at {root}"
    models = sorted(p.name.removeprefix("models--").replace("--", "/") for p in root.glob("models--*"))
    return bool(models), f"{root}: {len(models)} model(s)" + (f": {', '.join(models[:8])}" if models else "")


def import_status(module: str) -> tuple[bool, str]:
    """(imports, detail): really imports ``module`` — installed-but-broken shows as broken."""
    try:
        if importlib.util.find_spec(module) is None:
            return False, "not installed"
    except (ImportError, ValueError):
        return False, "not installed"
    try:
        importlib.import_module(module)
    except Exception as exc:  # a broken install (ABI mismatch, missing system library …)
        return False, f"installed but does not import ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
    return True, "ok"


def extra_rows() -> list[dict[str, Any]]:
    """One row per extra: ok when every module it installs imports; the detail names versions or the fix."""
    groups: dict[str, list[Any]] = {}
    for entry in OPTIONAL:
        if entry.module != "torch":  # torch has its own row (version, CUDA)
            groups.setdefault(entry.extra, []).append(entry)
    rows = []
    for extra, entries in groups.items():
        found, problems = [], []
        for entry in entries:
            ok, detail = import_status(entry.module)
            if ok:
                found.append(f"{entry.package} {_pkg(entry.package) or ''}".strip())
            else:
                problems.append(f"{entry.package} {detail}")
        fix = MEDIAPIPE_STEP if extra == "people" else f"pip install 'genlens[{extra}]'"
        name = "mediapipe (diag-people)" if extra == "people" else f"extra [{extra}]"
        detail = "; ".join(found) if not problems else f"{'; '.join(problems)} — {fix}"
        rows.append({"name": name, "ok": not problems, "detail": detail})
    return rows


def _weights_detail(needs: tuple[str, ...]) -> str:
    """`` (detector X: cached; CLIP Y: not cached, downloads on first use)`` for suites that load hub weights."""
    from genlens.runs.preflight import weights_status
    from genlens.scorers.clip import DEFAULT_CLIP
    from genlens.scorers.detection import DEFAULT_DETECTOR

    parts = []
    for need, label, default in (("detector", "detector", DEFAULT_DETECTOR), ("clip", "CLIP", DEFAULT_CLIP)):
        if need in needs:
            _ok, how = weights_status(default)
            parts.append(f"{label} {default}: {how}")
    return f" ({'; '.join(parts)})" if parts else ""


def suite_rows() -> list[dict[str, Any]]:
    """What each suite's scoring needs here (weights cached? key set? data present?) — the pre-flight check."""
    from genlens.runs.preflight import check
    from genlens.suites.base import ScoreContext, suite_classes

    rows = []
    scratch = Path(os.devnull)
    for name, cls in suite_classes().items():
        # Data fetched by the run itself (gedit) or given per run (prompts) is not read here: doctor never downloads.
        data_at_run = "fetched at run time" in cls.meta.data_source or cls.meta.data_source.startswith("--data")
        try:
            suite = cls()
            missing = check(suite, ScoreContext(run_dir=scratch), data=not data_at_run)
        except Exception as exc:  # a plugin suite that cannot even be built
            rows.append({"name": f"suite {name}", "ok": False, "detail": f"cannot check ({type(exc).__name__}: {exc})"})
            continue
        needs = ", ".join(cls.meta.needs)
        where = f"; data: {cls.meta.data_source}" if data_at_run else ""
        detail = f"needs {needs}: ready{_weights_detail(cls.meta.needs)}{where}" if not missing else "; ".join(m.line() for m in missing)
        rows.append({"name": f"suite {name}", "ok": not missing, "detail": detail})
    return rows


def checks() -> dict[str, Any]:
    rows: list[dict[str, Any]] = [{"name": "python", "ok": True, "detail": platform.python_version()}]
    ok, detail = _torch_detail()
    rows.append({"name": "torch", "ok": ok, "detail": detail})
    ok, detail = _hf_cache()
    rows.append({"name": "cached weights", "ok": ok, "detail": detail})
    offline = [v for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if os.environ.get(v)]
    rows.append({"name": "hub access", "ok": not offline, "detail": "offline mode: " + ", ".join(offline) if offline else "online allowed"})
    for key in API_KEYS:
        present = bool(os.environ.get(key))
        rows.append({"name": key, "ok": present, "detail": "set" if present else "not set"})
    rows.extend(extra_rows())
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    rows.append({"name": "chromium", "ok": bool(chromium), "detail": chromium or "not found (apt-get install chromium)"})
    font = next((f for f in CJK_FONTS if Path(f).exists()), None)
    rows.append({"name": "CJK font", "ok": bool(font), "detail": font or "not found (apt-get install fonts-wqy-zenhei)"})
    rows.extend(suite_rows())
    return {"checks": rows}
