"""Stripe connector against recorded Stripe API responses on a local HTTP server."""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import pytest
from recorded.fake_api import FakeApi, Reply, load

from headway.ingest import connectors
from headway.ingest.connectors import ConnectorAuthError
from headway.ingest.secrets import Secret

KEY = "sk_test_51Hx9DoNotLeakThisKey"


def charges_handler(req):
    if "created[gte]" in req.query:
        return load("stripe/charges_since.json")
    return load(
        "stripe/charges_page2.json" if req.query.get("starting_after") == "ch_3Pz3" else "stripe/charges_page1.json"
    )


@pytest.fixture
def api():
    with FakeApi() as server:
        server.route("GET", "/v1/charges", charges_handler)
        server.route("GET", "/v1/customers", lambda req: load("stripe/customers.json"))
        server.route("GET", "/v1/subscriptions", lambda req: load("stripe/subscriptions.json"))
        yield server


def sync_all(conn):
    out: dict[str, list[pd.DataFrame]] = {}
    for batch in conn.sync():
        assert batch.key == (["order_id"] if batch.dataset_type == "orders" else batch.key)
        out.setdefault(batch.dataset_type, []).append(batch.frame)
    return {k: pd.concat(v, ignore_index=True) for k, v in out.items()}


def utc(seconds):
    return pd.Timestamp(dt.datetime.fromtimestamp(seconds, dt.UTC)).tz_localize(None)


def test_first_sync_maps_charges_customers_and_subscriptions(api):
    conn = connectors.get("stripe")({"api_key": Secret(KEY)}, base_url=api.url, sleep=lambda s: None)
    frames = sync_all(conn)

    orders = frames["orders"].set_index("order_id")
    # The failed charge ch_3Pz4 is not an order; refunds are netted; JPY has no cents.
    assert sorted(orders.index) == ["ch_3Pz1", "ch_3Pz2", "ch_3Pz3", "ch_3Pz5"]
    assert orders.loc["ch_3Pz5", "total_amount"] == pytest.approx(42.00)
    assert orders.loc["ch_3Pz3", "total_amount"] == pytest.approx(50.00 - 15.00)
    assert orders.loc["ch_3Pz1", "total_amount"] == 0 and orders.loc["ch_3Pz1", "status"] == "refunded"
    assert orders.loc["ch_3Pz2", "customer_id"] == "guest:walkin@example.com"
    assert orders.loc["ch_3Pz5", "channel"] == "web"
    assert orders.loc["ch_3Pz5", "ordered_at"] == utc(1717000500)

    customers = frames["customers"].set_index("customer_id")
    assert customers.loc["cus_A1", "country"] == "DE" and customers.loc["cus_A1", "segment"] == "smb"
    assert customers.loc["cus_B2", "created_at"] == utc(1716000200)

    subs = frames["subscriptions"].set_index("subscription_id")
    assert subs.loc["sub_1Q3", "mrr"] == pytest.approx(49.00 * 2)
    assert subs.loc["sub_1Q2", "mrr"] == pytest.approx(480.00 / 12 + 30.00 / 3)  # yearly + quarterly price
    assert subs.loc["sub_1Q2", "ended_at"] == utc(1716900000)
    assert pd.isna(subs.loc["sub_1Q3", "ended_at"])

    # Pagination: the second charges page was asked for with the last id of the first.
    charge_calls = api.calls("/v1/charges")
    assert [c.query.get("starting_after") for c in charge_calls] == [None, "ch_3Pz3"]
    assert all(c.headers["authorization"] == f"Bearer {KEY}" for c in api.requests)
    assert api.calls("/v1/subscriptions")[0].query["status"] == "all"
    assert conn.state["charges"] == {"value": 1717000500, "ids": ["ch_3Pz5"]}


def test_second_sync_sends_the_cursor_and_yields_only_new_charges(api):
    first = connectors.get("stripe")({"api_key": KEY}, base_url=api.url)
    sync_all(first)
    state = first.state
    api.requests.clear()

    second = connectors.get("stripe")({"api_key": KEY}, base_url=api.url, state=state)
    frames = sync_all(second)
    (call,) = api.calls("/v1/charges")
    assert call.query["created[gte]"] == "1717000500"
    # ch_3Pz5 sits on the boundary (created == cursor) and was delivered last time.
    assert sorted(frames["orders"]["order_id"]) == ["ch_3Pz7", "ch_3Pz8"]
    assert second.state["charges"] == {"value": 1717000900, "ids": ["ch_3Pz8"]}


def test_state_advances_only_after_a_complete_sync(api):
    api.fail_next("GET", "/v1/subscriptions", 400, body={"error": {"message": "Invalid status"}})
    conn = connectors.get("stripe")({"api_key": KEY}, base_url=api.url, state={"keep": 1})
    with pytest.raises(connectors.ConnectorError, match="Invalid status"):
        sync_all(conn)
    assert conn.state == {"keep": 1}


def test_an_expired_key_says_which_connector_and_what_to_do(api, caplog):
    conn = connectors.get("stripe")({"api_key": KEY}, base_url=api.url)
    with caplog.at_level(logging.DEBUG):
        list(connectors.get("stripe")({"api_key": KEY}, base_url=api.url).sync())  # a good sync, logged
    assert "Stripe: charges page → 2 orders rows" in caplog.text  # 3 charges, one failed
    assert "Stripe: sync complete: 2 customers, 4 orders, 2 subscriptions" in caplog.text
    api.fail_next(
        "GET",
        "/v1/customers",
        401,
        body={"error": {"message": "Expired API Key provided: sk_test_****Key", "type": "invalid_request_error"}},
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(ConnectorAuthError) as err:
        list(conn.sync())
    message = str(err.value)
    assert message.startswith("Stripe:")
    assert "Expired API Key" in message and "reconnect Stripe" in message and "new API key" in message
    assert KEY not in message and KEY not in caplog.text and KEY not in repr(conn)


def test_a_429_mid_pagination_waits_as_told_and_loses_nothing(api):
    api.route("GET", "/v1/charges", charges_handler)
    slept: list[float] = []
    original = api._answer

    def answer(request):
        # The second page (starting_after) is rate limited once.
        if request.path == "/v1/charges" and request.query.get("starting_after") and not slept:
            api.requests.append(request)
            return Reply({"error": {"message": "Too many requests"}}, 429, {"Retry-After": "3"})
        return original(request)

    api._answer = answer
    conn = connectors.get("stripe")({"api_key": KEY}, base_url=api.url, sleep=slept.append)
    frames = sync_all(conn)
    assert slept == [3.0]
    assert [c.query.get("starting_after") for c in api.calls("/v1/charges")] == [None, "ch_3Pz3", "ch_3Pz3"]
    assert sorted(frames["orders"]["order_id"]) == ["ch_3Pz1", "ch_3Pz2", "ch_3Pz3", "ch_3Pz5"]


def test_synced_orders_load_into_the_warehouse_with_canonical_types(api, tmp_path):
    from headway.engine.warehouse import DuckDBWarehouse

    conn = connectors.get("stripe")({"api_key": KEY}, base_url=api.url)
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    for batch in conn.sync():
        mode = "append" if batch.dataset_type in wh.tables() else "replace"
        wh.load_frame(batch.dataset_type, batch.frame, dataset_type=batch.dataset_type, mode=mode)
    total = wh.query("SELECT sum(total_amount) AS t, min(ordered_at) AS first FROM orders").iloc[0]
    assert total["t"] == pytest.approx(42.00 + 35.00 + 25.99 + 0)
    assert pd.Timestamp(total["first"]) == utc(1717000100)
    assert wh.columns("subscriptions")["ended_at"].value == "timestamp"
    wh.close()


def test_preview_fetches_one_page_and_leaves_the_state_alone(api):
    conn = connectors.get("stripe")({"api_key": KEY}, base_url=api.url, state={"charges": {"value": 5, "ids": []}})
    sample = conn.preview()
    assert sample is not None and sample.dataset_type == "customers"
    assert sorted(sample.frame["customer_id"]) == ["cus_A1", "cus_B2"]
    assert [r.path for r in api.requests] == ["/v1/customers"]
    assert conn.state == {"charges": {"value": 5, "ids": []}}
    api.fail_next("GET", "/v1/customers", 401, body={"error": {"message": "Invalid API Key provided"}})
    with pytest.raises(ConnectorAuthError, match="Invalid API Key"):
        conn.preview()
