"""The connector registry, the contract every connector keeps, and its documentation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from headway.engine.canonical import CANONICAL
from headway.ingest import connectors, sql
from headway.ingest.connectors.base import Cursor, canonical_frame
from headway.ingest.secrets import Secret

DOC = (Path(__file__).parents[2] / "docs" / "connectors.md").read_text()


def test_available_lists_every_registered_connector_with_canonical_datasets():
    infos = connectors.available()
    assert [i.name for i in infos] == list(connectors.REGISTRY)
    assert {"stripe", "shopify", "hubspot", "ga4"} <= {i.name for i in infos}
    assert {"xero", "quickbooks"} & {i.name for i in infos}
    for info in infos:
        assert info.datasets and set(info.datasets) <= set(CANONICAL), info.name
        assert info.auth_kinds and set(info.auth_kinds) <= {"api_key", "oauth_token"}, info.name
        assert info.default_base_url.startswith("https://"), info.name
        assert any(f.secret for f in info.credentials), info.name


def test_an_unknown_connector_names_the_known_ones():
    with pytest.raises(connectors.ConnectorError, match="no connector named 'salesforce'; available: ga4, hubspot"):
        connectors.get("salesforce")


@pytest.mark.parametrize("name", list(connectors.REGISTRY))
def test_missing_credentials_are_named_and_given_ones_never_print(name):
    cls = connectors.get(name)
    with pytest.raises(connectors.ConnectorError, match=f"^{cls.info.label}: missing "):
        cls({})
    creds = {f.name: f"value-of-{f.name}-hidden" for f in cls.info.credentials}
    conn = cls(creds)
    assert all(isinstance(v, Secret) for v in conn.credentials.values())
    shown = repr(conn) + repr(conn.credentials) + repr(conn.http.headers)
    for field in cls.info.credentials:
        if field.secret:
            assert creds[field.name] not in shown


@pytest.mark.parametrize("info", connectors.available(), ids=lambda i: i.name)
def test_every_connector_is_documented(info):
    row = next((line for line in DOC.splitlines() if line.startswith(f"| `{info.name}` ")), None)
    assert row is not None, f"docs/connectors.md has no table row for {info.name}"
    for dataset in info.datasets:
        assert f"`{dataset}`" in row, (info.name, dataset)
    for field in info.credentials:
        assert f"`{field.name}`" in row, (info.name, field.name)
    assert f"**{info.label}.**" in DOC


def test_every_sql_limit_is_documented():
    for name in sql.LIMITS:
        assert f"| `{name}` |" in DOC, name


def test_canonical_frame_orders_and_types_columns_and_rejects_unknown_fields():
    frame = canonical_frame(
        "orders",
        [{"total_amount": "12.5", "order_id": 7, "ordered_at": "2024-05-01T10:00:00+02:00", "customer_id": None}],
    )
    assert list(frame.columns) == ["order_id", "customer_id", "ordered_at", "total_amount"]
    assert frame.loc[0, "order_id"] == "7" and frame.loc[0, "customer_id"] is None
    assert frame.loc[0, "ordered_at"] == pd.Timestamp("2024-05-01 08:00:00")
    assert frame["total_amount"].dtype == "float64"
    with pytest.raises(ValueError, match="orders has no field"):
        canonical_frame("orders", [{"order_id": "1", "revenue": 3}])


def test_cursor_boundary_semantics():
    cursor = Cursor.from_state({"value": 10, "ids": ["a"]})
    assert not cursor.is_new("a", 10) and cursor.is_new("b", 10)
    assert not cursor.is_new("z", 9) and cursor.is_new("a", 11)
    cursor.advance("b", 10)
    cursor.advance("c", 12)
    assert cursor.to_state() == {"value": 12, "ids": ["c"]}
    assert Cursor.from_state(None).is_new("x", 1)
