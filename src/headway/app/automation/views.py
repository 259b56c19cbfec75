"""Automation pages: the alert inbox (acknowledge, snooze), alert rules, channels, the delivery log, jobs."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from headway.analytics.alerts import KIND_LABELS, PARAMS, RuleKind
from headway.app.accounts.models import Member, Role
from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.automation.forms import PARAM_FIELDS, UNIT_PARAMS, AlertRuleForm, ChannelForm
from headway.app.automation.jobs import last_success
from headway.app.automation.models import (
    Alert,
    AlertRule,
    Channel,
    Delivery,
    InboxMessage,
    Job,
    JobStatus,
)
from headway.app.kpis.formatting import format_kpi_difference, format_kpi_value

SNOOZE_HOURS = (1, 4, 24, 24 * 7)

# What each kind of background job does, in the words of the jobs page (the kind id stays in brackets).
JOB_LABELS = {
    "kpis.refresh": "Compute the KPIs",
    "forecasts.refit": "Update the forecasts",
    "insights.churn": "Score customers at risk",
    "insights.demand": "Forecast product demand",
    "alerts.evaluate": "Check the alert rules",
    "alerts.deliver": "Send notifications",
    "reports.send": "Send a review pack now",
    "reports.send_due": "Send the scheduled reports",
    "sources.import": "Import a file",
    "sources.refresh": "Refresh a data source",
    "strategy.review_reminder": "Portfolio review reminder",
}


def job_label(kind: str) -> str:
    label = JOB_LABELS.get(kind)
    return f"{label} ({kind})" if label else kind


def visible_rules(member: Member) -> QuerySet[AlertRule]:
    """The org's rules; a department-scoped member sees only rules on the KPIs they may see."""
    rules = AlertRule.objects.filter(org=member.org)
    if member.department_ids() is not None:
        rules = rules.filter(kpi_id__in=visible_kpis(member).values("kpi_id"))
    return rules


def visible_alerts(member: Member) -> QuerySet[Alert]:
    return Alert.objects.filter(rule__in=visible_rules(member)).select_related("rule", "acknowledged_by", "snoozed_by")


@member_required()
@require_safe
def alert_inbox(request: HttpRequest) -> HttpResponse:
    member: Member = request.member  # type: ignore[attr-defined]
    now = timezone.now()
    alerts = visible_alerts(member)
    open_alerts = alerts.filter(firing=True).filter(Q(snoozed_until=None) | Q(snoozed_until__lte=now))
    snoozed = alerts.filter(firing=True, snoozed_until__gt=now)
    resolved = alerts.filter(firing=False)[:20]
    notices = InboxMessage.objects.filter(org=member.org, alert=None)
    if not member.can_admin:
        notices = notices.filter(admins_only=False)
    context = {
        "open_alerts": open_alerts,
        "snoozed": snoozed,
        "resolved": resolved,
        "notices": notices[:10],
        "snooze_hours": SNOOZE_HOURS,
        "rule_count": visible_rules(member).count(),
    }
    return render(request, "automation/inbox.html", context)


@member_required()
@require_safe
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(visible_alerts(request.member), pk=alert_id)  # type: ignore[attr-defined]
    deliveries = Delivery.objects.filter(notification__alert=alert).select_related("channel", "notification")
    return render(request, "automation/alert.html", {"alert": alert, "deliveries": deliveries})


@require_POST
@member_required(Role.EDITOR)
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(visible_alerts(request.member), pk=alert_id)  # type: ignore[attr-defined]
    Alert.objects.filter(pk=alert.pk).update(acknowledged_by=request.user, acknowledged_at=timezone.now())
    messages.success(request, f"Acknowledged: {alert.rule.name}.")
    return redirect("alerts")


@require_POST
@member_required(Role.EDITOR)
def alert_snooze(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(visible_alerts(request.member), pk=alert_id)  # type: ignore[attr-defined]
    try:
        hours = int(request.POST.get("hours", ""))
    except ValueError:
        hours = 0
    if hours not in SNOOZE_HOURS:
        messages.error(request, f"Snooze for one of {', '.join(map(str, SNOOZE_HOURS))} hours.")
        return redirect("alerts")
    until = timezone.now() + timedelta(hours=hours)
    Alert.objects.filter(pk=alert.pk).update(snoozed_by=request.user, snoozed_until=until)
    messages.success(request, f"Snoozed “{alert.rule.name}” for {hours} h.")
    return redirect("alerts")


@member_required()
@require_safe
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = visible_rules(request.member).prefetch_related("channels")  # type: ignore[attr-defined]
    labels = {k.value: v for k, v in KIND_LABELS.items()}
    org = request.member.org  # type: ignore[attr-defined]
    specs = {k.kpi_id: k.to_spec() for k in visible_kpis(request.member)}  # type: ignore[attr-defined]
    rows = []
    for r in rules:
        spec, unit_params = specs.get(r.kpi_id), UNIT_PARAMS.get(r.kind, ())
        params = []
        for name, value in r.params.items():
            shown = str(value)
            if spec is not None and name in unit_params and isinstance(value, int | float):
                show = format_kpi_difference if name == "hysteresis" else format_kpi_value
                shown = show(spec, value, org.locale, org.currency)
            params.append((name, shown))
        rows.append({"rule": r, "kind": labels.get(r.kind, r.kind), "params": params})
    return render(request, "automation/rules.html", {"rows": rows})


@member_required(Role.EDITOR)
def rule_new(request: HttpRequest) -> HttpResponse:
    rule = AlertRule(org=request.org, created_by=request.user)  # type: ignore[attr-defined]
    return _rule_form(request, rule)


@member_required(Role.EDITOR)
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    return _rule_form(request, get_object_or_404(visible_rules(request.member), pk=rule_id))  # type: ignore[attr-defined]


def _rule_form(request: HttpRequest, rule: AlertRule) -> HttpResponse:
    form = AlertRuleForm(request.POST or None, instance=rule, member=request.member)  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved the rule “{rule.name}”. It is checked after every refresh.")
        return redirect("alert_rules")
    params = [form[name] for name in PARAM_FIELDS]
    basics = [form[name] for name in form.fields if name not in PARAM_FIELDS]
    kinds = [(KIND_LABELS[k], ", ".join(p.name for p in PARAMS[k]) or "nothing else") for k in RuleKind]
    kind_params = {k.value: [p.name for p in PARAMS[k]] for k in RuleKind}  # the page shows only these
    context = {
        "form": form,
        "rule": rule,
        "basics": basics,
        "params": params,
        "kinds": kinds,
        "kind_params": kind_params,
    }
    return render(request, "automation/rule_edit.html", context)


@require_POST
@member_required(Role.EDITOR)
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(visible_rules(request.member), pk=rule_id)  # type: ignore[attr-defined]
    rule.delete()
    messages.success(request, f"Deleted the rule “{rule.name}”.")
    return redirect("alert_rules")


@member_required(Role.ADMIN)
@require_safe
def channel_list(request: HttpRequest) -> HttpResponse:
    channels = list(Channel.objects.filter(org=request.org))  # type: ignore[attr-defined]
    return render(request, "automation/channels.html", {"channels": channels})


@member_required(Role.ADMIN)
def channel_new(request: HttpRequest) -> HttpResponse:
    return _channel_form(request, Channel(org=request.org))  # type: ignore[attr-defined]


@member_required(Role.ADMIN)
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    return _channel_form(request, get_object_or_404(Channel, org=request.org, pk=channel_id))  # type: ignore[attr-defined]


def _channel_form(request: HttpRequest, channel: Channel) -> HttpResponse:
    new = channel.pk is None
    form = ChannelForm(request.POST or None, instance=channel)
    if request.method == "POST" and form.is_valid():
        channel = form.save()
        if new and channel.secret:
            # Shown once, on this response only: the receiver needs it to check signatures. Not a flash message
            # (those travel in a cookie or the session store until read); never displayed again.
            response = render(request, "automation/channel_secret.html", {"channel": channel, "secret": channel.secret})
            response["Cache-Control"] = "no-store"
            return response
        messages.success(request, f"Saved the channel “{channel.name}”.")
        return redirect("channels")
    return render(request, "automation/channel_edit.html", {"form": form, "channel": channel})


@require_POST
@member_required(Role.ADMIN)
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(Channel, org=request.org, pk=channel_id)  # type: ignore[attr-defined]
    channel.delete()
    messages.success(request, f"Deleted the channel “{channel.name}”.")
    return redirect("channels")


@member_required(Role.EDITOR)
@require_safe
def delivery_log(request: HttpRequest) -> HttpResponse:
    deliveries = Delivery.objects.filter(org=request.org).select_related("channel", "notification__alert__rule")  # type: ignore[attr-defined]
    return render(request, "automation/deliveries.html", {"deliveries": deliveries[:200]})


@member_required(Role.EDITOR)
@require_safe
def job_list(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    jobs = Job.objects.filter(org=org)
    active = list(jobs.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).order_by("run_after"))
    failed = list(jobs.filter(status=JobStatus.FAILED)[:20])
    recent = list(jobs.filter(status=JobStatus.SUCCEEDED)[:20])
    for job in active + failed + recent:
        job.label = job_label(job.kind)  # type: ignore[attr-defined]
    context = {
        "active": active,
        "failed": failed,
        "recent": recent,
        "last_success": sorted((job_label(kind), at) for kind, at in last_success(org).items()),
    }
    return render(request, "automation/jobs.html", context)
