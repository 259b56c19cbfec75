"""The pack's sections from the rest of the product: goals, alerts fired, portfolio-review findings.

Each provider takes (org, department or None, the KPI definitions in scope) and returns a
Section, or None when the pack should not have it. Registered in ReportsConfig.ready().
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from headway.app.accounts.models import Department, Organization
from headway.app.kpis.models import KpiDefinition
from headway.app.reports.pack import Section

ALERT_DAYS = 31


def goals_section(org: Organization, department: Department | None, definitions: list[KpiDefinition]) -> Section:
    from headway.app.strategy.evaluation import evaluate_goals
    from headway.app.strategy.models import Goal

    goals = list(
        Goal.objects.filter(org=org, kpi__in=definitions).select_related("kpi", "objective").order_by("deadline")
    )
    rows = []
    for result in evaluate_goals(org, goals):
        goal = result.goal
        rows.append(
            [goal.objective.title, result.kpi.name, f"{goal.deadline:%d %b %Y}", result.status_label, result.message]
        )
    return Section(
        "Goals",
        ["Objective", "KPI", "Deadline", "Status", "Where it stands"],
        rows,
        note="Status compares the value expected by now on each goal's trajectory with the actual value.",
        empty="No goals set yet.",
    )


def alerts_section(org: Organization, department: Department | None, definitions: list[KpiDefinition]) -> Section:
    from headway.app.automation.models import Alert

    since = timezone.now() - timedelta(days=ALERT_DAYS)
    names = {d.kpi_id: d.to_spec().name for d in definitions}
    alerts = (
        Alert.objects.filter(org=org, fired_at__gte=since, rule__kpi_id__in=list(names))
        .select_related("rule")
        .order_by("-fired_at")[:50]
    )
    rows = [
        [
            f"{a.fired_at:%d %b %Y %H:%M}",
            names.get(a.rule.kpi_id, a.rule.kpi_id),
            a.rule.get_severity_display(),
            "firing" if a.firing else f"resolved {a.resolved_at:%d %b %Y}" if a.resolved_at else "resolved",
            a.message,
        ]
        for a in alerts
    ]
    return Section(
        f"Alerts in the last {ALERT_DAYS} days",
        ["Fired", "KPI", "Severity", "State", "Message"],
        rows,
        empty="No alert fired.",
    )


def review_section(org: Organization, department: Department | None, definitions: list[KpiDefinition]) -> Section:
    from headway.app.strategy.portfolio import run_review

    review = run_review(org)
    in_scope = {d.kpi_id for d in definitions}
    findings = [f for f in review.findings if not f.kpi_ids or set(f.kpi_ids) & in_scope]
    if department is not None:  # org-wide checks (too many KPIs) belong to the whole-org pack
        findings = [f for f in findings if f.kpi_ids]
    rows = [
        [f.check.replace("_", " "), ", ".join(review.names.get(k, k) for k in f.kpi_ids) or "–", f.message, f.action]
        for f in findings
    ]
    return Section(
        "Portfolio review",
        ["Check", "KPIs", "Finding", "Suggested action"],
        rows,
        empty="The KPI portfolio review found nothing to fix.",
    )
