"""Tenancy: every request knows its organisation and member; views declare the role they need.

The current organisation is the one chosen in the session (a user may belong to
several), else the user's first. Object lookups in views always go through
``request.org`` — an id from another organisation is simply not found (404).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from headway.app.accounts.models import Member, Role

SESSION_KEY = "headway_org_id"


class TenancyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.member = None  # type: ignore[attr-defined]
        request.org = None  # type: ignore[attr-defined]
        request.memberships = []  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            # One query: every membership of the user, in the order they joined.
            members = list(Member.objects.select_related("org").filter(user=request.user).order_by("joined_at"))
            request.memberships = sorted(members, key=lambda m: m.org.name)  # type: ignore[attr-defined]
            chosen = request.session.get(SESSION_KEY)
            member = next((m for m in members if m.org_id == chosen), None) if chosen else None
            member = member or (members[0] if members else None)
            if member is not None:
                request.member = member  # type: ignore[attr-defined]
                request.org = member.org  # type: ignore[attr-defined]
        return self.get_response(request)


def org_context(request: HttpRequest) -> dict[str, Any]:
    """The current org and member, and every membership of the user (for the switcher)."""
    member = getattr(request, "member", None)
    memberships = getattr(request, "memberships", [])
    return {"org": getattr(request, "org", None), "member": member, "memberships": memberships}


def member_required(role: str = Role.VIEWER) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """The view needs a logged-in member of an organisation with at least ``role``.

    Any non-GET request needs at least the editor role unless the view asks for more:
    a viewer changes nothing.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            member: Member | None = getattr(request, "member", None)
            if member is None:
                return redirect("signup")
            needed = role
            if request.method not in ("GET", "HEAD", "OPTIONS") and not Member(role=needed).has_role(Role.EDITOR):
                needed = Role.EDITOR
            if not member.has_role(needed):
                raise PermissionDenied(f"This needs the {needed} role; you are {member.role}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def visible_kpis(member: Member):  # type: ignore[no-untyped-def]
    """The KPI definitions this member may see: all of the org's, or only their departments' ones.

    Every page that lists or opens KPIs goes through this (an id outside it is a 404).
    """
    from headway.app.kpis.models import KpiDefinition

    kpis = KpiDefinition.objects.filter(org=member.org)
    departments = member.department_ids()
    if departments is not None:
        kpis = kpis.filter(department_id__in=departments)
    return kpis
