"""A SaaS source through the web app: Stripe's recorded responses on a local HTTP server, synced
into canonical datasets, incrementally on the next refresh; an expired key fails clearly, marks the
KPIs stale and never shows the key."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import duckdb
import pytest
from app_helpers import client_for, make_user
from django.urls import reverse

from headway.app.accounts.onboarding import create_org
from headway.app.kpis.models import Dataset, KpiDefinition, KpiSource
from headway.app.sources import credentials
from headway.app.sources.models import ImportRun, Source, SourceStatus, StaleKpi
from headway.engine.catalog import load_catalog

sys.path.insert(0, str(Path(__file__).parents[1] / "ingest"))
from recorded.fake_api import FakeApi, load  # the recorded API server of the connector tests

KEY = "sk_test_51Hx9WebAppMustNotLeak"


@pytest.fixture
def api():
    def charges(req):
        if "created[gte]" in req.query:
            return load("stripe/charges_since.json")
        page2 = req.query.get("starting_after") == "ch_3Pz3"
        return load("stripe/charges_page2.json" if page2 else "stripe/charges_page1.json")

    with FakeApi() as server:
        server.route("GET", "/v1/charges", charges)
        server.route("GET", "/v1/customers", lambda req: load("stripe/customers.json"))
        server.route("GET", "/v1/subscriptions", lambda req: load("stripe/subscriptions.json"))
        yield server


@pytest.fixture
def fresh(db):
    org = create_org("Fresh", make_user("boss"))
    kpi = load_catalog().get("orders")
    KpiDefinition.objects.create(org=org, kpi_id="orders", spec=KpiDefinition.spec_json(kpi), source=KpiSource.CATALOG)
    return org


def order_ids(org) -> list[str]:
    con = duckdb.connect(str(org.warehouse_path()), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT order_id FROM orders ORDER BY order_id").fetchall()]
    finally:
        con.close()


def test_stripe_source_syncs_incrementally_and_fails_clearly(client, fresh, api, caplog):
    caplog.set_level(logging.DEBUG)
    c = client_for(client, "boss")
    choose = c.get(reverse("saas_source_new")).content.decode()
    assert "Stripe" in choose
    form = {"connector": "stripe", "name": "Stripe", "schedule": "hourly", "api_key": KEY, "base_url": api.url}
    c.post(reverse("saas_source_new"), form)
    source = Source.objects.get(org=fresh)
    assert source.config == {"connector": "stripe", "base_url": api.url} and KEY not in source.credentials

    c.post(reverse("source_refresh", args=[source.pk]))
    run = ImportRun.objects.get(source=source)
    assert run.status == "succeeded", run.error
    # The failed charge is not an order (Stripe connector's mapping); pages 1 and 2 were both read.
    assert order_ids(fresh) == ["ch_3Pz1", "ch_3Pz2", "ch_3Pz3", "ch_3Pz5"]
    assert {d.name for d in Dataset.objects.filter(org=fresh)} == {"orders", "customers", "subscriptions"}
    assert Dataset.objects.get(org=fresh, name="orders").rows == 4
    assert api.requests[0].headers.get("authorization") == f"Bearer {KEY}"

    c.post(reverse("source_refresh", args=[source.pk]))
    assert ImportRun.objects.filter(source=source).first().status == "succeeded"
    charges = [r for r in api.requests if r.path == "/v1/charges"]
    assert "created[gte]" in charges[-1].query  # the saved cursor was sent
    assert order_ids(fresh) == ["ch_3Pz1", "ch_3Pz2", "ch_3Pz3", "ch_3Pz5", "ch_3Pz7", "ch_3Pz8"]

    api.fail_next("GET", "/v1/charges", 401, body={"error": {"message": "Expired API Key provided"}})
    c.post(reverse("source_refresh", args=[source.pk]))
    source.refresh_from_db()
    assert source.status == SourceStatus.FAILING
    assert "Stripe" in source.last_error and "reconnect" in source.last_error.lower()
    assert StaleKpi.objects.filter(org=fresh, kpi_id="orders").exists()
    assert order_ids(fresh)[-1] == "ch_3Pz8"  # nothing lost

    for url in (
        reverse("sources"),
        reverse("source_detail", args=[source.pk]),
        reverse("saas_source_edit", args=[source.pk]),
    ):
        assert KEY not in c.get(url).content.decode(), url
    assert credentials.STORED_MASK in c.get(reverse("saas_source_edit", args=[source.pk])).content.decode()
    assert KEY not in caplog.text


def test_test_connection_reads_one_page_stores_nothing_and_save_keeps_the_tested_key(client, fresh, api, caplog):
    caplog.set_level(logging.DEBUG)
    c = client_for(client, "boss")
    form = {"connector": "stripe", "name": "Stripe", "schedule": "daily", "api_key": KEY, "base_url": api.url}
    page = c.post(reverse("saas_source_new"), {**form, "action": "test"}).content.decode()
    assert "Connected to Stripe: the credentials work" in page
    recorded = [c["id"] for c in load("stripe/customers.json")["data"]]
    assert f"The first page of customers has {len(recorded)} rows for the customers dataset" in page
    assert all(f"<td>{i}</td>" in page for i in recorded)
    assert [r.path for r in api.requests] == ["/v1/customers"], "one page of the first stream, no more"
    assert not Source.objects.exists() and not Dataset.objects.filter(org=fresh).exists(), "a test stores nothing"
    assert KEY not in page and KEY not in caplog.text
    token = re.search(r'name="secrets_token" value="([^"]+)"', page)
    assert token, "the tested key is kept encrypted for Save"

    # Save without retyping the key: the one tested is stored (encrypted).
    saved = c.post(reverse("saas_source_new"), {**form, "api_key": "", "secrets_token": token.group(1)})
    assert saved.status_code == 302
    source = Source.objects.get(org=fresh)
    assert credentials.load(source)["api_key"].reveal() == KEY and KEY not in source.credentials

    # A refused key: the reason, nothing saved or changed; testing an edit without typing uses the stored key.
    api.fail_next("GET", "/v1/customers", 401, body={"error": {"message": "Expired API Key provided"}})
    edit = {**form, "api_key": "", "action": "test"}
    refused = c.post(reverse("saas_source_edit", args=[source.pk]), edit).content.decode()
    assert "the service refused the credentials (HTTP 401: Expired API Key provided)" in refused
    assert KEY not in refused and "secrets_token" not in refused
    assert api.requests[-1].headers.get("authorization") == f"Bearer {KEY}", "the stored key was tried"
    assert credentials.load(Source.objects.get(pk=source.pk))["api_key"].reveal() == KEY
