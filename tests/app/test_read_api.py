"""The read REST API: values equal the engine's own computation on the org's warehouse, CSV equals JSON,
tokens scope everything to their organisation, bad parameters get a 422 naming the parameter, and a
bounded schemathesis run over the OpenAPI schema finds no 5xx and no answer that breaks the schema
(HEADWAY_FUZZ_EXAMPLES=200 for a deeper run than the suite's 12 examples per endpoint)."""

from __future__ import annotations

import calendar
import csv
import io
import os
from datetime import date, timedelta

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.urls import reverse
from django.utils import timezone

from headway.app.automation.models import Alert, AlertRule
from headway.app.kpis.models import KpiDefinition
from headway.app.kpis.refresh import open_engine
from headway.app.sources.models import ApiToken
from headway.app.strategy.models import Goal, Objective

READ_ROUTES = ["api_kpis", "api_goals", "api_objectives", "api_alerts"]


def get(client, url: str, token: str | None, **params):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return client.get(url, params, **headers)


def month_end(period: date) -> date:
    return period.replace(day=calendar.monthrange(period.year, period.month)[1])


@pytest.fixture
def token(shop) -> str:
    return ApiToken.issue(shop, "reader")[1]


@pytest.fixture
def engine(shop):
    """The org's KPIs computed straight from its DuckDB warehouse (independent of the series store)."""
    hw = open_engine(shop)
    try:
        yield {
            "month": hw.compute(["aov", "new_customers"], grain="month").set_index("period"),
            "week": hw.compute(["website_conversion_rate"], grain="week").set_index("period"),
            "aov_by_channel": hw.compute(["aov"], grain="month", by="channel"),
        }
    finally:
        hw.close()


def test_kpis_carry_the_engines_value_for_the_latest_complete_period(client, shop, token, engine):
    body = get(client, reverse("api:api_kpis"), token, limit=500).json()
    assert body["count"] == KpiDefinition.objects.filter(org=shop).count() == len(body["items"])
    kpis = {k["id"]: k for k in body["items"]}
    monthly, weekly = engine["month"], engine["week"]

    aov = kpis["aov"]
    assert aov["latest"]["value"] == pytest.approx(monthly.loc["2024-12-01", "aov"], rel=1e-12)
    assert aov["latest"]["period_start"] == "2024-12-01" and aov["latest"]["period_end"] == "2024-12-31"
    assert aov["latest"]["partial"] is False and aov["latest"]["period_label"] == "December 2024"
    assert aov["previous_value"] == pytest.approx(monthly.loc["2024-11-01", "aov"], rel=1e-12)
    assert aov["year_ago_value"] == pytest.approx(monthly.loc["2023-12-01", "aov"], rel=1e-12)
    assert (aov["unit"], aov["direction"], aov["category"], aov["grain"]) == (
        "currency",
        "higher",
        "financial",
        "month",
    )
    assert aov["data_as_of"] == "2024-12-31" and aov["reason"] == ""
    assert kpis["new_customers"]["latest"]["value"] == pytest.approx(monthly.loc["2024-12-01", "new_customers"])

    # Weekly KPI: data end on Tuesday 31 Dec, so the week of 30 Dec is partial and the week of 23 Dec is the latest.
    conversion = kpis["website_conversion_rate"]
    assert conversion["grain"] == "week"
    assert conversion["latest"]["period_start"] == "2024-12-23" and conversion["latest"]["period_end"] == "2024-12-29"
    expected = weekly.loc["2024-12-23", "website_conversion_rate"]
    assert conversion["latest"]["value"] == pytest.approx(expected, rel=1e-12)


def test_status_follows_the_kpis_thresholds_in_its_direction(client, shop, token, engine):
    definition = KpiDefinition.objects.get(org=shop, kpi_id="aov")
    value = engine["month"].loc["2024-12-01", "aov"]
    # Lower is better: a value above the warning line is off track; between good and warning, at risk.
    for good, warning, status in ((value - 20, value - 10, "bad"), (value - 10, value + 10, "warning")):
        definition.spec = {
            **definition.spec,
            "direction": "lower",
            "thresholds": {"good": good, "warning": warning},
        }
        definition.save()
        got = get(client, reverse("api:api_kpi", args=["aov"]), token).json()
        assert (got["direction"], got["status"]) == ("lower", status)
    definition.spec = {**definition.spec, "direction": "higher", "thresholds": {"good": value - 1, "warning": 0}}
    definition.save()
    assert get(client, reverse("api:api_kpi", args=["aov"]), token).json()["status"] == "good"


def test_pages_partition_the_list(client, shop, token):
    url = reverse("api:api_kpis")
    everything = [k["id"] for k in get(client, url, token, limit=500).json()["items"]]
    assert len(everything) >= 5
    page = get(client, url, token, limit=2, offset=3).json()
    assert (page["count"], page["limit"], page["offset"]) == (len(everything), 2, 3)
    assert [k["id"] for k in page["items"]] == everything[3:5]
    assert get(client, url, token, offset=len(everything)).json()["items"] == []


def test_series_equal_the_engine_and_csv_equals_json(client, shop, token, engine):
    url = reverse("api:api_kpi_series", args=["aov"])
    body = get(client, url, token, grain="month").json()
    assert (body["kpi_id"], body["grain"], body["unit"], body["dimension"]) == ("aov", "month", "currency", None)
    assert body["run_id"] == shop.current_run_id and body["data_as_of"] == "2024-12-31"
    monthly = engine["month"]["aov"].dropna()
    got = {p["period_start"]: p for p in body["points"]}
    assert set(got) >= {d.date().isoformat() for d in monthly.index}
    for period, value in monthly.items():
        point = got[period.date().isoformat()]
        assert point["value"] == pytest.approx(value, rel=1e-12)
        assert point["period_end"] == month_end(period.date()).isoformat()
        assert point["partial"] is False  # the data end on the last day of December

    response = get(client, url, token, grain="month", format="csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["period_start"] for r in rows] == [p["period_start"] for p in body["points"]]
    for row, point in zip(rows, body["points"], strict=True):
        assert row["period_end"] == point["period_end"] and row["partial"] == str(point["partial"]).lower()
        assert (float(row["value"]) if row["value"] else None) == point["value"]  # repr: no digits lost

    window = get(client, url, token, grain="month", start="2024-03-01", end="2024-05-31").json()["points"]
    assert [p["period_start"] for p in window] == ["2024-03-01", "2024-04-01", "2024-05-01"]


def test_weekly_series_flags_the_week_the_data_end_in_as_partial(client, shop, token, engine):
    url = reverse("api:api_kpi_series", args=["website_conversion_rate"])
    points = get(client, url, token, grain="week", start="2024-12-01").json()["points"]
    weekly = engine["week"]["website_conversion_rate"]
    assert [p["period_start"] for p in points] == ["2024-12-02", "2024-12-09", "2024-12-16", "2024-12-23", "2024-12-30"]
    assert [p["partial"] for p in points] == [False, False, False, False, True]
    for p in points:
        start = date.fromisoformat(p["period_start"])
        assert p["period_end"] == (start + timedelta(days=6)).isoformat()
        assert p["value"] == pytest.approx(weekly.loc[p["period_start"]], rel=1e-12)


def test_a_breakdown_series_equals_the_engines_group_by(client, shop, token, engine):
    url = reverse("api:api_kpi_series", args=["aov"])
    body = get(client, url, token, dimension="channel").json()
    assert body["dimension"] == "channel" and body["grain"] == "month"
    expected = engine["aov_by_channel"].dropna(subset=["aov"])
    got = {(p["period_start"], p["dimension_value"]): p["value"] for p in body["points"]}
    assert len(expected) >= 24
    for _, row in expected.iterrows():
        assert got[(row["period"].date().isoformat(), row["channel"])] == pytest.approx(row["aov"], rel=1e-12)
    rows = list(
        csv.DictReader(io.StringIO(get(client, url, token, dimension="channel", format="csv").content.decode()))
    )
    assert [(r["period_start"], r["channel"]) for r in rows] == [
        (p["period_start"], p["dimension_value"]) for p in body["points"]
    ]


@pytest.mark.parametrize(
    ("route", "params", "param"),
    [
        ("api_kpi_series", {"grain": "day"}, "grain"),
        ("api_kpi_series", {"start": "31/12/2024"}, "start"),
        ("api_kpi_series", {"end": "2024-13-01"}, "end"),
        ("api_kpi_series", {"start": "2024-06-01", "end": "2024-01-01"}, "end"),
        ("api_kpi_series", {"dimension": "colour"}, "dimension"),
        ("api_kpi_series", {"dimension": "channel", "grain": "week"}, "grain"),
        ("api_kpi_series", {"format": "xml"}, "format"),
        ("api_kpis", {"limit": "0"}, "limit"),
        ("api_kpis", {"limit": "501"}, "limit"),
        ("api_goals", {"offset": "-1"}, "offset"),
        ("api_alerts", {"state": "burning"}, "state"),
    ],
)
def test_bad_parameters_get_a_422_naming_the_parameter(client, shop, token, route, params, param):
    url = reverse(f"api:{route}", args=["aov"] if route == "api_kpi_series" else [])
    response = get(client, url, token, **params)
    assert response.status_code == 422, response.content
    problems = response.json()["detail"]
    assert [p["loc"] for p in problems] == [["query", param]]
    assert problems[0]["msg"]


def test_numbers_beyond_the_databases_integers_are_answered_not_crashed_on(client, shop, token):
    """Found by the fuzz run: an offset or id of 2**63 overflowed SQLite's integers (a 500)."""
    huge = str(2**63)
    page = get(client, reverse("api:api_kpis"), token, offset=huge)
    assert page.status_code == 200 and page.json()["items"] == [] and page.json()["count"] == shop.kpis.count()
    for route, param in (("api_goal", "goal_id"), ("api_objective", "objective_id"), ("api_alert", "alert_id")):
        response = get(client, reverse(f"api:{route}", args=[huge]), token)
        assert response.status_code == 422 and [p["loc"] for p in response.json()["detail"]] == [["path", param]]


@pytest.fixture
def strategy(shop, other_org):
    """A goal, objective and alerts in the shop, and the same in the other organisation."""
    out = {}
    for org, kpi_id in ((shop, "aov"), (other_org, other_org.kpis.first().kpi_id)):
        objective = Objective.objects.create(
            org=org, title=f"{org.name} objective", period_start=date(2024, 1, 1), period_end=date(2025, 12, 31)
        )
        kpi = org.kpis.get(kpi_id=kpi_id)
        objective.kpis.add(kpi)
        rule = AlertRule.objects.create(org=org, name=f"{org.name} rule", kpi_id=kpi_id, kind="anomaly")
        now = timezone.now()
        firing = Alert.objects.create(org=org, rule=rule, fired_at=now, value=1.5, message=f"{org.name} firing")
        resolved = Alert.objects.create(
            org=org,
            rule=rule,
            fired_at=now - timedelta(days=2),
            firing=False,
            resolved_at=now - timedelta(days=1),
            message=f"{org.name} resolved",
        )
        out[org.name] = {"objective": objective, "kpi": kpi, "firing": firing, "resolved": resolved}
    return out


def test_goals_report_plan_actual_and_gap_as_computed_by_hand(client, shop, token, strategy, engine):
    aov = engine["month"]["aov"]
    baseline = aov.loc["2024-06-01"]
    target = round(baseline * 1.2, 2)
    mine = strategy["Shop"]
    goal = Goal.objects.create(
        org=shop,
        objective=mine["objective"],
        kpi=mine["kpi"],
        kind="absolute",
        target=target,
        baseline=baseline,
        baseline_period=date(2024, 6, 1),
        start=date(2024, 7, 1),
        deadline=date(2025, 6, 30),
        trajectory="linear",
        cadence="month",
    )
    got = get(client, reverse("api:api_goal", args=[goal.pk]), token).json()
    # The data end 31 Dec 2024: December is the 6th of the goal's 12 months.
    expected = baseline + (target - baseline) * 6 / 12
    actual = aov.loc["2024-12-01"]
    assert got["period_start"] == "2024-12-01" and got["kpi_id"] == "aov"
    assert got["target"] == pytest.approx(target) and got["baseline"] == pytest.approx(baseline)
    assert got["expected"] == pytest.approx(expected, rel=1e-9)
    assert got["actual"] == pytest.approx(actual, rel=1e-12)
    assert got["gap"] == pytest.approx(actual - expected, rel=1e-9)
    assert got["progress"] == pytest.approx((actual - baseline) / (target - baseline), rel=1e-9)
    shortfall = (expected - actual) / expected
    assert got["status"] == ("on_track" if actual >= expected else "at_risk" if shortfall <= 0.05 else "off_track")
    assert got["probability"] is None, "no stored forecast yet, so no chance is claimed"

    listed = get(client, reverse("api:api_goals"), token).json()
    assert [g["id"] for g in listed["items"]] == [goal.pk] and listed["items"][0] == got
    objective = get(client, reverse("api:api_objective", args=[mine["objective"].pk]), token).json()
    assert objective["kpi_ids"] == ["aov"] and objective["goals"] == [
        {"id": goal.pk, "kpi_id": "aov", "status": got["status"]}
    ]


def test_alerts_filter_by_state(client, shop, token, strategy):
    mine = strategy["Shop"]
    url = reverse("api:api_alerts")
    firing = get(client, url, token, state="firing").json()
    assert [a["id"] for a in firing["items"]] == [mine["firing"].pk]
    assert firing["items"][0]["state"] == "firing" and firing["items"][0]["value"] == 1.5
    assert firing["items"][0]["rule"]["kpi_id"] == "aov"
    resolved = get(client, url, token, state="resolved").json()["items"]
    assert [(a["id"], a["state"]) for a in resolved] == [(mine["resolved"].pk, "resolved")]
    assert resolved[0]["resolved_at"] is not None
    assert [a["id"] for a in get(client, url, token).json()["items"]] == [mine["firing"].pk, mine["resolved"].pk]


@pytest.mark.parametrize("route", READ_ROUTES)
def test_missing_wrong_or_revoked_tokens_get_401(client, shop, route):
    stored, plain = ApiToken.issue(shop, "soon revoked")
    url = reverse(f"api:{route}")
    assert get(client, url, plain).status_code == 200
    stored.revoked_at = timezone.now()
    stored.save()
    for token in (None, plain, plain[:-2] + "xx", "hw_nonsense"):
        response = get(client, url, token)
        assert response.status_code == 401 and response.json() == {"detail": "Unauthorized"}, token
    response = client.get(url, HTTP_AUTHORIZATION=f"Basic {plain}")
    assert response.status_code == 401


def test_a_token_never_sees_another_organisations_objects(client, shop, other_org, token, strategy):
    theirs = strategy["Other"]
    other_goal = Goal.objects.create(
        org=other_org,
        objective=theirs["objective"],
        kpi=theirs["kpi"],
        target=1,
        start=date(2024, 1, 1),
        deadline=date(2024, 12, 31),
    )
    only_theirs = set(other_org.kpis.values_list("kpi_id", flat=True)) - set(shop.kpis.values_list("kpi_id", flat=True))
    assert only_theirs, "the SaaS template has KPIs the shop lacks"
    for route, arg in (
        ("api_kpi", sorted(only_theirs)[0]),
        ("api_kpi_series", sorted(only_theirs)[0]),
        ("api_goal", other_goal.pk),
        ("api_objective", theirs["objective"].pk),
        ("api_alert", theirs["firing"].pk),
    ):
        response = get(client, reverse(f"api:{route}", args=[arg]), token)
        assert response.status_code == 404 and response.json() == {"detail": "Not Found"}, route
    kpi_ids = {k["id"] for k in get(client, reverse("api:api_kpis"), token, limit=500).json()["items"]}
    assert kpi_ids == set(shop.kpis.values_list("kpi_id", flat=True))
    text = b"".join(get(client, reverse(f"api:{r}"), token, limit=500).content for r in READ_ROUTES).decode()
    assert "Other objective" not in text and "Other firing" not in text and "Other rule" not in text
    assert str(other_goal.pk) not in [
        str(g["id"]) for g in get(client, reverse("api:api_goals"), token).json()["items"]
    ]
    # And the other way round: their token sees their objective and alerts, none of the shop's.
    _, their_token = ApiToken.issue(other_org, "theirs")
    objectives = get(client, reverse("api:api_objectives"), their_token).json()["items"]
    assert [o["title"] for o in objectives] == ["Other objective"]
    alerts = get(client, reverse("api:api_alerts"), their_token).json()["items"]
    assert {a["message"] for a in alerts} == {"Other firing", "Other resolved"}
    response = get(client, reverse("api:api_alert", args=[strategy["Shop"]["firing"].pk]), their_token)
    assert response.status_code == 404


def test_fuzzing_the_read_endpoints_finds_no_server_error_and_no_answer_off_schema(shop, token, strategy):
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler()).include(tag="read")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9
    calls: dict[str, int] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=int(os.environ.get("HEADWAY_FUZZ_EXAMPLES", "12")),
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            response = case.call()
            assert response.status_code < 500, (case.path, case.query, response.status_code)
            case.validate_response(response)
            calls[case.operation.label] = calls.get(case.operation.label, 0) + 1

        check()
    assert len(calls) == 9 and all(n >= 1 for n in calls.values())


def test_a_goals_probability_comes_from_the_stored_forecast(client, shop, token, strategy):
    from headway.app.forecasts.models import StoredForecast

    mine = strategy["Shop"]
    goal = Goal.objects.create(
        org=shop,
        objective=mine["objective"],
        kpi=mine["kpi"],
        target=100.0,
        baseline=90.0,
        baseline_period=date(2024, 6, 1),
        start=date(2024, 7, 1),
        deadline=date(2025, 6, 30),
    )
    url = reverse("api:api_goal", args=[goal.pk])
    months = [date(2025, m, 1).isoformat() for m in range(1, 7)]

    def forecast(level: float, periods: list[str]) -> None:
        StoredForecast.objects.update_or_create(
            org=shop,
            run=shop.current_run,
            kpi_id="aov",
            grain="month",
            defaults={
                "points": [
                    {"period": p, "mean": level, "lower_80": level * 0.98, "upper_80": level * 1.02} for p in periods
                ]
            },
        )

    # A forecast far above the target in the deadline month with a narrow band: success is (nearly) certain;
    # far below: (nearly) impossible; a forecast stopping before the deadline says nothing.
    forecast(150.0, months)
    assert get(client, url, token).json()["probability"] == pytest.approx(1.0, abs=0.01)
    forecast(50.0, months)
    assert get(client, url, token).json()["probability"] == pytest.approx(0.0, abs=0.01)
    forecast(150.0, months[:3])
    assert get(client, url, token).json()["probability"] is None


def test_the_kpi_list_costs_the_same_queries_for_two_kpis_or_all(client, shop, token):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("api:api_kpis")
    get(client, url, token, limit=1)  # warm the token row's caches alike for both measurements
    counts = []
    for limit in (2, 500):
        with CaptureQueriesContext(connection) as queries:
            assert len(get(client, url, token, limit=limit).json()["items"]) == min(limit, shop.kpis.count())
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
