"""Shopify: orders → orders + order_lines, customers → customers, products → products.

API: the Admin REST API (``/admin/api/{version}/orders.json`` ...) with the shop's Admin
API access token in ``X-Shopify-Access-Token``. Every stream syncs incrementally with
``updated_at_min`` (inclusive; records at the boundary delivered last time are skipped) and
pages with the ``Link: <...page_info=...>; rel="next"`` header. The next-page link is
followed on the configured base URL only (its path and query), so the token never goes to
another host. Product costs come from the inventory items of each product's first variant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from headway.ingest.connectors.base import Batch, Connector, ConnectorInfo, CredentialField, Cursor, batch, dig, iso
from headway.ingest.secrets import Secret

_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def _utc(text: str | None) -> str | None:
    """An ISO timestamp with any offset as a sortable UTC string (the cursor's form)."""
    value = iso(text)
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def order_status(order: Mapping[str, Any]) -> str:
    if order.get("cancelled_at"):
        return "cancelled"
    if order.get("financial_status") == "refunded":
        return "refunded"
    if order.get("fulfillment_status") == "fulfilled":
        return "fulfilled"
    return "placed"


def order_row(order: Mapping[str, Any]) -> dict[str, Any]:
    fulfilments = sorted(f["created_at"] for f in order.get("fulfillments") or [] if f.get("created_at"))
    customer_id = dig(order, "customer", "id")
    subtotal = order.get("current_subtotal_price", order.get("subtotal_price"))
    return {
        "order_id": str(order["id"]),
        "customer_id": str(customer_id) if customer_id else f"guest:{order.get('email') or order['id']}",
        "ordered_at": iso(order["created_at"]),
        "total_amount": _money(subtotal),
        "discount_amount": _money(order.get("total_discounts")),
        "channel": order.get("source_name"),
        "region": dig(order, "shipping_address", "country_code") or dig(order, "billing_address", "country_code"),
        "status": order_status(order),
        "fulfilled_at": iso(fulfilments[0]) if fulfilments else None,
    }


def order_line_rows(order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per product of the order: lines of the same product (several variants) are summed."""
    lines: dict[str, dict[str, Any]] = {}
    for item in order.get("line_items") or []:
        product = str(item["product_id"]) if item.get("product_id") else f"custom:{item.get('title') or item['id']}"
        quantity = float(item.get("quantity") or 0)
        row = lines.setdefault(
            product,
            {
                "order_id": str(order["id"]),
                "product_id": product,
                "quantity": 0.0,
                "unit_price": 0.0,
                "ordered_at": iso(order["created_at"]),
                "channel": order.get("source_name"),
            },
        )
        value = row["unit_price"] * row["quantity"] + (_money(item.get("price")) or 0.0) * quantity
        row["quantity"] += quantity
        row["unit_price"] = value / row["quantity"] if row["quantity"] else _money(item.get("price"))
    return list(lines.values())


def customer_row(customer: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "customer_id": str(customer["id"]),
        "created_at": iso(customer["created_at"]),
        "country": dig(customer, "default_address", "country_code"),
        "region": dig(customer, "default_address", "province_code"),
    }


def product_row(product: Mapping[str, Any], costs: Mapping[str, float | None]) -> dict[str, Any]:
    variant = (product.get("variants") or [{}])[0]
    return {
        "product_id": str(product["id"]),
        "name": product.get("title"),
        "category": product.get("product_type") or None,
        "unit_price": _money(variant.get("price")),
        "unit_cost": costs.get(str(variant.get("inventory_item_id"))),
    }


class ShopifyConnector(Connector):
    info = ConnectorInfo(
        name="shopify",
        label="Shopify",
        description="Orders with their lines, customers and products from a Shopify shop.",
        auth_kinds=("api_key", "oauth_token"),
        datasets=("orders", "order_lines", "customers", "products"),
        credentials=(
            CredentialField("shop", "Shop name (the part before .myshopify.com)", secret=False),
            CredentialField(
                "access_token",
                "Admin API access token",
                help="Scopes: read_orders, read_customers, read_products, read_inventory.",
            ),
        ),
        default_base_url="https://{shop}.myshopify.com",
    )
    api_version = "2024-01"
    page_size = 250

    def auth_headers(self) -> dict[str, str | Secret]:
        return {"X-Shopify-Access-Token": self.credentials["access_token"]}

    def _path(self, resource: str) -> str:
        return f"/admin/api/{self.api_version}/{resource}.json"

    def _pages(self, resource: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        path: str | None = self._path(resource)
        query: dict[str, Any] | None = {**params, "limit": self.page_size}
        while path is not None:
            response = self.http.get(path, query)
            records = (response.body or {}).get(resource) or []
            if records:
                yield records
            link = _NEXT.search(response.header("link") or "")
            if link is None:
                return
            # Only the path and query of the link: the token stays on the configured host.
            nxt = urlsplit(link.group(1))
            path, query = f"{nxt.path}?{nxt.query}", None

    def _incremental(
        self, resource: str, params: dict[str, Any], rows: Callable[[list[dict[str, Any]]], Iterator[Batch]]
    ) -> Iterator[Batch]:
        def pages(cursor: Cursor) -> Iterator[list[dict[str, Any]]]:
            since = {"updated_at_min": cursor.value} if cursor.value is not None else {}
            return self._pages(resource, {**params, **since})

        for records in self.new_records(resource, pages, lambda record: _utc(record.get("updated_at"))):
            yield from rows(records)

    def _order_batches(self, orders: list[dict[str, Any]]) -> Iterator[Batch]:
        yield batch("orders", [order_row(o) for o in orders], "orders")
        lines = [line for o in orders for line in order_line_rows(o)]
        if lines:
            yield batch("order_lines", lines, "orders")

    def _product_batches(self, products: list[dict[str, Any]]) -> Iterator[Batch]:
        items = [str(v["inventory_item_id"]) for p in products for v in (p.get("variants") or [])[:1]]
        costs: dict[str, float | None] = {}
        for start in range(0, len(items), 100):  # the endpoint takes at most 100 ids
            chunk = ",".join(items[start : start + 100])
            body = self.http.get(self._path("inventory_items"), {"ids": chunk, "limit": 100}).body or {}
            costs.update({str(i["id"]): _money(i.get("cost")) for i in body.get("inventory_items") or []})
        yield batch("products", [product_row(p, costs) for p in products], "products")

    def streams(self) -> Iterator[Batch]:
        yield from self._incremental(
            "customers", {}, lambda rs: iter([batch("customers", map(customer_row, rs), "customers")])
        )
        yield from self._incremental("products", {}, self._product_batches)
        yield from self._incremental("orders", {"status": "any"}, self._order_batches)
