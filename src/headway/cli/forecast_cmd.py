"""`headway forecast`: forecast a KPI from a warehouse or any series from a CSV, with an optional holdout test."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from headway.analytics.forecast import MODELS, Forecast, forecast, mase, smape
from headway.cli.compute_cmd import check_kpi_ids, open_project, run_or_fail
from headway.cli.formatting import (
    DataFormat,
    console,
    err_console,
    fail,
    format_period,
    format_value,
    frame_records,
    key_value_table,
    print_csv,
    print_json,
)
from headway.engine.spec import Grain, Unit


def read_csv_series(path: Path, date_col: str, value_col: str) -> pd.Series:
    """A series from two CSV columns; every unreadable cell is reported with its row (1 = first data row)."""
    if not path.is_file():
        fail(f"CSV file not found: {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        fail(f"cannot read {path}: {exc}")
    for col in (date_col, value_col):
        if col not in frame.columns:
            fail(f"column {col!r} not in {path.name}; its columns are: {', '.join(frame.columns)}")
    raw_dates, raw_values = frame[date_col].str.strip(), frame[value_col].str.strip()
    dates = pd.to_datetime(raw_dates, errors="coerce", format="mixed")
    bad = dates.isna()
    if bad.any():
        row = int(bad.idxmax())
        fail(
            f"{path.name} row {row + 1} (line {row + 2}): cannot read the date {raw_dates[row]!r} in column "
            f"{date_col!r}" + (f" ({int(bad.sum())} unreadable dates in all)" if bad.sum() > 1 else "")
        )
    values = pd.to_numeric(raw_values.str.replace(",", "", regex=False), errors="coerce")
    bad = values.isna() & (raw_values != "")
    if bad.any():
        row = int(bad.idxmax())
        fail(f"{path.name} row {row + 1} (line {row + 2}): {raw_values[row]!r} in column {value_col!r} is not a number")
    dup = dates.duplicated()
    if dup.any():
        row = int(dup.idxmax())
        fail(f"{path.name} row {row + 1} (line {row + 2}): the date {raw_dates[row]} appears twice")
    return pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(dates), name=value_col).sort_index()


def warehouse_series(warehouse: str, kpi: str, grain: Grain) -> tuple[pd.Series, str, Unit]:
    hw = open_project(warehouse)
    try:
        check_kpi_ids(hw, [kpi])
        with err_console.status("Computing the KPI…"):
            df = run_or_fail(hw.compute, [kpi], grain=grain)
        spec = hw.kpis[kpi]
    finally:
        hw.close()
    if df.empty:
        fail(f"no data for {kpi} in the warehouse")
    series = pd.Series(df[kpi].to_numpy(dtype=float), index=pd.DatetimeIndex(df["period"]), name=kpi)
    return series, spec.name, spec.unit


def _fit(y: pd.Series, horizon: int, season_length: int | None, method: str, backtest: bool = True) -> Forecast:
    try:
        return forecast(y, horizon, season_length=season_length, model=method, backtest=backtest)
    except ValueError as exc:
        fail(str(exc))


def holdout_test(y: pd.Series, holdout: int, season_length: int | None, method: str) -> dict[str, Any]:
    """Fit without the last ``holdout`` points, forecast them, and score against a seasonal naive baseline."""
    if holdout >= len(y) - 1:
        fail(f"--holdout {holdout} leaves too little history ({len(y)} periods in all)")
    train, actual = y.iloc[:-holdout], y.iloc[-holdout:]
    auto = _fit(train, holdout, season_length, method, backtest=False)
    naive = _fit(train, holdout, season_length, "seasonal_naive", backtest=False)
    m = season_length or auto_season(train)
    return {
        "periods": holdout,
        "model": auto.model,
        "smape": smape(actual, auto.mean),
        "mase": mase(actual, auto.mean, train, m),
        "seasonal_naive_smape": smape(actual, naive.mean),
        "seasonal_naive_mase": mase(actual, naive.mean, train, m),
        "rows": pd.DataFrame(
            {
                "period": actual.index,
                "actual": actual.to_numpy(),
                "forecast": auto.mean.to_numpy(),
                "seasonal_naive": naive.mean.to_numpy(),
            }
        ),
    }


def auto_season(y: pd.Series) -> int:
    from headway.analytics.forecast.series import read_history

    return read_history(y, None).season_length


def forecast_cmd(
    warehouse: Annotated[
        str | None, typer.Option("--warehouse", "-w", help="DuckDB file (or postgresql:// URL).")
    ] = None,
    kpi: Annotated[str | None, typer.Option("--kpi", "-k", help="KPI id (with --warehouse).")] = None,
    grain: Annotated[Grain, typer.Option(help="Period length of the KPI series (with --warehouse).")] = Grain.MONTH,
    csv: Annotated[Path | None, typer.Option("--csv", help="CSV file with one row per period.")] = None,
    date_col: Annotated[str | None, typer.Option("--date", help="Date column of the CSV (period start).")] = None,
    value_col: Annotated[str | None, typer.Option("--value", help="Value column of the CSV.")] = None,
    horizon: Annotated[int, typer.Option("--horizon", "-h", min=1, help="Periods to forecast.")] = 12,
    holdout: Annotated[
        int | None, typer.Option("--holdout", min=1, help="Also test: fit without the last N points, score on them.")
    ] = None,
    season_length: Annotated[
        int | None, typer.Option("--season-length", min=1, help="Periods per season (default from the frequency).")
    ] = None,
    method: Annotated[str, typer.Option("--method", help=f"Model: {', '.join(MODELS)}.")] = "auto",
    output: Annotated[DataFormat, typer.Option("--format", "-f", help="Output format.")] = DataFormat.TABLE,
) -> None:
    """Forecast a KPI or a CSV series with 80/95% intervals and backtest accuracy."""
    if method not in MODELS:
        fail(f"unknown --method {method!r}; choose one of {', '.join(MODELS)}")
    if (warehouse is None) == (csv is None):
        fail("give either --warehouse PATH --kpi ID, or --csv FILE --date COL --value COL")
    if warehouse is not None:
        if not kpi:
            fail("--warehouse needs --kpi ID")
        y, title, unit = warehouse_series(warehouse, kpi, grain)
    else:
        assert csv is not None
        if not date_col or not value_col:
            fail("--csv needs --date COL and --value COL")
        y, title, unit = read_csv_series(csv, date_col, value_col), value_col, Unit.INDEX
    with err_console.status(f"Fitting and backtesting the forecast of {len(y)} periods…"):
        fc = _fit(y, horizon, season_length, method)
        test = holdout_test(y, holdout, season_length, method) if holdout else None
    frame = fc.to_frame().reset_index()
    if output is DataFormat.JSON:
        print_json(_json(title, fc, frame, test))
    elif output is DataFormat.CSV:
        rows = frame.assign(part="forecast")
        if test is not None:
            rows = pd.concat([test["rows"].rename(columns={"forecast": "mean"}).assign(part="holdout"), rows])
        print_csv(rows[["period", "part", *[c for c in rows.columns if c not in ("period", "part")]]])
    else:
        _print_table(title, unit, grain if csv is None else None, fc, frame, test)


def _json(title: str, fc: Forecast, frame: pd.DataFrame, test: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "series": title,
        "model": fc.model,
        "fallback_used": fc.fallback_used,
        "accuracy": fc.accuracy,
        "accuracy_words": fc.describe_accuracy(),
        "notes": fc.notes,
        "forecast": frame_records(frame),
    }
    if test is not None:
        out["holdout"] = {k: v for k, v in test.items() if k != "rows"} | {"rows": frame_records(test["rows"])}
    return out


def _print_table(
    title: str, unit: Unit, grain: Grain | None, fc: Forecast, frame: pd.DataFrame, test: dict[str, Any] | None
) -> None:
    def period(v: Any) -> str:
        return format_period(v, grain) if grain else pd.Timestamp(v).date().isoformat()

    table = Table(title=escape(f"Forecast of {title} ({fc.model})"), title_justify="left")
    table.add_column("Period", no_wrap=True)
    for col in frame.columns[1:]:
        table.add_column(col.replace("_", " "), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(period(row[0]), *(format_value(v, unit) for v in row[1:]))
    console.print(table)
    summary: list[tuple[str, Any]] = [("Accuracy", fc.describe_accuracy())]
    if fc.accuracy:
        summary.append(("Backtest", f"sMAPE {fc.accuracy['smape']:.1f}%, MASE {fc.accuracy['mase']:.2f}"))
    if test is not None:
        summary.append(
            (
                f"Holdout ({test['periods']})",
                f"sMAPE {test['smape']:.1f}% vs seasonal naive {test['seasonal_naive_smape']:.1f}%; "
                f"MASE {test['mase']:.2f} vs {test['seasonal_naive_mase']:.2f}",
            )
        )
    summary += [("Note", note) for note in fc.notes]
    console.print(key_value_table(summary))
