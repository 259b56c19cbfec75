"""Pages that show computed numbers: the strategy map coloured by goal status (with the leading KPI on the
lagging KPI's card), and manual values reaching the series store and the scorecard."""

from __future__ import annotations

import re
from datetime import date

import pytest
from app_helpers import client_for
from django.urls import reverse
from test_strategy_pages import MANUAL_SPEC, from_template, goal_data, kpi

from headway.app.kpis.models import KpiDefinition, SeriesPoint
from headway.app.strategy.models import Goal, ManualValue


def test_strategy_map_colours_kpis_by_goal_status_and_draws_relationships(client, shop):
    objectives = from_template(client, shop)
    owner = client_for(client, "owner")
    owner.post(reverse("goal_new"), goal_data(objectives["Grow online sales"], kpi(shop, "aov"), target="1000"))
    goal = Goal.objects.get()
    rel = {
        "source": kpi(shop, "new_customers").pk,
        "kind": "drives",
        "target": kpi(shop, "revenue_growth").pk,
        "lag": 1,
    }
    assert owner.post(reverse("relationships"), rel).status_code == 302
    page = owner.get(reverse("strategy_map")).content.decode()
    goal.refresh_from_db()
    assert goal.status == "off_track"
    for svg in re.findall(r"<svg class=\"strategy-map.*?</svg>", page, re.S):
        assert 'data-key="kpi-aov" data-tone="bad" data-status="off_track"' in svg
        assert 'data-key="obj-' in svg and 'class="edge drives"' in svg
    assert page.count('<svg class="strategy-map') == 2, "a wide and a narrow (phone) drawing"
    assert "New customers <em>drives</em> Revenue growth" in page
    # The lagging KPI's card names the leading one that drives it.
    scorecard = owner.get(reverse("scorecard")).content.decode()
    card = scorecard[scorecard.index('data-kpi="revenue_growth"') :][:4000]
    assert "Leading: New customers (1 period ahead)" in card


def test_manual_values_are_audited_kept_and_reach_the_scorecard(client, shop):
    KpiDefinition.objects.create(org=shop, kpi_id="market_sentiment", spec=MANUAL_SPEC, source="custom")
    owner = client_for(client, "owner")
    url = reverse("manual_values", args=["market_sentiment"])
    bad = owner.post(url, {"period": "2024-12-15", "value": "lots"}).content.decode()
    assert "Enter a number." in bad and not ManualValue.objects.exists()

    for period, value in (("2024-11-03", "61"), ("2024-12-15", "64.5"), ("2024-12-20", "66")):
        assert owner.post(url, {"period": period, "value": value, "note": "survey"}).status_code == 302
    values = ManualValue.objects.filter(kpi__kpi_id="market_sentiment")
    assert values.count() == 3, "the December correction keeps the first entry"
    current = {v.period: v.value for v in values.filter(is_current=True)}
    assert current == {date(2024, 11, 1): 61.0, date(2024, 12, 1): 66.0}
    assert all(v.entered_by.username == "owner" for v in values)

    shop.refresh_from_db()
    stored = SeriesPoint.objects.filter(run=shop.current_run, kpi_id="market_sentiment", dimension="")
    assert {(p.grain, p.period): p.value for p in stored} == {
        ("month", date(2024, 11, 1)): 61.0,
        ("month", date(2024, 12, 1)): 66.0,
        ("quarter", date(2024, 10, 1)): pytest.approx((61 + 66) / 2),
    }
    scorecard = owner.get(reverse("scorecard")).content.decode()
    card = scorecard[scorecard.index('data-kpi="market_sentiment"') :][:3000]
    assert 'data-raw="66.0"' in card and "December 2024" in card
    page = owner.get(url).content.decode()
    assert page.count('class="replaced"') == 1 and page.count('class="current"') == 2 and "owner" in page
