"""The ``genlens`` command: a thin layer that parses options and calls the library.

Core commands live in :mod:`genlens.cli.core`; every module in :mod:`genlens.cli.commands`
that defines ``register(app)`` adds its own commands (``data``, ``judges``, ``detect`` …).
"""

from __future__ import annotations

from genlens import interrupts

if interrupts.is_cli_process():  # before the heavy imports: a Ctrl-C during start-up is one line, not a traceback
    interrupts.install()

import functools
import importlib
import os
import pkgutil
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

try:  # typer >= 0.24 vendors click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer on real click
    from click import exceptions as click_errors  # type: ignore[no-redef]

from genlens.errors import GenlensError

F = TypeVar("F", bound=Callable[..., Any])

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)

class _GenlensGroup(TyperGroup):
    """Usage errors (``--limit -1``, ``--seed abc``, an unknown option) read like every genlens error:
    one ``error: … — fix`` line on stderr and exit code 2, not a boxed usage dump."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError as exc:
            exc.show()
            if not standalone_mode:
                raise
            sys.exit(exc.exit_code)
        except click_errors.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else (prog_name or "genlens")
            message = " ".join(exc.format_message().split())
            err_console.print(f"[bold red]error:[/] {escape(message)} — see `{escape(where)} --help`")
            if not standalone_mode:
                raise
            sys.exit(2)
        except click_errors.ClickException as exc:
            err_console.print(f"[bold red]error:[/] {escape(' '.join(exc.format_message().split()))}")
            if not standalone_mode:
                raise
            sys.exit(exc.exit_code)
        except typer.Abort:
            err_console.print("interrupted — finished work is saved; run the same command again to resume")
            if not standalone_mode:
                raise
            sys.exit(130)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


app = typer.Typer(
    name="genlens",
    cls=_GenlensGroup,
    help="Diagnose image-generation and image-editing models: generate or import images, score them "
    "with the benchmarks' official protocols, and report them beside published numbers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_error(exc: GenlensError) -> None:
    from genlens.errors import BackendBug

    if isinstance(exc, BackendBug) and os.environ.get("GENLENS_VERBOSE"):
        import traceback

        err_console.print("".join(traceback.format_exception(exc.original)), markup=False)
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False)


def user_errors(func: F) -> F:
    """Turn user mistakes into one line on stderr and exit code 2 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GenlensError as exc:
            _print_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except ImportError as exc:  # an optional dependency missing anywhere: one line naming the extra
            from genlens.extras import missing_dependency

            missing = missing_dependency(exc)
            if missing is None:
                raise
            _print_error(missing)
            raise typer.Exit(missing.exit_code) from None
        except KeyboardInterrupt:
            err_console.print(interrupts.RESUME_HINT)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        from genlens import __version__

        typer.echo(f"genlens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Diagnose image-generation and image-editing models."""


def _register_all() -> None:
    from genlens.cli import core

    core.register(app)
    import genlens.cli.commands as package

    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            mod = importlib.import_module(f"genlens.cli.commands.{module.name}")
            if hasattr(mod, "register"):
                mod.register(app)


_register_all()


def main() -> None:
    # transformers' per-load warnings (slow-processor fallback, weight-loading bars) are noise
    # in a CLI that draws its own progress; GENLENS_VERBOSE=1 brings them back.
    if not os.environ.get("GENLENS_VERBOSE"):
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TQDM_DISABLE", "1")
        os.environ.setdefault("GLOG_minloglevel", "2")  # mediapipe's TF Lite start-up lines
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    interrupts.install()
    app(prog_name="genlens")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
