"""Image bytes in and out: atomic writes, format sniffing, decoding with clear errors."""

from __future__ import annotations

import io
import itertools
import os
import re
import warnings
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


#: Temporary names are ``.tmp-<pid>-<n>`` (``engine`` sweeps ``.tmp-*`` left by a killed run).
_TMP_NUMBERS = itertools.count()
_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def atomic_write(path: Path, data: bytes) -> None:
    """Write bytes so that ``path`` holds either the old content or all of the new, never a prefix.

    The temporary file is created with mode 0666 and ``O_EXCL``, so the kernel gives it the mode an
    ordinary ``open()`` would (0666 minus the user's umask; ``mkstemp`` would make 0600, which hides
    results from the rest of a shared cluster) and never reuses a name another writer holds. The parent
    directory is created only when the open says it is missing: one system call per image in the
    common case, which is what the engine's per-image cost is made of.
    """
    made_parent = False
    while True:
        tmp = path.parent / f".tmp-{os.getpid()}-{next(_TMP_NUMBERS)}"
        try:
            fd = os.open(tmp, _TMP_FLAGS, 0o666)
        except FileExistsError:
            continue  # a name left by another process with our pid (another host, a reused pid): take the next
        except FileNotFoundError:
            if made_parent:
                raise
            path.parent.mkdir(parents=True, exist_ok=True)
            made_parent = True
            continue
        break
    try:
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


#: Pillow's own decompression-bomb limit (~89.5 megapixels), genlens's default pixel cap.
PILLOW_MAX_PIXELS = 89_478_485
PIXEL_CAP_ENV = "GENLENS_MAX_IMAGE_PIXELS"


class ImageTooLarge(InputError):
    """An image whose header claims more pixels than the cap (a decompression bomb, or a mistake)."""


def max_image_pixels() -> int:
    """The pixel cap applied before any image is decoded: ``$GENLENS_MAX_IMAGE_PIXELS``, else Pillow's default."""
    text = os.environ.get(PIXEL_CAP_ENV, "").strip()
    if not text:
        return PILLOW_MAX_PIXELS
    try:
        value = int(float(text))
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"{PIXEL_CAP_ENV}={text!r} is not a whole number of pixels >= 1",
                         fix=f"e.g. export {PIXEL_CAP_ENV}={PILLOW_MAX_PIXELS}")
    return value


def _apply_cap() -> int:
    """Make Pillow itself refuse what is over the cap (every ``Image.open`` in genlens, not only :func:`decode`)."""
    cap = max_image_pixels()
    Image.MAX_IMAGE_PIXELS = cap
    return cap


def _too_large(size: tuple[int, int], cap: int, source: str | Path) -> ImageTooLarge:
    width, height = size
    return ImageTooLarge(
        f"image is {width}x{height} = {width * height} pixels, over the cap of {cap} (a decompression bomb?)",
        path=display_path(source),
        fix=f"replace the file, or raise the cap with {PIXEL_CAP_ENV}=N if the image is genuine",
    )


def _unreadable(exc: BaseException, source: str | Path) -> InputError:
    detail = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(exc)).strip()
    return InputError(
        f"not a readable image ({type(exc).__name__}: {detail})",
        path=display_path(source),
        fix="re-export or replace the file, then run the same command again",
    )


def open_checked(data: bytes, *, source: str | Path = "<bytes>") -> Image.Image:
    """Open image bytes (header only) and refuse them when the header claims more pixels than the cap."""
    cap = _apply_cap()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        match = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(match.group(1)) if match else cap + 1
        raise ImageTooLarge(
            f"image is {pixels} pixels, over the cap of {cap} (a decompression bomb?)", path=display_path(source),
            fix=f"replace the file, or raise the cap with {PIXEL_CAP_ENV}=N if the image is genuine",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _unreadable(exc, source) from None
    if image.size[0] * image.size[1] > cap:
        raise _too_large(image.size, cap, source)
    return image


def decode(data: bytes, *, source: str | Path = "<bytes>") -> Image.Image:
    """Fully decode image bytes: over the pixel cap or truncated is an error, not a grey stripe or a hang."""
    image = open_checked(data, source=source)
    try:
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise _unreadable(exc, source) from None
    return image


def display_path(path: str | Path) -> str:
    """A path as text that can always be printed and stored (undecodable bytes become ``\\xNN``)."""
    text = os.fspath(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def load_image(path: Path) -> Image.Image:
    """Open and fully decode an image file, with a one-line error naming the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("image file not found", path=display_path(path), fix="check the path or the folder layout") from None
    except IsADirectoryError:
        raise InputError("expected an image file, found a directory", path=display_path(path)) from None
    except PermissionError:
        raise InputError("cannot read the image (permission denied)", path=display_path(path),
                         fix="fix the file's permissions, then run the same command again") from None
    return decode(data, source=path)


def load_rgb(path: Path) -> Image.Image:
    image = load_image(path)
    return image if image.mode == "RGB" else image.convert("RGB")
