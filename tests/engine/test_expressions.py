"""User expressions: what the whitelist lets through, and what it stops (with a useful message)."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from headway.engine.canonical import CANONICAL, FieldType
from headway.engine.errors import ExpressionError
from headway.engine.expressions import (
    ALLOWED_NODES,
    FORMULA_NODES,
    UnknownColumnError,
    UnknownKpiError,
    infer_type,
    parse_expression,
    parse_formula,
    referenced_columns,
    referenced_kpis,
)

ORDERS = CANONICAL["orders"].column_types()
_DUCKDB_TYPES = {
    FieldType.STRING: "VARCHAR",
    FieldType.INTEGER: "BIGINT",
    FieldType.DECIMAL: "DOUBLE",
    FieldType.BOOLEAN: "BOOLEAN",
    FieldType.DATE: "DATE",
    FieldType.TIMESTAMP: "TIMESTAMP",
}


@pytest.fixture(scope="module")
def orders_db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    columns = ", ".join(f"{name} {_DUCKDB_TYPES[t]}" for name, t in ORDERS.items())
    con.execute(f"CREATE TABLE orders ({columns})")
    return con


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("CASE WHEN status = 'refunded' THEN total_amount ELSE 0 END", {"status", "total_amount"}),
        ("COALESCE(discount_amount, 0)", {"discount_amount"}),
        ("DATE_DIFF('day', ordered_at, fulfilled_at)", {"ordered_at", "fulfilled_at"}),
        ("status IN ('a','b')", {"status"}),
        ("status NOT IN ('cancelled', 'refunded') AND total_amount > 0", {"status", "total_amount"}),
        ("total_amount - COALESCE(cost_amount, 0)", {"total_amount", "cost_amount"}),
        ("-total_amount % 7", {"total_amount"}),
        ("delivered_at IS NOT NULL", {"delivered_at"}),
        ("total_amount BETWEEN 10 AND 20", {"total_amount"}),
        ("channel ILIKE 'web%' OR channel LIKE 'shop%'", {"channel"}),
        ("NOT (region <> 'north')", {"region"}),
        ("ROUND(ABS(total_amount) / NULLIF(GREATEST(cost_amount, 1), 0), 2)", {"total_amount", "cost_amount"}),
        ("LEAST(FLOOR(total_amount), CEIL(cost_amount))", {"total_amount", "cost_amount"}),
        ("LENGTH(TRIM(LOWER(channel))) > 0 AND UPPER(region) = 'EU'", {"channel", "region"}),
        ("CAST(total_amount AS DECIMAL(10, 2))", {"total_amount"}),
        ("TRY_CAST(order_id AS INTEGER)", {"order_id"}),
        ("DATE_TRUNC('month', ordered_at) = DATE '2024-01-01'", {"ordered_at"}),
        ("DATE_PART('year', ordered_at) = 2024", {"ordered_at"}),
        ("EXTRACT(dow FROM ordered_at) IN (0, 6)", {"ordered_at"}),
        ("EPOCH(delivered_at) - EPOCH(ordered_at)", {"delivered_at", "ordered_at"}),
        ("delivered_at <= promised_at + INTERVAL 1 DAY", {"delivered_at", "promised_at"}),
        ("ordered_at >= TIMESTAMP '2024-01-01 00:00:00'", {"ordered_at"}),
        ("DATEDIFF('hour', ordered_at, delivered_at) < 48", {"ordered_at", "delivered_at"}),
        ("status IS NULL OR status = 'placed'", {"status"}),
        ("true", set()),
    ],
)
def test_allowed_expressions_parse_and_round_trip(
    text: str, columns: set[str], orders_db: duckdb.DuckDBPyConnection
) -> None:
    parsed = parse_expression(text, ORDERS)
    assert referenced_columns(parsed) == columns
    rendered = parsed.sql(dialect="duckdb")
    assert parse_expression(rendered, ORDERS).sql(dialect="duckdb") == rendered
    # DuckDB itself accepts the rendered snippet over the canonical table.
    assert orders_db.execute(f"SELECT {rendered} FROM orders").fetchall() == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1; DROP TABLE orders", ["single expression", "DROP TABLE orders"]),
        ("total_amount; DELETE FROM orders", ["single expression", "DELETE"]),
        ("(SELECT 1)", ["subqueries are not allowed", "SELECT 1"]),
        ("SELECT total_amount FROM orders", ["subqueries are not allowed"]),
        ("total_amount IN (SELECT x FROM t)", ["subqueries are not allowed", "SELECT x FROM t"]),
        ("EXISTS (SELECT 1 FROM customers)", ["subqueries are not allowed"]),
        ("total_amount = ANY (SELECT 1)", ["subqueries are not allowed"]),
        ("read_csv('/etc/passwd')", ["function READ_CSV is not allowed", "/etc/passwd"]),
        ("read_parquet('s3://bucket/x.parquet')", ["function READ_PARQUET is not allowed"]),
        ("pg_read_file('x')", ["function PG_READ_FILE is not allowed"]),
        ("getenv('HOME')", ["function GETENV is not allowed"]),
        ("current_setting('threads')", ["function CURRENT_SETTING is not allowed"]),
        ("query_table('customers')", ["function QUERY_TABLE is not allowed"]),
        ("my_udf(total_amount)", ["function MY_UDF is not allowed", "allowed functions: ABS"]),
        ("other_table.col", ["qualified names are not allowed", "other_table.col"]),
        ("main.orders.total_amount", ["qualified names are not allowed", "main.orders.total_amount"]),
        ("CURRENT_DATE", ["CURRENT_DATE is not allowed", "reproducible"]),
        ("ordered_at > CURRENT_TIMESTAMP", ["CURRENT_TIMESTAMP is not allowed"]),
        ("ordered_at > now()", ["NOW() is not allowed", "non-deterministic"]),
        ("random() < 0.5", ["RANDOM is not allowed"]),
        ("SUM(total_amount)", ["aggregate function SUM is not allowed", "the metric's agg"]),
        ("COUNT(*)", ["aggregate function COUNT is not allowed"]),
        ("AVG(total_amount) OVER ()", ["window functions are not allowed"]),
        ("*", ["'*' is not allowed"]),
        ("orders.*", ["'*' is not allowed"]),
        ("DROP TABLE orders", ["SQL statements are not allowed", "DROP"]),
        ("ATTACH 'other.db'", ["SQL statements are not allowed"]),
        ("COPY orders TO '/tmp/x.csv'", ["SQL statements are not allowed"]),
        ("PRAGMA database_list", ["SQL statements are not allowed"]),
        ("SET threads = 1", ["SQL statements are not allowed"]),
        ("INSERT INTO orders VALUES (1)", ["SQL statements are not allowed"]),
        ("CREATE TABLE x (a INT)", ["SQL statements are not allowed"]),
        ("UPDATE orders SET total_amount = 0", ["SQL statements are not allowed"]),
        ("LOAD httpfs", ["SQL statements are not allowed"]),
        ("status IN (channel, region)", ["IN takes a list of literal values only"]),
        ("CAST(status AS STRUCT(a INT))", ["cast to STRUCT"]),
        ("total_amount AS amount", ["aliases are not allowed"]),
        ("$1", ["parameters are not allowed"]),
        ("", ["empty"]),
        ("total_amount +", ["cannot parse expression"]),
        ("((", ["cannot parse expression"]),
    ],
)
def test_forbidden_expressions_are_rejected_with_a_message(text: str, expected: list[str]) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    for fragment in expected:
        assert fragment.lower() in str(info.value).lower()


def test_unknown_column_names_it_and_suggests_the_closest() -> None:
    with pytest.raises(UnknownColumnError) as info:
        parse_expression("totl_amount * 2", ORDERS)
    message = str(info.value)
    assert "unknown column 'totl_amount'" in message
    assert "did you mean 'total_amount'" in message
    assert "known: " in message and "order_id" in message
    assert info.value.column == "totl_amount"


def test_columns_are_only_checked_when_given() -> None:
    assert referenced_columns(parse_expression("anything_at_all + 1")) == {"anything_at_all"}


@pytest.mark.parametrize("word", ["user", "current_schema", "current_role"])
def test_bare_words_duckdb_reads_as_functions(word: str) -> None:
    with pytest.raises(ExpressionError, match="would read it as the function"):
        parse_expression(f"{word} = 'x'")
    # A dataset that really has such a column may use it.
    assert referenced_columns(parse_expression(word, {word: FieldType.STRING})) == {word}


def test_comments_are_dropped() -> None:
    parsed = parse_expression("total_amount /* DROP TABLE x; */ -- tail */ DROP TABLE y")
    assert parsed.sql(dialect="duckdb") == "total_amount"


def test_too_long_expression_is_rejected() -> None:
    with pytest.raises(ExpressionError, match="too long"):
        parse_expression(" + ".join(["total_amount"] * 2000))


@pytest.mark.parametrize(
    ("text", "kpis"),
    [
        ("revenue - cogs", {"revenue", "cogs"}),
        ("(revenue - cogs) / NULLIF(revenue, 0)", {"revenue", "cogs"}),
        ("ROUND(ABS(revenue) * 1.5, 2)", {"revenue"}),
        ("LEAST(revenue, GREATEST(cogs, 0))", {"revenue", "cogs"}),
        ("COALESCE(revenue, 0) - -cogs", {"revenue", "cogs"}),
        ("CASE WHEN revenue > 0 AND cogs IS NOT NULL THEN cogs / revenue ELSE NULL END", {"revenue", "cogs"}),
    ],
)
def test_allowed_formulas(text: str, kpis: set[str]) -> None:
    parsed = parse_formula(text, ["revenue", "cogs"])
    assert referenced_kpis(parsed) == kpis
    rendered = parsed.sql(dialect="duckdb")
    assert parse_formula(rendered).sql(dialect="duckdb") == rendered


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("revenue + 'x'", "text literals are not allowed"),
        ("LOWER(revenue)", "function LOWER is not allowed in a formula"),
        ("DATE_DIFF('day', revenue, cogs)", "is not allowed in a formula"),
        ("CAST(revenue AS INT)", "function CAST is not allowed"),
        ("revenue IN (1, 2)", "IN is not allowed"),
        ("SUM(revenue)", "aggregate function SUM"),
        ("revenue; DROP TABLE orders", "single expression"),
        ("(SELECT revenue FROM kpis)", "subqueries are not allowed"),
        ("orders.revenue", "qualified names are not allowed"),
        ("read_csv('x')", "READ_CSV"),
    ],
)
def test_forbidden_formulas(text: str, expected: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_formula(text)
    assert expected.lower() in str(info.value).lower()


def test_formula_unknown_kpi() -> None:
    with pytest.raises(UnknownKpiError) as info:
        parse_formula("revnue - cogs", ["revenue", "cogs"])
    assert "unknown KPI 'revnue'; did you mean 'revenue'?" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("total_amount", FieldType.DECIMAL),
        ("status", FieldType.STRING),
        ("ordered_at", FieldType.TIMESTAMP),
        ("total_amount * 2", FieldType.DECIMAL),
        ("1 + 2", FieldType.INTEGER),
        ("1 / 2", FieldType.DECIMAL),
        ("'x'", FieldType.STRING),
        ("status = 'x'", FieldType.BOOLEAN),
        ("CASE WHEN status = 'refunded' THEN total_amount ELSE 0 END", FieldType.DECIMAL),
        ("CASE WHEN total_amount > 0 THEN NULL ELSE status END", FieldType.STRING),
        ("COALESCE(discount_amount, 0)", FieldType.DECIMAL),
        ("DATE_DIFF('day', ordered_at, fulfilled_at)", FieldType.INTEGER),
        ("CAST(order_id AS INTEGER)", FieldType.INTEGER),
        ("CAST(ordered_at AS DATE)", FieldType.DATE),
        ("UPPER(status)", FieldType.STRING),
        ("LENGTH(status)", FieldType.INTEGER),
        ("DATE_TRUNC('month', ordered_at)", FieldType.TIMESTAMP),
        ("ordered_at + INTERVAL 1 DAY", FieldType.TIMESTAMP),
        ("(total_amount)", FieldType.DECIMAL),
        ("status * 2", None),
        ("NULL", None),
    ],
)
def test_infer_type(text: str, expected: FieldType | None) -> None:
    assert infer_type(parse_expression(text), ORDERS) == expected


def _is_safe(parsed: exp.Expr, allowed: frozenset[type[exp.Expr]]) -> bool:
    return all(
        type(node) in allowed and not isinstance(node, exp.Select | exp.Table | exp.Query) for node in parsed.walk()
    )


# fmt: off
_TOKENS = [
    "total_amount", "status", "x.y", "(", ")", ",", ";", "+", "-", "*", "/", "=", "'a'", "1", "2.5",
    "SELECT", "FROM", "orders", "IN", "AND", "OR", "NOT", "CASE", "WHEN", "THEN", "ELSE", "END",
    "read_csv", "getenv", "COALESCE", "SUM", "DATE_DIFF", "'day'", "DROP", "TABLE", "CAST", "AS",
    "INT", "OVER", "EXISTS", "NULL", "IS", "::", "[", "]", "$1", "--", "/*", "*/", "ATTACH", "INTERVAL",
]
# fmt: on
_SQLISH = st.lists(st.sampled_from(_TOKENS), max_size=12).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), _SQLISH))
def test_random_input_is_rejected_or_safe(text: str) -> None:
    try:
        parsed = parse_expression(text)
    except ExpressionError:
        pass
    else:
        assert _is_safe(parsed, ALLOWED_NODES), parsed.sql(dialect="duckdb")
    try:
        formula = parse_formula(text)
    except ExpressionError:
        pass
    else:
        assert _is_safe(formula, FORMULA_NODES), formula.sql(dialect="duckdb")
