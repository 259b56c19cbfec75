"""Edge cases: empty datasets, one day of data, all-null columns, bad ranges, manual KPIs."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from engine_data import make_frames

from headway.engine.api import open as open_headway
from headway.engine.plan import CompileError
from headway.engine.warehouse import DuckDBWarehouse


def headway_over(model, frames):
    wh = DuckDBWarehouse()
    for name, df in frames.items():
        wh.load_frame(name, df, dataset_type=name)
    return open_headway(wh, models=list(model.values()), use_catalog=False)


def test_empty_dataset_without_range_gives_an_empty_frame_with_the_columns(model):
    frames = make_frames()
    frames["orders"] = frames["orders"].iloc[0:0]
    hw = headway_over(model, frames)
    got = hw.compute(["revenue", "aov"], by="channel")
    assert got.empty
    assert list(got.columns) == ["period", "channel", "revenue", "aov"]


def test_empty_dataset_with_range_gives_zero_sums_and_null_ratios(model):
    frames = make_frames()
    frames["orders"] = frames["orders"].iloc[0:0]
    hw = headway_over(model, frames)
    got = hw.compute(["revenue", "orders", "aov", "revenue_growth"], start="2024-01-01", end="2024-06-30")
    assert len(got) == 6
    assert (got["revenue"] == 0).all() and (got["orders"] == 0).all()
    assert got["aov"].isna().all(), "0 / 0 is undefined, not 0"
    assert got["revenue_growth"].isna().all()


def test_a_single_day_of_data(model):
    frames = make_frames()
    orders = frames["orders"]
    day = orders[(orders.ordered_at >= "2024-05-14") & (orders.ordered_at < "2024-05-15")]
    frames["orders"] = day.reset_index(drop=True)
    hw = headway_over(model, frames)
    got = hw.compute(["revenue", "orders", "new_customers"], grain="day")
    kept = day[~day.status.isin(["cancelled", "refunded"])]
    assert list(got["period"]) == [pd.Timestamp("2024-05-14")]
    assert got["revenue"].iloc[0] == pytest.approx(kept.total_amount.sum(), rel=1e-12)
    assert got["orders"].iloc[0] == len(kept)
    assert got["new_customers"].iloc[0] == kept.customer_id.nunique()


def test_all_null_columns(model):
    frames = make_frames()
    orders = frames["orders"].copy()
    orders["fulfilled_at"] = pd.NaT
    orders["channel"] = None
    orders["discount_amount"] = np.nan
    frames["orders"] = orders
    hw = headway_over(model, frames)
    got = hw.compute(["fulfilment_time", "avg_discount", "revenue"], by="channel", start="2024-01-01", end="2024-03-31")
    assert set(got["channel"]) == {"(none)"}
    assert got["fulfilment_time"].isna().all(), "no fulfilled orders: unknown, not 0"
    assert (got["avg_discount"] == 0).all(), "COALESCE(discount_amount, 0) averages to 0"
    kept = orders[~orders.status.isin(["cancelled", "refunded"]) & (orders.ordered_at < "2024-04-01")]
    kept = kept[kept.ordered_at >= "2024-01-01"]
    assert got["revenue"].sum() == pytest.approx(kept.total_amount.sum(), rel=1e-9)


def test_range_selects_whole_periods(model, frames):
    hw = headway_over(model, frames)
    got = hw.compute(["orders"], start="2024-01-15", end="2024-02-03")
    orders = frames["orders"]
    jan_feb = orders[(orders.ordered_at >= "2024-01-01") & (orders.ordered_at < "2024-03-01")]
    jan_feb = jan_feb[~jan_feb.status.isin(["cancelled", "refunded"])]
    assert list(got["period"]) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")]
    assert got["orders"].sum() == len(jan_feb)


def test_bad_requests_say_what_is_wrong(model, frames):
    hw = headway_over(model, frames)
    with pytest.raises(CompileError, match="unknown KPI 'revenu'; did you mean 'revenue'"):
        hw.compute(["revenu"])
    with pytest.raises(CompileError, match="cannot break down by 'plan'"):
        hw.compute(["revenue"], by="plan")
    with pytest.raises(ValueError, match="ends"):
        hw.compute(["revenue"], start=date(2024, 5, 1), end=date(2024, 4, 1))
    with pytest.raises(CompileError, match="dataset 'leads' is not in the warehouse"):
        from headway.engine.loader import parse_kpis

        kpis, _ = parse_kpis(
            [
                {
                    "id": "leads",
                    "name": "Leads",
                    "category": "marketing_sales",
                    "metric": {"kind": "aggregate", "dataset": "leads", "agg": "count"},
                }
            ]
        )
        hw.kpis["leads"] = kpis[0]
        hw.compute(["leads"])


def test_manual_kpis_are_not_computed(model, frames):
    from headway.engine.loader import parse_kpis

    hw = headway_over(model, frames)
    kpis, _ = parse_kpis(
        [
            {
                "id": "market_sentiment",
                "name": "Market sentiment",
                "category": "innovation_strategy",
                "metric": {"kind": "manual"},
            }
        ]
    )
    hw.kpis["market_sentiment"] = kpis[0]
    with pytest.raises(CompileError, match="entered by hand"):
        hw.compute(["market_sentiment"])


def test_a_missing_warehouse_file_is_an_error_not_an_empty_warehouse(tmp_path):
    missing = tmp_path / "typo.duckdb"
    with pytest.raises(FileNotFoundError, match="no warehouse at"):
        open_headway(missing)
    assert not missing.exists()


def test_a_range_open_at_one_end_never_crosses_the_data(model, frames):
    hw = headway_over(model, frames)
    late = hw.compute(["orders"], start="2030-01-01")
    assert list(late["period"]) == [pd.Timestamp("2030-01-01")] and late["orders"].iloc[0] == 0
    early = hw.compute(["orders"], end="2020-03-31")
    assert list(early["period"]) == [pd.Timestamp("2020-03-01")] and early["orders"].iloc[0] == 0
