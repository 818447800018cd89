"""Suites from other packages register through the ``genlens.suites`` entry-point group."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import genlens.suites.base as registry

PLUGIN = '''
from genlens.suites.base import Suite, SuiteMeta, SuiteResult
from genlens.scorers.base import Scorer
from genlens.types import Item
from genlens.imageio import load_rgb


class WidthScorer(Scorer):
    name = "width"
    version = "1"

    def score_batch_sync(self, inputs):
        out = []
        for entry in inputs:
            image = load_rgb(entry.run_dir / entry.generation.images[0])
            out.append(("ok", {"width": image.size[0]}))
        return out


class LabSuite(Suite):
    meta = SuiteMeta(name="lab-widths", version="1", title="A lab's own benchmark", task="generate",
                     categories=("small", "large"), needs=("none",), data_source="the lab's plugin")

    def items(self):
        return [Item("a", "a small thing", "small", size=(64, 64)), Item("b", "a large thing", "large", size=(128, 96))]

    def scorers(self, ctx):
        return [WidthScorer()]

    def aggregate(self, scored, ctx):
        hits = [s.scores["width"].value["width"] == s.item.size[0] for s in scored if "width" in s.scores]
        rate = sum(hits) / len(hits) if hits else None
        return SuiteResult(headline={"width_match": rate}, counts={"scored": len(hits)},
                           rows=[{"item": s.item.id, "sample": s.generation.sample} for s in scored])
'''


@pytest.fixture
def suite_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "lab_suites.py").write_text(PLUGIN)
    dist = tmp_path / "lab_suites-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-suites\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[genlens.suites]\nlab-widths = lab_suites:LabSuite\nlab-broken = lab_suites:Missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with registry.REGISTRY.rediscovered():
        yield tmp_path
    sys.modules.pop("lab_suites", None)


def test_an_entry_point_suite_runs_end_to_end(suite_plugin: Path, cli, tmp_path: Path) -> None:
    assert "lab-widths" in registry.suite_classes() and "geneval" in registry.suite_classes()
    assert "lab-broken" in registry.suite_plugin_errors()
    listed = {s["name"] for s in json.loads(cli("suites", "--json").stdout)}
    assert "lab-widths" in listed
    run = tmp_path / "run"
    r = cli("run", "lab-widths", "-m", "synthetic:gradient", "-o", run, "-q")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    assert results["headline"] == {"width_match": 1.0}
    r = cli("run", "lab-widths", "-m", "synthetic:fixed", "-o", tmp_path / "fixed", "-q")
    assert json.loads((tmp_path / "fixed" / "results.json").read_text())["headline"] == {"width_match": 0.0}
    bad = cli("run", "lab-broken", "-m", "synthetic:gradient", "-o", tmp_path / "r2")
    assert bad.exit_code == 2 and "suite plugin 'lab-broken' failed to load" in bad.output
