"""Image bytes in and out: atomic writes, format sniffing, decoding with clear errors."""

from __future__ import annotations

import io
import itertools
import os
import re
import struct
import warnings
import zlib
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


# ----------------------------------------------------------------------------------------------
# completeness check of freshly generated images
# ----------------------------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: channels per PNG colour type, and the bit depths the specification allows for it
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
#: chunks Pillow reads without any check that could fail; any other chunk sends the image to Pillow
_PNG_PLAIN_CHUNKS = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"pHYs",
                               b"sBIT", b"bKGD", b"tIME", b"tEXt", b"hIST", b"sPLT"})


def _png_plainly_complete(data: bytes) -> bool:
    """True when ``data`` is a non-interlaced PNG whose pixel data is all there and intact.

    What Pillow's full decode establishes, without unfiltering the rows: the header is valid and
    under the pixel cap, the chunks before the pixel data pass their CRCs, the pixel data is one run
    of IDAT chunks whose zlib stream ends (so its Adler-32 checked) with exactly every row (inflating
    no further: a zlib bomb costs nothing here), each row has a valid filter type, and IEND follows. False means "not shown here", never "broken": the
    caller then decodes with Pillow, which decides (an interlaced image, an unusual chunk, any flaw).
    """
    if not data.startswith(_PNG_SIGNATURE) or len(data) < 33 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        return False
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if (compression, filtering, interlace) != (0, 0, 0) or depth not in _PNG_DEPTHS.get(colour, ()):
        return False
    if not 0 < width * height <= max_image_pixels():
        return False
    row = 1 + (width * _PNG_CHANNELS[colour] * depth + 7) // 8
    need = row * height
    pixels = zlib.decompressobj()
    out: list[bytes] = []
    produced = 0  # inflated bytes, never more than need + 1 (a stream that inflates further is Pillow's to judge)
    position, idat_state, palette, view = 8, 0, False, memoryview(data)  # idat_state: 0 before, 1 in, 2 after
    while True:
        if position + 12 > len(data):
            return False
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        end = position + 12 + length
        if end > len(data) or kind not in _PNG_PLAIN_CHUNKS:
            return False
        body = view[position + 8:end - 4]
        if kind == b"IDAT":
            if idat_state == 2:
                return False
            idat_state = 1
            if produced > need:
                return False
            try:
                piece = pixels.decompress(body, need + 1 - produced)
            except zlib.error:
                return False
            if pixels.unconsumed_tail:
                return False
            out.append(piece)
            produced += len(piece)
        else:
            if idat_state == 1:
                idat_state = 2
            if idat_state == 0 and zlib.crc32(body, zlib.crc32(kind)) != struct.unpack(">I", data[end - 4:end])[0]:
                return False
            palette = palette or kind == b"PLTE"
            if kind == b"IEND":
                break
        position = end
    if idat_state != 2 or not pixels.eof or (colour == 3 and not palette):
        return False
    if produced != need:
        return False
    rows = b"".join(out)
    return max(rows[::row]) <= 4


def check_complete(data: bytes, *, source: str | Path = "<bytes>") -> None:
    """Raise as :func:`decode` would for bytes that are not a complete image, without decoding when
    it need not: a plain PNG is checked by :func:`_png_plainly_complete` (a quarter of a decode's
    time); anything else, or any PNG it cannot vouch for, is fully decoded by Pillow."""
    if not _png_plainly_complete(data):
        decode(data, source=source)
