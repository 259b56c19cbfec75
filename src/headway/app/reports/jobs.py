"""Report packs on the job system: the scheduler tick queues one "reports.send_due" job when a pack is due;
"send now" is a "reports.send" job when a worker is alive; every tick marks failed the sendings whose process died."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from headway.app.automation.jobs import enqueue, on_tick, register
from headway.app.reports.models import DeliveryStatus, Report, ReportDelivery
from headway.app.reports.sending import deliver, recover_stuck, send_due


@register("reports.send_due", max_attempts=3)
def send_due_reports(org: Any, **params: Any) -> None:
    send_due(timezone.now())


@on_tick("reports.due")
def queue_due_reports(now: datetime) -> None:
    if Report.objects.filter(next_due__lte=now).exists():
        enqueue(None, "reports.send_due", unique=True)


# One attempt: a worker that died mid-way may already have mailed the pack, so it is not sent twice;
# the sending is marked interrupted instead (recover_stuck) and the user can send it again.
@register("reports.send", max_attempts=1)
def send_one(org: Any, delivery_id: int) -> None:
    """Build and mail one "send now" sending (sending.deliver), if it is still waiting to go out."""
    if ReportDelivery.objects.filter(pk=delivery_id, report__org=org, status=DeliveryStatus.SENDING).exists():
        deliver(delivery_id)


@on_tick("reports.recover")
def recover_interrupted_sendings(now: datetime) -> None:
    recover_stuck(now=now)
