"""Channels against real receivers: email to an aiosmtpd server, webhooks to an HTTP server on 127.0.0.1
(HMAC checked independently), retries on 500, a 410 disabling the channel and telling the admins."""

from __future__ import annotations

import hashlib
import hmac
import json
from email.message import EmailMessage

import pytest
from app_helpers import make_user

from headway.app.accounts.models import Member
from headway.app.automation import delivery
from headway.app.automation.alerting import evaluate_org
from headway.app.automation.delivery import dispatch_due, send_pending
from headway.app.automation.models import AlertRule, Channel, Delivery, DeliveryStatus, InboxMessage
from headway.app.kpis.formatting import format_kpi_value
from headway.app.kpis.models import KpiDefinition, SeriesPoint


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(delivery, "INLINE_BACKOFF", [0.05, 0.05])


@pytest.fixture(autouse=True)
def allow_private_targets(settings):
    """The receivers here listen on 127.0.0.1, which channels refuse unless this is on (test_channel_secrets.py)."""
    settings.HEADWAY_WEBHOOK_ALLOW_PRIVATE = True


def latest_aov(org) -> tuple[float, object]:
    period, value = (
        SeriesPoint.objects.filter(run=org.current_run, kpi_id="aov", grain="month", dimension="")
        .exclude(value=None)
        .order_by("-period")
        .values_list("period", "value")
        .first()
    )
    return value, period


def firing_rule(org, channel: Channel, **extra) -> AlertRule:
    value, _ = latest_aov(org)
    rule = AlertRule.objects.create(
        org=org,
        name="AOV above plan",
        kpi_id="aov",
        grain="month",
        kind="threshold_above",
        params={"threshold": value - 1.0},
        **extra,
    )
    rule.channels.add(channel)
    return rule


def run_alerts(org) -> None:
    assert evaluate_org(org)
    dispatch_due(org)
    send_pending(org)


def test_email_reaches_a_real_smtp_server_with_numbers_and_an_inline_chart(shop, smtp_server):
    channel = Channel.objects.create(org=shop, kind="email", name="Team mail", config={"addresses": ["ops@shop.test"]})
    rule = firing_rule(shop, channel)
    rule.recipients.add(Member.objects.get(org=shop, user__username="owner"))
    run_alerts(shop)

    assert len(smtp_server.messages) == 1
    mail: EmailMessage = smtp_server.messages[0]
    assert mail["Subject"] == "[Warning] AOV above plan"
    assert sorted(a.strip() for a in mail["To"].split(",")) == ["ops@shop.test", "owner@example.com"]
    value, period = latest_aov(shop)
    shown = format_kpi_value(KpiDefinition.objects.get(org=shop, kpi_id="aov").to_spec(), value, "en", shop.currency)
    threshold = format_kpi_value(KpiDefinition.objects.get(org=shop, kpi_id="aov").to_spec(), value - 1, "en", "EUR")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert f"is {shown}" in text and f"threshold of {threshold}" in text
    assert period.strftime("%B %Y") in text
    assert shown in html
    images = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    cid = images[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    d = Delivery.objects.get()
    assert (d.status, d.attempts, d.response_code) == (DeliveryStatus.SENT, 1, 250)


def test_webhook_is_signed_with_hmac_sha256_of_the_body(shop, receivers):
    receiver = receivers([])
    channel = Channel.objects.create(
        org=shop, kind="webhook", name="Ops", config={"url": receiver.url}, secret="s3cr3t"
    )
    firing_rule(shop, channel)
    run_alerts(shop)

    assert len(receiver.requests) == 1
    _path, headers, body = receiver.requests[0]
    expected = "sha256=" + hmac.new(b"s3cr3t", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Headway-Signature"], expected)
    assert headers["X-Headway-Event"] == "alert.firing"
    payload = json.loads(body)
    value, period = latest_aov(shop)
    assert payload["kpi"] == "aov" and payload["event"] == "firing"
    assert payload["value"] == pytest.approx(value) and payload["reference"] == pytest.approx(value - 1)
    assert payload["period"] == period.isoformat()
    assert "s3cr3t" not in body.decode()


def test_a_500_then_200_gives_exactly_one_successful_delivery_after_a_retry(shop, receivers):
    receiver = receivers([500])
    channel = Channel.objects.create(org=shop, kind="slack", name="Slack", config={"url": receiver.url})
    firing_rule(shop, channel)
    run_alerts(shop)
    send_pending(shop)  # nothing left to send: no second message

    assert len(receiver.requests) == 2
    assert "AOV above plan" in json.loads(receiver.requests[1][2])["text"]
    d = Delivery.objects.get()
    assert (d.status, d.attempts, d.response_code) == (DeliveryStatus.SENT, 2, 200)
    assert [(e["status"], e["code"]) for e in d.log] == [("error", 500), ("sent", 200)]
    assert Channel.objects.get(pk=channel.pk).enabled


def test_a_410_disables_the_channel_and_tells_the_admins(shop, receivers, smtp_server):
    make_user("editor")
    receiver = receivers([410])
    channel = Channel.objects.create(org=shop, kind="teams", name="Teams room", config={"url": receiver.url})
    firing_rule(shop, channel)
    run_alerts(shop)

    assert len(receiver.requests) == 1  # a permanent error is not retried
    channel.refresh_from_db()
    assert not channel.enabled and "410" in channel.disabled_reason
    d = Delivery.objects.get()
    assert (d.status, d.response_code) == (DeliveryStatus.FAILED, 410)
    notice = InboxMessage.objects.get(org=shop, admins_only=True)
    assert "Teams room" in notice.title
    assert [m["To"] for m in smtp_server.messages] == ["owner@example.com"]  # the owner, not the viewer
    assert "410" in smtp_server.messages[0].get_content()


def test_a_temporary_error_that_persists_is_retried_later_not_lost(shop, receivers):
    receiver = receivers([503, 503, 503])
    channel = Channel.objects.create(org=shop, kind="webhook", name="Ops", config={"url": receiver.url}, secret="k")
    firing_rule(shop, channel)
    run_alerts(shop)
    d = Delivery.objects.get()
    assert d.status == DeliveryStatus.RETRYING and d.attempts == 3 and d.next_attempt_at is not None
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=d.created_at)
    assert send_pending(shop) == 1
    d.refresh_from_db()
    assert (d.status, d.attempts, len(receiver.requests)) == (DeliveryStatus.SENT, 4, 4)


def test_inbox_channel_and_no_repeat_while_firing(shop):
    channel = Channel.objects.create(org=shop, kind="inbox", name="Inbox")
    rule = firing_rule(shop, channel, severity="critical")
    run_alerts(shop)
    assert evaluate_org(shop) == []  # still firing: nothing new
    assert InboxMessage.objects.filter(org=shop, admins_only=False).count() == 1
    assert InboxMessage.objects.get(admins_only=False).title == "[Critical] AOV above plan"
    value, _ = latest_aov(shop)
    AlertRule.objects.filter(pk=rule.pk).update(params={"threshold": value + 10})
    run_alerts(shop)  # clears: one resolved message
    titles = list(InboxMessage.objects.filter(admins_only=False).order_by("pk").values_list("title", flat=True))
    assert titles == ["[Critical] AOV above plan", "[Resolved] AOV above plan"]


def test_a_delivery_claimed_by_another_worker_is_not_sent_again(shop, receivers):
    receiver = receivers([])
    channel = Channel.objects.create(org=shop, kind="webhook", name="Ops", config={"url": receiver.url}, secret="k")
    firing_rule(shop, channel)
    assert evaluate_org(shop)
    assert dispatch_due(shop) == 1
    assert dispatch_due(shop) == 0  # the notification was claimed: no second delivery row
    Delivery.objects.update(status=DeliveryStatus.SENDING)  # what another worker's claim leaves
    assert send_pending(shop) == 0
    assert receiver.requests == []
    Delivery.objects.update(status=DeliveryStatus.PENDING)
    assert send_pending(shop) == 1 and send_pending(shop) == 0
    assert len(receiver.requests) == 1
