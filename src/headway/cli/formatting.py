"""Shared CLI output: consoles, errors, number formatting by KPI unit, and table/CSV/JSON writers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NoReturn

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from headway.engine.scoring import UNIT_DECIMALS, UNIT_SUFFIX, is_missing
from headway.engine.spec import Grain, Kpi, Unit

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class DataFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def fail(message: str) -> NoReturn:
    """Print one clear error on stderr and exit with code 1 (never a traceback)."""
    err_console.print(f"[bold red]Error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(1)


# --- numbers -----------------------------------------------------------------------------


CURRENCY_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF "}


def format_value(value: Any, unit: Unit, decimals: int | None = None, currency: str | None = None) -> str:
    """A value as a reader expects it: 1,234.50 · €1,234.50 (with ``currency``) · 12.3% · 1,234 · 3.2 days;
    '–' when unknown."""
    if is_missing(value):
        return "–"
    places = UNIT_DECIMALS[unit] if decimals is None else decimals
    number = float(value)
    if unit is Unit.PERCENT:
        return f"{number * 100:,.{places}f}%"
    if unit is Unit.CURRENCY and currency:
        code = currency.upper()
        sign = CURRENCY_SIGNS.get(code, f"{code} ")
        return f"{'-' if number < 0 else ''}{sign}{abs(number):,.{places}f}"
    return f"{number:,.{places}f}{UNIT_SUFFIX.get(unit, '')}"


def kpi_header(kpi: Kpi) -> str:
    """The name over the unit, with a score's scale: ``(score, 1 to 5)``."""
    scale = f", {kpi.scale[0]:g} to {kpi.scale[1]:g}" if kpi.scale else ""
    return f"{kpi.name}\n({kpi.unit.label}{scale})"


def format_period(value: Any, grain: Grain) -> str:
    """A period (named by its first day) as a label: 2024-03 for a month, 2024 for a year, else the date."""
    if is_missing(value):
        return "–"
    d = pd.Timestamp(value).date()
    if grain is Grain.MONTH:
        return d.strftime("%Y-%m")
    if grain is Grain.YEAR and d.month == 1:
        return str(d.year)
    if grain is Grain.QUARTER and d.month in (1, 4, 7, 10):
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    return d.isoformat()


# --- machine-readable output --------------------------------------------------------------


def json_value(value: Any) -> Any:
    """A cell as JSON: ISO dates, null for missing, plain Python numbers."""
    if is_missing(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, StrEnum):
        return value.value
    return value


def frame_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(c): json_value(v) for c, v in zip(df.columns, row, strict=True)} for row in df.itertuples(index=False)]


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no Rich markup or wrapping, so it always parses)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=json_value))


def print_csv(df: pd.DataFrame) -> None:
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = [json_value(v) for v in out[col]]
    typer.echo(out.to_csv(index=False, lineterminator="\n"), nl=False)


def key_value_table(rows: Sequence[tuple[str, Any]], title: str | None = None) -> Table:
    table = Table(show_header=False, title=title, title_justify="left", box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, "–" if value in (None, "", ()) else str(value))
    return table


def enum_text(value: Any) -> str:
    return value.value if isinstance(value, StrEnum) else str(value)


def plain(obj: Any) -> Any:
    """Enums, tuples and nested models as JSON-ready values."""
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [plain(v) for v in obj]
    if hasattr(obj, "model_dump"):
        return plain(obj.model_dump(mode="json"))
    return json_value(obj)
