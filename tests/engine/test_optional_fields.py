"""A canonical dataset without one of its optional fields: the field reads as NULL, so KPIs that
filter on it (revenue keeps orders whose status IS NULL or not cancelled) still compute."""

from __future__ import annotations

import pandas as pd
import pytest

import headway
from headway.demo import generate
from headway.engine.plan import CompileError
from headway.engine.warehouse import DuckDBWarehouse


def test_orders_without_a_status_column_count_every_order(tmp_path):
    orders = generate("ecommerce", size="tiny", seed=3).datasets["orders"].drop(columns=["status", "channel"])
    path = tmp_path / "wh.duckdb"
    wh = DuckDBWarehouse(path)
    wh.load_frame("orders", orders, dataset_type="orders")
    wh.close()
    hw = headway.open(path)
    try:
        got = hw.compute(["revenue"], grain="month")
        with pytest.raises(CompileError, match="cannot break down by 'channel'"):
            hw.compute(["revenue"], grain="month", by="channel")  # a breakdown needs the column itself
    finally:
        hw.close()
    month = orders["ordered_at"].dt.to_period("M").dt.to_timestamp()
    expected = orders.groupby(month)["total_amount"].sum()
    got = got.set_index(pd.to_datetime(got["period"]))
    for period, value in expected.items():
        assert got.loc[period, "revenue"] == pytest.approx(value, rel=1e-9)
