"""SQL sources against the real PostgreSQL and MariaDB services and a SQLite file.

Every engine gets the same 25-row ``orders`` table; results are checked against the
rows the fixture wrote (computed in Python here), never against the code under test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psycopg
import pymysql
import pytest

from headway.ingest import secrets
from headway.ingest.secrets import Secret
from headway.ingest.sql import ReadOnlyQueryError, RowLimitError, SqlSource, SqlSourceError, check_read_only

PG_ADMIN = os.environ.get("HEADWAY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
MY_HOST, MY_PORT = "127.0.0.1", 3306
PASSWORD = "Tr0ub4dor-&3-never-shown"

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
ROWS = [
    (i, f"c{i % 4}", round(i * 10.5, 2), START + dt.timedelta(hours=i), "50% off" if i % 5 == 0 else "full price")
    for i in range(1, 26)
]


@dataclass
class Db:
    engine: str
    url: str
    table: str
    """The table's name as SqlSource.tables() lists it."""
    admin: object  # run(sql) -> rows, with full rights, for independent checks

    def count(self, table: str = "orders") -> int:
        return self.admin(f"SELECT count(*) FROM {table}")[0][0]


def _pg_run(schema):
    def run(sql):
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f"SET search_path TO {schema}")
            cur = con.execute(sql)
            return cur.fetchall() if cur.description else []

    return run


@pytest.fixture(scope="module")
def pg():
    schema = f"hw_sqlsrc_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"SET search_path TO {schema}")
        con.execute(
            "CREATE TABLE orders (id int PRIMARY KEY, customer text, amount numeric(10,2), "
            "updated_at timestamptz, note text)"
        )
        with con.cursor() as cur:
            cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s, %s)", ROWS)
        con.execute("CREATE TABLE audit (n int)")
        con.execute(
            f"CREATE FUNCTION bump() RETURNS int LANGUAGE sql VOLATILE AS "
            f"$$ INSERT INTO {schema}.audit VALUES (1); SELECT 1 $$"
        )
    yield Db("postgres", PG_ADMIN, f"{schema}.orders", _pg_run(schema))
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


def _my_run(database):
    def run(sql):
        con = pymysql.connect(host=MY_HOST, port=MY_PORT, user="root", database=database, autocommit=True)
        try:
            with con.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            con.close()

    return run


@pytest.fixture(scope="module")
def maria():
    database = f"hw_sqlsrc_{uuid.uuid4().hex[:8]}"
    user = f"hw_r_{uuid.uuid4().hex[:6]}"
    run = _my_run(None)
    run(f"CREATE DATABASE {database}")
    run(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
    run(f"GRANT SELECT, EXECUTE ON {database}.* TO '{user}'@'127.0.0.1'")
    db = _my_run(database)
    db(
        "CREATE TABLE orders (id int PRIMARY KEY, customer varchar(20), amount decimal(10,2), "
        "updated_at datetime(6), note text)"
    )
    con = pymysql.connect(host=MY_HOST, port=MY_PORT, user="root", database=database, autocommit=True)
    with con.cursor() as cur:
        cur.executemany(
            "INSERT INTO orders VALUES (%s, %s, %s, %s, %s)",
            [(i, c, a, u.replace(tzinfo=None), n) for i, c, a, u, n in ROWS],
        )
    con.close()
    db("CREATE TABLE audit (n int)")
    db("SET GLOBAL log_bin_trust_function_creators = 1")
    db("CREATE FUNCTION bump() RETURNS int MODIFIES SQL DATA BEGIN INSERT INTO audit VALUES (1); RETURN 1; END")
    url = f"mysql://{user}:{PASSWORD.replace('&', '%26')}@{MY_HOST}:{MY_PORT}/{database}"
    yield Db("mysql", url, "orders", db)
    run(f"DROP DATABASE {database}")
    run(f"DROP USER '{user}'@'127.0.0.1'")


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlsrc") / "shop.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE orders (id integer PRIMARY KEY, customer text, amount real, updated_at text, note text)")
    con.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?, ?)",
        [(i, c, a, u.strftime("%Y-%m-%d %H:%M:%S"), n) for i, c, a, u, n in ROWS],
    )
    con.execute("CREATE TABLE audit (n int)")
    con.commit()
    con.close()

    def run(sql):
        with sqlite3.connect(path) as c:
            return c.execute(sql).fetchall()

    yield Db("sqlite", f"sqlite:///{path}", "orders", run)


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "mysql", "sqlite"])
def db(request):
    return request.getfixturevalue({"postgres": "pg", "mysql": "maria", "sqlite": "lite"}[request.param])


def test_tables_and_preview(db):
    src = SqlSource(db.url)
    assert db.table in src.tables()
    frame = src.preview(db.table, limit=7)
    assert list(frame.columns) == ["id", "customer", "amount", "updated_at", "note"]
    assert len(frame) == 7
    assert set(frame["id"]) <= {r[0] for r in ROWS}


def test_read_in_chunks_returns_every_row_once(db):
    chunks = list(SqlSource(db.url).read(db.table, chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    frame = pd.concat(chunks, ignore_index=True)
    assert sorted(frame["id"]) == [r[0] for r in ROWS]
    assert frame["amount"].astype(float).sum() == pytest.approx(sum(r[2] for r in ROWS))


def test_a_query_with_percent_signs_and_a_filter(db):
    query = "SELECT customer, sum(amount) AS revenue FROM orders WHERE note LIKE '50%' GROUP BY customer"
    if db.engine == "postgres":
        query = query.replace("FROM orders", f"FROM {db.table}")
    frame = pd.concat(SqlSource(db.url).read(query=query))
    expected: dict[str, float] = {}
    for _, customer, amount, _, note in ROWS:
        if note.startswith("50"):
            expected[customer] = expected.get(customer, 0) + amount
    got = {row.customer: float(row.revenue) for row in frame.itertuples()}
    assert got == pytest.approx(expected)


def test_incremental_read_returns_only_rows_after_the_cursor(db):
    src = SqlSource(db.url)
    first = pd.concat(src.read(db.table, cursor_column="updated_at", chunk_rows=8))
    assert list(first["id"]) == [r[0] for r in ROWS]  # ordered by the cursor column
    assert _as_utc(src.last_cursor) == ROWS[-1][3]

    since = first["updated_at"].iloc[19]  # as the source returned it, like a saved cursor would be
    again = SqlSource(db.url)
    rows = list(again.read(db.table, cursor_column="updated_at", since=since))
    assert list(pd.concat(rows)["id"]) == [21, 22, 23, 24, 25]
    assert _as_utc(again.last_cursor) == ROWS[-1][3]

    nothing_new = SqlSource(db.url)
    assert list(nothing_new.read(db.table, cursor_column="updated_at", since=again.last_cursor)) == []
    assert nothing_new.last_cursor == again.last_cursor


def _as_utc(value):
    ts = pd.Timestamp(value)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).to_pydatetime()


WRITES = [
    "DELETE FROM orders",
    "UPDATE orders SET amount = 0",
    "INSERT INTO orders (id) VALUES (99)",
    "DROP TABLE orders",
    "TRUNCATE orders",
    "SELECT 1; DELETE FROM orders",
    "SELECT * INTO stolen FROM orders",
    "SELECT * FROM orders FOR UPDATE",
    "CREATE TABLE x AS SELECT * FROM orders",
]


@pytest.mark.parametrize("statement", WRITES)
def test_a_write_through_the_query_is_refused_and_changes_nothing(db, statement):
    src = SqlSource(db.url)
    if db.engine == "postgres":
        statement = statement.replace("orders", db.table)
    with pytest.raises(ReadOnlyQueryError, match=r"read-only SELECT|statements"):
        list(src.read(query=statement))
    with pytest.raises(ReadOnlyQueryError):
        src.preview(statement)
    assert db.count() == len(ROWS)


def test_a_data_modifying_cte_is_refused():
    with pytest.raises(ReadOnlyQueryError, match="DELETE"):
        check_read_only("WITH gone AS (DELETE FROM orders RETURNING *) SELECT * FROM gone", "postgres")


@pytest.mark.postgres
def test_a_function_that_writes_is_stopped_by_the_read_only_transaction(pg, maria):
    # bump() passes the SQL check (it is a plain function call); the database's read-only
    # transaction is the second line of defence.
    for db in (pg, maria):
        query = "SELECT bump() AS n" if db.engine == "mysql" else f"SELECT {db.table.split('.')[0]}.bump() AS n"
        with pytest.raises(SqlSourceError, match=r"(?i)read.only"):
            list(SqlSource(db.url).read(query=query))
        assert db.count("audit") == 0


def test_sqlite_is_opened_read_only_and_left_untouched(lite):
    path = Path(lite.url.removeprefix("sqlite:///"))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    src = SqlSource(lite.url)
    list(src.read("orders"))
    with pytest.raises(ReadOnlyQueryError):
        src.preview("DELETE FROM orders")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_the_row_cap_stops_a_read_with_an_error(db):
    src = SqlSource(db.url, max_rows=12)
    got = []
    with pytest.raises(RowLimitError, match="more than 12 rows"):
        for chunk in src.read(db.table, chunk_rows=5):
            got.append(len(chunk))
    assert got == [5, 5]  # what was yielded before the cap; the caller rolls back its load


@pytest.mark.parametrize(
    ("engine", "query"),
    [
        pytest.param("postgres", "SELECT count(*) FROM generate_series(1, 500000000)", marks=pytest.mark.postgres),
        ("mysql", "SELECT count(*) FROM seq_1_to_100000 a JOIN seq_1_to_100000 b ON (a.seq * b.seq) % 7 = 3"),
        ("sqlite", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"),
    ],
)
def test_a_slow_query_is_cancelled_at_the_time_limit(request, engine, query):
    db = request.getfixturevalue({"postgres": "pg", "mysql": "maria", "sqlite": "lite"}[engine])
    with pytest.raises(SqlSourceError, match="time limit"):
        list(SqlSource(db.url, timeout_s=0.3).read(query=query))


@pytest.mark.postgres
def test_credentials_never_show_in_errors_logs_or_reprs(maria, caplog):
    quoted = PASSWORD.replace("&", "%26")
    failing = {
        "wrong password": maria.url.replace(quoted, "Wr0ng-" + quoted),
        "no such database": PG_ADMIN.replace("postgres@", f"postgres:{quoted}@").rsplit("/", 1)[0] + "/no_such_db_hw",
        "nothing listening": maria.url.replace(f":{MY_PORT}/", ":1/"),
    }
    with caplog.at_level(logging.DEBUG):
        for why, url in failing.items():
            src = SqlSource(Secret(url))
            assert PASSWORD not in repr(src) and quoted not in repr(src) and ":***@" in repr(src), why
            with pytest.raises(SqlSourceError) as err:
                src.tables()
            text = f"{err.value} {err.value!r}"
            assert PASSWORD not in text and quoted not in text and "Wr0ng" not in text, why
            assert ":***@" in text, why  # the message names the (redacted) source
            # raised "from None": a traceback never prints the driver's own exception
            assert err.value.__cause__ is None and err.value.__suppress_context__, why
        list(SqlSource(maria.url).read("orders"))
    assert "reading mysql://" in caplog.text
    assert PASSWORD not in caplog.text and quoted not in caplog.text


def test_a_stored_encrypted_url_opens_the_source(maria):
    token = secrets.encrypt(maria.url, "app-secret-key-for-tests")
    assert PASSWORD not in token and PASSWORD.replace("&", "%26") not in token
    src = SqlSource(secrets.decrypt(token, "app-secret-key-for-tests"))
    assert "orders" in src.tables() and PASSWORD not in repr(src)


def test_an_unknown_table_or_scheme_is_a_clear_error(lite):
    with pytest.raises(SqlSourceError, match=r"no table named 'ordrs'.*orders"):
        list(SqlSource(lite.url).read("ordrs"))
    with pytest.raises(SqlSourceError, match="unknown database kind 'oracle'"):
        SqlSource("oracle://scott:tiger@db/orcl")
    with pytest.raises(SqlSourceError, match="no SQLite database file"):
        SqlSource("sqlite:////nonexistent/shop.db").tables()


def test_invalid_sql_names_the_position():
    with pytest.raises(ReadOnlyQueryError, match="line 1"):
        check_read_only("SELECT FROM WHERE (", "postgres")


def test_a_bad_read_fails_at_the_call_not_at_the_first_chunk(lite):
    src = SqlSource(lite.url)
    with pytest.raises(ReadOnlyQueryError):
        src.read(query="DROP TABLE orders")
    with pytest.raises(SqlSourceError, match="either a table or a query"):
        src.read("orders", query="SELECT 1")


def test_a_cursor_saved_as_json_works_as_since(db):
    # The refresh pipeline stores the cursor in JSON: a datetime as its ISO string, a number as is.
    src = SqlSource(db.url)
    list(src.read(db.table, cursor_column="id"))
    assert type(src.last_cursor) is int and json.loads(json.dumps(src.last_cursor)) == 25
    assert list(pd.concat(src.read(db.table, cursor_column="id", since=22))["id"]) == [23, 24, 25]

    list(src.read(db.table, cursor_column="updated_at"))
    saved = json.loads(json.dumps(str(src.last_cursor) if db.engine == "sqlite" else src.last_cursor.isoformat()))
    by_time = pd.concat(
        src.read(
            db.table,
            cursor_column="updated_at",
            since=ROWS[22][3].isoformat() if db.engine == "postgres" else str(ROWS[22][3].replace(tzinfo=None)),
        )
    )
    assert list(by_time["id"]) == [24, 25]
    assert list(src.read(db.table, cursor_column="updated_at", since=saved)) == []
