"""Industry templates: departments, objectives linked to 2-3 catalog KPIs, and starter goals.

A template is YAML data inside the package (``headway/catalog/templates/<id>.yaml``). It
gives a new organisation of a given kind (bakery, SaaS, logistics, ...) a ready set of
departments and objectives, each measured by two or three KPIs from the catalog, with
starter goals the owner then adjusts to their own baseline.
"""

from __future__ import annotations

import difflib
import functools
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from headway.engine.catalog import Catalog, load_catalog
from headway.engine.errors import ModelError, SpecError
from headway.engine.loader import read_yaml
from headway.engine.spec import Direction

TEMPLATE_FOLDER = "templates"
_ID = r"^[a-z][a-z0-9_]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Department(_Frozen):
    id: str = Field(pattern=_ID)
    name: str
    parent: str | None = None


class StarterGoal(_Frozen):
    """A first target on one of the objective's KPIs, in the KPI's unit (percentages as fractions)."""

    kpi: str
    target: float
    direction: Direction | None = None
    """Reach at least (higher) or at most (lower) the target; defaults to the KPI's own direction."""
    deadline_months: int = Field(ge=1, le=60)
    note: str = ""
    """Why this target, and how to adjust it to your own baseline."""


class Objective(_Frozen):
    id: str = Field(pattern=_ID)
    name: str
    description: str
    department: str
    kpis: tuple[str, ...] = Field(min_length=2, max_length=3)
    goals: tuple[StarterGoal, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Objective:
        if len(set(self.kpis)) != len(self.kpis):
            raise ValueError(f"objective '{self.id}' lists a KPI twice")
        for goal in self.goals:
            if goal.kpi not in self.kpis:
                raise ValueError(f"goal on '{goal.kpi}' is not one of the objective's KPIs {list(self.kpis)}")
        return self


class Template(_Frozen):
    id: str = Field(pattern=_ID)
    name: str
    description: str
    departments: tuple[Department, ...] = Field(min_length=1)
    objectives: tuple[Objective, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Template:
        ids = [d.id for d in self.departments]
        if len(set(ids)) != len(ids):
            raise ValueError("department ids must be unique")
        for d in self.departments:
            if d.parent is not None and d.parent not in ids:
                raise ValueError(f"department '{d.id}' has unknown parent '{d.parent}'")
        objective_ids = [o.id for o in self.objectives]
        if len(set(objective_ids)) != len(objective_ids):
            raise ValueError("objective ids must be unique")
        for o in self.objectives:
            if o.department not in ids:
                raise ValueError(f"objective '{o.id}' names unknown department '{o.department}'")
        return self

    def kpi_ids(self) -> list[str]:
        """Every KPI the template uses, in order of first appearance."""
        return list(dict.fromkeys(k for o in self.objectives for k in o.kpis))

    def department(self, department_id: str) -> Department:
        return next(d for d in self.departments if d.id == department_id)


def check_template(template: Template, catalog: Catalog | None = None) -> list[str]:
    """Problems with the template's KPI references (empty: every KPI exists in the catalog)."""
    catalog = catalog if catalog is not None else load_catalog()
    problems = []
    for objective in template.objectives:
        for kpi_id in objective.kpis:
            if kpi_id not in catalog:
                guess = difflib.get_close_matches(kpi_id, list(catalog.kpis), n=1)
                hint = f"; did you mean '{guess[0]}'?" if guess else ""
                problems.append(f"{template.id}: objective '{objective.id}' names unknown KPI '{kpi_id}'{hint}")
    return problems


def parse_template(data: Any, source: str) -> Template:
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        errors = [
            SpecError("schema", e["msg"], source, None, ".".join(str(p) for p in e["loc"]) or None)
            for e in exc.errors()
        ]
        raise ModelError(errors) from None


@functools.cache
def load_templates() -> dict[str, Template]:
    """Every template shipped with the package, by id (read once, then cached)."""
    folder = resources.files("headway.catalog").joinpath(TEMPLATE_FOLDER)
    templates: dict[str, Template] = {}
    errors: list[SpecError] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        source = f"{TEMPLATE_FOLDER}/{entry.name}"
        try:
            template = parse_template(read_yaml(entry.read_text(encoding="utf-8")), source)
        except ModelError as exc:
            errors += exc.errors
            continue
        except yaml.YAMLError as exc:
            errors.append(SpecError("syntax", f"invalid YAML: {exc}", source))
            continue
        if template.id != entry.name.removesuffix(".yaml"):
            errors.append(SpecError("schema", f"template id '{template.id}' does not match the file name", source))
        templates[template.id] = template
    if errors:
        raise ModelError(errors)
    return templates


def get_template(template_id: str) -> Template:
    """The template with this id; ``KeyError`` naming the closest id if there is none."""
    templates = load_templates()
    try:
        return templates[template_id]
    except KeyError:
        guess = difflib.get_close_matches(template_id, list(templates), n=1, cutoff=0.5)
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
        raise KeyError(f"no template '{template_id}'{hint} (known: {', '.join(sorted(templates))})") from None
