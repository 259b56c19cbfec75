"""The Python API: open a warehouse, compute KPIs, get a DataFrame.

    >>> import headway
    >>> hw = headway.open("shop.duckdb")
    >>> hw.compute(["revenue", "aov"], grain="month", by="channel")

KPIs come from the built-in catalog plus any model files or specs given; a KPI of the
same id in a model replaces the catalog's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

import pandas as pd
from sqlglot import exp

from headway.engine.canonical import CANONICAL, FieldType
from headway.engine.compiler import compile_sql
from headway.engine.loader import load_model
from headway.engine.periods import Calendar, local_time
from headway.engine.plan import Plan, Query, Schema, Source, resolve
from headway.engine.spec import Grain, Kpi, KpiModel
from headway.engine.warehouse import Dialect, Warehouse, open_warehouse, schema_of


def canonical_schema() -> dict[str, dict[str, FieldType]]:
    return {name: t.column_types() for name, t in CANONICAL.items()}


def _registry(models: Iterable[KpiModel | Kpi | str | Path], use_catalog: bool) -> dict[str, Kpi]:
    registry: dict[str, Kpi] = {}
    if use_catalog:
        from headway.engine.catalog import load_catalog

        registry.update(load_catalog().kpis)
    for item in models:
        if isinstance(item, Kpi):
            registry[item.id] = item
        else:
            model = item if isinstance(item, KpiModel) else load_model(item)
            registry.update(model.by_id())
    return registry


class Headway:
    """KPIs over one warehouse."""

    def __init__(
        self,
        warehouse: Warehouse,
        *,
        models: Iterable[KpiModel | Kpi | str | Path] = (),
        calendar: Calendar | None = None,
        tables: Mapping[str, str] | None = None,
        use_catalog: bool = True,
    ):
        self.warehouse = warehouse
        self.calendar = calendar or Calendar()
        self.tables = dict(tables or {})
        self.kpis = _registry(models, use_catalog)
        self._schema: Schema | None = None

    @property
    def schema(self) -> Schema:
        """Column types of the datasets, read from the warehouse once per Headway (``refresh_schema`` re-reads)."""
        if self._schema is None:
            self._schema = self._read_schema()
        return self._schema

    def refresh_schema(self) -> None:
        self._schema = None

    def _read_schema(self) -> Schema:
        schema = schema_of(self.warehouse)
        return {
            ds: schema[self.tables.get(ds, ds)] for ds in {*schema, *self.tables} if self.tables.get(ds, ds) in schema
        }

    def query(
        self,
        kpis: str | Sequence[str],
        *,
        grain: Grain | str = Grain.MONTH,
        by: str | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
    ) -> Query:
        ids = (kpis,) if isinstance(kpis, str) else tuple(kpis)
        return Query(ids, Grain(grain), _as_date(start), _as_date(end), by, self.calendar)

    def plan(self, query: Query, schema: Schema | None = None) -> Plan | None:
        """Plan a query; a missing start or end is taken from the data (None: no data, no range)."""
        schema = self.schema if schema is None else schema
        resolved = resolve(query, self.kpis, schema)
        start, end = query.start, query.end
        if start is None or end is None:
            bounds = self.data_range(resolved.sources(), schema)
            given = start if start is not None else end
            if bounds is None and given is None:
                return None
            lo, hi = bounds if bounds is not None else (given, given)
            # One end given: the other comes from the data, but never crosses it.
            if start is None:
                start = lo if end is None or lo is None else min(lo, end)
            if end is None:
                end = hi if hi is None or start is None else max(hi, start)
        assert start is not None and end is not None
        if end < start:
            raise ValueError(f"the range ends ({end}) before it starts ({start})")
        return resolved.over(start, end)

    def data_range(self, sources: Iterable[Source], schema: Schema) -> tuple[date, date] | None:
        """First and last local date with data in any of the sources."""
        lows, highs = [], []
        for source in sources:
            if source.kind == "opening" or not source.time:
                continue
            is_ts = schema.get(source.dataset, {}).get(source.time) is FieldType.TIMESTAMP
            local = local_time(exp.column(source.time, quoted=True), is_ts, self.calendar)
            table = self.tables.get(source.dataset, source.dataset)
            sql = exp.select(exp.Min(this=local), exp.Max(this=local)).from_(exp.to_table(table, quoted=True))
            row = self.warehouse.query(sql.sql(self.warehouse.dialect.value)).iloc[0]
            if pd.notna(row.iloc[0]):
                lows.append(pd.Timestamp(row.iloc[0]).date())
                highs.append(pd.Timestamp(row.iloc[1]).date())
        if not lows:
            return None
        return min(lows), max(highs)

    def sql(self, kpis: str | Sequence[str], *, dialect: Dialect | str | None = None, **options: object) -> str:
        """The SQL that computes ``kpis`` (for analysts), in the warehouse's dialect by default."""
        query = self.query(kpis, **options)  # type: ignore[arg-type]
        plan = self.plan(query)
        if plan is None:
            return ""
        return compile_sql(plan, dialect or self.warehouse.dialect, self.tables, pretty=True)

    def compute(
        self,
        kpis: str | Sequence[str],
        *,
        grain: Grain | str = Grain.MONTH,
        by: str | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
    ) -> pd.DataFrame:
        """One row per period (and dimension value), one column per KPI."""
        query = self.query(kpis, grain=grain, by=by, start=start, end=end)
        columns = ["period", *([by] if by else []), *query.kpis]
        plan = self.plan(query)
        if plan is None:
            return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}).astype({"period": "datetime64[ns]"})
        df = self.warehouse.query(compile_sql(plan, self.warehouse.dialect, self.tables))
        df["period"] = pd.to_datetime(df["period"]).astype("datetime64[ns]")
        for k in query.kpis:
            df[k] = pd.to_numeric(df[k], errors="coerce").astype("float64")
        return df[columns]

    def close(self) -> None:
        self.warehouse.close()


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def open(
    target: str | Path | Warehouse,
    *,
    models: Iterable[KpiModel | Kpi | str | Path] = (),
    calendar: Calendar | None = None,
    tables: Mapping[str, str] | None = None,
    use_catalog: bool = True,
) -> Headway:
    """Open a DuckDB file (or ``postgresql://`` URL, or a Warehouse) for KPI work."""
    wh = target if isinstance(target, Warehouse) else open_warehouse(target)
    return Headway(wh, models=models, calendar=calendar, tables=tables, use_catalog=use_catalog)
