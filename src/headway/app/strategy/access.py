"""Who may see and change which objectives and goals.

Owners and admins reach everything in their organisation. A member scoped to departments
sees the company objectives and their departments' ones, and the goals on KPIs they can
see; an editor changes only what belongs to their departments (company objectives and
other departments' things are a 403). Ids of another organisation are never found (404).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from headway.app.accounts.models import Member
from headway.app.accounts.tenancy import visible_kpis
from headway.app.kpis.models import KpiDefinition
from headway.app.strategy.models import Goal, Objective


def visible_objectives(member: Member) -> QuerySet[Objective]:
    objectives = Objective.objects.filter(org=member.org)
    scoped = member.department_ids()
    if scoped is not None:
        objectives = objectives.filter(Q(department__isnull=True) | Q(department_id__in=scoped))
    return objectives


def visible_goals(member: Member) -> QuerySet[Goal]:
    return Goal.objects.filter(org=member.org, kpi__in=visible_kpis(member))


def can_edit_department(member: Member, department_id: int | None) -> bool:
    """An editor or more, and (if scoped) the department is one of theirs; company level needs no scope."""
    if not member.can_edit:
        return False
    scoped = member.department_ids()
    return scoped is None or (department_id is not None and department_id in scoped)


def require_department(member: Member, department_id: int | None, what: str) -> None:
    if not can_edit_department(member, department_id):
        if not member.can_edit:
            raise PermissionDenied(f"Viewers cannot change {what}.")
        raise PermissionDenied(f"You can change {what} of your own departments only.")


def editable_objectives(member: Member) -> QuerySet[Objective]:
    objectives = Objective.objects.filter(org=member.org)
    scoped = member.department_ids()
    return objectives if scoped is None else objectives.filter(department_id__in=scoped)


def editable_kpis(member: Member) -> QuerySet[KpiDefinition]:
    kpis = KpiDefinition.objects.filter(org=member.org)
    scoped = member.department_ids()
    return kpis if scoped is None else kpis.filter(department_id__in=scoped)


def require_kpi(member: Member, kpi: KpiDefinition) -> None:
    require_department(member, kpi.department_id, f"goals on {kpi.kpi_id}")


def require_objective(member: Member, objective: Objective) -> None:
    require_department(member, objective.department_id, f"the objective “{objective.title}”")
