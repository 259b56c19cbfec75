import re
from datetime import date
from pathlib import Path

import pytest

import headway
from headway.cli.scorecard import growth, latest_complete_month, sparkline, status
from headway.engine.catalog import load_catalog


def test_version(cli):
    result = cli("version")
    assert result.exit_code == 0
    assert result.stdout.strip() == headway.__version__


def test_demo_prints_scorecard_and_reuses_data(cli, tmp_path: Path):
    folder = tmp_path / "demo-data"
    result = cli("demo", "--dir", folder, "--size", "tiny")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "December 2024" in out
    assert "latest complete month" in out
    assert "Data as of 2024-12-31" in out
    assert re.search(r"[▁▂▃▄▅▆▇█]{6,}", out)
    assert "headway compute" in out
    # Money carries its currency (the web demo organisation's, EUR); percentages and days keep theirs.
    aov_line = next(line for line in out.splitlines() if "Average order" in line)
    assert re.search(r"€\d[\d,]*\.\d\d", aov_line), aov_line
    assert re.search(r"Revenue growth\s+-?\d+\.\d%", out)
    assert (folder / "warehouse.duckdb").is_file()
    assert (folder / "headway-demo.json").is_file()
    stamp = (folder / "warehouse.duckdb").stat().st_mtime_ns

    again = cli("demo", "--dir", folder, "--size", "tiny")
    assert again.exit_code == 0, again.output
    assert "already in" in again.stdout
    assert (folder / "warehouse.duckdb").stat().st_mtime_ns == stamp

    other_seed = cli("demo", "--dir", folder, "--size", "tiny", "--seed", "8")
    assert other_seed.exit_code == 0
    assert "already in" not in other_seed.stdout


def test_demo_data_rejects_unknown_business(cli, tmp_path: Path):
    result = cli("demo-data", "--business", "spaceport", "--out", tmp_path)
    assert result.exit_code == 1
    assert "ecommerce" in result.stderr


def test_latest_complete_month_never_scores_a_partial_month():
    assert latest_complete_month(date(2024, 12, 31)) == date(2024, 12, 1)
    assert latest_complete_month(date(2024, 12, 30)) == date(2024, 11, 1)
    assert latest_complete_month(date(2024, 3, 1)) == date(2024, 2, 1)
    assert latest_complete_month(date(2024, 2, 29)) == date(2024, 2, 1)


def test_sparkline():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1, None, 1]) == "▅ ▅"
    assert sparkline([]) == ""


def test_status_reads_thresholds_in_direction():
    on_value = [k for k in load_catalog().kpis.values() if k.thresholds and k.thresholds.basis == "value"]
    higher = next(k for k in on_value if k.direction == "higher")
    lower = next(k for k in on_value if k.direction == "lower")
    t = higher.thresholds
    assert status(higher, t.good, None) == "good"
    assert status(higher, t.warning, None) == "warning"
    assert status(higher, t.warning - abs(t.warning) - 1, None) == "bad"
    t = lower.thresholds
    assert status(lower, t.good, None) == "good"
    assert status(lower, t.warning, None) == "warning"
    assert status(lower, t.warning + abs(t.warning) + 1, None) == "bad"
    assert status(higher, None, None) is None


def test_growth():
    assert growth(110, 100) == pytest.approx(0.1)
    assert growth(1, 0) is None
    assert growth(None, 1) is None


def test_scorecard_skips_a_partial_month(tmp_path: Path, demo_data, capsys):
    from headway.cli.scorecard import print_scorecard
    from headway.engine.canonical import CANONICAL
    from headway.engine.warehouse import DuckDBWarehouse

    path = tmp_path / "partial.duckdb"
    wh = DuckDBWarehouse(path)
    for name, df in demo_data.datasets.items():
        time_field = CANONICAL[name].time_field if name in CANONICAL else ""
        if time_field and time_field in df:
            df = df[df[time_field] < "2024-12-16"]
        wh.load_frame(name, df, dataset_type=name if name in CANONICAL else None)
    wh.close()
    print_scorecard(path, "ecommerce")
    out = capsys.readouterr().out
    assert "November 2024 (latest complete month)" in out
    # Rows placed in time by a later timestamp (an order fulfilled the next day) may run a little past the cut.
    assert re.search(r"Data as of 2024-12-1[5-9]\.", out)
    assert "December 2024 is not complete yet" in out


def test_unavailable_kpis_get_a_reason(warehouse: Path):
    from headway.cli.scorecard import unavailable_reason
    from headway.engine.spec import Manual

    hw = headway.open(str(warehouse))
    try:
        schema = hw.schema
        assert unavailable_reason(hw.kpis["revenue"], hw, schema) is None
        assert "subscriptions" in unavailable_reason(hw.kpis["mrr"], hw, schema)
        manual = next(k for k in hw.kpis.values() if isinstance(k.metric, Manual))
        assert "by hand" in unavailable_reason(manual, hw, schema)
    finally:
        hw.close()
