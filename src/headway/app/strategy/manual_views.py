"""Value entry for manual KPIs (market sentiment, partner satisfaction, …): per period, audited, edits kept."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.kpis.formatting import format_kpi_value, period_label
from headway.app.kpis.refresh import start_refresh
from headway.app.strategy.access import can_edit_department, require_kpi
from headway.app.strategy.forms import ManualValueForm
from headway.app.strategy.manual import save_manual_value
from headway.app.strategy.models import ManualValue


@member_required()
@require_http_methods(["GET", "POST"])
def manual_values(request: HttpRequest, kpi_id: str) -> HttpResponse:
    member = request.member  # type: ignore[attr-defined]
    org = request.org  # type: ignore[attr-defined]
    definition = get_object_or_404(visible_kpis(member), kpi_id=kpi_id)
    kpi = definition.to_spec()
    if kpi.kind != "manual":
        raise Http404("Values are entered by hand for manual KPIs only")
    form = ManualValueForm(request.POST or None, definition=definition)
    if request.method == "POST":
        require_kpi(member, definition)
        if form.is_valid():
            d = form.cleaned_data
            save_manual_value(definition, form.grain, d["period"], d["value"], d["note"], request.user)
            start_refresh(org, request.user)
            label = period_label(d["period"], form.grain, org.fiscal_year_start)
            shown = format_kpi_value(kpi, d["value"], org.locale, org.currency)
            messages.success(request, f"{kpi.name} for {label}: {shown} saved. The scorecard is being refreshed.")
            return redirect("manual_values", kpi_id=kpi_id)
    entries = list(ManualValue.objects.filter(kpi=definition).select_related("entered_by"))
    rows = [
        {
            "period": period_label(e.period, e.grain, org.fiscal_year_start),
            "value": format_kpi_value(kpi, e.value, org.locale, org.currency),
            "note": e.note,
            "by": e.entered_by.username if e.entered_by else "(deleted user)",
            "at": e.entered_at,
            "current": e.is_current,
        }
        for e in entries
    ]
    context = {
        "definition": definition,
        "kpi": kpi,
        "form": form,
        "rows": rows,
        "can_edit": can_edit_department(member, definition.department_id),
        "grain": form.grain.value,
    }
    return render(request, "strategy/manual.html", context)
