"""A real HTTP server on 127.0.0.1 that receives channel posts (webhooks, Slack, Teams) in the tests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A real HTTP server on 127.0.0.1: scripted status codes (then 200); a 5xx answer echoes the request
    path in its reason phrase (as careless servers do); ``redirect`` answers 302 to that location."""

    def __init__(self, codes: list[int] | None = None, redirect: str | None = None, path: str = "/hook"):
        self.codes = list(codes or [])
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((self.path, dict(self.headers), body))
                if redirect:
                    self.send_response(302)
                    self.send_header("Location", redirect)
                    self.end_headers()
                    return
                code = outer.codes.pop(0) if outer.codes else 200
                self.send_response(code, f"failed for {self.path}" if code >= 500 else None)
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else f"no route {self.path}".encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
