"""What an alert says, in words and numbers with their period and unit; the message every channel sends."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from headway.analytics.alerts import KIND_LABELS, RuleKind, Transition
from headway.app.automation.channels.base import Message
from headway.app.automation.models import Alert, AlertRule, Notification
from headway.app.kpis.formatting import format_number, period_label
from headway.app.kpis.models import KpiDefinition
from headway.engine.spec import Kpi

STATUS_NAMES = {0: "on track", 1: "at risk", 2: "off track"}


def kpi_spec(rule: AlertRule) -> Kpi | None:
    found = KpiDefinition.objects.filter(org_id=rule.org_id, kpi_id=rule.kpi_id).first()
    return found.to_spec() if found else None


def _value(rule: AlertRule, value: float | None) -> str:
    from headway.app.kpis.formatting import format_kpi_value

    kpi = kpi_spec(rule)
    if kpi is None or value is None:
        return "—" if value is None else format_number(value, 2, rule.org.locale)
    return format_kpi_value(kpi, value, rule.org.locale, rule.org.currency)


def describe(rule: AlertRule, t: Transition) -> str:
    """One sentence: what happened, with the value, its period and what it was compared with."""
    kpi = kpi_spec(rule)
    name = kpi.name if kpi else rule.kpi_id
    if rule.dim_value:
        name += f" ({rule.dimension}: {rule.dim_value})"
    when = f" in {period_label(t.period, rule.grain, rule.org.fiscal_year_start)}" if t.period else ""
    locale = rule.org.locale
    kind = RuleKind(rule.kind)
    if kind in (RuleKind.THRESHOLD_ABOVE, RuleKind.THRESHOLD_BELOW):
        side = "above" if kind is RuleKind.THRESHOLD_ABOVE else "below"
        what = f"is {_value(rule, t.value)}{when}, {side} the threshold of {_value(rule, t.reference)}"
    elif kind is RuleKind.CHANGE:
        base = "the same period last year" if rule.params.get("compare") == "last_year" else "the period before"
        change = "—" if t.value is None else f"{format_number(t.value, 1, locale)} %"
        what = f"changed by {change}{when} vs {base} ({_value(rule, t.reference)})"
    elif kind is RuleKind.GOAL_STATUS:
        what = f"goal is {STATUS_NAMES.get(int(t.value or 0), 'unknown')}"
    elif kind is RuleKind.GOAL_PROBABILITY:
        what = f"goal's probability of success is {format_number(t.value or 0, 0, locale)} %"
    elif kind is RuleKind.ANOMALY:
        what = f"is {_value(rule, t.value)}{when}, outside the expected band (limit {_value(rule, t.reference)})"
    elif kind is RuleKind.FRESHNESS:
        what = f"has had no new data for {format_number(t.value or 0, 0, locale)} hours"
    else:
        what = (
            f"is heading for {_value(rule, t.value)} in {int(float(str(rule.params.get('lag', 1))))} period(s): "
            f"{rule.params.get('driver')} moved {format_number(t.reference or 0, 1, locale)} %"
        )
    if t.event.value == "resolved":
        return f"Resolved: {name} {what}."
    return f"{name} {what}."


def chart_png(rule: AlertRule) -> bytes | None:
    """The KPI's trend chart (the detail page's Vega-Lite spec) as a PNG, or None without data."""
    from headway.app.kpis.detail import trend
    from headway.app.kpis.series import parse_grain, shown_grain
    from headway.app.reports.render import chart_png as render_png

    kpi = kpi_spec(rule)
    if kpi is None:
        return None
    spec = trend(kpi, rule.org, parse_grain(rule.grain, shown_grain(kpi)), "none")["spec"]
    if spec is None:
        return None
    spec["width"] = 560
    return render_png(spec)


def build_message(notification: Notification, *, with_chart: bool = False) -> Message:
    alert: Alert = notification.alert
    rule = alert.rule
    org = rule.org
    word = "Resolved" if notification.event == "resolved" else rule.get_severity_display()
    subject = f"[{word}] {rule.name}"
    url = f"{settings.HEADWAY_BASE_URL.rstrip('/')}/alerts/{alert.pk}/" if settings.HEADWAY_BASE_URL else ""
    context: dict[str, Any] = {
        "alert": alert,
        "rule": rule,
        "org": org,
        "event": notification.event,
        "kind_label": KIND_LABELS[RuleKind(rule.kind)],
        "url": url,
        "value": _value(rule, alert.value),
        "period": period_label(alert.period, rule.grain, org.fiscal_year_start) if alert.period else "",
    }
    png = chart_png(rule) if with_chart else None
    context["chart_src"] = "cid:kpi-chart" if png else None
    payload = {
        "event": notification.event,
        "alert_id": alert.pk,
        "rule": {"id": rule.pk, "name": rule.name, "kind": rule.kind, "severity": rule.severity},
        "organization": org.slug,
        "kpi": rule.kpi_id,
        "dimension": rule.dimension or None,
        "dimension_value": rule.dim_value or None,
        "period": alert.period.isoformat() if alert.period else None,
        "value": alert.value,
        "reference": alert.reference,
        "message": alert.message,
        "fired_at": alert.fired_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "url": url or None,
    }
    recipients = [m.user.email for m in rule.recipients.select_related("user") if m.user.email]
    return Message(
        subject=subject,
        text=render_to_string("automation/email/alert.txt", context),
        html=render_to_string("automation/email/alert.html", context),
        event=notification.event,
        severity=rule.severity,
        payload=payload,
        recipients=recipients,
        chart_png=png,
        alert_id=alert.pk,
        org_id=org.pk,
    )
