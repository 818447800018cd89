"""A real HTTP server on 127.0.0.1 for tests and benches, with scripted faults.

Routes are ``(method, path regex) -> handler(request) -> Response``. Faults are queued and
consumed in order by matching requests: ``status`` (e.g. 429 with ``Retry-After``, 500, 503),
``delay`` (seconds before answering, e.g. past the client's timeout), ``truncate`` (close after
half the body). A ``latency`` applies to every request (bench). Requests are logged (method,
path, headers, JSON body) so tests can assert what the SDK sent.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    match: re.Match[str] | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: For server-sent events: yielded chunks are written and flushed one by one.
    stream: Callable[[], Any] | None = None

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})


@dataclass
class Fault:
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: bool = False
    path: str = ""  # substring the request path must contain ("" = any)


Handler = Callable[[Request], Response]


class FakeServer:
    """``with FakeServer() as server: server.route("POST", r"/v1/x", handler); server.url``."""

    def __init__(self, latency: float = 0.0, port: int = 0):
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: list[Fault] = []
        self.log: list[Request] = []
        self.latency = latency
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method.upper(), re.compile(pattern + r"$"), handler))

    def add_fault(self, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self.faults.extend([fault] * times)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self.faults):
                if fault.path in path:
                    return self.faults.pop(index)
        return None

    def start(self) -> FakeServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle holds the body
            # until the client ACKs the headers (a ~40 ms delayed ACK per request on Linux).
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                request = Request(method, path, query, {k.lower(): v for k, v in self.headers.items()}, body)
                with server._lock:
                    server.log.append(request)
                if server.latency:
                    time.sleep(server.latency)
                fault = server._take_fault(path)
                if fault and fault.delay:
                    time.sleep(fault.delay)
                if fault and fault.status:
                    self._send(Response.json(fault.body or {"error": {"message": f"injected {fault.status}", "code": fault.status}},
                                             fault.status, fault.headers))
                    return
                for route_method, pattern, handler in server.routes:
                    match = pattern.match(path)
                    if route_method == method and match:
                        request.match = match
                        response = handler(request)
                        self._send(response, truncate=bool(fault and fault.truncate))
                        return
                self._send(Response.json({"error": {"message": f"no route {method} {path}"}}, 404))

            def _send(self, response: Response, truncate: bool = False) -> None:
                try:
                    self.send_response(response.status)
                    for key, value in response.headers.items():
                        self.send_header(key, value)
                    if response.stream is not None:
                        self.send_header("Content-Type", response.headers.get("Content-Type", "text/event-stream"))
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        for chunk in response.stream():
                            data = chunk if isinstance(chunk, bytes) else chunk.encode()
                            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                            self.wfile.flush()
                        self.wfile.write(b"0\r\n\r\n")
                        return
                    body = response.body
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if truncate:
                        self.wfile.write(body[: len(body) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        return _Handler


class Base64Faults:
    """Image payloads as base64, with the next N scripted to carry invalid base64 (a fake server's fault)."""

    _corrupt: int
    _lock: threading.Lock

    def corrupt_next(self, times: int = 1) -> None:
        """The next ``times`` image payloads carry invalid base64."""
        with self._lock:
            self._corrupt += times

    def _b64(self, data: bytes) -> str:
        with self._lock:
            if self._corrupt:
                self._corrupt -= 1
                return "iVBORw0KGgo!!not-base64!!"
        return base64.b64encode(data).decode()
