"""Warehouses: where an organisation's datasets live and KPI SQL runs.

A ``Warehouse`` runs SQL and returns pandas or Arrow, lists tables and their column
types, and loads frames as tables. DuckDB (a file, or memory) is the default;
PostgreSQL serves organisations whose data is already there. Spark is a compile
target only (SQL is generated for it; running it is the user's cluster's job).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import duckdb
import pandas as pd
import pyarrow as pa

from headway.engine.canonical import CANONICAL, FieldType


class Dialect(StrEnum):
    DUCKDB = "duckdb"
    POSTGRES = "postgres"
    SPARK = "spark"


LoadMode = Literal["replace", "append"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# SQL type for each canonical field type, per dialect that can store data.
STORAGE_TYPES: dict[Dialect, dict[FieldType, str]] = {
    Dialect.DUCKDB: {
        FieldType.STRING: "VARCHAR",
        FieldType.INTEGER: "BIGINT",
        FieldType.DECIMAL: "DOUBLE",
        FieldType.BOOLEAN: "BOOLEAN",
        FieldType.DATE: "DATE",
        FieldType.TIMESTAMP: "TIMESTAMP",
    },
    Dialect.POSTGRES: {
        FieldType.STRING: "TEXT",
        FieldType.INTEGER: "BIGINT",
        FieldType.DECIMAL: "DOUBLE PRECISION",
        FieldType.BOOLEAN: "BOOLEAN",
        FieldType.DATE: "DATE",
        FieldType.TIMESTAMP: "TIMESTAMP",
    },
}


def field_type_of(sql_type: str) -> FieldType:
    """Map a database column type name to a canonical field type."""
    t = sql_type.upper()
    if t.startswith(("TIMESTAMP", "DATETIME")):
        return FieldType.TIMESTAMP
    if t == "DATE":
        return FieldType.DATE
    if t in ("BOOLEAN", "BOOL"):
        return FieldType.BOOLEAN
    if t in (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "INT",
        "BIGINT",
        "HUGEINT",
        "UBIGINT",
        "UINTEGER",
        "INT4",
        "INT8",
        "INT2",
    ):
        return FieldType.INTEGER
    if t.startswith(("DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC")):
        return FieldType.DECIMAL
    return FieldType.STRING


def quote_ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"invalid table or column name {name!r}")
    return f'"{name}"'


def _column_types(df: pd.DataFrame, dataset_type: str | None) -> dict[str, FieldType]:
    """Column types for a frame: the canonical type where the dataset is canonical, else inferred."""
    known = CANONICAL[dataset_type].column_types() if dataset_type in CANONICAL else {}
    types: dict[str, FieldType] = {}
    for col in df.columns:
        if col in known:
            types[col] = known[col]
        elif pd.api.types.is_bool_dtype(df[col]):
            types[col] = FieldType.BOOLEAN
        elif pd.api.types.is_integer_dtype(df[col]):
            types[col] = FieldType.INTEGER
        elif pd.api.types.is_numeric_dtype(df[col]):
            types[col] = FieldType.DECIMAL
        elif pd.api.types.is_datetime64_any_dtype(df[col]):
            types[col] = FieldType.TIMESTAMP
        else:
            types[col] = FieldType.STRING
    return types


@runtime_checkable
class Warehouse(Protocol):
    dialect: Dialect

    def query(self, sql: str) -> pd.DataFrame:
        """Run one SELECT and return its rows."""
        ...

    def query_arrow(self, sql: str) -> pa.Table: ...

    def tables(self) -> list[str]: ...

    def columns(self, table: str) -> dict[str, FieldType]: ...

    def load_frame(
        self, table: str, df: pd.DataFrame, *, dataset_type: str | None = None, mode: LoadMode = "replace"
    ) -> int:
        """Store a frame as a table (typed by the canonical type if given); return rows loaded."""
        ...

    def close(self) -> None: ...


def schema_of(wh: Warehouse) -> dict[str, dict[str, FieldType]]:
    """Every table's column types (in one catalog query where the warehouse offers it)."""
    everything = getattr(wh, "all_columns", None)
    if everything is not None:
        return everything()
    return {t: wh.columns(t) for t in wh.tables()}


class DuckDBWarehouse:
    """The default warehouse: one DuckDB file per organisation (or ``:memory:``)."""

    dialect = Dialect.DUCKDB

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False, threads: int | None = None):
        self.path = str(path)
        self.con = duckdb.connect(self.path, read_only=read_only)
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    def query(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def query_arrow(self, sql: str) -> pa.Table:
        return self.con.execute(sql).to_arrow_table()

    def tables(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    def columns(self, table: str) -> dict[str, FieldType]:
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return {name: field_type_of(t) for name, t in rows}

    def all_columns(self) -> dict[str, dict[str, FieldType]]:
        rows = self.con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall()
        out: dict[str, dict[str, FieldType]] = {}
        for table, name, sql_type in rows:
            out.setdefault(table, {})[name] = field_type_of(sql_type)
        return out

    def load_frame(
        self, table: str, df: pd.DataFrame, *, dataset_type: str | None = None, mode: LoadMode = "replace"
    ) -> int:
        types = _column_types(df, dataset_type)
        sql_types = STORAGE_TYPES[Dialect.DUCKDB]
        name = quote_ident(table)
        select = ", ".join(f"CAST({quote_ident(c)} AS {sql_types[t]}) AS {quote_ident(c)}" for c, t in types.items())
        self.con.register("_headway_frame", df)
        try:
            self.con.execute("BEGIN")
            if mode == "replace":
                self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {select} FROM _headway_frame")
            else:
                self.con.execute(f"INSERT INTO {name} BY NAME SELECT {select} FROM _headway_frame")
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self.con.unregister("_headway_frame")
        return len(df)

    def close(self) -> None:
        self.con.close()


class PostgresWarehouse:
    """A PostgreSQL database (one schema) as the warehouse."""

    dialect = Dialect.POSTGRES

    def __init__(self, dsn: str, *, schema: str = "public", statement_timeout_ms: int | None = 60_000):
        import psycopg

        self.schema = schema
        quote_ident(schema)
        self.con = psycopg.connect(dsn, autocommit=True)
        with self.con.cursor() as cur:
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
            cur.execute(f"SET search_path TO {quote_ident(schema)}")
            cur.execute("SET TIME ZONE 'UTC'")
            if statement_timeout_ms:
                cur.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")

    def query(self, sql: str) -> pd.DataFrame:
        with self.con.cursor() as cur:
            cur.execute(sql.encode())
            cols = [d.name for d in cur.description or []]
            return pd.DataFrame.from_records(cur.fetchall(), columns=cols)

    def query_arrow(self, sql: str) -> pa.Table:
        return pa.Table.from_pandas(self.query(sql), preserve_index=False)

    def _fetch(self, sql: str, params: Mapping[str, Any] | tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self.con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def tables(self) -> list[str]:
        rows = self._fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", (self.schema,)
        )
        return [r[0] for r in rows]

    def columns(self, table: str) -> dict[str, FieldType]:
        rows = self._fetch(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (self.schema, table),
        )
        return {name: field_type_of(t) for name, t in rows}

    def load_frame(
        self, table: str, df: pd.DataFrame, *, dataset_type: str | None = None, mode: LoadMode = "replace"
    ) -> int:
        types = _column_types(df, dataset_type)
        sql_types = STORAGE_TYPES[Dialect.POSTGRES]
        name = quote_ident(table)
        cols = ", ".join(quote_ident(c) for c in types)
        with self.con.transaction(), self.con.cursor() as cur:
            if mode == "replace":
                cur.execute(f"DROP TABLE IF EXISTS {name}")
                ddl = ", ".join(f"{quote_ident(c)} {sql_types[t]}" for c, t in types.items())
                cur.execute(f"CREATE TABLE {name} ({ddl})")
            with cur.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
                for row in df[list(types)].itertuples(index=False, name=None):
                    copy.write_row([None if _is_missing(v) else v for v in row])
        return len(df)

    def close(self) -> None:
        self.con.close()


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and value != value)


def open_warehouse(target: str | Path, *, create: bool = False, **options: Any) -> Warehouse:
    """Open a warehouse from a path (DuckDB file) or a ``postgresql://`` URL.

    A DuckDB file that does not exist is an error unless ``create`` is set, so a typo
    in a path does not quietly give an empty warehouse.
    """
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresWarehouse(text, **options)
    if text != ":memory:" and not create and not Path(text).exists():
        raise FileNotFoundError(f"no warehouse at {text} (a DuckDB file); check the path")
    return DuckDBWarehouse(text, **options)
