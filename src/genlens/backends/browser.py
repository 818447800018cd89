"""``browser:<recipe.yaml>`` — models that only have a web UI, driven through Playwright on Debian's chromium.

A recipe (YAML) describes one site: the page to open, the selectors to type the prompt into and to
click, a regex on the URLs of the responses that carry images, and the selector that shows the final
image. Per item a fresh browser context opens the page, types, submits and then waits on events
only (selectors appearing, responses arriving), never on fixed sleeps. The final image's bytes
are its network response's body, byte for byte; every image response of the round before it is
kept, in arrival order, as the generation's trace frames (what ``genlens probe trace`` analyses).

``blocked:`` selectors (a login wall, a CAPTCHA, a rate-limit banner) stop the run with one line;
``refusal:`` records the item as refused. On any other failure a screenshot and the page's HTML go
under ``<run>/browser-failures/``. A login state saved by ``genlens browser login RECIPE`` (user
cache, mode 0600) is loaded into every context; it never enters a run directory or a log.

Model args: ``concurrency`` (parallel contexts; default the recipe's, else 1), ``rate`` (page
submits per second for the site; default the recipe's ``rate_per_minute``), ``timeout`` (seconds
per item), ``max_retries``, ``chromium`` (browser path; default ``$GENLENS_CHROMIUM`` or
``/usr/bin/chromium``), ``headed`` (true: show the window, for writing a recipe).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from genlens.backends._calls import TransientError, _RateLimiter, log
from genlens.backends._media import mime_of
from genlens.backends.base import Backend, BackendInfo, Session, register_backend
from genlens.errors import Blocked, Refused, SpecError
from genlens.imageio import atomic_write, sniff_format
from genlens.types import GeneratedImage, GenerationRequest

#: Debian chromium in a closed network: no background connections, no first-run UI, no sandbox (root in CI).
LAUNCH_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync")
DEFAULT_CHROMIUM = "/usr/bin/chromium"
FAILURES_DIR = "browser-failures"
STATE_DIR = "browser-state"

_SELECTOR_KEYS = ("prompt", "submit", "final", "upload", "refusal")
_KNOWN_KEYS = ("name", "url", "login_url", "prompt", "submit", "image_response", "final", "upload", "refusal", "blocked",
               "session", "timeout_s", "concurrency", "rate_per_minute", "retries")
_REQUIRED = ("url", "prompt", "image_response", "final")


# ----------------------------------------------------------------------------------------------
# recipes
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    """One site, as a recipe file describes it (see docs/browser.md)."""

    path: Path
    url: str
    prompt: str
    image_response: re.Pattern[str]
    final: str
    name: str = ""
    login_url: str = ""
    submit: str = ""
    upload: str = ""
    refusal: str = ""
    blocked: tuple[str, ...] = ()
    session: bool = False
    timeout_s: float = 300.0
    concurrency: int = 1
    rate_per_minute: float | None = None
    retries: int = 0
    sha256: str = field(default="", compare=False)

    @property
    def site(self) -> str:
        """The site's name: the recipe's ``name``, else the page's host (and port)."""
        return self.name or urlsplit(self.url).netloc


def _bad(path: Path, message: str, fix: str) -> SpecError:
    return SpecError(f"recipe {message}", path=path, fix=fix)


def _check_url(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
        raise _bad(path, f"{key}: {value!r} is not an http(s) URL", f"e.g. {key}: https://chat.example.com/")
    return value


def load_recipe(path: Path) -> Recipe:
    """Read and validate a recipe; every mistake is one line naming the file, the key and the fix."""
    import yaml

    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise SpecError("recipe file not found", path=path, fix="give the path of a recipe YAML file: --model browser:site.yaml") from None
    except IsADirectoryError:
        raise SpecError("recipe is a directory, not a YAML file", path=path, fix="give the recipe file itself") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise _bad(path, f"is not valid YAML ({str(exc).splitlines()[0]})", "fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise _bad(path, "must be a mapping of key: value", "see docs/browser.md for the keys")
    unknown = sorted(str(k) for k in data if k not in _KNOWN_KEYS)
    if unknown:
        raise _bad(path, f"has unknown key(s): {', '.join(unknown)}", f"use only: {', '.join(_KNOWN_KEYS)}")
    missing = [k for k in _REQUIRED if not data.get(k)]
    if missing:
        raise _bad(path, f"lacks {', '.join(missing)}", "url, prompt, image_response and final are required (docs/browser.md)")
    values: dict[str, Any] = {"url": _check_url(path, "url", data["url"])}
    if data.get("login_url"):
        values["login_url"] = _check_url(path, "login_url", data["login_url"])
    for key in _SELECTOR_KEYS:
        if key in data and data[key] is not None:
            if not isinstance(data[key], str) or not data[key].strip():
                raise _bad(path, f"{key}: {data[key]!r} is not a CSS selector", f'e.g. {key}: "textarea#prompt"')
            values[key] = data[key].strip()
    blocked = data.get("blocked") or []
    blocked = [blocked] if isinstance(blocked, str) else blocked
    if not isinstance(blocked, list) or not all(isinstance(s, str) and s.strip() for s in blocked):
        raise _bad(path, f"blocked: {data.get('blocked')!r} is not a selector or a list of selectors", 'e.g. blocked: [".login-wall", "#captcha"]')
    values["blocked"] = tuple(s.strip() for s in blocked)
    if "(?P" in str(data["image_response"]):  # Playwright matches it as a JavaScript regex, which has no (?P…)
        raise _bad(path, f"image_response: {data['image_response']!r} uses a Python-only named group (?P…)",
                   "drop the group name: the regex is also read as JavaScript")
    try:
        values["image_response"] = re.compile(str(data["image_response"]))
    except re.error as exc:
        raise _bad(path, f"image_response: {data['image_response']!r} is not a regular expression ({exc})",
                   r'e.g. image_response: "/files/.*\\.(png|webp|jpg)"') from None
    if "session" in data and not isinstance(data["session"], bool):
        raise _bad(path, f"session: {data['session']!r} is not true/false", "e.g. session: true")
    values["session"] = bool(data.get("session", False))
    for key, kind, minimum in (("timeout_s", float, 0.0), ("rate_per_minute", float, 0.0), ("concurrency", int, 1), ("retries", int, 0)):
        if key not in data or data[key] is None:
            continue
        value = data[key]
        ok = not isinstance(value, bool) and isinstance(value, int if kind is int else (int, float))
        if not ok or value < minimum or (kind is float and value == 0):
            what = "a whole number" if kind is int else "a number"
            raise _bad(path, f"{key}: {value!r} is not {what} {'>= ' + str(minimum) if kind is int else '> 0'}", f"e.g. {key}: {4 if kind is int else 60}")
        values[key] = kind(value)
    if data.get("name") is not None:
        values["name"] = str(data["name"])
    return Recipe(path=path, prompt=values.pop("prompt"), final=values.pop("final"), sha256=hashlib.sha256(text).hexdigest(), **values)


# ----------------------------------------------------------------------------------------------
# login state (user cache only, 0600)
# ----------------------------------------------------------------------------------------------
def state_path(recipe: Recipe) -> Path:
    """Where the site's login state lives: ``<cache>/browser-state/<site>.json`` (never a run directory)."""
    from genlens.config import slug
    from genlens.judges.cache import cache_dir

    return cache_dir() / STATE_DIR / f"{slug(recipe.site)}.json"


def save_state(recipe: Recipe, state: dict[str, Any]) -> Path:
    """Write a storage state (cookies, local storage) readable by the user only."""
    if not isinstance(state, dict) or not isinstance(state.get("cookies", []), list) or not isinstance(state.get("origins", []), list):
        raise SpecError("not a browser storage state (a JSON object with 'cookies' and 'origins' lists)",
                        fix="export it with Playwright's context.storage_state(path=...)")
    path = state_path(recipe)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def login(recipe: Recipe, *, headless: bool = False, timeout_s: float = 600.0) -> Path:
    """Open the site in a browser, wait until its prompt box shows (you logged in), save the storage state."""
    if not headless and sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise SpecError(
            "no display to open a login window on",
            fix=f"run `genlens browser login` on a machine with a display and copy {state_path(recipe)} here (mode 0600), "
                "or export a storage state with Playwright (context.storage_state(path=...)) and pass --import FILE",
        )
    return asyncio.run(_login(recipe, headless, timeout_s))


async def _login(recipe: Recipe, headless: bool, timeout_s: float) -> Path:
    executable = chromium_path()
    deadline = time.monotonic() + timeout_s
    async with start_playwright() as playwright:
        browser = await launch(playwright, executable, headless=headless)
        try:
            saved = state_path(recipe)
            context = await browser.new_context(storage_state=str(saved) if saved.is_file() else None)
            page = await context.new_page()
            await page.goto(recipe.login_url or recipe.url, wait_until="domcontentloaded", timeout=_ms(deadline))
            try:
                await page.locator(recipe.prompt).first.wait_for(state="visible", timeout=_ms(deadline))
            except Exception as exc:
                why = "timed out" if type(exc).__name__ == "TimeoutError" else "the window was closed"
                raise SpecError(f"{recipe.site}: the prompt box ({recipe.prompt}) never showed, so no login was saved ({why})",
                                path=recipe.path, fix="log in within --timeout seconds, or check the recipe's prompt selector") from None
            state = await context.storage_state()
        finally:
            with contextlib.suppress(Exception):
                await browser.close()
    return save_state(recipe, state)


# ----------------------------------------------------------------------------------------------
# chromium through playwright
# ----------------------------------------------------------------------------------------------
def chromium_path(params: dict[str, Any] | None = None) -> str:
    """The chromium binary: ``--model-arg chromium=…``, ``$GENLENS_CHROMIUM``, /usr/bin/chromium or PATH."""
    chosen = (params or {}).get("chromium") or os.environ.get("GENLENS_CHROMIUM")
    if chosen:
        if not Path(str(chosen)).is_file():
            raise SpecError(f"chromium not found at {chosen}", fix="point --model-arg chromium=… or GENLENS_CHROMIUM at the browser binary")
        return str(chosen)
    for candidate in (DEFAULT_CHROMIUM, shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise SpecError("chromium is not installed", fix="apt-get install chromium (genlens never downloads a browser), or set GENLENS_CHROMIUM")


async def launch(playwright: Any, executable: str, headless: bool = True) -> Any:
    return await playwright.chromium.launch(executable_path=executable, headless=headless, args=list(LAUNCH_ARGS))


def start_playwright() -> Any:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        raise SpecError("the browser backend needs playwright", fix="pip install 'genlens[browser]' (the browser itself comes from apt: chromium)") from None
    return async_playwright()


class _Capture:
    """Image responses of one context, in arrival order, their bodies taken on the way to the page.

    Matching requests are routed: Playwright fetches them, the body is kept, and the page gets the
    very same response. (A ``response`` event alone is not enough: Chromium keeps no body for a
    response the page reads as a blob, which is how chat apps show images.)
    """

    def __init__(self, pattern: re.Pattern[str]):
        self.pattern = pattern
        self.responses: list[tuple[str, bytes]] = []
        self.mark = 0
        self.arrived = asyncio.Event()

    async def attach(self, context: Any) -> None:
        await context.route(self.pattern, self._on_route)  # matched in the driver: other requests never reach Python

    async def _on_route(self, route: Any) -> None:
        try:
            response = await route.fetch()
            body = await response.body()
        except Exception:  # the page or context is closing, or the network failed: let the page see it
            with contextlib.suppress(Exception):
                await route.abort()
            return
        if response.ok:
            self.responses.append((route.request.url, body))
            self.arrived.set()
        with contextlib.suppress(Exception):
            await route.fulfill(response=response, body=body)

    def start_round(self) -> None:
        self.mark = len(self.responses)

    def round(self) -> list[tuple[str, bytes]]:
        return self.responses[self.mark:]

    async def wait_for(self, url: str, deadline: float) -> int:
        """The index (in this round) of the response for ``url``, waiting for it to arrive."""
        while True:
            for index, (seen, _body) in enumerate(self.round()):
                if seen == url:
                    return index
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), max(0.0, deadline - time.monotonic()))


def _path_only(url: str) -> str:
    """A URL without its query (signed URLs carry tokens; they never reach a record)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme in ("http", "https") else parts.scheme + ":"


def _decodes(data: bytes) -> str | None:
    """None when ``data`` is a fully decodable image, else why not."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


class _Page:
    """One browser context and its page, where one or more rounds (a session) take place."""

    def __init__(self, backend: BrowserBackend, context: Any, page: Any):
        self.backend = backend
        self.recipe = backend.recipe
        self.context = context
        self.page = page
        self.capture = _Capture(self.recipe.image_response)
        self._seen_finals = 0
        self._seen_refusals = 0

    def _either(self, *locators: Any) -> Any:
        combined = locators[0]
        for locator in locators[1:]:
            combined = combined.or_(locator)
        return combined.first

    async def _check_blocked(self) -> None:
        for selector in self.recipe.blocked:
            if await self.page.locator(selector).first.is_visible():
                raise Blocked(
                    f"{self.recipe.site}: the page shows {selector!r} (a login wall, CAPTCHA or rate limit), so the run stopped",
                    path=self.recipe.path,
                    fix="log in with `genlens browser login RECIPE` or wait, then run the same command again: finished items are kept",
                )

    def _blocked_locators(self) -> list[Any]:
        return [self.page.locator(selector) for selector in self.recipe.blocked]

    async def open(self, deadline: float) -> None:
        await self.page.goto(self.recipe.url, wait_until="domcontentloaded", timeout=_ms(deadline))
        await self._either(self.page.locator(self.recipe.prompt), *self._blocked_locators()).wait_for(state="visible", timeout=_ms(deadline))
        await self._check_blocked()

    async def prepare(self, text: str, image: bytes | None, deadline: float) -> None:
        """Attach the input image (edits) and type the prompt; nothing is sent yet."""
        recipe, page = self.recipe, self.page
        self._seen_finals = await page.locator(recipe.final).count()
        self._seen_refusals = await page.locator(recipe.refusal).count() if recipe.refusal else 0
        if image is not None:
            if not recipe.upload:
                raise SpecError("the recipe has no upload selector, so it cannot edit images", path=recipe.path,
                                fix="add upload: <selector of the file input> to the recipe")
            ext = {"image/jpeg": "jpg", "image/webp": "webp"}.get(mime_of(image), "png")
            await page.set_input_files(recipe.upload, files=[{"name": f"input.{ext}", "mimeType": mime_of(image), "buffer": image}],
                                       timeout=_ms(deadline))
        await page.fill(recipe.prompt, text, timeout=_ms(deadline))

    async def submit(self, deadline: float) -> GeneratedImage:
        """Send the prepared prompt, wait for the final image (or a refusal / block); its bytes and the frames before it."""
        recipe, page = self.recipe, self.page
        self.capture.start_round()
        started = time.monotonic()
        if recipe.submit:
            await page.click(recipe.submit, timeout=_ms(deadline))
        else:
            await page.press(recipe.prompt, "Enter", timeout=_ms(deadline))
        final = page.locator(recipe.final).nth(self._seen_finals)
        refusal = page.locator(recipe.refusal).nth(self._seen_refusals) if recipe.refusal else None
        waits = [final, *self._blocked_locators(), *([refusal] if refusal is not None else [])]
        await self._either(*waits).wait_for(state="visible", timeout=_ms(deadline))
        if refusal is not None and await refusal.is_visible():
            reason = " ".join((await refusal.inner_text(timeout=_ms(deadline))).split())
            raise Refused(f"the page refused: {reason[:300]}")
        if not await final.is_visible():
            await self._check_blocked()
        source = await final.evaluate("element => element.currentSrc || element.src || ''", timeout=_ms(deadline))
        return await self._result(str(source or ""), started, deadline)

    async def _result(self, source: str, started: float, deadline: float) -> GeneratedImage:
        capture = self.capture
        if source.startswith(("http://", "https://")) and capture.pattern.search(source):
            final_index = await capture.wait_for(source, deadline)
        elif capture.round():  # a blob: or data: image the page made from a response it fetched: the latest one
            final_index = len(capture.round()) - 1
        else:
            raise TransientError(f"no response matched image_response {capture.pattern.pattern!r} before the final image showed "
                                 f"(its src is {_path_only(source) or 'empty'})")
        responses = capture.round()
        final_url, data = responses[final_index]
        broken = _decodes(data)
        if broken:
            raise TransientError(f"the final image response {_path_only(final_url)} is not a decodable image ({broken})")
        frames: list[bytes] = []
        dropped = 0
        seen_urls = {final_url}
        for url, frame in responses[:final_index]:
            if url in seen_urls:
                continue
            seen_urls.add(url)
            if _decodes(frame):
                dropped += 1
                continue
            frames.append(frame)
        meta: dict[str, Any] = {"site": self.recipe.site, "final_url": _path_only(final_url), "frames": len(frames),
                                "latency_s": round(time.monotonic() - started, 4)}
        if dropped:
            meta["frames_dropped"] = dropped
        return GeneratedImage(data, sniff_format(data), meta, trace=frames)

    async def save_failure(self, stem: str, error: BaseException) -> str:
        """A screenshot and the page's HTML under ``<run>/browser-failures/`` (returns where, or "")."""
        run_dir = self.backend.run_dir
        if run_dir is None:
            return ""
        folder = run_dir / FAILURES_DIR
        try:
            folder.mkdir(parents=True, exist_ok=True)
            shot = await self.page.screenshot(full_page=True, timeout=10_000)
            atomic_write(folder / f"{stem}.png", shot)
            html = await self.page.content()
            atomic_write(folder / f"{stem}.html", html.encode("utf-8"))
        except Exception as exc:  # a dead page still leaves the error record
            log.info("browser: could not save the failure page for %s (%s)", stem, exc)
            return ""
        return f"{FAILURES_DIR}/{stem}.png"

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.context.close()


def _ms(deadline: float) -> float:
    """Playwright timeout (ms) for what is left until ``deadline`` (at least 1 ms: 0 would mean no limit)."""
    return max(1.0, (deadline - time.monotonic()) * 1000.0)


def _stem(request: GenerationRequest, attempt: int) -> str:
    from genlens.runs.engine import path_component

    return f"{path_component(request.item_id)}_{request.sample}_{attempt}_{time.strftime('%Y%m%dT%H%M%S')}"


@register_backend
class BrowserBackend(Backend):
    info: ClassVar[BackendInfo] = BackendInfo(
        scheme="browser",
        syntax="browser:<recipe.yaml>",
        description="a web UI driven in chromium by a recipe (selectors, image-response regex): final bytes from the network, "
                    "earlier image responses as trace frames; login via `genlens browser login`",
        tasks=("generate", "edit", "multiturn"),
        requires="extra: browser; apt: chromium",
    )
    #: One browser and its logged-in state on this machine: under --executor ray it stays in the driver.
    runs_in_driver: ClassVar[bool] = True

    def __init__(self, target: str, params: dict[str, Any] | None = None):
        super().__init__(target, params)
        self.recipe = load_recipe(Path(target).expanduser())
        self.contexts = int(self._number("concurrency", self.recipe.concurrency, 1))
        rate = self._number("rate", 0.0, 0)
        self.rate_per_s = rate or (self.recipe.rate_per_minute / 60.0 if self.recipe.rate_per_minute else None)
        self.timeout_s = self._number("timeout", self.recipe.timeout_s, 0.001)
        self.max_retries = int(self._number("max_retries", self.recipe.retries, 0))
        self.headed = bool(self.params.get("headed", False))
        self.executable = chromium_path(self.params)
        self.run_dir: Path | None = None
        self._playwright: Any = None
        self._browser: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None  # contexts generating at once
        self._open_slots: asyncio.Semaphore | None = None  # contexts open at once: one more, typed and waiting
        self._limiter: _RateLimiter | None = None
        self._start_lock: asyncio.Lock | None = None

    def _number(self, name: str, default: float, minimum: float) -> float:
        """A numeric --model-arg (or the recipe's value), with a one-line error when it is not one."""
        value = self.params.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise SpecError(f"--model-arg {name}={value!r} is not a number >= {minimum:g}", fix=f"e.g. --model-arg {name}=2")
        return float(value)

    def describe(self) -> dict[str, Any]:
        # the recipe's hash, never the login state or where it lives
        return {**super().describe(), "recipe_sha256": self.recipe.sha256, "site": self.recipe.site}

    def attach_run(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    # -- browser lifecycle -------------------------------------------------------------------
    def _primitives(self) -> tuple[asyncio.Semaphore, asyncio.Semaphore, _RateLimiter, asyncio.Lock]:
        """(generating slots, open-context slots, the site's rate limiter, the launch lock) of the running loop."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._slots is None or self._open_slots is None or self._limiter is None or self._start_lock is None:
            self._loop = loop
            self._slots = asyncio.Semaphore(self.contexts)
            self._open_slots = asyncio.Semaphore(self.contexts + 1)
            self._limiter = _RateLimiter(self.rate_per_s)
            self._start_lock = asyncio.Lock()
        return self._slots, self._open_slots, self._limiter, self._start_lock

    async def _ensure_browser(self) -> Any:
        lock = self._primitives()[3]
        async with lock:
            if self._browser is None:
                self._playwright = await start_playwright().start()
                self._browser = await launch(self._playwright, self.executable, headless=not self.headed)
        return self._browser

    async def _open_page(self, deadline: float, stem: str) -> _Page:
        browser = await self._ensure_browser()
        state = state_path(self.recipe)
        # service workers blocked: every request of the page passes the capture route
        context = await browser.new_context(storage_state=str(state) if state.is_file() else None, accept_downloads=False,
                                            service_workers="block")
        opened = _Page(self, context, None)
        try:
            await opened.capture.attach(context)
            opened.page = await context.new_page()
            await opened.open(deadline)
        except Exception as exc:
            error = _timeout_error(exc, self.timeout_s)
            if not isinstance(error, Blocked) and opened.page is not None:
                await self._fail(opened, stem, error)
            await opened.close()
            raise error from None
        except BaseException:
            await opened.close()
            raise
        return opened

    async def _fail(self, opened: _Page, stem: str, exc: BaseException) -> None:
        if isinstance(exc, Refused | asyncio.CancelledError):
            return
        where = await opened.save_failure(stem, exc)
        if where and isinstance(exc, Exception):
            exc.args = (f"{exc.args[0] if exc.args else exc} (page saved: {where})", *exc.args[1:])

    async def aclose(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(Exception):
                await self._browser.close()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await self._playwright.stop()
        self._browser = self._playwright = None

    # -- the calls ---------------------------------------------------------------------------
    async def _collect(self, request: GenerationRequest, image: bytes | None) -> GeneratedImage:
        """One item in a fresh context: open and type while another item generates, then submit in a slot."""
        slots, open_slots, limiter, _lock = self._primitives()
        attempt = 0
        while True:
            async with open_slots:
                try:
                    opened = await self._open_page(time.monotonic() + self.timeout_s, _stem(request, attempt))
                except Exception as exc:
                    error: Exception = _timeout_error(exc, self.timeout_s)
                else:
                    try:
                        await opened.prepare(request.prompt, image, time.monotonic() + self.timeout_s)
                        async with slots:
                            await limiter.wait()
                            result = await opened.submit(time.monotonic() + self.timeout_s)
                        result.meta["attempts"] = attempt + 1
                        return result
                    except (Refused, Blocked, SpecError):
                        raise
                    except Exception as exc:
                        error = _timeout_error(exc, self.timeout_s)
                        await self._fail(opened, _stem(request, attempt), error)
                    finally:
                        await opened.close()
            if isinstance(error, Blocked | SpecError) or attempt >= self.max_retries:
                raise error
            log.info("%s: attempt %d failed (%s); retrying", self.spec, attempt + 1, error)
            attempt += 1

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        return await self._collect(request, None)

    async def edit(self, request: GenerationRequest) -> GeneratedImage:
        if not request.images:
            raise SpecError("an edit request needs an input image", fix="check the suite's input images")
        return await self._collect(request, request.images[0])

    def session(self, request: GenerationRequest) -> Session:
        if not self.recipe.session:
            raise SpecError("the recipe does not keep a conversation across rounds", path=self.recipe.path,
                            fix="add session: true to the recipe, or use --suite-arg mode=reupload")
        return BrowserSession(self, request)


def _timeout_error(exc: Exception, timeout_s: float) -> Exception:
    """Playwright's and asyncio's timeouts as one transient error saying which limit ran out."""
    if type(exc).__name__ == "TimeoutError" and not isinstance(exc, Blocked | SpecError):
        first = str(exc).splitlines()[0] if str(exc) else "waiting"
        return TransientError(f"timed out after {timeout_s:g}s ({first[:200]})")
    return exc


class BrowserSession(Session):
    """Multi-round editing in one conversation: one context and page for all rounds (``session: true``)."""

    def __init__(self, backend: BrowserBackend, request: GenerationRequest):
        self.backend = backend
        self.request = request
        self.opened: _Page | None = None
        self.rounds = 0
        self._holding = False

    async def send(self, instruction: str, image: bytes | None = None) -> GeneratedImage:
        backend = self.backend
        slots, open_slots, limiter, _lock = backend._primitives()
        if not self._holding:
            await open_slots.acquire()  # the conversation keeps its context until close()
            self._holding = True
        try:
            if self.opened is None:
                self.opened = await backend._open_page(time.monotonic() + backend.timeout_s, _stem(self.request, 0))
            self.rounds += 1
            await self.opened.prepare(instruction, image, time.monotonic() + backend.timeout_s)
            async with slots:
                await limiter.wait()
                result = await self.opened.submit(time.monotonic() + backend.timeout_s)
        except (Refused, Blocked, SpecError):
            raise
        except Exception as exc:
            error = _timeout_error(exc, backend.timeout_s)
            if self.opened is not None:
                await backend._fail(self.opened, _stem(self.request, self.rounds), error)
            raise error from None
        result.meta["round"] = self.rounds
        return result

    async def close(self) -> None:
        if self.opened is not None:
            await self.opened.close()
            self.opened = None
        if self._holding:
            self.backend._primitives()[1].release()
            self._holding = False
