"""The SQL engine's numbers equal an independent pandas computation (rtol 1e-9)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from engine_data import ORDER_KPIS
from reference import reference_frame

from headway.engine.api import open as open_headway
from headway.engine.periods import Calendar
from headway.engine.warehouse import DuckDBWarehouse


def load(frames: dict[str, pd.DataFrame]) -> DuckDBWarehouse:
    wh = DuckDBWarehouse()
    for name, df in frames.items():
        wh.load_frame(name, df, dataset_type=name)
    return wh


def assert_same(engine: pd.DataFrame, ref: pd.DataFrame, keys: list[str], kpis: list[str]) -> None:
    """Equal on every row both have; a row only one side has must be empty (0 or null) there."""
    engine = engine.copy()
    engine["period"] = pd.to_datetime(engine["period"])
    merged = engine.merge(ref, on=keys, how="outer", suffixes=("_sql", "_ref"), indicator=True)
    assert len(merged), "no rows to compare"
    both = merged[merged["_merge"] == "both"]
    assert len(both) >= 0.9 * len(merged), merged["_merge"].value_counts()
    for k in kpis:
        a, b = both[f"{k}_sql"].to_numpy(float), both[f"{k}_ref"].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{k}: null pattern differs")
        np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-9, atol=1e-9, err_msg=k)
        for side in ("left_only", "right_only"):
            only = merged.loc[merged["_merge"] == side, f"{k}_sql" if side == "left_only" else f"{k}_ref"]
            assert ((only.fillna(0) == 0) | only.isna()).all(), f"{k}: {side} rows carry values"


@pytest.mark.parametrize("grain", ["month", "week"])
@pytest.mark.parametrize("by", [None, "channel"])
def test_every_metric_kind_matches_pandas(frames, model, grain, by):
    hw = open_headway(load(frames), models=list(model.values()), use_catalog=False)
    kpis = list(ORDER_KPIS)
    start, end = date(2023, 9, 1), date(2024, 12, 31)
    got = hw.compute(kpis, grain=grain, by=by, start=start, end=end)
    ref = reference_frame(frames, model, kpis, grain, start, end, dim=by)
    keys = ["period"] + (["dim"] if by else [])
    if by:
        got = got.rename(columns={by: "dim"})
    assert_same(got, ref, keys, kpis)
    # The spine: every period of the range is present exactly once per dimension value.
    periods = got["period"].drop_duplicates()
    expected = pd.period_range(start, end, freq="M" if grain == "month" else "W-SUN")
    assert len(periods) == len(expected)


@pytest.mark.parametrize("grain", ["month", "quarter", "week"])
def test_subscription_churn_inventory_and_cash_balance(frames, model, grain):
    hw = open_headway(load(frames), models=list(model.values()), use_catalog=False)
    kpis = ["subscription_churn", "inventory_value", "stock_on_hand", "net_cash_flow", "cash_balance"]
    start, end = date(2023, 6, 1), date(2024, 12, 31)
    got = hw.compute(kpis, grain=grain, start=start, end=end)
    ref = reference_frame(frames, model, kpis, grain, start, end)
    assert_same(got, ref, ["period"], kpis)
    # The balance at the end equals all money in minus all money out up to then (planted independently).
    cash = frames["cash_transactions"]
    signed = np.where(cash["direction"] == "in", cash["amount"], -cash["amount"])
    assert got["cash_balance"].iloc[-1] == pytest.approx(signed[cash["date"] <= "2024-12-31"].sum(), rel=1e-9)


@pytest.mark.parametrize(
    ("tz", "week_start", "fy_start", "grain"),
    [
        ("Europe/Berlin", 0, 1, "day"),
        ("America/New_York", 6, 1, "week"),
        ("Europe/London", 0, 4, "quarter"),
        ("UTC", 0, 4, "year"),
        ("Australia/Sydney", 2, 7, "month"),
    ],
)
def test_calendars_match_pandas(frames, model, tz, week_start, fy_start, grain):
    cal = Calendar(week_start=week_start, fiscal_year_start=fy_start, timezone=tz)
    hw = open_headway(load(frames), models=list(model.values()), use_catalog=False, calendar=cal)
    kpis = ["revenue", "orders", "aov", "revenue_ytd", "revenue_qtd", "revenue_growth", "customer_retention"]
    start, end = date(2024, 3, 1), date(2024, 11, 30)
    if grain == "day":
        start, end = date(2024, 3, 20), date(2024, 4, 10)  # spans the spring DST change
    got = hw.compute(kpis, grain=grain, start=start, end=end)
    ref = reference_frame(frames, model, kpis, grain, start, end, tz=tz, week_start=week_start, fy_start=fy_start)
    assert_same(got, ref, ["period"], kpis)
