"""Route values for the automation pages in the route net (tests/app/test_every_view.py)."""

from django.utils import timezone

from headway.app.automation.models import Alert, AlertRule, Channel


def _rule(org):
    return AlertRule.objects.get_or_create(
        org=org, name="AOV high", defaults={"kpi_id": "aov", "kind": "threshold_above", "params": {"threshold": 1}}
    )[0]


def _alert(org):
    rule = _rule(org)
    alert = rule.alerts.first() or Alert.objects.create(org=org, rule=rule, fired_at=timezone.now(), message="AOV high")
    return alert.pk


VALUES = {
    "rule_id": lambda org: _rule(org).pk,
    "alert_id": _alert,
    "channel_id": lambda org: Channel.objects.get_or_create(org=org, name="Ops", defaults={"kind": "inbox"})[0].pk,
}
