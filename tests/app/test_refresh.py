"""Refresh: series computed with the engine, swapped in atomically, old series kept on failure."""

from __future__ import annotations

import pytest

from headway.app.kpis.models import Run, RunStatus, SeriesPoint
from headway.app.kpis.refresh import execute, open_engine


def test_series_equal_the_engine(shop):
    hw = open_engine(shop)
    expected = hw.compute(["aov", "new_customers"], grain="month")
    hw.close()
    points = SeriesPoint.objects.filter(run=shop.current_run, grain="month", dimension="")
    for kpi in ("aov", "new_customers"):
        stored = {p.period: p.value for p in points.filter(kpi_id=kpi)}
        assert len(stored) == len(expected)
        for row in expected.itertuples():
            want = getattr(row, kpi)
            got = stored[row.period.date()]
            assert (got is None and want != want) or got == pytest.approx(want, rel=1e-12)


def test_breakdowns_are_stored(shop):
    dims = set(
        SeriesPoint.objects.filter(run=shop.current_run, kpi_id="aov")
        .exclude(dimension="")
        .values_list("dimension", flat=True)
    )
    assert "channel" in dims


def test_a_failed_refresh_keeps_the_previous_series_and_says_why(shop):
    before = shop.current_run_id
    count = SeriesPoint.objects.filter(run_id=before).count()
    shop.warehouse_path().write_bytes(b"not a duckdb file")
    run = Run.objects.create(org=shop)
    execute(run.pk)
    run.refresh_from_db()
    shop.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error
    assert shop.current_run_id == before
    assert SeriesPoint.objects.filter(run_id=before).count() == count


def test_a_run_is_claimed_once(shop):
    run = Run.objects.create(org=shop)
    execute(run.pk)
    first = SeriesPoint.objects.filter(run=run).count()
    execute(run.pk)  # a second worker picking up the same run does nothing
    assert SeriesPoint.objects.filter(run=run).count() == first > 0


def test_a_custom_kpi_built_on_another_custom_kpi_refreshes(shop):
    """References between the org's own KPIs resolve (they are not in the catalog)."""
    from headway.app.kpis.models import KpiDefinition, KpiSource
    from headway.engine.loader import parse_kpis

    specs, errors = parse_kpis(
        [
            {
                "id": "web_revenue",
                "name": "Web revenue",
                "category": "financial",
                "metric": {"kind": "aggregate", "dataset": "orders", "agg": "sum", "expr": "total_amount"},
            },
            {
                "id": "web_revenue_k",
                "name": "Web revenue (thousands)",
                "category": "financial",
                "metric": {"kind": "derived", "formula": "web_revenue / 1000"},
            },
        ]
    )
    assert not errors
    for spec in specs:
        KpiDefinition.objects.create(
            org=shop, kpi_id=spec.id, spec=KpiDefinition.spec_json(spec), source=KpiSource.CUSTOM
        )
    run = Run.objects.create(org=shop)
    execute(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    points = SeriesPoint.objects.filter(run=run, grain="month", dimension="")
    base = {p.period: p.value for p in points.filter(kpi_id="web_revenue")}
    scaled = {p.period: p.value for p in points.filter(kpi_id="web_revenue_k")}
    assert base and all(scaled[k] == pytest.approx(v / 1000, rel=1e-12) for k, v in base.items())
    assert SeriesPoint.objects.filter(run=run, kpi_id="web_revenue_k", dimension="channel").exists()


def test_one_kpi_naming_a_column_the_data_lacks_is_noted_and_the_others_refresh(shop):
    from headway.app.kpis.models import KpiDefinition, KpiSource
    from headway.engine.catalog import load_catalog

    spec = KpiDefinition.spec_json(load_catalog().get("revenue"))
    spec.update(id="vip_aov", name="VIP revenue")
    spec["metric"]["filter"] = "vip_flag = 1"  # the orders data has no such column
    KpiDefinition.objects.create(org=shop, kpi_id="vip_aov", spec=spec, source=KpiSource.CUSTOM)
    run = Run.objects.create(org=shop)
    execute(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert "vip_flag" in run.notes["vip_aov"]
    hw = open_engine(shop)
    expected = hw.compute(["aov"], grain="month")
    hw.close()
    stored = {p.period: p.value for p in SeriesPoint.objects.filter(run=run, kpi_id="aov", grain="month", dimension="")}
    assert stored[expected["period"].iloc[-1].date()] == pytest.approx(expected["aov"].iloc[-1], rel=1e-12)
    assert not SeriesPoint.objects.filter(run=run, kpi_id="vip_aov").exists()
