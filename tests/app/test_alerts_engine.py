"""Alert evaluation in the app: a refresh triggers it, quiet hours hold notifications back (not lost),
a transition is recorded once even when two evaluations race, the scheduler enqueues the work,
and the job queue can live in Redis."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from headway.analytics.alerts import Event, Transition
from headway.app.automation import jobs
from headway.app.automation.alerting import _record, evaluate_org, fallback_bands, load_series, rule_spec
from headway.app.automation.delivery import dispatch_due, send_pending
from headway.app.automation.models import (
    Alert,
    AlertRule,
    Channel,
    Delivery,
    InboxMessage,
    Job,
    Notification,
)
from headway.app.kpis.models import SeriesPoint
from headway.app.kpis.refresh import start_refresh


def latest_aov(org) -> float:
    return (
        SeriesPoint.objects.filter(run=org.current_run, kpi_id="aov", grain="month", dimension="")
        .exclude(value=None)
        .order_by("-period")
        .values_list("value", flat=True)
        .first()
    )


def rule_on_aov(org, threshold: float, **extra) -> AlertRule:
    rule = AlertRule.objects.create(
        org=org, name="AOV high", kpi_id="aov", kind="threshold_above", params={"threshold": threshold}, **extra
    )
    rule.channels.add(Channel.objects.create(org=org, kind="inbox", name="Inbox"))
    return rule


def test_a_refresh_evaluates_the_rules_and_delivers(shop):
    rule_on_aov(shop, latest_aov(shop) - 1)
    start_refresh(shop)  # sync in tests: refresh -> refresh_finished -> alerts.evaluate -> alerts.deliver
    alert = Alert.objects.get()
    assert alert.firing and alert.value == pytest.approx(latest_aov(shop))
    assert InboxMessage.objects.filter(alert=alert).count() == 1
    assert {j.kind: j.status for j in Job.objects.filter(kind__startswith="alerts.")} == {
        "alerts.evaluate": "succeeded",
        "alerts.deliver": "succeeded",
    }
    start_refresh(shop)  # same data: still firing, nothing new
    assert Alert.objects.count() == 1 and InboxMessage.objects.count() == 1


def test_quiet_hours_in_the_org_time_zone_defer_delivery_without_losing_it(shop):
    shop.timezone = "America/New_York"
    shop.save()
    rule_on_aov(shop, latest_aov(shop) - 1, quiet_start=time(22, 0), quiet_end=time(7, 0))
    at_night = datetime(2026, 1, 15, 4, 0, tzinfo=UTC)  # 23:00 in New York
    (notification,) = evaluate_org(shop, now=at_night)
    assert notification.deliver_after == datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 07:00 New York (UTC-5)
    assert dispatch_due(shop, now=at_night + timedelta(hours=7)) == 0
    assert not Delivery.objects.exists()
    assert dispatch_due(shop, now=datetime(2026, 1, 15, 12, 0, 1, tzinfo=UTC)) == 1
    assert send_pending(shop) == 1
    assert InboxMessage.objects.get().title == "[Warning] AOV high"


def test_a_transition_is_recorded_once_when_two_evaluations_race(shop):
    rule = rule_on_aov(shop, 1)
    t = Transition(rule.pk, Event.FIRING, 50.0, 1.0, None)
    now = timezone.now()
    first = _record(shop, rule, t, now)
    second = _record(shop, rule, t, now)  # a second evaluator with the same (stale) state
    assert first is not None and second is None
    assert Alert.objects.count() == 1 and Notification.objects.count() == 1


def test_cooldown_in_the_app(shop):
    value = latest_aov(shop)
    rule = rule_on_aov(shop, value - 1, cooldown_minutes=60)
    t0 = timezone.now()
    assert len(evaluate_org(shop, now=t0)) == 1
    AlertRule.objects.filter(pk=rule.pk).update(params={"threshold": value + 1})
    assert [n.event for n in evaluate_org(shop, now=t0 + timedelta(minutes=10))] == ["resolved"]
    AlertRule.objects.filter(pk=rule.pk).update(params={"threshold": value - 1})
    assert evaluate_org(shop, now=t0 + timedelta(minutes=20)) == []  # within the cooldown
    assert [n.event for n in evaluate_org(shop, now=t0 + timedelta(minutes=61))] == ["firing"]
    assert list(Alert.objects.order_by("pk").values_list("firing", flat=True)) == [False, True]


def test_fallback_anomaly_band_is_mean_plus_minus_three_sd_of_the_periods_before(shop):
    rule = AlertRule.objects.create(org=shop, name="AOV odd", kpi_id="aov", kind="anomaly")
    spec = rule_spec(rule)
    series = load_series(shop, [spec])
    values = series[series["key"] == spec.key].dropna().sort_values("period")["value"].to_numpy()
    history = values[:-1][-12:]
    lo, hi = fallback_bands(series, {spec.key})[spec.key]
    assert lo == pytest.approx(history.mean() - 3 * history.std(ddof=1))
    assert hi == pytest.approx(history.mean() + 3 * history.std(ddof=1))
    fired = bool(evaluate_org(shop))
    assert fired is (not lo <= values[-1] <= hi)


def test_scheduler_enqueues_evaluation_on_the_minute_and_deliveries_when_due(shop, settings):
    settings.HEADWAY_ALERT_EVERY_MINUTES = 15
    rule = rule_on_aov(shop, latest_aov(shop) + 1e9)
    mine = Job.objects.filter(kind__startswith="alerts.")
    hook = jobs._TICK_HOOKS["alerts.schedule"]
    hook(datetime(2026, 1, 15, 10, 7, tzinfo=UTC))
    assert not mine.exists()
    hook(datetime(2026, 1, 15, 10, 15, tzinfo=UTC))
    assert list(mine.values_list("kind", "status")) == [("alerts.evaluate", "succeeded")]
    alert = Alert.objects.create(org=shop, rule=rule, fired_at=timezone.now(), message="held back")
    held = Notification.objects.create(
        alert=alert, event="firing", deliver_after=datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    )
    hook(datetime(2026, 1, 15, 11, 59, tzinfo=UTC))
    assert not mine.filter(kind="alerts.deliver").exists()
    hook(datetime(2026, 1, 15, 12, 1, tzinfo=UTC))
    assert mine.filter(kind="alerts.deliver", status="succeeded").count() == 1
    held.refresh_from_db()
    assert held.dispatched and "held back" in InboxMessage.objects.get().body


def test_the_queue_lives_in_redis_when_redis_url_is_set(settings):
    from headway.app.automation.queue import make_huey

    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    huey = make_huey()
    assert type(huey).__name__ == "RedisHuey"
    huey.storage.flush_queue()
    huey.storage.enqueue(b"job 1")
    assert huey.storage.queue_size() == 1 and huey.storage.dequeue() == b"job 1"
    huey.storage.flush_queue()
