"""A mock image-chat web app on 127.0.0.1, for the ``browser:`` backend's tests and bench.

The page has a textarea, a send button and a file input (edits). On submit it POSTs the prompt
to ``/api/generate``, then fetches ``frames`` intermediate PNGs one by one through separate image
responses (``/files/<job>/partial-<k>.png``: coarse to fine, the 8×8-pixel patch grid of a token
preview visible), shows each as a preview, and finally shows ``/files/<job>/final.png`` in
``img.generated``. The server spreads ``delay`` seconds over the frames (a slow model).

Options: ``refuse`` (a prompt containing it gets a refusal message instead of an image),
``broken`` (a prompt containing it gets a final image whose bytes are not an image), ``login``
(the page shows a login wall until ``/login`` sets the session cookie), ``block_after`` (after
that many generations the page shows a rate-limit banner). Uploaded images (edits) and every
served final image are recorded, so tests can check bytes end to end.

``python -m genlens.testing.web_chat --port 8765`` serves it for the shipped mock recipe.
"""

from __future__ import annotations

import base64
import io
import secrets
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from genlens.testing.http import FakeServer, Request, Response

PATCH = 8
PREVIEW_ERROR = 48.0  # luminance offset of a patch in the first preview
SESSION_COOKIE = "mock_session"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Mock image chat</title>
<style>body{font-family:sans-serif} img{display:block;margin:4px 0} textarea{width:30em}</style></head>
<body>
<h1>Mock image chat</h1>
<div id="chat"></div>
<input type="file" id="upload" accept="image/*">
<textarea id="prompt" placeholder="Describe an image"></textarea>
<button data-testid="send" id="send">Send</button>
<script>
const conversation = Math.random().toString(36).slice(2);
const chat = document.getElementById("chat");
async function uploaded() {
  const input = document.getElementById("upload");
  const file = input.files[0];
  if (!file) return null;
  const data = await new Promise(resolve => { const r = new FileReader(); r.onload = () => resolve(r.result); r.readAsDataURL(file); });
  input.value = "";
  return data;
}
async function send() {
  const box = document.getElementById("prompt");
  const prompt = box.value;
  box.value = "";
  const image = await uploaded();
  const turn = document.createElement("div");
  turn.className = "turn";
  chat.append(turn);
  const answer = await fetch("/api/generate", {method: "POST", headers: {"Content-Type": "application/json"},
                                               body: JSON.stringify({prompt, image, conversation})});
  const job = await answer.json();
  if (job.refusal) {
    const note = document.createElement("div");
    note.className = "refusal";
    note.textContent = job.refusal;
    turn.append(note);
    return;
  }
  const preview = document.createElement("img");
  preview.className = "preview";
  preview.width = job.width; preview.height = job.height;
  turn.append(preview);
  for (let k = 0; k < job.frames; k++) {
    const frame = await fetch(`/files/${job.id}/partial-${k}.png`);
    preview.src = URL.createObjectURL(await frame.blob());
  }
  preview.remove();
  const image_ = document.createElement("img");
  image_.className = "generated";
  image_.alt = "generated image";
  image_.width = job.width; image_.height = job.height;
  image_.src = `/files/${job.id}/final.png`;
  turn.append(image_);
}
document.getElementById("send").addEventListener("click", send);
document.getElementById("prompt").addEventListener("keydown", event => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send(); }
});
</script>
</body></html>
"""

LOGIN_WALL = """<!doctype html><html><head><meta charset="utf-8"><title>Log in</title></head>
<body><div class="login-wall">Please <a href="/login">log in</a> to continue.</div></body></html>"""

LOGGED_IN = """<!doctype html><html><head><meta charset="utf-8"><title>Logged in</title></head>
<body><p>Logged in.</p><script>location.replace("/");</script></body></html>"""

RATE_LIMITED = """<!doctype html><html><head><meta charset="utf-8"><title>Slow down</title></head>
<body><div class="rate-limit">You have sent too many requests. Try again later.</div></body></html>"""


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array.round().clip(0, 255).astype(np.uint8)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def draw_final(prompt: str, size: int, source: bytes | None = None) -> np.ndarray:
    """The "generated" image: shapes and a fine texture seeded by the prompt (blended with an edit's input)."""
    rng = np.random.default_rng(zlib.crc32(prompt.encode()))
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    top, bottom = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    image = top + (bottom - top) * (y / max(1, size - 1))[..., None]
    for _ in range(5):
        cx, cy, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(size / 10, size / 4)
        image[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    texture = 30 * np.sin(x * 1.3 + rng.uniform(0, 6)) * np.cos(y * 1.1 + rng.uniform(0, 6))
    image = image + texture[..., None]
    if source is not None:
        base = Image.open(io.BytesIO(source)).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        image = 0.5 * image + 0.5 * np.asarray(base, dtype=np.float32)
    return image.clip(0, 255)


def patch_mosaic(image: np.ndarray, patch: int = PATCH) -> np.ndarray:
    """Every ``patch``×``patch`` cell replaced by its mean colour (a coarse token preview)."""
    h, w = image.shape[0] // patch, image.shape[1] // patch
    means = image.reshape(h, patch, w, patch, 3).mean(axis=(1, 3), keepdims=True)
    return np.broadcast_to(means, (h, patch, w, patch, 3)).reshape(image.shape)


def coarse_to_fine(final: np.ndarray, frames: int, seed: int = 0) -> list[bytes]:
    """``frames`` previews, coarse to fine: the patch mosaic with a per-patch error that shrinks to zero.

    Preview ``k`` is every 8×8 patch at its mean colour plus ``ERROR * (frames - k) / frames`` of a
    random sign per patch: the whole image refines at once and only patch edges carry detail.
    """
    coarse = patch_mosaic(final)
    cells = np.random.default_rng(seed).choice([-1.0, 1.0], size=(final.shape[0] // PATCH, final.shape[1] // PATCH))
    error = np.kron(cells, np.ones((PATCH, PATCH)))[..., None] * PREVIEW_ERROR
    return [_png(coarse + error * (frames - k) / frames) for k in range(frames)]


@dataclass
class Job:
    id: str
    prompt: str
    conversation: str
    started: float
    partials: list[bytes]
    final: bytes
    input_image: bytes | None = None


@dataclass
class MockChatApp:
    """The app's state on a :class:`FakeServer`: ``MockChatApp(...).install(server)``; ``server.url + "/"`` is the page."""

    frames: int = 4
    size: int = 128
    delay: float = 0.0
    refuse: str = ""
    broken: str = ""
    login: bool = False
    block_after: int | None = None
    session_token: str = field(default_factory=lambda: secrets.token_hex(16))
    jobs: dict[str, Job] = field(default_factory=dict)
    generations: int = 0
    page_loads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _conversations: dict[str, bytes] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.size % PATCH or self.frames < 0:
            raise ValueError(f"size must be a multiple of {PATCH} and frames >= 0 (got size={self.size}, frames={self.frames})")

    def install(self, server: FakeServer) -> MockChatApp:
        server.route("GET", r"/", self._page)
        server.route("GET", r"/login", self._login)
        server.route("POST", r"/api/generate", self._generate)
        server.route("GET", r"/files/(?P<job>[0-9a-f]+)/partial-(?P<k>[0-9]+)\.png", self._partial)
        server.route("GET", r"/files/(?P<job>[0-9a-f]+)/final\.png", self._final)
        return self

    # -- what tests look at ----------------------------------------------------------------
    def jobs_for(self, prompt: str) -> list[Job]:
        with self._lock:
            return [job for job in self.jobs.values() if job.prompt == prompt]

    # -- routes ----------------------------------------------------------------------------
    def _logged_in(self, request: Request) -> bool:
        cookies = dict(part.strip().partition("=")[::2] for part in request.headers.get("cookie", "").split(";") if "=" in part)
        return not self.login or cookies.get(SESSION_COOKIE) == self.session_token

    def _blocked(self) -> bool:
        return self.block_after is not None and self.generations >= self.block_after

    def _html(self, text: str) -> Response:
        return Response(200, text.encode(), {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})

    def _page(self, request: Request) -> Response:
        with self._lock:
            self.page_loads += 1
            blocked = self._blocked()
        if not self._logged_in(request):
            return self._html(LOGIN_WALL)
        return self._html(RATE_LIMITED if blocked else PAGE)

    def _login(self, request: Request) -> Response:
        response = self._html(LOGGED_IN)
        response.headers["Set-Cookie"] = f"{SESSION_COOKIE}={self.session_token}; Path=/; HttpOnly; SameSite=Lax"
        return response

    def _generate(self, request: Request) -> Response:
        if not self._logged_in(request):
            return Response.json({"error": "not logged in"}, 401)
        body = request.json()
        prompt = str(body.get("prompt", ""))
        conversation = str(body.get("conversation", ""))
        if self.refuse and self.refuse in prompt:
            return Response.json({"refusal": f"I can't help with that request ({self.refuse})."})
        upload = body.get("image")
        input_image = base64.b64decode(upload.partition(",")[2]) if upload else None
        with self._lock:
            source = input_image or self._conversations.get(conversation)
        final = draw_final(prompt, self.size, source)
        final_bytes = b"\x89PNG\r\n\x1a\nthis is not really an image" if self.broken and self.broken in prompt else _png(final)
        job = Job(secrets.token_hex(8), prompt, conversation, time.monotonic(), coarse_to_fine(final, self.frames, zlib.crc32(prompt.encode())),
                  final_bytes, input_image)
        with self._lock:
            self.jobs[job.id] = job
            self.generations += 1
            self._conversations[conversation] = _png(final)
        return Response.json({"id": job.id, "frames": self.frames, "width": self.size, "height": self.size})

    def _wait_until(self, job: Job, step: int) -> None:
        """The server is slow: frame ``step`` of ``frames + 1`` is ready ``delay * (step + 1) / (frames + 1)`` after the submit."""
        ready = job.started + self.delay * (step + 1) / (self.frames + 1)
        remaining = ready - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)

    def _image(self, data: bytes) -> Response:
        return Response(200, data, {"Content-Type": "image/png", "Cache-Control": "no-store"})

    def _job(self, request: Request) -> Job | None:
        with self._lock:
            return self.jobs.get(request.match.group("job")) if request.match else None

    def _partial(self, request: Request) -> Response:
        job = self._job(request)
        index = int(request.match.group("k")) if request.match else -1
        if job is None or not 0 <= index < len(job.partials):
            return Response.json({"error": "no such frame"}, 404)
        self._wait_until(job, index)
        return self._image(job.partials[index])

    def _final(self, request: Request) -> Response:
        job = self._job(request)
        if job is None:
            return Response.json({"error": "no such image"}, 404)
        self._wait_until(job, self.frames)
        return self._image(job.final)


def recipe(url: str, **overrides: Any) -> dict[str, Any]:
    """The browser recipe for this app at ``url`` (the page), as a mapping to dump to YAML."""
    data: dict[str, Any] = {
        "name": "mock-chat",
        "url": url,
        "prompt": "textarea#prompt",
        "submit": "button[data-testid=send]",
        "image_response": r"/files/[0-9a-f]+/.*\.png$",
        "final": "img.generated",
        "upload": "input[type=file]",
        "refusal": ".refusal",
        "blocked": [".login-wall", ".rate-limit"],
        "login_url": url.rstrip("/") + "/login",
        "timeout_s": 60,
    }
    data.update(overrides)
    return data


def main(argv: list[str] | None = None) -> None:
    """Serve the mock on 127.0.0.1 until interrupted (for the shipped recipe and by-hand trials)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--refuse", default="")
    parser.add_argument("--login", action="store_true")
    args = parser.parse_args(argv)
    server = FakeServer(port=args.port)
    MockChatApp(frames=args.frames, size=args.size, delay=args.delay, refuse=args.refuse, login=args.login).install(server)
    print(f"mock image chat on {server.url}/ (Ctrl-C stops it)", flush=True)
    server.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
