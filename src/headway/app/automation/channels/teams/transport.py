"""Microsoft Teams incoming webhooks (a MessageCard)."""

from __future__ import annotations

from typing import Any

from headway.app.automation.channels.base import Message, Result, Transport, clean_url

COLOURS = {"firing": "CF222E", "resolved": "1A7F37"}


class TeamsTransport(Transport):
    kind = "teams"

    @classmethod
    def clean_config(cls, data: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        url, error = clean_url(data.get("url"), https_only=True)
        return ({}, {"url": error}) if error else ({"url": url}, {})

    def send(self, message: Message) -> Result:
        card = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": message.subject,
            "themeColor": COLOURS.get(message.event, "6E7781"),
            "title": message.subject,
            "text": message.text.replace("\n", "  \n"),
        }
        return self.post_json(self.target_url(), card)
