"""`headway check`: validate KPI model files and say where every problem is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from headway.cli.formatting import console, err_console
from headway.engine.catalog import load_catalog
from headway.engine.errors import ModelError, SpecError
from headway.engine.loader import load_model
from headway.engine.validation import check_file
from headway.engine.warehouse import schema_of


def _kpi_count(path: Path) -> int:
    try:
        return len(load_model(path, strict=False).kpis)
    except ModelError:
        return 0


def _print_error(error: SpecError) -> None:
    err_console.print(
        f"[bold]{escape(error.location())}[/]: [red]{escape(error.message)}[/] [dim]\\[{escape(error.rule)}][/]",
        soft_wrap=True,
    )


def check(
    files: Annotated[list[Path], typer.Argument(help="KPI model YAML files.", metavar="MODEL.yaml...")],
    warehouse: Annotated[
        str | None,
        typer.Option(help="Check datasets and columns against this warehouse instead of the canonical model."),
    ] = None,
) -> None:
    """Check KPI model files: every error with its location (file:kpi:field: message \\[rule]).

    KPIs may refer to catalog KPIs by id (e.g. `revenue`).
    """
    schema = None
    if warehouse is not None:
        from headway.cli.compute_cmd import connect

        wh = connect(warehouse)
        try:
            schema = schema_of(wh)
        finally:
            wh.close()
    catalog_kpis = load_catalog().kpis
    total_errors = 0
    total_kpis = 0
    for path in files:
        if not path.is_file():
            _print_error(SpecError("syntax", "file not found", str(path)))
            total_errors += 1
            continue
        errors = check_file(path, schema, catalog_kpis)
        for error in errors:
            _print_error(error)
        total_errors += len(errors)
        total_kpis += _kpi_count(path)
    if total_errors:
        noun = "error" if total_errors == 1 else "errors"
        err_console.print(f"[bold red]{total_errors} {noun}[/] in {len(files)} file(s).")
        raise typer.Exit(1)
    console.print(f"[bold green]OK:[/] {total_kpis} KPIs")
