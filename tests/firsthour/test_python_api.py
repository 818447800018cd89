"""The public Python API, used the way a notebook would: only names from ``import genlens``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


class GreyPipeline:
    """An in-memory "pipeline": a plain (sync) generate that returns a PIL image of the requested size."""

    name = "grey-pipeline"

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, request):  # the Backend protocol's one required method
        self.calls += 1
        width, height = request.size or (64, 64)
        rng = np.random.default_rng(request.seed)
        return Image.fromarray(rng.integers(100, 140, (height, width, 3), dtype=np.uint8))


def test_notebook_session_with_an_in_process_pipeline(tmp_path: Path) -> None:
    import genlens

    pipe = GreyPipeline()
    run = genlens.run("image-props", model=pipe, out=tmp_path / "grey", limit=3)
    assert isinstance(run, genlens.Run) and pipe.calls == 3
    assert run.results["suite"] == "image-props" and run.results["model"] == "python:grey-pipeline"
    assert run.results["counts"]["generations_ok"] == 3
    assert len(run.rows) == 3 and {"item", "sample"} <= set(run.rows[0])
    frame = run.to_pandas()
    assert len(frame) == 3 and "item" in frame.columns
    # the same call again resumes: no new generation
    again = genlens.run("image-props", model=pipe, out=tmp_path / "grey", limit=3)
    assert pipe.calls == 3 and again.generated.skipped == 3
    # score again, then report it beside a spec-string run
    other = genlens.run("image-props", model="synthetic:gradient", out=tmp_path / "gradient", limit=3)
    assert genlens.score(other.dir).results["headline"] == other.results["headline"]
    md = genlens.report([run, other], fmt="md")
    assert "grey-pipeline" in md and "synthetic:gradient" in md
    genlens.report([run, other], fmt="html", out=tmp_path / "report.html")
    assert (tmp_path / "report.html").stat().st_size > 1000
    rows = json.loads(genlens.report(run, fmt="json"))
    assert rows


def test_unknown_option_is_refused_with_a_did_you_mean(tmp_path: Path) -> None:
    import genlens
    from genlens.errors import SpecError

    with pytest.raises(SpecError, match="did you mean samples"):
        genlens.run("image-props", model="synthetic:gradient", out=tmp_path / "r", sample=2)


class BuggyPipeline:
    name = "buggy"

    async def generate(self, request):
        return request.no_such_field  # a programming error inside the user's backend


def test_a_backend_bug_is_an_exception_with_traceback_in_the_api_not_error_rows(tmp_path: Path) -> None:
    import genlens

    with pytest.raises(AttributeError, match="no_such_field") as info:
        genlens.run("image-props", model=BuggyPipeline(), out=tmp_path / "bug", limit=2)
    frames = [frame.name for frame in info.traceback]
    assert "generate" in frames  # the user's own frame is in the traceback
    assert not (tmp_path / "bug" / "results.json").exists()


BUGGY_PLUGIN = '''
from typing import ClassVar
from genlens.backends.base import BackendInfo
from genlens.backends.synthetic import SyntheticBackend


class BuggyBackend(SyntheticBackend):
    info: ClassVar[BackendInfo] = BackendInfo("buggy", "buggy:<pattern>", "raises TypeError", ("generate",))

    async def generate(self, request):
        return len(request.seed)
'''


def test_a_backend_bug_is_one_line_in_the_cli(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import genlens.backends.base as registry

    (tmp_path / "buggy_plugin.py").write_text(BUGGY_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    import buggy_plugin  # noqa: F401 - on sys.path only for this test

    monkeypatch.setitem(registry._BACKENDS, "buggy", sys.modules["buggy_plugin"].BuggyBackend)
    r = cli("run", "image-props", "-m", "buggy:gradient", "-o", tmp_path / "run", "--limit", "2")
    assert r.exit_code == 1
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert "model buggy:gradient raised TypeError" in lines[0] and "buggy_plugin.py:" in lines[0]
    assert "Traceback" not in r.output
    assert not (tmp_path / "run" / "rows.jsonl").exists()
    sys.modules.pop("buggy_plugin", None)
