"""Stored forecasts: queued after a refresh, fitted by the job (never by a page), shown as a fan chart
with the accuracy in words; tenants and department scopes respected."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from app_helpers import client_for, make_user
from django.urls import reverse
from django.utils import timezone

from headway.analytics.forecast import forecast
from headway.app.accounts.models import Department, Member, Role
from headway.app.automation import jobs
from headway.app.automation.models import Job, JobStatus
from headway.app.automation.signals import refresh_finished
from headway.app.forecasts.models import StoredForecast
from headway.app.forecasts.refit import HORIZON, history, refit_org
from headway.app.kpis.models import KpiDefinition, Run
from headway.app.kpis.series import shown_grain, total
from headway.engine.scoring import is_complete

KPI = "aov"


def run_jobs() -> int:
    """What the worker does once the refit's short delay is over."""
    Job.objects.filter(kind="forecasts.refit", status=JobStatus.QUEUED).update(run_after=timezone.now())
    return jobs.run_pending()


def spec_of(html: str) -> dict:
    match = re.search(r'<script id="forecast-spec" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the fan chart spec is on the page"
    return json.loads(match.group(1))


def test_refresh_queues_a_refit_and_the_page_never_fits(shop, client):
    queued = Job.objects.filter(org=shop, kind="forecasts.refit", status=JobStatus.QUEUED)
    assert queued.count() == 1, "the refresh that computed the shop queued one refit"
    page = client_for(client, "owner").get(reverse("kpi_forecast", args=[KPI]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Forecast being prepared" in html
    assert 'hx-trigger="load delay:3s"' in html  # it polls until the job has stored the forecast
    assert not StoredForecast.objects.exists(), "a page view fits nothing"
    # a second refresh while the refit waits shares it
    refresh_finished.send_robust(sender=Run, run=shop.current_run, org=shop)
    assert Job.objects.filter(org=shop, kind="forecasts.refit", status=JobStatus.QUEUED).count() == 1


def test_the_job_stores_forecasts_equal_to_the_analytics_layer(shop, client):
    assert run_jobs() >= 1
    shop.refresh_from_db()
    run = shop.current_run
    definition = KpiDefinition.objects.get(org=shop, kpi_id=KPI)
    grain = shown_grain(definition.to_spec())
    stored = StoredForecast.objects.get(run=run, kpi_id=KPI, grain=grain.value)
    assert not stored.error
    # independently: the complete periods of the stored series, forecast with the analytics API
    series = total(run, KPI, grain)
    complete = [p for p in series if is_complete(p, grain, run.data_as_of)]
    assert stored.last_period == complete[-1] and stored.history_points == len(complete)
    expected = forecast(history(series, grain, run.data_as_of), HORIZON[grain])
    np.testing.assert_allclose([p["mean"] for p in stored.points], expected.mean, rtol=1e-6)
    np.testing.assert_allclose([p["upper_95"] for p in stored.points], expected.upper[95], rtol=1e-6)
    assert stored.accuracy_text == expected.describe_accuracy()
    assert len(stored.points) == HORIZON[grain]
    # every KPI with data got a forecast row (a fitted one or the reason why not)
    with_data = {
        k
        for k in KpiDefinition.objects.filter(org=shop).values_list("kpi_id", flat=True)
        if total(run, k, shown_grain(KpiDefinition.objects.get(org=shop, kpi_id=k).to_spec()))
    }
    assert set(StoredForecast.objects.filter(run=run).values_list("kpi_id", flat=True)) == with_data

    html = client_for(client, "viewer").get(reverse("kpi_forecast", args=[KPI])).content.decode()
    assert "Forecast being prepared" not in html
    assert stored.accuracy_text.capitalize()[:20] in html
    spec = spec_of(html)
    rows = spec["datasets"]["series"]
    forecast_rows = [r for r in rows if r["part"] == "Forecast" and r["period"] > stored.last_period.isoformat()]
    np.testing.assert_allclose([r["value"] for r in forecast_rows], expected.mean, rtol=1e-6)
    actual_rows = [r for r in rows if r["part"] == "Actual"]
    assert actual_rows[-1]["period"] == stored.last_period.isoformat()
    assert {layer["mark"]["type"] for layer in spec["layer"]} == {"area", "line"}
    # the table gives every forecast period with its ranges
    assert html.count('<th scope="row">') == HORIZON[grain]


def test_kpi_page_has_the_forecast_slot(shop, client):
    html = client_for(client, "owner").get(reverse("kpi_detail", args=[KPI])).content.decode()
    assert f'hx-get="{reverse("kpi_forecast", args=[KPI])}"' in html


def test_outsider_and_out_of_scope_members_get_404(shop, other_org, client):
    refit_org(shop, [KPI])
    assert client_for(client, "outsider").get(reverse("kpi_forecast", args=[KPI])).status_code == 404
    definition = KpiDefinition.objects.get(org=shop, kpi_id=KPI)
    elsewhere = Department.objects.create(org=shop, name="Somewhere else")
    if definition.department_id == elsewhere.pk:  # pragma: no cover - a fresh department owns no KPI
        pytest.fail("fixture clash")
    scoped = Member.objects.create(user=make_user("scoped"), org=shop, role=Role.VIEWER)
    scoped.departments.add(elsewhere)
    assert client_for(client, "scoped").get(reverse("kpi_forecast", args=[KPI])).status_code == 404
    assert client.post(reverse("kpi_forecast", args=[KPI])).status_code in (403, 404, 405)


def test_a_series_too_short_says_why(shop, client):
    refit_org(shop, [KPI])
    stored = StoredForecast.objects.get(run=shop.current_run, kpi_id=KPI)
    StoredForecast.objects.filter(pk=stored.pk).update(error="at least 2 values are needed to forecast", points=[])
    html = client_for(client, "owner").get(reverse("kpi_forecast", args=[KPI])).content.decode()
    assert "No forecast for this KPI: at least 2 values are needed to forecast" in html
    assert "forecast-spec" not in html


def test_refit_stores_the_reason_when_a_series_cannot_be_forecast(shop):
    run = shop.current_run
    definition = KpiDefinition.objects.get(org=shop, kpi_id=KPI)
    grain = shown_grain(definition.to_spec())
    first = min(total(run, KPI, grain))
    run.points.filter(kpi_id=KPI, grain=grain.value, dimension="").exclude(period=first).delete()
    assert refit_org(shop, [KPI]) == 1
    stored = StoredForecast.objects.get(run=run, kpi_id=KPI)
    assert stored.error == "at least 2 values are needed to forecast" and stored.points == []


def test_empty_states(shop, other_org, client):
    # data but no refit queued (e.g. computed before forecasting existed)
    Job.objects.filter(kind="forecasts.refit").delete()
    html = client_for(client, "owner").get(reverse("kpi_forecast", args=[KPI])).content.decode()
    assert "No forecast yet: it is made after the next data refresh" in html and "hx-trigger" not in html
    # no data at all
    html = client_for(client, "outsider").get(reverse("kpi_forecast", args=["mrr"])).content.decode()
    assert "No data yet, so nothing to forecast" in html
