"""`headway demo-data` (generate a demo business into a warehouse + CSVs) and `headway demo` (the scorecard)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from headway import __version__
from headway.cli.formatting import console, err_console, fail
from headway.demo import BUSINESSES, SIZES, DemoData, generate, write_csvs
from headway.engine.canonical import CANONICAL
from headway.engine.warehouse import DuckDBWarehouse

WAREHOUSE_FILE = "warehouse.duckdb"
DEMO_CURRENCY = "EUR"
"""The demo business's currency: the web demo organisation (accounts.onboarding) uses the same."""
CSV_DIR = "csv"
MARKER_FILE = "headway-demo.json"
"""Written last, so its presence means the folder holds a complete demo of the recorded kind."""


@dataclass(frozen=True)
class DemoInfo:
    business: str
    size: str
    seed: int
    start: date
    end: date
    rows: dict[str, int]
    version: str = __version__

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def read(cls, folder: Path) -> DemoInfo | None:
        try:
            data = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
            return cls(
                business=data["business"],
                size=data["size"],
                seed=int(data["seed"]),
                start=date.fromisoformat(data["start"]),
                end=date.fromisoformat(data["end"]),
                rows={str(k): int(v) for k, v in data["rows"].items()},
                version=str(data.get("version", "")),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def matches(self, business: str, size: str, seed: int) -> bool:
        return (self.business, self.size, self.seed, self.version) == (business, size, seed, __version__)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def build_demo(business: str, size: str, seed: int, out: Path) -> DemoInfo:
    """Generate a demo business and write ``out/warehouse.duckdb``, ``out/csv/*.csv`` and the marker file."""
    try:
        with err_console.status(f"Generating the {business} demo ({size})…"):
            data: DemoData = generate(business, size=size, seed=seed)
    except ValueError as exc:
        fail(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER_FILE).unlink(missing_ok=True)
    # Start from an empty warehouse so no table of an earlier, different demo is left behind.
    for stale in (out / WAREHOUSE_FILE, out / f"{WAREHOUSE_FILE}.wal"):
        stale.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    with _progress() as progress:
        task = progress.add_task("Loading the warehouse", total=len(data.datasets))
        wh = DuckDBWarehouse(out / WAREHOUSE_FILE)
        try:
            for name, df in data.datasets.items():
                progress.update(task, description=f"Loading [cyan]{name}[/] ({len(df):,} rows)")
                rows[name] = wh.load_frame(name, df, dataset_type=name if name in CANONICAL else None)
                progress.advance(task)
        finally:
            wh.close()
        csv_task = progress.add_task("Writing CSV files", total=1)
        write_csvs(data, out / CSV_DIR)
        progress.advance(csv_task)
    info = DemoInfo(data.business, size, seed, data.start, data.end, rows)
    (out / MARKER_FILE).write_text(json.dumps(info.to_json(), indent=2) + "\n", encoding="utf-8")
    return info


def print_summary(info: DemoInfo, out: Path, reused: bool = False) -> None:
    console.print(f"[bold]Demo data:[/] {info.business} ({info.size}, seed {info.seed})")
    table = Table()
    table.add_column("Dataset", style="cyan")
    table.add_column("Rows", justify="right")
    for name, n in info.rows.items():
        table.add_row(name, f"{n:,}")
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{sum(info.rows.values()):,}[/]")
    console.print(table)
    verb = "Reused" if reused else "Wrote"
    console.print(f"Dates: {info.start.isoformat()} to {info.end.isoformat()}")
    console.print(f"{verb} [bold]{escape(str(out / WAREHOUSE_FILE))}[/] and {escape(str(out / CSV_DIR))}/*.csv")


def demo_data(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write warehouse.duckdb and csv/ into.")],
    business: Annotated[str, typer.Option(help=f"Kind of business: {', '.join(BUSINESSES)}.")] = "ecommerce",
    size: Annotated[str, typer.Option(help=f"How much data: {', '.join(SIZES)}.")] = "small",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 42,
) -> None:
    """Generate a demo business's data into a DuckDB warehouse and CSV files."""
    if size not in SIZES:
        fail(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    info = build_demo(business, size, seed, out)
    print_summary(info, out)


def ensure_demo(folder: Path, business: str, size: str, seed: int) -> tuple[DemoInfo, bool]:
    """The demo in ``folder``, generated unless one of the same kind, size and seed is already there."""
    info = DemoInfo.read(folder)
    if info is not None and info.matches(business, size, seed) and (folder / WAREHOUSE_FILE).is_file():
        return info, True
    return build_demo(business, size, seed, folder), False


def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Folder for the demo data (reused when already there).")] = Path(
        "demo-data"
    ),
    size: Annotated[str, typer.Option(help=f"How much data: {', '.join(SIZES)}.")] = "small",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
) -> None:
    """Generate the e-commerce demo (once) and print its KPI scorecard."""
    from headway.cli.scorecard import print_next_steps, print_scorecard

    if size not in SIZES:
        fail(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    info, reused = ensure_demo(folder, "ecommerce", size, seed)
    if reused:
        console.print(f"[dim]Using the demo data already in {escape(str(folder))} (seed {seed}, {size}).[/]")
    else:
        print_summary(info, folder)
    print_scorecard(folder / WAREHOUSE_FILE, "ecommerce", currency=DEMO_CURRENCY)
    print_next_steps(folder / WAREHOUSE_FILE)
