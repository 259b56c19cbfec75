"""HubSpot and Google Analytics 4 connectors against recorded API responses."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from recorded.fake_api import FakeApi, Reply, load

from headway.ingest import connectors

TOKEN = "pat-na1-11111111-2222-3333-4444-hidden"


def contacts(req):
    filters = req.body["filterGroups"]
    if filters:
        return load("hubspot/contacts_since.json")
    return load("hubspot/contacts_page2.json" if req.body.get("after") == "2" else "hubspot/contacts_page1.json")


@pytest.fixture
def hubspot():
    with FakeApi() as server:
        server.route("POST", "/crm/v3/objects/contacts/search", contacts)
        server.route(
            "POST",
            "/crm/v3/objects/deals/search",
            lambda req: load("hubspot/empty.json" if req.body["filterGroups"] else "hubspot/deals.json"),
        )
        server.route(
            "POST",
            "/crm/v4/associations/deals/contacts/batch/read",
            lambda req: Reply(load("hubspot/deal_contacts.json"), 207),
        )
        yield server


def frames_of(conn):
    out: dict[str, list[pd.DataFrame]] = {}
    for b in conn.sync():
        out.setdefault(b.dataset_type, []).append(b.frame)
    return {k: pd.concat(v, ignore_index=True) for k, v in out.items()}


def ts(text):
    return pd.Timestamp(text).tz_localize(None)


def test_hubspot_contacts_become_leads_and_customers_and_won_deals_orders(hubspot):
    conn = connectors.get("hubspot")({"access_token": TOKEN}, base_url=hubspot.url)
    f = frames_of(conn)
    leads = f["leads"].set_index("lead_id")
    assert sorted(leads.index) == ["101", "102", "103"]
    assert leads.loc["102", "converted_at"] == ts("2024-04-20T11:00:00") and pd.isna(leads.loc["101", "converted_at"])
    assert leads.loc["101", "source"] == "ORGANIC_SEARCH"
    assert list(f["customers"]["customer_id"]) == ["102"]
    assert f["customers"].iloc[0]["acquisition_channel"] == "PAID_SOCIAL"

    orders = f["orders"].set_index("order_id")
    assert sorted(orders.index) == ["deal:201", "deal:203"]  # the open deal 202 is not an order
    assert orders.loc["deal:201", "customer_id"] == "102"  # from the association
    assert orders.loc["deal:203", "customer_id"] == "deal:203"  # no associated contact
    assert orders.loc["deal:203", "total_amount"] == pytest.approx(250.50)
    assert orders.loc["deal:201", "ordered_at"] == ts("2024-05-02T12:00:00")

    (assoc,) = hubspot.calls("/crm/v4/associations/deals/contacts/batch/read")
    assert assoc.body == {"inputs": [{"id": "201"}, {"id": "203"}]}
    first, second = hubspot.calls("/crm/v3/objects/contacts/search")
    assert first.body["filterGroups"] == [] and "after" not in first.body
    assert second.body["after"] == "2"
    assert first.body["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in hubspot.requests)


def test_hubspot_second_sync_filters_on_the_last_modified_date_and_skips_what_it_had(hubspot):
    first = connectors.get("hubspot")({"access_token": TOKEN}, base_url=hubspot.url)
    frames_of(first)
    boundary = int(dt.datetime(2024, 5, 3, 9, 30, tzinfo=dt.UTC).timestamp() * 1000)
    assert first.state["contacts"] == {"value": boundary, "ids": ["103"]}
    hubspot.requests.clear()

    second = connectors.get("hubspot")({"access_token": TOKEN}, base_url=hubspot.url, state=first.state)
    f = frames_of(second)
    (call,) = hubspot.calls("/crm/v3/objects/contacts/search")
    assert call.body["filterGroups"] == [
        {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(boundary)}]}
    ]
    # 103 sits on the boundary and came last time; 101 was converted since.
    assert list(f["leads"]["lead_id"]) == ["101"]
    assert f["leads"].iloc[0]["converted_at"] == ts("2024-05-05T12:00:00")
    assert list(f["customers"]["customer_id"]) == ["101"]
    assert "orders" not in f


def test_hubspot_restarts_a_search_at_the_10000_result_cap(hubspot):
    def capped(req):
        if not req.body["filterGroups"]:
            page = load("hubspot/contacts_page1.json")
            page["paging"]["next"]["after"] = "10000"
            return page
        # The restarted search (GTE the last date reached) hands 102 over again.
        return {
            "results": [
                load("hubspot/contacts_page1.json")["results"][1],
                *load("hubspot/contacts_page2.json")["results"],
            ]
        }

    hubspot.route("POST", "/crm/v3/objects/contacts/search", capped)
    conn = connectors.get("hubspot")({"access_token": TOKEN}, base_url=hubspot.url)
    leads = frames_of(conn)["leads"]
    _, second = hubspot.calls("/crm/v3/objects/contacts/search")
    last_seen = int(dt.datetime(2024, 5, 2, 8, 0, tzinfo=dt.UTC).timestamp() * 1000)
    assert second.body["filterGroups"][0]["filters"][0]["value"] == str(last_seen)
    assert "after" not in second.body
    assert sorted(leads["lead_id"]) == ["101", "102", "103"]  # 102 not doubled


GA4_PATH = "/v1beta/properties/412345678:runReport"


@pytest.fixture
def ga4():
    def report(req):
        if req.body["dateRanges"][0]["startDate"] != "2022-05-23":
            return load("ga4/report_since.json")
        return load("ga4/report_offset3.json" if req.body["offset"] == 3 else "ga4/report_offset0.json")

    with FakeApi() as server:
        server.route("POST", GA4_PATH, report)
        yield server


def test_ga4_sessions_per_day_and_channel_with_offset_paging(ga4):
    creds = {"access_token": TOKEN, "property_id": "412345678"}
    today = dt.datetime(2024, 5, 22, 9, 0, tzinfo=dt.UTC)
    conn = connectors.get("ga4")(creds, base_url=ga4.url, page_size=3, clock=lambda: today)
    batches = list(conn.sync())
    assert all(b.dataset_type == "web_traffic" and b.key == ["date", "source"] for b in batches)
    frame = pd.concat([b.frame for b in batches])
    assert len(frame) == 5 and frame["sessions"].sum() == 120 + 40 + 130 + 38 + 12
    row = frame[(frame["date"] == "2024-05-21") & (frame["source"] == "Direct")].iloc[0]
    assert (row["sessions"], row["users"]) == (38, 30)
    first, second = ga4.requests
    assert first.body["dateRanges"] == [{"startDate": "2022-05-23", "endDate": "2024-05-22"}]
    assert (first.body["offset"], second.body["offset"], second.body["limit"]) == (0, 3, 3)
    assert conn.state["report"]["value"] == "2024-05-22"

    # Next sync: two days of look-back (GA4 finalises a day within 48 h), upserted by (date, source).
    ga4.requests.clear()
    later = connectors.get("ga4")(creds, base_url=ga4.url, state=conn.state, clock=lambda: today + dt.timedelta(2))
    frame = pd.concat([b.frame for b in later.sync()])
    (call,) = ga4.requests
    assert call.body["dateRanges"] == [{"startDate": "2024-05-20", "endDate": "2024-05-24"}]
    assert frame["date"].min() == pd.Timestamp("2024-05-20") and later.state["report"]["value"] == "2024-05-24"


def test_ga4_expired_token(ga4):
    ga4.fail_next(
        "POST",
        GA4_PATH,
        401,
        body={
            "error": {
                "code": 401,
                "message": "Request had invalid authentication credentials.",
                "status": "UNAUTHENTICATED",
            }
        },
    )
    conn = connectors.get("ga4")({"access_token": TOKEN, "property_id": "412345678"}, base_url=ga4.url)
    with pytest.raises(connectors.ConnectorAuthError, match=r"Google Analytics 4: .*invalid authentication.*refresh"):
        list(conn.sync())
