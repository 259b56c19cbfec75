"""Objectives, strategy map, department pages, relationships and manual values; who may change what
(owner, a department-scoped editor, a viewer, an outsider)."""

from __future__ import annotations

import re

import pytest
from app_helpers import client_for, make_user
from django.urls import reverse

from headway.app.accounts.models import Department, Member, Role
from headway.app.accounts.onboarding import create_org
from headway.app.kpis.models import KpiDefinition
from headway.app.strategy.models import Goal, KpiView, ManualValue, Objective, Relationship


@pytest.fixture
def shop(db):
    """The e-commerce template's departments and KPIs, an owner and a viewer; no data (these pages need none)."""
    org = create_org("Shop", make_user("owner"), "ecommerce")
    Member.objects.create(user=make_user("viewer"), org=org, role=Role.VIEWER)
    return org


@pytest.fixture
def marketer(shop):
    """An editor scoped to the Marketing department."""
    member = Member.objects.create(user=make_user("marketer"), org=shop, role=Role.EDITOR)
    member.departments.set([Department.objects.get(org=shop, name="Marketing")])
    return member


def from_template(client, shop):
    response = client_for(client, "owner").post(reverse("objectives_from_template"))
    assert response.status_code == 302
    Goal.objects.filter(org=shop).delete()  # the template's starter goals: these tests set their own
    return {o.title: o for o in Objective.objects.filter(org=shop)}


def kpi(shop, kpi_id: str) -> KpiDefinition:
    return shop.kpis.get(kpi_id=kpi_id)


def goal_data(objective: Objective, definition: KpiDefinition, target: str = "10") -> dict[str, object]:
    return {
        "objective": objective.pk,
        "kpi": definition.pk,
        "kind": "absolute",
        "target": target,
        "start": "2024-07-01",
        "deadline": "2025-06-30",
        "trajectory": "linear",
        "cadence": "month",
    }


def test_objectives_come_from_the_template_as_a_company_to_department_tree(client, shop):
    empty = client_for(client, "owner").get(reverse("objectives")).content.decode()
    assert "No objectives yet" in empty and "Start from the E-commerce shop template" in empty
    objectives = from_template(client, shop)
    assert len(objectives) == 5
    sales = objectives["Grow online sales"]
    assert sales.department is None, "the template's root department is the company"
    assert set(sales.kpis.values_list("kpi_id", flat=True)) == {"revenue_growth", "aov", "website_conversion_rate"}
    assert objectives["Acquire customers efficiently"].department.name == "Marketing"
    from_template(client, shop)
    assert Objective.objects.filter(org=shop).count() == 5, "adding the template again adds nothing twice"

    page = client.get(reverse("objectives")).content.decode()
    assert page.index("Grow online sales") < page.index("Acquire customers efficiently"), "company first"
    assert 'href="/departments/' in page


def test_too_many_kpis_on_an_objective_and_metric_overload_are_flagged(client, shop):
    owner = client_for(client, "owner")
    data = {"title": "Everything", "period_start": "2024-01-01", "period_end": "2024-12-31"}
    data["kpis"] = [d.pk for d in shop.kpis.all()[:6]]
    assert owner.post(reverse("objective_new"), data).status_code == 302
    page = owner.get(reverse("objectives")).content.decode()
    assert "6 KPIs: more than 5 blurs what matters" in page
    assert "close to overload" not in page and shop.kpis.count() == 15
    for i in range(6):
        KpiDefinition.objects.create(org=shop, kpi_id=f"extra_{i}", spec={**kpi(shop, "aov").spec, "id": f"extra_{i}"})
    assert "Metric overload: the scorecard holds 21 KPIs" in owner.get(reverse("objectives")).content.decode()


def test_bad_objective_input_says_what_is_wrong_and_saves_nothing(client, shop):
    owner = client_for(client, "owner")
    data = {"title": "Backwards", "period_start": "2024-12-31", "period_end": "2024-01-01"}
    page = owner.post(reverse("objective_new"), data).content.decode()
    assert "The period ends (2024-01-01) before it starts (2024-12-31)." in page
    assert not Objective.objects.exists()


def test_a_department_editor_sets_goals_and_objectives_in_their_department_only(client, shop, marketer):
    objectives = from_template(client, shop)
    marketing, company = objectives["Acquire customers efficiently"], objectives["Grow online sales"]
    editor = client_for(client, "marketer")

    ok = editor.post(reverse("goal_new"), goal_data(marketing, kpi(shop, "new_customers")))
    assert ok.status_code == 302 and Goal.objects.filter(kpi__kpi_id="new_customers").count() == 1
    # Another department's KPI, or a company objective: refused.
    assert editor.post(reverse("goal_new"), goal_data(marketing, kpi(shop, "fulfilment_time"))).status_code == 403
    assert editor.post(reverse("goal_new"), goal_data(company, kpi(shop, "new_customers"))).status_code == 403
    assert Goal.objects.count() == 1

    operations = Department.objects.get(org=shop, name="Operations & fulfilment")
    new = {"title": "Faster", "period_start": "2024-01-01", "period_end": "2024-12-31"}
    assert editor.post(reverse("objective_new"), new | {"department": operations.pk}).status_code == 403
    assert editor.post(reverse("objective_new"), new).status_code == 403, "company objectives need an unscoped editor"
    assert editor.post(reverse("objective_edit", args=[company.pk]), new).status_code == 403
    mine = editor.post(reverse("objective_new"), new | {"department": marketer.departments.get().pk})
    assert mine.status_code == 302
    assert Objective.objects.filter(org=shop).count() == 6

    # The scoped editor does not even see other departments' objectives.
    delivery = objectives["Fast, reliable delivery"]
    assert editor.get(reverse("objective_detail", args=[delivery.pk])).status_code == 404
    assert "Fast, reliable delivery" not in editor.get(reverse("objectives")).content.decode()


def test_viewer_reads_and_outsider_sees_nothing(client, shop, other_org):
    objectives = from_template(client, shop)
    owner = client_for(client, "owner")
    owner.post(reverse("goal_new"), goal_data(objectives["Grow online sales"], kpi(shop, "aov")))
    goal = Goal.objects.get()
    viewer = client_for(client, "viewer")
    assert viewer.get(reverse("goal_detail", args=[goal.pk])).status_code == 200
    assert viewer.post(reverse("goal_revise", args=[goal.pk]), {"reason": "x", "target": "1"}).status_code == 403
    assert "Revise target" not in viewer.get(reverse("goal_detail", args=[goal.pk])).content.decode()
    outsider = client_for(client, "outsider")
    for url in (
        reverse("goal_detail", args=[goal.pk]),
        reverse("objective_detail", args=[goal.objective_id]),
        reverse("department_page", args=[Department.objects.filter(org=shop).first().pk]),
    ):
        assert outsider.get(url).status_code == 404, url
    for url in (reverse("objectives"), reverse("strategy_map"), reverse("review")):
        page = outsider.get(url).content.decode()
        assert "Grow online sales" not in page and "Average order value" not in page, url


def test_a_relationship_to_itself_or_twice_is_refused(client, shop):
    owner = client_for(client, "owner")
    aov = kpi(shop, "aov").pk
    page = owner.post(reverse("relationships"), {"source": aov, "kind": "drives", "target": aov}).content.decode()
    assert "A KPI cannot be related to itself." in page
    lag = {"source": aov, "kind": "guardrail_for", "target": kpi(shop, "cac").pk, "lag": 2}
    assert "A lag only applies to &#x27;drives&#x27;" in owner.post(reverse("relationships"), lag).content.decode()
    assert not Relationship.objects.exists()


def test_department_page_lists_its_kpis_goals_and_owners(client, shop, marketer):
    objectives = from_template(client, shop)
    owner = client_for(client, "owner")
    owner.post(reverse("goal_new"), goal_data(objectives["Acquire customers efficiently"], kpi(shop, "cac")))
    KpiDefinition.objects.filter(org=shop, kpi_id="cac").update(owner=marketer)
    marketing = Department.objects.get(org=shop, name="Marketing")
    page = owner.get(reverse("department_page", args=[marketing.pk])).content.decode()
    rows = re.findall(r'<tr data-kpi="([a-z_]+)">', page)
    assert sorted(rows) == ["cac", "ltv_cac_ratio", "new_customers"]
    assert "Owners: marketer" in page and "Acquire customers efficiently" in page
    assert Goal.objects.get().status_label in page


def test_opening_a_kpi_records_the_view_and_shows_its_goals(client, shop):
    objectives = from_template(client, shop)
    owner = client_for(client, "owner")
    owner.post(reverse("goal_new"), goal_data(objectives["Grow online sales"], kpi(shop, "aov")))
    page = owner.get(reverse("kpi_detail", args=["aov"])).content.decode()
    assert "Serves: <a" in page and "Grow online sales" in page and 'data-goal="' in page
    first = KpiView.objects.get(kpi__kpi_id="aov").last_viewed
    owner.get(reverse("kpi_detail", args=["aov"]))
    assert KpiView.objects.filter(kpi__kpi_id="aov").count() == 1, "one row per member and KPI, updated"
    assert KpiView.objects.get(kpi__kpi_id="aov").last_viewed >= first


MANUAL_SPEC = {
    "id": "market_sentiment",
    "name": "Market sentiment",
    "metric": {"kind": "manual"},
    "category": "innovation_strategy",
    "unit": "score",
    "default_grain": "month",
}


def test_manual_entry_is_for_manual_kpis_and_editors_of_their_department(client, shop, marketer):
    KpiDefinition.objects.create(org=shop, kpi_id="market_sentiment", spec=MANUAL_SPEC, source="custom")
    assert client_for(client, "owner").get(reverse("manual_values", args=["aov"])).status_code == 404
    url = reverse("manual_values", args=["market_sentiment"])
    assert client_for(client, "viewer").post(url, {"period": "2024-12-01", "value": "1"}).status_code == 403
    assert client_for(client, "marketer").get(url).status_code == 404, "not in the marketer's departments"
    assert not ManualValue.objects.exists()


def test_an_org_without_a_template_is_told_to_write_its_own_objectives(client, db):
    create_org("Blank", make_user("solo"))
    response = client_for(client, "solo").post(reverse("objectives_from_template"), follow=True)
    assert "not made from a business template" in response.content.decode()
    assert not Objective.objects.exists()
    assert "Start from the" not in response.content.decode(), "no template offer on the empty page"
