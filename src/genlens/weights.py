"""No pickle is ever loaded: model folders must hold safetensors weights.

``.bin`` / ``.pt`` / ``.ckpt`` checkpoints are Python pickles, and loading one can run code. Every
``from_pretrained`` in genlens passes ``use_safetensors=True``; before that, a local folder whose
weights exist only as pickles is refused here with one line that says how to convert it.
"""

from __future__ import annotations

from pathlib import Path

from genlens.errors import SpecError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")

#: How to turn a pickle checkpoint into safetensors, per library (run once, where the file is trusted).
CONVERT = {
    "transformers": "load it once where you trust the file and save it with save_pretrained(NEW_DIR) "
                    "(transformers writes safetensors), then pass NEW_DIR",
    "diffusers": "load it once where you trust the file with DiffusionPipeline.from_pretrained(DIR) and "
                 "save_pretrained(NEW_DIR, safe_serialization=True), then pass NEW_DIR",
}


def pickle_only(folder: Path) -> list[Path]:
    """Pickle weight files of ``folder`` when it has no ``*.safetensors`` beside them (else [])."""
    if not folder.is_dir() or any(folder.glob("*.safetensors")):
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES)


def refuse_pickle_only(root: Path, *, what: str, library: str, components: bool = False) -> None:
    """Raise a one-line :class:`SpecError` when ``root`` (and, for pipelines, a component folder
    such as ``unet/``) holds only pickle weights."""
    folders = [root, *(sorted(p for p in root.iterdir() if p.is_dir()) if components and root.is_dir() else [])]
    for folder in folders:
        found = pickle_only(folder)
        if found:
            raise SpecError(
                f"{what} has only pickle weights ({found[0].name}); genlens never loads pickles", path=folder,
                fix=CONVERT[library],
            )


def is_missing_safetensors(exc: BaseException) -> bool:
    """A hub checkpoint refused by ``use_safetensors=True`` (it has pickle weights only)."""
    return "safetensors" in str(exc).lower()
