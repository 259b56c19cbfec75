"""A report: a KPI review pack sent to recipients on a cadence; every sending is logged."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from headway.app.accounts.models import Department, Organization


class Cadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly (Mondays)"
    MONTHLY = "monthly", "Monthly (the 1st)"
    MANUAL = "manual", "Only when sent by hand"


SEND_HOUR = 7  # packs go out at 07:00 in the organisation's time zone


def parse_recipients(text: str) -> list[str]:
    """Addresses separated by commas, semicolons or new lines; each must be a valid address."""
    found = [a.strip() for a in re.split(r"[,;\s]+", text or "") if a.strip()]
    bad = []
    for address in found:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        raise ValidationError(f"Not an email address: {', '.join(bad)}")
    return list(dict.fromkeys(found))


class Report(models.Model):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="reports")
    name = models.CharField(max_length=120)
    cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.MONTHLY)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, help_text="Only this department (and below)"
    )
    recipients = models.TextField(help_text="Email addresses, one per line; people outside the organisation too")
    attach_pdf = models.BooleanField(default=True)
    attach_xlsx = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    next_due = models.DateTimeField(null=True, blank=True, help_text="When the scheduler sends it next")
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def recipient_list(self) -> list[str]:
        return parse_recipients(self.recipients)

    def following_due(self, after: datetime) -> datetime | None:
        """The next send time strictly after ``after``: Monday or the 1st, 07:00 in the org's time zone."""
        if self.cadence == Cadence.MANUAL:
            return None
        zone = ZoneInfo(self.org.timezone or "UTC")
        day = after.astimezone(zone).date()
        for _ in range(40):
            if (self.cadence == Cadence.WEEKLY and day.weekday() == 0) or (
                self.cadence == Cadence.MONTHLY and day.day == 1
            ):
                candidate = datetime.combine(day, time(SEND_HOUR), zone)
                if candidate > after:
                    return candidate
            day += timedelta(days=1)
        raise AssertionError("unreachable: a Monday and a 1st come within 40 days")


class DeliveryStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ReportDelivery(models.Model):
    """One sending of a report (scheduled or by hand), claimed before sending so it goes out once."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="deliveries")
    due = models.DateTimeField(help_text="The scheduled time this sending is for (or the moment of 'send now')")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.SENDING)
    recipients = models.TextField(blank=True)
    period = models.CharField(max_length=60, blank=True, help_text="The period the pack covers")
    error = models.TextField(blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Renewed while the pack is built and sent; a sending not renewed within the lease died",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["report", "due"], name="report_delivery_once_per_due")]
