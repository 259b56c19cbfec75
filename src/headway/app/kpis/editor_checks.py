"""Checking a custom KPI written in the editor: YAML, spec schema, validation rules, then a preview of its series.

Everything a user can get wrong comes back as a :class:`Problem` (where, what) rather
than an exception, so the editor can show it next to the text. User SQL never reaches
the warehouse unchecked: the engine parses ``expr``/``filter`` with SQLGlot against its
whitelist (the ``invalid-expression`` rule) before anything is compiled or run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd
import yaml

from headway.app.accounts.models import Organization
from headway.app.kpis.models import KpiDefinition
from headway.app.kpis.refresh import open_engine, org_kpis
from headway.engine.catalog import load_catalog
from headway.engine.errors import ExpressionError, ModelError, SpecError
from headway.engine.loader import parse_kpis, read_yaml
from headway.engine.spec import Kpi, KpiModel
from headway.engine.validation import validate_model
from headway.engine.warehouse import FieldType

MAX_SPEC_CHARS = 20_000
PREVIEW_MONTHS = 12

EXAMPLE_SPEC = """\
# One KPI in Headway's spec format (docs/kpi-spec.md). Lines starting with # are comments.
# expr and filter are SQL over one dataset's columns: arithmetic, CASE, COALESCE,
# comparisons and date functions. Subqueries, other tables and statements are refused.
id: web_revenue                 # lowercase letters, digits and _
name: Web revenue
description: Money from orders placed in the web shop, without cancelled or refunded orders.
category: financial             # financial, customer, operational, marketing_sales, people, esg, ...
indicator: lagging              # leading (predicts results) or lagging (reports them)
direction: higher               # higher or lower is better
unit: currency                  # currency, percent (as a fraction), count, days, ...
default_grain: month            # day, week, month, quarter or year
metric:
  kind: aggregate               # also ratio, derived, cumulative, period_over_period, duration, ...
  dataset: orders
  agg: sum
  expr: total_amount
  filter: "channel = 'web' AND (status IS NULL OR status NOT IN ('cancelled', 'refunded'))"
"""


@dataclass(frozen=True)
class Problem:
    location: str
    message: str


@dataclass
class Check:
    """The outcome of checking the editor's text."""

    kpi: Kpi | None = None
    problems: list[Problem] = field(default_factory=list)
    preview: list[tuple[date, float | None]] | None = None
    """(period, value) for the last 12 months at the KPI's default grain; None when not computed."""

    @property
    def ok(self) -> bool:
        return self.kpi is not None and not self.problems


def _spec_problem(error: SpecError) -> Problem:
    location = ".".join(p for p in (error.kpi, error.field) if p) or "spec"
    return Problem(location, error.message)


def parse_spec(text: str) -> Check:
    """YAML and spec schema: one KPI, or the problems with their line/field."""
    if len(text) > MAX_SPEC_CHARS:
        return Check(problems=[Problem("spec", f"the spec is longer than {MAX_SPEC_CHARS} characters")])
    if not text.strip():
        return Check(problems=[Problem("spec", "the spec is empty: write one KPI in YAML")])
    try:
        data = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
        return Check(problems=[Problem(where, message)])
    kpis, errors = parse_kpis(data)
    if errors:
        return Check(problems=[_spec_problem(e) for e in errors])
    if len(kpis) != 1:
        return Check(problems=[Problem("spec", f"the editor holds exactly one KPI; found {len(kpis)}")])
    return Check(kpi=kpis[0])


def check_spec(text: str, org: Organization, editing: str | None = None) -> Check:
    """Parse, validate against the org's warehouse and KPIs, and preview the series when all is well.

    ``editing`` is the id of the custom KPI being edited (it may keep its id).
    """
    check = parse_spec(text)
    if check.kpi is None:
        return check
    kpi = check.kpi
    catalog = load_catalog()
    own = org_kpis(org)
    if kpi.id != editing and kpi.id in own:
        check.problems.append(Problem(f"{kpi.id}.id", f"your organisation already has a KPI '{kpi.id}'"))
    elif kpi.id != editing and kpi.id in catalog:
        check.problems.append(
            Problem(
                f"{kpi.id}.id",
                f"'{kpi.id}' is a catalog KPI; choose another id (a custom KPI with a catalog id would change"
                " every catalog KPI built on it)",
            )
        )
    others = {k: v for k, v in own.items() if k != editing}
    known = {**catalog.kpis, **others}
    hw = open_engine(org, {**others, kpi.id: kpi})
    try:
        schema = hw.schema
        if not schema:
            check.problems.append(Problem("data", "your organisation has no data yet; upload or connect data first"))
            return check
        errors = validate_model(KpiModel(kpis=(kpi,)), schema=schema, extra_kpis=known)
        check.problems += [_spec_problem(e) for e in errors]
        if not check.problems and kpi.kind != "manual":
            check.preview = _preview(hw, kpi, check)
    finally:
        hw.close()
    return check


def _preview(hw, kpi: Kpi, check: Check) -> list[tuple[date, float | None]] | None:  # type: ignore[no-untyped-def]
    """The KPI's values over the last 12 months of data, computed by the engine as a refresh would."""
    try:
        plan = hw.plan(hw.query(kpi.id, grain=kpi.default_grain))
        if plan is None:
            return []
        last = pd.Timestamp(plan.last)
        since = last - pd.DateOffset(months=PREVIEW_MONTHS)
        df = hw.compute(kpi.id, grain=kpi.default_grain, start=(since + pd.Timedelta(days=1)).date(), end=last.date())
    except (ModelError, ExpressionError, ValueError, duckdb.Error) as exc:
        problems = getattr(exc, "errors", None)
        if problems:
            check.problems += [_spec_problem(e) for e in problems]
        else:
            check.problems.append(Problem("preview", f"cannot compute this KPI: {exc}"))
        return None
    df = df[df["period"] > since]
    return [(p.date(), None if pd.isna(v) else float(v)) for p, v in zip(df["period"], df[kpi.id], strict=True)]


def schema_help(org: Organization) -> list[tuple[str, list[tuple[str, str]]]]:
    """The org's datasets and their columns with types, for the help beside the editor."""
    hw = open_engine(org, {})
    try:
        schema = hw.schema
    finally:
        hw.close()
    return [
        (dataset, [(c, t.value if isinstance(t, FieldType) else str(t)) for c, t in columns.items()])
        for dataset, columns in sorted(schema.items())
    ]


def spec_text(definition: KpiDefinition) -> str:
    """A stored KPI as editor text (YAML, fields in spec order)."""
    return yaml.safe_dump(definition.spec, sort_keys=False, allow_unicode=True, width=100)
