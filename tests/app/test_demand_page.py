"""The "Demand forecast" page: computed by the insights.demand job (never by the page), numbers equal an
independent run of the analytics layer on the same demo data, the parts add up on the page, empty states,
roles, department scope and tenants."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from app_helpers import client_for, make_user
from django.urls import reverse
from django.utils import timezone

from headway.analytics.demand import forecast_demand
from headway.app.accounts.models import Department, Member, Role
from headway.app.automation import jobs
from headway.app.automation.models import Job, JobStatus
from headway.app.insights.demand_views import units
from headway.app.insights.models import DemandReport
from headway.demo import generate
from headway.engine.warehouse import DuckDBWarehouse

URL = "demand"
KIND = "insights.demand"


def run_jobs() -> int:
    Job.objects.filter(kind=KIND, status=JobStatus.QUEUED).update(run_after=timezone.now())
    return jobs.run_pending()


@pytest.fixture(scope="module")
def demo():
    """The shop fixture's data (ecommerce, tiny, seed 1), straight from the generator."""
    return generate("ecommerce", size="tiny", seed=1).datasets


def rows_of(html: str) -> dict[str, list[float]]:
    """Table rows by node key: the exact units behind the next-period and the horizon-total cells."""
    found = re.findall(r'<tr class="level-[^"]+" data-node="([^"]+)">(.*?)</tr>', html, re.S)
    return {unescape(key): [float(v) for v in re.findall(r'data-units="([^"]+)"', body)] for key, body in found}


def shown_of(html: str, key: str) -> list[str]:
    body = re.search(rf'data-node="{re.escape(key)}">(.*?)</tr>', html, re.S).group(1)
    return [unescape(c) for c in re.findall(r'<td class="num"[^>]*>([^<]*)</td>', body)]


def chart_rows(html: str) -> list[dict]:
    spec = re.search(r'<script id="demand-spec" type="application/json">(.*?)</script>', html, re.S).group(1)
    return json.loads(spec)["datasets"]["series"]


def test_a_refresh_queues_the_job_and_the_page_computes_nothing(shop, client):
    assert Job.objects.filter(org=shop, kind=KIND, status=JobStatus.QUEUED).count() == 1
    html = client_for(client, "owner").get(reverse(URL)).content.decode()
    assert "Demand forecasts being computed" in html
    assert 'hx-trigger="load delay:3s"' in html
    assert not DemandReport.objects.exists(), "a page view forecasts nothing"


def test_the_page_shows_what_the_analytics_layer_forecasts(shop, client, demo):
    run_jobs()
    assert DemandReport.objects.filter(org=shop, error="").count() == 4  # week/month x products/by channel
    expected = forecast_demand(demo["order_lines"], demo["orders"], demo["products"], freq="W-MON", horizon=13)
    page = client_for(client, "viewer").get(reverse(URL), {"grain": "week", "horizon": "8"})
    html = page.content.decode()
    rows = rows_of(html)
    products = sorted(demo["products"].product_id)
    assert len(rows) == 1 + demo["products"].category.nunique() + len(products)
    for key in ["total:total", *(f"product:{p}" for p in products), "category:home"]:
        level, node = key.split(":", 1)
        band = expected.band(level, node)
        cumulative = expected.frame[(expected.frame.level == level) & (expected.frame.node == node)]
        next_units, total_units = rows[key]
        assert next_units == pytest.approx(band.forecast.iloc[0], abs=1e-3), key
        assert total_units == pytest.approx(cumulative.cumulative.iloc[7], abs=1e-3), key
        next_shown, next_range, total_shown, total_range = shown_of(html, key)
        assert next_shown == units(band.forecast.iloc[0], "en")
        assert total_shown == units(cumulative.cumulative.iloc[7], "en")
        assert next_range == f"{units(band.lower_80.iloc[0], 'en')} – {units(band.upper_80.iloc[0], 'en')}"
        low, high = cumulative.cumulative_lower_80.iloc[7], cumulative.cumulative_upper_80.iloc[7]
        assert total_range == f"{units(low, 'en')} – {units(high, 'en')}"
    # coherence on the page: the total row is the sum of the product rows, and of the category rows
    for column in (0, 1):
        product_sum = sum(v[column] for k, v in rows.items() if k.startswith("product:"))
        category_sum = sum(v[column] for k, v in rows.items() if k.startswith("category:"))
        assert rows["total:total"][column] == pytest.approx(product_sum, abs=1e-2)
        assert rows["total:total"][column] == pytest.approx(category_sum, abs=1e-2)
    # a product is listed under its own category
    order = list(rows)
    category = demo["products"].set_index("product_id").category
    for p in products:
        above = [k for k in order[: order.index(f"product:{p}")] if k.startswith("category:")]
        assert above[-1] == f"category:{category[p]}"
    # period labels, the data date, the model, units
    assert "Next week (Week of 30 Dec 2024), units" in html and "Next 8 weeks, units" in html
    assert "Week of 30 Dec 2024 to Week of 17 Feb 2025" in html
    assert "Based on data up to <strong>31 Dec 2024</strong>: Week of 30 Dec 2024 is under way" in html
    assert "Model: Theta with a 52-period season" in html
    assert "Recompute" not in html  # a viewer cannot recompute
    # the chart shows the total by default: its forecast rows are the total's forecast and 80% band
    forecast = [r for r in chart_rows(html) if r["part"] == "Forecast" and "label" in r][-8:]
    band = expected.band("total", "total")
    assert [r["value"] for r in forecast] == pytest.approx(list(band.forecast.iloc[:8]), abs=1e-3)
    assert [r["upper_80"] for r in forecast] == pytest.approx(list(band.upper_80.iloc[:8]), abs=1e-3)
    assert 'data-node="total:total"' in html and "All products: units per week" in html


def test_choosing_a_product_month_and_channel(shop, client, demo):
    run_jobs()
    owner = client_for(client, "owner")
    node = "product:P0003"
    html = owner.get(reverse(URL), {"grain": "week", "horizon": "4", "node": node}).content.decode()
    expected = forecast_demand(demo["order_lines"], demo["orders"], demo["products"], freq="W-MON", horizon=4)
    forecast = [r for r in chart_rows(html) if r["part"] == "Forecast" and "label" in r][-4:]
    assert [r["value"] for r in forecast] == pytest.approx(list(expected.node("product", "P0003")), abs=1e-3)
    assert "P0003 Classic Soap 3: units per week" in html
    actual = [r["value"] for r in chart_rows(html) if r["part"] == "Actual"]
    history = expected.history.query("level == 'product' and node == 'P0003'").quantity
    assert actual == pytest.approx(list(history.tail(52)))
    # monthly, split by channel: each product's channel rows add up to the product
    html = owner.get(reverse(URL), {"grain": "month", "horizon": "3", "split": "channel"}).content.decode()
    rows = rows_of(html)
    monthly = forecast_demand(demo["order_lines"], demo["orders"], demo["products"], freq="MS", horizon=3, by="channel")
    assert rows["channel:P0003 / web"][0] == pytest.approx(monthly.node("channel", "P0003 / web").iloc[0], abs=1e-3)
    parts = [v[1] for k, v in rows.items() if k.startswith("channel:P0003 / ")]
    assert len(parts) == 4 and sum(parts) == pytest.approx(rows["product:P0003"][1], abs=1e-2)
    assert "Next month (Dec 2024), units" in html and "Next 3 months, units" in html
    # bad choices are named, and the defaults shown instead
    html = owner.get(reverse(URL), {"grain": "year", "horizon": "99", "node": "product:nope"}).content.decode()
    assert "There is no &#x27;year&#x27; view" in html and "Cannot show &#x27;99&#x27; weeks ahead" in html
    assert "There is no &#x27;product:nope&#x27; in this forecast" in html and "Next 8 weeks, units" in html


def test_roles_scope_and_tenants(shop, other_org, client):
    run_jobs()
    assert DemandReport.objects.filter(org=shop).count() == 4
    # a viewer cannot queue a recompute
    assert client_for(client, "viewer").post(reverse("demand_recompute")).status_code == 403
    assert not Job.objects.filter(org=shop, kind=KIND, status=JobStatus.QUEUED).exists()
    # the owner can (jobs run inline in tests: HEADWAY_JOBS=sync); the new reports replace the old ones
    before = set(DemandReport.objects.values_list("pk", flat=True))
    response = client_for(client, "owner").post(reverse("demand_recompute"), {"grain": "month", "horizon": "6"})
    assert response.status_code == 302 and response["Location"] == reverse(URL) + "?grain=month&horizon=6"
    after = set(DemandReport.objects.filter(org=shop).values_list("pk", flat=True))
    assert len(after) == 4 and not after & before
    html = client_for(client, "owner").get(reverse(URL)).content.decode()
    assert "Recompute</button>" in html and "succeeded" in html
    # another tenant sees its own (empty) page, never this org's products, whatever it asks for
    html = client_for(client, "outsider").get(reverse(URL), {"node": "product:P0003"}).content.decode()
    assert "P0003" not in html and "Classic" not in html and "Import order lines to see demand forecasts" in html
    # a department-scoped member sees no product list
    scoped = Member.objects.create(user=make_user("sales_lead"), org=shop, role=Role.EDITOR)
    scoped.departments.add(Department.objects.create(org=shop, name="Sales X"))
    html = client_for(client, "sales_lead").get(reverse(URL)).content.decode()
    assert "P0003" not in html and "limited to your departments" in html


def test_no_order_lines_gives_an_empty_state(other_org, client):
    html = client_for(client, "outsider").get(reverse(URL)).content.decode()
    assert "Import order lines to see demand forecasts" in html
    assert f'href="{reverse("upload")}"' in html
    assert "Recompute" not in html
    response = client_for(client, "outsider").post(reverse("demand_recompute"), follow=True)
    assert "need an order lines dataset" in response.content.decode()
    assert not Job.objects.filter(kind=KIND).exists()


def test_too_little_history_is_said(shop, client, demo):
    """Only order lines from Monday 16 Dec 2024 (data ends Tuesday 31 Dec): 2 complete weeks, short of 4."""
    lines = demo["order_lines"]
    recent = lines[lines.ordered_at >= "2024-12-16"]
    wh = DuckDBWarehouse(shop.warehouse_path())
    try:
        wh.load_frame("order_lines", recent, dataset_type="order_lines")
    finally:
        wh.close()
    run_jobs()
    html = client_for(client, "owner").get(reverse(URL)).content.decode()
    assert "No demand forecast: At least 4 complete weeks of sales are needed; there are 2." in html
    assert "Recompute</button>" in html
