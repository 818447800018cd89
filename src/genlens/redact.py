"""Keep credentials out of everything genlens stores or prints.

Two kinds of secret reach genlens: API keys read from the environment (``OPENAI_API_KEY`` …) and
the ``user:password@`` part of a URL (a ``base_url`` model or judge argument, ``OPENAI_BASE_URL``).
:func:`mask_url` hides URL userinfo before a URL is stored or shown; :func:`scrub` replaces the
exact values of the active credentials in any text (an API error body that echoes the request's
``Authorization`` header, a judge's reply, a log line) before it is stored or printed.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import threading
from typing import Any
from urllib.parse import unquote

MASK = "***"
#: Environment variables with one of these words as a ``_``-separated part of their name are credentials
#: (``OPENAI_API_KEY``, ``HF_TOKEN``; not ``TOKENIZERS_PARALLELISM``).
_SECRET_ENV_WORDS = frozenset({"KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "CREDENTIALS"})
#: Values shorter than this are not scrubbed (a 1-character "password" would blank every text).
_MIN_SECRET_LEN = 4
#: An environment credential shorter than this is not scrubbed either ("true", "false", "1" …).
_MIN_ENV_SECRET_LEN = 8
#: ``scheme://user:password@host`` (also a bare ``user@host`` after a scheme).
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@?#]+)@")

_registered: set[str] = set()
_lock = threading.Lock()


def _remember(userinfo: str) -> None:
    user, _sep, password = userinfo.partition(":")
    # HTTP clients send URL userinfo as ``Authorization: Basic base64(user:password)``.
    basic = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    with _lock:
        # The user name is no secret (and scrubbing a short one would mangle ordinary text).
        for part in (userinfo, password, unquote(password), basic if password else ""):
            if len(part) >= _MIN_SECRET_LEN:
                _registered.add(part)


def mask_url(text: str) -> str:
    """``https://user:pw@host/v1`` -> ``https://***@host/v1`` (the userinfo is remembered for :func:`scrub`)."""

    def hide(match: re.Match[str]) -> str:
        userinfo = match.group("userinfo")
        if userinfo != MASK:
            _remember(userinfo)
        return f"{match.group('scheme')}{MASK}@"

    return _URL_USERINFO.sub(hide, text)


def remember_urls(values: dict[str, Any]) -> None:
    """Register the userinfo of every URL among ``values`` (model or judge arguments) as a secret."""
    for value in values.values():
        if isinstance(value, str) and "@" in value:
            mask_url(value)


def has_masked_userinfo(text: str) -> bool:
    """True for a URL whose credentials were masked when it was stored (they cannot be used again)."""
    return f"://{MASK}@" in text


_NAME_KIND: dict[str, str] = {}  # environment variable name -> "secret" | "url" | "" (names are re-read, values never cached)


def _name_kind(name: str) -> str:
    kind = _NAME_KIND.get(name)
    if kind is None:
        upper = name.upper()
        kind = "secret" if _SECRET_ENV_WORDS & set(re.split(r"[^A-Z0-9]+", upper)) else "url" if upper.endswith("_URL") else ""
        _NAME_KIND[name] = kind
    return kind


def env_secrets() -> list[str]:
    """Values of environment variables that hold credentials (names with KEY, TOKEN, SECRET …).

    Read from the environment on every call (a key set later is still scrubbed); only the
    name classification is remembered, since it is called for every stored record.
    """
    out = []
    for name, value in os.environ.items():
        kind = _name_kind(name)
        if kind == "secret" and len(value) >= _MIN_ENV_SECRET_LEN:
            out.append(value)
        elif kind == "url" and "@" in value:
            mask_url(value)  # registers its userinfo
    return out


def active_secrets() -> list[str]:
    """Every credential value genlens knows of now, longest first (so a key's prefix is not left behind)."""
    with _lock:
        registered = list(_registered)
    return sorted({*env_secrets(), *registered}, key=len, reverse=True)


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with URL userinfo masked and every active credential value replaced by ``***``."""
    if not text:
        return text
    if "@" in text:
        text = mask_url(text)
    for secret in active_secrets() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def scrub_value(value: Any, secrets: list[str] | None = None) -> Any:
    """:func:`scrub` applied to every string inside JSON-like data (dict keys too)."""
    if secrets is None:
        secrets = active_secrets()
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {scrub(k, secrets) if isinstance(k, str) else k: scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_value(v, secrets) for v in value)
    return value


@functools.lru_cache(maxsize=256)
def _json_escaped(secret: str) -> str:
    return json.dumps(secret, ensure_ascii=False)[1:-1]


def scrubbed_json(value: Any, secrets: list[str]) -> str:
    """``json.dumps(scrub_value(value, secrets), ensure_ascii=False, default=str)``, the same text.

    The value is walked only when its JSON shows something to scrub: an ``@`` (a URL's userinfo) or
    a secret, raw or as JSON escapes it (escaping is per character, so a string holding a secret holds
    the secret's escaped form in the JSON). Every stored row goes through here, almost always clean."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if "@" not in text and not any(secret in text or _json_escaped(secret) in text for secret in secrets):
        return text
    return json.dumps(scrub_value(value, secrets), ensure_ascii=False, default=str)


_factory_installed = False


def install_log_scrubber() -> None:
    """Scrub every log record (genlens's and the HTTP clients', which log request URLs) as it is made."""
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        _factory_installed = True
    import logging

    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return record
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)
