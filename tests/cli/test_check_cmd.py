from pathlib import Path

GOOD = """
kpis:
  - id: web_orders
    name: Web orders
    category: financial
    metric: {kind: aggregate, dataset: orders, agg: count, filter: "channel = 'web'"}
  - id: web_share
    name: Web share of revenue
    category: financial
    unit: percent
    metric: {kind: ratio, numerator: {kpi: web_orders}, denominator: {kpi: orders}}
"""

BAD = """
kpis:
  - id: broken
    name: Broken
    category: financial
    metric: {kind: aggregate, dataset: orders, agg: sum, expr: totl_amount}
"""


def test_good_file_passes(cli, tmp_path: Path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    result = cli("check", path)
    assert result.exit_code == 0, result.output
    assert "OK: 2 KPIs" in result.stdout


def test_bad_file_reports_location(cli, tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = cli("check", path)
    assert result.exit_code == 1
    assert f"{path}:broken:metric.expr:" in result.stderr
    assert "total_amount" in result.stderr  # the did-you-mean
    assert "[unknown-column]" in result.stderr


def test_missing_and_invalid_yaml(cli, tmp_path: Path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("kpis: [\n")
    result = cli("check", broken, tmp_path / "absent.yaml")
    assert result.exit_code == 1
    assert "invalid YAML" in result.stderr
    assert "absent.yaml" in result.stderr


def test_check_against_a_warehouse(cli, tmp_path: Path, warehouse: Path):
    path = tmp_path / "subs.yaml"
    path.write_text(
        "kpis:\n  - {id: subs, name: Subs, category: financial, "
        "metric: {kind: aggregate, dataset: subscriptions, agg: count}}\n"
    )
    assert cli("check", path).exit_code == 0
    result = cli("check", path, "--warehouse", warehouse)
    assert result.exit_code == 1
    assert "subscriptions" in result.stderr
