"""The HTTP client every connector uses: JSON in and out, retries with backoff, clear errors.

- 429 Too Many Requests: waits what ``Retry-After`` says (seconds or an HTTP date), else an
  exponential backoff; gives up with :class:`RateLimitError` when the server asks for a
  wait longer than ``max_wait_s`` or after ``max_retries`` attempts.
- 5xx and network errors: exponential backoff (1, 2, 4, ... s, capped at ``max_backoff_s``),
  then :class:`ConnectorHttpError` (``permanent=False``: try again later).
- 401 / 403: :class:`ConnectorAuthError` at once, naming the connector and what to do.
- other 4xx: :class:`ConnectorHttpError` with the API's own message (``permanent=True``).

The sleep function and the clock are injectable, so tests check the waits without waiting.
Messages never hold a credential: the client scrubs every configured secret from them.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin

from headway.ingest.secrets import Secret, reveal, scrub

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], dt.datetime]


class ConnectorError(Exception):
    """A sync failed. ``permanent`` says whether retrying later can help."""

    permanent = True


class ConnectorAuthError(ConnectorError):
    """The service refused the credentials (expired or revoked token, missing permission)."""


class ConnectorHttpError(ConnectorError):
    def __init__(self, message: str, status: int | None, *, permanent: bool) -> None:
        super().__init__(message)
        self.status = status
        self.permanent = permanent


class RateLimitError(ConnectorHttpError):
    """The service kept answering 429, or asked for a longer wait than we accept."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any
    url: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class HttpClient:
    base_url: str
    connector: str
    """The connector's label, used in error messages ("Stripe: ...")."""
    headers: Mapping[str, str | Secret] = field(default_factory=dict)
    secrets: Iterable[str | Secret] = ()
    sleep: Sleep = time.sleep
    clock: Clock = field(default=lambda: dt.datetime.now(dt.UTC))
    max_retries: int = 5
    max_backoff_s: float = 30.0
    max_wait_s: float = 300.0
    timeout_s: float = 60.0
    auth_hint: str = "reconnect it with a new API key or token"
    waits: list[float] = field(default_factory=list)
    """Every wait taken, in seconds (shown in the sync log; tests read it too)."""

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Response:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any, params: Mapping[str, Any] | None = None) -> Response:
        return self.request("POST", path, params=params, body=body)

    def url_for(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        absolute = path.startswith(("http://", "https://"))
        url = path if absolute else urljoin(self.base_url.rstrip("/") + "/", path.lstrip("/"))
        if params:
            query = urlencode([(k, v) for k, v in params.items() if v is not None], doseq=True)
            url += ("&" if "?" in url else "?") + query
        return url

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None) -> Response:
        url = self.url_for(path, params)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {k: reveal(v) for k, v in self.headers.items()}
        headers.setdefault("Accept", "application/json")
        if data is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(method, url, headers, data)
            except urllib.error.HTTPError as err:
                response = Response(err.code, _lower(err.headers.items()), _json(err.read()), url)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
                if attempt > self.max_retries:
                    raise ConnectorHttpError(
                        f"{self.connector}: cannot reach {self._shown(url)} ({self._clean(str(err))}); "
                        "check the network and the base URL, the next sync will try again",
                        None,
                        permanent=False,
                    ) from None
                self._wait(self._backoff(attempt), f"network error {self._clean(str(err))}")
                continue
            if response.status < 400:
                return response
            if response.status in (401, 403):
                what = "expired or was revoked" if response.status == 401 else "lacks a permission this sync needs"
                raise ConnectorAuthError(
                    f"{self.connector}: the service refused the credentials (HTTP {response.status}: "
                    f"{self._message(response)}); the token {what} — {self.auth_hint}"
                )
            if response.status == 429 or response.status >= 500:
                wait = self._retry_after(response) if response.status == 429 else None
                if wait is not None and wait > self.max_wait_s:
                    raise RateLimitError(
                        f"{self.connector}: rate limited; the service asks to wait {wait:g} s, more than the "
                        f"{self.max_wait_s:g} s we wait — the next scheduled sync will continue",
                        429,
                        permanent=False,
                    )
                if attempt > self.max_retries:
                    cls = RateLimitError if response.status == 429 else ConnectorHttpError
                    raise cls(
                        f"{self.connector}: HTTP {response.status} from {self._shown(url)} after {attempt} attempts "
                        f"({self._message(response)}); the next sync will try again",
                        response.status,
                        permanent=False,
                    )
                self._wait(wait if wait is not None else self._backoff(attempt), f"HTTP {response.status}")
                continue
            raise ConnectorHttpError(
                f"{self.connector}: HTTP {response.status} from {self._shown(url)}: {self._message(response)}",
                response.status,
                permanent=True,
            )

    # ----------------------------------------------------------------------------------

    def _send(self, method: str, url: str, headers: dict[str, str], data: bytes | None) -> Response:
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=self.timeout_s) as raw:
            return Response(raw.status, _lower(raw.headers.items()), _json(raw.read()), url)

    def _backoff(self, attempt: int) -> float:
        return float(min(self.max_backoff_s, 2 ** (attempt - 1)))

    def _wait(self, seconds: float, why: str) -> None:
        log.warning("%s: %s, waiting %.1f s before retrying", self.connector, why, seconds)
        self.waits.append(seconds)
        self.sleep(seconds)

    def _retry_after(self, response: Response) -> float | None:
        value = response.header("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, (when - self.clock()).total_seconds())

    def _message(self, response: Response) -> str:
        return self._clean(_api_message(response.body) or "no message")

    def _clean(self, text: str) -> str:
        # A header value like "Bearer <token>": the token alone must go as well.
        header_parts = [reveal(v).split()[-1] for v in self.headers.values() if reveal(v).strip()]
        return scrub(text, [*self.secrets, *self.headers.values(), *header_parts])[:300]

    def _shown(self, url: str) -> str:
        return self._clean(url.split("?", 1)[0])


def _api_message(body: Any) -> str:
    """The human message in an API error body, whatever the API's error shape."""
    if isinstance(body, str):
        return body.strip()
    if isinstance(body, list) and body:
        return _api_message(body[0])
    if isinstance(body, dict):
        for key in ("error_description", "message", "Message", "detail", "Detail", "errors", "error", "fault", "Fault"):
            if key in body:
                inner = body[key]
                return _api_message(inner) if isinstance(inner, dict | list) else str(inner)
    return ""


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {k.lower(): v for k, v in items}
