"""Scorecard, refresh and the error pages."""

from __future__ import annotations

import hashlib
import re

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST, require_safe

from headway.app.accounts.models import Department, Member, Role
from headway.app.accounts.tenancy import member_required, visible_kpis
from headway.app.kpis.cards import CARD_CACHE_SECONDS, CARD_CACHE_VERSION, CATEGORY_LABELS, rendered_cards
from headway.app.kpis.models import Dataset
from headway.app.kpis.refresh import latest_run as newest_run
from headway.app.kpis.refresh import start_refresh
from headway.app.sources.models import Source
from headway.app.strategy.cards import card_strategy
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


# What the scorecard's content depends on, read in ONE query per request and hashed into the
# cache key of the rendered content. Each entry is a scalar SQL subquery with the placeholders
# %(org)s and %(member)s; an app whose data changes what the cards show (goal status, stale
# badges, ...) appends its own in its AppConfig.ready(), e.g.
#     SCORECARD_STATE.append("(SELECT MAX(updated_at) FROM strategy_goal WHERE org_id = %(org)s)")
SCORECARD_STATE: list[str] = [
    "(SELECT COUNT(*) FROM kpis_kpidefinition WHERE org_id = %(org)s)",
    "(SELECT MAX(updated_at) FROM kpis_kpidefinition WHERE org_id = %(org)s)",
    "(SELECT MAX(id) FROM kpis_run WHERE org_id = %(org)s)",
    "(SELECT COUNT(*) FROM accounts_department WHERE org_id = %(org)s)",
    "(SELECT {concat} FROM accounts_department WHERE org_id = %(org)s)",
    "(SELECT {concat_scope} FROM accounts_member_departments WHERE member_id = %(member)s)",
]


def _concat(expression: str) -> str:
    if connection.vendor == "postgresql":
        return f"string_agg({expression}, '|' ORDER BY {expression})"
    return f"group_concat({expression}, '|')"


def scorecard_state(org_id: int, member_id: int) -> tuple:
    """Everything the scorecard content depends on besides the org row itself, in one query."""
    cast = "::text" if connection.vendor == "postgresql" else ""
    sql = "SELECT " + ", ".join(SCORECARD_STATE).format(
        concat=_concat(f"id{cast} || ':' || name || ':' || COALESCE(parent_id{cast}, '')"),
        concat_scope=_concat(f"department_id{cast}"),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("%(org)s", "%s").replace("%(member)s", "%s"), _params(sql, org_id, member_id))
        return tuple(cursor.fetchone())


def _params(sql: str, org_id: int, member_id: int) -> list[int]:
    """Positional parameters in placeholder order (sqlite and psycopg both take %s here)."""
    names = re.findall(r"%\((org|member)\)s", sql)
    return [org_id if name == "org" else member_id for name in names]


@member_required()
@require_safe
def scorecard(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    member = request.member  # type: ignore[attr-defined]
    chosen_department = request.GET.get("department", "")
    chosen_category = request.GET.get("category", "")
    latest_run = newest_run(org)
    state = scorecard_state(org.pk, member.pk)
    # The content (filters, card grid, legend) depends on the KPI definitions, the runs, the
    # departments, the member's role and scope, the org's display settings and the filters:
    # together they key the cached, rendered content. Only the run status and the page shell
    # (navigation, CSRF token) are rendered on every request.
    key = (
        "hw-scorecard:"
        + hashlib.sha256(
            repr(
                (
                    CARD_CACHE_VERSION,
                    org.pk,
                    org.name,
                    org.current_run_id,
                    org.locale,
                    org.currency,
                    org.fiscal_year_start,
                    org.week_start,
                    member.role,
                    state,
                    chosen_department,
                    chosen_category,
                    bool(request.htmx and request.htmx.target == "cards"),  # type: ignore[attr-defined]
                )
            ).encode()
        ).hexdigest()
    )
    content = cache.get(key) if org.current_run_id else None
    if content is None:
        content = _scorecard_content(request, chosen_department, chosen_category)
        if org.current_run_id:
            cache.set(key, content, CARD_CACHE_SECONDS)
    if request.htmx and request.htmx.target == "cards":  # type: ignore[attr-defined]
        return HttpResponse(content)
    context = {"content": content, "latest_run": latest_run, "has_kpis": bool(state[0])}
    return render(request, "kpis/scorecard.html", context)


def _scorecard_content(request: HttpRequest, chosen_department: str, chosen_category: str) -> str:
    """The filters, card grid and legend (or just the grid for an htmx filter request), rendered."""
    org = request.org  # type: ignore[attr-defined]
    member = request.member  # type: ignore[attr-defined]
    departments = visible_departments(member)
    department = next((d for d in departments if str(d.id) == chosen_department), None)
    if department is None:
        chosen_department = ""
    definitions = list(visible_kpis(member).select_related("department"))
    categories = sorted({d.spec.get("category") for d in definitions} & {c.value for c in Category})
    shown = definitions
    if department is not None:
        ids = with_subdepartments(department)
        shown = [d for d in shown if d.department_id in ids]
    if chosen_category in categories:
        shown = [d for d in shown if d.spec.get("category") == chosen_category]
    chosen_category = chosen_category if chosen_category in categories else ""
    context = {
        "cards": rendered_cards(shown, org, card_strategy(org, shown, definitions)),
        "has_kpis": bool(definitions),
        "categories": [(c, CATEGORY_LABELS[Category(c)]) for c in categories],
        "chosen_category": chosen_category,
        "run": org.current_run if org.current_run_id else None,
        # Data in, or a source a refresh would read (a SQL or SaaS source lands its data then).
        "has_data": bool(org.current_run_id)
        or Dataset.objects.filter(org=org).exists()
        or Source.objects.filter(org=org).exists(),
        "departments": departments,
        "chosen_department": chosen_department,
        "filtered": bool(chosen_department or chosen_category),
    }
    partial = request.htmx and request.htmx.target == "cards"  # type: ignore[attr-defined]
    template = "kpis/_cards.html" if partial else "kpis/_scorecard_content.html"
    return render_to_string(template, context, request)


@require_POST
@member_required(Role.EDITOR)
def refresh(request: HttpRequest) -> HttpResponse:
    start_refresh(request.org, request.user)  # type: ignore[attr-defined]
    if request.htmx:  # type: ignore[attr-defined]
        return run_status(request)
    return redirect("scorecard")


@member_required()
def run_status(request: HttpRequest) -> HttpResponse:
    """The run status line; tells an open scorecard to reload its cards when a new run was swapped in."""
    org = request.org  # type: ignore[attr-defined]
    run = newest_run(org)
    response = render(request, "kpis/_run_status.html", {"latest_run": run})
    shown = request.GET.get("shown")
    if shown is not None and shown != str(org.current_run_id or ""):
        response["HX-Trigger"] = "scorecard-changed"
    return response


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)
