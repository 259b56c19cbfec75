"""`headway compute`: KPI values per period (and dimension) from a warehouse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import duckdb
import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from headway.cli.formatting import (
    DataFormat,
    console,
    err_console,
    fail,
    format_period,
    format_value,
    frame_records,
    kpi_header,
    print_csv,
    print_json,
)
from headway.engine.api import Headway
from headway.engine.api import open as open_headway
from headway.engine.errors import ModelError
from headway.engine.expressions import unknown_name_message
from headway.engine.periods import Calendar
from headway.engine.spec import Grain
from headway.engine.warehouse import DuckDBWarehouse, Warehouse, open_warehouse

T = TypeVar("T")


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2024-01-31, got {value!r}")


def make_calendar(timezone: str, week_start: str, fiscal_year_start: int) -> Calendar:
    try:
        return Calendar(
            week_start=Calendar.parse_week_start(week_start),
            fiscal_year_start=fiscal_year_start,
            timezone=timezone,
        )
    except ValueError as exc:
        fail(str(exc))


def connect(target: str, *, read_only: bool = True) -> Warehouse:
    """A warehouse from a DuckDB path (which must exist: never create an empty one by mistake) or a URL."""
    if target.startswith(("postgresql://", "postgres://")):
        try:
            return open_warehouse(target)
        except Exception as exc:  # a connection failure is the user's to fix, not a traceback
            fail(f"cannot connect to the warehouse: {exc}")
    path = Path(target)
    if not path.is_file():
        fail(f"warehouse file not found: {path}")
    try:
        return DuckDBWarehouse(path, read_only=read_only)
    except duckdb.Error as exc:
        fail(f"cannot open the warehouse {path}: {exc}")


def open_project(warehouse: str, models: list[Path] | None = None, calendar: Calendar | None = None) -> Headway:
    """The Python API over a warehouse, with the catalog plus any model files; errors become messages."""
    for model in models or []:
        if not model.is_file():
            fail(f"model file not found: {model}")
    wh = connect(warehouse)
    try:
        return open_headway(wh, models=list(models or []), calendar=calendar)
    except ModelError as exc:
        wh.close()
        fail("the model files have errors:\n" + "\n".join(f"  {e}" for e in exc.errors))


def check_kpi_ids(hw: Headway, ids: list[str]) -> None:
    for kpi_id in ids:
        if kpi_id not in hw.kpis:
            fail(unknown_name_message("KPI", kpi_id, hw.kpis))


def run_or_fail(action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an engine call; turn the errors a user can cause into one message and exit code 1."""
    try:
        return action(*args, **kwargs)
    except ModelError as exc:
        if len(exc.errors) == 1:
            fail(exc.errors[0].message)
        fail("cannot compute:\n" + "\n".join(f"  {e.location()}: {e.message}" for e in exc.errors))
    except (ValueError, duckdb.Error) as exc:
        fail(str(exc))


def compute(
    warehouse: Annotated[str, typer.Option("--warehouse", "-w", help="DuckDB file (or postgresql:// URL).")],
    kpi: Annotated[list[str], typer.Option("--kpi", "-k", help="KPI id; repeat for several.")],
    grain: Annotated[Grain, typer.Option(help="Period length.")] = Grain.MONTH,
    by: Annotated[str | None, typer.Option(help="Break down by this column (e.g. channel).")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD); default: first data.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (YYYY-MM-DD); default: last data.")] = None,
    output: Annotated[DataFormat, typer.Option("--format", "-f", help="Output format.")] = DataFormat.TABLE,
    model: Annotated[
        list[Path] | None, typer.Option("--model", "-m", help="KPI model YAML adding to the catalog; repeatable.")
    ] = None,
    timezone: Annotated[str, typer.Option(help="Time zone periods are counted in.")] = "UTC",
    week_start: Annotated[str, typer.Option(help="First day of a week.")] = "monday",
    fiscal_year_start: Annotated[int, typer.Option(help="Month (1-12) the fiscal year starts in.")] = 1,
    sql: Annotated[bool, typer.Option("--sql", help="Print the generated SQL instead of running it.")] = False,
) -> None:
    """Compute KPIs per period (and dimension value) from a warehouse."""
    kpi = list(dict.fromkeys(kpi))
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if first and last and last < first:
        fail(f"--to ({last}) is before --from ({first})")
    calendar = make_calendar(timezone, week_start, fiscal_year_start)
    hw = open_project(warehouse, model, calendar)
    try:
        check_kpi_ids(hw, kpi)
        options = {"grain": grain, "by": by, "start": first, "end": last}
        if sql:
            text = run_or_fail(hw.sql, kpi, **options)
            if not text:
                err_console.print("[yellow]No data for these KPIs in the warehouse; nothing to compile.[/]")
            typer.echo(text)
            return
        with err_console.status("Computing…"):
            df = run_or_fail(hw.compute, kpi, **options)
        if output is DataFormat.JSON:
            print_json(frame_records(df))
        elif output is DataFormat.CSV:
            print_csv(df)
        else:
            console.print(result_table(hw, df, kpi, grain, by))
    finally:
        hw.close()


def result_table(hw: Headway, df: pd.DataFrame, ids: list[str], grain: Grain, by: str | None) -> Table:
    names = ", ".join(hw.kpis[k].name for k in ids)
    table = Table(title=escape(f"{names} by {grain.value}"), title_justify="left")
    table.add_column("Period", no_wrap=True)
    if by:
        table.add_column(by)
    for kpi_id in ids:
        table.add_column(escape(kpi_header(hw.kpis[kpi_id])), justify="right")
    for row in df.itertuples(index=False):
        cells = [format_period(row[0], grain)]
        if by:
            cells.append("–" if pd.isna(row[1]) else escape(str(row[1])))
        offset = 2 if by else 1
        cells += [format_value(row[offset + i], hw.kpis[k].unit) for i, k in enumerate(ids)]
        table.add_row(*cells)
    if df.empty:
        table.caption = "No data in this range."
    return table
