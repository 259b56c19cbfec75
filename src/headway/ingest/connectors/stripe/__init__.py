"""Stripe: charges → orders, customers → customers, subscriptions → subscriptions.

API: ``GET /v1/charges|customers|subscriptions`` with ``limit`` and ``starting_after``
(cursor pagination, ``has_more``), secret key as a Bearer token. Charges and customers
sync incrementally with ``created[gte]`` (Stripe lists cannot filter by update time);
subscriptions are read in full every time (``status=all``) so cancellations and plan
changes of old subscriptions arrive, and are upserted by ``subscription_id``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from headway.ingest.connectors.base import Batch, Connector, ConnectorInfo, CredentialField, Cursor, batch, dig, epoch
from headway.ingest.secrets import Secret

# Currencies Stripe counts in whole units (no cents): https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()  # noqa: SIM905 - the list as Stripe prints it
)

# Months per billing interval, to turn a price into monthly recurring revenue.
MONTHS = {"day": 12 / 365, "week": 12 / 52, "month": 1.0, "year": 12.0}


def amount(minor_units: int | None, currency: str | None) -> float | None:
    """A Stripe amount (in the currency's smallest unit) in major units: 1999 usd → 19.99, 500 jpy → 500."""
    if minor_units is None:
        return None
    return float(minor_units) if (currency or "").lower() in ZERO_DECIMAL else minor_units / 100


def charge_to_order(charge: Mapping[str, Any]) -> dict[str, Any] | None:
    """A succeeded charge as an order (net of refunds); None for a failed or pending charge."""
    if charge.get("status") != "succeeded":
        return None
    currency = charge.get("currency")
    net = (charge.get("amount") or 0) - (charge.get("amount_refunded") or 0)
    customer = charge.get("customer") or f"guest:{dig(charge, 'billing_details', 'email') or charge['id']}"
    return {
        "order_id": charge["id"],
        "customer_id": customer if isinstance(customer, str) else customer.get("id"),
        "ordered_at": epoch(charge["created"]),
        "total_amount": amount(net, currency),
        "status": "refunded" if charge.get("refunded") else "placed",
        "channel": (charge.get("metadata") or {}).get("channel") or "stripe",
    }


def customer_row(customer: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "customer_id": customer["id"],
        "created_at": epoch(customer["created"]),
        "country": dig(customer, "address", "country"),
        "segment": (customer.get("metadata") or {}).get("segment"),
    }


def subscription_row(sub: Mapping[str, Any]) -> dict[str, Any]:
    mrr = 0.0
    plan = None
    for item in dig(sub, "items", "data") or []:
        price = item.get("price") or item.get("plan") or {}
        recurring = price.get("recurring") or {"interval": price.get("interval"), "interval_count": 1}
        interval = MONTHS.get(recurring.get("interval") or "month", 1.0) * (recurring.get("interval_count") or 1)
        unit = amount(price.get("unit_amount", price.get("amount")), price.get("currency")) or 0.0
        mrr += unit * (item.get("quantity") or 1) / interval
        plan = plan or price.get("nickname") or price.get("lookup_key") or price.get("id")
    ended = sub.get("ended_at") or (sub.get("canceled_at") if sub.get("status") == "canceled" else None)
    customer = sub.get("customer")
    return {
        "subscription_id": sub["id"],
        "customer_id": customer if isinstance(customer, str) else dig(sub, "customer", "id"),
        "started_at": epoch(sub.get("start_date") or sub["created"]),
        "ended_at": epoch(ended),
        "mrr": round(mrr, 2),
        "plan": plan,
    }


class StripeConnector(Connector):
    info = ConnectorInfo(
        name="stripe",
        label="Stripe",
        description="Payments, customers and subscriptions from Stripe.",
        auth_kinds=("api_key",),
        datasets=("orders", "customers", "subscriptions"),
        credentials=(
            CredentialField("api_key", "Secret or restricted API key", help="A restricted read-only key is enough."),
        ),
        default_base_url="https://api.stripe.com",
    )

    def auth_headers(self) -> dict[str, str | Secret]:
        return {"Authorization": Secret(f"Bearer {self.secret('api_key')}")}

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        after = None
        while True:
            body = self.http.get(path, {**params, "limit": self.page_size, "starting_after": after}).body
            records = body.get("data") or []
            if records:
                yield records
            if not body.get("has_more") or not records:
                return
            after = records[-1]["id"]

    def _incremental(self, stream: str, path: str, dataset: str, mapper: Any) -> Iterator[Batch]:
        def pages(cursor: Cursor) -> Iterator[list[dict[str, Any]]]:
            return self._pages(path, {"created[gte]": cursor.value} if cursor.value is not None else {})

        for records in self.new_records(stream, pages, lambda record: record["created"]):
            rows = [row for row in map(mapper, records) if row is not None]
            if rows:
                yield batch(dataset, rows, stream)

    def streams(self) -> Iterator[Batch]:
        yield from self._incremental("customers", "/v1/customers", "customers", customer_row)
        yield from self._incremental("charges", "/v1/charges", "orders", charge_to_order)
        for records in self._pages("/v1/subscriptions", {"status": "all"}):
            yield batch("subscriptions", [subscription_row(r) for r in records], "subscriptions")
