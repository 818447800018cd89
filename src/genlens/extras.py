"""Which optional dependency belongs to which extra, so a missing one is one line naming the fix."""

from __future__ import annotations

from dataclasses import dataclass

from genlens.errors import GenlensError


@dataclass(frozen=True)
class Optional:
    """An optional import: its module, the pip package, the extra that installs it, what needs it."""

    module: str
    package: str
    extra: str
    used_by: str


OPTIONAL: tuple[Optional, ...] = (
    Optional("openai", "openai", "api", "openai: models and judges"),
    Optional("google.genai", "google-genai", "api", "gemini: models and judges"),
    Optional("torch", "torch", "local", "diffusers:/transformers: models, local judges, GenEval/CLIP scorers"),
    Optional("transformers", "transformers", "local", "local judges, GenEval detector, CLIP"),
    Optional("diffusers", "diffusers", "local", "diffusers: models"),
    Optional("accelerate", "accelerate", "local", "diffusers: device placement"),
    Optional("safetensors", "safetensors", "local", "probe and converted checkpoints"),
    Optional("scipy", "scipy", "diag", "diag suites, detect, probe"),
    Optional("sklearn", "scikit-learn", "diag", "detect, probe"),
    Optional("cv2", "opencv-python-headless", "diag", "diagnose, diag suites, diag-people"),
    Optional("skimage", "scikit-image", "diag", "diag suites' edit inputs, multiturn-edit photos"),
    Optional("rapidocr", "rapidocr", "ocr", "diag-text OCR"),
    Optional("onnxruntime", "onnxruntime", "ocr", "diag-text OCR runtime"),
    Optional("mediapipe", "mediapipe", "people", "diag-people face/pose (install: see README 'mediapipe')"),
    Optional("huggingface_hub", "huggingface_hub", "gedit", "gedit data, hub weights"),
    Optional("pyarrow", "pyarrow", "gedit", "gedit parquet data"),
    Optional("datasets", "datasets", "prompts", "prompts --data hf:<dataset>"),
    Optional("playwright", "playwright", "browser", "browser: models"),
    Optional("pandas", "pandas", "prompts", "Run.to_pandas()"),
)

_BY_MODULE = {entry.module: entry for entry in OPTIONAL}


def extra_for(module_name: str) -> Optional | None:
    """The optional dependency a (possibly dotted) module name belongs to."""
    parts = module_name.split(".")
    for end in range(len(parts), 0, -1):
        entry = _BY_MODULE.get(".".join(parts[:end]))
        if entry is not None:
            return entry
    return None


class MissingDependency(GenlensError):
    """An optional dependency is not installed: one line naming the package and the extra."""


def missing_dependency(exc: ImportError) -> MissingDependency | None:
    """The one-line error for an ImportError of an optional package (None for anything else)."""
    name = getattr(exc, "name", None) or ""
    entry = extra_for(name) if name else None
    if entry is None:
        return None
    if entry.extra == "people":
        fix = "install it as the README's 'mediapipe' step says (pip install --no-deps mediapipe==0.10.21 …)"
    else:
        fix = f"pip install 'genlens[{entry.extra}]' (or pip install {entry.package})"
    return MissingDependency(f"{entry.package} is not installed (needed by {entry.used_by})", fix=fix)
