"""The "Customers at risk" page: it only reads what the ``insights.churn`` job stored."""

from __future__ import annotations

from datetime import date
from typing import Any

import altair as alt
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from headway.app.accounts.models import Role
from headway.app.accounts.tenancy import member_required
from headway.app.automation.jobs import enqueue
from headway.app.automation.models import Job, JobStatus
from headway.app.insights.churn import latest
from headway.app.insights.jobs import has_subscriptions
from headway.app.kpis.charts import DATASET, _utc_x, with_rows
from headway.app.kpis.formatting import d3_format_locale, format_money, format_percent, short_period_label

POLL_SECONDS = 3
SHOWN = 25


def share_spec(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The at-risk share by month, a line chart."""
    chart = (
        alt.Chart(alt.NamedData(name=DATASET))
        .mark_line(point=True, strokeWidth=2, color="#b02a37")
        .encode(
            x=_utc_x(),
            y=alt.Y("share:Q", title="Customers at risk", axis=alt.Axis(format=".0%")),
            tooltip=[alt.Tooltip("label:N", title="Month end"), alt.Tooltip("shown:N", title="At risk")],
        )
        .properties(width="container", height=200, description="Share of active customers at risk, by month")
    )
    return with_rows(chart, rows)


def _preparing(org: Any) -> bool:
    return Job.objects.filter(org=org, kind="insights.churn", status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()


@member_required()
@require_safe
def customers_at_risk(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    member = request.member  # type: ignore[attr-defined]
    context: dict[str, Any] = {"poll": POLL_SECONDS, "can_edit": member.can_edit}
    if member.department_ids() is not None:
        context["scoped"] = True
        return render(request, "insights/customers_at_risk.html", context)
    report = latest(org)
    context.update(
        report=report,
        has_data=has_subscriptions(org),
        preparing=_preparing(org),
    )
    if report is not None and not report.error:
        locale, currency = org.locale, org.currency

        def money(v: float) -> str:
            return format_money(v, 0, locale, currency)

        context["customers"] = [
            {
                **c,
                "probability_shown": format_percent(c["probability"], 0, locale),
                "mrr_shown": money(c["mrr"]),
                "risk_shown": money(c["revenue_at_risk"]),
            }
            for c in report.customers[:SHOWN]
        ]
        context["revenue_at_risk"] = money(report.revenue_at_risk)
        context["share_now"] = format_percent(report.at_risk_customers / max(report.active_customers, 1), 0, locale)
        rows = []
        for p in report.at_risk_share:
            period = date.fromisoformat(p["period"])
            label = short_period_label(period, "month")
            rows.append({**p, "label": label, "shown": format_percent(p["share"], 1, locale)})
        context["share_spec"] = share_spec(rows)
        context["format_locale"] = d3_format_locale(locale, currency)
        context["share_rows"] = rows
        context["drivers"] = [{**d, "shown": format_percent(d["share"], 0, locale)} for d in report.drivers]
    return render(request, "insights/customers_at_risk.html", context)


@member_required(Role.EDITOR)
@require_POST
def recompute_churn(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    if not has_subscriptions(org):
        messages.error(request, "Customer risk needs a subscriptions dataset; there is none to compute from.")
    else:
        enqueue(org, "insights.churn", unique=True)
        messages.success(request, "Customer risk is being recomputed; this page shows it when ready.")
    return redirect("customers_at_risk")
