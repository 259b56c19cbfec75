"""Reading, previewing and importing files (and pushed records) into a DuckDB warehouse."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from headway.engine.canonical import CANONICAL, FieldType
from headway.engine.warehouse import DuckDBWarehouse, field_type_of, quote_ident
from headway.ingest.files import ledger
from headway.ingest.files.detect import Detection, detect, install_macros
from headway.ingest.files.mapping import Mapping, MappingError, propose_mapping
from headway.ingest.files.reading import (
    PREVIEW_ROWS,
    FileFacts,
    FileReadError,
    IngestError,
    Progress,
    RawTable,
    SourceInfo,
    Staged,
    fingerprint_and_encoding,
    fingerprint_bytes,
    snake_name,
    stage_file,
    stage_records,
)
from headway.ingest.files.validate import Rules, Statements, Target, statements, storage_type

Mode = Literal["append", "replace", "upsert"]
MODES: tuple[str, ...] = ("append", "replace", "upsert")
RESULT_QUARANTINE_ROWS = 1000
"""Rejected rows carried in an ImportResult (all of them are in the quarantine table)."""
_TEMP = ("_hw_clean", "_hw_problems", "_hw_rejects", "_hw_file", "_hw_ragged")


class ImportFailed(IngestError):
    """The import could not be completed; the dataset is as it was before."""


class WarehouseBusy(duckdb.ConnectionException):
    """The warehouse file stayed open read-only elsewhere (a KPI refresh) for longer than the wait.

    A ``duckdb.ConnectionException``, so callers that answer "busy, retry" (the push API's 503) keep doing so."""


@dataclass(frozen=True)
class QuarantineRow:
    file: str
    row_number: int
    column: str | None
    reason: str
    raw: dict[str, Any]
    problems: str = ""
    """Every problem of the row, ``column: reason; ...`` (``reason`` is the first)."""


@dataclass
class ImportResult:
    dataset: str
    mode: str
    source: SourceInfo
    mapping: Mapping | None = None
    import_id: int | None = None
    read: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    skipped: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    """Rejected rows per first reason, ``"column: reason"``."""
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    quarantine: list[QuarantineRow] = field(default_factory=list)
    duplicate_file: bool = False
    previous_import_id: int | None = None
    decimal: str | None = None
    date_order: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "dataset_type": self.mapping.dataset_type if self.mapping else None,
            "mode": self.mode,
            "file": self.source.name,
            "import_id": self.import_id,
            "duplicate_file": self.duplicate_file,
            "previous_import_id": self.previous_import_id,
            "read": self.read,
            "loaded": self.loaded,
            "inserted": self.inserted,
            "updated": self.updated,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "reasons": dict(self.reasons.most_common()),
            "skipped_reasons": dict(self.skipped_reasons.most_common()),
            "decimal": self.decimal,
            "date_order": self.date_order,
            "mapping": self.mapping.to_dict() if self.mapping else None,
            "quarantine": [
                {
                    "row_number": q.row_number,
                    "column": q.column,
                    "reason": q.reason,
                    "problems": q.problems,
                    "raw": q.raw,
                }
                for q in self.quarantine
            ],
        }


WarehouseTarget = str | Path | DuckDBWarehouse


BUSY_WAIT_SECONDS = 20.0
"""How long a write waits for a reader of the warehouse file (a KPI refresh) to let go of it."""


def connect_for_writing(path: str | Path, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file read-write, waiting while a reader holds it.

    DuckDB lets a file be open either read-write or read-only: a KPI refresh reading the
    warehouse (in this process: ConnectionException; in another: IOException "Could not set
    lock") makes an import fail at once. The import waits for it instead, up to ``wait``
    seconds (default ``BUSY_WAIT_SECONDS``); then :class:`WarehouseBusy` says so.
    """
    limit = BUSY_WAIT_SECONDS if wait is None else wait
    deadline = time.monotonic() + limit
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path))
        except (duckdb.ConnectionException, duckdb.IOException) as exc:
            busy = isinstance(exc, duckdb.ConnectionException) or "lock" in str(exc).lower()
            if not busy:
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse is busy (a KPI refresh is reading it) and stayed busy for {limit:.0f} s; "
                    "nothing was loaded, try again in a moment"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


@contextmanager
def _connection(target: WarehouseTarget) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(target, DuckDBWarehouse):
        yield target.con
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect_for_writing(path)
    try:
        yield con
    finally:
        con.close()


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP VIEW IF EXISTS _hw_rows")
    for name in _TEMP:
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _raw_table(con: duckdb.DuckDBPyConnection, staged: Staged, found: Detection) -> RawTable:
    cells = ", ".join(staged.cells)
    preview = con.execute(f"SELECT {cells} FROM _hw_rows LIMIT {PREVIEW_ROWS}").fetchall()  # in file order
    total = con.execute("SELECT count(*) FROM _hw_rows").fetchone()
    return RawTable(
        columns=staged.columns,
        preview=tuple(tuple(r) for r in preview),
        types=found.types,
        source=staged.source,
        decimal=found.decimal,
        date_order=found.date_order,
        rows=int(total[0]) if total else 0,
    )


def read_file(
    path: str | Path, *, sheet: str | None = None, encoding: str | None = None, delimiter: str | None = None
) -> RawTable:
    """Read a file for a preview: columns, the first rows, detected types, how the file is written."""
    con = duckdb.connect()
    try:
        install_macros(con)
        staged = stage_file(con, path, sheet=sheet, encoding=encoding, delimiter=delimiter)
        return _raw_table(con, staged, detect(con, staged))
    finally:
        con.close()


def _dataset_name(dataset: str) -> str:
    try:
        quote_ident(dataset)
    except ValueError:
        raise MappingError(
            f"dataset name {dataset!r} must be letters, digits and _ (not starting with a digit)"
        ) from None
    if dataset.startswith("_") or len(dataset) > 63:
        raise MappingError(f"dataset name {dataset!r} must not start with _ and be at most 63 characters")
    return dataset


def _existing_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, FieldType] | None:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return {name: field_type_of(t) for name, t in rows} if rows else None


def _targets(
    staged: Staged, mapping: Mapping, found: Detection, existing: dict[str, FieldType] | None, key: list[str]
) -> list[Target]:
    canonical = mapping.canonical
    present = set(staged.columns)
    missing = [f for f in mapping.missing if not any(t == f and c in present for c, t in mapping.columns.items())] or [
        f.name
        for f in (canonical.required_fields if canonical else ())
        if not any(t == f.name and c in present for c, t in mapping.columns.items())
    ]
    if missing:
        raise MappingError(
            f"required field(s) {', '.join(missing)} of {mapping.dataset_type} not mapped to a column of the file; "
            f"its columns are: {', '.join(staged.columns)}"
        )
    targets: list[Target] = []
    taken = {t for c, t in mapping.columns.items() if t is not None and c in present}
    taken |= {f.name for f in (canonical.fields if canonical else ())}
    for i, column in enumerate(staged.columns):
        if column in mapping.columns:
            name = mapping.columns[column]
            if name is None:
                continue
        else:  # a column the saved mapping does not know: kept as an extra column
            name, n = snake_name(column), 2
            while name in taken:
                name, n = f"{snake_name(column)}_{n}", n + 1
            taken.add(name)
        spec = canonical.field(name) if canonical else None
        if spec is not None:
            ftype, required, values = spec.type, spec.required, spec.values
        elif existing and name in existing:
            ftype, required, values = existing[name], False, ()
        else:
            ftype, required, values = found.types[column].type, False, ()
        targets.append(Target(name, column, i, ftype, required, values, name in key))
    if not targets:
        raise MappingError("no column is mapped to anything; nothing to import")
    unknown = [k for k in key if k not in {t.name for t in targets}]
    if unknown:
        raise MappingError(f"key column(s) {', '.join(unknown)} are not among the imported columns")
    return targets


def _resolve_rules(given: Rules | None, found: Detection, mapping: Mapping) -> Rules:
    """The rules given, completed by the mapping, then by what was detected, then by the defaults."""
    given = given or Rules()
    return Rules(
        decimal=given.decimal or mapping.decimal or found.decimal,
        date_order=given.date_order or mapping.date_order or found.date_order,
        min_date=given.min_date,
        max_date=given.max_date or dt.date(dt.date.today().year + 3, 1, 1),
    )


def import_file(
    warehouse: WarehouseTarget,
    path: str | Path,
    *,
    dataset: str,
    dataset_type: str | None = None,
    mapping: Mapping | None = None,
    mode: Mode = "append",
    key: Sequence[str] | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    rules: Rules | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a file into ``dataset`` of the warehouse: valid rows load, failing rows go to the quarantine.

    The mapping is, in order: the one given, the one the dataset's last import used (if the
    file has its columns), or a proposal. All writes happen in one transaction. Appending a
    file whose exact bytes were already imported into the dataset's current contents loads
    nothing and returns ``duplicate_file=True``.
    """
    p = Path(path)
    with _connection(warehouse) as con:
        return _import(
            con,
            dataset=dataset,
            dataset_type=dataset_type,
            mapping=mapping,
            mode=mode,
            key=key,
            rules=rules,
            progress=progress,
            stage=lambda known: stage_file(
                con, p, sheet=sheet, encoding=encoding, delimiter=delimiter, known=known, progress=progress
            ),
            fingerprint=lambda: fingerprint_and_encoding(p, progress, 0.25) if p.is_file() else None,
            source_name=p.name,
        )


def import_records(
    warehouse: WarehouseTarget,
    records: Sequence[dict[str, Any]],
    *,
    dataset: str,
    dataset_type: str | None = None,
    mode: Mode = "append",
    key: Sequence[str] | None = None,
    mapping: Mapping | None = None,
    source: str = "push",
    rules: Rules | None = None,
) -> ImportResult:
    """Import rows given as dicts (the push API), validated and quarantined like a file's rows.

    Record ``n`` of the list is row ``n`` in the quarantine. The records' JSON is the
    idempotency fingerprint, so a retried identical append loads nothing twice.
    """
    digest = fingerprint_bytes(json.dumps(list(records), sort_keys=True, default=str).encode())
    info = SourceInfo(source, source, "records", fingerprint=digest)
    with _connection(warehouse) as con:
        return _import(
            con,
            dataset=dataset,
            dataset_type=dataset_type,
            mapping=mapping,
            mode=mode,
            key=key,
            rules=rules,
            progress=None,
            stage=lambda known: stage_records(con, records, info),
            fingerprint=lambda: FileFacts(digest, "utf-8", None),
            source_name=source,
            decimal="point",
        )


def _import(
    con: duckdb.DuckDBPyConnection,
    *,
    dataset: str,
    dataset_type: str | None,
    mapping: Mapping | None,
    mode: str,
    key: Sequence[str] | None,
    rules: Rules | None,
    progress: Progress | None,
    stage: Callable[[FileFacts], Staged],
    fingerprint: Callable[[], FileFacts | None],
    source_name: str,
    decimal: str | None = None,
) -> ImportResult:
    _dataset_name(dataset)
    if mode not in MODES:
        raise MappingError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if dataset_type is not None and dataset_type not in CANONICAL:
        raise MappingError(f"unknown dataset type {dataset_type!r}; known: {', '.join(sorted(CANONICAL))}")
    started = dt.datetime.now()
    known = fingerprint()
    if known is None:
        raise FileReadError(f"no file at {source_name}")
    ledger.ensure(con)
    existing = _existing_columns(con, dataset)
    if mode == "append" and existing is not None:
        previous = ledger.previous_import(con, dataset, known[0])
        if previous is not None:
            return ImportResult(
                dataset,
                mode,
                SourceInfo(source_name, source_name, "", fingerprint=known[0]),
                duplicate_file=True,
                previous_import_id=previous,
            )
    install_macros(con)
    try:
        staged = stage(known)
        if progress:
            progress("reading", 0.45)
        found = detect(con, staged, decimal=decimal)
        if mapping is None:
            table = _raw_table(con, staged, found)
            mapping = reusable(ledger.saved_mapping(con, dataset), table, dataset_type)
            mapping = mapping or propose_mapping(table, dataset_type)
        elif dataset_type is not None and mapping.dataset_type != dataset_type:
            mapping = replace(mapping, dataset_type=dataset_type)
        canonical = mapping.canonical
        keys = list(key) if key else list(canonical.key if canonical else ())
        if mode == "upsert" and not keys:
            raise MappingError("upsert needs a key: give --key COLUMN (or map to a dataset type that has one)")
        targets = _targets(staged, mapping, found, existing if mode != "replace" else None, keys)
        rules = _resolve_rules(rules, found, mapping)
        mapping = replace(mapping, decimal=rules.decimal, date_order=rules.date_order)
        if staged.ragged:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _hw_ragged AS SELECT unnest(?::BIGINT[]) AS _row", [list(staged.ragged)]
            )
        check_existing = dataset if mode == "append" and existing is not None else None
        sql = statements(targets, staged.columns, rules, key=keys, existing=check_existing, ragged=bool(staged.ragged))
        _validate(con, sql)
        if progress:
            progress("validating", 0.7)
        result = ImportResult(dataset, mode, staged.source, mapping, decimal=rules.decimal, date_order=rules.date_order)
        _write(con, result, targets, existing if mode != "replace" else None, keys, started, progress, staged.columns)
        if progress:
            progress("done", 1.0)
        return result
    finally:
        _drop_temp(con)


def reusable(saved: Mapping | None, table: RawTable, dataset_type: str | None) -> Mapping | None:
    """A dataset's saved mapping if it fits a new file (every mapped column present, the same type),
    with the file's new columns added as the proposal maps them."""
    if saved is None or (dataset_type is not None and saved.dataset_type != dataset_type):
        return None
    if not all(c in table.columns for c, t in saved.columns.items() if t is not None):
        return None
    new = [c for c in table.columns if c not in saved.columns]
    if not new:
        return saved
    proposal = propose_mapping(table, saved.dataset_type)
    columns, confidence = dict(saved.columns), dict(saved.confidence)
    used = {t for t in columns.values() if t is not None}
    for column in new:
        target = proposal.columns[column]
        if target is not None and target in used:
            base, n = target, 2
            while target in used:
                target, n = f"{base}_{n}", n + 1
        columns[column] = target
        confidence[column] = proposal.confidence.get(column, 0.0)
        used.add(target or "")
    return replace(saved, columns=columns, confidence=confidence)


def _validate(con: duckdb.DuckDBPyConnection, sql: Statements) -> None:
    """Run the validation: ``_hw_clean`` (typed rows, ``_bad``, ``_skip``) and ``_hw_rejects(_row, _problems)``."""
    con.execute(sql.clean)
    con.execute(sql.problems)
    if sql.keys:
        con.execute(sql.keys)
        con.execute("UPDATE _hw_clean SET _bad = true WHERE NOT _bad AND _row IN (SELECT _row FROM _hw_problems)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _hw_rejects AS SELECT c._row, "
        "coalesce(p._problems, [{'column': NULL, 'reason': 'failed validation'}]) AS _problems "
        "FROM _hw_clean c LEFT JOIN (SELECT _row, list(problem ORDER BY _n) AS _problems FROM _hw_problems "
        "GROUP BY _row) p USING (_row) WHERE c._bad"
    )


def _write(
    con: duckdb.DuckDBPyConnection,
    result: ImportResult,
    targets: list[Target],
    existing: dict[str, FieldType] | None,
    keys: list[str],
    started: dt.datetime,
    progress: Progress | None,
    columns: Sequence[str],
) -> None:
    table = quote_ident(result.dataset)
    cols = ", ".join(quote_ident(t.name) for t in targets)
    ok = "_skip IS NULL AND NOT _bad"
    con.execute("BEGIN TRANSACTION")
    try:
        import_id = ledger.next_import_id(con)
        if existing is None:
            ddl = ", ".join(f"{quote_ident(t.name)} {storage_type(t.type)}" for t in targets)
            con.execute(f"CREATE OR REPLACE TABLE {table} ({ddl})")
        else:
            for t in targets:
                if t.name not in existing:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {quote_ident(t.name)} {storage_type(t.type)}")
            if result.mode == "upsert":
                match = " AND ".join(f"{table}.{quote_ident(k)} IS NOT DISTINCT FROM v.{quote_ident(k)}" for k in keys)
                key_cols = ", ".join(quote_ident(k) for k in keys)
                deleted = con.execute(
                    f"DELETE FROM {table} USING (SELECT {key_cols} FROM _hw_clean WHERE {ok}) v WHERE {match}"
                ).fetchone()
                result.updated = int(deleted[0]) if deleted else 0
        inserted = con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _hw_clean WHERE {ok}").fetchone()
        result.loaded = int(inserted[0]) if inserted else 0
        result.inserted = result.loaded - result.updated
        if progress:
            progress("loading", 0.9)
        _quarantine(con, result, import_id, columns)
        counts = con.execute(
            "SELECT count(*), count(*) FILTER (_skip IS NOT NULL), count(*) FILTER (_bad) FROM _hw_clean"
        ).fetchone()
        assert counts is not None
        result.read, result.skipped, result.rejected = (int(c) for c in counts)
        if result.read != result.loaded + result.rejected + result.skipped:
            raise ImportFailed(
                f"row count mismatch: read {result.read}, loaded {result.loaded}, rejected {result.rejected}, "
                f"skipped {result.skipped}; nothing was imported"
            )
        mapping_json = json.dumps(result.mapping.to_dict()) if result.mapping else None
        con.execute(
            f"INSERT INTO {ledger.SCHEMA}.imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                import_id,
                result.dataset,
                result.mapping.dataset_type if result.mapping else None,
                result.source.name,
                result.source.fingerprint,
                result.mode,
                ",".join(keys) or None,
                result.read,
                result.loaded,
                result.inserted,
                result.updated,
                result.rejected,
                result.skipped,
                mapping_json,
                started,
                dt.datetime.now(),
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    result.import_id = import_id
    for reason, n in con.execute(
        "SELECT coalesce(_problems[1].column || ': ', '') || _problems[1].reason, count(*) FROM _hw_rejects GROUP BY 1"
    ).fetchall():
        result.reasons[reason] = int(n)
    for reason, n in con.execute("SELECT _skip, count(*) FROM _hw_clean WHERE _skip IS NOT NULL GROUP BY 1").fetchall():
        result.skipped_reasons[reason] = int(n)
    rows = con.execute(
        f'SELECT row_number, "column", reason, problems, raw FROM {ledger.SCHEMA}.quarantine '
        f"WHERE import_id = ? ORDER BY row_number LIMIT {RESULT_QUARANTINE_ROWS}",
        [import_id],
    ).fetchall()
    result.quarantine = [QuarantineRow(result.source.name, n, c, r, json.loads(raw), p) for n, c, r, p, raw in rows]


def _quarantine(con: duckdb.DuckDBPyConnection, result: ImportResult, import_id: int, names: Sequence[str]) -> None:
    pairs = ", ".join(f"'{n.replace(chr(39), chr(39) * 2)}', r.c{i}" for i, n in enumerate(names))
    con.execute(
        f"""INSERT INTO {ledger.SCHEMA}.quarantine
            SELECT ?, ?, ?, c._row, c._problems[1].column, c._problems[1].reason,
                   array_to_string(
                       list_transform(c._problems, lambda p: coalesce(p.column || ': ', '') || p.reason), '; '),
                   CAST(json_object({pairs}) AS VARCHAR), now()::TIMESTAMP
            FROM _hw_rejects c JOIN _hw_rows r USING (_row)""",
        [import_id, result.dataset, result.source.name],
    )


def quarantine(warehouse: WarehouseTarget, dataset: str | None = None, import_id: int | None = None) -> pd.DataFrame:
    """Rejected rows with their file, row number, column and reason (newest import last)."""
    with _connection(warehouse) as con:
        return ledger.quarantine_frame(con, dataset, import_id)


def imports(warehouse: WarehouseTarget, dataset: str | None = None) -> pd.DataFrame:
    """The import ledger: one row per completed import with its counts and mapping."""
    with _connection(warehouse) as con:
        return ledger.imports_frame(con, dataset)
