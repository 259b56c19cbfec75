"""The catalog page: browsing, search, computability for the org's data, and adding a KPI (owner, viewer, outsider)."""

from __future__ import annotations

import re

import pytest
from app_helpers import client_for
from django.urls import reverse

from headway.app.kpis.models import KpiDefinition, KpiSource, SeriesPoint
from headway.engine.catalog import load_catalog

ROW = re.compile(r'<li class="catalog-kpi" data-kpi="([a-z0-9_]+)"')


def rows(html: str) -> list[str]:
    return ROW.findall(html)


def row_html(html: str, kpi_id: str) -> str:
    start = html.index(f'<li class="catalog-kpi" data-kpi="{kpi_id}"')
    return html[start : html.index("</li>", start)]


def test_catalog_lists_the_library_grouped_by_category(client, shop):
    page = client_for(client, "owner").get(reverse("catalog")).content.decode()
    ids = rows(page)
    assert len(ids) == len(load_catalog()) >= 60
    assert "Financial" in page and "Marketing and sales" in page
    revenue = row_html(page, "revenue")
    assert load_catalog().get("revenue").description[:40] in revenue
    assert "Lagging" in revenue and "Unit: money" in revenue


def test_computable_and_missing_fields_for_the_demo_data(client, shop):
    page = client_for(client, "owner").get(reverse("catalog")).content.decode()
    # The tiny e-commerce data has orders with fulfilment times but no production runs.
    assert "Your data can compute this" in row_html(page, "median_order_value")
    assert "Your data can compute this" in row_html(page, "fulfilment_time")
    defect = row_html(page, "defect_rate")
    assert "can compute" not in defect
    for field in ("production_runs.completed_at", "production_runs.units_defective", "production_runs.units_produced"):
        assert field in defect


def test_already_on_the_scorecard(client, shop):
    page = client_for(client, "owner").get(reverse("catalog")).content.decode()
    existing = KpiDefinition.objects.filter(org=shop).values_list("kpi_id", flat=True).first()
    assert "Already on your scorecard" in row_html(page, existing)
    assert 'class="add"' not in row_html(page, existing)


def test_search_and_category_filter(client, shop):
    c = client_for(client, "owner")
    page = c.get(reverse("catalog"), {"q": "churn"}).content.decode()
    ids = rows(page)
    assert ids and all("churn" in (k + load_catalog().get(k).description.lower()) for k in ids)
    assert "revenue" not in ids
    page = c.get(reverse("catalog"), {"category": "people"}).content.decode()
    assert {load_catalog().get(k).category.value for k in rows(page)} == {"people"}
    assert "No KPI matches" in c.get(reverse("catalog"), {"q": "zzzqqq"}).content.decode()


def test_htmx_search_returns_only_the_results(client, shop):
    response = client_for(client, "owner").get(reverse("catalog"), {"q": "cash"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="catalog-results"') and "<html" not in html
    assert rows(html)


def test_add_creates_the_definition_and_computes_it(client, shop):
    kpi_id = "median_order_value"
    assert not KpiDefinition.objects.filter(org=shop, kpi_id=kpi_id).exists()
    last = KpiDefinition.objects.filter(org=shop).order_by("-position").first()
    c = client_for(client, "owner")
    assert f'data-add="{kpi_id}"' in c.get(reverse("catalog")).content.decode()
    response = c.post(reverse("catalog_add", args=[kpi_id]))
    assert response.status_code == 302
    definition = KpiDefinition.objects.get(org=shop, kpi_id=kpi_id)
    assert definition.source == KpiSource.CATALOG and definition.position > last.position
    assert definition.to_spec() == load_catalog().get(kpi_id)
    shop.refresh_from_db()
    values = SeriesPoint.objects.filter(run=shop.current_run, kpi_id=kpi_id, grain="month", dimension="")
    assert values.exclude(value=None).count() > 0
    # Adding twice changes nothing.
    c.post(reverse("catalog_add", args=[kpi_id]))
    assert KpiDefinition.objects.filter(org=shop, kpi_id=kpi_id).count() == 1


def test_add_with_htmx_returns_the_row_confirmed(client, shop):
    response = client_for(client, "owner").post(
        reverse("catalog_add", args=["active_customers"]), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and rows(html) == ["active_customers"] and "Added" in html


def test_unknown_kpi_is_404(client, shop):
    assert client_for(client, "owner").post(reverse("catalog_add", args=["no_such_kpi"])).status_code == 404


def test_viewer_sees_no_add_button_and_cannot_add(client, shop):
    c = client_for(client, "viewer")
    page = c.get(reverse("catalog")).content.decode()
    assert rows(page) and 'class="add"' not in page
    assert c.post(reverse("catalog_add", args=["median_order_value"])).status_code == 403
    assert not KpiDefinition.objects.filter(org=shop, kpi_id="median_order_value").exists()


def test_outsider_adds_into_their_own_org_only(client, shop, other_org):
    before = KpiDefinition.objects.filter(org=shop).count()
    client_for(client, "outsider").post(reverse("catalog_add", args=["median_order_value"]))
    assert KpiDefinition.objects.filter(org=shop).count() == before
    assert KpiDefinition.objects.filter(org=other_org, kpi_id="median_order_value").exists()


def test_org_without_data_can_compute_nothing(client, other_org):
    page = client_for(client, "outsider").get(reverse("catalog")).content.decode()
    assert "has no data yet" in page
    assert "Needs orders" in row_html(page, "revenue")
    assert "Entered by hand" in row_html(page, "compliance_score")


@pytest.mark.parametrize("user", ["owner", "viewer", "outsider"])
def test_every_member_can_browse(client, shop, other_org, user):
    assert client_for(client, user).get(reverse("catalog")).status_code == 200


def test_anonymous_is_sent_to_sign_in(client, shop):
    assert client.get(reverse("catalog")).status_code == 302
    assert client.post(reverse("catalog_add", args=["revenue"])).status_code == 302
