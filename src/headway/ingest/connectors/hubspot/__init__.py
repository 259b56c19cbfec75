"""HubSpot: contacts → leads and customers, won deals → orders.

API: CRM v3 search (``POST /crm/v3/objects/{contacts|deals}/search``) with a private-app or
OAuth access token (Bearer). Both streams sync incrementally on the last-modified date
(``GTE`` filter, ascending, records at the boundary delivered last time skipped) and page
with ``paging.next.after``. HubSpot's search stops at 10,000 results per query, so a long
first sync restarts the search from the last modified date it reached.

Every contact is a lead (``converted_at`` = the date it became a customer); a contact in
the ``customer`` lifecycle stage is also a customer. A deal becomes an order once it is
closed-won, with its first associated contact (``POST /crm/v4/associations/deals/contacts/batch/read``)
as the customer; a won deal without a contact gets ``deal:<id>``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from headway.ingest.connectors.base import Batch, Connector, ConnectorInfo, CredentialField, Cursor, batch, iso
from headway.ingest.secrets import Secret

CONTACT_PROPERTIES = [
    "createdate",
    "lastmodifieddate",
    "lifecyclestage",
    "hs_lifecyclestage_customer_date",
    "hs_analytics_source",
    "country",
]
DEAL_PROPERTIES = [
    "dealname",
    "amount",
    "closedate",
    "dealstage",
    "pipeline",
    "hs_is_closed_won",
    "hs_lastmodifieddate",
]
SEARCH_LIMIT = 10_000  # HubSpot's cap on one search query's results


def _ms(text: str | None) -> int | None:
    value = iso(text)
    return None if value is None else int(value.timestamp() * 1000)


def lead_row(contact: Mapping[str, Any]) -> dict[str, Any]:
    p = contact.get("properties") or {}
    return {
        "lead_id": str(contact["id"]),
        "created_at": iso(p.get("createdate") or contact.get("createdAt")),
        "source": p.get("hs_analytics_source"),
        "converted_at": iso(p.get("hs_lifecyclestage_customer_date")),
    }


def customer_row(contact: Mapping[str, Any]) -> dict[str, Any] | None:
    p = contact.get("properties") or {}
    if p.get("lifecyclestage") != "customer" and not p.get("hs_lifecyclestage_customer_date"):
        return None
    return {
        "customer_id": str(contact["id"]),
        "created_at": iso(p.get("hs_lifecyclestage_customer_date") or p.get("createdate")),
        "country": p.get("country"),
        "acquisition_channel": p.get("hs_analytics_source"),
    }


def order_row(deal: Mapping[str, Any], contact_id: str | None) -> dict[str, Any] | None:
    p = deal.get("properties") or {}
    if str(p.get("hs_is_closed_won", "")).lower() != "true" and p.get("dealstage") != "closedwon":
        return None
    return {
        "order_id": f"deal:{deal['id']}",
        "customer_id": contact_id or f"deal:{deal['id']}",
        "ordered_at": iso(p.get("closedate")),
        "total_amount": float(p["amount"]) if p.get("amount") not in (None, "") else None,
        "channel": p.get("pipeline"),
        "status": "placed",
    }


class HubSpotConnector(Connector):
    info = ConnectorInfo(
        name="hubspot",
        label="HubSpot",
        description="Contacts (as leads and customers) and won deals (as orders) from HubSpot CRM.",
        auth_kinds=("api_key", "oauth_token"),
        datasets=("leads", "customers", "orders"),
        credentials=(
            CredentialField(
                "access_token",
                "Private app access token",
                help="Scopes: crm.objects.contacts.read, crm.objects.deals.read.",
            ),
        ),
        default_base_url="https://api.hubapi.com",
    )

    def auth_headers(self) -> dict[str, str | Secret]:
        return {"Authorization": Secret(f"Bearer {self.secret('access_token')}")}

    def _search(self, kind: str, modified: str, properties: list[str]) -> Iterator[list[dict[str, Any]]]:
        """Pages of records modified since the last sync, oldest first (the cursor is saved at the end)."""

        def pages(cursor: Cursor) -> Iterator[list[dict[str, Any]]]:
            since, after = cursor.value, None
            while True:
                filters = [{"propertyName": modified, "operator": "GTE", "value": str(since)}]
                body: dict[str, Any] = {
                    "filterGroups": [{"filters": filters}] if since is not None else [],
                    "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
                    "properties": properties,
                    "limit": self.page_size,
                }
                if after is not None:
                    body["after"] = after
                page = self.http.post(f"/crm/v3/objects/{kind}/search", body).body or {}
                yield page.get("results") or []
                after = ((page.get("paging") or {}).get("next") or {}).get("after")
                if after is None:
                    return
                if int(after) >= SEARCH_LIMIT:  # restart the search where the live cursor got to
                    since, after = cursor.value, None

        def value_of(record: Mapping[str, Any]) -> int | None:
            return _ms((record.get("properties") or {}).get(modified) or record.get("updatedAt"))

        return self.new_records(kind, pages, value_of)

    def _contacts_of(self, deal_ids: list[str]) -> dict[str, str]:
        body = {"inputs": [{"id": i} for i in deal_ids]}
        answer = self.http.post("/crm/v4/associations/deals/contacts/batch/read", body).body or {}
        found: dict[str, str] = {}
        for result in answer.get("results") or []:
            targets = result.get("to") or []
            if targets:
                found[str(result["from"]["id"])] = str(targets[0]["toObjectId"])
        return found

    def streams(self) -> Iterator[Batch]:
        for contacts in self._search("contacts", "lastmodifieddate", CONTACT_PROPERTIES):
            yield batch("leads", [lead_row(c) for c in contacts], "contacts")
            customers = [row for row in map(customer_row, contacts) if row is not None]
            if customers:
                yield batch("customers", customers, "contacts")
        for deals in self._search("deals", "hs_lastmodifieddate", DEAL_PROPERTIES):
            won = [d for d in deals if order_row(d, None) is not None]
            if won:
                buyers = self._contacts_of([str(d["id"]) for d in won])
                rows = [order_row(d, buyers.get(str(d["id"]))) for d in won]
                yield batch("orders", [r for r in rows if r is not None], "deals")
