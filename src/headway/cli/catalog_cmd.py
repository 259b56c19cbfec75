"""`headway catalog list|show`: browse the built-in KPI catalog."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from headway.cli.formatting import (
    OutputFormat,
    console,
    enum_text,
    fail,
    format_value,
    key_value_table,
    plain,
    print_json,
)
from headway.engine.catalog import Catalog, describe_metric, load_catalog, required_fields
from headway.engine.spec import Category, Direction, Kpi

app = typer.Typer(help="Browse the built-in KPI catalog.", no_args_is_help=True)


def _required(kpi: Kpi, catalog: Catalog) -> dict[str, list[str]]:
    return {dataset: sorted(cols) for dataset, cols in sorted(required_fields(kpi, catalog).items())}


def kpi_record(kpi: Kpi, catalog: Catalog) -> dict[str, Any]:
    """Everything about a KPI, JSON-ready: the spec plus its readable formula and required fields."""
    return {
        **plain(kpi),
        "kind": kpi.kind,
        "formula": describe_metric(kpi).replace("`", ""),
        "required_fields": _required(kpi, catalog),
    }


def thresholds_text(kpi: Kpi) -> str:
    t = kpi.thresholds
    if t is None:
        return "none"
    better = "≥" if kpi.direction is Direction.HIGHER else "≤"
    if t.basis == "change":
        good = f"{t.good * 100:+g}%"
        warning = f"{t.warning * 100:+g}%"
        basis = " (change vs previous period)"
    else:
        good, warning, basis = format_value(t.good, kpi.unit), format_value(t.warning, kpi.unit), ""
    return f"[green]good {better} {good}[/], [yellow]warning {better} {warning}[/]{basis}"


def find_kpi(catalog: Catalog, kpi_id: str) -> Kpi:
    try:
        return catalog.get(kpi_id)
    except KeyError as exc:
        fail(str(exc.args[0]) if exc.args else f"no catalog KPI '{kpi_id}'")


@app.command("list")
def list_kpis(
    category: Annotated[Category | None, typer.Option(help="Only KPIs of this category.")] = None,
    search: Annotated[str | None, typer.Option(help="Only KPIs matching every word (id, name, tags, text).")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.TABLE,
) -> None:
    """List catalog KPIs, optionally filtered by category or search text."""
    catalog = load_catalog()
    kpis = catalog.search(search) if search else list(catalog.kpis.values())
    if category is not None:
        kpis = [k for k in kpis if k.category is category]
    if output is OutputFormat.JSON:
        print_json(
            [
                {
                    "id": k.id,
                    "name": k.name,
                    "category": k.category.value,
                    "indicator": k.indicator.value,
                    "direction": k.direction.value,
                    "unit": k.unit.value,
                    "kind": k.kind,
                }
                for k in kpis
            ]
        )
        return
    table = Table(title=f"KPI catalog: {len(kpis)} of {len(catalog)} KPIs", title_justify="left")
    table.add_column("ID", style="bold cyan", no_wrap=True)
    table.add_column("Name")
    table.add_column("Category")
    table.add_column("Indicator")
    table.add_column("Better", justify="center")
    table.add_column("Unit")
    for k in kpis:
        arrow = "↑" if k.direction is Direction.HIGHER else "↓"
        table.add_row(k.id, escape(k.name), k.category.value, k.indicator.value, arrow, k.unit.label)
    console.print(table)
    if not kpis:
        console.print("[yellow]No KPI matches.[/] Try a shorter --search or another --category.")


@app.command("show")
def show_kpi(
    kpi_id: Annotated[str, typer.Argument(metavar="ID", help="KPI id, e.g. revenue.")],
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.TABLE,
) -> None:
    """Show one KPI: meaning, formula, required data, thresholds and guardrails."""
    catalog = load_catalog()
    kpi = find_kpi(catalog, kpi_id)
    if output is OutputFormat.JSON:
        print_json(kpi_record(kpi, catalog))
        return
    fields = _required(kpi, catalog)
    needs = "\n".join(f"{d}: {', '.join(cols)}" for d, cols in fields.items()) or "nothing (entered by hand)"
    rows = [
        ("ID", kpi.id),
        ("Description", escape(" ".join(kpi.description.split()))),
        ("Formula", escape(describe_metric(kpi).replace("`", "")) + f"  [dim]({kpi.kind})[/]"),
        ("Needs", escape(needs)),
        ("Category", kpi.category.value),
        ("Indicator", kpi.indicator.value),
        ("Better when", f"{kpi.direction.value} {'↑' if kpi.direction is Direction.HIGHER else '↓'}"),
        ("Unit", enum_text(kpi.unit) + (f" (format {kpi.format})" if kpi.format else "")),
        ("Default grain", kpi.default_grain.value),
        ("Thresholds", thresholds_text(kpi)),
        ("Guardrails", ", ".join(kpi.guardrails) or "none"),
        ("Tags", ", ".join(kpi.tags)),
    ]
    console.print(key_value_table(rows, title=f"[bold]{escape(kpi.name)}[/]"))
