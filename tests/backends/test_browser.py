"""browser: through real chromium against the mock image-chat app on 127.0.0.1 (waits on events, never on time).

Chromium shares the machine's cores, so these tests are few and each checks several things.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from PIL import Image
from tests.conftest import count_generations, subprocess_env

from genlens.runs.engine import image_stem
from genlens.suites.geneval import load_metadata
from genlens.testing.http import FakeServer
from genlens.testing.web_chat import MockChatApp, recipe

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin/chromium (.ci/run installs it)"),
]
PROMPTS = [m["prompt"] for m in load_metadata()]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("playwright.async_api", reason="playwright not installed (genlens[browser])")
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))


@contextmanager
def mock_site(root: Path, name: str = "site.yaml", recipe_args: dict | None = None, **options) -> Iterator[tuple[MockChatApp, Path]]:
    """The mock app on a fresh 127.0.0.1 port and its recipe file."""
    with FakeServer() as server:
        app = MockChatApp(**options).install(server)
        path = root / name
        path.write_text(yaml.safe_dump(recipe(server.url + "/", **(recipe_args or {}))))
        yield app, path


def _generations(run: Path) -> list[tuple[str, int, str, dict]]:
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        rows = conn.execute("SELECT item_id, sample, status, payload FROM generations ORDER BY item_id").fetchall()
    return [(item, sample, status, json.loads(payload)) for item, sample, status, payload in rows]


def _every_file_bytes(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


# ----------------------------------------------------------------------------------------------
# `genlens run geneval --model browser:recipe.yaml --limit 20`: bytes, frames, probe trace
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def geneval_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, MockChatApp]]:
    pytest.importorskip("torch")
    pytest.importorskip("playwright.async_api", reason="playwright not installed (genlens[browser])")
    from typer.testing import CliRunner

    from genlens.cli import app as cli_app
    from genlens.testing.tiny_models import save_tiny_clip, save_tiny_mask2former

    root = tmp_path_factory.mktemp("browser-geneval")
    clip, detector = save_tiny_clip(root / "clip"), save_tiny_mask2former(root / "det", always_detect="car")
    run = root / "run"
    with mock_site(root, frames=4, size=128) as (app, path):
        result = CliRunner().invoke(cli_app, [
            "run", "geneval", "--model", f"browser:{path}", "--limit", "20", "--samples", "1",
            "--model-arg", "concurrency=2", "--detector", str(detector), "--clip", str(clip), "--out", str(run), "--quiet",
        ], catch_exceptions=False, env={"GENLENS_CACHE_DIR": str(root / "cache")})
        assert result.exit_code == 0, result.output
        yield run, app


def test_geneval_through_the_browser_keeps_served_bytes_and_frames(geneval_run) -> None:
    run, app = geneval_run
    results = json.loads((run / "results.json").read_text())
    assert results["counts"]["generations_ok"] == 20 and results["model"].startswith("browser:")
    generations = _generations(run)
    assert [item for item, *_ in generations] == [f"{i:05d}" for i in range(20)]
    for item, _sample, status, record in generations:
        assert status == "ok"
        [job] = app.jobs_for(PROMPTS[int(item)])  # one generation per item on the server too
        assert (run / record["images"][0]).read_bytes() == job.final  # byte-identical to what the server sent
        frames = [(run / rel).read_bytes() for rel in record["trace"]]
        assert frames == job.partials  # every intermediate image, in the order served
        assert record["trace"] == [f"images/{image_stem(item, 0)}.trace/{k:03d}.png" for k in range(4)]
        assert record["meta"]["frames"] == 4 and "?" not in record["meta"]["final_url"]
    run_json = json.loads((run / "run.json").read_text())
    assert run_json["backend"]["site"] == "mock-chat" and len(run_json["backend"]["recipe_sha256"]) == 64


def test_probe_trace_reads_the_grid_and_order_of_web_frames(geneval_run, cli) -> None:
    run, _app = geneval_run
    result = cli("probe", "trace", run, "--json")
    assert result.exit_code == 0, result.output
    trace = json.loads((run / "trace.json").read_text())
    assert trace["n_traced"] == 20
    assert trace["summary"]["order"] == {"global": 20}  # every 8×8 patch refines at once, coarse to fine
    assert trace["summary"]["patch_grid"] == {"8": 20}
    assert all(image["frames"] == 5 for image in trace["images"])  # 4 served previews + the final image


# ----------------------------------------------------------------------------------------------
# refusal, a broken final image (failure page saved), then resume
# ----------------------------------------------------------------------------------------------
def test_refusal_broken_image_and_failure_page(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    with mock_site(tmp_path, refuse="bench", broken="cow") as (app, path):
        args = ["generate", "geneval", "--model", f"browser:{path}", "--limit", "3", "--samples", "1", "--out", run, "--quiet"]
        first = cli(*args)
        assert first.exit_code == 1, first.output  # one error, retried by the next run
        by_item = {item: (status, record) for item, _s, status, record in _generations(run)}
        assert by_item["00000"][0] == "refused" and "I can't help with that request" in by_item["00000"][1]["reason"]
        assert by_item["00001"][0] == "error" and "not a decodable image" in by_item["00001"][1]["reason"]
        assert "browser-failures/00001_0_0_" in by_item["00001"][1]["reason"]
        assert by_item["00002"][0] == "ok"
        shots = sorted(p.suffix for p in (run / "browser-failures").iterdir())
        assert shots == [".html", ".png"]
        page_html = next((run / "browser-failures").glob("*.html")).read_text()
        assert "img" in page_html and "generated" in page_html
        Image.open(next((run / "browser-failures").glob("*.png"))).verify()

        app.broken = ""
        second = cli(*args)
        assert second.exit_code == 0, second.output
        statuses = {item: status for item, _s, status, _r in _generations(run)}
        assert statuses == {"00000": "refused", "00001": "ok", "00002": "ok"}
        assert len(app.jobs_for(PROMPTS[2])) == 1  # finished work was not redone


# ----------------------------------------------------------------------------------------------
# blocked pages: a login wall (then `genlens browser login`), a rate-limit banner mid-run
# ----------------------------------------------------------------------------------------------
def test_login_wall_stops_then_login_lets_the_run_finish_and_never_leaks(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    outputs = []
    with mock_site(tmp_path, login=True) as (app, path):
        args = ["generate", "geneval", "--model", f"browser:{path}", "--limit", "2", "--samples", "1", "--out", run]
        blocked = cli(*args)
        outputs.append(blocked.output)
        assert blocked.exit_code == 2
        error_lines = [line for line in blocked.output.splitlines() if line.startswith("error:")]
        assert len(error_lines) == 1 and "'.login-wall'" in error_lines[0] and "genlens browser login" in error_lines[0]
        assert _generations(run) == []

        login = cli("browser", "login", path, "--headless", "--timeout", "60")
        outputs.append(login.output)
        assert login.exit_code == 0, login.output
        state = tmp_path / "cache" / "browser-state" / "mock-chat.json"
        assert stat.S_IMODE(state.stat().st_mode) == 0o600 and app.session_token in state.read_text()

        finished = cli(*args)
        outputs.append(finished.output)
        assert finished.exit_code == 0, finished.output
        assert [status for *_x, status, _r in _generations(run)] == ["ok", "ok"]
    token = app.session_token.encode()
    leaks = [p for p, data in _every_file_bytes(run) if token in data or b"browser-state" in data]
    assert leaks == [] and not any(app.session_token in text for text in outputs)


def test_rate_limit_banner_mid_run_keeps_finished_items(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    with mock_site(tmp_path, block_after=2) as (app, path):
        args = ["generate", "geneval", "--model", f"browser:{path}", "--limit", "4", "--samples", "1", "--out", run]
        stopped = cli(*args)
        assert stopped.exit_code == 2 and "'.rate-limit'" in stopped.output
        done = [item for item, _s, status, _r in _generations(run) if status == "ok"]
        # item 0 always finishes; the page of item 3 always shows the banner; items in flight are lost, never half-kept
        assert 1 <= len(done) <= 3
        app.block_after = None
        resumed = cli(*args)
        assert resumed.exit_code == 0, resumed.output
    rows = _generations(run)
    assert [item for item, *_ in rows] == ["00000", "00001", "00002", "00003"] and {s for *_x, s, _r in rows} == {"ok"}
    for item in done:
        assert len(app.jobs_for(PROMPTS[int(item)])) == 1  # kept, not generated again


# ----------------------------------------------------------------------------------------------
# kill -9 in the middle of a run, then resume
# ----------------------------------------------------------------------------------------------
def test_sigkill_mid_run_then_resume_each_item_once(tmp_path: Path) -> None:
    run = tmp_path / "run"
    limit = 6
    env = {**subprocess_env(), "GENLENS_CACHE_DIR": str(tmp_path / "cache")}
    with mock_site(tmp_path, delay=0.5) as (app, path):
        command = [sys.executable, "-m", "genlens", "generate", "geneval", "--model", f"browser:{path}", "--limit", str(limit),
                   "--samples", "1", "--model-arg", "concurrency=2", "--out", str(run), "--quiet"]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 120
        while count_generations(run) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)  # polling the run store, not waiting for the site
        assert proc.poll() is None, proc.stderr.read().decode()
        os.killpg(proc.pid, signal.SIGKILL)  # the whole job: genlens, the Playwright driver, chromium
        proc.wait()
        killed_at = count_generations(run)
        assert 2 <= killed_at < limit

        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert finished.returncode == 0, finished.stderr
    rows = _generations(run)
    pairs = [(item, sample) for item, sample, *_ in rows]
    assert len(pairs) == len(set(pairs)) == limit and {status for *_x, status, _r in rows} == {"ok"}
    for item, _sample, _status, record in rows:
        job = app.jobs_for(PROMPTS[int(item)])[-1]
        assert (run / record["images"][0]).read_bytes() == job.final
        assert [(run / rel).read_bytes() for rel in record["trace"]] == job.partials
    files = [p for p in (run / "images").rglob("*") if p.is_file()]
    assert len(files) == limit * 5 and not [p for p in files if p.name.startswith(".tmp-")]


# ----------------------------------------------------------------------------------------------
# edits (upload) and a multi-round session in one conversation, through the backend API
# ----------------------------------------------------------------------------------------------
def test_edit_uploads_the_input_and_a_session_keeps_one_conversation(tmp_path: Path) -> None:
    from genlens.backends.browser import BrowserBackend
    from genlens.types import GenerationRequest

    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(buffer, format="PNG")
    source = buffer.getvalue()
    with mock_site(tmp_path, recipe_args={"session": True}, frames=2) as (app, path):
        backend = BrowserBackend(str(path), {})

        async def scenario():
            try:
                edit = await backend.edit(GenerationRequest("e1", "make it blue", 0, 0, kind="edit", images=[source]))
                session = backend.session(GenerationRequest("m1", "", 0, 0, kind="multiturn", images=[source]))
                rounds = [await session.send("add a hat", source), await session.send("now a scarf")]
                await session.close()
                return edit, rounds
            finally:
                await backend.aclose()

        edit, rounds = asyncio.run(scenario())
    [edit_job] = app.jobs_for("make it blue")
    assert edit_job.input_image == source and edit.data == edit_job.final and edit.trace == edit_job.partials
    [hat], [scarf] = app.jobs_for("add a hat"), app.jobs_for("now a scarf")
    assert hat.input_image == source and scarf.input_image is None  # round 2 edits the conversation's last image
    assert hat.conversation == scarf.conversation != edit_job.conversation
    assert [r.data for r in rounds] == [hat.final, scarf.final] and [r.meta["round"] for r in rounds] == [1, 2]
    assert rounds[1].trace == scarf.partials  # only this round's frames


def test_a_page_that_never_shows_the_prompt_box_is_an_error_with_its_page_saved(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    with mock_site(tmp_path, recipe_args={"prompt": "textarea#renamed", "timeout_s": 1}) as (app, path):
        result = cli("generate", "geneval", "--model", f"browser:{path}", "--limit", "1", "--samples", "1", "--out", run, "--quiet")
    assert result.exit_code == 1 and app.generations == 0
    [(_item, _sample, status, record)] = _generations(run)
    assert status == "error" and "timed out after 1s" in record["reason"] and "browser-failures/00000_0_0_" in record["reason"]
    saved = sorted(p.name for p in (run / "browser-failures").iterdir())
    assert [name.rsplit(".", 1)[1] for name in saved] == ["html", "png"] and all(n.startswith("00000_0_0_") for n in saved)
    assert "textarea" in (run / "browser-failures" / saved[0]).read_text()
