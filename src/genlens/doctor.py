"""What this machine has for genlens: never prints a secret's value, only whether it is set."""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

API_KEYS = ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
OPTIONAL_PACKAGES = (
    ("torch", "local"), ("transformers", "local"), ("diffusers", "local"), ("openai", "api"),
    ("google-genai", "api"), ("rapidocr", "ocr"), ("onnxruntime", "ocr"), ("mediapipe", "people"),
    ("opencv-python-headless", "diag"), ("scikit-image", "diag"), ("playwright", "browser"),
)
CJK_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _pkg(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _torch_detail() -> tuple[bool, str]:
    if importlib.util.find_spec("torch") is None:
        return False, "not installed (pip install 'genlens[local]')"
    import torch

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
    for package, extra in OPTIONAL_PACKAGES:
        ver = _pkg(package)
        rows.append({"name": package, "ok": ver is not None, "detail": ver or f"not installed (extra: {extra})"})
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    rows.append({"name": "chromium", "ok": bool(chromium), "detail": chromium or "not found (apt-get install chromium)"})
    font = next((f for f in CJK_FONTS if Path(f).exists()), None)
    rows.append({"name": "CJK font", "ok": bool(font), "detail": font or "not found (apt-get install fonts-wqy-zenhei)"})
    return {"checks": rows}
