"""Route values for the strategy pages in the route net (tests/app/test_every_view.py)."""

from datetime import date

from headway.app.strategy.models import Goal, Objective, Relationship


def _objective(org):
    return Objective.objects.get_or_create(
        org=org,
        title="Grow repeat customers",
        defaults={"period_start": date(2024, 1, 1), "period_end": date(2024, 12, 31)},
    )[0]


def _goal(org):
    kpi = org.kpis.get(kpi_id="aov")
    return Goal.objects.get_or_create(
        org=org,
        objective=_objective(org),
        kpi=kpi,
        defaults={"target": 60.0, "start": date(2024, 7, 1), "deadline": date(2024, 12, 31)},
    )[0]


def _relationship(org):
    a, b = org.kpis.all()[:2]
    return Relationship.objects.get_or_create(org=org, source=a, target=b, kind="drives")[0]


VALUES = {
    "objective_id": lambda org: _objective(org).pk,
    "goal_id": lambda org: _goal(org).pk,
    "relationship_id": lambda org: _relationship(org).pk,
}
