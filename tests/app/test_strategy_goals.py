"""Goals in the web app: set on a KPI with the baseline from history, evaluated on the series store (numbers
checked against the engine and a hand computation), revised with a required reason (history kept and shown),
achieved / missed at the deadline, and shown on the scorecard card."""

from __future__ import annotations

import re
from datetime import date

import pytest
from app_helpers import client_for
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from headway.app.forecasts.models import StoredForecast
from headway.app.kpis.refresh import open_engine
from headway.app.strategy.models import Goal, GoalRevision, Objective

START, DEADLINE = date(2024, 7, 1), date(2025, 6, 30)


@pytest.fixture
def engine_aov(shop):
    """Monthly AOV straight from the org's DuckDB file (independent of the series store)."""
    hw = open_engine(shop)
    try:
        return hw.compute(["aov"], grain="month").set_index("period")["aov"]
    finally:
        hw.close()


@pytest.fixture
def objective(shop):
    return Objective.objects.create(
        org=shop, title="Grow online sales", period_start=date(2024, 1, 1), period_end=date(2025, 12, 31)
    )


def attr(page: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', page)
    assert found, f"{name} not on the page"
    return found.group(1)


def set_goal(client, shop, objective, **fields):
    data = {
        "objective": objective.pk,
        "kpi": shop.kpis.get(kpi_id="aov").pk,
        "kind": "absolute",
        "start": START.isoformat(),
        "deadline": DEADLINE.isoformat(),
        "trajectory": "linear",
        "cadence": "month",
    } | fields
    return client_for(client, "owner").post(reverse("goal_new"), data)


def test_a_goal_takes_its_baseline_from_history_and_reads_expected_vs_actual(client, shop, objective, engine_aov):
    baseline = engine_aov.loc["2024-06-01"]
    target = round(baseline * 1.2, 2)
    response = set_goal(client, shop, objective, target=str(target))
    assert response.status_code == 302, response.content.decode()[:2000]
    goal = Goal.objects.get()
    assert goal.baseline == pytest.approx(baseline, rel=1e-9)
    assert goal.baseline_period == date(2024, 6, 1) and goal.baseline_from_history
    assert objective.kpis.filter(kpi_id="aov").exists(), "the goal's KPI is attached to its objective"

    page = client.get(response["Location"]).content.decode()
    # Hand computation: data end 31 Dec 2024, so December is the 6th of 12 complete goal months.
    expected = baseline + (target - baseline) * 6 / 12
    actual = engine_aov.loc["2024-12-01"]
    assert float(attr(page, "data-expected")) == pytest.approx(expected, rel=1e-9)
    assert float(attr(page, "data-actual")) == pytest.approx(actual, rel=1e-9)
    assert float(attr(page, "data-gap")) == pytest.approx(actual - expected, rel=1e-9)
    progress = (actual - baseline) / (target - baseline)
    assert int(attr(page, "data-days")) == round((6 / 12 - progress) * 365)
    shortfall = (expected - actual) / expected
    status = "on_track" if actual >= expected else "at_risk" if shortfall <= 0.05 else "off_track"
    assert attr(page, 'class="goal" data-goal="\\d+" data-status') == status
    assert f"€{abs(actual - expected):,.2f}" in page, "the gap is shown in the KPI's unit"
    assert "How ambitious:" in page and 'data-chart="goal-spec"' in page
    assert page.count("<tr>") >= 6, "one checkpoint row per month passed"


def test_the_achievability_sentence_is_shown_while_setting_the_goal(client, shop, objective, engine_aov):
    aov = shop.kpis.get(kpi_id="aov")
    params = {"kpi": aov.pk, "kind": "absolute", "start": "2024-07-01", "deadline": "2024-12-31", "target": "999"}
    page = client_for(client, "owner").get(reverse("goal_preview"), params).content.decode()
    assert "How achievable?" in page
    assert f"€{engine_aov.loc['2024-06-01']:,.2f}" in page, "the baseline from history is offered"
    # A tenfold AOV never happened in the history: the sentence says so.
    assert "never happened" in page and 'data-verdict="unprecedented"' in page


def test_revising_needs_a_reason_and_the_history_is_kept_and_shown(client, shop, objective):
    set_goal(client, shop, objective, target="50")
    goal = Goal.objects.get()
    url = reverse("goal_revise", args=[goal.pk])
    owner = client_for(client, "owner")

    missing = owner.post(url, {"kind": "absolute", "target": "55", "deadline": "2025-06-30", "trajectory": "linear"})
    assert missing.status_code == 200 and 'id="id_reason_error"' in missing.content.decode()
    goal.refresh_from_db()
    assert goal.target == 50 and not GoalRevision.objects.exists(), "nothing changes without a reason"

    for target, deadline, reason in (
        ("55", "2025-06-30", "Supplier deal lowers prices"),
        ("52", "2025-09-30", "Launch slipped"),
    ):
        data = {"kind": "absolute", "target": target, "deadline": deadline, "trajectory": "linear", "reason": reason}
        assert owner.post(url, data).status_code == 302
    goal.refresh_from_db()
    assert (goal.target, goal.deadline) == (52, date(2025, 9, 30))
    revisions = list(GoalRevision.objects.order_by("at", "pk"))
    assert [(r.before["target"], r.after["target"]) for r in revisions] == [(50, 55), (55, 52)]
    assert revisions[1].before["deadline"] == "2025-06-30" and revisions[1].after["deadline"] == "2025-09-30"
    assert all(r.by.username == "owner" for r in revisions)

    page = owner.get(reverse("goal_detail", args=[goal.pk])).content.decode()
    assert "Supplier deal lowers prices" in page and "Launch slipped" in page
    assert "<del>€50.00</del> → <ins>€55.00</ins>" in page
    assert "<del>2025-06-30</del> → <ins>2025-09-30</ins>" in page


def test_a_goal_is_achieved_or_missed_at_the_deadline(client, shop, objective, engine_aov):
    june = engine_aov.loc["2024-06-01"]
    owner = client_for(client, "owner")
    for target in (june - 1, june + 1):
        response = set_goal(
            client, shop, objective, target=str(target), start="2024-01-01", deadline="2024-06-30", record_past="on"
        )
        assert response.status_code == 302
    low, high = Goal.objects.order_by("target")
    page_low = owner.get(reverse("goal_detail", args=[low.pk])).content.decode()
    page_high = owner.get(reverse("goal_detail", args=[high.pk])).content.decode()
    assert 'data-final="achieved"' in page_low and 'data-final="missed"' in page_high
    low.refresh_from_db()
    high.refresh_from_db()
    assert (low.status, low.final_outcome, high.status, high.final_outcome) == (
        "achieved",
        "achieved",
        "missed",
        "missed",
    )
    assert "€1.00 short" in page_high


def test_the_scorecard_card_shows_the_goal_status_and_follows_a_revision(client, shop, objective, engine_aov):
    december = engine_aov.loc["2024-12-01"]
    set_goal(client, shop, objective, target=str(round(december * 3, 2)))
    goal = Goal.objects.get()
    owner = client_for(client, "owner")
    page = owner.get(reverse("scorecard")).content.decode()
    card = page[page.index('data-kpi="aov"') :][:4000]
    assert 'data-goal-status="off_track"' in card, "tripling AOV in a year: December is far behind the plan"

    data = {"kind": "stay_above", "target": str(round(december / 2, 2)), "deadline": "2025-06-30"}
    data |= {"trajectory": "linear", "reason": "Hold the level instead"}
    assert owner.post(reverse("goal_revise", args=[goal.pk]), data).status_code == 302
    page = owner.get(reverse("scorecard")).content.decode()
    card = page[page.index('data-kpi="aov"') :][:4000]
    assert 'data-goal-status="on_track"' in card, "the cached card follows the revision"


def test_a_target_expression_reads_other_kpis(client, shop, objective, engine_aov):
    """'Stay above last year's AOV': the target is the AOV of December 2023 (the latest complete month a year back)."""
    response = set_goal(client, shop, objective, kind="stay_above", target_expr="aov@last_year")
    assert response.status_code == 302, response.content.decode()[:1500]
    page = client.get(response["Location"]).content.decode()
    assert float(attr(page, "data-expected")) == pytest.approx(engine_aov.loc["2023-12-01"], rel=1e-9)

    bad = set_goal(client, shop, objective, kind="stay_above", target_expr="aov@last_year +")
    assert bad.status_code == 200 and "column" in bad.content.decode()
    unknown = set_goal(client, shop, objective, kind="stay_above", target_expr="no_such_kpi * 2")
    assert "Not KPIs of this organisation: no_such_kpi" in unknown.content.decode()
    assert Goal.objects.count() == 1


def test_goals_add_no_query_to_a_cached_scorecard(client, shop, objective):
    set_goal(client, shop, objective, target="50")
    owner = client_for(client, "owner")
    owner.get(reverse("scorecard"))  # fills the cache (goal status read once, here)
    with CaptureQueriesContext(connection) as queries:
        page = owner.get(reverse("scorecard")).content.decode()
    assert 'data-goal-status="' in page
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) <= 5, sql
    assert not [q for q in sql if 'FROM "strategy_' in q], "goal state only inside the one state query"


def test_the_chance_of_success_comes_from_the_stored_forecast(client, shop, objective):
    """Forecast paths spread like a normal with sd 5 around 50: a target at the upper 80% bound (the 90th
    percentile) is met on about 10% of the paths, one at the mean on about half."""
    mean, sd = 50.0, 5.0
    months = [date(2025, m, 1) for m in range(1, 13)]
    points = [
        {"period": p.isoformat(), "mean": mean}
        | {f"lower_{lv}": mean - z * sd for lv, z in ((80, 1.2816), (95, 1.96))}
        | {f"upper_{lv}": mean + z * sd for lv, z in ((80, 1.2816), (95, 1.96))}
        for p in months
    ]
    StoredForecast.objects.update_or_create(
        run=shop.current_run, kpi_id="aov", grain="month", defaults={"org": shop, "points": points, "error": ""}
    )
    owner = client_for(client, "owner")
    for target, expected in ((mean + 1.2816 * sd, 10), (mean, 50)):
        set_goal(client, shop, objective, target=str(target), deadline="2025-03-31")
        goal = Goal.objects.latest("pk")
        page = owner.get(reverse("goal_detail", args=[goal.pk])).content.decode()
        shown = re.search(r'data-slot="goal-probability"><dt>Chance of success</dt><dd>(\d+)% likely', page)
        assert shown, "the chance is shown"
        assert abs(int(shown.group(1)) - expected) <= 3, (shown.group(1), expected)
    beyond = set_goal(client, shop, objective, target="60", deadline="2026-06-30")
    page = owner.get(beyond["Location"]).content.decode()
    assert "% likely" not in page, "no chance when the deadline lies beyond the forecast"


def test_a_rate_goal_states_its_gap_in_percentage_points(client, shop, objective):
    """Revenue growth is a rate: a gap of 0.031 between 5% expected and 1.9% actual is "3.1 pp", not "3.1%"
    (which would read as a relative shortfall of the plan)."""
    response = set_goal(
        client, shop, objective, kpi=shop.kpis.get(kpi_id="revenue_growth").pk, target="25", baseline="0"
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(response["Location"]).content.decode()
    gap = float(attr(page, "data-gap"))
    shown = re.search(r'data-gap="[^"]*">([^<]*)</dd>', page)
    assert shown, "the gap is shown"
    found = re.fullmatch(r"(-?[\d.]+)\xa0pp (ahead of|behind) plan", shown.group(1))
    assert found, f"the gap reads in percentage points: {shown.group(1)!r}"
    assert float(found.group(1)) == pytest.approx(abs(gap) * 100, abs=0.051)
    assert found.group(2) == ("ahead of" if gap >= 0 else "behind")
    line = re.search(r'<strong class="goal-status">[^<]*</strong> — ([^<]*)</p>', page)
    assert line, "the status line is shown"
    assert re.search(r"\d\xa0pp (ahead of|behind) plan", line.group(1)), line.group(1)


def test_a_running_goal_cannot_be_revised_to_a_deadline_the_data_has_passed(client, shop, objective):
    """The tiny shop's data ends 31 Dec 2024: moving a June 2025 deadline to November 2024 would decide the goal
    on save. Refused on the deadline field; an unchanged deadline or a later one still revises."""
    set_goal(client, shop, objective, target="50")
    goal = Goal.objects.get()
    url = reverse("goal_revise", args=[goal.pk])
    owner = client_for(client, "owner")
    data = {"kind": "absolute", "target": "50", "trajectory": "linear", "reason": "Board wants it sooner"}
    refused = owner.post(url, {**data, "deadline": "2024-11-30"})
    assert refused.status_code == 200
    errors = refused.context["form"].errors["deadline"]
    assert errors == [
        "The new deadline (30 Nov 2024) is not after the end of your data (31 Dec 2024): "
        "the goal would be decided the moment you save. Choose a later deadline."
    ]
    goal.refresh_from_db()
    assert goal.deadline == DEADLINE and not GoalRevision.objects.exists()
    assert owner.post(url, {**data, "target": "55", "deadline": DEADLINE.isoformat()}).status_code == 302
    assert owner.post(url, {**data, "deadline": "2025-03-31"}).status_code == 302
    goal.refresh_from_db()
    assert (goal.target, goal.deadline) == (50, date(2025, 3, 31))
