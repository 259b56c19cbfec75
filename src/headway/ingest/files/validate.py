"""Validation in one SQL pass: every staged row is typed, checked, and either valid or given its reasons.

The statement built here turns ``_hw_rows`` (text cells) into ``_hw_clean``: one typed column
per target, ``_skip`` (why a row is not data: a repeated header or a totals row) and
``_problems`` (a list of ``{column, reason}``; empty for a valid row). Nothing is decided row
by row in Python, so a million rows cost about what DuckDB's own CSV reader costs.
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
    decimal: str = "point"
    date_order: str = "dmy"
    min_date: dt.date = dt.date(1950, 1, 1)
    max_date: dt.date = dt.date(2100, 1, 1)


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


def _problem(t: Target, cond: str, reason: str) -> str:
    return f"CASE WHEN {cond} THEN {{'column': {_lit(t.source)}, 'reason': {_lit(reason)}}} END"


def _checks(t: Target, rules: Rules) -> list[str]:
    v, raw = quote_ident(f"_t{t.index}"), f"hw_text(c{t.index})"
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
        out.append(_problem(t, f"{raw} IS NOT NULL AND {v} IS NULL", not_parsed))
    if t.required or t.key:
        out.append(_problem(t, f"{raw} IS NULL", "missing key value" if t.key else "missing required value"))
    if t.non_negative and t.type.is_numeric:
        out.append(_problem(t, f"{v} < 0", "negative value"))
    if t.type.is_temporal:
        lo, hi = rules.min_date.isoformat(), rules.max_date.isoformat()
        out.append(_problem(t, f"({v} < DATE '{lo}' OR {v} >= DATE '{hi}')", f"date out of range ({lo} to {hi})"))
    if t.values:
        allowed = ", ".join(_lit(x) for x in t.values)
        out.append(_problem(t, f"{v} NOT IN ({allowed})", f"not one of {', '.join(t.values)}"))
    return out


def clean_sql(
    targets: list[Target],
    columns: tuple[str, ...],
    rules: Rules,
    *,
    key: list[str],
    existing: str | None,
    ragged: bool,
) -> str:
    """The CREATE statement for ``_hw_clean`` (see the module docstring).

    ``existing`` names the dataset table to check keys against (append mode): a row whose key
    is already there is rejected rather than loaded twice.
    """
    cells = [f"c{i}" for i in range(len(columns))]
    typed = ", ".join(f"{_typed(t, rules)} AS {quote_ident(f'_t{t.index}')}" for t in targets)
    checks = [c for t in targets for c in _checks(t, rules)]
    if ragged:
        checks.insert(
            0,
            "CASE WHEN _row IN (SELECT _row FROM _hw_ragged) THEN "
            "{'column': NULL, 'reason': 'more cells than the header has columns'} END",
        )
    problems = f"list_filter([{', '.join(checks)}], lambda x: x IS NOT NULL)" if checks else "[]"
    header_hits = " + ".join(
        f"coalesce(lower(hw_text({c})) = {_lit(n.lower())}, false)::INTEGER"
        for c, n in zip(cells, columns, strict=True)
    )
    filled = " + ".join(f"(hw_text({c}) IS NOT NULL)::INTEGER" for c in cells)
    totals = " OR ".join(f"regexp_full_match(coalesce({c}, ''), {_lit(TOTALS_WORDS)})" for c in cells)
    # A totals row is the last row, names a total, and is not a complete valid row itself.
    skip = (
        f"CASE WHEN ({header_hits}) = ({filled}) AND ({header_hits}) >= least(2, {len(cells)}) "
        "THEN 'repeated header row' "
        f"WHEN _row = (SELECT max(_row) FROM _hw_rows) AND ({totals}) "
        f"AND (len(_problems) > 0 OR ({filled}) < {len(cells)}) THEN 'totals row' END"
    )
    typed_cols = ", ".join(quote_ident(f"_t{t.index}") for t in targets)
    out = ", ".join(f"{quote_ident(f'_t{t.index}')} AS {quote_ident(t.name)}" for t in targets)
    keys = [t for t in targets if t.name in key]
    ok = "(_skip IS NULL AND len(_problems) = 0)"
    extra: list[str] = []
    first = "NULL"
    if keys:
        parts = ", ".join(quote_ident(f"_t{t.index}") for t in keys)
        first = f"CASE WHEN {ok} THEN min(_row) OVER (PARTITION BY {ok}, {parts}) END"
        label = ", ".join(t.source for t in keys)
        extra.append(
            f"CASE WHEN _first < _row THEN {{'column': {_lit(label)}, "
            "'reason': 'duplicate key (same as an earlier row in the file)'} END"
        )
        if existing:
            match = " AND ".join(
                f"d.{quote_ident(t.name)} IS NOT DISTINCT FROM r.{quote_ident(f'_t{t.index}')}" for t in keys
            )
            extra.append(
                f"CASE WHEN _first = _row AND EXISTS (SELECT 1 FROM {quote_ident(existing)} d WHERE {match}) "
                f"THEN {{'column': {_lit(label)}, 'reason': 'key already in the dataset (use upsert to update)'}} END"
            )
    final = (
        f"list_concat(_problems, list_filter([{', '.join(extra)}], lambda x: x IS NOT NULL))" if extra else "_problems"
    )
    cell_list = ", ".join(cells)
    l1 = f"SELECT _row, {cell_list}, {typed} FROM _hw_rows"
    l2 = f"SELECT _row, {cell_list}, {typed_cols}, {problems} AS _problems FROM ({l1})"
    l3 = f"SELECT _row, {typed_cols}, _problems, {skip} AS _skip FROM ({l2})"
    l4 = f"SELECT *, {first} AS _first FROM ({l3})"
    return (
        f"CREATE OR REPLACE TEMP TABLE _hw_clean AS SELECT _row, _skip, "
        f"CASE WHEN _skip IS NULL THEN {final} ELSE [] END AS _problems, {out} FROM ({l4}) r"
    )


def storage_type(t: FieldType) -> str:
    return STORAGE_TYPES[Dialect.DUCKDB][t]
