import io
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

import headway
from headway.demo import DemoData


def _api(warehouse: Path, kpis, **options) -> pd.DataFrame:
    hw = headway.open(str(warehouse))
    try:
        return hw.compute(kpis, **options)
    finally:
        hw.close()


def pandas_revenue_by_month(data: DemoData) -> pd.Series:
    """Revenue by hand: total_amount of orders not cancelled or refunded, summed per calendar month."""
    orders = data.datasets["orders"]
    kept = orders[~orders["status"].isin(["cancelled", "refunded"])]
    month = kept["ordered_at"].dt.to_period("M").dt.to_timestamp()
    return kept.groupby(month)["total_amount"].sum()


def test_demo_data_tables_match_generated_frames(demo_dir: Path, demo_data: DemoData):
    con = duckdb.connect(str(demo_dir / "warehouse.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert tables == set(demo_data.datasets)
        for name, df in demo_data.datasets.items():
            assert con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] == len(df), name
    finally:
        con.close()
    assert sorted(p.stem for p in (demo_dir / "csv").glob("*.csv")) == sorted(demo_data.datasets)
    assert len(pd.read_csv(demo_dir / "csv" / "orders.csv")) == len(demo_data.datasets["orders"])


def test_json_equals_python_api_and_pandas(cli, warehouse: Path, demo_data: DemoData):
    result = cli("compute", "--warehouse", warehouse, "--kpi", "revenue", "--kpi", "aov", "--format", "json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert records[0]["period"] == "2022-01-01"
    assert set(records[0]) == {"period", "revenue", "aov"}

    expected = _api(warehouse, ["revenue", "aov"])
    assert [r["period"] for r in records] == [p.date().isoformat() for p in expected["period"]]
    for kpi in ("revenue", "aov"):
        got = np.array([np.nan if r[kpi] is None else r[kpi] for r in records], dtype=float)
        assert_allclose(got, expected[kpi].to_numpy(), rtol=1e-12, equal_nan=True)

    by_hand = pandas_revenue_by_month(demo_data)
    cli_revenue = pd.Series({pd.Timestamp(r["period"]): r["revenue"] for r in records})
    assert list(cli_revenue.index) == list(by_hand.index)
    assert_allclose(cli_revenue.to_numpy(), by_hand.to_numpy(), rtol=1e-9)


def test_csv_by_channel_equals_python_api(cli, warehouse: Path):
    args = ["--kpi", "revenue", "--kpi", "orders", "--by", "channel", "--from", "2024-01-01", "--to", "2024-06-30"]
    result = cli("compute", "--warehouse", warehouse, *args, "--format", "csv")
    assert result.exit_code == 0, result.output
    got = pd.read_csv(io.StringIO(result.stdout))
    assert list(got.columns) == ["period", "channel", "revenue", "orders"]
    assert got["period"].min() == "2024-01-01" and got["period"].max() == "2024-06-01"
    expected = _api(warehouse, ["revenue", "orders"], by="channel", start="2024-01-01", end="2024-06-30")
    assert len(got) == len(expected)
    assert list(got["channel"]) == list(expected["channel"])
    assert_allclose(got["revenue"], expected["revenue"], rtol=1e-12)
    assert_allclose(got["orders"], expected["orders"], rtol=1e-12)
    # The channels add up to the total.
    total = _api(warehouse, "revenue", start="2024-01-01", end="2024-06-30")
    assert_allclose(got.groupby("period")["revenue"].sum().to_numpy(), total["revenue"].to_numpy(), rtol=1e-9)


def test_table_formats_values_by_unit(cli, warehouse: Path):
    args = ["--kpi", "revenue", "--kpi", "orders", "--kpi", "gross_margin_pct", "--from", "2024-03-01"]
    result = cli("compute", "--warehouse", warehouse, *args, "--to", "2024-03-31")
    assert result.exit_code == 0, result.output
    row = _api(warehouse, ["revenue", "orders", "gross_margin_pct"], start="2024-03-01", end="2024-03-31").iloc[0]
    out = result.stdout
    assert "2024-03" in out
    assert f"{row['revenue']:,.2f}" in out
    assert f"{row['orders']:,.0f}" in out
    assert f"{row['gross_margin_pct'] * 100:.1f}%" in out
    assert "Revenue" in out and "(currency)" in out


def test_grain_quarter_and_timezone(cli, warehouse: Path):
    args = ["--kpi", "orders", "--grain", "quarter", "--timezone", "Europe/Berlin", "--format", "json"]
    result = cli("compute", "--warehouse", warehouse, *args)
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["period"][5:] for r in records[:4]] == ["01-01", "04-01", "07-01", "10-01"]


def test_sql_prints_the_query(cli, warehouse: Path):
    result = cli("compute", "--warehouse", warehouse, "--kpi", "revenue", "--sql")
    assert result.exit_code == 0, result.output
    assert "SELECT" in result.stdout.upper()
    assert "total_amount" in result.stdout


def test_unknown_kpi_suggests(cli, warehouse: Path):
    result = cli("compute", "--warehouse", warehouse, "--kpi", "revenu")
    assert result.exit_code == 1
    assert "did you mean 'revenue'" in result.stderr
    assert "Traceback" not in result.output


def test_bad_inputs_fail_with_one_message(cli, warehouse: Path, tmp_path: Path):
    cases = [
        (["--kpi", "revenue", "--from", "2024-13-01"], "--from"),
        (["--kpi", "revenue", "--from", "2024-06-01", "--to", "2024-01-01"], "before"),
        (["--kpi", "revenue", "--by", "planet"], "planet"),
        (["--kpi", "mrr"], "subscriptions"),
        (["--kpi", "revenue", "--timezone", "Mars/Olympus"], "time zone"),
        (["--kpi", "revenue", "--week-start", "someday"], "weekday"),
    ]
    for args, needle in cases:
        result = cli("compute", "--warehouse", warehouse, *args)
        assert result.exit_code == 1, (args, result.output)
        assert needle in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    missing = cli("compute", "--warehouse", tmp_path / "nope.duckdb", "--kpi", "revenue")
    assert missing.exit_code == 1 and "not found" in missing.stderr
    assert not (tmp_path / "nope.duckdb").exists()


def test_model_file_adds_a_kpi(cli, warehouse: Path, tmp_path: Path):
    model = tmp_path / "mine.yaml"
    model.write_text(
        "kpis:\n"
        "  - id: web_revenue\n"
        "    name: Web revenue\n"
        "    category: financial\n"
        "    unit: currency\n"
        "    metric: {kind: aggregate, dataset: orders, agg: sum, expr: total_amount, filter: \"channel = 'web'\"}\n"
    )
    result = cli("compute", "-w", warehouse, "--kpi", "web_revenue", "--model", model, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["web_revenue"] > 0
