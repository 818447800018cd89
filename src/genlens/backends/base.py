"""The backend protocol: turn a request into image bytes. Async-first.

A backend is constructed from a model spec (``scheme:target``) and the user's ``--model-arg``
values. It implements ``generate`` and, when it can, ``edit`` and ``session`` (multi-round
editing). Concurrency, rate limits, retries and cost accounting belong to the shared call layer
(``genlens.backends._calls``), not to each backend.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from genlens._modules import PluginRegistry
from genlens.args import Arg, check_args
from genlens.backends.families import check_family, family_record
from genlens.errors import SpecError
from genlens.modelthread import on_model_thread
from genlens.redact import install_log_scrubber, remember_urls
from genlens.types import GeneratedImage, GenerationRequest

SECRET_WORDS = frozenset({
    "key", "apikey", "token", "secret", "password", "passwd", "pass", "pwd", "authorization", "auth", "bearer",
    "access", "sk", "credential", "credentials",
})


def is_secret_arg(name: str) -> bool:
    """Model args that look like credentials never reach run.json, fingerprints or logs.

    Whole name parts are matched (``api_key``, ``access-token``, ``apiKey``), so ``max_tokens``
    or ``keyframes`` are ordinary arguments.
    """
    import re

    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    parts = {part for part in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if part}
    return bool(parts & SECRET_WORDS)


def reject_secret_args(params: dict[str, Any], *, env: str, option: str = "--model-arg") -> None:
    """Refuse credentials given as arguments: they would land in shell history and process lists."""
    for name in params:
        if is_secret_arg(name):
            raise SpecError(
                f"{option} {name}=… would put a credential on the command line and in shell history",
                fix=f"set it in the environment instead: export {env}=…",
            )


def public_params(params: dict[str, Any]) -> dict[str, Any]:
    """Arguments safe to store and show: credential names dropped, URL userinfo masked."""
    from genlens.redact import mask_url

    return {k: mask_url(v) if isinstance(v, str) else v for k, v in params.items() if not is_secret_arg(k)}


#: Model args that change how requests are made, not which image comes back. They are recorded in
#: run.json's backend description but are no part of a run's identity or its fingerprints, so a run
#: can resume with a longer timeout, another rate limit or another GPU.
OPERATIONAL_ARGS = frozenset({
    "timeout", "max_retries", "rate", "concurrency", "backoff_base", "backoff_max", "retry_after_max",
    "batch_size", "device", "delay", "headed", "chromium", "family",
})


def identity_params(params: dict[str, Any]) -> dict[str, Any]:
    """The model args that define what a run produces (public, not operational)."""
    return {k: v for k, v in public_params(params).items() if k not in OPERATIONAL_ARGS}


@dataclass(frozen=True)
class BackendInfo:
    """What ``genlens models`` shows for a backend."""

    scheme: str
    syntax: str
    description: str
    tasks: tuple[str, ...]  # generate / edit / multiturn
    requires: str = ""  # extra or env var it needs


class Session(ABC):
    """A multi-round editing conversation: each ``send`` edits the previous result."""

    @abstractmethod
    async def send(self, instruction: str, image: bytes | None = None) -> GeneratedImage:
        """One round. ``image`` is given on the first round (the source) and in re-upload mode."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release the conversation (default: nothing to do)."""


#: Every backend takes ``family=`` (the architecture family recorded for forensics; see backends/families.py).
FAMILY_ARG = Arg("family", "str", None, "architecture family override: vq-ar, ar+diffusion, masked, diffusion/flow, "
                 "api:unknown, unknown or custom:<label>", "diffusion/flow")


class Backend(ABC):
    """Base class for generation backends."""

    info: ClassVar[BackendInfo]
    #: How many requests the engine may hand to :meth:`generate_batch` at once.
    batch_size: int = 1
    #: Replays stored multi-round results (folder:), so re-upload mode reads them round by round too.
    replays_sessions: ClassVar[bool] = False
    #: The environment variable a credential must come from (named in the refusal message).
    secret_env: ClassVar[str] = "the provider's API-key variable"
    #: The ``--model-arg`` names and types this backend takes (None: undeclared, e.g. an old plugin).
    args: ClassVar[tuple[Arg, ...] | None] = None
    #: Stays in the driver process under ``--executor ray`` (API clients with their own call layer,
    #: files only this machine sees); other backends are built once per Ray actor from their spec.
    runs_in_driver: ClassVar[bool] = False

    def __init__(self, target: str, params: dict[str, Any] | None = None):
        self.target = target
        self.params = dict(params or {})
        reject_secret_args(self.params, env=self.secret_env)
        decls = None if self.args is None else (*self.args, FAMILY_ARG)
        self.params = check_args(decls, self.params, option="--model-arg", owner=f"backend {self.info.scheme}:",
                                 listing="`genlens models`")
        remember_urls(self.params)
        install_log_scrubber()
        if self.params.get("family"):
            check_family(str(self.params["family"]))

    @property
    def spec(self) -> str:
        return f"{self.info.scheme}:{self.target}"

    @abstractmethod
    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        """Text to image for one sample. Raise :class:`genlens.errors.Refused` on a policy refusal."""

    async def edit(self, request: GenerationRequest) -> GeneratedImage:
        """Instruction edit: ``request.images[0]`` edited by ``request.prompt`` (optional mask)."""
        raise SpecError(f"model {self.spec} cannot edit images", fix="choose a backend that lists 'edit' in `genlens models`")

    def session(self, request: GenerationRequest) -> Session:
        """Start a multi-round editing conversation (native mode)."""
        raise SpecError(
            f"model {self.spec} has no multi-round session mode",
            fix="use --suite-arg mode=reupload, or a backend that lists 'multiturn' in `genlens models`",
        )

    async def generate_batch(self, requests: list[GenerationRequest]) -> list[GeneratedImage | BaseException]:
        """Several requests at once; a per-request exception is returned in its slot, not raised."""
        call = self.edit if requests and requests[0].kind == "edit" else self.generate
        return list(await asyncio.gather(*(call(r) for r in requests), return_exceptions=True))

    async def one_of_batch(self, request: GenerationRequest) -> GeneratedImage:
        """One request through :meth:`generate_batch` (batched backends), its exception raised."""
        result = (await self.generate_batch([request]))[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def family_meta(self) -> dict[str, str]:
        """The architecture family every generation of this backend records (``--model-arg family=`` wins).

        Backends that know the class they run (diffusers, transformers) override this."""
        return family_record(self.params, scheme=self.info.scheme)

    def describe(self) -> dict[str, Any]:
        """Provenance for run.json: no secrets, ever."""
        return {"spec": self.spec, "params": public_params(self.params)}

    def attach_run(self, run_dir: Path) -> None:  # noqa: B027 - optional hook
        """Told which run directory the engine writes (e.g. for debugging artefacts); default: nothing."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release clients and pools at the end of a run."""


REGISTRY: PluginRegistry[type[Backend]] = PluginRegistry("genlens.backends", "genlens.backends")
_BACKENDS = REGISTRY.entries  # scheme -> class (tests register in-process backends here)


def register_backend(cls: type[Backend]) -> type[Backend]:
    """Class decorator: make a backend available by its ``info.scheme``."""
    REGISTRY.register(cls.info.scheme, cls)
    return cls


def backend_classes() -> dict[str, type[Backend]]:
    return REGISTRY.classes()


def plugin_errors() -> dict[str, str]:
    """Entry-point backends that failed to load, with why."""
    return REGISTRY.errors()


def parse_model_spec(spec: str) -> tuple[str, str]:
    """``openai:gpt-image-1`` -> ("openai", "gpt-image-1"). Only the first colon splits."""
    scheme, sep, target = spec.partition(":")
    if not sep or not scheme or not target:
        raise SpecError(
            f"model spec {spec!r} is not SCHEME:TARGET",
            fix="e.g. openai:gpt-image-1, gemini:gemini-2.0-flash-exp, diffusers:<hub id or dir>, folder:<dir> (see `genlens models`)",
        )
    return scheme, target


def make_backend(spec: str, params: dict[str, Any] | None = None) -> Backend:
    scheme, target = parse_model_spec(spec)
    classes = backend_classes()
    if scheme not in classes:
        hint = f"; plugin {scheme!r} failed to load: {plugin_errors()[scheme]}" if scheme in plugin_errors() else ""
        raise SpecError(
            f"unknown model backend {scheme!r}{hint}",
            fix=f"use one of: {', '.join(classes)} (see `genlens models`), or install a plugin that registers it",
        )
    return classes[scheme](target, params)


async def run_grouped(
    calls: Iterable[Any], run_sync: Callable[[Any, list[GenerationRequest]], list[Any]],
    requests: list[GenerationRequest], metas: list[dict[str, Any]], out: list[Any],
) -> list[GeneratedImage | BaseException]:
    """Run each homogeneous call (``call.indices`` into ``requests``) in a worker thread, in turn, and
    put its results into ``out``: an image gets its request's meta and seed; a call that raises fails
    each of its requests (recorded per request, retried on resume) except a SpecError, which stops the run."""
    for call in calls:
        try:
            results = await on_model_thread(run_sync, call, requests)
        except SpecError:
            raise
        except Exception as exc:
            results = [exc] * len(call.indices)
        for index, result in zip(call.indices, results, strict=True):
            if isinstance(result, GeneratedImage):
                result.meta.update(metas[index], seed=requests[index].seed)
            out[index] = result
    return [r if r is not None else RuntimeError("no result") for r in out]
