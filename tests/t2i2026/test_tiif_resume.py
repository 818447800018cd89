"""A tiif run killed (SIGKILL) while the judge is answering resumes without asking any answered question again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest

from genlens.testing.fake_chat import FakeChat
from genlens.testing.http import FakeServer
from tests.conftest import subprocess_env
from tests.t2i2026.tiif_fixture import EXPECTED_OVERALL, ScriptedJudge, write_images, write_tiif_data


class Gate:
    """Answers the first ``after`` questions, then holds every further one until released (events, no sleeps)."""

    def __init__(self, after: int):
        self.script = ScriptedJudge()
        self.after = after
        self.answered: list[str] = []
        self.closed = True
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, text: str) -> str:
        if self.closed and len(self.answered) >= self.after:
            self.reached.set()
            self.release.wait(60)
            return "never delivered"
        answer = self.script(text)
        self.answered.append(text.split("Is fixture ")[1].split(" ")[0] if "Is fixture " in text else "text")
        return answer


def test_sigkill_while_judging_then_resume_asks_only_what_was_not_answered(tmp_path):
    data = write_tiif_data(tmp_path / "data")
    images = write_images(tmp_path / "images")
    run = tmp_path / "run"
    gate = Gate(after=5)
    env = {**subprocess_env(), "GENLENS_CACHE_DIR": str(tmp_path / "cache"), "OPENAI_API_KEY": "sk-test-not-a-real-key",
           "HF_HUB_OFFLINE": "1"}
    env.pop("OPENAI_BASE_URL", None)
    with FakeServer() as server:
        FakeChat(server, answer=gate, reported_model={"gpt-4o-2024-08-06": "gpt-4o-2024-08-06"})
        command = [sys.executable, "-m", "genlens", "run", "tiif", "--model", f"folder:{images}", "--data-dir", str(data),
                   "--out", str(run), "--suite-arg", "length=short", "--suite-arg", "gned=false", "--concurrency", "1",
                   "--scorer-arg", f"base_url={server.url}/v1", "--quiet"]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert gate.reached.wait(120), proc.stderr.read().decode() if proc.poll() is not None else "judge never reached"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        finally:
            gate.closed = False
            gate.release.set()
        first = list(gate.answered)
        assert len(first) == 5
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert finished.returncode == 0, finished.stderr
    later = gate.answered[5:]
    assert not set(first) & set(later)  # nothing answered before the kill was asked again
    assert len(set(first + later)) == 39  # every dimension's question set was answered
    assert sorted(first + later) == sorted([*set(first + later), "style"])  # each once, style twice (miscounted)
    results = json.loads((run / "results.json").read_text())
    assert results["headline"]["overall_short"] == pytest.approx(EXPECTED_OVERALL)
