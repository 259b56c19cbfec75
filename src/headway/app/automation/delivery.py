"""Delivering notifications: one Delivery per (notification, channel), claimed with a conditional UPDATE
(so two workers never send it twice), retried with back-off on temporary errors; a permanent
error disables the channel and tells the org's admins (in the app and by email)."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from headway.app.accounts.models import Member, Organization, Role
from headway.app.automation.channels import TransportError, transport_for
from headway.app.automation.channels.base import Message
from headway.app.automation.messages import build_message
from headway.app.automation.models import Channel, Delivery, DeliveryStatus, InboxMessage, Notification

log = logging.getLogger(__name__)

# Tries in one go (seconds to wait before each retry), then later rounds (minutes), then it fails.
INLINE_BACKOFF = [1.0, 3.0]
LATER_BACKOFF_MINUTES = [5, 30, 120]


def dispatch_due(org: Organization, now: datetime | None = None) -> int:
    """Turn due notifications into deliveries on their rule's enabled channels; returns how many were made."""
    now = now or timezone.now()
    made = 0
    due = Notification.objects.filter(alert__org=org, dispatched=False, deliver_after__lte=now)
    for n in due.select_related("alert__rule"):
        if Notification.objects.filter(pk=n.pk, dispatched=False).update(dispatched=True) != 1:
            continue
        for channel in n.alert.rule.channels.filter(enabled=True):
            try:
                with transaction.atomic():
                    Delivery.objects.create(org=org, notification=n, channel=channel, next_attempt_at=now)
                made += 1
            except IntegrityError:
                pass
    return made


def send_pending(org: Organization, now: datetime | None = None) -> int:
    """Send every delivery that is due; returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    waiting = Delivery.objects.filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at=None),
        org=org,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING],
    )
    messages: dict[int, Message] = {}
    for delivery_id in waiting.values_list("pk", flat=True):
        claimed = Delivery.objects.filter(
            pk=delivery_id, status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]
        ).update(status=DeliveryStatus.SENDING)
        if claimed != 1:
            continue  # another worker has it
        delivery = Delivery.objects.select_related("channel", "notification__alert__rule__org").get(pk=delivery_id)
        assert delivery.notification is not None
        key = delivery.notification_id or 0
        if key not in messages or (delivery.channel.kind == "email" and messages[key].chart_png is None):
            messages[key] = build_message(delivery.notification, with_chart=delivery.channel.kind == "email")
        sent += _attempt(delivery, messages[key])
    return sent


def _attempt(delivery: Delivery, message: Message) -> int:
    transport = transport_for(delivery.channel)
    waits = [0.0, *INLINE_BACKOFF]
    error: TransportError | None = None
    for wait in waits:
        time.sleep(wait)
        delivery.attempts += 1
        try:
            result = transport.send(message)
        except TransportError as exc:
            error = exc
            delivery.log.append(_entry(delivery.attempts, "error", exc.code, str(exc)))
            if exc.permanent:
                break
            continue
        delivery.log.append(_entry(delivery.attempts, "sent", result.code, result.detail[:200]))
        delivery.status, delivery.response_code, delivery.error = DeliveryStatus.SENT, result.code, ""
        delivery.sent_at, delivery.next_attempt_at = timezone.now(), None
        delivery.save()
        return 1
    assert error is not None
    delivery.response_code, delivery.error = error.code, str(error)
    rounds = sum(1 for e in delivery.log if e.get("round_end"))
    if error.permanent or rounds >= len(LATER_BACKOFF_MINUTES):
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.status = DeliveryStatus.RETRYING
        delivery.next_attempt_at = timezone.now() + timedelta(minutes=LATER_BACKOFF_MINUTES[rounds])
        delivery.log[-1]["round_end"] = True
    delivery.save()
    # The error was scrubbed by the transport; the channel is named by its masked URL only.
    log.warning(
        "delivery %s over %s channel %s (%s) failed after %s attempt(s), %s: %s",
        delivery.pk,
        delivery.channel.kind,
        delivery.channel.pk,
        delivery.channel.masked_url or "no URL",
        delivery.attempts,
        "gave up" if delivery.status == DeliveryStatus.FAILED else "retrying later",
        error,
    )
    if error.permanent:
        disable_channel(delivery.channel, str(error))
    return 0


def _entry(attempt: int, status: str, code: int | None, detail: str) -> dict[str, object]:
    return {"attempt": attempt, "at": timezone.now().isoformat(), "status": status, "code": code, "detail": detail}


def disable_channel(channel: Channel, reason: str) -> None:
    """Switch the channel off (once) and tell the org's admins in the app and by email."""
    if Channel.objects.filter(pk=channel.pk, enabled=True).update(enabled=False, disabled_reason=reason) != 1:
        return
    title = f"Notification channel “{channel.name}” was turned off"
    body = (
        f"Sending to {channel.get_kind_display()} channel “{channel.name}” failed with a permanent error: {reason}. "
        "Alerts are no longer sent there. Fix its settings on the Channels page and turn it back on."
    )
    InboxMessage.objects.create(org=channel.org, admins_only=True, title=title, body=body)
    admins = Member.objects.filter(org=channel.org, role__in=[Role.OWNER, Role.ADMIN]).select_related("user")
    emails = sorted({m.user.email for m in admins if m.user.email})
    if emails:
        try:
            send_mail(title, body, None, emails)
        except Exception:  # the in-app notice stands even when mail is down
            log.exception("could not email the admins of org %s", channel.org_id)
