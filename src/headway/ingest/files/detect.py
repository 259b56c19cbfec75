"""What the text in a column means, decided in DuckDB: numbers (decimal point or comma, thousands
separators, currency symbols), dates (ISO, day-first, month-first, month names), yes/no values.

The SQL macros defined here are the single definition of how a cell is parsed; detection
(on a sample) and validation (on every row, ``validate.py``) both use them, so what the
preview promises is what the import does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from headway.engine.canonical import FieldType
from headway.ingest.files.reading import DetectedType, Staged

THRESHOLD = 0.9
"""Share of a column's values that must parse as a type for the column to be detected as it."""
DETECT_SAMPLE = 5_000

# Currency signs and codes, spaces (incl. no-break and narrow no-break) and apostrophes
# (Swiss thousands) carry no number; they are removed before parsing.
_CURRENCY = r"[€$£¥₹\s\x{00A0}\x{202F}']|(?i:eur|usd|gbp|chf|jpy|sek|nok|dkk|pln|kr|zł)"
_POINT = r"[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)?(\.[0-9]+)?([eE][+-]?[0-9]+)?"
_COMMA = r"[+-]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)?(,[0-9]+)?"
_EV_COMMA = r"[0-9],[0-9]{1,2}$|[0-9]\.[0-9]{3},|[0-9],[0-9]{4,}$|^[+-]?0,[0-9]"
_EV_POINT = r"[0-9]\.[0-9]{1,2}$|[0-9],[0-9]{3}\.|[0-9]\.[0-9]{4,}$|^[+-]?0\.[0-9]"
_DAY_MONTH = r"^([0-9]{1,2})[./-]([0-9]{1,2})[./-][0-9]{2,4}"
_DATE_SHAPE = (
    r"^([0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{2,4}|[0-9]{4}[/.][0-9]|[0-9]{1,2}\.? [A-Za-z]|[A-Za-z]{3,9}\.? [0-9])"
)

_NAMED = ["%d %b %Y", "%d %B %Y", "%d. %B %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y"]
_YMD = ["%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y.%m.%d"]


def _formats(first: str, second: str) -> list[str]:
    out = []
    for sep in (".", "/", "-"):
        for year in ("%Y", "%y"):
            base = f"{first}{sep}{second}{sep}{year}"
            out += [f"{base} %H:%M:%S", f"{base} %H:%M", base]
    return out + _YMD + _NAMED


DATE_FORMATS = {"dmy": _formats("%d", "%m"), "mdy": _formats("%m", "%d")}
TRUE_WORDS = ("true", "yes", "y", "1", "ja", "j", "oui", "si", "sí", "wahr", "x", "vrai")
FALSE_WORDS = ("false", "no", "n", "0", "nein", "non", "falsch", "faux")


def _sql_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _sql_in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the parsing macros (temporary, on this connection)."""
    currency = _CURRENCY.replace("'", "''")
    core = f"trim(regexp_replace(trim(v), '{currency}', '', 'g'), '()')"
    pattern = f"CASE WHEN comma THEN '{_COMMA}' ELSE '{_POINT}' END"
    # Plain numbers (1234.5) take the quick cast; the rest are cleaned of currency and separators first.
    # The cleaned text is named once, inside a lambda, so DuckDB does not hoist the regexp_replace
    # out of the COALESCE and run it on every row.
    slow = (
        f"list_transform([{core}], lambda s: CASE WHEN regexp_matches(s, '[0-9]') AND regexp_full_match(s, {pattern}) "
        "THEN TRY_CAST(CASE WHEN comma THEN replace(replace(s, '.', ''), ',', '.') ELSE replace(s, ',', '') END "
        "AS DOUBLE) END)[1]"
    )
    number = (
        "COALESCE(CASE WHEN NOT (comma AND contains(v, '.')) AND NOT contains(v, ',') THEN TRY_CAST(v AS DOUBLE) END, "
        f"CASE WHEN contains(v, '(') THEN -1 ELSE 1 END * {slow})"
    )
    con.execute("CREATE OR REPLACE TEMP MACRO hw_text(v) AS NULLIF(trim(v), '')")
    con.execute(f"CREATE OR REPLACE TEMP MACRO hw_numcore(v) AS {core}")
    con.execute(f"CREATE OR REPLACE TEMP MACRO hw_num(v, comma) AS {number}")
    # Only text shaped like a date is handed to strptime (with its list of formats), which is slow on the rest.
    shaped = _DATE_SHAPE.replace("'", "''")
    for order, formats in DATE_FORMATS.items():
        con.execute(
            f"CREATE OR REPLACE TEMP MACRO hw_ts_{order}(v) AS COALESCE(TRY_CAST(trim(v) AS TIMESTAMP), "
            f"CASE WHEN regexp_matches(trim(v), '{shaped}') THEN try_strptime(trim(v), {_sql_list(formats)}) END)"
        )
    con.execute(
        "CREATE OR REPLACE TEMP MACRO hw_bool(v) AS CASE "
        f"WHEN lower(trim(v)) IN {_sql_in(TRUE_WORDS)} THEN true "
        f"WHEN lower(trim(v)) IN {_sql_in(FALSE_WORDS)} THEN false END"
    )


@dataclass(frozen=True)
class Detection:
    types: dict[str, DetectedType]
    decimal: str
    date_order: str
    rows: int


def _parsed(i: int) -> str:
    """Each parse of column ``i`` once (the stats below refer to these by name)."""
    c = f"c{i}"
    return (
        f"{c}, hw_text({c}) AS t{i}, hw_num({c}, false) AS p{i}, hw_num({c}, true) AS k{i}, "
        f"hw_numcore({c}) AS n{i}, hw_ts_dmy({c}) AS d{i}, hw_ts_mdy({c}) AS m{i}, hw_bool({c}) AS b{i}"
    )


def _column_stats(i: int) -> str:
    c, t, p, k, n = f"c{i}", f"t{i}", f"p{i}", f"k{i}", f"n{i}"
    numeric = f"({p} IS NOT NULL OR {k} IS NOT NULL)"
    return ", ".join(
        [
            f"count({t})",
            f"count(*) FILTER ({p} IS NOT NULL AND isfinite({p}))",
            f"count(*) FILTER ({k} IS NOT NULL AND isfinite({k}))",
            f"count(*) FILTER ({p} % 1 = 0)",
            f"count(*) FILTER ({k} % 1 = 0)",
            f"count(*) FILTER ({numeric} AND regexp_matches({n}, '{_EV_COMMA}'))",
            f"count(*) FILTER ({numeric} AND regexp_matches({n}, '{_EV_POINT}'))",
            f"count(*) FILTER (regexp_matches(trim({c}), '^[+-]?0[0-9]'))",
            f"count(d{i})",
            f"count(m{i})",
            f"count(*) FILTER (TRY_CAST(regexp_extract(trim({c}), '{_DAY_MONTH}', 1) AS INTEGER) > 12)",
            f"count(*) FILTER (TRY_CAST(regexp_extract(trim({c}), '{_DAY_MONTH}', 2) AS INTEGER) > 12)",
            f"count(*) FILTER (regexp_matches({c}, '[0-9]{{1,2}}:[0-9]{{2}}'))",
            f"count(b{i})",
            f"list(DISTINCT {t})[1:3]",
            f"count(*) FILTER (b{i})",
        ]
    )


_STATS = 16


def detect(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    *,
    decimal: str | None = None,
    date_order: str | None = None,
    sample: int = DETECT_SAMPLE,
) -> Detection:
    """Detect column types, the decimal separator and the date order from the first ``sample`` rows."""
    width = len(staged.columns)
    stats = ", ".join(_column_stats(i) for i in range(width))
    # Repeated header rows say nothing about the values.
    header = " + ".join(
        f"coalesce(lower(trim(c{i})) = '{n.lower().replace(chr(39), chr(39) * 2)}', false)::INTEGER"
        for i, n in enumerate(staged.columns)
    )
    rows_sql = f"SELECT * FROM _hw_rows WHERE {header} < least(2, {width}) LIMIT {int(sample)}"
    parsed = ", ".join(_parsed(i) for i in range(width))
    row = con.execute(f"SELECT count(*), {stats} FROM (SELECT {parsed} FROM ({rows_sql}))").fetchone()
    assert row is not None
    rows = int(row[0])
    cols = [row[1 + i * _STATS : 1 + (i + 1) * _STATS] for i in range(width)]
    if decimal is None:
        numeric = [s for s in cols if s[0] and max(s[1], s[2]) >= THRESHOLD * s[0]]
        ev_comma, ev_point = sum(s[5] for s in numeric), sum(s[6] for s in numeric)
        if ev_comma != ev_point:
            decimal = "comma" if ev_comma > ev_point else "point"
        else:
            decimal = "comma" if staged.source.delimiter == ";" else "point"
    if date_order is None:
        ev_dmy, ev_mdy = sum(s[10] for s in cols), sum(s[11] for s in cols)
        if ev_dmy != ev_mdy:
            date_order = "dmy" if ev_dmy > ev_mdy else "mdy"
        else:
            date_order = "mdy" if decimal == "point" and staged.source.delimiter in (",", None) else "dmy"
    types = {name: _decide(s, decimal, date_order) for name, s in zip(staged.columns, cols, strict=True)}
    return Detection(types, decimal, date_order, rows)


def _decide(s: tuple[Any, ...], decimal: str, date_order: str) -> DetectedType:
    filled = int(s[0])
    examples = tuple(str(v) for v in (s[14] or ()) if v is not None)
    if not filled:
        return DetectedType(FieldType.STRING, 0, 0, examples)
    need = THRESHOLD * filled
    num, whole = (s[2], s[4]) if decimal == "comma" else (s[1], s[3])
    dates = s[8] if date_order == "dmy" else s[9]
    shares = {"number": num / filled, "date": dates / filled, "boolean": s[13] / filled}
    if num >= need and not s[7]:
        kind = FieldType.INTEGER if whole == num else FieldType.DECIMAL
        return DetectedType(kind, filled, int(num), examples, shares)
    # Yes/no needs both answers: a column of only "X" or "Y" is more likely a code than a flag.
    if s[13] >= need and not num >= need and 0 < s[15] < s[13]:
        return DetectedType(FieldType.BOOLEAN, filled, int(s[13]), examples, shares)
    if dates >= need:
        kind = FieldType.TIMESTAMP if s[12] else FieldType.DATE
        return DetectedType(kind, filled, int(dates), examples, shares)
    return DetectedType(FieldType.STRING, filled, filled, examples, shares)
