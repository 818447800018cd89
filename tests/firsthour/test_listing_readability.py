"""`genlens suites` / `models` stay readable and greppable: piped, at 80 columns, and as --json."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console


def test_piped_output_is_one_line_per_entry(cli) -> None:
    suites = json.loads(cli("suites", "--json").stdout)
    lines = cli("suites").stdout.splitlines()
    assert len(lines) == len(suites)
    for suite, line in zip(suites, lines, strict=True):
        assert line.startswith(suite["name"] + "\t")
    models = json.loads(cli("models", "--json").stdout)["backends"]
    lines = cli("models").stdout.splitlines()
    assert len(lines) == len(models)
    assert any(line.startswith("synthetic:gradient|blank|noise|fixed") and "\t" in line for line in lines)


@pytest.mark.parametrize("width", [80, 100, 160])
def test_terminal_output_never_splits_an_identifier(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    import genlens.cli as cli_module
    from genlens.backends.base import backend_classes
    from genlens.cli import app
    from genlens.suites.base import suite_classes

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=True, color_system=None, highlight=False, soft_wrap=True)
    monkeypatch.setattr(cli_module, "out_console", console)
    import genlens.cli.core as core

    monkeypatch.setattr(core, "out_console", console)
    from typer.testing import CliRunner

    for command in ("suites", "models"):
        buffer.seek(0)
        buffer.truncate()
        assert CliRunner().invoke(app, [command]).exit_code == 0
        text = buffer.getvalue()
        assert all(len(line) <= width for line in text.splitlines())
        names = suite_classes() if command == "suites" else [c.info.syntax.split(":")[0] + ":" for c in backend_classes().values()]
        for name in names:
            assert any(name in line for line in text.splitlines()), (name, text)
