"""End to end: `genlens run` with API backends on local fakes and diffusers on tiny pipelines.

Completion, resume after SIGKILL (every item exactly once), injected faults (every item
accounted for; errors retried on resume), and no API key anywhere in run dirs or logs.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import subprocess_env

from genlens.backends.base import make_backend
from genlens.runs import engine
from genlens.suites.base import ScoreContext, Suite, SuiteMeta, SuiteResult
from genlens.testing.fake_gemini import b64decode_any
from genlens.testing.fake_openai import draw_png
from genlens.testing.http import Fault
from genlens.types import Item, ScoredGeneration

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


def model_args(scheme: str, server) -> list[str]:
    base = f"{server.url}/v1" if scheme == "openai" else server.url
    return ["--model-arg", f"base_url={base}", "--model-arg", "backoff_base=0.01"]


def spec(scheme: str) -> str:
    return "openai:gpt-image-1" if scheme == "openai" else "gemini:gemini-2.5-flash-image"


def generations(run_dir: Path) -> list[tuple[str, int, str, dict[str, Any]]]:
    with sqlite3.connect(run_dir / "genlens.sqlite") as conn:
        rows = conn.execute("SELECT item_id, sample, status, payload FROM generations").fetchall()
    return [(item, sample, status, json.loads(payload)) for item, sample, status, payload in rows]


def statuses(run_dir: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for _item, _sample, status, _payload in generations(run_dir):
        out[status] = out.get(status, 0) + 1
    return out


def assert_no_secret(run_dir: Path, *texts: str) -> None:
    """No byte of any file in the run dir, and no captured output, holds either (distinctive) fake key."""
    keys = [os.environ["OPENAI_API_KEY"], os.environ["GEMINI_API_KEY"]]
    assert all("FAKE-KEY" in key for key in keys)
    scanned = 0
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            scanned += 1
            for key in keys:
                assert key.encode() not in data, f"API key found in {path}"
    assert scanned >= 3  # run.json, the store, images
    for text in texts:
        for key in keys:
            assert key not in text


@pytest.mark.parametrize("scheme", ["openai", "gemini"])
def test_run_completes(cli, scheme, openai_server, gemini_server, tmp_path):
    server = openai_server[0] if scheme == "openai" else gemini_server[0]
    out = tmp_path / "run"
    extra = ["--model-arg", "partial_images=2"] if scheme == "openai" else []
    result = cli("run", "image-props", "--model", spec(scheme), *model_args(scheme, server), *extra, "--limit", "4",
                 "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert statuses(out) == {"ok": 4}
    if scheme == "openai":  # streamed partial frames are stored, in order, beside each image
        trace = generations(out)[0][3]["trace"]
        assert [Path(t).name for t in trace] == ["000.png", "001.png"] and all((out / t).is_file() for t in trace)
    results = json.loads((out / "results.json").read_text())
    assert results["counts"]["generations_ok"] == 4
    assert results["cost"]["calls"] == 4 and results["cost"]["cost_usd"] > 0 and results["cost"]["tokens_out"] > 0
    meta = generations(out)[0][3]["meta"]
    assert meta["cost_usd"] > 0 and meta["latency_s"] >= 0 and meta["usage"]


def test_diffusers_run_completes_and_resumes(cli, tiny_pipelines, tmp_path):
    out = tmp_path / "run"
    args = ("run", "image-props", "--model", f"diffusers:{tiny_pipelines['text2image']}", "--model-arg", "steps=2",
            "--model-arg", "size=32x32", "--model-arg", "batch_size=2", "--limit", "3", "--out", out, "--quiet")
    assert cli(*args).exit_code == 0
    first = {(item, sample): payload["images"] for item, sample, _s, payload in generations(out)}
    assert len(first) == 3 and statuses(out) == {"ok": 3}
    assert cli(*args).exit_code == 0  # resume: nothing left to do, nothing redone
    assert {(item, sample): payload["images"] for item, sample, _s, payload in generations(out)} == first


@pytest.mark.parametrize("scheme", ["openai", "gemini"])
def test_resume_after_sigkill_records_every_item_once(cli, scheme, openai_server, gemini_server, tmp_path):
    server = openai_server[0] if scheme == "openai" else gemini_server[0]
    server.latency = 0.3
    out = tmp_path / "run"
    args = ["run", "image-props", "--model", spec(scheme), *model_args(scheme, server), "--limit", "10",
            "--concurrency", "2", "--out", str(out), "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "genlens", *args], env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "genlens.sqlite").exists():
            try:
                if len(generations(out)) >= 2:
                    break
            except sqlite3.OperationalError:  # tables not created yet
                pass
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    output = proc.communicate()[0].decode(errors="replace")
    done_before = {(item, sample) for item, sample, _s, _p in generations(out)}
    assert 2 <= len(done_before) < 10
    sent_before = len(server.log)
    server.latency = 0.0
    result = cli(*args)
    assert result.exit_code == 0, result.output
    rows = generations(out)
    keys = [(item, sample) for item, sample, _s, _p in rows]
    assert len(keys) == len(set(keys)) == 10 and statuses(out) == {"ok": 10}
    # finished units were not asked again: the resume sent only the missing ones
    assert len(server.log) - sent_before == 10 - len(done_before)
    files = [p for p in (out / "images").rglob("*") if p.is_file()]
    assert len(files) == 10 and not [p for p in files if p.name.startswith(".tmp-")]
    assert_no_secret(out, output, result.output)


def test_faults_every_item_accounted_for_and_no_key_leaks(cli, openai_server, tmp_path, caplog):
    server, fake = openai_server
    fake.refuse_word = "apple"  # image-props prompt 0 ("a red apple …") is refused: 11 items
    for fault, times in [(Fault(status=429, headers={"Retry-After": "0"}), 3), (Fault(status=500), 2),
                         (Fault(status=503), 2), (Fault(truncate=True), 1), (Fault(delay=4.0), 1)]:
        server.add_fault(fault, times)
    fake.corrupt_next(2)
    caplog.set_level(logging.DEBUG)  # SDK and httpx debug logs included in the scan
    out = tmp_path / "run"
    result = cli("run", "image-props", "--model", "openai:gpt-image-1", *model_args("openai", server),
                 "--model-arg", "timeout=2", "--model-arg", "max_retries=8", "--limit", "14", "--concurrency", "4", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    rows = generations(out)
    assert len(rows) == 14 and statuses(out) == {"refused": 11, "ok": 3}
    refused = [payload["reason"] for _i, _s, status, payload in rows if status == "refused"]
    assert all("safety system" in reason for reason in refused)
    # each of the 11 injected faults (3 + 2 + 2 + 1 + 1 HTTP, 2 bad base64) costs one extra request
    # (at least: on a busy machine a normal answer may also pass the timeout and be retried)
    assert len(server.log) >= 14 + 11
    assert any(os.environ["OPENAI_API_KEY"] in r.headers.get("authorization", "") for r in server.log)  # the key was really used
    assert_no_secret(out, caplog.text, result.output)


def test_errors_are_recorded_then_retried_on_resume(cli, openai_server, tmp_path):
    server, _fake = openai_server
    server.add_fault(Fault(status=500), times=3)
    out = tmp_path / "run"
    args = ("run", "image-props", "--model", "openai:gpt-image-1", *model_args("openai", server),
            "--model-arg", "max_retries=0", "--limit", "5", "--concurrency", "1", "--out", out, "--quiet")
    first = cli(*args)
    assert first.exit_code == 1  # some requests failed: resume retries them
    assert statuses(out) == {"error": 3, "ok": 2}
    sent = len(server.log)
    assert cli(*args).exit_code == 0
    assert statuses(out) == {"ok": 5} and len(server.log) - sent == 3


class _EditSuite(Suite):
    """A two-item test suite (one edit, one three-round session) over images written by the test."""

    meta = SuiteMeta(name="test-edits", version="1", title="test", task="multiturn", categories=("x",),
                     needs=("none",), data_source="test")

    def items(self) -> Sequence[Item]:
        return [Item(id="m1", prompt="", kind="multiturn", input_images=("src.png",), rounds=("hat", "red", "blue"))]

    def scorers(self, ctx: ScoreContext) -> Sequence[Any]:
        return []

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        return SuiteResult(headline={})


@pytest.mark.parametrize("mode", ["native", "reupload"])
@pytest.mark.parametrize("scheme", ["openai", "gemini"])
def test_multiturn_through_the_engine(openai_server, gemini_server, tmp_path, mode, scheme):
    server = openai_server[0] if scheme == "openai" else gemini_server[0]
    data = tmp_path / "data"
    data.mkdir()
    (data / "src.png").write_bytes(draw_png((64, 64), "source"))
    base = f"{server.url}/v1" if scheme == "openai" else server.url
    backend = make_backend(spec(scheme), {"base_url": base})
    out = tmp_path / "run"
    summary = engine.generate(out, _EditSuite(data_dir=data), backend,
                              engine.GenerateOptions(samples=1, mode=mode, quiet=True), data_dir=data)
    assert summary.statuses == {"ok": 1}
    (_item, _sample, _status, payload), = generations(out)
    assert len(payload["images"]) == 3 and len(payload["meta"]["rounds"]) == 3
    paths = [r.path for r in server.log]
    if scheme == "openai" and mode == "native":
        assert paths == ["/v1/responses"] * 3
        assert server.log[2].json()["previous_response_id"] == payload["meta"]["rounds"][1]["response_id"]
    elif scheme == "openai":
        assert paths == ["/v1/images/edits"] * 3
    else:  # gemini: native resends the growing conversation, re-upload sends one turn with the last image
        turns = [len(r.json()["contents"]) for r in server.log]
        assert turns == ([1, 3, 5] if mode == "native" else [1, 1, 1])
        if mode == "reupload":
            sent = [next(p for p in r.json()["contents"][0]["parts"] if "inlineData" in p) for r in server.log]
            second_input = b64decode_any(sent[1]["inlineData"]["data"])
            assert second_input == (out / payload["images"][0]).read_bytes()  # round 2 edits round 1's image
