"""The portfolio review on a real organisation: planted orphans, a redundant pair, a goal without a guardrail,
a lagging KPI without a leading one, stale and unviewed KPIs — on the page and in `headway review`."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from app_helpers import client_for
from django.urls import reverse
from django.utils import timezone
from typer.testing import CliRunner

from headway.app.kpis.models import Dataset, KpiDefinition, SeriesPoint
from headway.app.kpis.refresh import GRAINS
from headway.app.strategy.manual import manual_points, save_manual_value
from headway.app.strategy.models import Goal, Objective, Relationship, ReviewSettings
from headway.app.strategy.portfolio import run_review
from headway.cli.main import app
from headway.engine.spec import Grain


@pytest.fixture
def planted(client, shop):
    """Template objectives over all 15 KPIs, plus planted problems (and one goal that is fine)."""
    client_for(client, "owner").post(reverse("objectives_from_template"))
    Goal.objects.filter(org=shop).delete()  # the template's starter goals: the planted model sets its own
    aov = shop.kpis.get(kpi_id="aov")
    KpiDefinition.objects.create(org=shop, kpi_id="aov_copy", spec={**aov.spec, "id": "aov_copy", "name": "AOV copy"})
    spec = {"id": "partner_score", "name": "Partner score", "metric": {"kind": "manual"}, "category": "customer"}
    partner = KpiDefinition.objects.create(org=shop, kpi_id="partner_score", spec=spec, source="custom")
    for month in range(1, 10):  # values until September 2024; the data runs to December
        save_manual_value(partner, Grain.MONTH, date(2024, month, 1), 70.0 + month, "", None)
    # Into the current run's series, as a refresh would put them (saves a recompute per test).
    points, _ = manual_points(shop, {"partner_score": partner.to_spec()}, GRAINS)
    run = shop.current_run
    copies = [
        SeriesPoint(run=run, kpi_id="aov_copy", grain=p.grain, period=p.period, dimension=p.dimension, value=p.value)
        for p in SeriesPoint.objects.filter(run=run, kpi_id="aov", dimension="")
    ]
    for p in points:
        p.run = run
    SeriesPoint.objects.bulk_create(points + copies)
    sales = Objective.objects.get(org=shop, title="Grow online sales")
    for kpi_id in ("net_cash_flow", "aov"):
        Goal.objects.create(
            org=shop,
            objective=sales,
            kpi=shop.kpis.get(kpi_id=kpi_id),
            target=1,
            start=date(2025, 1, 1),
            deadline=date(2025, 6, 30),
        )
    return shop


def by_check(findings) -> dict[str, set[tuple[str, ...]]]:
    out: dict[str, set[tuple[str, ...]]] = {}
    for f in findings:
        out.setdefault(f.check, set()).add(f.kpi_ids)
    return out


def test_the_review_finds_the_planted_problems(client, planted):
    found = by_check(run_review(planted).findings)
    assert found["no_objective"] == {("aov_copy",), ("partner_score",)}, "only the two planted orphans"
    assert found["redundant"] == {("aov", "aov_copy")}
    # net_cash_flow has no guardrail anywhere; aov's catalog guardrail (discount_rate) is on the scorecard.
    assert found["goal_without_guardrail"] == {("net_cash_flow",)}
    # Planted: partner_score has no value for October to December. Also real in the tiny demo: its last
    # support ticket was opened in the week of 2 Dec, three complete weeks before the data end.
    assert Dataset.objects.get(org=planted, name="support_tickets").last_date < date(2024, 12, 9)
    assert found["stale"] == {("partner_score",), ("first_response_time",)}
    lagging = {d.kpi_id for d in planted.kpis.all() if d.spec.get("indicator", "lagging") == "lagging"}
    assert found["lagging_without_leading"] == {(k,) for k in lagging}
    assert len(found["not_viewed"]) == 17 and len(found["no_owner"]) == 17 and "overload" not in found
    assert len(found["no_goal"]) == 15
    redundant = next(f for f in run_review(planted).findings if f.check == "redundant")
    assert redundant.value == pytest.approx(1.0), "a copy correlates perfectly with its original"
    stale = next(f for f in run_review(planted).findings if f.check == "stale" and f.kpi_ids == ("partner_score",))
    assert stale.value == 3


def test_fixing_the_model_clears_the_findings(client, planted):
    owner = client_for(client, "owner")
    cash = planted.kpis.get(kpi_id="net_cash_flow")
    Relationship.objects.create(
        org=planted, source=planted.kpis.get(kpi_id="gross_margin_pct"), target=cash, kind="guardrail_for"
    )
    Relationship.objects.create(
        org=planted,
        source=planted.kpis.get(kpi_id="new_customers"),
        target=planted.kpis.get(kpi_id="revenue_growth"),
        kind="drives",
        lag=1,
    )
    owner.get(reverse("kpi_detail", args=["aov"]))
    found = by_check(run_review(planted).findings)
    assert "goal_without_guardrail" not in found
    assert ("revenue_growth",) not in found["lagging_without_leading"]
    assert ("aov",) not in found["not_viewed"] and len(found["not_viewed"]) == 16


def test_a_view_long_ago_counts_as_not_viewed(client, planted):
    client_for(client, "owner").get(reverse("kpi_detail", args=["aov"]))
    later = timezone.now() + timedelta(days=91)
    finding = next(
        f for f in run_review(planted, now=later).findings if f.check == "not_viewed" and f.kpi_ids == ("aov",)
    )
    assert finding.value == 91


def test_the_review_page_lists_every_finding_with_its_action_and_the_reminder(client, planted):
    owner = client_for(client, "owner")
    page = owner.get(reverse("review")).content.decode()
    for check in (
        "no_objective",
        "redundant",
        "goal_without_guardrail",
        "stale",
        "not_viewed",
        "lagging_without_leading",
    ):
        assert f'data-check="{check}"' in page, check
    assert page.count("<strong>Suggested:</strong>") == len(run_review(planted).findings)
    assert (
        "AOV copy and Average order value moved together" in page
        or "Average order value and AOV copy moved together" in page
    )
    assert "review is due" not in page

    assert ReviewSettings.objects.count() == 0
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = owner.post(
        reverse("review_settings"), {"cadence": "quarterly", "next_review": past, "not_viewed_days": 90}
    )
    assert response.status_code == 302
    assert "The review is due" in owner.get(reverse("review")).content.decode()
    assert "portfolio review is due" in owner.get(reverse("objectives")).content.decode()
    owner.post(reverse("review_done"))
    settings = ReviewSettings.objects.get(org=planted)
    assert settings.last_reviewed == timezone.localdate() and settings.next_review > timezone.localdate()
    assert settings.next_review.month == (timezone.localdate().month + 2) % 12 + 1
    assert client_for(client, "viewer").post(reverse("review_done")).status_code == 403


def test_headway_review_prints_the_same_findings(client, planted):
    result = CliRunner().invoke(app, ["review", "--org", planted.slug, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    page_findings = run_review(planted).findings
    assert data["org"] == planted.slug and data["kpis"] == 17
    assert [(f["check"], tuple(f["kpis"])) for f in data["findings"]] == [(f.check, f.kpi_ids) for f in page_findings]
    redundant = next(f for f in data["findings"] if f["check"] == "redundant")
    assert redundant["kpis"] == ["aov", "aov_copy"] and redundant["action"].startswith("Keep the one closer")

    table = CliRunner().invoke(app, ["review", "--org", planted.slug])
    assert table.exit_code == 0, table.output
    assert "KPIs that serve no objective" in table.stdout and "Metric overload" not in table.stdout
    assert table.stdout.count("Suggested action: ") == len(page_findings)
    assert "warning AOV copy serves no objective." in table.stdout
    assert f"{len(page_findings)} findings." in table.stdout

    missing = CliRunner().invoke(app, ["review", "--org", "no-such-org"])
    assert missing.exit_code == 1 and "no organisation 'no-such-org'" in missing.stderr
