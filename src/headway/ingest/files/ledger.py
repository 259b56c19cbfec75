"""The import ledger and the quarantine, kept in the warehouse next to the data they describe.

Both live in the schema ``headway_ingest`` (never ``main``), so KPI computation, which reads
the tables of ``main`` as datasets, never mistakes them for business data. They are written
in the same transaction as the dataset itself: an import that fails leaves no ledger entry
and no quarantine rows behind.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from headway.ingest.files.mapping import Mapping

SCHEMA = "headway_ingest"

_DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.imports (
        import_id BIGINT PRIMARY KEY, dataset VARCHAR NOT NULL, dataset_type VARCHAR, file VARCHAR NOT NULL,
        fingerprint VARCHAR NOT NULL, mode VARCHAR NOT NULL, key VARCHAR, read BIGINT, loaded BIGINT,
        inserted BIGINT, updated BIGINT, rejected BIGINT, skipped BIGINT, mapping VARCHAR,
        started_at TIMESTAMP, finished_at TIMESTAMP)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.quarantine (
        import_id BIGINT NOT NULL, dataset VARCHAR NOT NULL, file VARCHAR NOT NULL, row_number BIGINT NOT NULL,
        "column" VARCHAR, reason VARCHAR NOT NULL, problems VARCHAR NOT NULL, raw VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL)""",
)


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    for statement in _DDL:
        con.execute(statement)


def has_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'imports'", [SCHEMA]
    ).fetchone()
    return bool(row and row[0])


def next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(f"SELECT coalesce(max(import_id), 0) + 1 FROM {SCHEMA}.imports").fetchone()
    return int(row[0]) if row else 1


def previous_import(con: duckdb.DuckDBPyConnection, dataset: str, fingerprint: str) -> int | None:
    """The import that already brought this exact content into the dataset's current contents, if any.

    The dataset's current contents start at its last ``replace`` import (or its first import);
    an import of the same bytes since then, in any mode, means appending them again would
    double the rows.
    """
    row = con.execute(
        f"""SELECT max(import_id) FROM {SCHEMA}.imports
            WHERE dataset = ? AND fingerprint = ?
              AND import_id >= coalesce((SELECT max(import_id) FROM {SCHEMA}.imports
                                         WHERE dataset = ? AND mode = 'replace'), 0)""",
        [dataset, fingerprint, dataset],
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def saved_mapping(con: duckdb.DuckDBPyConnection, dataset: str) -> Mapping | None:
    """The mapping the dataset's last import used (reused for the next file)."""
    if not has_ledger(con):
        return None
    row = con.execute(
        f"SELECT mapping FROM {SCHEMA}.imports WHERE dataset = ? AND mapping IS NOT NULL "
        "ORDER BY import_id DESC LIMIT 1",
        [dataset],
    ).fetchone()
    return Mapping.from_dict(json.loads(row[0]), where=f"saved mapping of {dataset}") if row else None


def quarantine_frame(
    con: duckdb.DuckDBPyConnection, dataset: str | None = None, import_id: int | None = None
) -> pd.DataFrame:
    columns = ["import_id", "dataset", "file", "row_number", "column", "reason", "problems", "raw", "created_at"]
    if not has_ledger(con):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    where: list[str] = []
    params: list[object] = []
    if dataset is not None:
        where.append("dataset = ?")
        params.append(dataset)
    if import_id is not None:
        where.append("import_id = ?")
        params.append(import_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f"SELECT {names} FROM {SCHEMA}.quarantine {clause} ORDER BY import_id, row_number"
    return con.execute(sql, params).df()


def imports_frame(con: duckdb.DuckDBPyConnection, dataset: str | None = None) -> pd.DataFrame:
    if not has_ledger(con):
        return pd.DataFrame()
    if dataset is None:
        return con.execute(f"SELECT * FROM {SCHEMA}.imports ORDER BY import_id").df()
    return con.execute(f"SELECT * FROM {SCHEMA}.imports WHERE dataset = ? ORDER BY import_id", [dataset]).df()
