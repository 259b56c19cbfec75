"""What the scorecard cards add from the strategy: a KPI's goal status and the leading KPIs that drive it.

Read only when the scorecard's cached content is rebuilt (two queries for all cards); the
scorecard's state query carries the goals' and relationships' last change (see apps.py),
so a changed goal or relationship rebuilds the cards.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from headway.analytics.goals import GoalStatus
from headway.app.accounts.models import Organization
from headway.app.kpis.models import KpiDefinition
from headway.app.strategy.evaluation import TONE, fresh_statuses
from headway.app.strategy.models import STATUS_LABELS, Goal, Relationship, RelationshipKind

ACTIVE = (GoalStatus.NOT_STARTED, GoalStatus.ON_TRACK, GoalStatus.AT_RISK, GoalStatus.OFF_TRACK, GoalStatus.NO_DATA)

# The scorecard state entries (one scalar subquery each, in the scorecard's single state query).
STATE_ENTRIES = [
    "(SELECT COUNT(*) FROM strategy_goal WHERE org_id = %(org)s)",
    "(SELECT MAX(updated_at) FROM strategy_goal WHERE org_id = %(org)s)",
    "(SELECT COUNT(*) FROM strategy_relationship WHERE org_id = %(org)s)",
    "(SELECT MAX(updated_at) FROM strategy_relationship WHERE org_id = %(org)s)",
]


@dataclass(frozen=True)
class CardStrategy:
    goal_id: int | None
    goal_status: str
    goal_label: str
    goal_tone: str
    goal_deadline: str
    drivers: tuple[tuple[str, int], ...]
    """(name, lag in periods) of the visible KPIs with a ``drives`` relationship to this one."""


def headline_goal(goals: list[Goal]) -> Goal | None:
    """The goal a card shows: the active one with the nearest deadline, else the latest finished one."""
    active = [g for g in goals if GoalStatus(g.status) in ACTIVE]
    if active:
        return min(active, key=lambda g: (g.deadline, g.pk))
    return max(goals, key=lambda g: (g.deadline, g.pk)) if goals else None


def card_strategy(
    org: Organization, shown: list[KpiDefinition], visible: list[KpiDefinition]
) -> dict[str, CardStrategy]:
    """Per shown KPI id, its goal status and drivers (only KPIs that have either)."""
    by_pk = {d.pk: d for d in visible}
    shown_pks = [d.pk for d in shown]
    goals: dict[int, list[Goal]] = defaultdict(list)
    found = list(Goal.objects.filter(org=org, kpi_id__in=shown_pks).select_related("kpi"))
    for g in fresh_statuses(org, found):
        goals[g.kpi_id].append(g)
    drivers: dict[int, list[tuple[str, int]]] = defaultdict(list)
    rels = Relationship.objects.filter(org=org, kind=RelationshipKind.DRIVES, target_id__in=shown_pks)
    for target_id, source_id, lag in rels.values_list("target_id", "source_id", "lag"):
        if source_id in by_pk:
            drivers[target_id].append((by_pk[source_id].spec.get("name", by_pk[source_id].kpi_id), lag))
    out: dict[str, CardStrategy] = {}
    for d in shown:
        goal = headline_goal(goals.get(d.pk, []))
        if goal is None and not drivers.get(d.pk):
            continue
        status = GoalStatus(goal.status) if goal else None
        out[d.kpi_id] = CardStrategy(
            goal_id=goal.pk if goal else None,
            goal_status=status.value if status else "",
            goal_label=STATUS_LABELS[status] if status else "",
            goal_tone=TONE[status] if status else "none",
            goal_deadline=f"{goal.deadline.day} {goal.deadline:%b %Y}" if goal else "",  # as on the goal pages
            drivers=tuple(sorted(drivers.get(d.pk, []))),
        )
    return out
