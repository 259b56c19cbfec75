"""The review reminder: emailed once per review date to owners and admins, over real SMTP."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from headway.app.automation.jobs import tick
from headway.app.strategy.models import ReviewCadence, ReviewSettings
from headway.app.strategy.portfolio import mark_reviewed


def test_a_due_review_emails_the_owner_once_with_the_findings(shop, smtp_server):
    today = timezone.localdate()
    ReviewSettings.objects.create(org=shop, cadence=ReviewCadence.QUARTERLY, next_review=today - timedelta(days=1))
    tick(timezone.now())
    (message,) = smtp_server.messages
    assert message["To"] == "owner@example.com"  # the viewer is not told
    assert message["Subject"] == "KPI portfolio review due: Shop"
    text = message.get_body(("plain",)).get_content()
    assert f"{shop.kpis.count()} KPIs" in text and "/review/" in text
    tick(timezone.now())  # the same review date: no second email
    assert len(smtp_server.messages) == 1
    settings = mark_reviewed(shop, today)  # reviewed: the next date is a quarter away, nothing is due
    assert settings.next_review > today
    tick(timezone.now())
    assert len(smtp_server.messages) == 1


def test_nothing_is_sent_before_the_review_date(shop, smtp_server):
    ReviewSettings.objects.create(org=shop, next_review=date.today() + timedelta(days=5))
    tick(timezone.now())
    assert smtp_server.messages == []
