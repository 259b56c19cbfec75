"""Every catalog KPI runs, and on generated demo data equals the independent pandas computation."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from reference import reference_frame
from test_engine_vs_pandas import assert_same

from headway.engine.api import open as open_headway
from headway.engine.canonical import CANONICAL
from headway.engine.catalog import computable, load_catalog, required_fields
from headway.engine.warehouse import DuckDBWarehouse

CATALOG = load_catalog()
COMPUTED = sorted(k.id for k in CATALOG if k.kind != "manual")
BUSINESSES = ("ecommerce", "restaurant", "saas", "manufacturing")


def empty_frame(dataset: str) -> pd.DataFrame:
    dtypes = {"string": "object", "integer": "int64", "decimal": "float64", "boolean": "bool"}
    return pd.DataFrame(
        {f.name: pd.Series(dtype=dtypes.get(f.type.value, "datetime64[us]")) for f in CANONICAL[dataset].fields}
    )


def test_every_catalog_kpi_runs_on_empty_canonical_tables():
    wh = DuckDBWarehouse()
    for name in CANONICAL:
        wh.load_frame(name, empty_frame(name), dataset_type=name)
    hw = open_headway(wh)
    got = hw.compute(COMPUTED, start="2024-01-01", end="2024-03-31")
    assert len(got) == 3
    for kpi_id in COMPUTED:
        values = got[kpi_id]
        assert ((values == 0) | values.isna()).all(), f"{kpi_id} has a value without data: {list(values)}"


@pytest.fixture(scope="module", params=BUSINESSES)
def demo(request):
    from headway.demo import generate

    data = generate(request.param, size="tiny", seed=3)
    frames = {name: df for name, df in data.datasets.items() if name in CANONICAL}
    wh = DuckDBWarehouse()
    for name, df in frames.items():
        wh.load_frame(name, df, dataset_type=name)
    return request.param, frames, open_headway(wh), data


def computable_here(frames: dict[str, pd.DataFrame]) -> list[str]:
    available = {name: set(df.columns) for name, df in frames.items()}
    return [k for k in COMPUTED if computable(CATALOG.get(k), available, CATALOG)[0]]


def common_dimension(kpi_id: str, frames: dict[str, pd.DataFrame]) -> str | None:
    """A text column every dataset the KPI reads has (to break it down by)."""
    datasets = required_fields(CATALOG.get(kpi_id), CATALOG)
    shared = None
    for ds in datasets:
        cols = {f.name for f in CANONICAL[ds].fields if f.type.value == "string" and f.name in frames[ds].columns}
        cols -= {f for f in CANONICAL[ds].key}
        shared = cols if shared is None else shared & cols
    for preferred in ("channel", "region", "segment", "line", "plan", "source", "category", "department"):
        if shared and preferred in shared:
            return preferred
    return None


@pytest.mark.parametrize("grain", ["month", "week"])
def test_catalog_kpis_match_pandas_on_demo_data(demo, grain):
    business, frames, hw, data = demo
    kpis = computable_here(frames)
    assert len(kpis) >= 15, f"{business}: only {kpis} computable"
    start, end = date(2024, 1, 1), data.end
    got = hw.compute(kpis, grain=grain, start=start, end=end)
    ref = reference_frame(frames, CATALOG.kpis, kpis, grain, start, end)
    assert_same(got, ref, ["period"], kpis)
    # Not everything is empty: the demo data makes most KPIs take real values.
    filled = [k for k in kpis if got[k].fillna(0).ne(0).any()]
    assert len(filled) >= 0.8 * len(kpis), sorted(set(kpis) - set(filled))


def test_catalog_kpis_by_dimension_match_pandas(demo):
    business, frames, hw, data = demo
    by_dim: dict[str, list[str]] = {}
    for k in computable_here(frames):
        dim = common_dimension(k, frames)
        if dim:
            by_dim.setdefault(dim, []).append(k)
    assert by_dim, f"{business}: no KPI has a dimension to break down by"
    start, end = date(2024, 1, 1), data.end
    for dim, kpis in by_dim.items():
        got = hw.compute(kpis, grain="month", by=dim, start=start, end=end).rename(columns={dim: "dim"})
        read = {ds for k in kpis for ds in required_fields(CATALOG.get(k), CATALOG)}
        ref = reference_frame({ds: frames[ds] for ds in read}, CATALOG.kpis, kpis, "month", start, end, dim=dim)
        assert_same(got, ref, ["period", "dim"], kpis)
