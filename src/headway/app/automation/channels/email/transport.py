"""Email over SMTP (Django's email settings): HTML and plain text, the KPI chart as an inline PNG (Content-ID)."""

from __future__ import annotations

import smtplib
from email.mime.image import MIMEImage
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.forms import ValidationError

from headway.app.automation.channels.base import Message, Result, Transport, TransportError

CHART_CID = "kpi-chart"


class EmailTransport(Transport):
    kind = "email"

    @classmethod
    def clean_config(cls, data: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        addresses = [a.strip() for a in (data.get("addresses") or "").replace(";", ",").split(",") if a.strip()]
        for a in addresses:
            try:
                validate_email(a)
            except ValidationError:
                return {}, {"addresses": f"{a!r} is not an email address."}
        return {"addresses": addresses}, {}

    def send(self, message: Message) -> Result:
        to = sorted(set(message.recipients) | set(self.channel.config.get("addresses", [])))
        if not to:
            raise TransportError("no recipients: add people to the rule or addresses to the channel", permanent=True)
        mail = EmailMultiAlternatives(message.subject, message.text, to=to)
        mail.mixed_subtype = "related"
        mail.attach_alternative(message.html, "text/html")
        if message.chart_png:
            image = MIMEImage(message.chart_png, "png")
            image.add_header("Content-ID", f"<{CHART_CID}>")
            image.add_header("Content-Disposition", "inline", filename="chart.png")
            mail.attach(image)
        try:
            mail.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(f"recipients refused: {', '.join(exc.recipients)}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"SMTP: {exc}", permanent=False) from None
        return Result(code=250, detail=f"sent to {len(to)} address(es)")
