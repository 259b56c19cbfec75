import json

from headway.engine.catalog import load_catalog


def test_list_table_shows_known_kpis(cli):
    result = cli("catalog", "list")
    assert result.exit_code == 0, result.output
    assert "revenue" in result.stdout
    assert "aov" in result.stdout


def test_list_json_parses_and_has_every_kpi(cli):
    result = cli("catalog", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    ids = {r["id"] for r in records}
    assert {"revenue", "aov"} <= ids
    assert len(records) == len(load_catalog())
    assert {"id", "name", "category", "unit", "direction"} <= set(records[0])


def test_list_filters_by_category_and_search(cli):
    result = cli("catalog", "list", "--category", "customer", "--format", "json")
    records = json.loads(result.stdout)
    assert records and all(r["category"] == "customer" for r in records)
    result = cli("catalog", "list", "--search", "order value", "--format", "json")
    assert "aov" in [r["id"] for r in json.loads(result.stdout)]


def test_list_rejects_unknown_category(cli):
    result = cli("catalog", "list", "--category", "astrology")
    assert result.exit_code != 0


def test_show_table_has_every_section(cli):
    result = cli("catalog", "show", "aov")
    assert result.exit_code == 0, result.output
    for label in ("Average order value", "Formula", "revenue / orders", "Needs", "orders:", "Better when", "Unit"):
        assert label in result.stdout
    for label in ("Thresholds", "Guardrails", "Category", "Indicator", "Default grain"):
        assert label in result.stdout


def test_show_json(cli):
    result = cli("catalog", "show", "revenue", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == "revenue"
    assert data["unit"] == "currency"
    assert data["required_fields"]["orders"] == sorted(data["required_fields"]["orders"])
    assert "total_amount" in data["required_fields"]["orders"]
    assert "total_amount" in data["formula"]


def test_show_unknown_id_suggests_the_closest(cli):
    result = cli("catalog", "show", "revenu")
    assert result.exit_code == 1
    assert "did you mean" in result.stderr
    assert "'revenue'" in result.stderr
    assert "Traceback" not in result.output
