"""browser: recipes are validated with one-line errors; the login state is private (no browser needed here)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from genlens.backends.browser import Recipe, load_recipe, login, save_state, state_path
from genlens.errors import SpecError
from genlens.testing.web_chat import recipe as mock_recipe

GOOD = mock_recipe("http://127.0.0.1:8765/")


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_the_mock_recipe_loads(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, GOOD))
    assert isinstance(recipe, Recipe) and recipe.site == "mock-chat" and recipe.blocked == (".login-wall", ".rate-limit")
    assert recipe.image_response.search("http://127.0.0.1:8765/files/0a1b/final.png")
    assert not recipe.image_response.search("http://127.0.0.1:8765/api/generate")
    assert (recipe.timeout_s, recipe.concurrency, recipe.session, recipe.retries) == (60.0, 1, False, 0)


def test_the_shipped_recipe_is_valid() -> None:
    shipped = Path(__file__).resolve().parents[2] / "src" / "genlens" / "data" / "recipes" / "mock-chat.yaml"
    recipe = load_recipe(shipped)
    assert recipe.url == "http://127.0.0.1:8765/" and recipe.final == "img.generated"


@pytest.mark.parametrize(("change", "expected"), [
    ({"prompt": None}, "recipe lacks prompt"),
    ({"typo": 1}, "unknown key(s): typo"),
    ({"url": "chat.example.com"}, "url: 'chat.example.com' is not an http(s) URL"),
    ({"image_response": "files/(png"}, "image_response: 'files/(png' is not a regular expression"),
    ({"timeout_s": 0}, "timeout_s: 0 is not a number > 0"),
    ({"concurrency": "four"}, "concurrency: 'four' is not a whole number >= 1"),
    ({"session": "yes"}, "session: 'yes' is not true/false"),
    ({"blocked": [".a", 3]}, "blocked: ['.a', 3] is not a selector or a list of selectors"),
    ({"final": ""}, "recipe lacks final"),
    ({"image_response": "/files/(?P<id>.*)"}, "uses a Python-only named group"),
])
def test_recipe_mistakes_are_one_line(tmp_path: Path, change: dict, expected: str) -> None:
    path = _write(tmp_path, {k: v for k, v in {**GOOD, **change}.items() if v is not None})
    with pytest.raises(SpecError) as info:
        load_recipe(path)
    message = str(info.value)
    assert expected in message and str(path) in message and "\n" not in message and " — " in message


def test_missing_and_unparsable_recipe_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_recipe(_write(tmp_path, "url: [unclosed"))
    with pytest.raises(SpecError, match="must be a mapping"):
        load_recipe(_write(tmp_path, "- a list"))


def test_bad_recipe_through_the_cli_is_exit_2(cli, tmp_path: Path) -> None:
    path = _write(tmp_path, {**GOOD, "final": None})
    result = cli("run", "geneval", "--model", f"browser:{path}", "--limit", "1", "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert "recipe" in result.output and "Traceback" not in result.output


def test_saved_state_is_private_and_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))
    recipe = load_recipe(_write(tmp_path, GOOD))
    path = save_state(recipe, {"cookies": [{"name": "sid", "value": "s3cret"}], "origins": []})
    assert path == state_path(recipe) == tmp_path / "cache" / "browser-state" / "mock-chat.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["cookies"][0]["value"] == "s3cret"
    with pytest.raises(SpecError, match="not a browser storage state"):
        save_state(recipe, {"cookies": "nope"})


def test_login_without_a_display_says_how_to_copy_a_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    recipe = load_recipe(_write(tmp_path, GOOD))
    with pytest.raises(SpecError) as info:
        login(recipe)
    assert "no display" in str(info.value) and "--import" in str(info.value) and str(state_path(recipe)) in str(info.value)


def test_login_import_through_the_cli(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))
    recipe_path = _write(tmp_path, GOOD)
    exported = tmp_path / "state.json"
    exported.write_text(json.dumps({"cookies": [{"name": "sid", "value": "s3cret-cookie"}], "origins": []}))
    result = cli("browser", "login", recipe_path, "--import", exported)
    assert result.exit_code == 0, result.output
    saved = tmp_path / "cache" / "browser-state" / "mock-chat.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and "s3cret-cookie" not in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert cli("browser", "login", recipe_path, "--import", broken).exit_code == 2


def test_model_args_that_are_not_numbers_are_one_line(cli, tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    result = cli("generate", "geneval", "--model", f"browser:{path}", "--model-arg", "concurrency=four", "--limit", "1",
                 "--out", tmp_path / "run")
    assert result.exit_code == 2 and "--model-arg concurrency='four' is not a number >= 1" in result.output
