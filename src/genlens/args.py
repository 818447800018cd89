"""Typed arguments: what every backend, judge, scorer and suite takes through ``--model-arg``,
``--judge``'s ``--scorer-arg`` and ``--suite-arg``.

One declaration (:class:`Arg`: name, type, default, help, example, bounds) drives parsing,
validation (one line naming the argument, the expected type and an example), did-you-mean for an
unknown name, and the listings of ``genlens models`` / ``genlens suites``. Every duration is bounded,
so ``delay=inf`` cannot hang a run.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from genlens.errors import SpecError

#: The longest wait any duration argument may ask for (a day): ``delay=inf`` is an error, not a hang.
MAX_DURATION_S = 86_400.0

_TYPE_WORDS = {
    "int": "a whole number", "float": "a number", "bool": "true or false", "str": "a text value",
    "size": "a size WxH (or one number for a square, or auto)", "duration": "a duration in seconds",
    "choice": "one of", "url": "a URL (http:// or https://)", "optional_int": "a whole number or none",
    "any": "a value",
}


@dataclass(frozen=True)
class Arg:
    """One argument a component takes.

    ``type`` is one of ``int``, ``float``, ``bool``, ``str``, ``size``, ``duration`` (seconds, a
    finite float within [0, :data:`MAX_DURATION_S`] unless bounded tighter), ``choice`` (one of
    ``choices``) or ``url``. ``minimum``/``maximum`` bound numbers. A name ending in ``*`` declares a
    family (``call.*``: any ``call.<name>``).
    """

    name: str
    type: str = "str"
    default: Any = None
    help: str = ""
    example: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def is_family(self) -> bool:
        return self.name.endswith("*")

    def matches(self, key: str) -> bool:
        return key.startswith(self.name[:-1]) if self.is_family else key == self.name

    def describe(self) -> str:
        """``name`` (type, default …): help — for listings."""
        kind = f"one of {'/'.join(self.choices)}" if self.type == "choice" else self.type
        bounds = []
        if self.minimum is not None:
            bounds.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum:g}")
        default = f", default {self.default}" if self.default is not None else ""
        extra = f" {' '.join(bounds)}" if bounds else ""
        return f"{self.name} ({kind}{extra}{default}): {self.help}".rstrip(": ")

    def _example(self) -> str:
        if self.example:
            return f"{self.name}={self.example}"
        samples = {"int": "1", "float": "0.5", "bool": "true", "size": "1024x1024", "duration": "30",
                   "url": "http://127.0.0.1:8000/v1", "str": "value"}
        value = self.choices[0] if self.choices else samples.get(self.type, "value")
        return f"{self.name}={value}"

    def _bad(self, key: str, value: Any, option: str, owner: str, why: str = "") -> SpecError:
        expected = _TYPE_WORDS.get(self.type, self.type)
        if self.type == "choice":
            expected += " " + ", ".join(self.choices)
        bounds = []
        if self.minimum is not None:
            bounds.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum:g}")
        if bounds:
            expected += " " + " and ".join(bounds)
        return SpecError(f"{option} {key}={value!r} for {owner} is not {expected}{why}",
                         fix=f"e.g. {option} {self._example().replace(self.name, key, 1)}")

    def convert(self, key: str, value: Any, *, option: str, owner: str) -> Any:
        """``value`` as this argument's type, or a one-line :class:`SpecError`."""
        if value is None and self.default is None and not self.is_family:
            return None  # "unset": the component's own default applies
        if value is None or isinstance(value, list | dict | tuple | set):
            raise self._bad(key, value, option, owner)
        kind = self.type
        if kind == "any":
            return value
        try:
            if kind == "optional_int" and str(value).strip().lower() == "none":
                out: Any = None
            elif kind in ("int", "optional_int"):
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                out = int(value) if not isinstance(value, str) else int(value.strip())
            elif kind in ("float", "duration"):
                if isinstance(value, bool):
                    raise ValueError
                number = float(value)
                # a whole number stays an int, so fingerprints of existing runs (guidance=3) do not change
                out = value if isinstance(value, int) else number
                if not math.isfinite(number):
                    raise self._bad(key, value, option, owner, " (it must be finite)")
                if kind == "duration":
                    low = 0.0 if self.minimum is None else self.minimum
                    high = MAX_DURATION_S if self.maximum is None else self.maximum
                    if not low <= number <= high:
                        raise self._bad(key, value, option, owner, f" between {low:g} and {high:g} s")
            elif kind == "bool":
                text = str(value).strip().lower()
                if isinstance(value, bool):
                    out = value
                elif text in ("true", "1", "yes", "on"):
                    out = True
                elif text in ("false", "0", "no", "off"):
                    out = False
                else:
                    raise ValueError
            elif kind == "size":
                out = _size(value)
            elif kind == "choice":
                out = str(value)
                if out not in self.choices:
                    raise ValueError
            elif kind == "url":
                out = str(value)
                if not re.match(r"^https?://[^\s]+$", out):
                    raise ValueError
            else:
                out = ("true" if value else "false") if isinstance(value, bool) else str(value)
        except (TypeError, ValueError, OverflowError):
            raise self._bad(key, value, option, owner) from None
        if kind in ("int", "float") and isinstance(out, int | float) and (
                (self.minimum is not None and out < self.minimum) or (self.maximum is not None and out > self.maximum)):
            raise self._bad(key, value, option, owner)
        return out


def _size(value: Any) -> Any:
    """``1024x768``, ``512`` or ``auto`` (the value is kept as given: backends parse it themselves)."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        if value < 1:
            raise ValueError
        return value
    text = str(value).strip().lower()
    if text == "auto":
        return text
    width, sep, height = text.partition("x")
    if not width.isdigit() or (sep and not height.isdigit()) or int(width) < 1 or (sep and int(height) < 1):
        raise ValueError
    return text


def did_you_mean(key: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_args(decls: Sequence[Arg] | None, values: dict[str, Any], *, option: str, owner: str,
               listing: str = "") -> dict[str, Any]:
    """Validated, typed copies of ``values``. ``decls`` None: the component declares nothing (a plugin)
    and takes anything. Unknown names and wrong types are refused with one line."""
    if decls is None:
        return dict(values)
    out: dict[str, Any] = {}
    for key, value in values.items():
        decl = next((d for d in decls if d.matches(key)), None)
        if decl is None:
            names = [d.name for d in decls]
            known = ", ".join(names) if names else "none"
            raise SpecError(
                f"{option} {key}: {owner} takes no argument {key!r}{did_you_mean(key, names)}",
                fix=f"it takes: {known}" + (f" (see {listing})" if listing else ""),
            )
        out[key] = decl.convert(key, value, option=option, owner=owner)
    return out


def merge_decls(*groups: Sequence[Arg] | None) -> tuple[Arg, ...] | None:
    """The union of several declarations (first wins on a shared name); None if any group is None."""
    if any(group is None for group in groups):
        return None
    seen: dict[str, Arg] = {}
    for group in groups:
        for decl in group or ():
            seen.setdefault(decl.name, decl)
    return tuple(seen.values())


_PAIR_START = re.compile(r",\s*(?=[A-Za-z_][A-Za-z0-9_.\-]*=)")


def split_pairs(text: str) -> list[str]:
    """``a=1,b=2`` -> [``a=1``, ``b=2``] (lmms-eval's habit). A comma splits only where ``name=`` follows
    it and it is outside quotes; ``sources=a,b`` stays one value, ``note='x,y=1'`` too."""
    parts: list[str] = []
    start = 0
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in ("'", '"'):
            quote = char
        elif char == "," and _PAIR_START.match(text, index):
            parts.append(text[start:index])
            start = index + 1
        index += 1
    parts.append(text[start:])
    return [part.strip() for part in parts]


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ("'", '"'):
        return value[1:-1]
    return value


# -- shared declarations -----------------------------------------------------------------------
#: The shared call layer's arguments (every API backend and API judge).
CALL_ARGS: tuple[Arg, ...] = (
    Arg("concurrency", "int", None, "requests in flight at once", "8", minimum=1, maximum=1024),
    Arg("rate", "float", None, "request starts per second (0: unlimited)", "2", minimum=0, maximum=10_000),
    Arg("max_retries", "int", 5, "retries of a transient failure", "3", minimum=0, maximum=100),
    Arg("timeout", "duration", 120, "seconds per request", "60", minimum=0.001, maximum=3600),
    Arg("backoff_base", "duration", 0.5, "first retry wait ceiling, seconds", "0.5", maximum=3600),
    Arg("backoff_max", "duration", 30, "longest retry wait, seconds", "30", maximum=3600),
    Arg("retry_after_max", "duration", 300, "longest Retry-After honoured, seconds", "300", maximum=3600),
)
PRICE_ARGS: tuple[Arg, ...] = (
    Arg("price_in", "float", None, "USD per 1M input tokens", "2.5", minimum=0),
    Arg("price_out", "float", None, "USD per 1M output tokens", "10", minimum=0),
)
