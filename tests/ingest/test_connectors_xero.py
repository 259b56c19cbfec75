"""Xero connector (general ledger from journals) against recorded API responses."""

from __future__ import annotations

import pandas as pd
import pytest
from recorded.fake_api import FakeApi, load

from headway.ingest import connectors
from headway.ingest.connectors.xero import ms_date

TOKEN = "eyJhbGciOiJSUzI1NiJ9.xero-access-token-never-shown"
PAGES = {"0": "journals_offset0.json", "2": "journals_offset2.json", "3": "journals_offset3.json"}


@pytest.fixture
def api():
    with FakeApi() as server:
        server.route(
            "GET",
            "/api.xro/2.0/Journals",
            lambda req: load("xero/" + PAGES.get(req.query["offset"], "journals_empty.json")),
        )
        yield server


def make(api, state=None):
    creds = {"access_token": TOKEN, "tenant_id": "a3e5c1f2-tenant"}
    return connectors.get("xero")(creds, base_url=api.url, state=state, page_size=2)


def ledger(conn):
    batches = list(conn.sync())
    assert all(b.dataset_type == "ledger" and b.key == [] for b in batches)
    return pd.concat([b.frame for b in batches], ignore_index=True) if batches else pd.DataFrame()


def test_journals_map_to_the_ledger_in_the_normal_direction(api):
    frame = ledger(make(api))
    rows = {(str(r.date.date()), r.account, r.category): r.amount for r in frame.itertuples()}
    # Receivables, VAT and bank lines are balance-sheet lines: not in the canonical ledger.
    assert rows == {
        ("2024-05-01", "200 Sales", "revenue"): 1000.0,
        ("2024-05-02", "310 Cost of Goods Sold", "cogs"): 400.0,
        ("2024-05-03", "493 Travel - National", "opex"): 85.5,
        ("2024-05-03", "720 Office Equipment", "capex"): 1500.0,
    }
    headers = api.requests[0].headers
    assert headers["authorization"] == f"Bearer {TOKEN}" and headers["xero-tenant-id"] == "a3e5c1f2-tenant"


def test_pages_by_journal_number_and_the_next_sync_starts_after_the_last_one(api):
    first = make(api)
    ledger(first)
    assert [r.query["offset"] for r in api.requests] == ["0", "2"]  # stops at a short page
    assert first.state["journals"]["value"] == 3
    api.requests.clear()

    second = make(api, state=first.state)
    frame = ledger(second)
    assert [r.query["offset"] for r in api.requests] == ["3", "5"]
    # Only journals 4 and 5: a credit note (negative revenue) and other income.
    assert sorted(zip(frame["account"], frame["amount"], strict=True)) == [
        ("200 Sales", -150.0),
        ("260 Other Revenue", 42.0),
    ]
    assert second.state["journals"]["value"] == 5


def test_an_expired_token_says_how_to_fix_it(api):
    api.fail_next(
        "GET",
        "/api.xro/2.0/Journals",
        401,
        body={
            "Type": None,
            "Title": "Unauthorized",
            "Status": 401,
            "Detail": "TokenExpired: token expired at 06/01/2024",
        },
    )
    conn = make(api, state={"journals": {"value": 7, "ids": []}})
    with pytest.raises(connectors.ConnectorAuthError, match=r"Xero: .*TokenExpired.*refresh token") as err:
        list(conn.sync())
    assert TOKEN not in str(err.value)
    assert conn.state["journals"]["value"] == 7


def test_xero_dates():
    assert str(ms_date("/Date(1714521600000+0000)/")) == "2024-05-01 00:00:00+00:00"
    assert str(ms_date("2024-05-01T00:00:00")) == "2024-05-01 00:00:00+00:00"
