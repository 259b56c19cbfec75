"""Industry templates: valid departments, objectives with 2-3 catalog KPIs, sensible starter goals."""

from __future__ import annotations

import pydantic
import pytest

from headway.engine.catalog import load_catalog
from headway.engine.errors import ModelError
from headway.engine.spec import Direction, Unit
from headway.engine.templates import Template, check_template, get_template, load_templates, parse_template

EXPECTED = {
    "bakery_cafe",
    "restaurant",
    "ecommerce",
    "retail_store",
    "saas",
    "manufacturing",
    "marketing_agency",
    "it_services",
    "logistics",
}


def template_params() -> list[Template]:
    return list(load_templates().values())


def test_every_industry_has_a_template() -> None:
    templates = load_templates()
    assert set(templates) == EXPECTED
    assert load_templates() is templates


@pytest.mark.parametrize("template", template_params(), ids=lambda t: t.id)
def test_template_is_consistent(template: Template) -> None:
    catalog = load_catalog()
    assert check_template(template, catalog) == []
    assert len(template.description) >= 40
    departments = {d.id for d in template.departments}
    roots = [d for d in template.departments if d.parent is None]
    assert len(roots) == 1
    assert len(template.objectives) >= 3
    for objective in template.objectives:
        assert 2 <= len(objective.kpis) <= 3
        assert objective.department in departments
        assert objective.goals, f"{objective.id} has no starter goal"
        for goal in objective.goals:
            kpi = catalog.get(goal.kpi)
            assert goal.kpi in objective.kpis
            assert goal.note
            if goal.direction is not None:
                assert goal.direction is kpi.direction
            if kpi.unit is Unit.PERCENT:
                assert 0 <= goal.target <= 1, f"{goal.kpi}: percent targets are fractions"
            if kpi.thresholds is not None and kpi.direction is Direction.HIGHER:
                assert goal.target >= kpi.thresholds.warning, goal.kpi
            if kpi.thresholds is not None and kpi.direction is Direction.LOWER:
                assert goal.target <= kpi.thresholds.warning, goal.kpi


def test_templates_are_frozen() -> None:
    template = get_template("saas")
    with pytest.raises(pydantic.ValidationError):
        template.name = "x"  # type: ignore[misc]
    assert "mrr" in template.kpi_ids()
    assert template.department("finance").parent == "company"


def test_get_template_suggests() -> None:
    with pytest.raises(KeyError, match="restaurant"):
        get_template("restaurants")


def _minimal(**objective: object) -> dict[str, object]:
    base: dict[str, object] = {"id": "o", "name": "O", "description": "d", "department": "company", "kpis": ["a", "b"]}
    base.update(objective)
    return {
        "id": "t",
        "name": "T",
        "description": "d",
        "departments": [{"id": "company", "name": "Company"}],
        "objectives": [base],
    }


@pytest.mark.parametrize(
    "objective",
    [
        {"kpis": ["a"]},
        {"kpis": ["a", "b", "c", "d"]},
        {"kpis": ["a", "a"]},
        {"department": "nowhere"},
        {"goals": [{"kpi": "z", "target": 1, "deadline_months": 3}]},
    ],
)
def test_invalid_templates_are_rejected(objective: dict[str, object]) -> None:
    with pytest.raises(ModelError):
        parse_template(_minimal(**objective), "t.yaml")


def test_unknown_kpi_is_reported() -> None:
    template = parse_template(_minimal(kpis=["revenue", "revnue"]), "t.yaml")
    problems = check_template(template)
    assert len(problems) == 1 and "did you mean 'revenue'" in problems[0]
