"""A generic JSON webhook, signed: ``X-Headway-Signature: sha256=<hex HMAC-SHA256 of the body>``
(the key is the channel's own secret, stored encrypted like the URL)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from headway.app.automation.channels.base import Message, Result, Transport, TransportError, clean_url

SIGNATURE_HEADER = "X-Headway-Signature"
EVENT_HEADER = "X-Headway-Event"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookTransport(Transport):
    kind = "webhook"

    @classmethod
    def clean_config(cls, data: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        url, error = clean_url(data.get("url"))
        return ({}, {"url": error}) if error else ({"url": url}, {})

    def send(self, message: Message) -> Result:
        url = self.target_url()  # first: it says so when the stored values cannot be decrypted
        if not self.channel.secret:
            raise TransportError("the channel has no signing secret: save it again to make one", permanent=True)
        body = json.dumps(message.payload, sort_keys=True).encode()
        headers = {SIGNATURE_HEADER: sign(self.channel.secret, body), EVENT_HEADER: f"alert.{message.event}"}
        return self.post(url, body, headers)
