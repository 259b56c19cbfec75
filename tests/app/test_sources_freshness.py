"""Freshness: a KPI is as fresh as its oldest input; stale marks follow the datasets a failing source
feeds (and only those); the Data page shows empty states, and scoped members see only their KPIs."""

from __future__ import annotations

from datetime import date

import pytest
from app_helpers import client_for, make_user
from django.urls import reverse

from headway.app.accounts.models import Department, Member, Role
from headway.app.accounts.onboarding import create_org
from headway.app.kpis.models import Dataset, KpiDefinition, KpiSource
from headway.app.sources import freshness
from headway.app.sources.models import Source, SourceKind, StaleKpi
from headway.engine.catalog import load_catalog


@pytest.fixture
def org(db):
    org = create_org("Fresh", make_user("boss"))
    sales = Department.objects.create(org=org, name="Sales")
    scoped = Member.objects.create(user=make_user("seller"), org=org, role=Role.VIEWER)
    scoped.departments.add(sales)
    catalog = load_catalog()
    for kpi_id, department in (("revenue", sales), ("cac", None), ("csat", None)):
        KpiDefinition.objects.create(
            org=org,
            kpi_id=kpi_id,
            spec=KpiDefinition.spec_json(catalog.get(kpi_id)),
            source=KpiSource.CATALOG,
            department=department,
        )
    Dataset.objects.create(org=org, name="orders", dataset_type="orders", rows=10, last_date=date(2024, 6, 30))
    Dataset.objects.create(org=org, name="marketing_spend", dataset_type="marketing_spend", last_date=date(2024, 5, 31))
    return org


def test_a_kpi_is_as_fresh_as_its_oldest_input(org):
    found = {k.kpi_id: k for k in freshness.kpi_freshness(org)}
    assert found["revenue"].data_as_of == date(2024, 6, 30) and found["revenue"].datasets == ["orders"]
    assert found["cac"].data_as_of == date(2024, 5, 31)  # orders to June, spend only to May
    assert found["cac"].datasets == ["marketing_spend", "orders"]
    assert found["csat"].data_as_of is None  # survey_responses never loaded


def test_stale_marks_follow_the_failing_sources_datasets(org):
    spend = Source.objects.create(org=org, name="Ads DB", kind=SourceKind.SQL, dataset="marketing_spend")
    assert freshness.mark_stale(spend, "connection refused") == ["cac"]
    orders = Source.objects.create(org=org, name="Shop DB", kind=SourceKind.SQL, dataset="orders")
    assert freshness.mark_stale(orders, "table orders does not exist") == ["cac", "revenue"]
    reasons = freshness.stale_kpis(org)
    assert set(reasons) == {"cac", "revenue"}
    assert "Ads DB" in reasons["cac"] and "Shop DB" in reasons["cac"] and "Ads DB" not in reasons["revenue"]
    freshness.mark_stale(orders, "timeout")  # a new failure replaces the reason
    assert "timeout" in freshness.stale_kpis(org)["revenue"]
    assert StaleKpi.objects.filter(source=orders).count() == 2
    freshness.clear_stale(spend)
    assert set(freshness.stale_kpis(org)) == {"cac", "revenue"}
    freshness.clear_stale(orders)
    assert freshness.stale_kpis(org) == {}


def test_the_data_page_without_sources_shows_how_to_start(client, org):
    page = client_for(client, "boss").get(reverse("sources")).content.decode()
    assert "No sources yet" in page and reverse("upload") in page
    assert 'id="dataset-orders"' in page and 'id="freshness-cac"' in page


def test_a_department_scoped_member_sees_only_its_kpis_freshness(client, org):
    page = client_for(client, "seller").get(reverse("sources"))
    assert [k.kpi_id for k in page.context["kpis"]] == ["revenue"]
    assert 'id="freshness-cac"' not in page.content.decode()
    assert reverse("upload") not in page.content.decode()  # a viewer gets no upload button
