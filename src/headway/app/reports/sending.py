"""Sending report packs: by hand ("send now") or when due, each sending claimed once.

A sending is a ReportDelivery row, unique per (report, due time): whoever creates it sends
it, so two workers (or a double click) never mail the same pack twice. The schedule moves on
with a conditional UPDATE on ``next_due`` for the same reason.

"Send now" goes to `headway worker` as a ``reports.send`` job when a worker is alive, else to
a thread of the web process. A sending renews ``heartbeat_at`` while it builds and mails the
pack; one whose process died is marked failed by the scheduler's sweep or when the reports
page is read (``recover_stuck``), instead of showing "sending" for ever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from headway.app.accounts.models import Organization
from headway.app.automation.jobs import enqueue, keep_alive, pending_param, workers_alive
from headway.app.reports import render
from headway.app.reports.models import DeliveryStatus, Report, ReportDelivery
from headway.app.reports.pack import build_pack

log = logging.getLogger(__name__)

INTERRUPTED = (
    "interrupted (the server stopped while it was being sent); it may not have gone out — check with the"
    " recipients or send it again"
)


def claim(report: Report, due: datetime, user: AbstractBaseUser | None = None) -> ReportDelivery | None:
    """The delivery for (report, due), or None when another process already claimed it."""
    try:
        with transaction.atomic():
            return ReportDelivery.objects.create(
                report=report,
                due=due,
                recipients="\n".join(report.recipient_list()),
                sent_by=user if user is not None and user.is_authenticated else None,
            )
    except IntegrityError:
        return None


def deliver(delivery_id: int) -> None:
    """Build the pack, mail it, and record the outcome on the delivery."""
    ReportDelivery.objects.filter(pk=delivery_id).update(heartbeat_at=timezone.now())
    stop = _beat(delivery_id)
    try:
        _build_and_send(delivery_id)
    finally:
        stop()


def _beat(delivery_id: int) -> Callable[[], None]:
    """Renew the sending's heartbeat while it runs (not with HEADWAY_JOBS=sync: nothing else runs then)."""
    if settings.HEADWAY_JOBS == "sync":
        return lambda: None
    return keep_alive(
        lambda: ReportDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(
            heartbeat_at=timezone.now()
        ),
        f"delivery-{delivery_id}",
    )


def _build_and_send(delivery_id: int) -> None:
    delivery = ReportDelivery.objects.select_related("report__org", "report__department").get(pk=delivery_id)
    report = delivery.report
    try:
        pack = build_pack(report.org, report.department, title=report.name)
        delivery.period = pack.period[:60]
        message = render.email(
            pack, delivery.recipients.split(), attach_pdf=report.attach_pdf, attach_xlsx=report.attach_xlsx
        )
        message.send()
    except Exception as error:  # the log and the page say why; the next due time is unaffected
        log.exception("report %s: sending failed", report.pk)
        delivery.status, delivery.error = DeliveryStatus.FAILED, f"{type(error).__name__}: {error}"
    else:
        delivery.status = DeliveryStatus.SENT
        Report.objects.filter(pk=report.pk).update(last_sent_at=timezone.now())
    delivery.finished_at = timezone.now()
    delivery.save(update_fields=["status", "error", "period", "finished_at"])


def send_now(report: Report, user: AbstractBaseUser | None = None) -> ReportDelivery:
    """Send the pack at once: a ``reports.send`` job when a worker is alive, else a thread of this
    process (inline when HEADWAY_JOBS=sync)."""
    delivery = claim(report, timezone.now(), user)
    assert delivery is not None  # "now" is unique per click to the microsecond
    if settings.HEADWAY_JOBS == "sync":
        deliver(delivery.pk)
        delivery.refresh_from_db()
    elif workers_alive():
        enqueue(report.org, "reports.send", delivery_id=delivery.pk)
    else:
        transaction.on_commit(lambda: threading.Thread(target=_in_thread, args=(delivery.pk,), daemon=True).start())
    return delivery


def _in_thread(delivery_id: int) -> None:
    try:
        deliver(delivery_id)
    finally:
        close_old_connections()


def send_due(now: datetime | None = None) -> list[ReportDelivery]:
    """Send every report whose time has come (for the scheduler); returns the deliveries made here."""
    now = now or timezone.now()
    made = []
    for report in Report.objects.filter(next_due__lte=now).select_related("org"):
        due = report.next_due
        assert due is not None
        following = report.following_due(now)
        # Move the schedule on first, conditionally: only one process wins this due time.
        if not Report.objects.filter(pk=report.pk, next_due=due).update(next_due=following):
            continue
        delivery = claim(report, due)
        if delivery is not None:
            deliver(delivery.pk)
            delivery.refresh_from_db()
            made.append(delivery)
    return made


def recover_stuck(org: Organization | None = None, now: datetime | None = None) -> int:
    """Mark failed the sendings whose process died: still "sending", no heartbeat within the lease,
    and no ``reports.send`` job that will still run them. Returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.HEADWAY_JOB_LEASE_SECONDS)
    deliveries = ReportDelivery.objects.filter(status=DeliveryStatus.SENDING)
    if org is not None:
        deliveries = deliveries.filter(report__org=org)
    silent = deliveries.filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None, created_at__lt=cutoff))
    stuck = list(silent.values_list("pk", flat=True))
    if not stuck:
        return 0
    will_run = pending_param("reports.send", "delivery_id", org)
    stuck = [pk for pk in stuck if pk not in will_run]
    # Conditional on the same silence: a heartbeat written meanwhile keeps the sending alive.
    recovered = (
        ReportDelivery.objects.filter(pk__in=stuck, status=DeliveryStatus.SENDING)
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None, created_at__lt=cutoff))
        .update(status=DeliveryStatus.FAILED, error=INTERRUPTED, finished_at=now)
    )
    if recovered:
        log.warning("marked %s interrupted report sending(s) failed", recovered)
    return recovered
