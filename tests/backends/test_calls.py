"""The shared call layer: error classification, retries, Retry-After, refusals, limits, stats."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import httpx2
import openai
import pytest
from google.genai import errors as genai_errors

from genlens.backends._calls import CallLayer, CallPolicy, CallStats, TransientError, classify_error, parse_retry_after
from genlens.errors import Refused, SpecError

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/images/generations")


def openai_status(cls, status: int, body: dict, headers: dict | None = None):
    response = httpx2.Response(status, headers=headers or {}, request=REQUEST)
    return cls(body.get("message", "x"), response=response, body=body)


# ---- classification --------------------------------------------------------------------------
def test_openai_rate_limit_is_retried_with_retry_after_seconds():
    exc = openai_status(openai.RateLimitError, 429, {"message": "slow down", "code": "rate_limit_exceeded"}, {"retry-after": "7"})
    assert classify_error(exc)[:2] == ("retry", 7.0)


def test_openai_retry_after_ms_wins():
    exc = openai_status(openai.RateLimitError, 429, {"message": "m"}, {"retry-after-ms": "250", "retry-after": "9"})
    assert classify_error(exc)[:2] == ("retry", 0.25)


@pytest.mark.parametrize("status", [500, 503])
def test_openai_server_errors_are_retried(status):
    exc = openai_status(openai.InternalServerError, status, {"message": "boom"})
    verdict, retry_after, message = classify_error(exc)
    assert (verdict, retry_after) == ("retry", None)
    assert "boom" in message


def test_openai_timeout_and_connection_errors_are_retried():
    assert classify_error(openai.APITimeoutError(REQUEST))[0] == "retry"
    assert classify_error(openai.APIConnectionError(request=REQUEST))[0] == "retry"


@pytest.mark.parametrize("code", ["content_policy_violation", "moderation_blocked"])
def test_openai_policy_refusal_is_refused_with_reason(code):
    exc = openai_status(openai.BadRequestError, 400, {"message": "Your request was rejected by the safety system.", "code": code})
    verdict, retry_after, message = classify_error(exc)
    assert verdict == "refused" and retry_after is None
    assert message == "Your request was rejected by the safety system."


@pytest.mark.parametrize("cls,status", [(openai.BadRequestError, 400), (openai.AuthenticationError, 401),
                                        (openai.PermissionDeniedError, 403), (openai.NotFoundError, 404)])
def test_openai_client_errors_are_fatal(cls, status):
    assert classify_error(openai_status(cls, status, {"message": "no", "code": "invalid_value"}))[0] == "fatal"


def test_genai_errors_by_code():
    server = genai_errors.ServerError(503, {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})
    assert classify_error(server)[0] == "retry"
    client = genai_errors.ClientError(400, {"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}})
    assert classify_error(client)[0] == "fatal"
    quota = genai_errors.ClientError(429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
                                                     "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                                  "retryDelay": "12s"}]}})
    assert classify_error(quota)[:2] == ("retry", 12.0)


def test_genai_retry_after_header_on_response():
    response = httpx.Response(429, headers={"Retry-After": "4"})
    exc = genai_errors.ClientError(429, {"error": {"code": 429, "message": "quota"}}, response)
    assert classify_error(exc)[:2] == ("retry", 4.0)


def test_httpx_transport_errors_and_truncated_bodies_are_retried():
    assert classify_error(httpx.ReadTimeout("slow"))[0] == "retry"
    assert classify_error(httpx.RemoteProtocolError("peer closed connection without sending complete message body"))[0] == "retry"
    assert classify_error(httpx2.ConnectError("refused"))[0] == "retry"
    try:
        json.loads('{"data": [{"b64_json": "iVBO')
    except json.JSONDecodeError as exc:
        assert classify_error(exc)[0] == "retry"
    assert classify_error(TransientError("invalid base64"))[0] == "retry"
    assert classify_error(TimeoutError())[0] == "retry"


def test_httpx_status_error_uses_response_status():
    request = httpx.Request("GET", "http://127.0.0.1/")
    err503 = httpx.HTTPStatusError("x", request=request, response=httpx.Response(503, request=request))
    err404 = httpx.HTTPStatusError("x", request=request, response=httpx.Response(404, request=request))
    assert classify_error(err503)[0] == "retry"
    assert classify_error(err404)[0] == "fatal"


def test_stream_error_events_without_status():
    # an ``error`` event inside an SSE stream becomes a bare openai.APIError carrying the error body
    server = openai.APIError("The server had an error", REQUEST, body={"message": "x", "type": "server_error", "code": None})
    refusal = openai.APIError("rejected", REQUEST, body={"message": "rejected", "code": "moderation_blocked"})
    other = openai.APIError("bad", REQUEST, body={"message": "bad", "code": "invalid_value"})
    assert classify_error(server)[0] == "retry"
    assert classify_error(refusal)[0] == "refused"
    assert classify_error(other)[0] == "fatal"


def test_non_policy_400_is_not_a_refusal():
    exc = openai_status(openai.BadRequestError, 400, {"message": "Invalid image file", "type": "image_generation_user_error",
                                                      "code": "invalid_image_file"})
    assert classify_error(exc)[0] == "fatal"


def test_programming_errors_and_user_errors_are_fatal():
    assert classify_error(ValueError("bug"))[0] == "fatal"
    assert classify_error(SpecError("bad spec"))[0] == "fatal"
    assert classify_error(Refused("policy"))[:3] == ("refused", None, "policy")


def test_parse_retry_after_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == pytest.approx(30.0)
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# ---- the layer ---------------------------------------------------------------------------------
class Recorder:
    """A scripted provider call: raises the queued exceptions in order, then returns ``value``."""

    def __init__(self, errors: list[BaseException], value: str = "ok", delay: float = 0.0):
        self.errors = list(errors)
        self.value = value
        self.delay = delay
        self.calls = 0
        self.active = 0
        self.max_active = 0

    async def __call__(self) -> str:
        self.calls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.errors:
                raise self.errors.pop(0)
            return self.value
        finally:
            self.active -= 1


def layer_with_recorded_sleeps(policy: CallPolicy) -> tuple[CallLayer, list[float]]:
    """A layer whose backoff waits are recorded instead of slept."""
    slept: list[float] = []
    layer = CallLayer("test", policy)

    async def record(seconds: float) -> None:
        slept.append(seconds)

    layer.sleep = record
    return layer, slept


def test_retry_after_is_honoured_then_success():
    rate = openai_status(openai.RateLimitError, 429, {"message": "slow"}, {"retry-after": "3"})
    fn = Recorder([rate, openai_status(openai.InternalServerError, 503, {"message": "busy"})])
    layer, slept = layer_with_recorded_sleeps(CallPolicy(backoff_base_s=0.5, backoff_max_s=30))
    result, info = asyncio.run(layer.call_with_info(fn))
    assert result == "ok" and fn.calls == 3 and info.attempts == 3
    # first wait = Retry-After (3 s); second = full jitter in [0, 0.5 * 2**1 = 1.0]
    assert slept[0] == 3.0 and 0.0 <= slept[1] <= 1.0
    assert layer.stats.retries == 2 and layer.stats.requests == 3 and layer.stats.successes == 1


def test_backoff_is_full_jitter_capped():
    layer = CallLayer("t", CallPolicy(backoff_base_s=0.5, backoff_max_s=4.0, retry_after_max_s=60))
    # attempt 5: ceiling = min(4.0, 0.5 * 2**5 = 16) = 4.0
    assert all(0.0 <= layer.backoff(5, None) <= 4.0 for _ in range(200))
    assert max(layer.backoff(5, None) for _ in range(200)) > 2.0  # jitter spans the range
    assert layer.backoff(0, 900.0) == 60.0  # Retry-After capped by retry_after_max_s


def test_refusal_is_not_retried():
    refusal = openai_status(openai.BadRequestError, 400, {"message": "blocked by policy", "code": "moderation_blocked"})
    fn = Recorder([refusal])
    layer, slept = layer_with_recorded_sleeps(CallPolicy())
    with pytest.raises(Refused) as info:
        asyncio.run(layer.call(fn))
    assert info.value.reason == "blocked by policy"
    assert fn.calls == 1 and slept == [] and layer.stats.refusals == 1


def test_fatal_error_raised_at_once():
    fn = Recorder([openai_status(openai.AuthenticationError, 401, {"message": "bad key"})])
    layer, slept = layer_with_recorded_sleeps(CallPolicy())
    with pytest.raises(openai.AuthenticationError):
        asyncio.run(layer.call(fn))
    assert fn.calls == 1 and slept == [] and layer.stats.failures == 1


def test_retries_exhausted_raise_last_error():
    fn = Recorder([ConnectionResetError("reset")] * 4)
    layer, slept = layer_with_recorded_sleeps(CallPolicy(max_retries=2))
    with pytest.raises(ConnectionResetError):
        asyncio.run(layer.call(fn))
    assert fn.calls == 3 and len(slept) == 2 and layer.stats.failures == 1 and layer.stats.retries == 2


def test_timeout_is_retried_then_succeeds():
    slow_then_fast = Recorder([], delay=0.0)
    delays = iter([5.0, 0.0])

    async def fn() -> str:
        slow_then_fast.delay = next(delays)
        return await slow_then_fast()

    layer = CallLayer("t", CallPolicy(timeout_s=0.05, backoff_base_s=0.001))
    assert asyncio.run(layer.call(fn)) == "ok"
    assert layer.stats.retries == 1 and slow_then_fast.calls == 2


def test_concurrency_is_bounded():
    fn = Recorder([], delay=0.01)
    layer = CallLayer("t", CallPolicy(concurrency=3))

    async def main() -> list[str]:
        return await asyncio.gather(*(layer.call(fn) for _ in range(12)))

    assert asyncio.run(main()) == ["ok"] * 12
    assert fn.max_active == 3


def test_rate_limit_reserves_evenly_spaced_start_slots():
    from genlens.backends._calls import _RateLimiter

    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    # A frozen clock at t=100: 50 per second -> slots at 100.00, 100.02, 100.04, … so the k-th
    # caller waits k * 0.02 s (the first does not wait at all). Deterministic: no wall-clock timing.
    limiter = _RateLimiter(50.0, clock=lambda: 100.0, sleep=record)

    async def main() -> None:
        await asyncio.gather(*(limiter.wait() for _ in range(5)))

    asyncio.run(main())
    assert waits == pytest.approx([0.02, 0.04, 0.06, 0.08])
    assert limiter.next_slot == pytest.approx(100.10)


def test_rate_limit_is_used_by_the_layer():
    layer = CallLayer("t", CallPolicy(concurrency=8, rate_per_s=50.0))

    async def main() -> float:
        _sem, limiter = layer._primitives()
        return limiter.interval

    assert asyncio.run(main()) == pytest.approx(0.02)


def test_stats_summary_percentiles_and_cost():
    stats = CallStats(successes=4, requests=5, retries=1, latencies=[1.0, 2.0, 3.0, 4.0])
    stats.add_usage(100, 50, 0.25)
    stats.add_usage(10, 5, 0.05)
    summary = stats.summary()
    # p50 of [1,2,3,4] = 2.5 (linear interpolation); p95: pos = 3 * 0.95 = 2.85 -> 3 + 0.85 * 1 = 3.85
    assert summary["latency_p50_s"] == 2.5 and summary["latency_p95_s"] == 3.85
    assert summary["count"] == 4 and summary["retries"] == 1
    assert summary["tokens_in"] == 110 and summary["tokens_out"] == 55 and summary["cost_usd"] == pytest.approx(0.30)


def test_cost_callback_accumulates():
    layer = CallLayer("t", CallPolicy())

    async def fn() -> dict:
        return {"usd": 0.04}

    asyncio.run(layer.call(fn, cost=lambda r: r["usd"]))
    asyncio.run(layer.call(fn, cost=lambda r: r["usd"]))  # a new event loop re-makes the semaphore
    assert layer.stats.cost_usd == pytest.approx(0.08)


def test_policy_from_model_args():
    policy = CallPolicy.from_params({"concurrency": "16", "rate": "2.5", "max_retries": "1", "timeout": "9"})
    assert (policy.concurrency, policy.rate_per_s, policy.max_retries, policy.timeout_s) == (16, 2.5, 1, 9.0)
