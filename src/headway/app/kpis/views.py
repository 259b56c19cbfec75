"""Scorecard, refresh and the error pages."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from headway.app.accounts.models import Department, Member, Role
from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.kpis.cards import CARD_CACHE_SECONDS, CARD_CACHE_VERSION, CATEGORY_LABELS, rendered_cards
from headway.app.kpis.models import Run
from headway.app.kpis.refresh import start_refresh
from headway.engine.spec import Category


def visible_departments(member: Member) -> list[Department]:
    departments = Department.objects.filter(org=member.org)
    scoped = member.department_ids()
    return list(departments if scoped is None else departments.filter(id__in=scoped))


def with_subdepartments(department: Department) -> set[int]:
    """The department's id and the ids of every department under it."""
    children: dict[int | None, list[int]] = {}
    for d in Department.objects.filter(org_id=department.org_id).values("id", "parent_id"):
        children.setdefault(d["parent_id"], []).append(d["id"])
    found: set[int] = set()
    pending = [department.id]
    while pending:
        current = pending.pop()
        if current not in found:
            found.add(current)
            pending += children.get(current, [])
    return found


@member_required()
@require_safe
def scorecard(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    member = request.member  # type: ignore[attr-defined]
    departments = visible_departments(member)
    chosen_department = request.GET.get("department", "")
    chosen_category = request.GET.get("category", "")
    department = next((d for d in departments if str(d.id) == chosen_department), None)
    if department is None:
        chosen_department = ""
    latest_run = Run.objects.filter(org=org).first()
    # The card grid depends on the KPI definitions (how many, last change), the runs, the org's
    # display settings, the member's scope and the filters: together they key the cached grid.
    kpis_state = visible_kpis(member).aggregate(n=Count("id"), changed=Max("updated_at"))
    key = (
        "hw-scorecard:"
        + hashlib.sha256(
            repr(
                (
                    CARD_CACHE_VERSION,
                    org.pk,
                    org.current_run_id,
                    latest_run.pk if latest_run else None,
                    org.locale,
                    org.currency,
                    org.fiscal_year_start,
                    org.week_start,
                    sorted(member.department_ids() or ()),
                    kpis_state["n"],
                    kpis_state["changed"],
                    chosen_department,
                    chosen_category,
                )
            ).encode()
        ).hexdigest()
    )
    grid = cache.get(key)
    if grid is None:
        definitions = list(visible_kpis(member).select_related("department"))
        categories = sorted({d.spec.get("category") for d in definitions} & {c.value for c in Category})
        shown = definitions
        if department is not None:
            ids = with_subdepartments(department)
            shown = [d for d in shown if d.department_id in ids]
        if chosen_category in categories:
            shown = [d for d in shown if d.spec.get("category") == chosen_category]
        grid = {
            "cards": rendered_cards(shown, org),
            "has_kpis": bool(definitions),
            "categories": [(c, CATEGORY_LABELS[Category(c)]) for c in categories],
            "chosen_category": chosen_category if chosen_category in categories else "",
        }
        cache.set(key, grid, CARD_CACHE_SECONDS)
    context = {
        **grid,
        "run": org.current_run if org.current_run_id else None,
        "latest_run": latest_run,
        "departments": departments,
        "chosen_department": chosen_department,
        "filtered": bool(chosen_department or grid["chosen_category"]),
    }
    if request.htmx and request.htmx.target == "cards":  # type: ignore[attr-defined]
        return render(request, "kpis/_cards.html", context)
    return render(request, "kpis/scorecard.html", context)


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
