"""An organisation's business template → its objectives (with their KPIs) and starter goals.

Used by the Objectives page ("add the template's objectives") and by the demo organisation.
Idempotent by objective title, and a starter goal is added only when its objective is new.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from headway.analytics.goals import TargetKind
from headway.app.accounts.models import Department, Member, Organization
from headway.app.kpis.models import KpiDefinition
from headway.app.kpis.series import current_run
from headway.app.strategy.evaluation import default_baseline, histories
from headway.app.strategy.models import Goal, Objective
from headway.app.strategy.portfolio import add_months
from headway.engine.spec import Direction
from headway.engine.templates import get_template


def default_period(today: date | None = None) -> tuple[date, date]:
    """This quarter's first day and a year on: the period new objectives cover."""
    today = today or timezone.localdate()
    start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    return start, add_months(start, 12) - timedelta(days=1)


def apply_template_strategy(
    org: Organization, owner: Member | None, *, start: date | None = None, with_goals: bool = True
) -> tuple[int, int]:
    """Create the template's objectives and starter goals; returns (objectives, goals) created.

    ``start`` anchors the objectives' period and the goals (default: this quarter). A starter
    goal's target is in the KPI's unit (percentages as fractions); "reach at least / at most" in
    the KPI's own direction is an absolute target, the other way round a stay-above/below goal.
    """
    template = get_template(org.template)
    departments = {d.name: d for d in Department.objects.filter(org=org)}
    # The template's root department is the company itself: its objectives are company objectives.
    names = {d.id: d.name for d in template.departments if d.parent is not None}
    kpis = {d.kpi_id: d for d in KpiDefinition.objects.filter(org=org)}
    period_start, period_end = default_period(start)
    made_objectives, new_goals = 0, []
    with transaction.atomic():
        for t in template.objectives:
            if Objective.objects.filter(org=org, title=t.name).exists():
                continue
            objective = Objective.objects.create(
                org=org,
                title=t.name,
                description=t.description,
                department=departments.get(names.get(t.department, "")),
                owner=owner,
                period_start=period_start,
                period_end=period_end,
            )
            objective.kpis.set([kpis[k] for k in t.kpis if k in kpis])
            made_objectives += 1
            for g in t.goals if with_goals else ():
                definition = kpis.get(g.kpi)
                if definition is None:
                    continue
                spec = definition.to_spec()
                wanted = g.direction or spec.direction
                if wanted is spec.direction:
                    kind = TargetKind.ABSOLUTE
                else:
                    kind = TargetKind.STAY_ABOVE if wanted is Direction.HIGHER else TargetKind.STAY_BELOW
                new_goals.append(
                    Goal(
                        org=org,
                        objective=objective,
                        kpi=definition,
                        kind=kind.value,
                        target=g.target,
                        start=period_start,
                        deadline=add_months(period_start, g.deadline_months) - timedelta(days=1),
                        strategy=g.note,
                    )
                )
        _baselines(org, new_goals)
        Goal.objects.bulk_create(new_goals)
    return made_objectives, len(new_goals)


def _baselines(org: Organization, goals: list[Goal]) -> None:
    """Each goal's baseline from the KPI's history, as the goal form would suggest it."""
    if not goals:
        return
    series = histories(current_run(org), goals)
    for goal in goals:
        found = default_baseline(
            series[goal.kpi.kpi_id], goal.kpi.to_spec(), goal.start, goal.deadline, goal.trajectory
        )
        if found is not None:
            goal.baseline, goal.baseline_period = found
