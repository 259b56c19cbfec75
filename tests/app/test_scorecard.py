"""The scorecard: values as the engine has them, partial periods, statuses, locales, filters, scoping, empty states."""

from __future__ import annotations

import re
from datetime import date

import pytest
from app_helpers import client_for, make_user
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from headway.app.accounts.models import Department, Member, Role
from headway.app.accounts.onboarding import create_org
from headway.app.kpis.formatting import format_delta, format_number, format_unit_value, period_label
from headway.app.kpis.models import KpiDefinition, Run, SeriesPoint
from headway.app.kpis.refresh import execute, open_engine
from headway.engine.scoring import Delta
from headway.engine.spec import Unit

NBSP = "\u00a0"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rendered cards are cached per run; tests edit a run's series in place, which the app never does."""
    cache.clear()


def card(page: str, kpi_id: str) -> str:
    match = re.search(rf'<li class="card[^"]*" data-kpi="{kpi_id}".*?</li>', page, re.S)
    assert match, f"no card for {kpi_id}"
    return match.group(0)


def raw_value(card_html: str) -> float:
    match = re.search(r'<p class="value" data-raw="([^"]*)">', card_html)
    assert match and match.group(1), card_html
    return float(match.group(1))


def shown_value(card_html: str) -> str:
    match = re.search(r'<p class="value" data-raw="[^"]*">([^<]*)</p>', card_html)
    assert match
    return match.group(1)


def card_ids(page: str) -> set[str]:
    return set(re.findall(r'<li class="card[^"]*" data-kpi="([a-z0-9_]+)"', page))


def scorecard(client, username: str, **params: str) -> str:
    response = client_for(client, username).get(reverse("scorecard"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_card_values_equal_the_engine_for_the_latest_complete_period(client, shop):
    assert shop.current_run.data_as_of == date(2024, 12, 31)
    hw = open_engine(shop)
    try:
        monthly = hw.compute(["aov", "new_customers"], grain="month").set_index("period")
        weekly = hw.compute(["website_conversion_rate"], grain="week").set_index("period")
    finally:
        hw.close()
    page = scorecard(client, "owner")

    aov = card(page, "aov")
    expected = monthly.loc["2024-12-01", "aov"]
    assert raw_value(aov) == pytest.approx(expected, rel=1e-12)
    assert shown_value(aov) == f"€{expected:,.2f}"
    assert '<p class="period">December 2024' in aov
    growth = expected / monthly.loc["2024-11-01", "aov"] - 1
    assert format_delta(Delta(growth, False, growth > 0)) in aov
    assert raw_value(card(page, "new_customers")) == pytest.approx(monthly.loc["2024-12-01", "new_customers"])

    # Weekly KPI: the data end on Tuesday 31 Dec, so the week of 30 Dec is partial and 23 Dec is scored.
    conversion = card(page, "website_conversion_rate")
    assert raw_value(conversion) == pytest.approx(weekly.loc["2024-12-23", "website_conversion_rate"], rel=1e-12)
    assert "Week of 23 Dec 2024" in conversion
    assert "Week of 30 Dec 2024 so far" in conversion and "not compared" in conversion
    assert f'href="{reverse("kpi_detail", args=["aov"])}"' in aov


def test_a_partial_last_month_is_labelled_and_not_compared(client, shop):
    run = shop.current_run
    run.data_as_of = date(2024, 12, 15)
    run.save()
    stored = {p.period: p.value for p in SeriesPoint.objects.filter(run=run, kpi_id="aov", grain="month", dimension="")}
    aov = card(scorecard(client, "owner"), "aov")
    assert raw_value(aov) == pytest.approx(stored[date(2024, 11, 1)])
    assert '<p class="period">November 2024</p>' in aov
    assert "December 2024 so far" in aov and "not compared" in aov
    # The change is November vs October, never the partial December vs November.
    growth = stored[date(2024, 11, 1)] / stored[date(2024, 10, 1)] - 1
    assert format_delta(Delta(growth, False, growth > 0)) in aov
    partial_growth = stored[date(2024, 12, 1)] / stored[date(2024, 11, 1)] - 1
    assert format_delta(Delta(partial_growth, False, partial_growth > 0)) not in aov


def test_only_a_partial_period_is_shown_as_so_far_without_status_or_changes(client, shop):
    SeriesPoint.objects.filter(run=shop.current_run, kpi_id="revenue_growth", period__lt=date(2024, 12, 1)).delete()
    run = shop.current_run
    run.data_as_of = date(2024, 12, 15)
    run.save()
    growth_card = card(scorecard(client, "owner"), "revenue_growth")
    assert "December 2024 so far" in growth_card and "partial, not scored" in growth_card
    assert 'data-status="none"' in growth_card and 'class="changes"' not in growth_card


def set_spec(shop, kpi_id: str, **changes: object) -> None:
    definition = KpiDefinition.objects.get(org=shop, kpi_id=kpi_id)
    definition.spec = {**definition.spec, **changes}
    definition.save()


def test_status_reads_thresholds_in_the_kpis_direction(client, shop):
    value = SeriesPoint.objects.get(
        run=shop.current_run, kpi_id="aov", grain="month", dimension="", period=date(2024, 12, 1)
    ).value
    set_spec(shop, "aov", direction="higher", thresholds={"good": value - 10, "warning": value - 20})
    aov = card(scorecard(client, "owner"), "aov")
    assert 'data-status="good"' in aov and "On track" in aov
    set_spec(shop, "aov", direction="higher", thresholds={"good": value + 20, "warning": value + 10})
    assert 'data-status="bad"' in card(scorecard(client, "owner"), "aov")
    # The same value against mirrored bands of a lower-is-better KPI.
    set_spec(shop, "aov", direction="lower", thresholds={"good": value - 20, "warning": value + 10})
    aov = card(scorecard(client, "owner"), "aov")
    assert 'data-status="warning"' in aov and "At risk" in aov
    set_spec(shop, "aov", direction="lower", thresholds={"good": value + 10, "warning": value + 20})
    assert 'data-status="good"' in card(scorecard(client, "owner"), "aov")
    set_spec(shop, "aov", direction="lower", thresholds={"good": value - 20, "warning": value - 10})
    aov = card(scorecard(client, "owner"), "aov")
    assert 'data-status="bad"' in aov and "Off track" in aov
    # A rise is coloured as worse for a lower-is-better KPI.
    stored = dict(
        SeriesPoint.objects.filter(run=shop.current_run, kpi_id="aov", grain="month", dimension="").values_list(
            "period", "value"
        )
    )
    rose = stored[date(2024, 12, 1)] > stored[date(2024, 11, 1)]
    assert ("change worse" if rose else "change better") in aov.split("vs last year")[0]


@pytest.mark.parametrize(
    ("locale", "money", "percent", "count"),
    [
        ("en", "€1,234.56", "12.5%", "1,234,567"),
        ("de", f"1.234,56{NBSP}€", f"12,5{NBSP}%", "1.234.567"),
        ("de-CH", f"€{NBSP}1’234.56", "12.5%", "1’234’567"),
        ("fr", f"1\u202f234,56{NBSP}€", "12,5\u202f%", "1\u202f234\u202f567"),
        ("es", f"1234,56{NBSP}€", f"12,5{NBSP}%", "1.234.567"),
        ("it", f"1.234,56{NBSP}€", "12,5%", "1.234.567"),
        ("nl", f"€{NBSP}1.234,56", "12,5%", "1.234.567"),
        ("pt-BR", "€1,234.56", "12.5%", "1,234,567"),  # unknown: English conventions
    ],
)
def test_locale_number_formats(locale, money, percent, count):
    assert format_unit_value(1234.56, Unit.CURRENCY, 2, locale, "EUR") == money
    assert format_unit_value(0.125, Unit.PERCENT, 1, locale) == percent
    assert format_unit_value(1234567, Unit.COUNT, 0, locale) == count


def test_format_details():
    assert format_unit_value(-1234.5, Unit.CURRENCY, 2, "en", "USD") == "-$1,234.50"
    assert format_unit_value(-1234.5, Unit.CURRENCY, 0, "de", "EUR") == f"-1.235{NBSP}€"
    assert format_unit_value(1234.5, Unit.CURRENCY, 2, "en", "XYZ") == "XYZ1,234.50"
    assert format_unit_value(-0.001, Unit.COUNT, 0) == "0"
    assert format_unit_value(None, Unit.COUNT, 0) == "–"
    assert format_unit_value(3.25, Unit.DAYS, 1, "de") == f"3,3{NBSP}days"
    assert format_unit_value(1.005, Unit.RATIO, 2) == "1.01"
    assert format_number(12345.678, 1, "es") == "12.345,7"
    assert format_delta(Delta(2.5, True, True), "de") == f"+2,5{NBSP}pp"
    assert format_delta(Delta(-0.1, False, False), "en") == "−10.0%"
    assert period_label(date(2024, 10, 1), "quarter") == "Q4 2024"
    assert period_label(date(2024, 11, 1), "quarter", fiscal_year_start=2) == "Nov 2024 – Jan 2025"
    assert period_label(date(2024, 12, 30), "week") == "Week of 30 Dec 2024"


def test_cards_follow_the_orgs_locale_and_currency(client, shop):
    shop.locale, shop.currency = "de", "EUR"
    shop.save()
    value = SeriesPoint.objects.get(
        run=shop.current_run, kpi_id="aov", grain="month", dimension="", period=date(2024, 12, 1)
    ).value
    aov = card(scorecard(client, "owner"), "aov")
    whole, cents = f"{value:.2f}".split(".")
    assert shown_value(aov) == f"{int(whole):,}".replace(",", ".") + f",{cents}{NBSP}€"
    shop.locale, shop.currency = "en", "USD"
    shop.save()
    assert shown_value(card(scorecard(client, "owner"), "aov")) == f"${value:,.2f}"


def test_filters_by_department_and_category(client, shop):
    marketing = Department.objects.get(org=shop, name="Marketing")
    everything = card_ids(scorecard(client, "owner"))
    in_marketing = set(KpiDefinition.objects.filter(org=shop, department=marketing).values_list("kpi_id", flat=True))
    assert in_marketing and in_marketing < everything
    assert card_ids(scorecard(client, "owner", department=str(marketing.pk))) == in_marketing
    financial = {d.kpi_id for d in KpiDefinition.objects.filter(org=shop) if d.spec["category"] == "financial"}
    assert card_ids(scorecard(client, "owner", category="financial")) == financial
    both = card_ids(scorecard(client, "owner", department=str(marketing.pk), category="financial"))
    assert both == in_marketing & financial
    # Unknown filter values are ignored, not errors.
    assert card_ids(scorecard(client, "owner", department="99999", category="astrology")) == everything

    # htmx asks for the cards alone.
    response = client.get(
        reverse("scorecard"), {"category": "financial"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="cards"
    )
    partial = response.content.decode()
    assert partial.lstrip().startswith('<div id="cards"') and "<html" not in partial
    assert card_ids(partial) == financial


def test_a_filter_matching_nothing_says_so(client, shop):
    empty = Department.objects.create(org=shop, name="Legal")
    page = scorecard(client, "owner", department=str(empty.pk))
    assert not card_ids(page) and "No KPIs match these filters" in page


def test_a_department_scoped_member_sees_only_their_departments_kpis(client, shop):
    marketing = Department.objects.get(org=shop, name="Marketing")
    member = Member.objects.create(user=make_user("marketer"), org=shop, role=Role.VIEWER)
    member.departments.add(marketing)
    theirs = set(KpiDefinition.objects.filter(org=shop, department=marketing).values_list("kpi_id", flat=True))
    page = scorecard(client, "marketer")
    assert card_ids(page) == theirs
    assert "Finance</option>" not in page
    other = KpiDefinition.objects.filter(org=shop).exclude(department=marketing).first()
    assert client.get(reverse("kpi_detail", args=[other.kpi_id])).status_code == 404
    assert client.get(reverse("kpi_series_csv", args=[other.kpi_id])).status_code == 404
    mine = next(iter(theirs))
    assert client.get(reverse("kpi_detail", args=[mine])).status_code == 200


def test_no_kpis_links_to_the_catalog(client, db):
    create_org("Empty", make_user("lonely"))
    page = scorecard(client, "lonely")
    assert "No KPIs yet" in page and 'href="/catalog/"' in page


def test_never_computed_explains_and_offers_a_refresh_to_editors(client, other_org):
    page = scorecard(client, "outsider")
    assert "Not computed yet" in page
    assert f'action="{reverse("refresh")}"' in page
    viewer = make_user("watcher")
    Member.objects.create(user=viewer, org=other_org, role=Role.VIEWER)
    page = scorecard(client, "watcher")
    assert "Not computed yet" in page and f'action="{reverse("refresh")}"' not in page
    assert "Ask an editor" in page


def test_a_kpi_without_a_value_says_why(client, shop):
    run = shop.current_run
    run.notes = {"aov": "no 'orders' dataset"}
    run.save()
    SeriesPoint.objects.filter(run=run, kpi_id="aov").delete()
    SeriesPoint.objects.filter(run=run, kpi_id="cac", period=date(2024, 12, 1)).update(value=None)
    page = scorecard(client, "owner")
    aov = card(page, "aov")
    assert 'data-raw=""' in aov and "Cannot be computed: no &#x27;orders&#x27; dataset" in aov
    cac = card(page, "cac")
    assert "No value for December 2024" in cac


def test_viewer_can_view_but_not_post_and_anonymous_is_sent_to_sign_in(client, shop):
    assert client.get(reverse("scorecard")).status_code == 302
    assert reverse("login") in client.get(reverse("scorecard"))["Location"]
    viewer = client_for(client, "viewer")
    page = viewer.get(reverse("scorecard")).content.decode()
    assert "aov" in card_ids(page) and "Refresh now" not in page
    assert viewer.post(reverse("scorecard")).status_code == 403


def test_cards_are_cached_per_run_and_a_new_run_is_shown_at_once(client, shop):
    def cards_of(page: str) -> str:
        return page[page.index('<ul class="cards">') : page.index("</ul>", page.index('<ul class="cards">'))]

    first = cards_of(scorecard(client, "owner"))
    with CaptureQueriesContext(connection) as queries:
        assert cards_of(scorecard(client, "owner")) == first
    assert not [q for q in queries.captured_queries if "kpis_seriespoint" in q["sql"]]  # cards from the cache
    old_run = shop.current_run
    SeriesPoint.objects.filter(run=old_run, kpi_id="aov", period=date(2024, 12, 1), dimension="").update(value=1.5)
    assert raw_value(card(scorecard(client, "owner"), "aov")) != 1.5  # the same run: served from the cache
    new_run = Run.objects.create(org=shop)
    execute(new_run.pk)
    SeriesPoint.objects.filter(run=new_run, kpi_id="aov", period=date(2024, 12, 1), dimension="").update(value=2.5)
    assert raw_value(card(scorecard(client, "owner"), "aov")) == 2.5


def test_the_cached_content_follows_every_change_it_depends_on(client, shop):
    """The rendered content is cached; each change below must show at once, not after the cache expires."""
    marketing = Department.objects.get(org=shop, name="Marketing")
    page = scorecard(client, "owner")
    assert ">Marketing</option>" in page
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("scorecard")).status_code == 200
    assert len(queries.captured_queries) <= 5  # user, memberships, latest run, the one state query (+ session)

    marketing.name = "Growth"  # a renamed department
    marketing.save()
    page = scorecard(client, "owner")
    assert ">Growth</option>" in page and ">Marketing</option>" not in page

    aov = KpiDefinition.objects.get(org=shop, kpi_id="aov")  # a KPI moved to another department
    aov.department = marketing
    aov.save()
    assert "aov" in card_ids(scorecard(client, "owner", department=str(marketing.pk)))

    aov.delete()  # a KPI removed
    assert "aov" not in card_ids(scorecard(client, "owner"))

    shop.locale, shop.currency = "de", "EUR"  # display settings
    shop.save()
    assert "€" in scorecard(client, "owner") and NBSP in scorecard(client, "owner")

    viewer = Member.objects.get(org=shop, user__username="viewer")  # the member's scope narrows
    everything = card_ids(scorecard(client, "viewer"))
    viewer.departments.add(marketing)
    scoped = card_ids(scorecard(client, "viewer"))
    assert scoped < everything
    assert scoped == set(KpiDefinition.objects.filter(org=shop, department=marketing).values_list("kpi_id", flat=True))
    viewer.role = Role.EDITOR  # and the role changes what the page offers
    viewer.save()
    assert "Refresh now" in scorecard(client, "viewer")


def test_an_open_scorecard_is_told_when_a_new_run_is_swapped_in(client, shop):
    page = scorecard(client, "owner")
    shown = re.search(r"runs/latest/\?shown=(\d+)", page)
    assert shown and int(shown.group(1)) == shop.current_run_id
    assert 'hx-trigger="scorecard-changed from:body"' in page  # the cards reload themselves on that event
    status = client.get(reverse("run_status"), {"shown": shown.group(1)}, HTTP_HX_REQUEST="true")
    assert status.status_code == 200 and "HX-Trigger" not in status  # nothing new: the cards stay
    execute(Run.objects.create(org=shop).pk)  # a refresh finishes elsewhere (another user, the worker)
    status = client.get(reverse("run_status"), {"shown": shown.group(1)}, HTTP_HX_REQUEST="true")
    assert status["HX-Trigger"] == "scorecard-changed"
    shop.refresh_from_db()
    assert f"shown={shop.current_run_id}" in status.content.decode()  # and the next poll asks about the new run
    cards = client.get(reverse("scorecard"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="cards").content.decode()
    assert f'data-run="{shop.current_run_id}"' in cards


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-12.5", "-12.5"),
        ("-1,234.5", "-1,234.5"),
        ("Online", "Online"),
        ("\tcmd", "'\tcmd"),
    ],
)
def test_csv_cells_never_run_as_spreadsheet_formulas(cell, safe):
    from headway.app.kpis.formatting import spreadsheet_safe

    assert spreadsheet_safe(cell) == safe
