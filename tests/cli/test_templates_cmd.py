import json

import pytest

from headway.engine.templates import load_templates

pytestmark = pytest.mark.skipif(not load_templates(), reason="no templates shipped yet")


def test_list_table_and_json(cli):
    result = cli("templates", "list")
    assert result.exit_code == 0, result.output
    assert "ecommerce" in result.stdout
    records = json.loads(cli("templates", "list", "--format", "json").stdout)
    assert "ecommerce" in {r["id"] for r in records}


def test_show_table_lists_objectives_kpis_and_goals(cli):
    template = load_templates()["ecommerce"]
    result = cli("templates", "show", "ecommerce")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Departments" in out
    for objective in template.objectives:
        assert objective.name[:20] in out
        for kpi in objective.kpis:
            assert kpi in out
    if any(o.goals for o in template.objectives):
        assert "goal:" in out


def test_show_json_round_trips(cli):
    data = json.loads(cli("templates", "show", "ecommerce", "--format", "json").stdout)
    assert data["id"] == "ecommerce"
    assert data["objectives"][0]["kpis"]


def test_show_unknown_template(cli):
    result = cli("templates", "show", "ecomerce")
    assert result.exit_code == 1
    assert "ecommerce" in result.stderr
