"""The web app in a real browser: sign in, scorecard values against the engine, KPI detail grain switch,
adding a KPI from the catalog, and the KPI editor's live errors, preview and save.

Tests run in this order on one demo organisation; the scorecard screenshot is taken first, before
the later tests add KPIs to it.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from numpy.testing import assert_allclose
from playwright.sync_api import expect

from .conftest import login

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-web.png"


def digits(text: str) -> str:
    return re.sub(r"\D", "", text).lstrip("0")


def latest_complete_month(last_day: date) -> date:
    """First day of the last month whose every day is covered by data ending on ``last_day``."""
    if (last_day + timedelta(days=1)).month != last_day.month:
        return last_day.replace(day=1)
    return (last_day.replace(day=1) - timedelta(days=1)).replace(day=1)


def card(page, kpi_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f'li.card[data-kpi="{kpi_id}"]')


def test_scorecard_shows_the_engine_value_for_the_latest_complete_month(page, warehouse) -> None:
    month = latest_complete_month(warehouse.last_day("orders", "ordered_at"))
    expected = warehouse.compute(["aov"]).loc[month, "aov"]

    aov = card(page, "aov")
    expect(aov).to_have_count(1)
    value = aov.locator("p.value")
    raw = value.get_attribute("data-raw")
    assert raw is not None, "the card's p.value has no data-raw attribute"
    assert_allclose(float(raw), expected, rtol=1e-9)
    # Formatted for people: a currency (the demo org's is EUR) and the number with at most 2 decimals.
    text = value.inner_text().strip()
    assert "€" in text or "EUR" in text, text
    assert any(digits(text) == digits(f"{expected:.{d}f}") for d in (0, 1, 2)), (text, expected)
    period = aov.locator("p.period").inner_text()
    assert str(month.year) in period and month.strftime("%b") in period, period

    if os.environ.get("HEADWAY_SCREENSHOT") == "1":
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_kpi_detail_switches_grain(page) -> None:
    page.goto(reverse("kpi_detail", args=["aov"]))
    trend = page.locator("#trend")
    expect(trend).to_have_attribute("data-grain", "month")
    page.click('[data-grain="week"]:not(#trend)')
    expect(page.locator('#trend[data-grain="week"]')).to_have_count(1)
    page.click('[data-grain="quarter"]:not(#trend)')
    expect(page.locator('#trend[data-grain="quarter"]')).to_have_count(1)


def test_add_a_kpi_from_the_catalog(page) -> None:
    kpi_id = "median_order_value"
    expect(card(page, kpi_id)).to_have_count(0)

    page.goto(reverse("catalog"))
    expect(page.locator(f'li.catalog-kpi[data-kpi="{kpi_id}"]')).to_have_count(1)
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.click(f'form.add[data-add="{kpi_id}"] button')

    page.goto("/")
    expect(card(page, kpi_id)).to_have_count(1)


SPEC = """\
id: browser_order_total
name: Order total (browser test)
category: financial
unit: currency
metric:
  kind: aggregate
  dataset: orders
  agg: sum
  expr: {expr}
"""


def type_spec(page, yaml_text: str) -> None:  # type: ignore[no-untyped-def]
    """Replace the editor's text the way typing does, so whichever event drives live validation fires."""
    spec = page.locator("#id_spec")
    spec.fill(yaml_text)
    spec.press("End")


def test_kpi_editor_live_errors_preview_and_save(page) -> None:
    page.goto(reverse("kpi_new"))

    type_spec(page, SPEC.format(expr="totl_amount"))
    expect(page.locator("ul.errors li.error").filter(has_text="totl_amount")).not_to_have_count(0)

    type_spec(page, SPEC.format(expr="total_amount"))
    expect(page.locator("ul.errors li.error")).to_have_count(0)
    expect(page.locator("table#preview tbody tr").first).to_be_visible()

    with page.expect_response(lambda r: r.request.method == "POST" and r.status < 400):
        page.click("form:has(#id_spec) [type=submit]")
    page.goto("/")
    expect(card(page, "browser_order_total")).to_have_count(1)


def test_an_open_scorecard_updates_without_a_reload_when_a_refresh_finishes(page, browser, web_server) -> None:
    page.goto("/")
    cards = page.locator("#cards")
    before = cards.get_attribute("data-run")
    assert before, "the scorecard shows no run"
    page.evaluate("window.__notReloaded = true")
    # Someone else refreshes the numbers, in another session (the server runs jobs inline here).
    other = browser.new_context(base_url=web_server.url)
    try:
        colleague = other.new_page()
        login(colleague)
        colleague.click("text=Refresh now")
        expect(colleague.locator("#run-status")).to_contain_text("Computed", timeout=30_000)
    finally:
        other.close()
    # The open page notices within its polling interval (10 s) and swaps in the new cards in place.
    expect(page.locator("#cards")).not_to_have_attribute("data-run", before, timeout=25_000)
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    expect(card(page, "aov")).to_have_count(1)


PHONE = {"width": 390, "height": 800}
MAIN_PAGES = ("/", "/kpis/aov/", "/objectives/", "/strategy/map/", "/review/", "/reports/", "/alerts/", "/jobs/")
CHART_PAGES = ("/kpis/website_conversion_rate/", "/kpis/revenue_growth/?compare=none", "/goals/1/")


def overflow(page) -> int:  # type: ignore[no-untyped-def]
    """How far the page scrolls sideways (0: it fits the screen)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_the_kpi_editor_with_long_errors_fits_a_phone(page) -> None:
    # A catalog KPI on data this shop has not got: the live check lists long, unbreakable paths.
    page.set_viewport_size(PHONE)
    page.goto(reverse("kpi_new") + "?from=maintenance_cost_per_km")
    expect(page.locator("ul.errors li.error").first).to_be_visible()
    assert overflow(page) == 0


def test_pages_fit_a_phone(page) -> None:
    page.set_viewport_size(PHONE)
    for path in MAIN_PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert overflow(page) == 0, path


def test_checkboxes_keep_their_size_in_forms(page) -> None:
    """The base style stretched every input to the full width, checkboxes too (centred, far from their label)."""
    page.goto(reverse("alert_rule_new"))
    for box in (page.locator("#id_enabled"), page.locator("input[name=recipients]").first):
        expect(box).to_be_visible()
        size = box.bounding_box()
        assert size is not None and size["width"] < 40, size


def test_the_alert_rule_form_shows_only_what_the_chosen_kind_needs(page) -> None:
    """All eleven condition fields (driver, beta, lag, hours, …) were shown whatever the rule was about."""
    page.goto(reverse("alert_rule_new"))
    page.select_option("#id_kind", "threshold_above")
    expect(page.locator("#id_threshold")).to_be_visible()
    expect(page.locator("#id_hysteresis")).to_be_visible()
    for hidden in ("pct", "driver", "beta", "lag", "hours", "status", "below", "compare", "direction"):
        expect(page.locator(f"#id_{hidden}")).to_be_hidden()
    page.select_option("#id_kind", "change")
    for shown in ("pct", "direction", "compare"):
        expect(page.locator(f"#id_{shown}")).to_be_visible()
    expect(page.locator("#id_threshold")).to_be_hidden()
    # A bad value keeps its field and message in view.
    page.select_option("#id_kind", "threshold_below")
    page.fill("#id_name", "Margin floor")
    page.fill("#id_threshold", "abc")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_threshold_error")).to_have_text("'abc' is not a number.")
    expect(page.locator("#id_threshold")).to_be_visible()
    expect(page.locator("#id_pct")).to_be_hidden()


def test_no_console_errors_on_the_main_pages(browser, web_server) -> None:
    """Every new browser session asked for /favicon.ico, a 404 that chromium reports as a console error."""
    context = browser.new_context(base_url=web_server.url, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        # Errors, and Vega's warnings (an empty marker layer, two legends for one field) on the charts.
        page.on(
            "console",
            lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" or "WARN" in m.text else None,
        )
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        login(page)  # the listeners are there from the very first page
        for path in MAIN_PAGES + CHART_PAGES:
            page.goto(path)
            page.wait_for_load_state("networkidle")
        assert errors == []
    finally:
        context.close()
