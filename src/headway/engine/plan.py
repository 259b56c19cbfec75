"""Query plans: which leaf values to read from which datasets, and how KPIs combine them.

A plan is the step between a KPI spec and SQL. Leaves are the values read straight
from a dataset (an aggregate, a retention count, a snapshot); leaves over the same
dataset and time column share one scan. Every KPI becomes a column computed in a
*stage*: a KPI that uses other KPIs' values (ratio, derived, windows over them) sits
one stage after them, so window functions only ever read finished columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from headway.engine.canonical import CANONICAL, FieldType
from headway.engine.errors import ModelError, SpecError
from headway.engine.expressions import unknown_name_message
from headway.engine.periods import Calendar, periods_per_year, shift, truncate, window_grain
from headway.engine.spec import (
    Agg,
    Aggregate,
    Compare,
    Composite,
    Cumulative,
    Derived,
    Duration,
    Grain,
    Kpi,
    KpiRef,
    Manual,
    PeriodOverPeriod,
    Ratio,
    Retention,
    Snapshot,
    Window,
)

Schema = Mapping[str, Mapping[str, FieldType]]

DURATION_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


class CompileError(ModelError):
    """A KPI that cannot be compiled for this query (with every reason found)."""


@dataclass(frozen=True)
class Query:
    """What to compute: KPIs at a grain, optionally by one dimension, over a range of local dates."""

    kpis: tuple[str, ...]
    grain: Grain = Grain.MONTH
    start: date | None = None
    end: date | None = None
    dimension: str | None = None
    calendar: Calendar = field(default_factory=Calendar)

    def __post_init__(self) -> None:
        object.__setattr__(self, "grain", Grain(self.grain))
        object.__setattr__(self, "kpis", tuple(self.kpis))


@dataclass(frozen=True)
class Source:
    """One scan of a dataset: rows placed in time by ``time``.

    ``kind`` is ``scan`` (plain rows), ``first`` (each ``entity``'s first row matching
    ``filter``), ``retention`` (entities active per period), ``snapshot`` (rows at the
    last snapshot of each period) or ``opening`` (rows before the spine, for balances).
    """

    kind: str
    dataset: str
    time: str
    entity: str | None = None
    filter: str | None = None
    mode: str | None = None
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class Leaf:
    """A value read from a source: ``agg(expr) FILTER (WHERE filter)`` per period (and dimension)."""

    source: Source
    agg: Agg
    expr: str | None = None
    filter: str | None = None
    percentile: float | None = None
    role: str = "value"
    """``value``; ``snapshot`` (no snapshot: unknown); ``base``/``kept``: the counts of a retention source."""

    @property
    def zero_when_empty(self) -> bool:
        if self.role == "snapshot":
            return False
        return self.role != "value" or self.agg.zero_when_empty


@dataclass
class KpiNode:
    kpi: Kpi
    stage: int
    refs: tuple[str, ...] = ()
    leaves: tuple[Leaf, ...] = ()


@dataclass
class Plan:
    query: Query
    first: date
    """First period of the spine (the range, plus any look-back the KPIs need)."""
    last: date
    range_first: date
    """First period the caller asked for."""
    nodes: dict[str, KpiNode]
    leaves: dict[Leaf, str]
    """Leaf -> column name, in creation order."""
    schema: Schema

    def sources(self) -> dict[Source, list[Leaf]]:
        return _sources(self.leaves)

    @property
    def stages(self) -> int:
        return max((n.stage for n in self.nodes.values()), default=0)


class _Planner:
    def __init__(self, query: Query, registry: Mapping[str, Kpi], schema: Schema):
        self.query = query
        self.registry = registry
        self.schema = schema
        self.nodes: dict[str, KpiNode] = {}
        self.leaves: dict[Leaf, str] = {}
        self.errors: list[SpecError] = []
        self._visiting: list[str] = []

    # --- helpers -------------------------------------------------------------------
    def error(self, kpi: Kpi, field: str | None, message: str) -> None:
        self.errors.append(SpecError("compile", message, kpi=kpi.id, field=field))

    def columns(self, kpi: Kpi, dataset: str) -> Mapping[str, FieldType] | None:
        cols = self.schema.get(dataset)
        if cols is None:
            self.error(kpi, "metric.dataset", f"dataset '{dataset}' is not in the warehouse")
        return cols

    def time_column(self, kpi: Kpi, dataset: str, explicit: str | None) -> str:
        if explicit:
            return explicit
        ctype = CANONICAL.get(dataset)
        if ctype is not None and ctype.time_field:
            return ctype.time_field
        self.error(kpi, "metric.time", f"dataset '{dataset}' has no time column; set 'time:'")
        return ""

    def check_dimension(self, kpi: Kpi, dataset: str) -> None:
        dim = self.query.dimension
        cols = self.schema.get(dataset)
        if dim and cols is not None and dim not in cols:
            self.error(kpi, None, f"cannot break down by '{dim}': dataset '{dataset}' has no such column")

    def leaf(self, kpi: Kpi, leaf: Leaf) -> str:
        self.columns(kpi, leaf.source.dataset)
        self.check_dimension(kpi, leaf.source.dataset)
        if leaf not in self.leaves:
            self.leaves[leaf] = f"_l{len(self.leaves)}"
        return self.leaves[leaf]

    def aggregate_leaf(self, kpi: Kpi, m: Aggregate) -> Leaf:
        time = self.time_column(kpi, m.dataset, m.time)
        if m.first_per:
            source = Source("first", m.dataset, time, entity=m.first_per, filter=m.filter)
            return Leaf(source, m.agg, m.expr, None, m.percentile)
        return Leaf(Source("scan", m.dataset, time), m.agg, m.expr, m.filter, m.percentile)

    def ref(self, kpi: Kpi, ref_id: str) -> KpiNode | None:
        if ref_id not in self.registry:
            self.error(kpi, "metric", unknown_name_message("KPI", ref_id, self.registry))
            return None
        return self.visit(ref_id)

    # --- the walk ------------------------------------------------------------------
    def visit(self, kpi_id: str) -> KpiNode | None:
        if kpi_id in self.nodes:
            return self.nodes[kpi_id]
        kpi = self.registry[kpi_id]
        if kpi_id in self._visiting:
            cycle = " -> ".join([*self._visiting[self._visiting.index(kpi_id) :], kpi_id])
            self.error(kpi, "metric", f"KPIs refer to each other in a cycle: {cycle}")
            return None
        self._visiting.append(kpi_id)
        try:
            node = self._node(kpi)
        finally:
            self._visiting.pop()
        if node is not None:
            self.nodes[kpi_id] = node
        return node

    def _operand(self, kpi: Kpi, operand: Aggregate | KpiRef) -> tuple[int, tuple[str, ...], tuple[Leaf, ...]]:
        if isinstance(operand, KpiRef):
            node = self.ref(kpi, operand.kpi)
            return ((node.stage if node else 0), (operand.kpi,), ())
        leaf = self.aggregate_leaf(kpi, operand)
        self.leaf(kpi, leaf)
        return 0, (), (leaf,)

    def _refs_node(self, kpi: Kpi, refs: tuple[str, ...]) -> KpiNode:
        stages = [n.stage for r in refs if (n := self.ref(kpi, r)) is not None]
        return KpiNode(kpi, max(stages, default=0) + 1, refs)

    def _node(self, kpi: Kpi) -> KpiNode | None:
        m = kpi.metric
        if isinstance(m, Aggregate):
            leaf = self.aggregate_leaf(kpi, m)
            self.leaf(kpi, leaf)
            return KpiNode(kpi, 1, (), (leaf,))
        if isinstance(m, Duration):
            seconds = DURATION_SECONDS[m.unit.value]
            expr = f"(EPOCH({m.end}) - EPOCH({m.start})) / {seconds}.0"
            cond = f"{m.start} IS NOT NULL AND {m.end} IS NOT NULL"
            if m.filter:
                cond = f"({m.filter}) AND {cond}"
            source = Source("scan", m.dataset, m.time or m.end)
            leaf = Leaf(source, Agg(m.agg), expr, cond, m.percentile)
            self.leaf(kpi, leaf)
            return KpiNode(kpi, 1, (), (leaf,))
        if isinstance(m, Retention):
            time = self.time_column(kpi, m.dataset, None) if m.mode == "activity" else (m.start or "")
            source = Source("retention", m.dataset, time, m.entity, m.filter, m.mode, m.start, m.end)
            leaves = (Leaf(source, Agg.COUNT, role="base"), Leaf(source, Agg.COUNT, role="kept"))
            for leaf in leaves:
                self.leaf(kpi, leaf)
            return KpiNode(kpi, 1, (), leaves)
        if isinstance(m, Snapshot):
            time = self.time_column(kpi, m.dataset, m.time)
            source = Source("snapshot", m.dataset, time, entity=m.per, filter=m.filter)
            leaf = Leaf(source, Agg(m.agg), m.expr, role="snapshot")
            self.leaf(kpi, leaf)
            return KpiNode(kpi, 1, (), (leaf,))
        if isinstance(m, Ratio):
            s1, r1, l1 = self._operand(kpi, m.numerator)
            s2, r2, l2 = self._operand(kpi, m.denominator)
            return KpiNode(kpi, max(s1, s2) + 1, r1 + r2, l1 + l2)
        if isinstance(m, Derived):
            from headway.engine.expressions import parse_formula, referenced_kpis

            try:
                refs = tuple(sorted(referenced_kpis(parse_formula(m.formula, self.registry.keys()))))
            except ValueError as exc:
                self.error(kpi, "metric.formula", str(exc))
                return None
            return self._refs_node(kpi, refs)
        if isinstance(m, Composite):
            return self._refs_node(kpi, tuple(c.kpi for c in m.components))
        if isinstance(m, PeriodOverPeriod):
            return self._refs_node(kpi, (m.base,))
        if isinstance(m, Cumulative):
            node = self._refs_node(kpi, (m.base,))
            base = self.registry.get(m.base)
            if base is not None and m.window is Window.ALL:
                bm = base.metric
                if not (isinstance(bm, Aggregate) and bm.agg.additive and not bm.first_per):
                    self.error(kpi, "metric.base", "a running total ('all') needs a sum or count aggregate as base")
                    return None
                time = self.time_column(base, bm.dataset, bm.time)
                opening = Leaf(Source("opening", bm.dataset, time), bm.agg, bm.expr, bm.filter)
                self.leaf(kpi, opening)
                node.leaves = (opening,)
            return node
        if isinstance(m, Manual):
            self.error(kpi, "metric", "a manual KPI has no formula: its values are entered by hand, not computed")
            return None
        raise AssertionError(f"unhandled metric kind {m.kind}")

    # --- look-back -----------------------------------------------------------------
    def earliest(self, kpi_id: str, first: date) -> date:
        """The first period ``kpi_id`` needs so that its value at ``first`` is right."""
        grain = self.query.grain
        m = self.registry[kpi_id].metric
        if isinstance(m, Retention):
            return shift(first, -1, grain)
        if isinstance(m, PeriodOverPeriod):
            back = 1 if m.compare is Compare.PREVIOUS else periods_per_year(grain)
            return self.earliest(m.base, shift(first, -back, grain))
        if isinstance(m, Cumulative):
            if m.window is Window.ROLLING:
                return self.earliest(m.base, shift(first, -((m.periods or 1) - 1), grain))
            bucket = window_grain(m.window)
            if bucket is not None:
                start = truncate(truncate(first, bucket, self.query.calendar), grain, self.query.calendar)
                return self.earliest(m.base, min(start, first))
            return self.earliest(m.base, first)
        node = self.nodes.get(kpi_id)
        refs = node.refs if node else ()
        return min((self.earliest(r, first) for r in refs), default=first)


def _sources(leaves: Mapping[Leaf, str]) -> dict[Source, list[Leaf]]:
    out: dict[Source, list[Leaf]] = {}
    for leaf in leaves:
        out.setdefault(leaf.source, []).append(leaf)
    return out


class Resolved:
    """A query's KPIs resolved into nodes and leaves, before a date range is chosen."""

    def __init__(self, planner: _Planner):
        self._planner = planner

    def sources(self) -> dict[Source, list[Leaf]]:
        return _sources(self._planner.leaves)

    def over(self, first: date, last: date) -> Plan:
        """Plan for the periods from ``first`` to ``last`` (local dates, any day in them)."""
        p = self._planner
        grain, cal = p.query.grain, p.query.calendar
        range_first, range_last = truncate(first, grain, cal), truncate(last, grain, cal)
        spine_first = min((p.earliest(k, range_first) for k in p.query.kpis), default=range_first)
        return Plan(p.query, spine_first, range_last, range_first, p.nodes, p.leaves, p.schema)


def resolve(query: Query, registry: Mapping[str, Kpi], schema: Schema) -> Resolved:
    """Resolve the query's KPIs and everything they use; raise CompileError listing every problem."""
    planner = _Planner(query, registry, schema)
    for kpi_id in query.kpis:
        if kpi_id not in registry:
            message = unknown_name_message("KPI", kpi_id, registry)
            planner.errors.append(SpecError("compile", message, kpi=kpi_id))
            continue
        planner.visit(kpi_id)
    if planner.errors:
        raise CompileError(planner.errors)
    return Resolved(planner)


def build_plan(query: Query, registry: Mapping[str, Kpi], schema: Schema, first: date, last: date) -> Plan:
    """Plan ``query`` for the periods from ``first`` to ``last`` (local dates, any day in them)."""
    return resolve(query, registry, schema).over(first, last)
