"""The forecast section of the KPI page (an htmx partial): it only reads what the refit job stored."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.automation.models import Job, JobStatus
from headway.app.forecasts.charts import fan_spec
from headway.app.forecasts.models import StoredForecast
from headway.app.forecasts.refit import latest
from headway.app.kpis.detail import unit_title
from headway.app.kpis.formatting import format_kpi_value, short_period_label
from headway.app.kpis.series import current_run, shown_grain, total
from headway.engine.scoring import decimals_for
from headway.engine.spec import Grain, Kpi

POLL_SECONDS = 3
HISTORY_SHOWN = {Grain.DAY: 90, Grain.WEEK: 52, Grain.MONTH: 36, Grain.QUARTER: 16, Grain.YEAR: 10}


def fan_context(stored: StoredForecast, kpi: Kpi, org: Any, grain: Grain) -> dict[str, Any]:
    """Chart rows and table rows of a stored forecast, the last part of the history before it."""
    locale, currency = org.locale, org.currency

    def shown(value: float | None) -> str:
        return format_kpi_value(kpi, value, locale, currency)

    actual = {
        p: v for p, v in total(stored.run, kpi.id, grain).items() if stored.last_period and p <= stored.last_period
    }
    rows: list[dict[str, Any]] = []
    for period, value in list(actual.items())[-HISTORY_SHOWN[grain] :]:
        if value is not None:
            label = short_period_label(period, grain)
            rows.append(
                {"period": period.isoformat(), "part": "Actual", "value": value, "shown": shown(value)}
                | {"label": label, "band": ""}
            )
    table = []
    for p in stored.points:
        period = date.fromisoformat(p["period"])
        label = short_period_label(period, grain)
        band80 = f"{shown(p.get('lower_80'))} – {shown(p.get('upper_80'))}"
        band95 = f"{shown(p.get('lower_95'))} – {shown(p.get('upper_95'))}"
        rows.append(
            {**p, "part": "Forecast", "value": p["mean"], "shown": shown(p["mean"]), "label": label} | {"band": band80}
        )
        table.append({"label": label, "mean": shown(p["mean"]), "band80": band80, "band95": band95})
    if rows and rows[0]["part"] == "Actual":
        # join the dashed forecast line to the last actual value
        last = next(r for r in reversed(rows) if r["part"] == "Actual")
        rows.append(
            {**last, "part": "Forecast", **{k: last["value"] for k in ("lower_80", "upper_80", "lower_95", "upper_95")}}
        )
    return {
        "spec": fan_spec(rows, kpi, decimals_for(kpi), unit_title(kpi, org)),
        "table": table,
        "horizon": len(table),
        "first": table[0]["label"] if table else "",
        "last": table[-1]["label"] if table else "",
    }


@member_required()
@require_safe
def kpi_forecast(request: HttpRequest, kpi_id: str) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    definition = get_object_or_404(visible_kpis(request.member), kpi_id=kpi_id)  # type: ignore[attr-defined]
    kpi = definition.to_spec()
    grain = shown_grain(kpi)
    stored = latest(org, kpi.id, grain)
    context: dict[str, Any] = {"kpi": kpi, "grain": grain, "stored": stored, "poll": POLL_SECONDS}
    if stored is not None and not stored.error:
        context["fan"] = fan_context(stored, kpi, org, grain)
    elif stored is None:
        context["has_data"] = current_run(org) is not None
        # The pending refit itself (not just a flag): the page says whether it waits for a worker or runs.
        context["preparing"] = (
            Job.objects.filter(org=org, kind="forecasts.refit", status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
            .order_by("created_at")
            .first()
        )
    return render(request, "forecasts/_fan.html", context)
