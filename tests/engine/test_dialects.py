"""Compiled SQL per dialect (snapshots), and the same numbers on DuckDB and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from engine_data import ORDER_KPIS

from headway.engine.api import canonical_schema
from headway.engine.api import open as open_headway
from headway.engine.compiler import compile_plan, compile_sql
from headway.engine.periods import Calendar
from headway.engine.plan import Query, build_plan
from headway.engine.warehouse import Dialect, DuckDBWarehouse, PostgresWarehouse

SNAPSHOTS = Path(__file__).parent / "snapshots"
PG_DSN = os.environ.get("HEADWAY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

CASES = {
    "order_pack_month_by_channel": (ORDER_KPIS, "month", "channel", Calendar()),
    "subscriptions_cash_quarter_berlin_april": (
        ["subscription_churn", "inventory_value", "stock_on_hand", "cash_balance"],
        "quarter",
        None,
        Calendar(timezone="Europe/Berlin", fiscal_year_start=4),
    ),
    "retention_week_sunday": (["customer_retention", "revenue_rolling_3"], "week", None, Calendar(week_start=6)),
}


@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_sql_snapshot(model, case, dialect):
    """Regenerate on purpose only: HEADWAY_UPDATE_SNAPSHOTS=1 pytest tests/engine/test_dialects.py."""
    kpis, grain, by, cal = CASES[case]
    query = Query(tuple(kpis), grain=grain, dimension=by, calendar=cal)  # type: ignore[arg-type]
    plan = build_plan(query, model, canonical_schema(), date(2024, 1, 1), date(2024, 12, 31))
    sql = compile_sql(plan, dialect, pretty=True) + "\n"
    path = SNAPSHOTS / f"{case}.{dialect.value}.sql"
    if os.environ.get("HEADWAY_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(sql)
    assert sql == path.read_text(), f"compiled SQL changed; if on purpose, regenerate {path.name}"


def test_user_expressions_never_reach_sql_unchecked(model):
    """The generated SQL reads only the datasets the plan names."""
    query = Query(tuple(ORDER_KPIS), dimension="channel")
    plan = build_plan(query, model, canonical_schema(), date(2024, 1, 1), date(2024, 3, 31))
    select = compile_plan(plan, tables={"orders": "shop.orders"})
    from sqlglot import exp

    cte_names = {c.alias for c in select.find_all(exp.CTE)}
    named = [t for t in select.find_all(exp.Table) if isinstance(t.this, exp.Identifier)]
    tables = {t.sql("duckdb") for t in named if t.name not in cte_names}
    assert tables == {'"shop"."orders"'}


@pytest.fixture(scope="module")
def pg_schema():
    import psycopg

    try:
        psycopg.connect(PG_DSN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:  # pragma: no cover - the service is part of the machine
        pytest.fail(f"PostgreSQL is not reachable at {PG_DSN}: {exc}")
    schema = f"hw_test_{uuid.uuid4().hex[:8]}"
    yield schema
    with psycopg.connect(PG_DSN, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("grain", "by", "cal"),
    [
        ("month", "channel", Calendar()),
        ("week", None, Calendar(timezone="America/New_York", week_start=6)),
        ("quarter", None, Calendar(timezone="Europe/Berlin", fiscal_year_start=4)),
    ],
)
def test_duckdb_and_postgres_agree(frames, model, pg_schema, grain, by, cal):
    duck = DuckDBWarehouse()
    pg = PostgresWarehouse(PG_DSN, schema=pg_schema)
    for name, df in frames.items():
        duck.load_frame(name, df, dataset_type=name)
        if not pg.tables() or name not in pg.tables():
            pg.load_frame(name, df, dataset_type=name)
    kpis = [*ORDER_KPIS, "subscription_churn", "inventory_value", "cash_balance"]
    if by:
        kpis = ORDER_KPIS
    options = {"grain": grain, "by": by, "start": date(2023, 10, 1), "end": date(2024, 12, 31)}
    a = open_headway(duck, models=list(model.values()), use_catalog=False, calendar=cal).compute(kpis, **options)
    b = open_headway(pg, models=list(model.values()), use_catalog=False, calendar=cal).compute(kpis, **options)
    pg.close()
    assert len(a) == len(b) >= 5
    keys = ["period", *([by] if by else [])]
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[keys], b[keys])
    for k in kpis:
        np.testing.assert_allclose(a[k].to_numpy(float), b[k].to_numpy(float), rtol=1e-9, equal_nan=True, err_msg=k)
