"""The KPI detail page, its htmx partials (trend, breakdown) and the series downloads."""

from __future__ import annotations

import csv
import io
from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from headway.app.accounts.models import Member, Role
from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.kpis import detail
from headway.app.kpis.cards import CATEGORY_LABELS, build_card, thresholds_text
from headway.app.kpis.formatting import d3_format_locale, scale_text, spreadsheet_safe
from headway.app.kpis.models import KpiDefinition
from headway.app.kpis.refresh import BREAKDOWN_GRAIN
from headway.app.kpis.series import breakdown, current_run, dimensions, parse_grain, shown_grain, total
from headway.app.strategy.access import can_edit_department, require_department
from headway.app.strategy.detail import kpi_strategy
from headway.engine.catalog import describe_metric
from headway.engine.spec import Direction, Grain


def _definition(request: HttpRequest, kpi_id: str) -> KpiDefinition:
    """The KPI, if this member may see it (another org's or department's KPI is a 404)."""
    return get_object_or_404(visible_kpis(request.member), kpi_id=kpi_id)  # type: ignore[attr-defined]


def _chosen_dimension(request: HttpRequest, dims: list[str]) -> str:
    wanted = request.GET.get("dimension", "")
    return wanted if wanted in dims else (dims[0] if dims else "")


def _grain(request: HttpRequest, definition: KpiDefinition) -> Grain:
    # The grain buttons submit `grain`; the comparison select re-sends the grain shown (`shown`).
    default = shown_grain(definition.to_spec())
    return parse_grain(request.GET.get("grain") or request.GET.get("shown"), default)


@member_required()
@require_safe
def kpi_detail(request: HttpRequest, kpi_id: str) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    definition = _definition(request, kpi_id)
    kpi = definition.to_spec()
    grain = _grain(request, definition)
    headline_grain = shown_grain(kpi)
    run = current_run(org)
    dims = dimensions(run, kpi.id)
    dimension = _chosen_dimension(request, dims)
    sql, sql_error = detail.generated_sql(org, kpi, grain)
    context = {
        "definition": definition,
        "kpi": kpi,
        "card": build_card(definition, kpi, total(run, kpi.id, headline_grain), headline_grain, org),
        "formula": detail.inline_code(describe_metric(kpi)),
        "thresholds": thresholds_text(kpi, org.locale, org.currency),
        "scale": scale_text(kpi, org.locale),
        "category": CATEGORY_LABELS[kpi.category],
        "direction": "Higher is better" if kpi.direction is Direction.HIGHER else "Lower is better",
        "trend": detail.trend(kpi, org, grain, detail.parse_compare(request.GET.get("compare"))),
        "dimensions": dims,
        "breakdown": detail.dimension_breakdown(kpi, org, dimension) if dimension else None,
        "related": detail.related_kpis(kpi, list(visible_kpis(request.member))),  # type: ignore[attr-defined]
        "yaml": detail.spec_yaml(definition),
        "sql": sql,
        "sql_error": sql_error,
        "sql_grain": grain,
        "run": run,
        "format_locale": d3_format_locale(org.locale, org.currency),
        "strategy": kpi_strategy(request.member, definition),  # type: ignore[attr-defined]
        "can_set_owner": can_edit_department(request.member, definition.department_id),  # type: ignore[attr-defined]
        "members": Member.objects.filter(org=org).select_related("user").order_by("user__username"),
    }
    return render(request, "kpis/detail.html", context)


def _person(member: Member) -> str:
    return member.user.get_full_name() or member.user.get_username()


@require_POST
@member_required(Role.EDITOR)
def kpi_owner(request: HttpRequest, kpi_id: str) -> HttpResponse:
    """Name the member accountable for the KPI (or nobody); the portfolio review flags KPIs without one."""
    definition = _definition(request, kpi_id)
    require_department(request.member, definition.department_id, f"the owner of {kpi_id}")  # type: ignore[attr-defined]
    raw = request.POST.get("owner", "")
    owner = None
    if raw:
        owner = Member.objects.filter(org=request.org, pk=int(raw)).first() if raw.isdigit() else None  # type: ignore[attr-defined]
        if owner is None:
            messages.error(request, "Choose the owner from the organisation's members.")
            return redirect("kpi_detail", kpi_id=kpi_id)
    definition.owner = owner
    definition.save(update_fields=["owner"])
    name = definition.spec.get("name", kpi_id)
    messages.success(request, f"{_person(owner)} now owns {name}." if owner else f"{name} has no owner now.")
    return redirect("kpi_detail", kpi_id=kpi_id)


@member_required()
@require_safe
def kpi_trend(request: HttpRequest, kpi_id: str) -> HttpResponse:
    """The trend section alone, for the grain switch and the comparison selector."""
    org = request.org  # type: ignore[attr-defined]
    definition = _definition(request, kpi_id)
    kpi = definition.to_spec()
    trend = detail.trend(kpi, org, _grain(request, definition), detail.parse_compare(request.GET.get("compare")))
    return render(request, "kpis/_trend.html", {"kpi": kpi, "definition": definition, "trend": trend})


@member_required()
@require_safe
def kpi_breakdown(request: HttpRequest, kpi_id: str) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    definition = _definition(request, kpi_id)
    kpi = definition.to_spec()
    dims = dimensions(current_run(org), kpi.id)
    dimension = _chosen_dimension(request, dims)
    context = {
        "kpi": kpi,
        "definition": definition,
        "dimensions": dims,
        "breakdown": detail.dimension_breakdown(kpi, org, dimension) if dimension else None,
    }
    return render(request, "kpis/_breakdown.html", context)


def _series_rows(request: HttpRequest, definition: KpiDefinition) -> tuple[list[str], list[list[object]], str]:
    """Header, rows and a file name stem: the total series at a grain, or the monthly breakdown by a dimension."""
    run = current_run(request.org)  # type: ignore[attr-defined]
    dimension = request.GET.get("dimension", "")
    if dimension:
        if dimension not in dimensions(run, definition.kpi_id):
            raise Http404("No breakdown by that dimension")
        rows: list[list[object]] = [
            [period, name, value]
            for name, series in sorted(breakdown(run, definition.kpi_id, dimension).items())
            for period, value in series.items()
        ]
        rows.sort(key=lambda r: (r[0], r[1]))  # type: ignore[arg-type,return-value]
        return ["period", dimension, "value"], rows, f"{definition.kpi_id}-{BREAKDOWN_GRAIN}-by-{dimension}"
    grain = _grain(request, definition)
    series = total(run, definition.kpi_id, grain)
    return ["period", "value"], [[p, v] for p, v in series.items()], f"{definition.kpi_id}-{grain.value}"


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_cell(value: object) -> str:
    """ISO dates, values at full precision (repr round-trips a float), empty for unknown."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else spreadsheet_safe(str(value))


@member_required()
@require_safe
def series_csv(request: HttpRequest, kpi_id: str) -> HttpResponse:
    """The series as CSV: ISO dates, full-precision values, empty for unknown."""
    header, rows, stem = _series_rows(request, _definition(request, kpi_id))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(c) for c in row])
    return _attachment(HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8"), f"{stem}.csv")


@member_required()
@require_safe
def series_xlsx(request: HttpRequest, kpi_id: str) -> HttpResponse:
    """The series as an Excel workbook (dates as dates, values as numbers)."""
    from openpyxl import Workbook

    definition = _definition(request, kpi_id)
    header, rows, stem = _series_rows(request, definition)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(definition.kpi_id[:31])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _attachment(HttpResponse(out.getvalue(), content_type=content_type), f"{stem}.xlsx")
