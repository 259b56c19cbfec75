"""`headway import`: load a CSV / XLSX / Parquet file into a dataset of a warehouse.

Shows a preview and the proposed column mapping, asks before importing (``--yes`` skips
the question), shows progress, and prints what was read, loaded, rejected and why.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from headway.cli.formatting import OutputFormat, console, err_console, fail, print_json
from headway.ingest import files
from headway.ingest.files import IngestError, Mapping, RawTable

PREVIEW = 5
SHOWN_REJECTS = 10


class DateOrder(StrEnum):
    DMY = "dmy"
    MDY = "mdy"


class Decimal(StrEnum):
    POINT = "point"
    COMMA = "comma"


class ImportMode(StrEnum):
    APPEND = "append"
    REPLACE = "replace"
    UPSERT = "upsert"


def _mapping_to_use(
    table: RawTable, warehouse: Path, dataset: str, dataset_type: str | None, mapping_file: Path | None
) -> tuple[Mapping, str]:
    """The mapping the import will use and where it comes from."""
    if mapping_file is not None:
        if not mapping_file.is_file():
            fail(f"mapping file not found: {mapping_file}")
        mapping = Mapping.from_yaml(mapping_file.read_text(encoding="utf-8"), where=str(mapping_file))
        return mapping, f"from {mapping_file}"
    saved = files.saved_mapping(warehouse, dataset, table, dataset_type)
    if saved is not None:
        return saved, f"saved by the last import into {dataset}"
    return files.propose_mapping(table, dataset_type), "proposed from the column names and values"


def _preview(table: RawTable) -> Table:
    out = Table(title=f"{escape(table.source.name)}: first rows", title_justify="left")
    for column in table.columns:
        out.add_column(escape(column), overflow="fold")
    for row in table.preview[:PREVIEW]:
        out.add_row(*("" if v is None else escape(v) for v in row))
    out.caption = f"{table.rows:,} data rows" + (
        f" · delimiter {table.source.delimiter!r} · {table.source.encoding}" if table.source.format == "csv" else ""
    )
    return out


def _mapping_table(table: RawTable, mapping: Mapping, origin: str) -> Table:
    kind = mapping.dataset_type or "no canonical type (columns kept as they are)"
    out = Table(title=f"Mapping to {escape(kind)} ({escape(origin)})", title_justify="left")
    out.add_column("File column")
    out.add_column("Detected")
    out.add_column("→ Field")
    out.add_column("Confidence", justify="right")
    out.add_column("Examples", overflow="fold")
    canonical = mapping.canonical
    for column in table.columns:
        detected = table.types.get(column)
        target = mapping.columns.get(column, "(new column: kept as extra)")
        is_field = canonical is not None and target is not None and canonical.field(target) is not None
        shown = "[dim]not imported[/]" if target is None else escape(target) + ("" if is_field else " [dim](extra)[/]")
        confidence = mapping.confidence.get(column)
        out.add_row(
            escape(column),
            detected.type.value if detected else "",
            shown,
            f"{confidence:.0%}" if confidence else "",
            escape(", ".join(detected.examples)) if detected else "",
        )
    if mapping.missing:
        out.caption = f"[red]Required field(s) not mapped: {', '.join(mapping.missing)}[/] (use --mapping)"
    else:
        out.caption = (
            f"numbers: decimal {mapping.decimal or table.decimal} · dates: {mapping.date_order or table.date_order}"
        )
    return out


def _summary(result: files.ImportResult) -> None:
    if result.duplicate_file:
        console.print(
            f"[yellow]Already imported:[/] this exact file went into {escape(result.dataset)} in import "
            f"#{result.previous_import_id}; nothing was loaded again (appending it twice would double the rows)."
        )
        return
    counts = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    counts.add_column(style="bold cyan")
    counts.add_column(justify="right")
    counts.add_row("Read", f"{result.read:,}")
    loaded = f"{result.loaded:,}"
    if result.mode == "upsert":
        loaded += f" ({result.inserted:,} new, {result.updated:,} updated)"
    counts.add_row("Loaded", loaded)
    counts.add_row("Rejected", f"[red]{result.rejected:,}[/]" if result.rejected else "0")
    counts.add_row("Skipped", f"{result.skipped:,}" + _reasons_text(result.skipped_reasons))
    console.print(
        f"Import #{result.import_id} into [bold]{escape(result.dataset)}[/] ({result.mode}) "
        f"from {escape(result.source.name)}"
    )
    console.print(counts)
    if result.reasons:
        reasons = Table(title="Rejected rows by reason", title_justify="left")
        reasons.add_column("Reason")
        reasons.add_column("Rows", justify="right")
        for reason, n in result.reasons.most_common():
            reasons.add_row(escape(reason), f"{n:,}")
        console.print(reasons)
        rows = Table(title=f"First rejected rows (all {result.rejected:,} are in the quarantine)", title_justify="left")
        rows.add_column("Row", justify="right")
        rows.add_column("Problems", overflow="fold")
        rows.add_column("Values", overflow="fold")
        for q in result.quarantine[:SHOWN_REJECTS]:
            values = ", ".join(f"{k}={v}" for k, v in q.raw.items())
            rows.add_row(str(q.row_number), escape(q.problems), escape(values))
        console.print(rows)


def _reasons_text(reasons: Any) -> str:
    return f" ({', '.join(f'{r}: {n}' for r, n in reasons.items())})" if reasons else ""


def import_file(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or Parquet file to import.")],
    warehouse: Annotated[Path, typer.Option("--warehouse", "-w", help="DuckDB file (created if missing).")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset (table) to load into.")],
    dataset_type: Annotated[
        str | None, typer.Option("--type", "-t", help="Canonical dataset type (orders, customers, ...).")
    ] = None,
    mapping_file: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="Mapping YAML (file column -> field) to use.")
    ] = None,
    mode: Annotated[ImportMode, typer.Option(help="append, replace, or upsert by key.")] = ImportMode.APPEND,
    key: Annotated[
        list[str] | None, typer.Option("--key", "-k", help="Key column for upsert and duplicates; repeatable.")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet to read (default: the first).")] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV encoding (default: detected).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected).")] = None,
    dates: Annotated[
        DateOrder | None, typer.Option(help="Day first (dmy) or month first (mdy) (default: mapping, else detected).")
    ] = None,
    decimal: Annotated[
        Decimal | None, typer.Option(help="Decimal point or comma (default: mapping, else detected).")
    ] = None,
    save_mapping: Annotated[
        Path | None, typer.Option("--save-mapping", help="Write the mapping used to this YAML file.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Accept the mapping without asking.")] = False,
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.TABLE,
) -> None:
    """Import a file into a dataset: preview, mapping, validation, quarantine of bad rows."""
    if not file.is_file():
        fail(f"file not found: {file}")
    try:
        table = files.read_file(file, sheet=sheet, encoding=encoding, delimiter=delimiter)
        mapping, origin = _mapping_to_use(table, warehouse, dataset, dataset_type, mapping_file)
        if dates is not None or decimal is not None:
            mapping = replace(
                mapping,
                date_order=dates.value if dates else mapping.date_order,
                decimal=decimal.value if decimal else mapping.decimal,
            )
    except (IngestError, duckdb.Error) as exc:
        fail(str(exc))
    show = console if output is OutputFormat.TABLE else err_console
    if output is OutputFormat.TABLE or not yes:
        show.print(_preview(table))
        show.print(_mapping_table(table, mapping, origin))
    if save_mapping is not None:
        save_mapping.write_text(mapping.to_yaml(), encoding="utf-8")
    if not yes and not typer.confirm("Import with this mapping?", default=False, err=True):
        err_console.print("Import cancelled; nothing was changed.")
        err_console.print("To change the mapping: write it with --save-mapping, edit it, give it back with --mapping.")
        raise typer.Exit(1)
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("importing", total=1.0)

            def progress(stage: str, fraction: float) -> None:
                bar.update(task, completed=fraction, description=stage)

            result = files.import_file(
                warehouse,
                file,
                dataset=dataset,
                dataset_type=dataset_type,
                mapping=mapping,
                mode=mode.value,
                key=key or None,
                sheet=sheet,
                encoding=encoding,
                delimiter=delimiter,
                progress=progress,
            )
    except (IngestError, duckdb.Error) as exc:
        fail(f"{exc} (nothing was imported)")
    if output is OutputFormat.JSON:
        print_json(result.to_dict())
    else:
        _summary(result)
