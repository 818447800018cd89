"""Image bytes in and out: atomic writes, format sniffing, decoding with clear errors."""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from genlens.errors import InputError

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF8", "gif"),
    (b"BM", "bmp"),
)

EXTENSION = {"png": ".png", "jpeg": ".jpg", "webp": ".webp", "gif": ".gif", "bmp": ".bmp"}


def sniff_format(data: bytes) -> str:
    """The container format of image bytes from their magic number ("png", "jpeg", "webp", …)."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "bin"


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux: /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes) -> None:
    """Write bytes so that ``path`` holds either the old content or all of the new, never a prefix.

    The file gets the mode an ordinary ``open()`` would give it (0666 minus the user's umask):
    ``mkstemp`` alone makes 0600, which hides results from the rest of a shared cluster.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))


def decode(data: bytes, *, source: str | Path = "<bytes>") -> Image.Image:
    """Fully decode image bytes (truncation is an error, not a grey stripe)."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        detail = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(exc)).strip()
        raise InputError(
            f"not a readable image ({type(exc).__name__}: {detail})",
            path=source,
            fix="re-export or replace the file, then run the same command again",
        ) from None
    return image


def load_image(path: Path) -> Image.Image:
    """Open and fully decode an image file, with a one-line error naming the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("image file not found", path=path, fix="check the path or the folder layout") from None
    except IsADirectoryError:
        raise InputError("expected an image file, found a directory", path=path) from None
    return decode(data, source=path)


def load_rgb(path: Path) -> Image.Image:
    image = load_image(path)
    return image if image.mode == "RGB" else image.convert("RGB")
