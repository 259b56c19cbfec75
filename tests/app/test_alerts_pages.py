"""The alert pages: inbox with acknowledge / snooze, rule forms with per-field errors, channels (secret shown
once), delivery log and jobs; roles and department scope enforced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from app_helpers import client_for, make_user
from django.urls import reverse
from django.utils import timezone

from headway.app.accounts.models import Department, Member, Role
from headway.app.accounts.onboarding import create_org
from headway.app.automation.models import Alert, AlertRule, Channel, Delivery, DeliveryStatus, Job, JobStatus
from headway.app.kpis.models import KpiDefinition


@pytest.fixture
def shop(db):
    """Shop with its template's KPIs and departments, an owner and a viewer; no data (these pages need none)."""
    org = create_org("Shop", make_user("owner"), "ecommerce")
    Member.objects.create(user=make_user("viewer"), org=org, role=Role.VIEWER)
    return org


@pytest.fixture
def firing(shop):
    rule = AlertRule.objects.create(
        org=shop, name="AOV above plan", kpi_id="aov", kind="threshold_above", params={"threshold": 10}, firing=True
    )
    return Alert.objects.create(org=shop, rule=rule, fired_at=timezone.now(), value=55.5, message="AOV is €55.50.")


def test_inbox_empty_state_says_what_to_do(client, shop):
    page = client_for(client, "owner").get(reverse("alerts")).content.decode()
    assert "No alert rules yet" in page and reverse("alert_rule_new") in page


def test_owner_acknowledges_and_snoozes_a_viewer_only_reads(client, shop, firing):
    viewer_page = client_for(client, "viewer").get(reverse("alerts")).content.decode()
    assert "AOV is €55.50." in viewer_page and "Acknowledge" not in viewer_page
    assert client.post(reverse("alert_acknowledge", args=[firing.pk])).status_code == 403

    owner = client_for(client, "owner")
    assert "Acknowledge" in owner.get(reverse("alerts")).content.decode()
    owner.post(reverse("alert_acknowledge", args=[firing.pk]))
    firing.refresh_from_db()
    assert firing.acknowledged_by.username == "owner" and firing.acknowledged_at is not None

    response = owner.post(reverse("alert_snooze", args=[firing.pk]), {"hours": "5"}, follow=True)
    assert "Snooze for one of 1, 4, 24, 168 hours." in response.content.decode()
    assert Alert.objects.get(pk=firing.pk).snoozed_until is None
    before = timezone.now()
    owner.post(reverse("alert_snooze", args=[firing.pk]), {"hours": "4"})
    firing.refresh_from_db()
    assert timedelta(hours=3, minutes=59) < firing.snoozed_until - before < timedelta(hours=4, minutes=1)
    page = owner.get(reverse("alerts")).content.decode()
    assert "Firing now (0)" in page and "Snoozed (1)" in page


def test_rule_form_reports_each_bad_field_and_saves_a_good_rule(client, shop):
    owner = client_for(client, "owner")
    channel = Channel.objects.create(org=shop, kind="inbox", name="Inbox")
    bad = owner.post(
        reverse("alert_rule_new"),
        {
            "name": "Refunds",
            "kpi_id": "refund_rate",
            "grain": "month",
            "kind": "threshold_above",
            "severity": "warning",
            "cooldown_minutes": "60",
            "threshold": "lots",
            "hysteresis": "-2",
            "quiet_start": "22:00",
        },
    )
    form = bad.context["form"]
    assert form.errors["threshold"] == ["'lots' is not a number."]
    assert form.errors["hysteresis"] == ["Must be at least 0."]
    assert "quiet_end" in form.errors
    assert not AlertRule.objects.exists()

    ok = owner.post(
        reverse("alert_rule_new"),
        {
            "name": "Refunds",
            "kpi_id": "refund_rate",
            "grain": "month",
            "kind": "threshold_above",
            "severity": "critical",
            "cooldown_minutes": "30",
            "threshold": "8,5",
            "hysteresis": "1",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "channels": [channel.pk],
            "enabled": "on",
        },
    )
    assert ok.status_code == 302
    rule = AlertRule.objects.get()
    assert rule.params == {"threshold": 0.085, "hysteresis": 0.01}, "a rate is typed in percent, stored as a fraction"
    assert (rule.severity, rule.cooldown_minutes, str(rule.quiet_start)) == ("critical", 30, "22:00:00")
    assert list(rule.channels.all()) == [channel]


def test_other_kinds_need_their_own_fields(client, shop):
    owner = client_for(client, "owner")
    data = {"name": "x", "kpi_id": "aov", "grain": "month", "severity": "info", "cooldown_minutes": "0"}
    r = owner.post(reverse("alert_rule_new"), {**data, "kind": "leading", "driver": "aov", "threshold": "1"})
    assert r.context["form"].errors["driver"] == ["The driver must be another KPI."]
    r = owner.post(reverse("alert_rule_new"), {**data, "kind": "freshness"})
    assert r.context["form"].errors["hours"] == ["This field is required for this kind of rule."]
    r = owner.post(reverse("alert_rule_new"), {**data, "kind": "change", "pct": "10", "compare": "yesterday"})
    assert "compare" in r.context["form"].errors
    assert not AlertRule.objects.exists()


def test_a_department_scoped_member_sees_only_rules_on_their_kpis(client, shop):
    sales = Department.objects.filter(org=shop).first()
    kpi = KpiDefinition.objects.filter(org=shop).first()
    KpiDefinition.objects.filter(pk=kpi.pk).update(department=sales)
    other = KpiDefinition.objects.filter(org=shop).exclude(pk=kpi.pk).first()
    KpiDefinition.objects.filter(pk=other.pk).update(department=None)
    mine = AlertRule.objects.create(org=shop, name="Mine rule", kpi_id=kpi.kpi_id, kind="anomaly")
    theirs = AlertRule.objects.create(org=shop, name="Hidden rule", kpi_id=other.kpi_id, kind="anomaly")
    Alert.objects.create(org=shop, rule=theirs, fired_at=timezone.now(), message="secret alert")
    member = Member.objects.create(user=make_user("scoped"), org=shop, role=Role.EDITOR)
    member.departments.add(sales)
    c = client_for(client, "scoped")
    page = c.get(reverse("alert_rules")).content.decode()
    assert "Mine rule" in page and "Hidden rule" not in page
    assert "secret alert" not in c.get(reverse("alerts")).content.decode()
    assert c.get(reverse("alert_rule_edit", args=[theirs.pk])).status_code == 404
    assert c.get(reverse("alert_rule_edit", args=[mine.pk])).status_code == 200


def test_a_webhook_secret_is_shown_once_and_channels_are_for_admins(client, shop):
    owner = client_for(client, "owner")
    r = owner.post(
        reverse("channel_new"),
        {"name": "Ops hook", "kind": "webhook", "url": "https://hooks.example.com/x", "enabled": "on"},
        follow=True,
    )
    channel = Channel.objects.get()
    assert len(channel.secret) == 64 and channel.secret in r.content.decode()
    assert channel.secret not in owner.get(reverse("channels")).content.decode()
    assert channel.secret not in owner.get(reverse("channel_edit", args=[channel.pk])).content.decode()
    slack = "https://hooks.slack.test/services/T0/B0/tok3nSECRET"
    owner.post(reverse("channel_new"), {"name": "Slack", "kind": "slack", "url": slack, "enabled": "on"})
    made = Channel.objects.get(name="Slack")
    assert "tok3nSECRET" not in owner.get(reverse("channels")).content.decode()
    assert "tok3nSECRET" not in owner.get(reverse("channel_edit", args=[made.pk])).content.decode()
    owner.post(reverse("channel_edit", args=[made.pk]), {"name": "Team Slack", "url": "", "enabled": "on"})
    made.refresh_from_db()
    assert (made.name, made.url) == ("Team Slack", slack)  # an empty URL keeps the stored one (encrypted)
    bad = owner.post(reverse("channel_new"), {"name": "x", "kind": "slack", "url": "ftp://nope"})
    assert bad.context["form"].errors["url"] == ["Enter a full https:// URL."]  # Slack: https only
    bad = owner.post(reverse("channel_new"), {"name": "y", "kind": "email", "addresses": "a@b.test, nope"})
    assert bad.context["form"].errors["addresses"] == ["'nope' is not an email address."]
    editor = make_user("ed")
    Member.objects.create(user=editor, org=shop, role=Role.EDITOR)
    assert client_for(client, "ed").get(reverse("channels")).status_code == 403


def test_delivery_log_and_jobs_pages_show_status_errors_and_last_success(client, shop, firing):
    channel = Channel.objects.create(org=shop, kind="slack", name="Team Slack", config={"url": "https://x.test"})
    n = firing.notifications.create(event="firing", deliver_after=timezone.now())
    Delivery.objects.create(
        org=shop,
        notification=n,
        channel=channel,
        status=DeliveryStatus.FAILED,
        attempts=1,
        response_code=404,
        error="HTTP 404 Not Found",
    )
    Job.objects.create(
        org=shop,
        kind="kpis.refresh",
        status=JobStatus.FAILED,
        attempts=3,
        error="IOException: disk full",
        run_after=timezone.now(),
        finished_at=timezone.now(),
    )
    owner = client_for(client, "owner")
    log = owner.get(reverse("deliveries")).content.decode()
    assert "Team Slack" in log and "HTTP 404 Not Found" in log and "AOV above plan" in log
    jobs_page = owner.get(reverse("jobs")).content.decode()
    assert "IOException: disk full" in jobs_page
    assert "alerts.evaluate" not in jobs_page  # nothing ran for it
    assert "kpis.refresh" in jobs_page
    assert client_for(client, "viewer").get(reverse("jobs")).status_code == 403


def test_a_leading_rule_takes_its_driver_and_lag_from_the_strategy_map(client, shop):
    from headway.app.strategy.models import Relationship

    source = KpiDefinition.objects.get(org=shop, kpi_id="aov")
    target = next(
        k for k in KpiDefinition.objects.filter(org=shop).exclude(pk=source.pk) if k.to_spec().unit == "count"
    )
    Relationship.objects.create(org=shop, source=source, target=target, kind="drives", lag=2)
    data = {"name": "Early warning", "kpi_id": target.kpi_id, "grain": "month", "kind": "leading"}
    r = client_for(client, "owner").post(
        reverse("alert_rule_new"), {**data, "severity": "warning", "cooldown_minutes": "60", "threshold": "100"}
    )
    assert r.status_code == 302, r.context["form"].errors
    assert AlertRule.objects.get().params == {
        "driver": "aov",
        "threshold": 100.0,
        "beta": 1.0,
        "lag": 2.0,
        "direction": "below",
    }


def test_a_rate_rule_reads_in_percent_on_the_form_and_the_list(client, shop):
    """Refund rate is a percentage KPI: its threshold is typed, shown back and listed in percent (as goal targets
    are), while the rule keeps the fraction the KPI computes, so it fires where the KPI crosses 8.5%."""
    owner = client_for(client, "owner")
    data = {"name": "Refunds", "kpi_id": "refund_rate", "grain": "month", "kind": "threshold_above"}
    data |= {"severity": "warning", "cooldown_minutes": "0", "threshold": "8.5", "hysteresis": "0.5"}
    assert owner.post(reverse("alert_rule_new"), data).status_code == 302
    rule = AlertRule.objects.get()
    assert rule.params == {"threshold": 0.085, "hysteresis": 0.005}
    form = owner.get(reverse("alert_rule_edit", args=[rule.pk])).context["form"]
    assert (float(form["threshold"].value()), float(form["hysteresis"].value())) == (8.5, 0.5)
    listing = owner.get(reverse("alert_rules")).content.decode()
    assert "threshold 8.5%" in listing and "hysteresis 0.5\xa0pp" in listing, "listed in the KPI's unit"
    # Saving the edit form unchanged keeps the fraction (no double division).
    unchanged = {**data, "threshold": form["threshold"].value(), "hysteresis": form["hysteresis"].value()}
    assert owner.post(reverse("alert_rule_edit", args=[rule.pk]), unchanged).status_code == 302
    assert AlertRule.objects.get().params == {"threshold": 0.085, "hysteresis": 0.005}
    # A count KPI keeps its own unit.
    count = next(k for k in KpiDefinition.objects.filter(org=shop) if k.to_spec().unit == "count")
    data |= {"name": "Orders", "kpi_id": count.kpi_id, "threshold": "120", "hysteresis": "5"}
    assert owner.post(reverse("alert_rule_new"), data).status_code == 302
    assert AlertRule.objects.get(name="Orders").params == {"threshold": 120.0, "hysteresis": 5.0}
