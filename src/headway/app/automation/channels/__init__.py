"""Notification channels: one folder per kind, each a ``Transport`` (see base.py); the registry maps kind -> class."""

from __future__ import annotations

from django.utils.module_loading import import_string

from headway.app.automation.channels.base import Message, Result, Transport, TransportError
from headway.app.automation.models import Channel

REGISTRY = {
    "email": "headway.app.automation.channels.email.transport.EmailTransport",
    "slack": "headway.app.automation.channels.slack.transport.SlackTransport",
    "teams": "headway.app.automation.channels.teams.transport.TeamsTransport",
    "webhook": "headway.app.automation.channels.webhook.transport.WebhookTransport",
    "inbox": "headway.app.automation.channels.inbox.transport.InboxTransport",
}


def transport_class(kind: str) -> type[Transport]:
    return import_string(REGISTRY[kind])  # type: ignore[no-any-return]


def transport_for(channel: Channel) -> Transport:
    return transport_class(channel.kind)(channel)


__all__ = ["REGISTRY", "Message", "Result", "Transport", "TransportError", "transport_class", "transport_for"]
