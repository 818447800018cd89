"""--executor ray on a local Ray cluster: the same records and results as a local run, and no unit lost or doubled."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

# Ray's single-machine mode: every service on 127.0.0.1 (set before Ray is imported)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason="Ray is the optional genlens[ray] extra")

from genlens.runs import engine  # noqa: E402
from genlens.runs.executors import ExecutorOptions  # noqa: E402
from genlens.suites.base import ScoreContext  # noqa: E402
from genlens.testing.workers import KillsItsWorkerOnce  # noqa: E402

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def ray_cluster():
    """A local two-CPU Ray cluster for the module; workers import this checkout's genlens."""
    env = {"PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=80 * 2**20,
             runtime_env={"env_vars": env}, _node_ip_address="127.0.0.1")  # loopback only
    yield
    ray.shutdown()


def ray_options(**kw) -> ExecutorOptions:
    return ExecutorOptions(kind="ray", workers=kw.pop("workers", 2), **kw)


def generations(run: Path) -> list[tuple]:
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        return sorted(conn.execute("SELECT fingerprint, item_id, sample, seed, status FROM generations"))


def images(run: Path) -> dict[str, bytes]:
    return {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted((run / "images").rglob("*")) if p.is_file()}


def results(run: Path) -> dict:
    data = json.loads((run / "results.json").read_text())
    return {k: v for k, v in data.items() if k not in ("run", "cost")}


def run_suite(run: Path, backend, executor: ExecutorOptions | None, *, limit: int = 8, samples: int = 2) -> None:
    suite = engine.make_suite("image-props")
    opts = engine.GenerateOptions(samples=samples, seed=3, limit=limit, quiet=True)
    summary = engine.generate(run, suite, backend, opts, executor=executor)
    assert summary.statuses.get("ok") == limit * samples, summary.statuses
    ctx = ScoreContext(run_dir=run, quiet=True)
    scored = engine.score(run, ctx, executor=executor)
    assert scored.statuses.get("ok") == limit * samples, scored.statuses
    engine.aggregate(run, ctx)


def test_synthetic_run_through_ray_equals_the_local_run(ray_cluster, tmp_path: Path) -> None:
    from genlens.backends.synthetic import SyntheticBackend

    run_suite(tmp_path / "local", SyntheticBackend("gradient"), None)
    run_suite(tmp_path / "ray", SyntheticBackend("gradient"), ray_options())
    assert generations(tmp_path / "ray") == generations(tmp_path / "local")
    assert images(tmp_path / "ray") == images(tmp_path / "local")
    assert results(tmp_path / "ray") == results(tmp_path / "local")


def test_tiny_diffusers_through_ray_gives_byte_identical_images(ray_cluster, tmp_path: Path) -> None:
    import torch

    from genlens.backends.diffusers import DiffusersBackend
    from genlens.testing.tiny_diffusers import build_text2image

    pipe_dir = build_text2image(tmp_path / "pipe")
    args = {"steps": 2, "size": "64x64", "batch_size": 2, "device": "cpu"}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the Ray workers run (OMP_NUM_THREADS=1): same kernels, same bytes
    try:
        run_suite(tmp_path / "local", DiffusersBackend(str(pipe_dir), dict(args)), None, limit=3, samples=2)
    finally:
        torch.set_num_threads(threads)
    run_suite(tmp_path / "ray", DiffusersBackend(str(pipe_dir), dict(args)), ray_options(), limit=3, samples=2)
    assert generations(tmp_path / "ray") == generations(tmp_path / "local")
    assert images(tmp_path / "ray") == images(tmp_path / "local")


def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(ray_cluster, tmp_path: Path) -> None:
    params = {"kill_item": "p0-768x768", "marker_dir": str(tmp_path)}
    run_suite(tmp_path / "ray", KillsItsWorkerOnce("gradient", params), ray_options(), limit=6, samples=2)
    assert (tmp_path / "killed-p0-768x768-0").exists()  # the worker really died once
    rows = generations(tmp_path / "ray")
    units = [(item, sample) for _fp, item, sample, _seed, _status in rows]
    assert len(units) == len(set(units)) == 12 and {r[4] for r in rows} == {"ok"}
    from genlens.backends.synthetic import SyntheticBackend

    run_suite(tmp_path / "local", SyntheticBackend("gradient"), None, limit=6, samples=2)
    assert images(tmp_path / "ray") == images(tmp_path / "local")  # the retried unit made the same image


def test_ray_options_are_checked_before_anything_runs(tmp_path: Path) -> None:
    from genlens.backends.synthetic import SyntheticBackend
    from genlens.errors import SpecError

    suite = engine.make_suite("image-props")
    opts = engine.GenerateOptions(samples=1, limit=1, quiet=True)
    with pytest.raises(SpecError, match="--workers 0"):
        engine.generate(tmp_path / "a", suite, SyntheticBackend("gradient"), opts, executor=ExecutorOptions("ray", workers=0))
    with pytest.raises(SpecError, match="need --executor ray"):
        engine.generate(tmp_path / "b", suite, SyntheticBackend("gradient"), opts, executor=ExecutorOptions("local", workers=2))


def test_cli_runs_through_ray_and_checks_its_options(ray_cluster, cli, tmp_path: Path) -> None:
    result = cli("run", "image-props", "--model", "synthetic:gradient", "--out", tmp_path / "cli", "--limit", "3",
                 "--executor", "ray", "--workers", "1", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "cli" / "results.json").read_text())["counts"]["generations_ok"] == 3
    bad = cli("run", "image-props", "--model", "synthetic:gradient", "--out", tmp_path / "bad", "--workers", "2")
    assert bad.exit_code == 2 and "need --executor ray" in bad.stderr
    bad = cli("score", tmp_path / "cli", "--executor", "spark")
    assert bad.exit_code == 2 and "unknown executor 'spark'" in bad.stderr
    config = tmp_path / "run.yaml"
    config.write_text("executor: ray\nworkers: 1\n")
    result = cli("score", tmp_path / "cli", "--config", config, "--quiet")
    assert result.exit_code == 0, result.stderr
