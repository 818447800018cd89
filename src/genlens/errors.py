"""Errors that reach the user as one line and exit code 2 (never a traceback)."""

from __future__ import annotations

from pathlib import Path


def printable(text: str) -> str:
    """Text that can always be printed and stored: undecodable file-name bytes become ``\\xNN``."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


class GenlensError(Exception):
    """A user-facing problem: what is wrong, where, and how to fix it.

    The CLI prints ``str(error)`` on one line and exits with :attr:`exit_code`.
    """

    exit_code = 2

    def __init__(self, message: str, *, path: str | Path | None = None, fix: str | None = None):
        self.message = message
        self.path = printable(str(path)) if path is not None else None
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = self.message
        if self.path and self.path not in text:
            text = f"{self.path}: {text}"
        if self.fix:
            text = f"{text} — {self.fix}"
        from genlens.redact import scrub

        return scrub(printable(text).replace("\n", " "))


class InputError(GenlensError):
    """Bad input data: a missing, corrupt or mislaid file, a wrong layout."""


class SpecError(GenlensError):
    """An unknown suite, model spec, option or config key."""


class RunDirError(GenlensError):
    """A run directory that belongs to another suite/model or another genlens format."""


#: Exceptions that mean a bug in code (a backend's, a plugin's), not a failed request: retrying cannot help.
PROGRAMMING_ERRORS: tuple[type[BaseException], ...] = (
    TypeError, AttributeError, NameError, AssertionError, NotImplementedError, SyntaxError,
)


class BackendBug(GenlensError):
    """A backend raised a programming error: the run stops (finished work kept) instead of recording it.

    The CLI prints one line naming the exception and where it was raised; the Python API re-raises
    :attr:`original` with its traceback.
    """

    exit_code = 1

    def __init__(self, spec: str, original: BaseException):
        self.original = original
        where = ""
        tb = original.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
        detail = str(original).replace("\n", " ")[:300]
        super().__init__(
            f"model {spec} raised {type(original).__name__}: {detail}{where} (a bug in the backend, not a failed request)",
            fix="fix the backend (GENLENS_VERBOSE=1 or the Python API shows the traceback); finished work is kept",
        )


class Blocked(GenlensError):
    """A site shows a login wall, a CAPTCHA or a rate-limit banner: the run stops, finished work is kept."""


class Refused(Exception):
    """A provider refused a request (content policy). Recorded as ``refused``, never retried."""

    def __init__(self, reason: str):
        from genlens.redact import scrub

        reason = scrub(reason)
        self.reason = reason
        super().__init__(reason)
