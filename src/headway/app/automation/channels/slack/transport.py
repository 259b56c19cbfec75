"""Slack incoming webhooks: a message with the alert's title, numbers and a link."""

from __future__ import annotations

from typing import Any

from headway.app.automation.channels.base import Message, Result, Transport, clean_url

EMOJI = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}


class SlackTransport(Transport):
    kind = "slack"

    @classmethod
    def clean_config(cls, data: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        url, error = clean_url(data.get("url"), https_only=True)
        return ({}, {"url": error}) if error else ({"url": url}, {})

    def send(self, message: Message) -> Result:
        text = f"{EMOJI.get(message.event, '')} *{message.subject}*\n{message.text}"
        return self.post_json(self.target_url(), {"text": text})
