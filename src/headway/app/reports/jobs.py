"""Report packs on the job system: the scheduler tick queues one "reports.send_due" job when a pack is due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from headway.app.automation.jobs import enqueue, on_tick, register
from headway.app.reports.models import Report
from headway.app.reports.sending import send_due


@register("reports.send_due", max_attempts=3)
def send_due_reports(org: Any, **params: Any) -> None:
    send_due(timezone.now())


@on_tick("reports.due")
def queue_due_reports(now: datetime) -> None:
    if Report.objects.filter(next_due__lte=now).exists():
        enqueue(None, "reports.send_due", unique=True)
