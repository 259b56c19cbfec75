"""The demo-data generator: determinism, canonical conformance, planted effects."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from headway.demo import BUSINESSES, SIZES, DemoData, generate, write_csvs
from headway.engine.canonical import CANONICAL, FieldType

NON_CANONICAL = {"usage_events"}


@cache
def tiny(business: str) -> DemoData:
    return generate(business, size="tiny", seed=7)


@cache
def custom(business: str, orders: int) -> DemoData:
    return generate(business, orders=orders, seed=11)


def test_sizes_and_businesses() -> None:
    assert {"ecommerce", "restaurant", "bakery", "saas", "manufacturing"} <= set(BUSINESSES)
    assert list(SIZES) == ["tiny", "small", "medium", "large"]
    assert 300 <= SIZES["tiny"] <= 2000
    assert SIZES["large"] >= 10_000_000


@pytest.mark.parametrize("business", ["ecommerce", "restaurant", "manufacturing"])
def test_deterministic(business: str) -> None:
    a = generate(business, size="tiny", seed=3)
    b = generate(business, size="tiny", seed=3)
    assert a.datasets.keys() == b.datasets.keys()
    for name in a.datasets:
        pd.testing.assert_frame_equal(a.datasets[name], b.datasets[name])
    assert a.params == b.params
    c = generate(business, size="tiny", seed=4)
    assert not a.datasets["orders"]["total_amount"].equals(c.datasets["orders"]["total_amount"])


def test_saas_deterministic() -> None:
    a, b = generate("saas", size="tiny", seed=3), generate("saas", size="tiny", seed=3)
    for name in a.datasets:
        pd.testing.assert_frame_equal(a.datasets[name], b.datasets[name])


def _family_ok(series: pd.Series, ftype: FieldType) -> bool:
    if ftype in (FieldType.DATE, FieldType.TIMESTAMP):
        return series.dtype == np.dtype("datetime64[us]")
    if ftype is FieldType.DECIMAL:
        return series.dtype == np.float64
    if ftype is FieldType.INTEGER:
        return series.dtype == np.int64
    if ftype is FieldType.BOOLEAN:
        return series.dtype == np.bool_
    return series.dtype == object and all(isinstance(v, str) for v in series.dropna())


@pytest.mark.parametrize("business", BUSINESSES)
def test_frames_conform_to_canonical(business: str) -> None:
    data = tiny(business)
    assert "external_signals" in data.datasets and "orders" in data.datasets
    for name, df in data.datasets.items():
        assert len(df) > 0, name
        if name in NON_CANONICAL:
            continue
        dtype = CANONICAL[name]
        names = {f.name for f in dtype.fields}
        assert set(df.columns) <= names, (name, set(df.columns) - names)
        for f in dtype.fields:
            if f.required:
                assert f.name in df.columns, (name, f.name)
                assert df[f.name].notna().all(), (name, f.name)
            if f.name not in df.columns:
                continue
            assert _family_ok(df[f.name], f.type), (name, f.name, df[f.name].dtype)
            if f.type is FieldType.DATE:
                assert (df[f.name].dropna().dt.normalize() == df[f.name].dropna()).all(), (name, f.name)
            if f.type is FieldType.DECIMAL:
                vals = df[f.name].dropna().to_numpy()
                assert np.allclose(vals, np.round(vals, 2)), (name, f.name)
            if f.values:
                assert set(df[f.name].dropna()) <= set(f.values), (name, f.name)
        if dtype.key:
            assert not df.duplicated(list(dtype.key)).any(), (name, dtype.key)


@pytest.mark.parametrize("business", BUSINESSES)
def test_time_span_and_references(business: str) -> None:
    data = tiny(business)
    orders = data.datasets["orders"]
    span = orders["ordered_at"].max() - orders["ordered_at"].min()
    assert span >= pd.Timedelta(days=700)
    assert orders["ordered_at"].max() <= pd.Timestamp(data.end) + pd.Timedelta(days=1)
    assert orders["ordered_at"].is_monotonic_increasing
    assert set(orders["customer_id"]) <= set(data.datasets["customers"]["customer_id"])
    lines = data.datasets["order_lines"]
    assert set(lines["order_id"]) <= set(orders["order_id"])
    assert set(lines["product_id"]) <= set(data.datasets["products"]["product_id"])
    assert orders["order_id"].iloc[0].startswith("O") and orders["customer_id"].iloc[0].startswith("C")


@pytest.mark.parametrize("business", ["ecommerce", "restaurant", "bakery", "manufacturing"])
def test_orders_override_is_exact(business: str) -> None:
    assert len(generate(business, orders=777, seed=1).datasets["orders"]) == 777


def test_saas_orders_override_is_close() -> None:
    n = len(custom("saas", 20_000).datasets["orders"])
    assert abs(n / 20_000 - 1) < 0.1


def test_tiny_is_fast() -> None:
    t0 = time.perf_counter()
    generate("ecommerce", size="tiny", seed=99)
    assert time.perf_counter() - t0 < 1.0


def test_write_csvs(tmp_path: Path) -> None:
    data = tiny("restaurant")
    paths = write_csvs(data, tmp_path / "out")
    assert {p.stem for p in paths} == set(data.datasets)
    back = pd.read_csv(tmp_path / "out" / "orders.csv")
    assert len(back) == len(data.datasets["orders"])
    assert list(back.columns) == list(data.datasets["orders"].columns)


def test_unknown_business_and_size() -> None:
    with pytest.raises(ValueError):
        generate("zoo")
    with pytest.raises(ValueError):
        generate("saas", size="huge")
    assert generate("cafe", size="tiny").business == "bakery"
