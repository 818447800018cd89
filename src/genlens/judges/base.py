"""The judge contract: a VLM that reads a prompt and images and answers in text, recorded exactly.

Three kinds, chosen by spec: ``openai:<model>`` (any OpenAI-compatible chat endpoint with image
input), ``gemini:<model>`` (google-genai) and ``local:<hub id or dir>`` (transformers Qwen2.5-VL /
Qwen2-VL). Every judge runs with deterministic settings (temperature 0, a seed where the
provider takes one) and reports the exact model version the provider answered with.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from genlens.args import CALL_ARGS, PRICE_ARGS, Arg, check_args, merge_decls
from genlens.backends._calls import CallLayer, CallPolicy
from genlens.backends.base import is_secret_arg
from genlens.errors import Refused, SpecError
from genlens.redact import install_log_scrubber, remember_urls, scrub

JUDGE_SCHEMES = {
    "openai": "genlens.judges.openai_judge:OpenAIJudge",
    "gemini": "genlens.judges.gemini_judge:GeminiJudge",
    "local": "genlens.judges.local_judge:LocalJudge",
}


@dataclass
class JudgeReply:
    """One judge answer as received: never edited, so it can be re-parsed later."""

    raw: str
    model: str  # exact model version the provider reported (local: weights id + hash)
    status: str  # ok | refused | error
    usage: dict[str, Any] = field(default_factory=dict)
    cost_usd: float | None = None
    latency_s: float = 0.0
    error: str = ""
    cached: bool = False  # served from the judge cache (no call made)
    earlier: list[str] = field(default_factory=list)  # unreadable answers to earlier attempts, in order

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JudgeReply:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class JudgeRequest:
    """What a judge is asked: an optional system text, a user text and images (in order)."""

    system: str | None
    text: str
    images: list[bytes] = field(default_factory=list)


def reject_judge_secrets(params: dict[str, Any]) -> None:
    """Refuse credentials given as judge arguments (before anything is written anywhere)."""
    secrets = [k for k in params if is_secret_arg(k)]
    if secrets:
        raise SpecError(
            f"judge argument(s) {', '.join(secrets)} look like credentials",
            fix="API keys come only from the environment (OPENAI_API_KEY, GEMINI_API_KEY / GOOGLE_API_KEY)",
        )


class Judge(ABC):
    """A VLM judge. Subclasses implement :meth:`ask`; :meth:`ask_batch` may be overridden to batch."""

    scheme: str = ""
    #: The ``--scorer-arg`` names and types this judge takes (None: undeclared).
    args: ClassVar[tuple[Arg, ...] | None] = None

    def __init__(self, target: str, *, concurrency: int = 4, params: dict[str, Any] | None = None):
        params = dict(params or {})
        reject_judge_secrets(params)
        params = check_args(self.args, params, option="--scorer-arg", owner=f"judge {self.scheme}:")
        remember_urls(params)
        install_log_scrubber()
        self.target = target
        self.concurrency = max(1, int(concurrency))
        self.params = params
        self.version: str | None = None  # the exact model version, once known

    @property
    def spec(self) -> str:
        return f"{self.scheme}:{self.target}"

    def settings(self) -> dict[str, Any]:
        """Decoding settings that shape the answer (temperature, seed, max tokens …)."""
        return {}

    def identity(self) -> dict[str, Any]:
        """Spec, exact version (None until the provider has answered once) and decoding settings."""
        return {"spec": self.spec, "version": self.version, "settings": self.settings()}

    @abstractmethod
    async def ask(self, *, system: str | None, text: str, images: list[bytes]) -> JudgeReply:
        """One question. Never raises for provider trouble: returns status ``refused`` or ``error``."""

    async def ask_batch(self, requests: list[JudgeRequest]) -> list[JudgeReply]:
        """Several questions; API judges run them concurrently, local judges batch them on the device."""
        return list(await asyncio.gather(*(self.ask(system=r.system, text=r.text, images=r.images) for r in requests)))

    def call_stats(self) -> dict[str, Any]:
        """Calls, retries, tokens and cost so far (from the shared call layer where there is one)."""
        return {}

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release clients and models."""


def parse_judge_spec(spec: str) -> tuple[str, str]:
    scheme, sep, target = spec.partition(":")
    if not sep or scheme not in JUDGE_SCHEMES or not target:
        raise SpecError(
            f"judge spec {spec!r} is not one of openai:<model>, gemini:<model>, local:<hub id or dir>",
            fix="e.g. --judge openai:gpt-4o-2024-05-13 or --judge local:Qwen/Qwen2.5-VL-7B-Instruct",
        )
    return scheme, target


def make_judge(spec: str, *, concurrency: int = 4, params: dict[str, Any] | None = None) -> Judge:
    """Build the judge a spec names (its SDK or weights load lazily, on the first question)."""
    scheme, target = parse_judge_spec(spec)
    module_name, _, class_name = JUDGE_SCHEMES[scheme].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(target, concurrency=concurrency, params=params)


# -- shared by the API judges (openai:, gemini:) ------------------------------------------------
API_JUDGE_ARGS: tuple[Arg, ...] = (
    Arg("base_url", "url", None, "another endpoint (a local vLLM/SGLang server, a proxy)", "http://127.0.0.1:8000/v1"),
    Arg("temperature", "float", 0.0, "sampling temperature", "0", minimum=0, maximum=2),
    Arg("max_tokens", "int", 2000, "longest answer, tokens", "1000", minimum=1, maximum=1_000_000),
    Arg("seed", "optional_int", 0, "sampling seed (none: send no seed)", "0"),
    Arg("backoff_base_s", "duration", 0.5, "first retry wait ceiling, seconds", "0.5", maximum=3600),
    *CALL_ARGS, *PRICE_ARGS,
)


def judge_arg_decls() -> tuple[Arg, ...]:
    """Every argument any built-in judge takes (for refusing a name no judge knows, with did-you-mean)."""
    out: tuple[Arg, ...] = ()
    for path in JUDGE_SCHEMES.values():
        module_name, _, class_name = path.partition(":")
        decls = getattr(getattr(importlib.import_module(module_name), class_name), "args", None)
        out = merge_decls(out, decls or ()) or ()
    return out


class ApiJudge(Judge):
    """A judge behind a provider API: decoding settings, the shared call layer, one client per event loop."""

    args: ClassVar[tuple[Arg, ...] | None] = API_JUDGE_ARGS

    #: Environment variable that may hold the endpoint when no ``base_url`` argument is given.
    base_url_env: ClassVar[str] = ""

    def __init__(self, target: str, *, concurrency: int = 4, params: dict[str, Any] | None = None):
        super().__init__(target, concurrency=concurrency, params=params)
        p = self.params
        self.base_url = p.get("base_url") or os.environ.get(self.base_url_env) or None
        self.temperature = float(p.get("temperature", 0.0))
        self.max_tokens = int(p.get("max_tokens", 2000))
        self.seed = None if p.get("seed") in ("none", "None") else int(p.get("seed", 0))
        policy = CallPolicy.from_params(p, concurrency=self.concurrency, timeout_s=float(p.get("timeout", 120.0)))
        policy.backoff_base_s = float(p.get("backoff_base_s", policy.backoff_base_s))
        self.layer = CallLayer(f"judge {self.spec}", policy)
        self._clients: dict[int, Any] = {}

    def settings(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}

    def call_stats(self) -> dict[str, Any]:
        return self.layer.stats.summary()

    def _client(self) -> Any:
        """One SDK client per event loop (its connection pool belongs to the loop)."""
        loop = id(asyncio.get_running_loop())
        if loop not in self._clients:
            self._clients[loop] = self._new_client()
        return self._clients[loop]

    @abstractmethod
    def _new_client(self) -> Any:
        """A new SDK client (with the SDK's own retries off: the call layer retries)."""

    @abstractmethod
    async def _close_client(self, client: Any) -> None:
        """Close one client."""

    async def _call(self, request: Callable[[], Awaitable[Any]], *, status: Callable[[BaseException], Any],
                    setup_errors: dict[int, str], fix: str) -> tuple[Any, float] | JudgeReply:
        """One provider call through the call layer: ``(response, latency)``, or the reply that records
        a refusal or a failed call. Setup errors (bad key, unknown model …) stop the run instead."""
        started = time.perf_counter()
        try:
            response, info = await self.layer.call_with_info(request)
        except Refused as exc:
            return JudgeReply("", self.target, "refused", latency_s=time.perf_counter() - started, error=exc.reason)
        except Exception as exc:
            code = status(exc)
            if code in setup_errors:
                raise SpecError(f"judge {self.spec}: {setup_errors[code]} ({getattr(exc, 'message', exc)})", fix=fix) from None
            message = scrub(f"{type(exc).__name__}: {exc}".replace("\n", " "))[:500]
            return JudgeReply("", self.target, "error", latency_s=time.perf_counter() - started, error=message)
        return response, info.latency_s

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            try:
                await self._close_client(client)
            except (RuntimeError, AttributeError):  # its loop is gone / an SDK without aclose
                pass


def price_of(model: str, usage: dict[str, int], params: dict[str, Any],
             table: dict[str, tuple[float, float]]) -> float | None:
    """Cost of one call from the token counts (``price_in``/``price_out`` args win over ``table``)."""
    if "price_in" in params and "price_out" in params:
        price_in, price_out = float(params["price_in"]), float(params["price_out"])
    else:
        known = table.get(model) or next((p for name, p in table.items() if model.startswith(name + "-20")), None)
        if known is None:
            return None
        price_in, price_out = known
    return (usage.get("prompt_tokens", 0) * price_in + usage.get("completion_tokens", 0) * price_out) / 1e6
