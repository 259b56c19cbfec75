"""SQL sources: read tables or a read-only query from PostgreSQL, MySQL/MariaDB or SQLite by URL.

    src = SqlSource("postgresql://bob:pw@db.example.com:5432/shop")   # or a secrets.Secret
    src.tables()                      # ['orders', 'sales.invoices', ...]
    src.preview("orders", limit=20)   # a DataFrame; a SELECT works too
    for chunk in src.read("orders", cursor_column="updated_at", since=last):   # DataFrames of chunk_rows
        load(chunk)
    last = src.last_cursor            # the highest cursor value read; pass it as `since` next time

URLs: ``postgresql://user:password@host:port/db?sslmode=require`` (``postgres://`` too),
``mysql://user:password@host:3306/db`` (``mariadb://`` too; ``+driver`` suffixes are
ignored), ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``.

Safety: a user's query must be one SELECT (or WITH ... SELECT, or a UNION of them), checked
with SQLGlot before it is sent: no INSERT/UPDATE/DELETE/DDL, no data-modifying CTE, no
SELECT INTO, no FOR UPDATE, no file or server-control functions. It then runs inside a
read-only transaction (PostgreSQL ``READ ONLY``, MySQL ``START TRANSACTION READ ONLY``,
SQLite opened with ``mode=ro``) with a statement time limit, and a read stops with an error
(never silently) when it passes the row cap. The password never appears in an error
message, a log line or a repr: :func:`headway.ingest.secrets.redact_url` is shown instead.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError

from headway.ingest.secrets import Secret, redact_url, scrub

log = logging.getLogger(__name__)


class Engine(StrEnum):
    POSTGRES = "postgres"
    MYSQL = "mysql"
    SQLITE = "sqlite"

    @property
    def dialect(self) -> str:
        return {Engine.POSTGRES: "postgres", Engine.MYSQL: "mysql", Engine.SQLITE: "sqlite"}[self]


SCHEMES: dict[str, Engine] = {
    "postgresql": Engine.POSTGRES,
    "postgres": Engine.POSTGRES,
    "mysql": Engine.MYSQL,
    "mariadb": Engine.MYSQL,
    "sqlite": Engine.SQLITE,
}


@dataclass(frozen=True)
class Limit:
    name: str
    default: float
    description: str


# The limits a user can tune, in one place: defaults here, documented in docs/connectors.md.
LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit("timeout_s", 300, "Seconds one statement may run before the database cancels it."),
        Limit("max_rows", 5_000_000, "Rows one read may return; a read that would return more stops with an error."),
        Limit("chunk_rows", 50_000, "Rows per DataFrame handed to the loader."),
        Limit("connect_timeout_s", 10, "Seconds to wait for the database server to answer a connection."),
    )
}

# Functions that read files, reach the network or control the server: refused even in a
# read-only transaction (some work there, e.g. pg_read_file for a superuser).
FORBIDDEN_FUNCTIONS = frozenset(
    {
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "pg_stat_file",
        "lo_import",
        "lo_export",
        "dblink",
        "dblink_exec",
        "pg_sleep",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_advisory_lock",
        "set_config",
        "nextval",
        "setval",
        "load_file",
        "sleep",
        "benchmark",
        "get_lock",
        "load_extension",
        "readfile",
        "writefile",
    }
)

# Statement parts that write, lock or leave the SELECT world.
_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Command,
    exp.Copy,
    exp.Into,
    exp.Lock,
    exp.Set,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Pragma,
    exp.Use,
)


class SqlSourceError(Exception):
    """A SQL source cannot be read; the message says what to fix and never holds a password."""


class ReadOnlyQueryError(SqlSourceError):
    """The query is not a single read-only SELECT."""


class RowLimitError(SqlSourceError):
    """A read returned more rows than the row cap."""


def check_read_only(query: str, engine: Engine | str = Engine.POSTGRES) -> exp.Query:
    """Parse ``query`` and return its SQLGlot tree if it is one read-only SELECT; else raise ReadOnlyQueryError."""
    dialect = Engine(engine).dialect
    text = query.strip().rstrip(";").strip()
    if not text:
        raise ReadOnlyQueryError("the query is empty: write one SELECT statement")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect, error_level=ErrorLevel.RAISE) if s is not None]
    except ParseError as err:
        first = err.errors[0] if err.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        raise ReadOnlyQueryError(f"the query is not valid SQL{where}: {first.get('description', err)}") from None
    if len(statements) != 1:
        raise ReadOnlyQueryError(f"the query holds {len(statements)} statements; write exactly one SELECT")
    (statement,) = statements
    if not isinstance(statement, exp.Query):
        kind = statement.key.upper() if not isinstance(statement, exp.Command) else str(statement.this).upper()
        raise ReadOnlyQueryError(f"only a read-only SELECT is allowed here, not {kind}")
    for node in statement.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            what = "SELECT ... INTO" if isinstance(node, exp.Into) else node.key.upper()
            if isinstance(node, exp.Lock):
                what = "FOR UPDATE / FOR SHARE"
            raise ReadOnlyQueryError(f"only a read-only SELECT is allowed here; the query contains {what}")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in FORBIDDEN_FUNCTIONS:
                raise ReadOnlyQueryError(f"the function {name}() is not allowed in a source query")
    return statement


class SqlSource:
    """A database to read from, given by URL (a str or a :class:`Secret`)."""

    def __init__(
        self,
        url: str | Secret,
        *,
        timeout_s: float = LIMITS["timeout_s"].default,
        max_rows: int = int(LIMITS["max_rows"].default),
        connect_timeout_s: float = LIMITS["connect_timeout_s"].default,
    ) -> None:
        self._url = url if isinstance(url, Secret) else Secret(url)
        self.display_url = redact_url(self._url)
        self.timeout_s = timeout_s
        self.max_rows = max_rows
        self.connect_timeout_s = connect_timeout_s
        self.last_cursor: Any = None
        parts = urlsplit(self._url.reveal())
        scheme = parts.scheme.split("+", 1)[0].lower()
        if scheme not in SCHEMES:
            known = ", ".join(f"{s}://" for s in SCHEMES)
            raise SqlSourceError(f"{self.display_url}: unknown database kind {scheme!r}; use one of {known}")
        self.engine = SCHEMES[scheme]
        self._password = unquote(parts.password) if parts.password else None

    def __repr__(self) -> str:
        return f"SqlSource({self.display_url!r})"

    # ----------------------------------------------------------------- public reads

    def tables(self) -> list[str]:
        """Tables and views the user can read, as ``name`` or ``schema.name`` (non-default schemas)."""
        queries = {
            Engine.POSTGRES: "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
            Engine.MYSQL: "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = DATABASE() ORDER BY 2",
            Engine.SQLITE: "SELECT 'main', name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY 2",
        }
        default_schema = {Engine.POSTGRES: "public"}.get(self.engine)
        with self._connection() as (_, cur):
            self._execute(cur, queries[self.engine])
            rows = cur.fetchall()
        names = []
        for schema, name in rows:
            keep_schema = self.engine is Engine.POSTGRES and schema != default_schema
            names.append(f"{schema}.{name}" if keep_schema else str(name))
        return names

    def preview(self, table_or_query: str, limit: int = 20) -> pd.DataFrame:
        """The first ``limit`` rows of a table (a name from :meth:`tables`) or of a read-only query."""
        text = table_or_query.strip()
        is_table = text in self.tables()
        select = self._select(text if is_table else None, None if is_table else text, None, None)
        sql = select.limit(limit).sql(dialect=self.engine.dialect)
        frames = list(self._run(sql, chunk_rows=max(limit, 1), cap=limit))
        return frames[0] if frames else pd.DataFrame()

    def read(
        self,
        table: str | None = None,
        query: str | None = None,
        *,
        cursor_column: str | None = None,
        since: Any = None,
        chunk_rows: int = int(LIMITS["chunk_rows"].default),
    ) -> Iterator[pd.DataFrame]:
        """Yield the rows of ``table`` or of a read-only ``query`` as DataFrames of up to ``chunk_rows`` rows.

        With ``cursor_column`` the rows come in that column's order, only those with a value
        greater than ``since`` (all of them when ``since`` is None), and :attr:`last_cursor`
        holds the highest value read once the iterator is exhausted (a plain ``datetime``,
        number or string) — persist it (an ISO string for a datetime is fine) and pass it as
        ``since`` next time for an incremental read. Rows sharing the exact ``since``
        value are not read again, so an ``updated_at`` column needs sub-second precision or
        an upsert by key on the loading side. A read that passes ``max_rows`` raises
        :class:`RowLimitError` after the chunks already yielded (load them in one
        transaction and roll back on error). A bad table name or query raises at the call,
        before any iteration.
        """
        if (table is None) == (query is None):
            raise SqlSourceError("give either a table or a query to read")
        select = self._select(table, query, cursor_column, since)
        sql = select.limit(self.max_rows + 1).sql(dialect=self.engine.dialect)
        return self._read_chunks(sql, cursor_column, since, chunk_rows)

    def _read_chunks(self, sql: str, cursor_column: str | None, since: Any, chunk_rows: int) -> Iterator[pd.DataFrame]:
        # Rows come ordered by the cursor and all above `since` (which may be a stored string),
        # so the last chunk's highest value is the new cursor; nothing read keeps `since`.
        last = None
        for frame in self._run(sql, chunk_rows=chunk_rows, cap=self.max_rows, strict=True):
            if cursor_column is not None and frame[cursor_column].notna().any():
                last = _native(frame[cursor_column].max())
            yield frame
        self.last_cursor = since if last is None else last

    # ---------------------------------------------------------------- building SQL

    def _select(self, table: str | None, query: str | None, cursor_column: str | None, since: Any) -> exp.Select:
        if query is not None:
            inner = check_read_only(query, self.engine)
            alias = exp.TableAlias(this=exp.to_identifier("headway_src"))
            source: exp.Expression = exp.Subquery(this=inner, alias=alias)
        else:
            assert table is not None
            known = self.tables()
            if table not in known:
                hint = f"; tables here: {', '.join(known[:20])}" if known else "; the database has no tables"
                raise SqlSourceError(f"{self.display_url}: no table named {table!r}{hint}")
            schema, _, name = table.rpartition(".")
            source = exp.Table(
                this=exp.to_identifier(name, quoted=True),
                db=exp.to_identifier(schema, quoted=True) if schema else None,
            )
        select = exp.select("*").from_(source)
        if cursor_column is not None:
            column = exp.column(cursor_column, quoted=True)
            if since is not None:
                select = select.where(exp.GT(this=column, expression=_literal(since, self.engine)))
            select = select.order_by(column)
        return select

    # ------------------------------------------------------------- running queries

    def _run(self, sql: str, *, chunk_rows: int, cap: int, strict: bool = False) -> Iterator[pd.DataFrame]:
        log.info("reading %s", self.display_url)
        total = 0
        with self._connection(stream=True) as (_, cur):
            self._execute(cur, sql)
            columns = [d[0] for d in cur.description]
            while True:
                rows = self._fetch(cur, chunk_rows)
                if not rows:
                    break
                if total + len(rows) > cap:
                    if strict:
                        raise RowLimitError(
                            f"{self.display_url}: the read returned more than {cap:,} rows (the row cap); "
                            "narrow the query, read incrementally with a cursor column, or raise max_rows"
                        )
                    rows = rows[: cap - total]
                total += len(rows)
                yield _frame(rows, columns)
                if total >= cap:
                    break
        log.info("read %d rows from %s", total, self.display_url)

    def _fetch(self, cur: Any, size: int) -> list[Sequence[Any]]:
        try:
            return list(cur.fetchmany(size))
        except Exception as err:
            raise self._error("reading rows failed", err) from None

    def _execute(self, cur: Any, sql: str) -> None:
        try:
            cur.execute(sql)
        except Exception as err:
            raise self._error("the query failed", err) from None

    def _error(self, what: str, err: BaseException) -> SqlSourceError:
        detail = scrub(str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__, [self._password])
        if _is_timeout(err):
            detail = f"it ran longer than the {self.timeout_s:g} s time limit ({detail})"
        return SqlSourceError(f"{self.display_url}: {what}: {detail}")

    @contextmanager
    def _connection(self, stream: bool = False) -> Iterator[tuple[Any, Any]]:
        opener = {Engine.POSTGRES: self._postgres, Engine.MYSQL: self._mysql, Engine.SQLITE: self._sqlite}
        with ExitStack() as stack:
            try:
                pair = stack.enter_context(opener[self.engine](stream))
            except SqlSourceError:
                raise
            except Exception as err:
                raise self._error("cannot connect", err) from None
            yield pair

    @contextmanager
    def _postgres(self, stream: bool) -> Iterator[tuple[Any, Any]]:
        import psycopg

        url = self._url.reveal()
        conninfo = "postgresql://" + url.split("://", 1)[1]
        with psycopg.connect(conninfo, connect_timeout=int(self.connect_timeout_s), autocommit=False) as con:
            con.read_only = True
            with con.cursor() as setup:
                setup.execute(f"SET LOCAL statement_timeout = {int(self.timeout_s * 1000)}")
            yield con, con.cursor(name="headway_read") if stream else con.cursor()
            con.rollback()

    @contextmanager
    def _mysql(self, stream: bool) -> Iterator[tuple[Any, Any]]:
        import pymysql
        import pymysql.cursors

        parts = urlsplit(self._url.reveal())
        options = dict(parse_qsl(parts.query))
        con = pymysql.connect(
            host=parts.hostname or "localhost",
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=self._password or "",
            database=unquote(parts.path.lstrip("/")) or None,
            charset=options.get("charset", "utf8mb4"),
            connect_timeout=int(self.connect_timeout_s),
            cursorclass=pymysql.cursors.SSCursor if stream else pymysql.cursors.Cursor,
            autocommit=False,
        )
        cur = con.cursor()
        try:
            with con.cursor(pymysql.cursors.Cursor) as setup:
                setup.execute("SELECT VERSION()")
                row = setup.fetchone()
                version = str(row[0]) if row else ""
                if "mariadb" in version.lower():
                    setup.execute(f"SET SESSION max_statement_time = {float(self.timeout_s)}")
                else:
                    setup.execute(f"SET SESSION max_execution_time = {int(self.timeout_s * 1000)}")
                setup.execute("START TRANSACTION READ ONLY")
            yield con, cur
        finally:
            # No cur.close(): on an unbuffered cursor it would first read every remaining row
            # (maybe millions after an error); closing the connection drops them and ends the
            # transaction. The result must then not try to drain itself when garbage-collected.
            result = getattr(cur, "_result", None)
            if result is not None:
                result.unbuffered_active = False
            con.close()

    @contextmanager
    def _sqlite(self, stream: bool) -> Iterator[tuple[Any, Any]]:
        path = _sqlite_path(self._url.reveal())
        if not path.exists():
            raise SqlSourceError(f"{self.display_url}: no SQLite database file at {path}")
        con = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=self.connect_timeout_s)
        deadline = time.monotonic() + self.timeout_s
        con.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            yield con, con.cursor()
        finally:
            con.close()


def _sqlite_path(url: str) -> Path:
    # sqlite:///shop.db → shop.db (relative); sqlite:////data/shop.db → /data/shop.db
    rest = url.split("://", 1)[1]
    return Path(unquote(rest.split("?", 1)[0][1:] if rest.startswith("/") else rest))


def _is_timeout(err: BaseException) -> bool:
    text = str(err).lower()
    return any(marker in text for marker in _TIMEOUT_MARKERS)


_TIMEOUT_MARKERS = ("statement timeout", "max_statement_time", "max_execution_time", "interrupted", "execution was")


def _literal(value: Any, engine: Engine) -> exp.Expression:
    """A cursor value as an SQL literal (SQLGlot escapes it), typed for the engine."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | Decimal):
        return exp.Literal.number(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if engine is Engine.SQLITE:
            return exp.Literal.string(value.isoformat(sep=" "))
        if value.tzinfo is not None and engine is Engine.POSTGRES:
            return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMPTZ")
        return exp.cast(exp.Literal.string(value.replace(tzinfo=None).isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, dt.date):
        text = value.isoformat()
        return exp.Literal.string(text) if engine is Engine.SQLITE else exp.cast(exp.Literal.string(text), "DATE")
    return exp.Literal.string(str(value))


def _native(value: Any) -> Any:
    """A pandas/numpy scalar as the plain Python value (datetime, int, float, str) a caller can store."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _frame(rows: Sequence[Sequence[Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns, coerce_float=True)
