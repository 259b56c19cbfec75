"""The KPI catalog: ready-made KPIs written against the canonical data model.

The catalog is YAML data inside the package (``headway/catalog/kpis/<category>.yaml``,
each a ``kpis: [...]`` list of :class:`~headway.engine.spec.Kpi`). This module loads it,
looks KPIs up, works out which canonical fields a KPI needs (following references to
other KPIs) and renders the human-readable reference ``docs/kpi-catalog.md``::

    python -m headway.engine.catalog > docs/kpi-catalog.md
"""

from __future__ import annotations

import difflib
import functools
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources

import yaml

from headway.engine.canonical import CANONICAL
from headway.engine.errors import ModelError, SpecError
from headway.engine.expressions import parse_expression, parse_formula, referenced_columns, referenced_kpis
from headway.engine.loader import parse_kpis, read_yaml
from headway.engine.spec import (
    Agg,
    Aggregate,
    Category,
    Change,
    Compare,
    Composite,
    Cumulative,
    Derived,
    Duration,
    Kpi,
    KpiRef,
    Manual,
    PeriodOverPeriod,
    Ratio,
    Retention,
    Snapshot,
    Window,
)

CATALOG_VERSION = 1
"""Bumped whenever a catalog KPI's id or definition changes in a way stored KPIs must follow."""

CATALOG_PACKAGE = "headway.catalog"

Fields = dict[str, set[str]]
"""Dataset name -> column names."""


@dataclass(frozen=True)
class Catalog:
    kpis: Mapping[str, Kpi]
    """KPI id -> KPI, in file order (categories in enum order)."""
    sources: Mapping[str, str]
    """KPI id -> the catalog file it is defined in (e.g. ``kpis/financial.yaml``)."""

    def __contains__(self, kpi_id: object) -> bool:
        return kpi_id in self.kpis

    def __len__(self) -> int:
        return len(self.kpis)

    def __iter__(self) -> Iterator[Kpi]:
        return iter(self.kpis.values())

    def get(self, kpi_id: str) -> Kpi:
        """The KPI with this id; ``KeyError`` naming the closest id if there is none."""
        try:
            return self.kpis[kpi_id]
        except KeyError:
            guess = difflib.get_close_matches(kpi_id, list(self.kpis), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(g) for g in guess)}?" if guess else ""
            raise KeyError(f"no catalog KPI '{kpi_id}'{hint}") from None

    def search(self, text: str) -> list[Kpi]:
        """KPIs matching every word of ``text`` (in id, name, tags, category or description), best first."""
        words = [w for w in text.lower().replace("_", " ").split() if w]
        if not words:
            return list(self.kpis.values())
        scored: list[tuple[int, int, Kpi]] = []
        for position, kpi in enumerate(self.kpis.values()):
            fields = (
                (8, kpi.id.replace("_", " ")),
                (6, kpi.name.lower()),
                (4, " ".join(kpi.tags).replace("_", " ")),
                (3, kpi.category.value.replace("_", " ")),
                (1, kpi.description.lower()),
            )
            score = 0
            for word in words:
                hit = max((weight for weight, value in fields if word in value), default=0)
                if hit == 0:
                    break
                score += hit
            else:
                scored.append((-score, position, kpi))
        return [kpi for _, _, kpi in sorted(scored, key=lambda t: (t[0], t[1]))]

    def by_category(self) -> dict[Category, list[Kpi]]:
        """KPIs grouped by category, in the order of the ``Category`` enum (empty categories left out)."""
        groups: dict[Category, list[Kpi]] = {c: [] for c in Category}
        for kpi in self.kpis.values():
            groups[kpi.category].append(kpi)
        return {c: kpis for c, kpis in groups.items() if kpis}

    def by_tag(self, tag: str) -> list[Kpi]:
        return [k for k in self.kpis.values() if tag in k.tags]


def _catalog_files() -> list[tuple[str, str]]:
    """(relative name, YAML text) of every catalog KPI file, categories in enum order, then the rest."""
    folder = resources.files(CATALOG_PACKAGE).joinpath("kpis")
    files = {entry.name: entry for entry in folder.iterdir() if entry.name.endswith((".yaml", ".yml"))}
    order = [f"{c.value}.yaml" for c in Category]
    names = [n for n in order if n in files] + sorted(n for n in files if n not in order)
    return [(f"kpis/{name}", files[name].read_text(encoding="utf-8")) for name in names]


def parse_catalog(files: Iterable[tuple[str, str]]) -> Catalog:
    """Build a catalog from (name, YAML text) pairs; ``ModelError`` lists every problem."""
    kpis: dict[str, Kpi] = {}
    sources: dict[str, str] = {}
    errors: list[SpecError] = []
    for name, text in files:
        try:
            data = read_yaml(text)
        except yaml.YAMLError as exc:
            errors.append(SpecError("syntax", f"invalid YAML: {exc}", name))
            continue
        parsed, problems = parse_kpis(data, name)
        errors += problems
        for kpi in parsed:
            if kpi.id in kpis:
                errors.append(SpecError("duplicate-kpi", f"also defined in {sources[kpi.id]}", name, kpi.id))
                continue
            kpis[kpi.id] = kpi
            sources[kpi.id] = name
    if errors:
        raise ModelError(errors)
    return Catalog(kpis=kpis, sources=sources)


@functools.cache
def load_catalog() -> Catalog:
    """The catalog shipped with the package (read once, then cached)."""
    return parse_catalog(_catalog_files())


# --- what a KPI needs ---------------------------------------------------------------


def _snippet_columns(text: str | None) -> set[str]:
    return referenced_columns(parse_expression(text)) if text else set()


def _default_time(dataset: str) -> str | None:
    dtype = CANONICAL.get(dataset)
    return dtype.time_field if dtype is not None and dtype.time_field else None


def metric_fields(metric: Aggregate | Duration | Retention | Snapshot) -> Fields:
    """Columns one dataset-reading metric part uses, including the column that places rows in time."""
    columns: set[str] = _snippet_columns(metric.filter)
    if isinstance(metric, Aggregate):
        columns |= _snippet_columns(metric.expr)
        columns |= {c for c in (metric.time or _default_time(metric.dataset), metric.first_per) if c}
    elif isinstance(metric, Snapshot):
        columns |= _snippet_columns(metric.expr)
        columns |= {c for c in (metric.time or _default_time(metric.dataset), metric.per) if c}
    elif isinstance(metric, Duration):
        columns |= {metric.start, metric.end, metric.time or metric.end}
    else:
        columns.add(metric.entity)
        if metric.mode == "interval":
            columns |= {c for c in (metric.start, metric.end) if c}
        else:
            columns |= {c for c in (_default_time(metric.dataset),) if c}
    return {metric.dataset: columns}


def dependencies(kpi: Kpi) -> list[str]:
    """Ids of the KPIs this one is computed from (not its guardrails), in order of appearance."""
    metric = kpi.metric
    if isinstance(metric, Derived):
        return sorted(referenced_kpis(parse_formula(metric.formula)))
    if isinstance(metric, Ratio):
        return [side.kpi for side in (metric.numerator, metric.denominator) if isinstance(side, KpiRef)]
    if isinstance(metric, Cumulative | PeriodOverPeriod):
        return [metric.base]
    if isinstance(metric, Composite):
        return [c.kpi for c in metric.components]
    return []


def _merge(into: Fields, other: Mapping[str, set[str]]) -> None:
    for dataset, columns in other.items():
        into.setdefault(dataset, set()).update(columns)


def _own_fields(kpi: Kpi) -> Fields:
    metric = kpi.metric
    fields: Fields = {}
    if isinstance(metric, Aggregate | Duration | Retention | Snapshot):
        _merge(fields, metric_fields(metric))
    elif isinstance(metric, Ratio):
        for side in (metric.numerator, metric.denominator):
            if isinstance(side, Aggregate):
                _merge(fields, metric_fields(side))
    return fields


def required_fields(kpi: Kpi, catalog: Catalog | None = None) -> Fields:
    """Dataset -> columns a KPI needs, following the KPIs it is computed from.

    A manual KPI needs nothing. References are looked up in ``catalog`` (the
    package catalog by default); an unknown reference raises ``KeyError``.
    """
    catalog = catalog if catalog is not None else load_catalog()
    fields: Fields = {}
    seen: set[str] = set()
    pending = [kpi]
    while pending:
        current = pending.pop()
        if current.id in seen:
            continue
        seen.add(current.id)
        _merge(fields, _own_fields(current))
        pending += [catalog.get(ref) for ref in dependencies(current) if ref not in seen]
    return fields


def computable(kpi: Kpi, available: Mapping[str, Iterable[str]], catalog: Catalog | None = None) -> tuple[bool, Fields]:
    """Whether ``available`` data (dataset -> columns present) is enough to compute ``kpi``.

    Returns ``(ok, missing)`` with ``missing`` mapping each dataset to the columns
    that are not there (every needed column when the dataset itself is absent).
    A manual KPI is always computable: its values are entered by hand.
    """
    missing: Fields = {}
    for dataset, columns in required_fields(kpi, catalog).items():
        present = set(available.get(dataset, ()))
        lacking = columns - present if dataset in available else set(columns)
        if lacking or dataset not in available:
            missing[dataset] = lacking
    return not missing, missing


# --- rendering --------------------------------------------------------------------

_AGG_NAMES = {
    Agg.SUM: "SUM",
    Agg.COUNT: "COUNT",
    Agg.COUNT_DISTINCT: "COUNT DISTINCT",
    Agg.AVG: "AVG",
    Agg.MIN: "MIN",
    Agg.MAX: "MAX",
    Agg.MEDIAN: "MEDIAN",
}
_WINDOWS = {
    Window.MTD: "month to date",
    Window.QTD: "quarter to date",
    Window.YTD: "year to date",
    Window.ALL: "all time (a running balance)",
}
_COMPARES = {Compare.PREVIOUS: "the previous period", Compare.YEAR_AGO: "the same period a year earlier"}
_CHANGES = {Change.GROWTH: "Growth (%)", Change.DIFFERENCE: "Change", Change.RATIO: "Ratio"}


def _agg_call(agg: Agg, expr: str | None, percentile: float | None) -> str:
    if agg is Agg.PERCENTILE:
        return f"PERCENTILE {percentile:g} OF ({expr})"
    if expr is None:
        return "COUNT(rows)"
    return f"{_AGG_NAMES[agg]}({expr})"


def _describe_aggregate(metric: Aggregate) -> str:
    text = f"{_agg_call(metric.agg, metric.expr, metric.percentile)} over `{metric.dataset}`"
    if metric.filter:
        text += f" where `{metric.filter}`"
    if metric.first_per:
        text += f", counting only each `{metric.first_per}`'s first row"
    if metric.time:
        text += f", placed in time by `{metric.time}`"
    return text


def _describe_side(side: Aggregate | KpiRef) -> str:
    return f"`{side.kpi}`" if isinstance(side, KpiRef) else f"[{_describe_aggregate(side)}]"


def describe_metric(kpi: Kpi) -> str:
    """The KPI's formula in readable form (one line of Markdown)."""
    metric = kpi.metric
    if isinstance(metric, Aggregate):
        return _describe_aggregate(metric)
    if isinstance(metric, Ratio):
        return f"{_describe_side(metric.numerator)} / {_describe_side(metric.denominator)}"
    if isinstance(metric, Derived):
        return f"`{' '.join(metric.formula.split())}`"
    if isinstance(metric, Composite):
        parts = []
        for c in metric.components:
            part = f"`{c.kpi}`" + (f" ÷ {c.scale:g}" if not c.invert else f" as {c.scale:g} ÷ value")
            parts.append(f"{c.weight:g} × ({part})")
        return "Weighted index: (" + " + ".join(parts) + f") / {sum(c.weight for c in metric.components):g}"
    if isinstance(metric, Cumulative):
        window = f"last {metric.periods} periods" if metric.window is Window.ROLLING else _WINDOWS[metric.window]
        return f"Running total of `{metric.base}`, {window}"
    if isinstance(metric, PeriodOverPeriod):
        return f"{_CHANGES[metric.change]} of `{metric.base}` vs {_COMPARES[metric.compare]}"
    if isinstance(metric, Duration):
        how = (
            f"percentile {metric.percentile:g} of the"
            if metric.agg is Agg.PERCENTILE
            else f"{_AGG_NAMES[Agg(metric.agg)].lower()}"
        )
        text = f"The {how} time in {metric.unit.value} from `{metric.start}` to `{metric.end}` over `{metric.dataset}`"
        if metric.filter:
            text += f" where `{metric.filter}`"
        return text + f", placed in time by `{metric.time or metric.end}`"
    if isinstance(metric, Retention):
        share = "no longer active" if metric.output.value == "churn" else "still active"
        if metric.mode == "interval":
            active = f"with a row in `{metric.dataset}` running (`{metric.start}` to `{metric.end}`) at period end"
        else:
            active = f"with a row in `{metric.dataset}` in the period"
        text = f"Share of `{metric.entity}`s active in the previous period ({active}) that are {share}"
        if metric.filter:
            text += f"; rows where `{metric.filter}`"
        return text
    if isinstance(metric, Snapshot):
        last = f"each {metric.per}'s last snapshot" if metric.per else "the last snapshot"
        text = f"{_AGG_NAMES[Agg(metric.agg)]}({metric.expr}) over `{metric.dataset}` at {last} of each period"
        if metric.filter:
            text += f" where `{metric.filter}`"
        return text
    assert isinstance(metric, Manual)
    return "Entered by hand for each period (no formula)"


def _format_value(kpi: Kpi, value: float) -> str:
    if kpi.unit.value == "percent":
        return f"{value * 100:g}%"
    return f"{value:g}"


def _describe_thresholds(kpi: Kpi) -> str:
    t = kpi.thresholds
    if t is None:
        return "none"
    better = ">=" if kpi.direction.value == "higher" else "<="
    basis = "" if t.basis == "value" else " (on the change vs the previous period)"
    return f"green {better} {_format_value(kpi, t.good)}, amber {better} {_format_value(kpi, t.warning)}{basis}"


def _describe_fields(fields: Mapping[str, set[str]]) -> str:
    if not fields:
        return "none (entered by hand)"
    return "; ".join(f"`{d}`: " + ", ".join(f"`{c}`" for c in sorted(cols)) for d, cols in sorted(fields.items()))


def _category_title(category: Category) -> str:
    titles = {
        Category.FINANCIAL: "Financial",
        Category.CUSTOMER: "Customer",
        Category.OPERATIONAL: "Operational",
        Category.MARKETING_SALES: "Marketing & sales",
        Category.PEOPLE: "People",
        Category.ESG: "ESG (environment, social, governance)",
        Category.INNOVATION_STRATEGY: "Innovation & strategy",
        Category.RISK_SECURITY: "Risk & security",
    }
    return titles[category]


def render_markdown(catalog: Catalog) -> str:
    """The catalog reference (docs/kpi-catalog.md)."""
    groups = catalog.by_category()
    lines = [
        "# KPI catalog",
        "",
        "<!-- Generated from src/headway/catalog/kpis/*.yaml; do not edit by hand. -->",
        "<!-- Regenerate with: python -m headway.engine.catalog > docs/kpi-catalog.md -->",
        "",
        f"Catalog version {CATALOG_VERSION}: {len(catalog)} KPIs written against the canonical data model, so a "
        "dataset mapped to a canonical type gets them with no formulas to write.",
        "Percentages are stored as fractions (0.25 = 25%). Manual KPIs have no formula: their values are entered "
        "by hand each period.",
        "",
    ]
    for category, kpis in groups.items():
        lines.append(f"- [{_category_title(category)}](#{category.value.replace('_', '-')}) ({len(kpis)})")
    lines.append("")
    for category, kpis in groups.items():
        lines += [f'<a id="{category.value.replace("_", "-")}"></a>', "", f"## {_category_title(category)}", ""]
        for kpi in kpis:
            fmt = f" (`{kpi.format}`)" if kpi.format else ""
            guardrails = ", ".join(f"`{g}`" for g in kpi.guardrails) or "none"
            lines += [
                f"### {kpi.name} (`{kpi.id}`)",
                "",
                " ".join(kpi.description.split()),
                "",
                f"- **Formula** ({kpi.kind}): {describe_metric(kpi)}",
                f"- **Needs**: {_describe_fields(required_fields(kpi, catalog))}",
                f"- **Indicator**: {kpi.indicator.value} · **Better when**: {kpi.direction.value}"
                f" · **Unit**: {kpi.unit.value}{fmt} · **Default grain**: {kpi.default_grain.value}",
                f"- **Thresholds**: {_describe_thresholds(kpi)}",
                f"- **Guardrails**: {guardrails}",
            ]
            if kpi.tags:
                lines.append(f"- **Tags**: {', '.join(kpi.tags)}")
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    sys.stdout.write(render_markdown(load_catalog()))


if __name__ == "__main__":
    main()
