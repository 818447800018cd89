"""The Ray executor: backends and scorers loaded once per Ray actor, units sent to whichever actor is free.

The driver (the ``genlens`` process) keeps the run directory and the SQLite store: actors only
return results — images as bytes inside :class:`GeneratedImage`, scores as (status, value) — and
the engine writes them exactly as for a local run. An actor that dies mid-unit (killed, OOM, node
lost) is restarted by Ray and its unit sent again, up to ``max_attempts`` times in all; a unit that
keeps killing its worker is recorded as ``error`` (retried by the next run, like any error). At most
two units per actor are in flight, which bounds the images held undelivered in the driver.

Scoring needs the run directory on a file system the workers see (one machine, or a shared
``--out``): actors read the images from their recorded paths.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from genlens.errors import GenlensError, SpecError
from genlens.runs.executors import ExecutorOptions


def _ray(local_only: bool = False) -> Any:
    if local_only:
        # A cluster of this machine only: Ray's single-machine mode (what it uses on macOS/Windows)
        # binds every service to the loopback address instead of the first network interface.
        # It must be set before Ray is first imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise SpecError("--executor ray needs Ray", fix="pip install 'genlens[ray]' (or pip install ray)") from None
    return ray


def _portable(result: Any) -> Any:
    """An exception that survives pickling back to the driver (provider SDK errors may not)."""
    if not isinstance(result, BaseException):
        return result
    try:
        pickle.loads(pickle.dumps(result))
        return result
    except Exception:
        return RuntimeError(f"{type(result).__name__}: {result}")


class _GenerationWorker:
    """A Ray actor: one backend, built from its spec once, answering units of phase 1."""

    def __init__(self, backend_class: type, target: str, params: dict[str, Any]):
        # The backend's own class, rebuilt from its target and args: registered backends and
        # importable plugin or test backends alike (Ray pickles the class by reference).
        self.backend = backend_class(target, params)
        self.loop = asyncio.new_event_loop()

    def pid(self) -> int:
        return os.getpid()

    def produce(self, requests: list[Any], item: Any, mode: str) -> list[Any]:
        from genlens.runs.engine import call_backend

        results = self.loop.run_until_complete(call_backend(self.backend, requests, item, mode))
        return [_portable(r) for r in results]

    def close(self) -> None:
        self.loop.run_until_complete(self.backend.aclose())


class _ScoringWorker:
    """A Ray actor: one scorer of a suite, loaded once, scoring batches read from the shared run directory."""

    def __init__(self, suite_name: str, data_dir: str | None, suite_args: dict[str, Any], ctx: Any, scorer_name: str):
        from genlens.runs.engine import make_suite

        suite = make_suite(suite_name, data_dir=Path(data_dir) if data_dir else None, suite_args=suite_args)
        chosen = [s for s in suite.scorers(ctx) if s.name == scorer_name]
        if not chosen:
            raise SpecError(f"suite {suite_name} has no scorer {scorer_name!r} on this worker")
        self.scorer = chosen[0]
        self.scorer.load()
        self.loop = asyncio.new_event_loop()

    def pid(self) -> int:
        return os.getpid()

    def score(self, inputs: list[Any]) -> list[Any]:
        return self.loop.run_until_complete(self.scorer.score_batch(inputs))


class RayExecutor:
    """Sends units to a pool of Ray actors; the engine awaits their results in the driver."""

    def __init__(self, options: ExecutorOptions):
        self.options = options
        self.ray = _ray(local_only=not options.address)
        self.actors: list[Any] = []
        self.free: asyncio.Queue[Any] | None = None
        self.retries = 0
        self._started_ray = False

    # -- cluster ------------------------------------------------------------------------------
    def _init(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        # Workers import the same genlens as the driver (a source checkout included).
        here = str(Path(__file__).resolve().parents[3])
        path = os.pathsep.join(p for p in [here, *sys.path] if p and os.path.isdir(p))
        env = {"PYTHONPATH": path, **(self.options.extra_env or {})}
        kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": False, "include_dashboard": False}
        if self.options.address:
            kwargs["address"] = self.options.address
        else:  # a cluster of this machine only, on loopback (see _ray)
            kwargs["_node_ip_address"] = "127.0.0.1"
        try:
            ray.init(**kwargs)
        except Exception as exc:  # ConnectionError, RuntimeError …: one line, never a traceback
            raise GenlensError(f"cannot start or reach the Ray cluster ({type(exc).__name__}: {str(exc)[:200]})",
                               fix="check --ray-address (e.g. auto after `ray start --head`), or drop --executor ray") from None
        self._started_ray = True

    def _worker_count(self) -> int:
        if self.options.workers:
            return self.options.workers
        resources = self.ray.cluster_resources()
        if self.options.gpus_per_worker:
            return max(1, int(resources.get("GPU", 0) // self.options.gpus_per_worker))
        return max(1, int(resources.get("CPU", 1)))

    def _spawn(self, cls: type, *args: Any) -> list[Any]:
        ray = self.ray
        self._remote = ray.remote(cls).options(
            num_cpus=1 if not self.options.gpus_per_worker else 0.5,
            num_gpus=self.options.gpus_per_worker or 0,
            max_restarts=-1, max_task_retries=0,
        )
        self._args = args
        return [self._spawn_one() for _ in range(self._worker_count())]

    def _spawn_one(self) -> Any:
        return self._remote.remote(*self._args)

    def start_generation(self, backend: Any) -> None:
        """One actor per worker, each building its own copy of ``backend`` (same class, target and args)."""
        self._init()
        self.actors = self._spawn(_GenerationWorker, type(backend), backend.target, dict(backend.params))
        self._ready()

    def start_scoring(self, suite_name: str, data_dir: Path | None, suite_args: dict[str, Any], ctx: Any,
                      scorer_name: str) -> None:
        self._init()
        self.actors = self._spawn(_ScoringWorker, suite_name, str(data_dir) if data_dir else None, suite_args,
                                  _ctx_for_workers(ctx), scorer_name)
        self._ready()

    def _ready(self) -> None:
        """Wait for every actor to be built (a backend that cannot load fails here, once, not per unit)."""
        try:
            self.ray.get([actor.pid.remote() for actor in self.actors])
        except self.ray.exceptions.RayActorError as exc:
            cause = getattr(exc, "cause", None) or exc
            if isinstance(cause, GenlensError):
                raise cause from None
            raise GenlensError(f"a Ray worker could not load the model or scorer ({str(cause)[:300]})",
                               fix="check the model spec and that every worker can import it") from None

    def in_flight(self, _local_workers: int) -> int:
        """How many units the engine keeps in flight: two per actor."""
        return 2 * max(1, len(self.actors))

    def worker_pids(self) -> list[int]:
        return self.ray.get([actor.pid.remote() for actor in self.actors])

    # -- units --------------------------------------------------------------------------------
    async def _call(self, method: str, *args: Any) -> Any:
        """Run ``method`` on a free actor; on a worker death, again on the next free one (bounded)."""
        if self.free is None:
            self.free = asyncio.Queue()
            for actor in self.actors:
                self.free.put_nowait(actor)
                self.free.put_nowait(actor)  # two slots per actor: one running, one queued
        last: BaseException | None = None
        for _attempt in range(max(1, self.options.max_attempts)):
            actor = await self.free.get()
            try:
                return await getattr(actor, method).remote(*args)
            except self._died as exc:
                last = exc
                self.retries += 1
                actor = await self._revive(actor)
            finally:
                self.free.put_nowait(actor)
        return RuntimeError(f"the Ray worker died {self.options.max_attempts} times on this unit "
                            f"({type(last).__name__}); it is retried on the next run")

    @property
    def _died(self) -> tuple[type[BaseException], ...]:
        ex = self.ray.exceptions
        return (ex.RayActorError, ex.WorkerCrashedError, ex.ActorUnavailableError)

    async def _revive(self, actor: Any) -> Any:
        """The actor once Ray has restarted it (max_restarts=-1); a fresh one if it does not come back."""
        for _ in range(240):
            try:
                await actor.pid.remote()
                return actor
            except self._died:
                await asyncio.sleep(0.25)
        index = self.actors.index(actor) if actor in self.actors else None
        fresh = self._spawn_one()
        if index is not None:
            self.actors[index] = fresh
        return fresh

    async def produce(self, requests: list[Any], item: Any, mode: str) -> list[Any]:
        result = await self._call("produce", requests, item, mode)
        if isinstance(result, BaseException):
            return [result if r is not None else None for r in requests]
        return result

    async def score(self, inputs: list[Any]) -> list[Any] | BaseException:
        return await self._call("score", inputs)

    def close(self) -> None:
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:
                pass
        self.actors = []
        self.free = None


def _ctx_for_workers(ctx: Any) -> Any:
    """The score context a worker needs (no executor, quiet)."""
    import dataclasses

    return dataclasses.replace(ctx, quiet=True) if dataclasses.is_dataclass(ctx) else ctx
