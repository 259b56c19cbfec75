"""Validation in one SQL pass: every staged row is typed, checked, and either valid or given its reasons.

The statements built here turn ``_hw_rows`` (text cells) into ``_hw_clean``: one typed column
per target, ``_skip`` (why a row is not data: a repeated header or a totals row) and ``_bad``
(some check failed), and ``_hw_problems``: one ``{column, reason}`` per failed check of a
failing row, plus duplicate keys. Nothing is decided row by row in Python, so a million
rows cost a small multiple of what DuckDB's own CSV reader costs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from headway.engine.canonical import FieldType
from headway.engine.warehouse import STORAGE_TYPES, Dialect, quote_ident

NON_NEGATIVE = frozenset(
    {
        "total_amount",
        "cost_amount",
        "discount_amount",
        "quantity",
        "unit_price",
        "unit_cost",
        "mrr",
        "lead_time_days",
        "on_hand_qty",
        "on_hand_value",
        "spend",
        "impressions",
        "clicks",
        "sessions",
        "users",
        "amount",
        "fte",
        "hours",
        "units_produced",
        "units_defective",
        "distance_km",
        "fuel_litres",
        "cost",
        "covers",
        "check_amount",
        "budget",
        "actual_cost",
        "wait_seconds",
    }
)
"""Canonical fields that cannot be negative (a negative quantity or amount is an impossible value)."""

TOTALS_WORDS = (
    r"(?i)^\s*(grand\s+)?(total|totals|sum|summe|gesamt|gesamtsumme|insgesamt|endsumme|total general|"
    r"total général|totaux|totale|suma|somme|totaal|som)\b.*$"
)
"""A cell that marks a totals row (only the file's last data row is taken as one)."""


@dataclass(frozen=True)
class Target:
    """One column of the dataset: where it comes from and what it must hold."""

    name: str
    source: str
    index: int
    type: FieldType
    required: bool = False
    values: tuple[str, ...] = ()
    key: bool = False

    @property
    def non_negative(self) -> bool:
        return self.name in NON_NEGATIVE


@dataclass(frozen=True)
class Rules:
    """How values are read and which are plausible. ``None``: detected (decimal, date order) or the
    default (dates before the start of the year three years from now)."""

    decimal: str | None = None
    date_order: str | None = None
    min_date: dt.date = dt.date(1950, 1, 1)
    max_date: dt.date | None = None


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _typed(t: Target, rules: Rules) -> str:
    c = f"c{t.index}"
    if t.type is FieldType.STRING:
        return f"lower(hw_text({c}))" if t.values else f"hw_text({c})"
    if t.type is FieldType.BOOLEAN:
        return f"hw_bool({c})"
    if t.type.is_temporal:
        ts = f"hw_ts_{rules.date_order}({c})"
        return f"CAST({ts} AS DATE)" if t.type is FieldType.DATE else ts
    number = f"hw_num({c}, {'true' if rules.decimal == 'comma' else 'false'})"
    if t.type is FieldType.INTEGER:
        return f"TRY_CAST(CASE WHEN {number} % 1 = 0 THEN {number} END AS BIGINT)"
    return f"CASE WHEN isfinite({number}) THEN {number} END"


def _check(t: Target, ok: str, reason: str) -> tuple[str, str]:
    """A check: a condition that is true (never NULL) for a good value, and the problem it reports otherwise."""
    return ok, f"CASE WHEN NOT ({ok}) THEN {{'column': {_lit(t.source)}, 'reason': {_lit(reason)}}} END"


def _checks(t: Target, rules: Rules) -> list[tuple[str, str]]:
    v, present = quote_ident(f"_t{t.index}"), quote_ident(f"_p{t.index}")
    order = "day-month-year" if rules.date_order == "dmy" else "month-day-year"
    not_parsed = {
        FieldType.STRING: None,
        FieldType.BOOLEAN: "not a yes/no value",
        FieldType.DECIMAL: "not a number",
        FieldType.INTEGER: "not a whole number",
        FieldType.DATE: f"not a date ({order})",
        FieldType.TIMESTAMP: f"not a date ({order})",
    }[t.type]
    out = []
    if not_parsed:
        out.append(_check(t, f"{v} IS NOT NULL OR NOT {present}", not_parsed))
    if t.required or t.key:
        out.append(_check(t, present, "missing key value" if t.key else "missing required value"))
    if t.non_negative and t.type.is_numeric:
        out.append(_check(t, f"{v} IS NULL OR {v} >= 0", "negative value"))
    if t.type.is_temporal:
        lo, hi = rules.min_date.isoformat(), (rules.max_date or dt.date.max).isoformat()
        out.append(
            _check(t, f"{v} IS NULL OR ({v} >= DATE '{lo}' AND {v} < DATE '{hi}')", f"date out of range ({lo} to {hi})")
        )
    if t.values:
        allowed = ", ".join(_lit(x) for x in t.values)
        out.append(_check(t, f"{v} IS NULL OR {v} IN ({allowed})", f"not one of {', '.join(t.values)}"))
    return out


@dataclass(frozen=True)
class Statements:
    """The SQL of one validation, run in this order (see ``importer._write``)."""

    clean: str
    """``_hw_clean``: ``_row``, one typed column per target, ``_bad`` (some check failed), ``_skip``, and
    ``_problems`` (the failed checks, for bad rows only)."""
    problems: str
    """``_hw_problems(_row, problem, _n)``: one row per failed check of the rows marked ``_bad``."""
    keys: str | None
    """Appends duplicate-key (and key-already-in-the-dataset) problems to ``_hw_problems``."""


def statements(
    targets: list[Target],
    columns: tuple[str, ...],
    rules: Rules,
    *,
    key: list[str],
    existing: str | None,
    ragged: bool,
) -> Statements:
    """Build the validation statements.

    Most rows are fine, so the cheap part runs on every row (typed values, one boolean that
    says whether any check failed) and the list of problems is built only for failing rows.
    ``existing`` names the dataset table to check keys against (append mode): a row whose
    key is already there is rejected rather than loaded twice.
    """
    cells = [f"c{i}" for i in range(len(columns))]
    typed = [f"{_typed(t, rules)} AS {quote_ident(f'_t{t.index}')}" for t in targets]
    typed += [f"hw_text(c{t.index}) IS NOT NULL AS {quote_ident(f'_p{t.index}')}" for t in targets]
    pairs = [c for t in targets for c in _checks(t, rules)]
    if ragged:
        pairs.insert(
            0,
            (
                "_row NOT IN (SELECT _row FROM _hw_ragged)",
                "CASE WHEN _row IN (SELECT _row FROM _hw_ragged) THEN "
                "{'column': NULL, 'reason': 'more cells than the header has columns'} END",
            ),
        )
    checks = [problem for _, problem in pairs]
    bad = f"NOT ({' AND '.join(f'({ok})' for ok, _ in pairs)})" if pairs else "false"
    named = [(c, n) for c, n in zip(cells, columns, strict=True) if not n.startswith("column_")] or [(cells[0], "")]
    header_hits = " + ".join(
        f"coalesce(lower(hw_text({c})) = {_lit(n.lower())}, false)::INTEGER"
        for c, n in zip(cells, columns, strict=True)
    )
    filled = " + ".join(f"(hw_text({c}) IS NOT NULL)::INTEGER" for c in cells)
    totals = " OR ".join(f"regexp_full_match(coalesce({c}, ''), {_lit(TOTALS_WORDS)})" for c in cells)
    # Cheap guards first (the first named cell equals its header; the last row), full checks after.
    # A totals row names a total and is not a complete valid row itself.
    guard_cell, guard_name = named[0]
    skip = (
        f"CASE WHEN coalesce(lower(trim({guard_cell})) = {_lit(guard_name.lower())}, false) THEN "
        f"CASE WHEN ({header_hits}) = ({filled}) AND ({header_hits}) >= least(2, {len(cells)}) "
        "THEN 'repeated header row' END "
        f"WHEN _row = (SELECT max(_row) FROM _hw_rows) THEN CASE WHEN ({totals}) "
        f"AND (_bad OR ({filled}) < {len(cells)}) THEN 'totals row' END END"
    )
    typed_cols = ", ".join(quote_ident(f"_t{t.index}") for t in targets)
    out = ", ".join(f"{quote_ident(f'_t{t.index}')} AS {quote_ident(t.name)}" for t in targets)
    inner = f"SELECT _row, {', '.join(cells)}, {', '.join(typed)} FROM _hw_rows"
    problem_list = f"list_filter([{', '.join(checks)}], lambda x: x IS NOT NULL)" if checks else "[]"
    # The problem list is built in the same pass, but only for failing rows (CASE evaluates its
    # THEN branch on the rows that take it), so the raw cells are never scanned a second time.
    clean = (
        f"CREATE OR REPLACE TEMP TABLE _hw_clean AS SELECT _row, _bad AND _skip IS NULL AS _bad, _skip, "
        f"CASE WHEN _bad AND _skip IS NULL THEN _problems END AS _problems, {out} "
        f"FROM (SELECT _row, {typed_cols}, _bad, _problems, {skip} AS _skip FROM ("
        f"SELECT *, CASE WHEN _bad THEN {problem_list} END AS _problems FROM (SELECT *, {bad} AS _bad FROM ({inner}))))"
    )
    problems = (
        "CREATE OR REPLACE TEMP TABLE _hw_problems AS "
        "SELECT _row, unnest(_problems) AS problem, generate_subscripts(_problems, 1) AS _n FROM _hw_clean WHERE _bad"
    )
    keyed = [t for t in targets if t.name in key]
    if not keyed:
        return Statements(clean, problems, None)
    label = _lit(", ".join(t.source for t in keyed))
    names = [quote_ident(t.name) for t in keyed]
    same = " AND ".join(f"a.{n} IS NOT DISTINCT FROM b.{n}" for n in names)
    valid = f"SELECT _row, {', '.join(names)} FROM _hw_clean WHERE NOT _bad AND _skip IS NULL"
    dups = (
        f"SELECT a._row, {{'column': {label}, 'reason': 'duplicate key (an earlier row has the same)'}}, 100 "
        f"FROM ({valid}) a JOIN (SELECT {', '.join(names)}, min(_row) AS _first FROM ({valid}) "
        f"GROUP BY ALL HAVING count(*) > 1) b ON {same} WHERE a._row > b._first"
    )
    if existing:
        dups += (
            f" UNION ALL SELECT a._row, {{'column': {label}, 'reason': 'key already in the dataset (use upsert)'}}, "
            "101 "
            f"FROM ({valid}) a SEMI JOIN {quote_ident(existing)} b ON {same}"
        )
    return Statements(clean, problems, f"INSERT INTO _hw_problems {dups}")


def storage_type(t: FieldType) -> str:
    return STORAGE_TYPES[Dialect.DUCKDB][t]
