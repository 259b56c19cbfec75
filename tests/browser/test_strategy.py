"""The strategy pages in a real browser: create an objective, attach KPIs, set a goal (the achievability
sentence appears while typing), and see its status on the goal page, the scorecard and the strategy map —
the status checked against the goal maths done by hand on the engine's numbers."""

from __future__ import annotations

import re
from datetime import date

import pytest
from numpy.testing import assert_allclose
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_objective_kpis_goal_then_status_on_scorecard_and_map(page, warehouse) -> None:
    monthly = warehouse.compute(["aov"])["aov"]
    baseline, december = monthly[date(2024, 6, 1)], monthly[date(2024, 12, 1)]
    target = round(baseline * 3, 2)
    # Linear plan from July 2024 to June 2025: December is 6 of 12 months in.
    expected = baseline + (target - baseline) * 6 / 12
    assert december < expected * 0.95, "tripling AOV in a year: December must be off track"

    page.goto("/objectives/")
    page.get_by_role("link", name="New objective").click()
    page.fill("#id_title", "Bigger baskets")
    page.fill("#id_description", "Customers buy more per order.")
    page.get_by_label("Average order value").check()
    page.get_by_label("Website conversion rate").check()
    page.get_by_role("button", name="Save objective").click()
    expect(page.locator("h1")).to_have_text("Bigger baskets")
    expect(page.locator('.kpi-list li[data-kpi="aov"]')).to_have_count(1)
    expect(page.locator('.kpi-list li[data-kpi="website_conversion_rate"]')).to_have_count(1)

    page.locator('.kpi-list li[data-kpi="aov"]').get_by_role("link", name="set a goal").click()
    expect(page.locator("#id_kpi option:checked")).to_contain_text("Average order value")
    expect(page.locator("#id_objective option:checked")).to_have_text("Bigger baskets")
    page.fill("#id_start", "2024-07-01")
    page.fill("#id_deadline", "2025-06-30")
    page.fill("#id_target", str(target))
    preview = page.locator("#goal-preview .achievability")
    expect(preview).to_contain_text("How achievable?")
    expect(preview).to_contain_text("happened")  # "… never happened …" or "… happened in N of …"
    page.get_by_role("button", name="Set goal").click()

    expect(page.locator(".goal-status")).to_have_text("Off track")
    assert_allclose(float(page.locator("[data-expected]").get_attribute("data-expected")), expected, rtol=1e-9)
    assert_allclose(float(page.locator("[data-actual]").get_attribute("data-actual")), december, rtol=1e-9)
    expect(page.locator("table.checkpoints tbody tr")).to_have_count(6)
    expect(page.locator('[data-chart="goal-spec"] svg').first).to_be_visible()

    page.goto("/")
    status = page.locator('li.card[data-kpi="aov"] .goal-status')
    expect(status).to_have_attribute("data-goal-status", "off_track")
    expect(status).to_contain_text("Goal: Off track")

    page.goto("/strategy/map/")
    wide = page.locator(".map-wide svg")
    expect(wide.locator('a.node[data-key="kpi-aov"]')).to_have_attribute("data-tone", "bad")
    objective_node = wide.locator("a.node.objective", has_text="Bigger baskets")
    expect(objective_node).to_have_attribute("data-tone", "bad")
    # At phone width the two-column drawing is shown instead, and it fits the screen.
    page.set_viewport_size({"width": 375, "height": 800})
    narrow = page.locator(".map-narrow svg")
    expect(narrow).to_be_visible()
    expect(wide).to_be_hidden()
    box = narrow.bounding_box()
    assert box is not None and box["width"] <= 375
    expect(narrow.locator('a.node[data-key="kpi-aov"]')).to_have_attribute("data-status", "off_track")


def test_goal_charts_label_each_month_once(page) -> None:
    """A goal over a few months drew ticks every week, each labelled with its month ("Oct 2024 Oct 2024 …")."""
    page.goto("/objectives/")
    links = page.locator('.kpi-list a[href^="/goals/"]')
    expect(links.first).to_be_visible()
    every = {links.nth(i).get_attribute("href") or "" for i in range(links.count())}
    hrefs = sorted(h for h in every if re.fullmatch(r"/goals/\d+/", h))  # not the "set a goal" links
    assert hrefs, "the demo's template objectives come with starter goals"
    for href in hrefs:
        page.goto(href)
        x_axis = page.locator('[data-chart="goal-spec"] svg g.role-axis[aria-label^="X-axis"]')
        expect(x_axis).to_have_count(1)
        labels = x_axis.locator("g.role-axis-label text")
        shown = [
            labels.nth(i).text_content() for i in range(labels.count()) if labels.nth(i).get_attribute("opacity") != "0"
        ]
        assert shown and len(shown) == len(set(shown)), (href, shown)
