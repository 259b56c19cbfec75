"""Semantic checks of a KPI model: a list of small rules, each returning typed errors.

The pydantic specs catch malformed YAML; these rules catch models that are well
formed but wrong: a dataset or column that does not exist, a formula that is not
allowed, a reference to a missing KPI, a cycle, a sum of a text column, a running
total of a ratio. Every error names the file, the KPI and the field at fault.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlglot import exp

from headway.engine.canonical import DATASET_TYPES, FieldType
from headway.engine.errors import ExpressionError, ModelError, SpecError
from headway.engine.expressions import (
    infer_type,
    parse_expression,
    parse_formula,
    referenced_columns,
    referenced_kpis,
    unknown_name_message,
)
from headway.engine.loader import load_model
from headway.engine.spec import (
    Agg,
    Aggregate,
    Composite,
    Cumulative,
    Derived,
    Duration,
    Kpi,
    KpiModel,
    KpiRef,
    PeriodOverPeriod,
    Ratio,
    Retention,
    Snapshot,
    Window,
)

Schema = Mapping[str, Mapping[str, FieldType]]
"""Dataset name -> column name -> type."""

DatasetMetric = Aggregate | Duration | Retention | Snapshot
"""Metric parts that read one dataset directly."""

_NUMERIC_AGGS = frozenset({Agg.SUM, Agg.AVG, Agg.MEDIAN, Agg.PERCENTILE})


def canonical_schema() -> dict[str, dict[str, FieldType]]:
    return {t.name: t.column_types() for t in DATASET_TYPES}


def canonical_time_fields() -> dict[str, str]:
    """Dataset -> the column rows are placed in time by ("" when the type has none)."""
    return {t.name: t.time_field for t in DATASET_TYPES}


@dataclass(frozen=True)
class ValidationContext:
    schema: Schema
    known_kpis: Mapping[str, Kpi] = field(default_factory=dict)
    """KPIs available beyond the model (e.g. the catalog)."""
    time_fields: Mapping[str, str] = field(default_factory=canonical_time_fields)
    """Dataset -> default time column, used when a metric gives no ``time:``."""
    unchecked_kpis: frozenset[str] = frozenset()
    """Ids of KPIs that exist but could not be loaded: referring to them is not an error here."""

    def columns(self, dataset: str) -> Mapping[str, FieldType] | None:
        return self.schema.get(dataset)

    def default_time(self, dataset: str) -> str | None:
        """The dataset's default time column, if it has one that the schema knows."""
        name = self.time_fields.get(dataset, "")
        columns = self.schema.get(dataset, {})
        return name if name and name in columns else None


class Rule(Protocol):
    name: str

    def check(self, model: KpiModel, ctx: ValidationContext) -> list[SpecError]: ...


# --- walking a KPI's metric ---------------------------------------------------------


@dataclass(frozen=True)
class DatasetUse:
    """A part of a metric that reads a dataset, and the field path it sits at."""

    path: str
    metric: DatasetMetric


def dataset_uses(kpi: Kpi) -> list[DatasetUse]:
    metric = kpi.metric
    if isinstance(metric, Aggregate | Duration | Retention | Snapshot):
        return [DatasetUse("metric", metric)]
    if isinstance(metric, Ratio):
        return [
            DatasetUse(f"metric.{side}", operand)
            for side, operand in (("numerator", metric.numerator), ("denominator", metric.denominator))
            if isinstance(operand, Aggregate)
        ]
    return []


def column_fields(metric: DatasetMetric) -> list[tuple[str, str]]:
    """(field, column) for every field that names a single column."""
    if isinstance(metric, Aggregate):
        candidates: list[tuple[str, str | None]] = [("time", metric.time), ("first_per", metric.first_per)]
    elif isinstance(metric, Duration):
        candidates = [("start", metric.start), ("end", metric.end), ("time", metric.time)]
    elif isinstance(metric, Retention):
        candidates = [("entity", metric.entity), ("start", metric.start), ("end", metric.end)]
    else:
        candidates = [("time", metric.time), ("per", metric.per)]
    return [(name, value) for name, value in candidates if value is not None]


def expression_fields(metric: DatasetMetric) -> list[tuple[str, str]]:
    """(field, SQL text) for ``expr`` and ``filter``."""
    candidates: list[tuple[str, str | None]] = [("filter", metric.filter)]
    if isinstance(metric, Aggregate | Snapshot):
        candidates.insert(0, ("expr", metric.expr))
    return [(name, value) for name, value in candidates if value is not None]


def kpi_references(kpi: Kpi, *, guardrails: bool = True) -> list[tuple[str, str]]:
    """(field, KPI id) for every other KPI this one names.

    Guardrails are watched alongside a KPI, not computed from; pass
    ``guardrails=False`` for the dependencies its value is computed from.
    """
    metric = kpi.metric
    refs: list[tuple[str, str]] = []
    if isinstance(metric, Derived):
        try:
            formula = parse_formula(metric.formula)
        except ExpressionError:
            formula = None
        if formula is not None:
            refs += [("metric.formula", name) for name in sorted(referenced_kpis(formula))]
    elif isinstance(metric, Ratio):
        for side, operand in (("numerator", metric.numerator), ("denominator", metric.denominator)):
            if isinstance(operand, KpiRef):
                refs.append((f"metric.{side}.kpi", operand.kpi))
    elif isinstance(metric, Cumulative | PeriodOverPeriod):
        refs.append(("metric.base", metric.base))
    elif isinstance(metric, Composite):
        refs += [(f"metric.components.{i}.kpi", c.kpi) for i, c in enumerate(metric.components)]
    if guardrails:
        refs += [(f"guardrails.{i}", g) for i, g in enumerate(kpi.guardrails)]
    return refs


def _parsed(text: str) -> exp.Expression | None:
    try:
        return parse_expression(text)
    except ExpressionError:
        return None  # reported by InvalidExpression


def _error(rule: Rule, model: KpiModel, kpi: Kpi | None, field: str | None, message: str) -> SpecError:
    return SpecError(rule.name, message, model.source, kpi.id if kpi else None, field)


# --- the rules ------------------------------------------------------------------------


class DuplicateKpi:
    name = "duplicate-kpi"

    def check(self, model: KpiModel, ctx: ValidationContext) -> list[SpecError]:
        seen: set[str] = set()
        errors = []
        for kpi in model.kpis:
            if kpi.id in seen:
                errors.append(_error(self, model, kpi, "id", f"KPI id '{kpi.id}' is defined more than once"))
            seen.add(kpi.id)
        return errors


class UnknownDataset:
    name = "unknown-dataset"

    def check(self, model: KpiModel, ctx: ValidationContext) -> list[SpecError]:
        errors = []
        for kpi in model.kpis:
            for use in dataset_uses(kpi):
                if use.metric.dataset not in ctx.schema:
                    message = unknown_name_message("dataset", use.metric.dataset, ctx.schema)
                    errors.append(_error(self, model, kpi, f"{use.path}.dataset", message))
        return errors


class UnknownColumn:
    name = "unknown-column"

    def check(self, model: KpiModel, ctx: ValidationContext) -> list[SpecError]:
        errors = []
        for kpi in model.kpis:
            for use in dataset_uses(kpi):
                columns = ctx.columns(use.metric.dataset)
                if columns is None:
                    continue
                for name, column in column_fields(use.metric):
                    if column not in columns:
                        message = unknown_name_message("column", column, columns)
                        errors.append(_error(self, model, kpi, f"{use.path}.{name}", message))
                for name, text in expression_fields(use.metric):
                    parsed = _parsed(text)
                    if parsed is None:
                        continue
                    for column in sorted(referenced_columns(parsed) - set(columns)):
                        message = f"{unknown_name_message('column', column, columns)} in {text!r}"
                        errors.append(_error(self, model, kpi, f"{use.path}.{name}", message))
        return errors


class InvalidExpression:
    """SQL snippets and formulas that cannot be parsed or are not allowed."""

    name = "invalid-expression"

    def check(self, model: KpiModel, ctx: ValidationContext) -> list[SpecError]:
        errors = []
        for kpi in model.kpis:
            for use in dataset_uses(kpi):
                for name, text in expression_fields(use.metric):
                    try:
                        parse_expression(text)
                    except ExpressionError as exc:
                        errors.append(_error(self, model, kpi, f"{use.path}.{name}", str(exc)))
            if isinstance(kpi.metric, Derived):
                try:
                    parse_formula(kpi.metric.formula)
                except ExpressionError as exc:
                    errors.append(_error(self, model, kpi, "metric.formula", str(exc)))
        return errors


class UnknownKpi:
    name = "unknown-kpi"

    def check(self, model: KpiModel, ctx: ValidationContext) -> list[SpecError]:
        known = {k.id for k in model.kpis} | set(ctx.known_kpis) | ctx.unchecked_kpis
        errors = []
        for kpi in model.kpis:
            for path, ref in kpi_references(kpi):
                if ref not in known:
                    errors.append(_error(self, model, kpi, path, unknown_name_message("KPI", ref, known)))
        return errors


def find_cycles(graph: Mapping[str, Sequence[str]], order: Sequence[str]) -> list[list[str]]:
    """Cycles of a dependency graph, each as a path that ends where it starts."""
    done: set[str] = set()
    on_path: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        on_path.append(node)
        for dep in graph.get(node, ()):
            if dep in on_path:
                cycles.append([*on_path[on_path.index(dep) :], dep])
            elif dep not in done and dep in graph:
                visit(dep)
        on_path.pop()
        done.add(node)

    for node in order:
        if node not in done:
            visit(node)
    return cycles


class KpiCycle:
    name = "kpi-cycle"

    def check(self, model: KpiModel, ctx: ValidationContext) -> list[SpecError]:
        kpis = {**ctx.known_kpis, **model.by_id()}
        graph = {kpi_id: [ref for _, ref in kpi_references(kpi, guardrails=False)] for kpi_id, kpi in kpis.items()}
        in_model = [k.id for k in model.kpis]
        errors = []
        reported: set[frozenset[str]] = set()
        for cycle in find_cycles(graph, in_model):
            members = frozenset(cycle)
            if members in reported or not members & set(in_model):
                continue
            reported.add(members)
            # Start the path at the model's first KPI in the cycle, so the error lands on it.
            start = next(k for k in in_model if k in members)
            ring = cycle[:-1]
            ring = ring[ring.index(start) :] + ring[: ring.index(start)]
            path = " -> ".join([*ring, start])
            at = next((p for p, ref in kpi_references(kpis[start], guardrails=False) if ref in members), None)
            errors.append(_error(self, model, kpis[start], at, f"KPI references form a cycle: {path}"))
        return errors


class WrongType:
    """Numbers where numbers are needed, dates where dates are, conditions as filters."""

    name = "wrong-type"

    def check(self, model: KpiModel, ctx: ValidationContext) -> list[SpecError]:
        errors = []
        for kpi in model.kpis:
            for use in dataset_uses(kpi):
                columns = ctx.columns(use.metric.dataset)
                if columns is not None:
                    errors += [_error(self, model, kpi, path, msg) for path, msg in self._problems(use, columns)]
        return errors

    def _problems(self, use: DatasetUse, columns: Mapping[str, FieldType]) -> Iterator[tuple[str, str]]:
        metric = use.metric
        if isinstance(metric, Aggregate | Snapshot) and metric.expr is not None:
            needs_number = isinstance(metric, Snapshot) or metric.agg in _NUMERIC_AGGS
            parsed = _parsed(metric.expr)
            found = infer_type(parsed, columns) if parsed is not None else None
            if needs_number and found is not None and not found.is_numeric:
                yield (
                    f"{use.path}.expr",
                    f"{metric.agg.value} needs a number, but {metric.expr!r} is {found.value}",
                )
        if metric.filter is not None:
            parsed = _parsed(metric.filter)
            found = infer_type(parsed, columns) if parsed is not None else None
            if found is not None and found is not FieldType.BOOLEAN:
                yield (
                    f"{use.path}.filter",
                    f"a filter must be a condition (true or false), but {metric.filter!r} is {found.value}",
                )
        temporal = ["time"] if not isinstance(metric, Duration | Retention) else ["start", "end", "time"]
        for name, column in column_fields(metric):
            found = columns.get(column)
            if name in temporal and found is not None and not found.is_temporal:
                yield (
                    f"{use.path}.{name}",
                    f"{name} must be a date or timestamp column, but '{column}' is {found.value}",
                )


class NonAdditiveBase:
    """A running total (MTD, YTD, rolling, all time) only adds up sums and counts."""

    name = "non-additive-base"

    def check(self, model: KpiModel, ctx: ValidationContext) -> list[SpecError]:
        kpis = {**ctx.known_kpis, **model.by_id()}
        errors = []
        for kpi in model.kpis:
            if not isinstance(kpi.metric, Cumulative):
                continue
            base = kpis.get(kpi.metric.base)
            if base is None:
                continue  # reported by UnknownKpi
            reason = self._reason(base, kpis, set())
            bm = base.metric
            if not reason and kpi.metric.window is Window.ALL and not (isinstance(bm, Aggregate) and not bm.first_per):
                reason = "is not an aggregate; a running total since the first data ('all') reads its opening balance"
                reason += " from the rows before the range"
            if reason:
                message = f"cumulative base '{base.id}' {reason}; use a sum or count aggregate as the base"
                errors.append(_error(self, model, kpi, "metric.base", message))
        return errors

    @classmethod
    def _reason(cls, base: Kpi, kpis: Mapping[str, Kpi], seen: set[str]) -> str | None:
        """Why ``base`` does not add up across periods (None: it does)."""
        metric = base.metric
        if isinstance(metric, Aggregate):
            return (
                None if metric.agg.additive else f"is an aggregate with agg '{metric.agg.value}', which does not add up"
            )
        if isinstance(metric, Cumulative):
            return "is itself cumulative, so its running total would count periods twice"
        if isinstance(metric, Derived):
            # Sums and differences of additive KPIs (net new MRR = new - churned) add up too.
            try:
                formula = parse_formula(metric.formula)
            except ExpressionError:
                return None  # reported by InvalidExpression
            if not _is_linear(formula):
                return "is a derived KPI that is not a plain sum or difference of KPIs"
            seen = seen | {base.id}
            for ref in sorted(referenced_kpis(formula) - seen):
                part = kpis.get(ref)
                if part is not None and cls._reason(part, kpis, seen):
                    return f"is derived from '{ref}', which does not add up across periods"
            return None
        return f"is a {metric.kind} KPI, which does not add up across periods"


def _is_linear(formula: exp.Expr) -> bool:
    """Only +, -, parentheses and scaling by a number: the formula of a sum adds up."""
    for node in formula.walk():
        if isinstance(node, exp.Mul):
            if not (isinstance(node.this, exp.Literal) or isinstance(node.expression, exp.Literal)):
                return False
        elif isinstance(node, exp.Div):
            if not isinstance(node.expression, exp.Literal):
                return False
        elif not isinstance(node, exp.Add | exp.Sub | exp.Neg | exp.Paren | exp.Column | exp.Identifier | exp.Literal):
            return False
    return True


class MissingTimeColumn:
    """A metric must be placed in time: by ``time:`` or by its dataset's default time column."""

    name = "missing-time-column"

    def check(self, model: KpiModel, ctx: ValidationContext) -> list[SpecError]:
        errors = []
        for kpi in model.kpis:
            for use in dataset_uses(kpi):
                metric = use.metric
                columns = ctx.columns(metric.dataset)
                if columns is None or ctx.default_time(metric.dataset) is not None:
                    continue
                if isinstance(metric, Aggregate | Snapshot) and metric.time is None:
                    at = f"{use.path}.time"
                elif isinstance(metric, Retention) and metric.mode == "activity":
                    at = f"{use.path}.mode"
                else:
                    continue
                candidates = sorted(c for c, t in columns.items() if t.is_temporal)
                hint = f"set time: to one of {', '.join(candidates)}" if candidates else "it has no date column"
                message = f"dataset '{metric.dataset}' has no default time column to place rows in periods; {hint}"
                errors.append(_error(self, model, kpi, at, message))
        return errors


RULES: tuple[Rule, ...] = (
    DuplicateKpi(),
    UnknownDataset(),
    UnknownColumn(),
    InvalidExpression(),
    UnknownKpi(),
    KpiCycle(),
    WrongType(),
    NonAdditiveBase(),
    MissingTimeColumn(),
)


def validate_model(
    model: KpiModel,
    schema: Schema | None = None,
    extra_kpis: Mapping[str, Kpi] | None = None,
    *,
    rules: Sequence[Rule] = RULES,
    unchecked_kpis: frozenset[str] = frozenset(),
) -> list[SpecError]:
    """Every problem the rules find in ``model`` (empty: the model is fine)."""
    ctx = ValidationContext(
        schema=canonical_schema() if schema is None else schema,
        known_kpis=extra_kpis or {},
        unchecked_kpis=unchecked_kpis,
    )
    errors: list[SpecError] = []
    for rule in rules:
        errors += rule.check(model, ctx)
    return errors


def check_file(
    path: str | Path, schema: Schema | None = None, extra_kpis: Mapping[str, Kpi] | None = None
) -> list[SpecError]:
    """Load and validate one YAML model file; bad content is reported, never raised."""
    try:
        return validate_model(load_model(path), schema, extra_kpis)
    except ModelError as exc:
        load_errors = exc.errors
    except (OSError, UnicodeDecodeError) as exc:
        return [SpecError("syntax", f"cannot read the file: {exc}", str(path))]
    if any(e.rule == "syntax" for e in load_errors):
        return load_errors
    # Schema errors in some KPIs: still check the rest, without blaming references to the broken ones.
    partial = load_model(path, strict=False)
    broken = frozenset(e.kpi for e in load_errors if e.kpi) - {k.id for k in partial.kpis}
    return load_errors + validate_model(partial, schema, extra_kpis, unchecked_kpis=broken)
