"""Reading files into rows of text: CSV (any delimiter and encoding), XLSX (one sheet), Parquet.

Every format ends up the same way: a DuckDB table of text cells (``c0`` … ``cN``, all VARCHAR)
plus the row number each record has in the file, counted the way a spreadsheet shows it
(the header is row 1). Cleaning, typing and validation then happen once, in SQL, for all
formats (see ``clean.py``).

Big, well-formed CSV files are read by DuckDB's own CSV reader (fast, parallel); files it
cannot read exactly (blank lines, ragged rows) go through Python's ``csv`` module, which
keeps exact row numbers and reports ragged rows instead of failing.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa

from headway.engine.canonical import FieldType

PREVIEW_ROWS = 20
SAMPLE_ROWS = 5_000
SAMPLE_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
CHUNK = 1 << 22
HEADER_SEARCH = 30
"""Rows searched for the header (title lines may come first)."""

Progress = Callable[[str, float], None]
"""Called with a stage name and the fraction (0..1) of the import done."""


class IngestError(ValueError):
    """A problem with what the user gave (file, mapping, options), with a message saying what and where."""


class FileReadError(IngestError):
    """The file cannot be read at all (wrong format, no header, unknown sheet, ...)."""


@dataclass(frozen=True)
class SourceInfo:
    path: str
    name: str
    format: str
    """csv, xlsx, parquet or records."""
    size: int = 0
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    header_row: int = 1
    fingerprint: str = ""
    """sha256 of the file's bytes (the import ledger's idempotency key)."""


@dataclass(frozen=True)
class DetectedType:
    """What a column's values look like."""

    type: FieldType
    filled: int
    """Non-empty values in the sample."""
    parsed: int
    """Of those, how many parse as ``type``."""
    examples: tuple[str, ...] = ()
    shares: dict[str, float] = field(default_factory=dict)
    """Share of the non-empty values that parse as a ``number``, a ``date`` and a ``boolean``."""


@dataclass(frozen=True)
class RawTable:
    """A file as read: its columns, a preview and what the values look like."""

    columns: tuple[str, ...]
    preview: tuple[tuple[str | None, ...], ...]
    types: dict[str, DetectedType]
    source: SourceInfo
    decimal: str = "point"
    """Decimal separator the numbers use: ``point`` or ``comma``."""
    date_order: str = "dmy"
    """Order of day and month in dates such as 03/04/2024: ``dmy`` or ``mdy``."""
    rows: int = 0
    """Data rows in the file."""


# --- bytes: encoding and fingerprint ---------------------------------------------------------------


class FileFacts(NamedTuple):
    fingerprint: str
    """sha256 of the bytes."""
    encoding: str
    """utf-8, utf-8-sig, utf-16, cp1252, latin-1, or ``binary`` (no text: fine for XLSX and Parquet only)."""
    newlines: int | None
    """Line breaks in the file (None: not counted, e.g. UTF-16)."""


def fingerprint_and_encoding(path: Path, progress: Progress | None = None, share: float = 0.0) -> FileFacts:
    """One pass over the bytes: their fingerprint, their encoding, and how many line breaks they have."""
    size = max(path.stat().st_size, 1)
    digest = hashlib.sha256()
    decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()
    head = first = b""
    newlines = done = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if not head:
                head, first = chunk[:4], chunk[:BINARY_SAMPLE]
            digest.update(chunk)
            newlines += chunk.count(b"\n")
            if decoder is not None and (not chunk.isascii() or decoder.getstate()[0]):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    decoder = None
            done += len(chunk)
            if progress is not None and share:
                progress("checking the file", share * done / size)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return FileFacts(digest.hexdigest(), "utf-16", None)
    if _looks_binary(first):
        return FileFacts(digest.hexdigest(), BINARY, None)
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            decoder = None
    if decoder is not None:
        return FileFacts(digest.hexdigest(), "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8", newlines)
    # Not UTF-8: Windows-1252 (Excel's "CSV" on Western Windows) unless it has bytes cp1252 leaves undefined.
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                chunk.decode("cp1252")
        return FileFacts(digest.hexdigest(), "cp1252", newlines)
    except UnicodeDecodeError:
        return FileFacts(digest.hexdigest(), "latin-1", newlines)


BINARY = "binary"
BINARY_SAMPLE = 1 << 16
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13))


def _looks_binary(sample: bytes) -> bool:
    """Bytes no CSV has: a NUL, or more than 1 % control characters (tab, CR, LF and FF aside)."""
    if not sample:
        return False
    if b"\0" in sample:
        return True
    return len(sample) - len(sample.translate(None, _CONTROL)) > len(sample) / 100


def fingerprint_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- CSV dialect -----------------------------------------------------------------------------------


def _sample_text(path: Path, encoding: str) -> str:
    with path.open("rb") as fh:
        data = fh.read(SAMPLE_BYTES)
    text = data.decode(encoding, errors="ignore")
    if len(data) == SAMPLE_BYTES and "\n" in text:
        text = text[: text.rfind("\n") + 1]  # whole lines only
    return text.lstrip("\ufeff")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most, most consistent columns."""
    best, best_score = ",", -1.0
    for delim in DELIMITERS:
        rows = [r for r in _csv_rows(text, delim, limit=50) if any(c.strip() for c in r)]
        if not rows:
            continue
        counts = [len(r) for r in rows]
        width = max(set(counts), key=counts.count)
        if width < 2:
            continue
        score = counts.count(width) / len(counts) * 1000 + width
        if score > best_score:
            best, best_score = delim, score
    return best


def _csv_rows(text: str, delimiter: str, limit: int | None = None) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)
    try:
        for i, row in enumerate(reader):
            if limit is not None and i >= limit:
                return
            yield row
    except csv.Error:
        return


def find_header(rows: Sequence[Sequence[Any]]) -> int | None:
    """Index of the header among the first rows: the first row about as wide as the widest.

    Title lines above a table ("Export from ShopX", a date, a blank line) are narrower than
    the header, so they are passed over; their rows still count for row numbers.
    """
    widths = [sum(1 for c in row if c is not None and str(c).strip()) for row in rows]
    if not widths or max(widths) == 0:
        return None
    need = max(1, (max(widths) + 1) // 2 + (1 if max(widths) > 2 else 0))
    return next(i for i, w in enumerate(widths) if w >= need)


def header_names(cells: Sequence[Any]) -> tuple[str, ...]:
    """Column names from a header row: trimmed, empty ones named ``column_N``, repeats numbered."""
    names: list[str] = []
    seen: set[str] = set()
    for i, cell in enumerate(cells, start=1):
        name = " ".join(str(cell).split()) if cell is not None else ""
        name = name or f"column_{i}"
        base, n = name, 2
        while name.lower() in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name.lower())
        names.append(name)
    return tuple(names)


# --- staging: a file as a DuckDB table of text ------------------------------------------------------


@dataclass
class Staged:
    """A file staged in a DuckDB connection: view ``_hw_rows(_row, c0..cN)`` holds its data rows."""

    columns: tuple[str, ...]
    source: SourceInfo
    ragged: dict[int, int] = field(default_factory=dict)
    """Row number -> number of cells, for rows with more cells than the header (Python path only)."""

    @property
    def cells(self) -> list[str]:
        return [f"c{i}" for i in range(len(self.columns))]


def _register_rows(
    con: duckdb.DuckDBPyConnection, width: int, rows: Iterator[tuple[int, Sequence[str | None]]]
) -> None:
    """Materialise (row number, cells) pairs as the temp table ``_hw_file`` and the view ``_hw_rows``."""
    numbers: list[int] = []
    columns: list[list[str | None]] = [[] for _ in range(width)]
    for number, cells in rows:
        numbers.append(number)
        for i in range(width):
            columns[i].append(cells[i] if i < len(cells) else None)
    arrays = [pa.array(numbers, pa.int64()), *(pa.array(c, pa.string()) for c in columns)]
    table = pa.Table.from_arrays(arrays, names=["_row", *(f"c{i}" for i in range(width))])
    con.register("_hw_arrow", table)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _hw_file AS SELECT * FROM _hw_arrow")
    finally:
        con.unregister("_hw_arrow")
    con.execute("CREATE OR REPLACE TEMP VIEW _hw_rows AS SELECT * FROM _hw_file")


def _blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _transcoded(path: Path, encoding: str) -> Path:
    """A UTF-8 copy of a file in another encoding (DuckDB reads UTF-8 only)."""
    fd, name = tempfile.mkstemp(suffix=".csv", prefix="headway-utf8-")
    with path.open("r", encoding=encoding, newline="") as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
    return Path(name)


def _has_blank_lines(path: Path) -> bool:
    with path.open("rb") as fh:
        tail = b""
        while chunk := fh.read(CHUNK):
            block = tail + chunk
            if b"\n\n" in block or b"\n\r\n" in block:
                return True
            tail = block[-2:]
    return False


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def stage_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: SourceInfo,
    *,
    encoding: str,
    delimiter: str,
    newlines: int | None = None,
) -> Staged:
    text = _sample_text(path, encoding)
    head = list(_csv_rows(text, delimiter, limit=HEADER_SEARCH))
    found = find_header(head)
    header_at, header = (found + 1, head[found]) if found is not None else (0, None)
    if header is None:
        raise FileReadError(f"{source.name}: the file has no header row (it is empty)")
    columns = header_names(header)
    staged = Staged(columns, _with(source, header_row=header_at))
    utf8 = path if encoding in ("utf-8", "utf-8-sig") else _transcoded(path, encoding)
    try:
        if header_at == 1 and _stage_with_duckdb(con, utf8, len(columns), delimiter):
            # DuckDB's reader skips blank lines, which would shift row numbers. One record per line
            # (the header included) means there were none; otherwise look for them.
            records = con.execute("SELECT count(*) FROM _hw_file").fetchall()[0][0]
            if newlines is not None and records in (newlines, newlines + 1):
                return staged
            if not _has_blank_lines(utf8):
                return staged
        _stage_with_python(con, utf8, staged, delimiter, header_at)
        return staged
    finally:
        if utf8 != path:
            utf8.unlink(missing_ok=True)


def _stage_with_duckdb(con: duckdb.DuckDBPyConnection, path: Path, width: int, delimiter: str) -> bool:
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _hw_file AS SELECT * FROM read_csv("
            f"{_sql_str(str(path))}, auto_detect = false, header = false, delim = {_sql_str(delimiter)}, "
            f"quote = '\"', escape = '\"', columns = {{{cols}}})"
        )
    except duckdb.Error:
        return False  # ragged rows and other oddities: the Python reader handles them row by row
    # rowid is the insertion order, i.e. the record's position in the file; the header is row 1.
    cells = ", ".join(f"c{i}" for i in range(width))
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _hw_rows AS SELECT rowid + 1 AS _row, {cells} FROM _hw_file "
        f"WHERE rowid > 0 AND coalesce({cells}, '') <> ''"  # a row of empty cells (";;;") is no data
    )
    return True


def _stage_with_python(
    con: duckdb.DuckDBPyConnection, path: Path, staged: Staged, delimiter: str, header_at: int
) -> None:
    width = len(staged.columns)

    def rows() -> Iterator[tuple[int, Sequence[str | None]]]:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True)
            try:
                for number, cells in enumerate(reader, start=1):
                    if number <= header_at or all(c == "" for c in cells):
                        continue
                    if len(cells) > width and any(c.strip() for c in cells[width:]):
                        staged.ragged[number] = len(cells)
                    yield number, cells
            except csv.Error as exc:
                raise FileReadError(f"{staged.source.name}: row {reader.line_num}: {exc}") from exc

    _register_rows(con, width, rows())


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    text = str(value)
    return text if text.strip() else None


def stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path, source: SourceInfo, sheet: str | None) -> Staged:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise FileReadError(f"{source.name}: not a readable XLSX workbook ({exc})") from exc
    try:
        names = tuple(wb.sheetnames)
        if sheet is not None and sheet not in names:
            raise FileReadError(f"{source.name}: no sheet named {sheet!r}; the sheets are {', '.join(names)}")
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        head = list(itertools.islice(rows, HEADER_SEARCH))
        found = find_header(head)
        if found is None:
            raise FileReadError(f"{source.name}: sheet {ws.title!r} is empty")
        header_at, header = found + 1, head[found]
        rows = itertools.chain(head[found + 1 :], rows)
        last = len(header)
        while last and (header[last - 1] is None or not str(header[last - 1]).strip()):
            last -= 1
        columns = header_names(header[:last])
        staged = Staged(columns, _with(source, sheet=ws.title, sheets=names, header_row=header_at))

        def data() -> Iterator[tuple[int, Sequence[str | None]]]:
            for number, values in enumerate(rows, start=header_at + 1):
                cells = [_cell_text(v) for v in values]
                if _blank(cells):
                    continue
                if len(cells) > last and any(c is not None for c in cells[last:]):
                    staged.ragged[number] = len(cells)
                yield number, cells

        _register_rows(con, len(columns), data())
        return staged
    finally:
        wb.close()


def stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, source: SourceInfo) -> Staged:
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _hw_file AS SELECT * FROM read_parquet({_sql_str(str(path))})")
    except duckdb.Error as exc:
        raise FileReadError(f"{source.name}: not a readable Parquet file ({exc})") from exc
    names = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE _hw_file)").fetchall()]
    cells = ", ".join(f'CAST("{n.replace(chr(34), chr(34) * 2)}" AS VARCHAR) AS c{i}' for i, n in enumerate(names))
    # A Parquet file has no header row: its first record is row 1.
    con.execute(f"CREATE OR REPLACE TEMP VIEW _hw_rows AS SELECT rowid + 1 AS _row, {cells} FROM _hw_file")
    return Staged(header_names(names), _with(source, header_row=0))


def stage_records(con: duckdb.DuckDBPyConnection, records: Sequence[dict[str, Any]], source: SourceInfo) -> Staged:
    """Rows given as dicts (the push API): columns in order of first appearance; record 1 is row 1."""
    names: dict[str, None] = {}
    for rec in records:
        if not isinstance(rec, dict):
            raise FileReadError(f"{source.name}: every record must be an object of column -> value")
        names.update(dict.fromkeys(str(k) for k in rec))
    if not names:
        raise FileReadError(f"{source.name}: no records (or only empty ones)")
    keys = list(names)

    def rows() -> Iterator[tuple[int, Sequence[str | None]]]:
        for number, rec in enumerate(records, start=1):
            yield number, [_record_text(rec.get(k)) for k in keys]

    _register_rows(con, len(keys), rows())
    return Staged(tuple(keys), _with(source, header_row=0))


def _record_text(value: Any) -> str | None:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return _cell_text(value)


def _with(source: SourceInfo, **changes: Any) -> SourceInfo:
    return replace(source, **changes)


# --- entry points ----------------------------------------------------------------------------------


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".xls":
        raise FileReadError(f"{path.name}: old .xls workbooks are not supported; save it as .xlsx or CSV")
    return "csv"


def stage_file(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    progress: Progress | None = None,
    known: FileFacts | None = None,
) -> Staged:
    """Stage a file's data rows in ``con`` as ``_hw_rows(_row, c0..cN)``.

    ``known`` is what ``fingerprint_and_encoding`` said about the file, if already asked.
    """
    p = Path(path)
    if not p.is_file():
        raise FileReadError(f"no file at {p}")
    fmt = file_format(p)
    digest, detected, newlines = known or fingerprint_and_encoding(p, progress, 0.25)
    source = SourceInfo(str(p), p.name, fmt, size=p.stat().st_size, fingerprint=digest)
    if fmt == "xlsx":
        return stage_xlsx(con, p, source, sheet)
    if fmt == "parquet":
        return stage_parquet(con, p, source)
    if detected == BINARY and not encoding:
        raise FileReadError(
            f"{p.name}: not a text file (it holds binary bytes, so it is no CSV); "
            "save the data as CSV, XLSX or Parquet and upload that"
        )
    enc = _python_encoding(encoding) if encoding else detected
    delim = delimiter or sniff_delimiter(_sample_text(p, enc))
    source = _with(source, encoding=enc, delimiter=delim)
    # Line breaks were counted in the bytes; in UTF-16 they look different, so they are not known.
    newlines = None if enc.startswith("utf-16") else newlines
    return stage_csv(con, p, source, encoding=enc, delimiter=delim, newlines=newlines)


def _python_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise FileReadError(f"unknown encoding {name!r}") from exc


_NON_IDENT = re.compile(r"[^a-z0-9]+")


def snake_name(text: str) -> str:
    """A column header as a warehouse column name: ``"Datum (Bestellung)"`` -> ``datum_bestellung``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    name = _NON_IDENT.sub("_", plain).strip("_") or "column"
    return f"c_{name}" if name[0].isdigit() else name
