"""`headway churn`: train a churn model on a customer table exported from a CRM and report its quality."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from headway.analytics.churn import FEATURES, TableResult, fit_table
from headway.cli.formatting import DataFormat, console, fail, key_value_table, print_csv, print_json


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        fail(f"CSV file not found: {path}")
    try:
        return pd.read_csv(path, keep_default_na=False)  # 'n/a' in a label is shown as written
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        fail(f"cannot read {path}: {exc}")


def _drivers(result: TableResult, top: int) -> pd.DataFrame:
    share = result.importance / result.importance.sum()
    return pd.DataFrame(
        {
            "feature": result.importance.index[:top],
            "mean_abs_shap": result.importance.to_numpy()[:top].round(4),
            "share": share.to_numpy()[:top].round(4),
            "meaning": [FEATURES.get(f, "") for f in result.importance.index[:top]],
        }
    )


def churn(
    csv: Annotated[Path, typer.Option("--csv", help="Customer table: one row per customer.")],
    label: Annotated[str, typer.Option("--label", help="The churned yes/no column.")],
    id_col: Annotated[str | None, typer.Option("--id", help="Customer id column (not used as a feature).")] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, max=20, help="Cross-validation folds.")] = 5,
    top: Annotated[int, typer.Option("--top", min=1, help="How many drivers to list.")] = 10,
    scores: Annotated[
        Path | None, typer.Option("--scores", help="Write each customer's out-of-fold churn probability here (CSV).")
    ] = None,
    fmt: Annotated[
        DataFormat, typer.Option("--format", "-f", help="table, csv (the drivers) or json.")
    ] = DataFormat.TABLE,
) -> None:
    """Train a churn model (LightGBM) on a customer table; report cross-validated AUC, calibration and drivers."""
    df = _read(csv)
    with console.status(f"Training on {len(df):,} customers with {folds}-fold cross-validation…"):
        try:
            result = fit_table(df, label=label, id_col=id_col, folds=folds)
        except ValueError as exc:
            fail(str(exc))
    drivers = _drivers(result, top)
    if scores is not None:
        result.scores.reset_index().to_csv(scores, index=False)
    if fmt is DataFormat.JSON:
        print_json(
            {
                "rows": result.rows,
                "churn_rate": result.churn_rate,
                "auc": result.auc,
                "auc_folds": result.auc_folds,
                "brier": result.brier,
                "brier_base_rate": result.brier_base_rate,
                "reliability": result.reliability,
                "drivers": drivers.to_dict("records"),
                "notes": result.notes,
            }
        )
        return
    if fmt is DataFormat.CSV:
        print_csv(drivers)
        return
    folds_text = ", ".join(f"{a:.3f}" for a in result.auc_folds)
    console.print(
        key_value_table(
            [
                ("customers", f"{result.rows:,} ({result.churn_rate:.1%} churned)"),
                ("AUC (out of fold)", f"{result.auc:.3f}  (folds: {folds_text})"),
                ("Brier score", f"{result.brier:.4f}  (always guessing the churn rate: {result.brier_base_rate:.4f})"),
            ],
            title=f"Churn model on {csv.name}, label {label!r}",
        )
    )
    calib = Table(title="Calibration: five groups by predicted risk", title_justify="left", min_width=44)
    for col in ("predicted", "observed", "customers"):
        calib.add_column(col, justify="right")
    for b in result.reliability:
        calib.add_row(f"{b['predicted']:.1%}", f"{b['observed']:.1%}", f"{b['n']:,.0f}")
    console.print(calib)
    table = Table(title="Top drivers (share of mean |SHAP|)", title_justify="left", min_width=44)
    table.add_column("feature")
    table.add_column("share", justify="right")
    for row in drivers.itertuples():
        table.add_row(str(row.feature), f"{row.share:.0%}")
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}")
    if scores is not None:
        console.print(f"Per-customer probabilities written to {scores}")
