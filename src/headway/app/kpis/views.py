"""Scorecard, refresh and the error pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from headway.app.accounts.models import Role
from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.kpis.models import Run, SeriesPoint
from headway.app.kpis.refresh import start_refresh


@member_required()
def scorecard(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    kpis = list(visible_kpis(request.member))  # type: ignore[attr-defined]
    latest: dict[str, SeriesPoint] = {}
    if org.current_run_id:
        points = SeriesPoint.objects.filter(run_id=org.current_run_id, grain="month", dimension="")
        for p in points.order_by("period"):
            latest[p.kpi_id] = p
    cards = [{"kpi": d.to_spec(), "point": latest.get(d.kpi_id)} for d in kpis]
    return render(request, "kpis/scorecard.html", {"cards": cards, "run": org.current_run})


@require_POST
@member_required(Role.EDITOR)
def refresh(request: HttpRequest) -> HttpResponse:
    start_refresh(request.org, request.user)  # type: ignore[attr-defined]
    if request.htmx:  # type: ignore[attr-defined]
        return run_status(request)
    return redirect("scorecard")


@member_required()
def run_status(request: HttpRequest) -> HttpResponse:
    run = Run.objects.filter(org=request.org).first()  # type: ignore[attr-defined]
    return render(request, "kpis/_run_status.html", {"latest_run": run})


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)
