"""The Demand forecast page in a real browser: while the insights.demand job waits the page says so and polls;
a worker run (`headway worker --once`, as in production) computes it and the poll swaps in the table, with the
total equal to the sum of the products, and the total's fan chart; clicking a product redraws the chart for
that product in place (htmx), with the address updated."""

from __future__ import annotations

import json
import subprocess

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from .conftest import HEADWAY, server_env

pytestmark = pytest.mark.browser

COMPUTE_TIMEOUT = 120_000  # ms: the worker forecasts every variant (and runs whatever else is due)


def forecast_values(page) -> list[float]:  # type: ignore[no-untyped-def]
    """The chart's forecast points (the first forecast row only joins the line to the last actual one)."""
    spec = json.loads(page.locator("#demand-spec").text_content())
    return [r["value"] for r in spec["datasets"]["series"] if r["part"] == "Forecast"][1:]


def units(row) -> float:  # type: ignore[no-untyped-def]
    return float(row.locator("td[data-units]").first.get_attribute("data-units"))


def test_demand_page_computed_by_the_worker_then_click_a_product(page, web_server) -> None:
    problems: list[str] = []  # console errors, and Vega's warnings about the chart
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" or "WARN" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(reverse("demand"))
    expect(page.locator("h1")).to_have_text("Demand forecast")
    expect(page.locator("#demand")).to_contain_text("Demand forecasts being computed")

    # the demo's refresh queued the job; a worker run computes it while the page keeps polling
    subprocess.run(
        [HEADWAY, "worker", "--once", "--no-migrate"],
        env=server_env(web_server.data_dir),
        check=True,
        capture_output=True,
        timeout=COMPUTE_TIMEOUT / 1000,
    )
    expect(page.locator("table.demand")).to_be_visible(timeout=COMPUTE_TIMEOUT)

    products = page.locator("table.demand tr.level-product")
    assert products.count() == 12  # the tiny e-commerce demo sells 12 products
    total = units(page.locator('tr[data-node="total:total"]'))
    assert total == pytest.approx(sum(units(products.nth(i)) for i in range(products.count())), abs=1e-2)

    chart = page.locator("#demand-chart")
    expect(chart).to_have_attribute("data-node", "total:total")
    expect(chart.locator(".chart[data-drawn] svg").first).to_be_visible()
    total_forecast = forecast_values(page)
    assert len(total_forecast) == 8 and total_forecast[0] == pytest.approx(total, abs=1e-3)

    row = page.locator('tr[data-node="product:P0003"]')
    product_next = units(row)
    row.locator("th a").click()
    expect(page.locator('#demand-chart[data-node="product:P0003"]')).to_have_count(1)
    expect(page.locator("#demand-chart-title")).to_contain_text("P0003")
    expect(page.locator("#demand-chart .chart[data-drawn] svg").first).to_be_visible()
    assert forecast_values(page)[0] == pytest.approx(product_next, abs=1e-3)
    assert forecast_values(page) != total_forecast
    assert "node=product%3AP0003" in page.url
    expect(page.locator("table.demand")).to_be_visible()  # the click swapped the chart only
    assert problems == []
