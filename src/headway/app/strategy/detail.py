"""What the KPI detail page shows from the strategy (its goals and objectives), and the record of the visit."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from headway.app.accounts.models import Member
from headway.app.kpis.models import KpiDefinition
from headway.app.strategy.access import can_edit_department
from headway.app.strategy.evaluation import fresh_statuses
from headway.app.strategy.models import Goal, KpiView


def record_view(member: Member, definition: KpiDefinition) -> None:
    """One upsert: when this member last opened the KPI (the review's "not viewed in N days")."""
    KpiView.objects.bulk_create(
        [KpiView(member=member, kpi=definition, last_viewed=timezone.now())],
        update_conflicts=True,
        unique_fields=["member", "kpi"],
        update_fields=["last_viewed"],
    )


def kpi_strategy(member: Member, definition: KpiDefinition) -> dict[str, Any]:
    record_view(member, definition)
    goals = fresh_statuses(member.org, list(Goal.objects.filter(kpi=definition).select_related("kpi", "objective")))
    return {
        "goals": goals,
        "objectives": list(definition.objectives.all()),
        "can_edit": can_edit_department(member, definition.department_id),
        "manual": definition.spec.get("metric", {}).get("kind") == "manual",
    }
