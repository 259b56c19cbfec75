"""The shared base of every channel: a message, a result, an error that knows whether it is permanent,
and an HTTP helper. Retrying is the delivery loop's job (delivery.py), not the transport's."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlparse

from headway.app.automation.models import Channel, InboxMessage


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

    def post(self, url: str, body: bytes, headers: dict[str, str] | None = None) -> Result:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Result(code=response.status, detail=response.read(200).decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            permanent = 400 <= exc.code < 500 and exc.code not in TEMPORARY_4XX
            raise TransportError(f"HTTP {exc.code} {exc.reason}", permanent=permanent, code=exc.code) from None
        except TimeoutError:
            raise TransportError(f"no answer within {self.timeout:g} s", permanent=False) from None
        except urllib.error.URLError as exc:
            raise TransportError(f"cannot connect: {exc.reason}", permanent=False) from None


def clean_url(value: str | None, *, hosts: tuple[str, ...] = ()) -> tuple[str, str | None]:
    """A webhook URL and an error: http(s) only; ``hosts`` limits it to a service's domains."""
    url = (value or "").strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return url, "Enter a full http:// or https:// URL."
    if hosts and not any(parsed.hostname == h or (parsed.hostname or "").endswith("." + h) for h in hosts):
        return url, f"This should be a URL on {' or '.join(hosts)}."
    return url, None


def notify_inbox(channel: Channel, message: Message) -> None:
    InboxMessage.objects.create(org=channel.org, alert_id=message.alert_id, title=message.subject, body=message.text)
