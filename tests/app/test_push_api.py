"""The push API: org tokens (401 for bad or revoked ones), per-row 4xx errors, no cross-org writes,
idempotent retries, data points, and the token page showing a token only once."""

from __future__ import annotations

import json

import duckdb
import pytest
from app_helpers import client_for, make_user
from django.urls import reverse

from headway.app.accounts.onboarding import create_org
from headway.app.kpis.models import Dataset, KpiDefinition, KpiSource, SeriesPoint
from headway.app.sources.models import ApiToken, ImportRun, Source
from headway.engine.catalog import load_catalog

ROWS = [
    {"order_id": "P1", "customer_id": "C1", "ordered_at": "2024-05-02T10:00:00", "total_amount": 120.0},
    {"order_id": "P2", "customer_id": "C2", "ordered_at": "2024-05-09", "total_amount": "80.5"},
    {"order_id": "P3", "customer_id": "C1", "ordered_at": "not a date", "total_amount": 10},
    {"order_id": "P4", "customer_id": "C3", "ordered_at": "2024-06-01", "total_amount": 99.5},
    {"order_id": "P5", "customer_id": "C3", "ordered_at": "2024-06-02"},
]
for _row in ROWS:
    _row["status"] = "delivered"  # the catalog's order KPIs filter on it


def org_with_revenue(name: str, owner: str):
    org = create_org(name, make_user(owner))
    kpi = load_catalog().get("orders")
    KpiDefinition.objects.create(org=org, kpi_id="orders", spec=KpiDefinition.spec_json(kpi), source=KpiSource.CATALOG)
    return org


@pytest.fixture
def two_orgs(db):
    return org_with_revenue("Pusher", "pusher"), org_with_revenue("Bystander", "bystander")


def post(client, url: str, body, token: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def rows_url(name: str = "orders", **query) -> str:
    url = reverse("api:api_push_rows", kwargs={"name": name})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def warehouse_rows(org, table: str = "orders") -> list[tuple]:
    path = org.warehouse_path()
    if not path.exists():
        return []
    con = duckdb.connect(str(path), read_only=True)
    try:
        known = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if table not in known:
            return []
        return con.execute(f"SELECT order_id, total_amount FROM {table} ORDER BY order_id").fetchall()
    finally:
        con.close()


def test_rows_load_and_invalid_ones_come_back_with_their_row_and_field(client, two_orgs):
    pusher, _ = two_orgs
    _, token = ApiToken.issue(pusher, "till")
    response = post(client, rows_url(), ROWS, token)
    assert response.status_code == 422
    body = response.json()
    assert (body["read"], body["loaded"], body["rejected"]) == (5, 3, 2)
    errors = {(e["row"], e["field"]) for e in body["errors"]}
    assert errors == {(3, "ordered_at"), (5, "total_amount")}
    assert all(e["message"] for e in body["errors"])
    # The valid rows are in the warehouse, typed; the registry and the KPIs follow.
    assert warehouse_rows(pusher) == [("P1", 120.0), ("P2", 80.5), ("P4", 99.5)]
    assert Dataset.objects.get(org=pusher, name="orders").rows == 3
    pusher.refresh_from_db()
    counts = {
        p.period.strftime("%Y-%m"): p.value
        for p in SeriesPoint.objects.filter(run=pusher.current_run, kpi_id="orders", grain="month", dimension="")
    }
    assert counts == {"2024-05": 2, "2024-06": 1}
    run = ImportRun.objects.get(org=pusher)
    assert (run.source.kind, run.loaded, run.rejected) == ("push", 3, 2)


def test_all_valid_rows_answer_200_and_an_identical_retry_loads_nothing_twice(client, two_orgs):
    pusher, _ = two_orgs
    _, token = ApiToken.issue(pusher, "script")
    good = [r for r in ROWS if r["order_id"] in ("P1", "P2")]
    first = post(client, rows_url(), good, token)
    assert first.status_code == 200
    assert (first.json()["loaded"], first.json()["errors"]) == (2, [])
    again = post(client, rows_url(), good, token)
    assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["loaded"] == 0
    assert len(warehouse_rows(pusher)) == 2


def test_upsert_by_key_replaces_rows(client, two_orgs):
    pusher, _ = two_orgs
    _, token = ApiToken.issue(pusher, "script")
    post(client, rows_url(), [ROWS[0], ROWS[1]], token)
    changed = [{**ROWS[0], "total_amount": 130.0}]
    response = post(client, rows_url(mode="upsert"), changed, token)
    assert response.status_code == 200
    assert warehouse_rows(pusher) == [("P1", 130.0), ("P2", 80.5)]


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer hw_" + "x" * 43, "Basic dXNlcjpwYXNz"])
def test_a_missing_or_wrong_token_gets_401_and_writes_nothing(client, two_orgs, header):
    pusher, _ = two_orgs
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post(rows_url(), data=json.dumps(ROWS[:1]), content_type="application/json", **extra)
    assert response.status_code == 401
    assert warehouse_rows(pusher) == [] and not ImportRun.objects.exists()


def test_a_revoked_token_gets_401(client, two_orgs):
    pusher, _ = two_orgs
    stored, token = ApiToken.issue(pusher, "old")
    assert post(client, rows_url(), ROWS[:1], token).status_code == 200
    owner = client_for(client, "pusher")
    owner.post(reverse("api_token_revoke", args=[stored.pk]))
    client.logout()
    assert post(client, rows_url(), ROWS[1:2], token).status_code == 401
    assert warehouse_rows(pusher) == [("P1", 120.0)]


def test_a_token_writes_only_into_its_own_org(client, two_orgs):
    pusher, bystander = two_orgs
    _, by_token = ApiToken.issue(bystander, "theirs")
    post(client, rows_url(), [{**ROWS[3], "order_id": "B1"}], by_token)
    before = warehouse_rows(bystander)
    _, token = ApiToken.issue(pusher, "mine")
    # Same dataset name, an id of the other org in the URL or body changes nothing: the org is the token's.
    response = post(client, rows_url() + f"?org={bystander.pk}", [{**ROWS[0], "org_id": bystander.pk}], token)
    assert response.status_code == 200
    assert warehouse_rows(bystander) == before == [("B1", 99.5)]
    assert warehouse_rows(pusher) == [("P1", 120.0)]
    assert not Source.objects.filter(org=bystander, kind="push").exclude(imports__file_name="token theirs").exists()


def test_a_bad_dataset_name_or_mapping_is_a_400_with_a_message(client, two_orgs):
    pusher, _ = two_orgs
    _, token = ApiToken.issue(pusher, "script")
    response = post(client, rows_url("_secret"), ROWS[:1], token)
    assert response.status_code == 400 and "_secret" in response.json()["errors"][0]["message"]
    missing = post(client, rows_url(), [{"order_id": "X", "total_amount": 1}], token)
    assert missing.status_code == 400
    assert "ordered_at" in missing.json()["errors"][0]["message"]
    assert post(client, rows_url(), [], token).status_code == 400
    assert warehouse_rows(pusher) == []


def test_points_go_into_a_dataset_and_a_point_without_a_value_is_named(client, two_orgs):
    pusher, _ = two_orgs
    _, token = ApiToken.issue(pusher, "sensor")
    url = reverse("api:api_push_points", kwargs={"name": "external_signals"})
    one = post(client, url, {"date": "2024-05-31", "value": 0.7, "signal": "market_sentiment"}, token)
    assert one.status_code == 200 and one.json()["loaded"] == 1
    many = [
        {"date": "2024-06-30", "value": 0.4, "signal": "market_sentiment"},
        {"date": "2024-07-31", "signal": "market_sentiment"},
        {"date": "2024-08-31", "value": "high", "signal": "market_sentiment"},
    ]
    response = post(client, url, many, token)
    assert response.status_code == 422
    body = response.json()
    assert (body["read"], body["loaded"], body["rejected"]) == (3, 1, 2)
    assert {(e["row"], e["field"]) for e in body["errors"]} == {(2, "value"), (3, "value")}
    con = duckdb.connect(str(pusher.warehouse_path()), read_only=True)
    try:
        values = con.execute("SELECT value FROM external_signals ORDER BY date").fetchall()
    finally:
        con.close()
    assert values == [(0.7,), (0.4,)]


def test_openapi_docs_list_the_push_endpoints(client, db):
    spec = client.get(reverse("api:openapi-json")).json()
    assert {"/api/v1/datasets/{name}/rows", "/api/v1/datasets/{name}/points"} <= set(spec["paths"])
    assert client.get(reverse("api:openapi-view")).status_code == 200


def test_the_token_page_shows_a_new_token_once_and_stores_only_its_hash(client, two_orgs):
    pusher, _ = two_orgs
    owner = client_for(client, "pusher")
    page = owner.post(reverse("api_tokens"), {"name": "till system"})
    plain = page.context["created"]
    assert plain.startswith("hw_") and plain in page.content.decode()
    stored = ApiToken.objects.get(org=pusher)
    assert plain not in (stored.token_hash, stored.prefix) and stored.token_hash != plain
    later = owner.get(reverse("api_tokens")).content.decode()
    assert plain not in later and stored.prefix in later
    assert post(client, rows_url(), ROWS[:1], plain).status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_a_push_while_the_warehouse_is_held_read_only_answers_503_and_loses_nothing(client, two_orgs):
    pusher, _ = two_orgs
    _, token = ApiToken.issue(pusher, "script")
    assert post(client, rows_url(), ROWS[:1], token).status_code == 200
    reader = duckdb.connect(str(pusher.warehouse_path()), read_only=True)  # as a refresh thread would
    try:
        busy = post(client, rows_url(), ROWS[1:2], token)
    finally:
        reader.close()
    assert busy.status_code == 503 and "retry" in busy.json()["errors"][0]["message"]
    assert warehouse_rows(pusher) == [("P1", 120.0)]
    assert post(client, rows_url(), ROWS[1:2], token).status_code == 200
    assert warehouse_rows(pusher) == [("P1", 120.0), ("P2", 80.5)]
