"""A real HTTP server on 127.0.0.1 that plays recorded API responses and records every request.

    with FakeApi() as api:
        api.route("GET", "/v1/charges", lambda req: api.file("stripe/charges_page1.json"))
        api.fail_next("GET", "/v1/charges", 429, headers={"Retry-After": "7"})   # one 429 first
        ... connector(base_url=api.url) ...
        api.requests   # [Request(method, path, query, headers, body), ...]

Handlers return a :class:`Reply` (or a dict/list body, served as 200 JSON). A route without
handler answers 404 with a Stripe-like error body.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

RECORDED = Path(__file__).parent


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Any]


def load(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


class FakeApi:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.failures: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[Request] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
    ) -> None:
        reply = Reply(body if body is not None else {"error": {"message": f"HTTP {status}"}}, status, headers or {})
        self.failures.setdefault((method, path), []).extend([reply] * times)

    def calls(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    @staticmethod
    def file(name: str) -> Any:
        return load(name)

    def _answer(self, request: Request) -> Reply:
        self.requests.append(request)
        key = (request.method, request.path)
        queued = self.failures.get(key)
        if queued:
            return queued.pop(0)
        handler = self.routes.get(key)
        if handler is None:
            return Reply({"error": {"message": f"Unrecognized request URL ({request.method}: {request.path})"}}, 404)
        result = handler(request)
        return result if isinstance(result, Reply) else Reply(result)

    def __enter__(self) -> FakeApi:
        api = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = Request(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
                reply = api._answer(request)
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
