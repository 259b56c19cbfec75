"""Xero: the general ledger (journals) → ledger.

API: ``GET /api.xro/2.0/Journals?offset=N`` with an OAuth 2 access token (Bearer) and the
organisation's ``Xero-tenant-id``. Xero returns the journals numbered above ``offset``, 100
at a time, oldest first; the cursor is the last journal number, so every sync reads only
journals created since. Journals are never edited in Xero (a change posts a reversing
journal), so ledger rows are append-only and the batches have no key.

Profit-and-loss lines and fixed-asset lines become ledger rows; other balance-sheet lines
(bank, receivables, payables, tax, equity) are not part of the canonical ledger and are left
out. Amounts are positive in the account's normal direction: revenue is the credit
(``-NetAmount``), costs and capital spending are the debit (``NetAmount``); a credit note or
reversal therefore shows as a negative amount.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any

from headway.ingest.connectors.base import Batch, Connector, ConnectorInfo, CredentialField, Cursor, batch
from headway.ingest.secrets import Secret

# Xero account type → (canonical ledger category, sign that makes the normal direction positive)
CATEGORIES: dict[str, tuple[str, int]] = {
    "REVENUE": ("revenue", -1),
    "SALES": ("revenue", -1),
    "OTHERINCOME": ("revenue", -1),
    "DIRECTCOSTS": ("cogs", 1),
    "EXPENSE": ("opex", 1),
    "OVERHEADS": ("opex", 1),
    "DEPRECIATN": ("opex", 1),
    "FIXED": ("capex", 1),
}

_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def ms_date(text: str) -> dt.datetime:
    """Xero's ``/Date(1517356800000+0000)/`` (milliseconds since 1970, UTC) as an aware datetime."""
    match = _MS_DATE.search(text)
    if match is None:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, dt.UTC)


def ledger_rows(journal: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for line in journal.get("JournalLines") or []:
        mapped = CATEGORIES.get(str(line.get("AccountType", "")).upper())
        if mapped is None:
            continue
        category, sign = mapped
        code, name = line.get("AccountCode"), line.get("AccountName")
        rows.append(
            {
                "date": ms_date(journal["JournalDate"]),
                "account": f"{code} {name}" if code and name else (name or code),
                "category": category,
                "amount": sign * float(line.get("NetAmount") or 0),
            }
        )
    return rows


class XeroConnector(Connector):
    info = ConnectorInfo(
        name="xero",
        label="Xero",
        description="The general ledger (income, cost and capital accounts) from Xero accounting.",
        auth_kinds=("oauth_token",),
        datasets=("ledger",),
        credentials=(
            CredentialField("access_token", "OAuth 2 access token", help="Scope: accounting.journals.read."),
            CredentialField("tenant_id", "Xero tenant (organisation) id", secret=False),
        ),
        default_base_url="https://api.xero.com",
    )
    page_size = 100  # fixed by Xero

    def auth_headers(self) -> dict[str, str | Secret]:
        return {
            "Authorization": Secret(f"Bearer {self.secret('access_token')}"),
            "Xero-tenant-id": self.secret("tenant_id"),
        }

    def auth_hint(self) -> str:
        return "the access token lasts 30 minutes: refresh it with the refresh token, or reconnect Xero in Sources"

    def streams(self) -> Iterator[Batch]:
        cursor = self.cursor("journals")
        offset = int(cursor.value or 0)
        while True:
            body = self.http.get("/api.xro/2.0/Journals", {"offset": offset}).body or {}
            journals = body.get("Journals") or []
            rows = [row for journal in journals for row in ledger_rows(journal)]
            if rows:
                yield batch("ledger", rows, "journals", key=[])
            if journals:
                offset = max(int(j["JournalNumber"]) for j in journals)
            if len(journals) < self.page_size:
                break
        self.save_cursor("journals", Cursor(offset))
