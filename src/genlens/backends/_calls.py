"""The one call layer every API backend (and API judge) goes through.

``CallLayer.call(fn)`` runs an async request factory with bounded concurrency, a request-rate
limit, a per-request timeout and retries (exponential backoff with full jitter, honouring
``Retry-After``). Content-policy refusals become :class:`genlens.errors.Refused` at once and
are never retried; client errors (400/401/403/404 …) are raised at once. ``stats`` keeps
counts, latencies, tokens and cost for the run's cost/latency summary.

Provider SDKs are recognised by class names and attributes, so this module imports none of them.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from genlens.errors import GenlensError, Refused

T = TypeVar("T")
Verdict = Literal["retry", "refused", "fatal"]

log = logging.getLogger("genlens.calls")

#: Provider error codes / statuses that mean "the content policy said no".
REFUSAL_CODES = frozenset({"content_policy_violation", "moderation_blocked", "content_filter"})
#: Provider error codes / statuses of transient failures, for errors that carry no HTTP status
#: (e.g. an ``error`` event inside an OpenAI stream).
RETRY_CODES = frozenset({
    "server_error", "rate_limit_exceeded", "unavailable", "resource_exhausted", "internal",
    "deadline_exceeded", "overloaded_error", "timeout",
})
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
#: Exception class names (anywhere in the MRO) that are transient transport problems.
TRANSIENT_NAMES = frozenset({
    "TimeoutError", "TimeoutException", "ReadTimeout", "ConnectTimeout", "WriteTimeout", "PoolTimeout",
    "TransportError", "NetworkError", "RemoteProtocolError", "ReadError", "WriteError", "ConnectError",
    "ProtocolError", "APIConnectionError", "APITimeoutError", "IncompleteRead", "ConnectionError",
    "JSONDecodeError", "DecodingError", "StreamError", "TransientError", "ServerError",
    "InternalServerError",
    # aiohttp, which google-genai uses for async calls when it is installed
    "ClientPayloadError", "ClientConnectionError", "ServerDisconnectedError", "ClientOSError",
})


class TransientError(Exception):
    """A response that arrived but cannot be used (e.g. invalid base64): worth another try."""


@dataclass
class CallPolicy:
    """How one backend talks to its provider."""

    concurrency: int = 4
    rate_per_s: float | None = None
    max_retries: int = 5
    timeout_s: float = 120.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    #: A Retry-After longer than this is capped (a provider asking for an hour is not waited out).
    retry_after_max_s: float = 300.0

    @classmethod
    def from_params(cls, params: dict[str, Any], **defaults: Any) -> CallPolicy:
        """A policy from ``--model-arg`` values: concurrency, rate, max_retries, timeout, backoff_base, backoff_max."""
        policy = cls(**defaults)
        if "concurrency" in params:
            policy.concurrency = max(1, int(params["concurrency"]))
        if "rate" in params:
            policy.rate_per_s = float(params["rate"]) or None
        if "max_retries" in params:
            policy.max_retries = max(0, int(params["max_retries"]))
        if "timeout" in params:
            policy.timeout_s = float(params["timeout"])
        if "backoff_base" in params:
            policy.backoff_base_s = float(params["backoff_base"])
        if "backoff_max" in params:
            policy.backoff_max_s = float(params["backoff_max"])
        return policy


@dataclass
class CallInfo:
    """What happened during one successful :meth:`CallLayer.call`."""

    latency_s: float  # the successful attempt only
    total_s: float  # from the first attempt to the answer, incl. waits and retries
    attempts: int


def _percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), ``q`` in [0, 100]."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class CallStats:
    """Counters for one call layer (one backend in one run)."""

    requests: int = 0  # HTTP attempts sent (a retried call counts each attempt)
    successes: int = 0
    retries: int = 0
    failures: int = 0
    refusals: int = 0
    latencies: list[float] = field(default_factory=list)  # successful attempts, seconds
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    def add_usage(self, tokens_in: int = 0, tokens_out: int = 0, cost_usd: float | None = None) -> None:
        self.tokens_in += int(tokens_in or 0)
        self.tokens_out += int(tokens_out or 0)
        if cost_usd:
            self.cost_usd += float(cost_usd)

    def summary(self) -> dict[str, Any]:
        """count, latency p50/p95, retries, refusals, failures, tokens and cost, for reports."""
        p50, p95 = _percentile(self.latencies, 50), _percentile(self.latencies, 95)
        return {
            "count": self.successes, "requests": self.requests, "retries": self.retries,
            "failures": self.failures, "refusals": self.refusals,
            "latency_p50_s": round(p50, 4) if p50 is not None else None,
            "latency_p95_s": round(p95, 4) if p95 is not None else None,
            "tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "cost_usd": round(self.cost_usd, 6),
        }


# ----------------------------------------------------------------------------------------------
# error classification
# ----------------------------------------------------------------------------------------------
def _mro_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _status_of(exc: BaseException) -> int | None:
    """HTTP status from openai (status_code), google-genai (code) or httpx (response.status_code)."""
    for attr in ("status_code", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None) or getattr(response, "status", None)
    return value if isinstance(value, int) and 100 <= value < 600 else None


def _headers_of(exc: BaseException) -> Any:
    response = getattr(exc, "response", None)
    return getattr(response, "headers", None) or {}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (seconds from now, >= 0)."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


_DURATION = re.compile(r"^\s*([0-9.]+)s\s*$")


def _retry_after_of(exc: BaseException) -> float | None:
    """Retry-After from response headers (``retry-after-ms`` too) or a Google RetryInfo detail."""
    headers = _headers_of(exc)
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000.0)
        seconds = parse_retry_after(headers.get("retry-after"))
        if seconds is not None:
            return seconds
    except (AttributeError, TypeError, ValueError):
        pass
    details = getattr(exc, "details", None)
    if isinstance(details, dict):  # google-genai keeps the error JSON in .details
        for entry in (details.get("error") or details).get("details") or []:
            delay = entry.get("retryDelay") if isinstance(entry, dict) else None
            match = _DURATION.match(delay) if isinstance(delay, str) else None
            if match:
                return float(match.group(1))
    return None


def _error_codes(exc: BaseException) -> set[str]:
    """Lower-cased provider codes/statuses found on the exception and in its JSON body."""
    found: set[str] = set()
    for attr in ("code", "type", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, str):
            found.add(value.lower())
    for body in (getattr(exc, "body", None), getattr(exc, "details", None)):
        if isinstance(body, dict):
            inner = body.get("error") if isinstance(body.get("error"), dict) else body
            for key in ("code", "type", "status"):
                if isinstance(inner.get(key), str):
                    found.add(inner[key].lower())
    return found


def _message(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}".replace("\n", " ")[:500]


def classify_error(exc: BaseException) -> tuple[Verdict, float | None, str]:
    """("retry" | "refused" | "fatal", Retry-After seconds or None, a one-line message)."""
    message = _message(exc)
    if isinstance(exc, Refused):
        return "refused", None, exc.reason
    if isinstance(exc, GenlensError | asyncio.CancelledError | KeyboardInterrupt):
        return "fatal", None, message
    if _error_codes(exc) & REFUSAL_CODES:
        reason = getattr(exc, "message", None) or str(exc)
        return "refused", None, str(reason).replace("\n", " ")[:500]
    status = _status_of(exc)
    retry_after = _retry_after_of(exc)
    if status is not None:
        if status in RETRY_STATUSES or status >= 500:
            return "retry", retry_after, message
        return "fatal", None, message
    if _error_codes(exc) & RETRY_CODES:
        return "retry", retry_after, message
    names = _mro_names(exc)
    if names & TRANSIENT_NAMES or isinstance(exc, json.JSONDecodeError | ConnectionError | TimeoutError | EOFError):
        return "retry", retry_after, message
    return "fatal", None, message


# ----------------------------------------------------------------------------------------------
# the layer
# ----------------------------------------------------------------------------------------------
class _RateLimiter:
    """At most ``rate`` request starts per second, spaced evenly (a reservation schedule)."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.interval = 1.0 / rate if rate else 0.0
        self.next_slot = 0.0
        self.lock = asyncio.Lock()
        self.clock = clock
        self.sleep = sleep

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = self.clock()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            await self.sleep(slot - now)


class CallLayer:
    """Concurrency, rate limit, timeout, retries and accounting around provider calls."""

    def __init__(self, name: str, policy: CallPolicy):
        self.name = name
        self.policy = policy
        self.stats = CallStats()
        self._semaphore: asyncio.Semaphore | None = None
        self._limiter: _RateLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._random = random.Random()
        #: The backoff wait (tests replace it to record delays instead of sleeping).
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def _primitives(self) -> tuple[asyncio.Semaphore, _RateLimiter]:
        """Loop-bound primitives, made on first use in the running loop (re-made for a new loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._semaphore is None or self._limiter is None:
            self._loop = loop
            self._semaphore = asyncio.Semaphore(max(1, self.policy.concurrency))
            self._limiter = _RateLimiter(self.policy.rate_per_s)
        return self._semaphore, self._limiter

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based): Retry-After, else full jitter."""
        if retry_after is not None:
            return min(retry_after, self.policy.retry_after_max_s)
        ceiling = min(self.policy.backoff_max_s, self.policy.backoff_base_s * (2 ** attempt))
        return self._random.uniform(0.0, ceiling)

    async def call(self, fn: Callable[[], Awaitable[T]], *, cost: Callable[[T], float | None] | None = None) -> T:
        """Run ``fn()`` under the policy; return its result or raise (Refused / the last error)."""
        result, _info = await self.call_with_info(fn, cost=cost)
        return result

    async def call_with_info(
        self, fn: Callable[[], Awaitable[T]], *, cost: Callable[[T], float | None] | None = None,
    ) -> tuple[T, CallInfo]:
        """Like :meth:`call`, also returning the latency and attempt count of the call."""
        semaphore, limiter = self._primitives()
        started = time.perf_counter()
        attempt = 0
        while True:
            async with semaphore:
                await limiter.wait()
                self.stats.requests += 1
                sent = time.perf_counter()
                try:
                    result = await asyncio.wait_for(fn(), timeout=self.policy.timeout_s)
                except Exception as exc:
                    verdict, retry_after, message = classify_error(exc)
                    error: Exception | None = exc
                else:
                    error = None
            if error is None:
                return self._succeeded(result, sent, started, attempt, cost)
            if verdict == "refused":
                self.stats.refusals += 1
                raise Refused(message) from None
            if verdict == "fatal" or attempt >= self.policy.max_retries:
                self.stats.failures += 1
                raise error
            delay = self.backoff(attempt, retry_after)
            log.info("%s: attempt %d failed (%s); retrying in %.2fs", self.name, attempt + 1, message, delay)
            self.stats.retries += 1
            attempt += 1
            await self.sleep(delay)

    def _succeeded(
        self, result: T, sent: float, started: float, attempt: int, cost: Callable[[T], float | None] | None,
    ) -> tuple[T, CallInfo]:
        now = time.perf_counter()
        self.stats.successes += 1
        self.stats.latencies.append(now - sent)
        if cost is not None:
            value = cost(result)
            if value:
                self.stats.cost_usd += float(value)
        return result, CallInfo(latency_s=now - sent, total_s=now - started, attempts=attempt + 1)
