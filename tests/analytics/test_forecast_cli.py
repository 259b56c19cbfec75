"""`headway forecast` from a warehouse and from a CSV, holdout scoring, output formats and bad-CSV errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

import headway
from headway.analytics.forecast import forecast, smape
from headway.cli.main import app


def run(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fc_demo")
    result = run("demo-data", "--business", "ecommerce", "--size", "tiny", "--seed", 3, "--out", out)
    assert result.exit_code == 0, result.output
    return out / "warehouse.duckdb"


@pytest.fixture
def series_csv(tmp_path: Path) -> tuple[Path, pd.Series]:
    rng = np.random.default_rng(2)
    idx = pd.date_range("2020-01-01", periods=48, freq="MS")
    y = pd.Series(
        1000 * (1 + 0.2 * np.sin(2 * np.pi * np.arange(48) / 12)) * np.exp(rng.normal(0, 0.05, 48)), index=idx
    ).round(2)
    path = tmp_path / "sales.csv"
    pd.DataFrame({"month": idx.strftime("%Y-%m-%d"), "sales": y.to_numpy(), "other": 1}).to_csv(path, index=False)
    return path, y


def test_warehouse_kpi_json_matches_the_python_api(warehouse: Path) -> None:
    result = run("forecast", "--warehouse", warehouse, "--kpi", "revenue", "--horizon", 5, "--holdout", 4, "-f", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    hw = headway.open(str(warehouse))
    try:
        df = hw.compute(["revenue"], grain="month")
    finally:
        hw.close()
    y = pd.Series(df["revenue"].to_numpy(), index=pd.DatetimeIndex(df["period"]))
    expected = forecast(y, 5)
    assert [r["period"] for r in out["forecast"]] == [d.date().isoformat() for d in expected.mean.index]
    np.testing.assert_allclose([r["mean"] for r in out["forecast"]], expected.mean, rtol=1e-6)
    np.testing.assert_allclose([r["upper_95"] for r in out["forecast"]], expected.upper[95], rtol=1e-6)
    assert out["accuracy_words"] == expected.describe_accuracy()
    hold = out["holdout"]
    assert hold["periods"] == 4 and len(hold["rows"]) == 4
    np.testing.assert_allclose([r["actual"] for r in hold["rows"]], y.iloc[-4:])
    # the reported sMAPE is the one of the rows shown, and the baseline is last season's value
    assert hold["smape"] == pytest.approx(
        smape([r["actual"] for r in hold["rows"]], [r["forecast"] for r in hold["rows"]])
    )
    np.testing.assert_allclose([r["seasonal_naive"] for r in hold["rows"]], y.iloc[-4 - 12 : -12])


def test_csv_series_csv_output_with_holdout(series_csv: tuple[Path, pd.Series]) -> None:
    path, y = series_csv
    result = run(
        "forecast",
        "--csv",
        path,
        "--date",
        "month",
        "--value",
        "sales",
        "--horizon",
        6,
        "--holdout",
        12,
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    out = pd.read_csv(io.StringIO(result.stdout))
    hold, fut = out[out["part"] == "holdout"], out[out["part"] == "forecast"]
    assert len(hold) == 12 and len(fut) == 6
    np.testing.assert_allclose(hold["actual"], y.iloc[-12:])
    assert fut["period"].tolist() == [d.date().isoformat() for d in pd.date_range("2024-01-01", periods=6, freq="MS")]
    assert (fut["lower_95"] <= fut["lower_80"]).all() and (fut["lower_80"] <= fut["mean"]).all()
    assert (fut["mean"] <= fut["upper_80"]).all() and (fut["upper_80"] <= fut["upper_95"]).all()
    # a learnable seasonal series: the forecaster beats the seasonal naive baseline on the holdout
    assert smape(hold["actual"], hold["mean"]) < smape(hold["actual"], hold["seasonal_naive"])


def test_table_output_says_accuracy_in_words(series_csv: tuple[Path, pd.Series]) -> None:
    path, _ = series_csv
    result = run("forecast", "--csv", path, "--date", "month", "--value", "sales", "--holdout", 6)
    assert result.exit_code == 0, result.output
    assert "Forecast of sales" in result.stdout
    assert "typically within ±" in result.stdout and "a month ahead" in result.stdout
    assert "vs seasonal naive" in result.stdout


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            {"month": ["2024-01-01", "2024-02-01"], "amount": [1, 2]},
            "column 'sales' not in bad.csv; its columns are: month, amount",
        ),
        (
            {"month": ["2024-01-01", "2024-02-01", "2024-13-01", "2024-04-01"], "sales": [1, 2, 3, 4]},
            "bad.csv row 3 (line 4): cannot read the date '2024-13-01' in column 'month'",
        ),
        (
            {"month": ["2024-01-01", "2024-02-01", "2024-03-01"], "sales": ["1", "two", "3"]},
            "bad.csv row 2 (line 3): 'two' in column 'sales' is not a number",
        ),
        (
            {"month": ["2024-01-01", "2024-02-01", "2024-01-01"], "sales": [1, 2, 3]},
            "bad.csv row 3 (line 4): the date 2024-01-01 appears twice",
        ),
        (
            {"month": ["2024-01-01", "2024-01-09", "2024-03-01", "2024-05-17"], "sales": [1, 2, 3, 4]},
            "not evenly spaced",
        ),
    ],
)
def test_bad_csv_gets_one_clear_error(tmp_path: Path, rows: dict, message: str) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    result = run("forecast", "--csv", path, "--date", "month", "--value", "sales")
    assert result.exit_code == 1
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_option_errors(warehouse: Path, series_csv: tuple[Path, pd.Series]) -> None:
    path, _ = series_csv
    assert "give either --warehouse" in run("forecast", "--horizon", 3).stderr
    assert "--warehouse needs --kpi" in run("forecast", "--warehouse", warehouse).stderr
    unknown = run("forecast", "--warehouse", warehouse, "--kpi", "revenu")
    assert unknown.exit_code == 1 and "revenue" in unknown.stderr
    assert (
        "unknown --method 'magic'"
        in run("forecast", "--csv", path, "--date", "month", "--value", "sales", "--method", "magic").stderr
    )
    too_long = run("forecast", "--csv", path, "--date", "month", "--value", "sales", "--holdout", 47)
    assert too_long.exit_code == 1 and "--holdout 47 leaves too little history" in too_long.stderr
