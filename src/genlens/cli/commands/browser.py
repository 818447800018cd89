"""``genlens browser login RECIPE``: save a web UI's login state for the ``browser:`` backend (user cache only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from genlens.cli import err_console, user_errors

browser_app = typer.Typer(help="Web UIs driven by a recipe (the browser: backend): log in once, runs reuse the state.",
                          no_args_is_help=True)


@browser_app.command("login")
@user_errors
def login_cmd(
    recipe: Annotated[Path, typer.Argument(help="The site's recipe YAML (the same file --model browser:RECIPE names).")],
    import_state: Annotated[Path | None, typer.Option("--import", help="Save this storage-state JSON (exported elsewhere) instead of opening a browser.")] = None,
    headless: Annotated[bool, typer.Option("--headless", help="No window: for pages that log in without typing (single sign-on already set up, the mock).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait for the prompt box to appear (you logging in).")] = 600.0,
) -> None:
    """Log in to the recipe's site in a browser window; the state is saved under the user cache (0600), never in a run."""
    from genlens.backends.browser import load_recipe, login, save_state

    site = load_recipe(recipe)
    if import_state is not None:
        try:
            state = json.loads(import_state.read_text(encoding="utf-8"))
        except FileNotFoundError:
            from genlens.errors import SpecError

            raise SpecError("storage-state file not found", path=import_state, fix="give the JSON file Playwright's storage_state wrote") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            from genlens.errors import SpecError

            raise SpecError(f"storage state is not JSON ({exc})", path=import_state, fix="give the JSON file Playwright's storage_state wrote") from None
        saved = save_state(site, state)
    else:
        saved = login(site, headless=headless, timeout_s=timeout)
    err_console.print(f"login state for {site.site} saved to {saved} (readable by you only); runs with this recipe use it")


def register(app: typer.Typer) -> None:
    app.add_typer(browser_app, name="browser")
