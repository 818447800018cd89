"""Paths that come from data files: each must stay inside the folder the data file belongs to.

Data files are fetched from the internet (GEdit-Bench's parquet files, exported ``records.jsonl``)
or handed over by users; a record naming ``../../x`` or ``/etc/passwd`` must never make genlens
write outside its cache or read (and send to a model) a file from elsewhere on the disk.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from genlens.errors import InputError


def inside_data_dir(root: Path, name: object, *, record: str, source: Path | None = None) -> Path:
    """``root / name`` resolved (``..`` and symlinks followed) when it lies inside ``root``.

    Anything else — an absolute path, a ``..`` that climbs out, a symlink pointing elsewhere, an
    empty or non-string name — is an :class:`InputError` naming the record (``source`` is the data
    file it came from, for the message).
    """
    text = name if isinstance(name, str) else ""
    base = root.resolve()
    absolute = bool(text) and (PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute())
    path = (root / text).resolve() if text and not absolute else base
    if path == base or not path.is_relative_to(base):
        raise InputError(
            f"record {record} names a path outside its data folder ({str(name)[:120]!r})",
            path=source or root,
            fix="data files may only name files inside their own folder: delete the data and fetch it again from its pinned source",
        )
    return path


def plain_name(name: object, *, record: str, source: Path | None = None) -> str:
    """``name`` when it can be one file name (no folder separators, not ``.``/``..``), else an InputError."""
    text = name if isinstance(name, str) else ""
    if not text or text in (".", "..") or any(sep in text for sep in ("/", "\\", "\0")):
        raise InputError(
            f"record {record} has a key that is not a plain file name ({str(name)[:120]!r})",
            path=source,
            fix="data files may only name files inside their own folder: delete the data and fetch it again from its pinned source",
        )
    return text


def relative_inside(name: object, *, record: str, fix: str) -> str:
    """``name`` as a relative POSIX path that cannot climb out of its folder (checked before the folder is known).

    For suites that build items from a data file before the image folder is resolved; the image is
    later opened through :func:`inside_data_dir`, which also follows symlinks.
    """
    text = name if isinstance(name, str) else ""
    path = PurePosixPath(text.replace("\\", "/"))
    if not text.strip() or path.is_absolute() or PureWindowsPath(text).is_absolute() or ".." in path.parts:
        raise InputError(f"record {record}: image path {str(name)[:120]!r} leaves the data directory", fix=fix)
    return path.as_posix()
