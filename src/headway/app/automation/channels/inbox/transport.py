"""The in-app inbox: the notification becomes a message on the org's Alerts page."""

from __future__ import annotations

from headway.app.automation.channels.base import Message, Result, Transport, notify_inbox


class InboxTransport(Transport):
    kind = "inbox"

    def send(self, message: Message) -> Result:
        notify_inbox(self.channel, message)
        return Result(detail="shown in the inbox")
