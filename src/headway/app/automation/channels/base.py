"""The shared base of every channel: a message, a result, an error that knows whether it is permanent,
and an HTTP helper. Retrying is the delivery loop's job (delivery.py), not the transport's."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlparse

from headway.app.automation.channels.targets import BlockedTarget, open_url, target_error
from headway.app.automation.models import Channel, InboxMessage
from headway.ingest import secrets


class TransportError(Exception):
    """A failed send. ``permanent``: retrying cannot help (404, 410, a bad address) and the channel is disabled."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.code = code


@dataclass
class Message:
    """What a notification says, ready for any channel."""

    subject: str
    text: str
    html: str
    event: str
    severity: str
    payload: dict[str, Any]
    recipients: list[str] = field(default_factory=list)
    chart_png: bytes | None = None
    alert_id: int | None = None
    org_id: int | None = None


@dataclass(frozen=True)
class Result:
    code: int | None = None
    detail: str = ""


# Client errors that may pass: a timeout on their side, or rate limiting.
TEMPORARY_4XX = {408, 425, 429}


class Transport:
    kind: ClassVar[str] = ""
    timeout: ClassVar[float] = 10.0

    def __init__(self, channel: Channel):
        self.channel = channel

    def send(self, message: Message) -> Result:
        raise NotImplementedError

    @classmethod
    def clean_config(cls, data: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        """The channel's config from form fields, and an error per bad field."""
        return {}, {}

    def post_json(self, url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Result:
        return self.post(url, json.dumps(payload, sort_keys=True).encode(), headers)

    def target_url(self) -> str:
        """The channel's stored URL, decrypted (only for the request itself: never log or show it)."""
        try:
            url = self.channel.url
        except secrets.SecretError:
            raise TransportError(
                "the stored URL cannot be decrypted (the encryption key changed): enter the URL again",
                permanent=True,
            ) from None
        if not url:
            raise TransportError("no URL is set for this channel", permanent=True)
        return url

    def scrub(self, text: str) -> str:
        """``text`` without the channel's URL, its path and query, or its signing secret (servers echo them)."""
        try:
            url, secret = self.channel.url, self.channel.secret
        except secrets.SecretError:
            return text
        parts = urlparse(url)
        pieces = [url, secret, parts.path + (f"?{parts.query}" if parts.query else ""), parts.query]
        pieces += [segment for segment in parts.path.split("/") if len(segment) >= 8]
        pieces += [value for _, value in parse_qsl(parts.query) if len(value) >= 8]
        return secrets.scrub(text, [p for p in pieces if p and p != "/"])

    def post(self, url: str, body: bytes, headers: dict[str, str] | None = None) -> Result:
        """POST to the URL; the target's addresses are checked on connecting (see targets.py)."""
        try:
            request = urllib.request.Request(
                url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
            )
            with open_url(request, timeout=self.timeout) as response:
                detail = self.scrub(response.read(200).decode("utf-8", "replace"))
                return Result(code=response.status, detail=detail)
        except urllib.error.HTTPError as exc:
            permanent = 400 <= exc.code < 500 and exc.code not in TEMPORARY_4XX
            message = self.scrub(f"HTTP {exc.code} {exc.reason}")
            raise TransportError(message, permanent=permanent, code=exc.code) from None
        except TimeoutError:
            raise TransportError(f"no answer within {self.timeout:g} s", permanent=False) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, BlockedTarget):
                raise TransportError(f"refused: {exc.reason}", permanent=True) from None
            raise TransportError(self.scrub(f"cannot connect: {exc.reason}"), permanent=False) from None
        except BlockedTarget as exc:
            raise TransportError(f"refused: {exc}", permanent=True) from None
        except ValueError:  # a URL urllib cannot use (stored before it was checked)
            raise TransportError(
                "the channel's URL is not a valid http(s) URL: enter it again", permanent=True
            ) from None
        except OSError as exc:  # the connection broke while reading the answer
            raise TransportError(self.scrub(f"connection failed: {exc}"), permanent=False) from None


def clean_url(value: str | None, *, hosts: tuple[str, ...] = (), https_only: bool = False) -> tuple[str, str | None]:
    """A webhook URL and an error: http(s) only (https only for a service such as Slack); ``hosts`` limits
    it to a service's domains; a host that resolves to an internal address is refused (see targets.py)."""
    url = (value or "").strip()
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return url, "Enter a full http:// or https:// URL."
    if parsed.scheme not in ("http", "https") or not parsed.netloc or not parsed.hostname:
        return url, "Enter a full https:// URL." if https_only else "Enter a full http:// or https:// URL."
    if https_only and parsed.scheme != "https":
        return url, "This must be an https:// URL (the URL itself is a secret: it is not sent unencrypted)."
    if hosts and not any(parsed.hostname == h or (parsed.hostname or "").endswith("." + h) for h in hosts):
        return url, f"This should be a URL on {' or '.join(hosts)}."
    return url, target_error(url)


def notify_inbox(channel: Channel, message: Message) -> None:
    InboxMessage.objects.create(org=channel.org, alert_id=message.alert_id, title=message.subject, body=message.text)
