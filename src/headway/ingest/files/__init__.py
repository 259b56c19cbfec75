"""File import: read CSV / XLSX / Parquet (or pushed records), propose a mapping to a canonical
dataset type, validate every row, load the valid ones into the org's DuckDB warehouse and
quarantine the rest with their reasons. See docs/data-import.md.

The interface the web app, the push API and the CLI call::

    from headway.ingest import files

    table = files.read_file(path, sheet=None, encoding=None, delimiter=None)   # RawTable: columns, preview, types
    mapping = files.propose_mapping(table, dataset_type=None)                  # Mapping; .to_yaml(), .from_yaml()
    result = files.import_file(warehouse_path, path, dataset="orders", dataset_type="orders",
                               mapping=None, mode="append", key=None, sheet=None, progress=None)
    result = files.import_records(warehouse_path, records, dataset="orders", dataset_type="orders", mode="append")
    files.quarantine(warehouse_path, dataset=None, import_id=None)             # DataFrame of rejected rows
    files.imports(warehouse_path, dataset=None)                                # DataFrame: the import ledger
    files.saved_mapping(warehouse_path, dataset, table=None, dataset_type=None)  # the mapping to reuse, or None

``ImportResult`` has ``read``, ``loaded`` (= ``inserted`` + ``updated``), ``rejected``,
``skipped`` (repeated header and totals rows), ``reasons`` (Counter of ``"column: reason"``),
``quarantine`` (the first 1,000 rejected rows: file, row_number, column, reason, raw),
``import_id``, ``duplicate_file`` and ``to_dict()`` for JSON. Always
``read == loaded + rejected + skipped``.

Errors a user can fix are ``IngestError`` subclasses with a message that says what and
where: ``FileReadError`` (the file), ``MappingError`` (the mapping, mode, key or dataset name).
"""

from __future__ import annotations

from pathlib import Path

from headway.ingest.files import ledger
from headway.ingest.files.importer import (
    ImportFailed,
    ImportResult,
    QuarantineRow,
    WarehouseBusy,
    _connection,
    connect_for_writing,
    import_file,
    import_records,
    imports,
    quarantine,
    read_file,
    reusable,
)
from headway.ingest.files.mapping import Mapping, MappingError, propose_mapping
from headway.ingest.files.reading import DetectedType, FileReadError, IngestError, RawTable, SourceInfo
from headway.ingest.files.validate import Rules


def saved_mapping(
    warehouse: str | Path, dataset: str, table: RawTable | None = None, dataset_type: str | None = None
) -> Mapping | None:
    """The mapping the dataset's last import used, or None. With ``table``: only if it fits that file
    (every mapped column present) and ``dataset_type`` (if given), with the file's new columns added
    as proposed — what ``import_file`` would use."""
    if not Path(warehouse).exists():
        return None
    with _connection(warehouse) as con:
        saved = ledger.saved_mapping(con, dataset)
    return saved if table is None else reusable(saved, table, dataset_type)


__all__ = [
    "DetectedType",
    "FileReadError",
    "ImportFailed",
    "ImportResult",
    "IngestError",
    "Mapping",
    "MappingError",
    "QuarantineRow",
    "RawTable",
    "Rules",
    "SourceInfo",
    "WarehouseBusy",
    "connect_for_writing",
    "import_file",
    "import_records",
    "imports",
    "propose_mapping",
    "quarantine",
    "read_file",
    "saved_mapping",
]
