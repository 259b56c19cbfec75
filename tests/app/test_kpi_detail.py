"""The KPI detail page: definition, trend and grain switch, comparison, breakdown, related KPIs, SQL, downloads."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime

import pytest
from app_helpers import client_for
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook

from headway.app.kpis.models import KpiDefinition, SeriesPoint

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "trend"}
KPI_URLS = ["kpi_detail", "kpi_trend", "kpi_breakdown", "kpi_series_csv", "kpi_series_xlsx"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rendered cards are cached per run; tests edit a run's series in place, which the app never does."""
    cache.clear()


def stored(shop, kpi_id: str, grain: str, dimension: str = "") -> list[tuple]:
    points = SeriesPoint.objects.filter(run=shop.current_run, kpi_id=kpi_id, grain=grain, dimension=dimension)
    return list(points.order_by("period", "dim_value").values_list("period", "dim_value", "value"))


def spec_of(html: str, script_id: str) -> dict:
    match = re.search(rf'<script id="{script_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"no {script_id}"
    return json.loads(match.group(1))


def chart_values(spec: dict) -> list[dict]:
    data = spec.get("data") or spec["layer"][0]["data"]
    if "values" in data:
        return data["values"]
    return spec["datasets"][data["name"]]


def test_detail_explains_the_kpi_for_users_and_analysts(client, shop):
    page = client_for(client, "owner").get(reverse("kpi_detail", args=["aov"])).content.decode()
    assert "<h1>Average order value</h1>" in page
    assert "How much a customer spends per order" in page  # the catalog description
    assert "<code>revenue</code> / <code>orders</code>" in page  # describe_metric, readable
    assert "Higher is better" in page
    assert "kind: ratio" in page and "default_grain: month" in page  # the spec as YAML
    assert re.search(r"<summary>Generated SQL.*?</summary>\s*<pre><code>WITH spine AS", page, re.S)
    assert "&quot;orders&quot;" in page  # the SQL names the table it reads
    # Related: its guardrail in the org (discount_rate), not one the org lacks (orders).
    assert f'href="{reverse("kpi_detail", args=["discount_rate"])}"' in page
    assert f'href="{reverse("kpi_detail", args=["orders"])}"' not in page
    # Downloads of the series shown.
    assert f"{reverse('kpi_series_csv', args=['aov'])}?grain=month" in page
    assert f"{reverse('kpi_series_xlsx', args=['aov'])}?grain=month" in page


def test_related_kpis_include_inputs_and_dependants(client, shop):
    KpiDefinition.objects.create(
        org=shop,
        kpi_id="aov_doubled",
        spec={
            "id": "aov_doubled",
            "name": "Twice the order value",
            "category": "financial",
            "metric": {"kind": "derived", "formula": "aov * 2"},
            "guardrails": ["aov"],
        },
        source="custom",
    )
    client_for(client, "owner")
    page = client.get(reverse("kpi_detail", args=["aov"])).content.decode()
    assert "Used by" in page and "Guardrail for" in page and "Twice the order value" in page
    page = client.get(reverse("kpi_detail", args=["aov_doubled"])).content.decode()
    assert "Computed from" in page and f'href="{reverse("kpi_detail", args=["aov"])}"' in page
    # Never computed yet: the page says so rather than failing.
    assert "Added or changed after the last refresh" in page


def test_grain_switch_returns_the_chart_for_that_grain(client, shop):
    client_for(client, "owner")
    for grain in ("week", "month", "quarter"):
        response = client.get(reverse("kpi_trend", args=["aov"]), {"grain": grain}, **HTMX)
        assert response.status_code == 200
        html = response.content.decode()
        assert html.lstrip().startswith('<section id="trend"') and "<html" not in html
        expected = stored(shop, "aov", grain)
        assert f'data-grain="{grain}"' in html and f'data-points="{len(expected)}"' in html
        assert re.search(rf'data-grain="{grain}"[^>]*aria-pressed="true"', html)
        values = [v for v in chart_values(spec_of(html, "trend-spec")) if v["series"] == "Average order value"]
        assert len(values) == len(expected)
        assert [(date.fromisoformat(v["period"]), v["value"]) for v in values] == [(p, x) for p, _, x in expected]


def test_the_full_page_honours_the_grain_and_the_comparison_select_keeps_it(client, shop):
    client_for(client, "owner")
    page = client.get(reverse("kpi_detail", args=["aov"]), {"grain": "quarter"}).content.decode()
    assert '<section id="trend" class="trend" data-grain="quarter"' in page
    html = client.get(
        reverse("kpi_trend", args=["aov"]), {"shown": "week", "compare": "year_ago"}, **HTMX
    ).content.decode()
    assert 'data-grain="week"' in html
    assert '<th scope="col" class="num">Same period last year</th>' in html
    series = {v["series"] for v in chart_values(spec_of(html, "trend-spec"))}
    assert series == {"Average order value", "Same period last year"}
    html = client.get(reverse("kpi_trend", args=["aov"]), {"grain": "month", "compare": "none"}, **HTMX).content
    assert {v["series"] for v in chart_values(spec_of(html.decode(), "trend-spec"))} == {"Average order value"}


def test_comparison_values_are_the_previous_and_year_ago_periods(client, shop):
    client_for(client, "owner")
    values = {p: v for p, _, v in stored(shop, "aov", "month")}
    for compare, back in (("previous", date(2024, 11, 1)), ("year_ago", date(2023, 12, 1))):
        html = client.get(reverse("kpi_trend", args=["aov"]), {"grain": "month", "compare": compare}, **HTMX)
        points = chart_values(spec_of(html.content.decode(), "trend-spec"))
        other = next(p for p in points if p["period"] == "2024-12-01" and p["series"] != "Average order value")
        assert other["value"] == pytest.approx(values[back])


def test_a_partial_week_is_marked_and_not_compared(client, shop):
    html = client_for(client, "owner").get(reverse("kpi_trend", args=["aov"]), {"grain": "week"}, **HTMX)
    html = html.content.decode()
    assert "30 Dec 2024 (so far)" in html and "not compared" in html
    points = chart_values(spec_of(html, "trend-spec"))
    assert [p["partial"] for p in points if p["period"] == "2024-12-30"] == [True]  # no comparison point for it


def test_breakdown_by_dimension_for_the_latest_complete_month(client, shop):
    client_for(client, "owner")
    html = client.get(reverse("kpi_breakdown", args=["aov"]), {"dimension": "region"}).content.decode()
    assert 'option value="region" selected' in html
    december = {name: v for p, name, v in stored(shop, "aov", "month", "region") if p == date(2024, 12, 1)}
    bars = {b["name"]: b["value"] for b in chart_values(spec_of(html, "breakdown-spec"))}
    assert bars == pytest.approx({k: v for k, v in december.items() if v is not None})
    assert "December 2024 (latest complete month)" in html
    # An unknown dimension falls back to the first stored one.
    html = client.get(reverse("kpi_breakdown", args=["aov"]), {"dimension": "nope"}).content.decode()
    assert '<option value="channel" selected>' in html


def test_csv_equals_the_stored_series(client, shop):
    client_for(client, "owner")
    response = client.get(reverse("kpi_series_csv", args=["aov"]), {"grain": "week"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="aov-week.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["period", "value"]
    expected = stored(shop, "aov", "week")
    assert [(date.fromisoformat(p), float(v) if v else None) for p, v in rows[1:]] == [(p, x) for p, _, x in expected]

    response = client.get(reverse("kpi_series_csv", args=["aov"]), {"dimension": "channel"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["period", "channel", "value"]
    got = [(date.fromisoformat(p), c, float(v) if v else None) for p, c, v in rows[1:]]
    assert got == stored(shop, "aov", "month", "channel")
    assert client.get(reverse("kpi_series_csv", args=["aov"]), {"dimension": "nope"}).status_code == 404


def test_xlsx_read_back_equals_the_stored_series(client, shop):
    client_for(client, "owner")
    for params, dimension in (({"grain": "month"}, ""), ({"dimension": "channel"}, "channel")):
        response = client.get(reverse("kpi_series_xlsx", args=["aov"]), params)
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        got = [tuple(c.date() if isinstance(c, datetime) else c for c in row) for row in rows[1:]]
        expected = [(p, x) for p, _, x in stored(shop, "aov", "month")]
        if dimension:
            assert rows[0] == ("period", "channel", "value")
            expected = stored(shop, "aov", "month", "channel")
        else:
            assert rows[0] == ("period", "value")
        assert [r[:-1] for r in got] == [r[:-1] for r in expected]
        # Excel keeps 15 significant digits.
        for (*_, value), (*_, want) in zip(got, expected, strict=True):
            assert value == want or value == pytest.approx(want, rel=1e-14)


def test_sql_errors_are_shown_not_raised(client, shop):
    shop.warehouse_path().write_bytes(b"not a duckdb file")
    page = client_for(client, "owner").get(reverse("kpi_detail", args=["aov"]))
    assert page.status_code == 200
    assert "could not be opened" in page.content.decode()
    assert "€" in page.content.decode()  # the numbers come from the series store, not the warehouse


def test_outsider_gets_404_for_another_orgs_kpi(client, shop, other_org):
    KpiDefinition.objects.filter(org=other_org, kpi_id="aov").delete()
    for url_name in KPI_URLS:
        assert client_for(client, "outsider").get(reverse(url_name, args=["aov"])).status_code == 404, url_name
        assert client_for(client, "owner").get(reverse(url_name, args=["aov"])).status_code == 200, url_name
    assert client.get(reverse("kpi_detail", args=["no_such_kpi"])).status_code == 404


def test_viewer_can_view_but_not_post_and_anonymous_is_sent_to_sign_in(client, shop):
    viewer = client_for(client, "viewer")
    for url_name in KPI_URLS:
        assert viewer.get(reverse(url_name, args=["aov"])).status_code == 200, url_name
        assert viewer.post(reverse(url_name, args=["aov"])).status_code == 403, url_name
    client.logout()
    for url_name in KPI_URLS:
        response = client.get(reverse(url_name, args=["aov"]))
        assert response.status_code == 302 and reverse("login") in response["Location"], url_name


def test_a_planted_spike_is_marked_on_the_trend_chart_with_its_size(client, shop):
    points = SeriesPoint.objects.filter(run=shop.current_run, kpi_id="aov", grain="month", dimension="")
    clean = client_for(client, "owner").get(reverse("kpi_trend", args=["aov"]), {"grain": "month"}, **HTMX)
    before = {v["period"] for v in chart_values(spec_of(clean.content.decode(), "trend-spec")) if v.get("anomaly")}
    spike = points.get(period=date(2024, 6, 1))
    normal = spike.value
    spike.value = normal * 4
    spike.save()
    page = client.get(reverse("kpi_trend", args=["aov"]), {"grain": "month"}, **HTMX)
    html = page.content.decode()
    marked = [v for v in chart_values(spec_of(html, "trend-spec")) if v.get("anomaly")]
    assert {v["period"][:10] for v in marked} - before == {"2024-06-01"}
    june = next(v for v in marked if v["period"].startswith("2024-06-01"))
    assert "above the expected" in june["anomaly"]
    # The surprise is about the planted excess: roughly three times the normal month.
    amount = float(re.search(r"Unusual: €([\d,.]+)", june["anomaly"]).group(1).replace(",", ""))
    assert amount == pytest.approx(3 * normal, rel=0.35)
    assert "Jun 2024: Unusual:" in html  # listed under the chart for people who don't read charts


def test_a_score_is_shown_with_its_scale(client, shop):
    """CSAT lives on 1-5: its page says so and its headline reads "4.31 / 5", computed from the stored month."""
    assert KpiDefinition.objects.get(org=shop, kpi_id="csat").to_spec().scale == (1, 5)
    month = [v for _p, _d, v in stored(shop, "csat", "month") if v is not None]
    assert month, "the demo shop has survey scores"
    page = client_for(client, "viewer").get(reverse("kpi_detail", args=["csat"])).content.decode()
    assert "<dd data-scale>1 to 5</dd>" in page
    assert f"{month[-1]:.2f}\xa0/\xa05" in page, "the latest complete month, with the scale's top"


def test_a_scale_reaches_every_formatter_but_not_differences():
    from headway.app.kpis.formatting import format_kpi_difference, format_kpi_value
    from headway.engine.catalog import load_catalog

    catalog = load_catalog()
    csat, nps = catalog.get("csat"), catalog.get("nps")
    assert format_kpi_value(csat, 4.305) == "4.31\xa0/\xa05"
    assert format_kpi_value(csat, 4.305, "de") == "4,31\xa0/\xa05"
    assert format_kpi_value(csat, None) == "–", "no scale on a missing value"
    assert format_kpi_difference(csat, 0.2) == "0.20", "a gap is points, not a score out of 5"
    assert format_kpi_value(nps, 35) == "35", "a scale below zero (NPS) is not written as a fraction"
    with pytest.raises(ValueError, match="must be below the highest"):
        type(csat).model_validate({**csat.model_dump(), "scale": (5, 1)})
