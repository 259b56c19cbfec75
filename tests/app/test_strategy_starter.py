"""The business template's objectives and starter goals: in the demo organisation and from the Objectives page."""

from __future__ import annotations

from datetime import date

import pytest
from app_helpers import client_for
from django.urls import reverse

from headway.app.accounts.onboarding import create_demo_org
from headway.app.strategy.models import Goal, Objective
from headway.app.strategy.starter import apply_template_strategy
from headway.engine.templates import get_template


def test_the_demo_org_has_the_templates_objectives_and_starter_goals_under_way(settings, tmp_path, db):
    settings.DATA_DIR = tmp_path
    org = create_demo_org(size="tiny")
    template = get_template(org.template)
    assert set(Objective.objects.filter(org=org).values_list("title", flat=True)) == {
        o.name for o in template.objectives
    }
    starters = {(o.name, g.kpi): g for o in template.objectives for g in o.goals}
    goals = list(Goal.objects.filter(org=org).select_related("objective", "kpi"))
    assert {(g.objective.title, g.kpi.kpi_id) for g in goals} == set(starters)
    data_end = org.current_run.data_as_of
    quarter = date(data_end.year, (data_end.month - 1) // 3 * 3 + 1, 1)
    for goal in goals:
        starter = starters[(goal.objective.title, goal.kpi.kpi_id)]
        assert goal.target == starter.target and goal.start == quarter
        assert (
            goal.deadline.year - quarter.year
        ) * 12 + goal.deadline.month - quarter.month + 1 == starter.deadline_months
        assert goal.baseline is not None  # from the KPI's history, as the goal form suggests
    # Running it again adds nothing.
    assert apply_template_strategy(org, None) == (0, 0)


def test_the_objectives_page_adds_the_template_objectives_with_their_goals(client, shop):
    response = client_for(client, "owner").post(reverse("objectives_from_template"), follow=True)
    template = get_template(shop.template)
    goals = sum(len(o.goals) for o in template.objectives)
    assert Objective.objects.filter(org=shop).count() == len(template.objectives)
    assert Goal.objects.filter(org=shop).count() == goals
    assert f"{len(template.objectives)} objectives and {goals} starter goals added" in response.content.decode()
    assert client_for(client, "viewer").post(reverse("objectives_from_template")).status_code == 403


@pytest.mark.parametrize("business", ["saas"])
def test_other_templates_too(settings, tmp_path, db, business):
    settings.DATA_DIR = tmp_path
    org = create_demo_org(business=business, size="tiny")
    assert Objective.objects.filter(org=org).exists()
    assert Goal.objects.filter(org=org).count() == sum(len(o.goals) for o in get_template(org.template).objectives)
