"""Shopify connector against recorded Admin REST API responses on a local HTTP server."""

from __future__ import annotations

import pandas as pd
import pytest
from recorded.fake_api import FakeApi, Reply, load

from headway.ingest import connectors

TOKEN = "shpat_0123456789abcdefDoNotShow"
V = "/admin/api/2024-01"
NEXT = f'<https://headway-demo.myshopify.com{V}/orders.json?limit=250&page_info=eyJsYXN0X2lkIjo1MDAyfQ>; rel="next"'


def orders(req):
    if req.query.get("page_info") == "eyJsYXN0X2lkIjo1MDAyfQ":
        return load("shopify/orders_page2.json")
    if "updated_at_min" in req.query:
        return load("shopify/orders_since.json")
    return Reply(load("shopify/orders_page1.json"), headers={"Link": NEXT})


@pytest.fixture
def api():
    with FakeApi() as server:
        server.route("GET", f"{V}/orders.json", orders)
        server.route("GET", f"{V}/customers.json", lambda req: load("shopify/customers.json"))
        server.route("GET", f"{V}/products.json", lambda req: load("shopify/products.json"))
        server.route("GET", f"{V}/inventory_items.json", lambda req: load("shopify/inventory_items.json"))
        yield server


def run(conn):
    out: dict[str, list[pd.DataFrame]] = {}
    for b in conn.sync():
        out.setdefault(b.dataset_type, []).append(b.frame)
        assert b.key == {"orders": ["order_id"], "order_lines": ["order_id", "product_id"]}.get(b.dataset_type, b.key)
    return {k: pd.concat(v, ignore_index=True) for k, v in out.items()}


def ts(text):
    return pd.Timestamp(text).tz_convert("UTC").tz_localize(None)


def make(api, state=None):
    creds = {"shop": "headway-demo", "access_token": TOKEN}
    return connectors.get("shopify")(creds, base_url=api.url, state=state)


def test_the_default_base_url_is_the_shops_address():
    conn = connectors.get("shopify")({"shop": "headway-demo", "access_token": TOKEN})
    assert conn.base_url == "https://headway-demo.myshopify.com"


def test_first_sync_maps_orders_lines_customers_and_products(api):
    frames = run(make(api))

    o = frames["orders"].set_index("order_id")
    assert sorted(o.index) == ["5001", "5002", "5003"]
    assert o.loc["5001", "ordered_at"] == ts("2024-05-01T10:00:00+02:00")
    assert o.loc["5001", "total_amount"] == pytest.approx(54.00)
    assert o.loc["5001", "discount_amount"] == pytest.approx(6.00)
    assert o.loc["5001", "status"] == "fulfilled" and o.loc["5001", "region"] == "DE"
    assert o.loc["5001", "fulfilled_at"] == ts("2024-05-01T15:30:00+02:00")
    assert o.loc["5002", "customer_id"] == "guest:walkin@example.com" and o.loc["5002", "channel"] == "pos"
    assert o.loc["5003", "status"] == "refunded"

    lines = frames["order_lines"].set_index(["order_id", "product_id"])
    # Two variants of product 9001 in order 5001: 2 x 12.00 + 1 x 8.00 → 3 units at 32/3.
    assert lines.loc[("5001", "9001"), "quantity"] == 3
    assert lines.loc[("5001", "9001"), "unit_price"] == pytest.approx((2 * 12.00 + 8.00) / 3)
    assert lines.loc[("5002", "custom:Gift wrapping"), "unit_price"] == pytest.approx(19.50)
    assert not lines.index.duplicated().any() and len(lines) == 4

    c = frames["customers"].set_index("customer_id")
    assert c.loc["7001", "created_at"] == ts("2024-01-01T08:00:00Z") and c.loc["7002", "region"] == "CA"

    p = frames["products"].set_index("product_id")
    assert p.loc["9001", "unit_cost"] == pytest.approx(3.40) and p.loc["9001", "unit_price"] == pytest.approx(12.00)
    assert p.loc["9001", "category"] == "Bread"
    assert pd.isna(p.loc["9002", "unit_cost"])  # no cost in Shopify: left empty for validation to report

    (inv,) = api.calls(f"{V}/inventory_items.json")
    assert inv.query["ids"] == "8101,8201"


def test_pagination_follows_the_link_header_on_the_configured_host_only(api):
    run(make(api))
    first, second = api.calls(f"{V}/orders.json")
    assert first.query == {"status": "any", "limit": "250"}
    # Shopify rejects filters next to page_info; the link's host (the real shop) is not contacted.
    assert second.query == {"limit": "250", "page_info": "eyJsYXN0X2lkIjo1MDAyfQ"}
    assert all(r.headers["x-shopify-access-token"] == TOKEN for r in api.requests)


def test_second_sync_sends_updated_at_min_and_yields_only_new_or_changed_orders(api):
    first = make(api)
    run(first)
    assert first.state["orders"] == {"value": "2024-05-03T12:00:00Z", "ids": ["5003"]}
    api.requests.clear()

    frames = run(make(api, state=first.state))
    (call,) = api.calls(f"{V}/orders.json")
    assert call.query["updated_at_min"] == "2024-05-03T12:00:00Z"
    o = frames["orders"].set_index("order_id")
    assert sorted(o.index) == ["5001", "5004"]  # 5003 was delivered last time; 5001 changed since
    assert o.loc["5001", "status"] == "cancelled" and o.loc["5001", "total_amount"] == 0
    assert api.calls(f"{V}/customers.json")[0].query["updated_at_min"] == "2024-05-02T16:00:00Z"
    assert "customers" not in frames  # nothing changed after the boundary


def test_a_revoked_token_is_a_clear_error(api):
    api.fail_next(
        "GET", f"{V}/customers.json", 401, body={"errors": "[API] Invalid API key or access token (unrecognized login)"}
    )
    with pytest.raises(connectors.ConnectorAuthError, match=r"Shopify: .*Invalid API key.*reconnect Shopify") as err:
        list(make(api).sync())
    assert TOKEN not in str(err.value)
