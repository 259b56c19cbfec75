"""User expressions in KPI specs, parsed with SQLGlot and checked against a whitelist.

A metric's ``expr`` and ``filter`` are DuckDB-flavoured SQL snippets over one dataset's
columns; a derived KPI's ``formula`` is arithmetic over other KPI ids. Both end up
inside generated SQL, so every node of the parsed tree must be on a whitelist: a
formula can never read another table, call a table function or run a statement.
Anything not explicitly allowed is rejected with an ``ExpressionError`` naming it.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping

import sqlglot
from sqlglot import exp

from headway.engine.canonical import FieldType
from headway.engine.errors import ExpressionError

MAX_LENGTH = 4000
"""Longer snippets are rejected before parsing: no honest formula needs more."""

_NON_DETERMINISTIC: dict[type[exp.Expr], str] = {
    exp.CurrentDate: "CURRENT_DATE",
    exp.CurrentTimestamp: "CURRENT_TIMESTAMP",
    exp.CurrentTime: "CURRENT_TIME",
    exp.CurrentDatetime: "CURRENT_DATETIME",
    exp.Rand: "RANDOM",
}
_NON_DETERMINISTIC_NAMES = frozenset({"now", "today", "random", "uuid", "gen_random_uuid", "get_current_timestamp"})

# Bare words DuckDB evaluates as functions when the table has no column of that name.
_BARE_FUNCTION_NAMES = frozenset(
    {"user", "current_role", "current_schema", "current_schemas", "current_user", "session_user", "current_catalog"}
)

# Functions without a dedicated SQLGlot class that parse as exp.Anonymous.
_ANONYMOUS_FUNCTIONS = frozenset({"date_part", "datepart"})

_STRUCTURE: frozenset[type[exp.Expr]] = frozenset(
    {exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren}
)
_ARITHMETIC: frozenset[type[exp.Expr]] = frozenset({exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg})
_COMPARISON: frozenset[type[exp.Expr]] = frozenset(
    {exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.NullSafeEQ, exp.NullSafeNEQ}
)
_LOGIC: frozenset[type[exp.Expr]] = frozenset(
    {exp.And, exp.Or, exp.Not, exp.Is, exp.Between, exp.In, exp.Like, exp.ILike}
)
_CONDITIONAL: frozenset[type[exp.Expr]] = frozenset({exp.Case, exp.If, exp.Coalesce, exp.Nullif})
_SCALAR_FUNCTIONS: frozenset[type[exp.Expr]] = frozenset(
    {
        exp.Abs,
        exp.Round,
        exp.Floor,
        exp.Ceil,
        exp.Least,
        exp.Greatest,
        exp.Lower,
        exp.Upper,
        exp.Trim,
        exp.Length,
    }
)
_DATE_FUNCTIONS: frozenset[type[exp.Expr]] = frozenset(
    {exp.TimestampTrunc, exp.DateTrunc, exp.Extract, exp.DateDiff, exp.TimeToUnix, exp.Interval}
)
_CASTS: frozenset[type[exp.Expr]] = frozenset({exp.Cast, exp.TryCast, exp.DataType, exp.DataTypeParam})

ALLOWED_NODES: frozenset[type[exp.Expr]] = (
    _STRUCTURE
    | _ARITHMETIC
    | _COMPARISON
    | _LOGIC
    | _CONDITIONAL
    | _SCALAR_FUNCTIONS
    | _DATE_FUNCTIONS
    | _CASTS
    | {exp.Var, exp.Anonymous}
)
"""Node types an ``expr`` / ``filter`` may contain (exact types: subclasses are not implied)."""

FORMULA_NODES: frozenset[type[exp.Expr]] = frozenset(
    {exp.Column, exp.Identifier, exp.Literal, exp.Null, exp.Paren}
    | _ARITHMETIC
    | _COMPARISON
    | {exp.And, exp.Or, exp.Not, exp.Is}
    | _CONDITIONAL
    | {exp.Abs, exp.Least, exp.Greatest, exp.Round}
)
"""Node types a derived ``formula`` may contain."""

EXPRESSION_FUNCTIONS = (
    "ABS",
    "ROUND",
    "FLOOR",
    "CEIL",
    "LEAST",
    "GREATEST",
    "LOWER",
    "UPPER",
    "TRIM",
    "LENGTH",
    "COALESCE",
    "NULLIF",
    "CAST",
    "TRY_CAST",
    "DATE_TRUNC",
    "DATE_PART",
    "EXTRACT",
    "DATE_DIFF",
    "EPOCH",
)
"""What an author may call in an ``expr`` / ``filter``, for error messages and docs."""
FORMULA_FUNCTIONS = ("ABS", "LEAST", "GREATEST", "COALESCE", "NULLIF", "ROUND")

_CAST_TYPES = frozenset(
    {
        exp.DataType.Type.TINYINT,
        exp.DataType.Type.SMALLINT,
        exp.DataType.Type.INT,
        exp.DataType.Type.BIGINT,
        exp.DataType.Type.INT128,
        exp.DataType.Type.FLOAT,
        exp.DataType.Type.DOUBLE,
        exp.DataType.Type.DECIMAL,
        exp.DataType.Type.VARCHAR,
        exp.DataType.Type.TEXT,
        exp.DataType.Type.BOOLEAN,
        exp.DataType.Type.DATE,
        exp.DataType.Type.TIMESTAMP,
        exp.DataType.Type.TIMESTAMPNTZ,
        exp.DataType.Type.TIMESTAMPTZ,
        exp.DataType.Type.INTERVAL,
    }
)
_INTEGER_TYPES = frozenset(
    {
        exp.DataType.Type.TINYINT,
        exp.DataType.Type.SMALLINT,
        exp.DataType.Type.INT,
        exp.DataType.Type.BIGINT,
        exp.DataType.Type.INT128,
    }
)
_DECIMAL_TYPES = frozenset({exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE, exp.DataType.Type.DECIMAL})
_STRING_TYPES = frozenset({exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT})
_TIMESTAMP_TYPES = frozenset(
    {exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.TIMESTAMPTZ}
)

_STATEMENT_NAMES = (
    "DDL",
    "DML",
    "Command",
    "Drop",
    "Create",
    "Insert",
    "Delete",
    "Update",
    "Merge",
    "Copy",
    "Attach",
    "Detach",
    "Pragma",
    "Set",
    "Use",
    "Alter",
    "Transaction",
    "Commit",
    "Rollback",
    "Describe",
    "Show",
    "Install",
    "Summarize",
    "TruncateTable",
)
_STATEMENTS: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, name) for name in _STATEMENT_NAMES if isinstance(getattr(exp, name, None), type)
)
_SUBQUERIES: tuple[type[exp.Expr], ...] = (exp.Query, exp.Exists, exp.Subquery, exp.Any, exp.All)


class UnknownColumnError(ExpressionError):
    """An expression names a column the dataset does not have."""

    def __init__(self, column: str, known: Iterable[str]):
        self.column = column
        self.known = sorted(known)
        super().__init__(unknown_name_message("column", column, self.known))


class UnknownKpiError(ExpressionError):
    """A derived formula names a KPI that does not exist."""

    def __init__(self, kpi: str, known: Iterable[str]):
        self.kpi = kpi
        self.known = sorted(known)
        super().__init__(unknown_name_message("KPI", kpi, self.known))


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt name, if any is close enough."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_name_message(what: str, name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    message = f"unknown {what} '{name}'"
    guess = did_you_mean(name, known)
    if guess:
        message += f"; did you mean '{guess}'?"
    shown = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
    return f"{message} (known: {shown or 'none'})"


def _snippet(node: exp.Expr) -> str:
    try:
        text = node.sql(dialect="duckdb")
    except Exception:  # rendering an odd node must never mask the real error
        text = node.key.upper()
    return text if len(text) <= 80 else text[:77] + "..."


def _parse_one(text: str, what: str) -> exp.Expr:
    if not isinstance(text, str):
        raise ExpressionError(f"{what} must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"{what} is too long ({len(text)} characters, at most {MAX_LENGTH})")
    try:
        parsed = sqlglot.parse(text, read="duckdb")
    except sqlglot.ParseError as exc:
        detail = exc.errors[0]["description"] if exc.errors else str(exc)
        line = exc.errors[0].get("line") if exc.errors else None
        col = exc.errors[0].get("col") if exc.errors else None
        where = f" at line {line}, column {col}" if line and col else ""
        raise ExpressionError(f"cannot parse {what} {text!r}{where}: {detail}") from exc
    except Exception as exc:  # SQLGlot's tokenizer and parser raise a variety of errors on garbage
        raise ExpressionError(f"cannot parse {what} {text!r}: {exc}") from exc
    statements = [s for s in parsed if s is not None]
    if not statements:
        raise ExpressionError(f"{what} is empty")
    if len(statements) > 1:
        second = _snippet(statements[1])
        raise ExpressionError(f"{what} must be a single expression, found {len(statements)} statements: {second!r}")
    root = statements[0]
    for node in root.walk():
        # Comments are dropped so nothing user-written is ever rendered outside a literal.
        node.comments = None
    return root


def _function_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    if isinstance(node, exp.Func):
        return node.sql_name()
    return node.key.upper()


def _reject(node: exp.Expr, allowed: frozenset[type[exp.Expr]], what: str) -> ExpressionError:
    """Why ``node`` is not allowed, in words a KPI author understands."""
    text = _snippet(node)
    kind = type(node)
    if kind in _NON_DETERMINISTIC:
        return ExpressionError(
            f"{_NON_DETERMINISTIC[kind]} is not allowed in {what}: it changes with the day the KPI is computed, "
            f"so past values would not be reproducible (found {text!r})"
        )
    if isinstance(node, exp.Anonymous) and node.name.lower() in _NON_DETERMINISTIC_NAMES:
        return ExpressionError(f"{node.name.upper()}() is not allowed in {what}: it is non-deterministic ({text!r})")
    if isinstance(node, _STATEMENTS):
        return ExpressionError(f"SQL statements are not allowed in {what}: found {node.key.upper()} in {text!r}")
    if isinstance(node, _SUBQUERIES):
        return ExpressionError(f"subqueries are not allowed in {what}: found {text!r}")
    if isinstance(node, exp.Table):
        return ExpressionError(f"table references are not allowed in {what}: found {text!r}")
    if isinstance(node, exp.Star):
        return ExpressionError(f"'*' is not allowed in {what}: name the columns (found {text!r})")
    if isinstance(node, exp.Window):
        return ExpressionError(f"window functions are not allowed in {what}: found {text!r}")
    if isinstance(node, exp.AggFunc):
        return ExpressionError(
            f"aggregate function {_function_name(node)} is not allowed in {what}: "
            f"the metric's agg does the aggregating (found {text!r})"
        )
    if isinstance(node, exp.Alias):
        return ExpressionError(f"aliases are not allowed in {what}: found {text!r}")
    if isinstance(node, exp.Placeholder):
        return ExpressionError(f"parameters are not allowed in {what}: found {text!r}")
    if isinstance(node, exp.Func):
        return ExpressionError(
            f"function {_function_name(node)} is not allowed in {what} (found {text!r}); "
            f"allowed functions: {', '.join(FORMULA_FUNCTIONS if allowed is FORMULA_NODES else EXPRESSION_FUNCTIONS)}"
        )
    if node.parent is None and not isinstance(node, exp.Condition):
        # Whatever else parses on its own (LOAD, CALL, VACUUM, ...) is a statement.
        return ExpressionError(f"SQL statements are not allowed in {what}: found {text!r}")
    return ExpressionError(f"{node.key.upper()} is not allowed in {what}: found {text!r}")


def _is_constant(node: exp.Expr) -> bool:
    return not any(isinstance(n, exp.Column) for n in node.walk())


def _check_node(node: exp.Expr, allowed: frozenset[type[exp.Expr]], what: str) -> None:
    if type(node) not in allowed:
        raise _reject(node, allowed, what)
    text = _snippet(node)
    if isinstance(node, exp.Column):
        if not isinstance(node.this, exp.Identifier):
            raise _reject(node.this, allowed, what)
        if node.table or node.db or node.catalog:
            raise ExpressionError(
                f"qualified names are not allowed in {what}: use the bare column name instead of {text!r}"
            )
    elif isinstance(node, exp.Identifier):
        if not isinstance(node.parent, exp.Column):
            raise ExpressionError(f"unexpected name in {what}: {text!r}")
    elif isinstance(node, exp.Anonymous):
        if node.name.lower() not in _ANONYMOUS_FUNCTIONS:
            raise _reject(node, allowed, what)
    elif isinstance(node, exp.Var):
        # A bare word is only a date part: DATE_DIFF('day', ...), EXTRACT(year FROM ...), INTERVAL 1 DAY.
        parent = node.parent
        if not (
            parent is not None
            and (node.arg_key == "unit" or (isinstance(parent, exp.Extract) and node.arg_key == "this"))
            and str(node.name).replace("_", "").isalpha()
        ):
            raise ExpressionError(f"unexpected keyword {text!r} in {what}")
    elif isinstance(node, exp.In):
        if node.args.get("query") is not None or node.args.get("unnest") is not None:
            raise ExpressionError(f"subqueries are not allowed in {what}: found {text!r}")
        if not all(_is_constant(item) for item in node.expressions):
            raise ExpressionError(f"IN takes a list of literal values only in {what}: found {text!r}")
    elif isinstance(node, exp.DataType):
        if node.this not in _CAST_TYPES or node.args.get("nested"):
            raise ExpressionError(f"cast to {text} is not allowed in {what}: cast to a simple type only")
    elif isinstance(node, exp.DataTypeParam) and not isinstance(node.this, exp.Literal):
        raise ExpressionError(f"unexpected type parameter {text!r} in {what}")


def _check_tree(root: exp.Expr, allowed: frozenset[type[exp.Expr]], what: str) -> exp.Expression:
    for node in root.walk():
        _check_node(node, allowed, what)
    if not isinstance(root, exp.Expression):  # every whitelisted node type is an Expression
        raise _reject(root, allowed, what)
    return root


def check_columns(expr: exp.Expr, columns: Mapping[str, FieldType]) -> None:
    """Raise ``UnknownColumnError`` for the first column not in ``columns``."""
    for name in sorted(referenced_columns(expr)):
        if name not in columns:
            raise UnknownColumnError(name, columns)


def parse_expression(text: str, columns: Mapping[str, FieldType] | None = None) -> exp.Expression:
    """Parse an ``expr`` or ``filter`` snippet and check it against the whitelist.

    With ``columns``, every column it names must be one of them.
    """
    root = _check_tree(_parse_one(text, "expression"), ALLOWED_NODES, "an expression")
    if columns is not None:
        check_columns(root, columns)
    else:
        for name in sorted(referenced_columns(root)):
            if name.lower() in _BARE_FUNCTION_NAMES:
                raise ExpressionError(
                    f"'{name}' cannot be used as a column name without the dataset's columns: "
                    f"DuckDB would read it as the function {name.upper()}"
                )
    return root


def referenced_columns(expr: exp.Expr) -> set[str]:
    return {str(c.name) for c in expr.find_all(exp.Column)}


def parse_formula(text: str, kpi_ids: Collection[str] | None = None) -> exp.Expression:
    """Parse a derived KPI's formula: arithmetic over other KPIs, named by id."""
    root = _check_tree(_parse_one(text, "formula"), FORMULA_NODES, "a formula")
    for node in root.walk():
        if isinstance(node, exp.Literal) and node.is_string:
            raise ExpressionError(f"text literals are not allowed in a formula: found {_snippet(node)!r}")
    if kpi_ids is not None:
        for name in sorted(referenced_kpis(root)):
            if name not in kpi_ids:
                raise UnknownKpiError(name, kpi_ids)
    return root


def referenced_kpis(expr: exp.Expr) -> set[str]:
    return {str(c.name) for c in expr.find_all(exp.Column)}


# --- types ----------------------------------------------------------------------------


def datatype_field_type(dtype: exp.DataType) -> FieldType | None:
    if dtype.this in _INTEGER_TYPES:
        return FieldType.INTEGER
    if dtype.this in _DECIMAL_TYPES:
        return FieldType.DECIMAL
    if dtype.this in _STRING_TYPES:
        return FieldType.STRING
    if dtype.this is exp.DataType.Type.BOOLEAN:
        return FieldType.BOOLEAN
    if dtype.this is exp.DataType.Type.DATE:
        return FieldType.DATE
    if dtype.this in _TIMESTAMP_TYPES:
        return FieldType.TIMESTAMP
    return None


def _numeric(types: list[FieldType | None], *, integer_ok: bool = True) -> FieldType | None:
    if any(t is None or not t.is_numeric for t in types):
        return None
    if integer_ok and all(t is FieldType.INTEGER for t in types):
        return FieldType.INTEGER
    return FieldType.DECIMAL


def _first_known(types: Iterable[FieldType | None]) -> FieldType | None:
    return next((t for t in types if t is not None), None)


def infer_type(expr: exp.Expr, columns: Mapping[str, FieldType]) -> FieldType | None:
    """Best-effort type of a whitelisted expression; None when it cannot be told."""
    node = expr

    def sub(child: exp.Expr | None) -> FieldType | None:
        return infer_type(child, columns) if isinstance(child, exp.Expr) else None

    if isinstance(node, exp.Paren):
        return sub(node.this)
    if isinstance(node, exp.Column):
        return columns.get(str(node.name))
    if isinstance(node, exp.Literal):
        if node.is_string:
            return FieldType.STRING
        return FieldType.INTEGER if node.is_int else FieldType.DECIMAL
    if isinstance(node, exp.Boolean):
        return FieldType.BOOLEAN
    if isinstance(node, (exp.Cast, exp.TryCast)):
        return datatype_field_type(node.to)
    if isinstance(node, tuple(_COMPARISON | _LOGIC)):
        return FieldType.BOOLEAN
    if isinstance(node, exp.Neg | exp.Abs | exp.Floor | exp.Ceil):
        return _numeric([sub(node.this)])
    if isinstance(node, exp.Round):
        return _numeric([sub(node.this)])
    if isinstance(node, exp.Add | exp.Sub):
        left, right = sub(node.this), sub(node.expression)
        if isinstance(node.expression, exp.Interval) and left is not None and left.is_temporal:
            return FieldType.TIMESTAMP
        return _numeric([left, right])
    if isinstance(node, exp.Mul | exp.Mod):
        return _numeric([sub(node.this), sub(node.expression)])
    if isinstance(node, exp.Div):
        return _numeric([sub(node.this), sub(node.expression)], integer_ok=False)
    if isinstance(node, exp.Case):
        branches = [sub(i.args.get("true")) for i in node.args.get("ifs") or []]
        return _first_known([*branches, sub(node.args.get("default"))])
    if isinstance(node, exp.If):
        return _first_known([sub(node.args.get("true")), sub(node.args.get("false"))])
    if isinstance(node, exp.Coalesce | exp.Least | exp.Greatest):
        return _first_known([sub(node.this), *(sub(e) for e in node.expressions)])
    if isinstance(node, exp.Nullif):
        return sub(node.this)
    if isinstance(node, exp.Lower | exp.Upper | exp.Trim):
        return FieldType.STRING
    if isinstance(node, exp.Length | exp.DateDiff | exp.Extract):
        return FieldType.INTEGER
    if isinstance(node, exp.Anonymous) and node.name.lower() in _ANONYMOUS_FUNCTIONS:
        return FieldType.INTEGER
    if isinstance(node, exp.TimeToUnix):
        return FieldType.DECIMAL
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        inner = sub(node.this)
        return inner if inner is not None and inner.is_temporal else FieldType.TIMESTAMP
    return None
