"""Backends from other packages register through the `genlens.backends` entry-point group."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import genlens.backends.base as registry

PLUGIN = '''
from typing import ClassVar
from genlens.backends.base import Backend, BackendInfo
from genlens.backends.synthetic import SyntheticBackend


class EchoBackend(SyntheticBackend):
    info: ClassVar[BackendInfo] = BackendInfo("echo", "echo:<pattern>", "plugin test backend", ("generate",))
'''


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "echo_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "echo_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[genlens.backends]\necho = echo_plugin:EchoBackend\nbroken = echo_plugin:DoesNotExist\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with registry.REGISTRY.rediscovered():
        yield tmp_path
    sys.modules.pop("echo_plugin", None)


def test_entry_point_backend_runs_and_broken_one_is_reported(plugin_path: Path, cli, tmp_path: Path) -> None:
    assert "echo" in registry.backend_classes()
    assert "folder" in registry.backend_classes()  # a broken plugin never breaks the built-ins
    assert "broken" in registry.plugin_errors()
    run = tmp_path / "run"
    result = cli("run", "image-props", "-m", "echo:gradient", "-o", run, "--limit", "2", "-q")
    assert result.exit_code == 0, result.output
    assert (run / "results.json").exists()
    bad = cli("run", "image-props", "-m", "broken:x", "-o", tmp_path / "r2")
    assert bad.exit_code == 2 and "plugin 'broken' failed to load" in bad.output
