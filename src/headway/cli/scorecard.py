"""The terminal scorecard of `headway demo`: a template's KPIs for the latest complete month."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
from rich import box
from rich.markup import escape
from rich.table import Table

from headway.cli.formatting import console, fail, format_value
from headway.engine.api import Headway
from headway.engine.api import open as open_headway
from headway.engine.catalog import computable, load_catalog
from headway.engine.errors import ModelError
from headway.engine.periods import shift
from headway.engine.plan import Schema, resolve
from headway.engine.scoring import delta, growth, is_missing, kpi_decimals, latest_complete_month, status
from headway.engine.spec import Grain, Kpi, Manual
from headway.engine.templates import Template, get_template
from headway.engine.warehouse import DuckDBWarehouse

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
STATUS_STYLE = {"good": "green", "warning": "yellow", "bad": "red"}


def sparkline(values: Sequence[float | None]) -> str:
    """One block per value, scaled between the series' min and max; a gap for a missing value."""
    known = [v for v in values if not is_missing(v)]
    if not known:
        return ""
    lo, hi = min(known), max(known)
    span = hi - lo
    out = []
    for v in values:
        if is_missing(v):
            out.append(" ")
        elif span == 0:
            out.append(SPARK_BLOCKS[len(SPARK_BLOCKS) // 2])
        else:
            out.append(SPARK_BLOCKS[min(len(SPARK_BLOCKS) - 1, int((v - lo) / span * len(SPARK_BLOCKS)))])
    return "".join(out)


def change_text(kpi: Kpi, current: float | None, previous: float | None) -> str:
    """Growth in %, or the difference in percentage points for a percent KPI; green when it moves the right way."""
    d = delta(kpi, current, previous)
    if d is None:
        return "[dim]–[/]"
    text = f"{d.amount:+.{kpi_decimals(kpi) or 1}f} pp" if d.points else f"{d.amount * 100:+.1f}%"
    if d.better is None:
        return f"[dim]{text}[/]"
    return f"[{'green' if d.better else 'red'}]{text}[/]"


@dataclass
class Row:
    kpi: Kpi
    values: pd.Series
    """Monthly values indexed by period start (date)."""


def unavailable_reason(kpi: Kpi, hw: Headway, schema: Schema) -> str | None:
    """Why a KPI cannot be computed from this warehouse (None: it can)."""
    if isinstance(kpi.metric, Manual):
        return "entered by hand each period; the demo has no manual values"
    try:
        ok, missing = computable(kpi, {d: list(cols) for d, cols in schema.items()}, load_catalog())
    except KeyError as exc:
        return str(exc.args[0]) if exc.args else "refers to an unknown KPI"
    if not ok:
        parts = []
        for dataset, cols in sorted(missing.items()):
            if dataset not in schema:
                parts.append(f"no '{dataset}' dataset")
            else:
                parts.append(f"'{dataset}' lacks {', '.join(sorted(cols))}")
        return "needs data the demo lacks: " + "; ".join(parts)
    try:
        resolve(hw.query([kpi.id]), hw.kpis, schema)
    except ModelError as exc:
        return "; ".join(e.message for e in exc.errors)
    return None


def _compute(hw: Headway, ids: list[str], start: date, end: date) -> tuple[pd.DataFrame, dict[str, str]]:
    """Monthly values of ``ids``; KPIs whose query fails are left out with the reason."""
    failures: dict[str, str] = {}
    try:
        return hw.compute(ids, grain=Grain.MONTH, start=start, end=end).set_index("period"), failures
    except (ModelError, ValueError, duckdb.Error):
        pass
    frames = []
    for kpi_id in ids:
        try:
            frames.append(hw.compute([kpi_id], grain=Grain.MONTH, start=start, end=end).set_index("period"))
        except ModelError as exc:
            failures[kpi_id] = "; ".join(e.message for e in exc.errors)
        except (ValueError, duckdb.Error) as exc:
            failures[kpi_id] = str(exc).splitlines()[0]
    return (pd.concat(frames, axis=1) if frames else pd.DataFrame()), failures


def print_scorecard(warehouse: Path, template_id: str, currency: str | None = None) -> None:
    try:
        template: Template = get_template(template_id)
    except KeyError as exc:
        fail(str(exc.args[0]))
    hw = open_headway(DuckDBWarehouse(warehouse, read_only=True))
    try:
        _scorecard(hw, template, currency)
    finally:
        hw.close()


def _scorecard(hw: Headway, template: Template, currency: str | None = None) -> None:
    schema = hw.schema
    ids = [k for k in template.kpi_ids() if k in hw.kpis]
    reasons = {k: "not in the KPI catalog" for k in template.kpi_ids() if k not in hw.kpis}
    for kpi_id in ids:
        reason = unavailable_reason(hw.kpis[kpi_id], hw, schema)
        if reason:
            reasons[kpi_id] = reason
    ready = [k for k in ids if k not in reasons]
    if not ready:
        fail("none of the template's KPIs can be computed from this warehouse")
    bounds = hw.data_range(resolve(hw.query(ready), hw.kpis, schema).sources(), schema)
    if bounds is None:
        fail("the warehouse has no data for the template's KPIs")
    last_day = bounds[1]
    month = latest_complete_month(last_day)
    first = shift(month, -12, Grain.MONTH)
    end = shift(month, 1, Grain.MONTH) - timedelta(days=1)
    df, failures = _compute(hw, ready, first, end)
    reasons.update(failures)
    df.index = [pd.Timestamp(p).date() for p in df.index]

    month_name = month.strftime("%B %Y")
    table = Table(
        title=f"[bold]{escape(template.name)}[/] scorecard — {month_name} (latest complete month)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    table.add_column("KPI", min_width=18, ratio=1)
    table.add_column(month.strftime("%b %Y"), justify="right", no_wrap=True)
    table.add_column("vs prev", justify="right", no_wrap=True)
    table.add_column("vs year ago", justify="right", no_wrap=True)
    table.add_column("12 months", no_wrap=True)
    table.add_column("status", no_wrap=True)
    window = [shift(month, -i, Grain.MONTH) for i in range(11, -1, -1)]
    for objective in template.objectives:
        table.add_row(f"[bold magenta]{escape(objective.name)}[/]", end_section=False)
        for kpi_id in objective.kpis:
            if kpi_id in reasons or kpi_id not in df.columns:
                table.add_row(f"  {kpi_id}", "[dim]n/a[/]", "", "", "", "[dim]see below[/]", style="dim")
                continue
            kpi = hw.kpis[kpi_id]
            series = df[kpi_id]
            value = _at(series, month)
            previous = _at(series, shift(month, -1, Grain.MONTH))
            year_ago = _at(series, shift(month, -12, Grain.MONTH))
            state = status(kpi, value, growth(value, previous))
            badge = f"[{STATUS_STYLE[state]}]● {state}[/]" if state else "[dim]○ –[/]"
            table.add_row(
                f"  {escape(kpi.name)}",
                format_value(value, kpi.unit, kpi_decimals(kpi), currency),
                change_text(kpi, value, previous),
                change_text(kpi, value, year_ago),
                f"[cyan]{sparkline([_at(series, p) for p in window])}[/]",
                badge,
            )
        table.add_section()
    console.print(table)
    console.print(
        "[dim]Status: [green]●[/] good, [yellow]●[/] warning, [red]●[/] bad against the KPI's thresholds "
        "(read in its direction, on the value or its change); ○ – no thresholds set. pp = percentage points.[/]"
    )
    note = f"Data as of {last_day.isoformat()}."
    if month != last_day.replace(day=1):
        note += f" {last_day.strftime('%B %Y')} is not complete yet, so it is not scored."
    console.print(note)
    if reasons:
        console.print("[bold]Not computable from the demo data:[/]")
        for kpi_id, reason in reasons.items():
            console.print(f"  [yellow]{kpi_id}[/]: {escape(reason)}", soft_wrap=True)


def _at(series: pd.Series, period: date) -> float | None:
    value = series.get(period)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def print_next_steps(warehouse: Path) -> None:
    wh = escape(str(warehouse))
    console.print()
    console.print("[bold]Go further[/]")
    console.print("  headway catalog list                       [dim]# every KPI in the catalog[/]")
    console.print("  headway catalog show aov                   [dim]# what a KPI means and needs[/]")
    console.print("  headway templates show ecommerce           [dim]# objectives, KPIs and starter goals[/]")
    console.print(f"  headway compute --warehouse {wh} --kpi revenue --kpi aov --by channel")
    console.print(f"  headway compute --warehouse {wh} --kpi revenue --grain quarter --format csv")
    console.print(f"  headway compute --warehouse {wh} --kpi revenue --sql")
