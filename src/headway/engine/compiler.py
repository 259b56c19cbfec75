"""Compile a plan into one SQLGlot SELECT, then into SQL for a dialect.

The query is a chain of CTEs:

* ``spine``: every period of the range (plus look-back), so empty periods exist;
* one CTE per source scan, grouping its leaves by period (and dimension);
* ``dims``: the dimension values seen in any source;
* ``base``: spine x dims with every leaf joined on (additive leaves 0 when empty);
* ``stage1`` ... ``stageN``: KPI columns, each stage reading the one before;
* a final SELECT of the asked-for KPIs over the asked-for periods.

Table names come from the plan, never from user text; user expressions are parsed
and whitelisted by :mod:`headway.engine.expressions` before they are embedded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from sqlglot import exp

from headway.engine.canonical import CANONICAL, FieldType
from headway.engine.expressions import parse_expression, parse_formula
from headway.engine.periods import local_time, periods_per_year, shift, step_interval, truncate_sql, window_grain
from headway.engine.plan import Leaf, Plan, Source
from headway.engine.spec import (
    Agg,
    Aggregate,
    Change,
    Compare,
    Composite,
    Cumulative,
    Derived,
    Duration,
    KpiRef,
    PeriodOverPeriod,
    Ratio,
    Retention,
    RetentionOutput,
    Snapshot,
    Window,
)
from headway.engine.warehouse import Dialect

PERIOD = "_period"
DIM = "_dim"
NONE_LABEL = "(none)"


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _date(d: date) -> exp.Expression:
    return exp.cast(exp.Literal.string(d.isoformat()), exp.DataType.build("date"))


def _timestamp(d: date) -> exp.Expression:
    return exp.cast(exp.Literal.string(f"{d.isoformat()} 00:00:00"), exp.DataType.build("timestamp"))


def _double(e: exp.Expression) -> exp.Expression:
    return exp.cast(e, exp.DataType.build("double"))


def _nullif0(e: exp.Expression) -> exp.Expression:
    return exp.Nullif(this=e, expression=exp.Literal.number(0))


def _div(num: exp.Expression, den: exp.Expression) -> exp.Expression:
    return exp.Div(this=_double(num), expression=_nullif0(den))


_NULL_TYPES = {
    FieldType.STRING: "VARCHAR",
    FieldType.INTEGER: "BIGINT",
    FieldType.DECIMAL: "DOUBLE",
    FieldType.BOOLEAN: "BOOLEAN",
    FieldType.DATE: "DATE",
    FieldType.TIMESTAMP: "TIMESTAMP",
}


class Compiler:
    def __init__(self, plan: Plan, tables: Mapping[str, str] | None = None, dialect: Dialect = Dialect.DUCKDB):
        self.plan = plan
        self.dialect = dialect
        self.q = plan.query
        self.tables = dict(tables or {})
        self.ctes: list[tuple[str, exp.Expression]] = []

    # --- pieces ---------------------------------------------------------------------
    def table(self, dataset: str) -> exp.Expression:
        name = self.tables.get(dataset, dataset)
        parts = name.split(".")
        table = exp.table_(parts[-1], db=parts[0] if len(parts) > 1 else None, quoted=True)
        missing = self.missing_optional(dataset)
        if not missing:
            return table
        # Optional canonical fields the data does not have read as NULL (e.g. an orders file
        # without a status column: "status IS NULL OR status NOT IN (...)" keeps every order).
        nulls = [
            exp.Cast(this=exp.Null(), to=exp.DataType.build(_NULL_TYPES[ftype])).as_(column, quoted=True)
            for column, ftype in missing.items()
        ]
        return exp.select(exp.Star(), *nulls).from_(table).subquery(exp.to_identifier(parts[-1], quoted=True))

    def missing_optional(self, dataset: str) -> dict[str, FieldType]:
        present = self.plan.schema.get(dataset, {})
        if dataset not in CANONICAL or not present:
            return {}
        return {f.name: f.type for f in CANONICAL[dataset].fields if not f.required and f.name not in present}

    def columns(self, dataset: str) -> Mapping[str, FieldType]:
        return {**self.plan.schema.get(dataset, {}), **self.missing_optional(dataset)}

    def expr(self, dataset: str, text: str) -> exp.Expression:
        return parse_expression(text, self.columns(dataset))

    def is_timestamp(self, dataset: str, column: str) -> bool:
        ftype = self.columns(dataset).get(column)
        if ftype is None and dataset in CANONICAL:
            f = CANONICAL[dataset].field(column)
            ftype = f.type if f else None
        return ftype is FieldType.TIMESTAMP

    def local(self, dataset: str, column: str) -> exp.Expression:
        return local_time(_col(column), self.is_timestamp(dataset, column), self.q.calendar)

    def period_of(self, dataset: str, column: str) -> exp.Expression:
        return truncate_sql(self.local(dataset, column), self.q.grain, self.q.calendar)

    def dim_of(self) -> exp.Expression:
        assert self.q.dimension
        as_text = exp.cast(_col(self.q.dimension), exp.DataType.build("varchar"))
        return exp.Coalesce(this=as_text, expressions=[exp.Literal.string(NONE_LABEL)])

    def spine_end(self) -> date:
        """First day after the last period of the spine."""
        return shift(self.plan.last, 1, self.q.grain)

    def in_range(self, dataset: str, column: str) -> exp.Expr:
        """Rows whose local time falls inside the spine.

        For a zone other than UTC the raw column is also bounded a day wider, so the
        database can skip data on the stored value before converting it.
        """
        local = self.local(dataset, column)
        lo, hi = self.plan.first, self.spine_end()
        cond: exp.Expr = exp.and_(
            exp.GTE(this=local, expression=_timestamp(lo)), exp.LT(this=local, expression=_timestamp(hi))
        )
        if self.is_timestamp(dataset, column) and self.q.calendar.timezone != "UTC":
            raw = _col(column)
            cond = exp.and_(
                exp.GTE(this=raw, expression=_timestamp(lo - timedelta(days=1))),
                exp.LT(this=raw, expression=_timestamp(hi + timedelta(days=1))),
                cond,
            )
        return cond

    def aggregate(self, leaf: Leaf, dataset: str) -> exp.Expression:
        value = self.expr(dataset, leaf.expr) if leaf.expr else None
        agg: exp.Expression
        if leaf.agg is Agg.COUNT:
            agg = exp.Count(this=value if value is not None else exp.Star())
        elif leaf.agg is Agg.COUNT_DISTINCT:
            agg = exp.Count(this=exp.Distinct(expressions=[value]))
        elif leaf.agg is Agg.SUM:
            agg = exp.Sum(this=value)
        elif leaf.agg is Agg.AVG:
            agg = exp.Avg(this=value)
        elif leaf.agg is Agg.MIN:
            agg = exp.Min(this=value)
        elif leaf.agg is Agg.MAX:
            agg = exp.Max(this=value)
        elif leaf.agg is Agg.MEDIAN:
            agg = exp.Median(this=value)
        elif leaf.agg is Agg.PERCENTILE:
            agg = exp.PercentileCont(this=value, expression=exp.Literal.number(leaf.percentile))
        else:
            raise AssertionError(f"unhandled aggregate {leaf.agg}")
        if leaf.filter:
            agg = exp.Filter(this=agg, expression=exp.Where(this=self.expr(dataset, leaf.filter)))
        return agg

    # --- sources --------------------------------------------------------------------
    def scan_cte(self, name: str, source: Source, leaves: list[Leaf], rows: exp.Expression) -> None:
        """Group ``rows`` (a table or subquery) by period and dimension into the leaf columns."""
        ds = source.dataset
        keys: list[exp.Expr] = [self.period_of(ds, source.time).as_(PERIOD)]
        if self.q.dimension:
            keys.append(self.dim_of().as_(DIM))
        cols = [self.aggregate(leaf, ds).as_(self.plan.leaves[leaf]) for leaf in leaves]
        select = (
            exp.select(*keys, *cols)
            .from_(rows)
            .where(self.in_range(ds, source.time))
            .group_by(*(exp.Literal.number(i + 1) for i in range(len(keys))))
        )
        self.ctes.append((name, select))

    def first_rows(self, source: Source) -> exp.Expression:
        """Each entity's first row (by time, then key) among the rows matching the filter, over all history."""
        ds = source.dataset
        assert source.entity
        order: list[exp.Expr] = [_col(source.time)]
        ctype = CANONICAL.get(ds)
        order += [_col(k) for k in (ctype.key if ctype else ()) if k in self.columns(ds)]
        rank = exp.Window(
            this=exp.RowNumber(), partition_by=[_col(source.entity)], order=exp.Order(expressions=order)
        ).as_("_rank")
        inner = exp.select(exp.Star(), rank).from_(self.table(ds))
        if source.filter:
            inner = inner.where(self.expr(ds, source.filter))
        return exp.select(exp.Star()).from_(inner.subquery("_ranked")).where("_rank = 1").subquery("_first")

    def retention_ctes(self, name: str, source: Source, leaves: list[Leaf]) -> None:
        ds = source.dataset
        assert source.entity
        act_name = f"{name}_active"
        keys: list[exp.Expr] = []
        if source.mode == "interval":
            assert source.start and source.end
            period_end = exp.Add(this=_col(PERIOD, "s"), expression=step_interval(self.q.grain))
            started = exp.LT(this=self.local(ds, source.start), expression=period_end)
            end_local = self.local(ds, source.end)
            ongoing = exp.or_(
                exp.Is(this=end_local, expression=exp.Null()), exp.GTE(this=end_local, expression=period_end)
            )
            on = exp.and_(started, ongoing, *([self.expr(ds, source.filter)] if source.filter else []))
            keys.append(_col(PERIOD, "s").as_(PERIOD))
            if self.q.dimension:
                keys.append(self.dim_of().as_(DIM))
            keys.append(_col(source.entity).as_("_entity"))
            act = exp.select(*keys).distinct().from_(exp.to_table("spine").as_("s")).join(self.table(ds), on=on)
        else:
            keys.append(self.period_of(ds, source.time).as_(PERIOD))
            if self.q.dimension:
                keys.append(self.dim_of().as_(DIM))
            keys.append(_col(source.entity).as_("_entity"))
            conds = [
                self.in_range(ds, source.time),
                exp.Not(this=exp.Is(this=_col(source.entity), expression=exp.Null())),
            ]
            if source.filter:
                conds.append(self.expr(ds, source.filter))
            act = exp.select(*keys).distinct().from_(self.table(ds)).where(exp.and_(*conds))
        self.ctes.append((act_name, act))

        base, kept = (self.plan.leaves[leaf] for leaf in sorted(leaves, key=lambda lf: lf.role))
        join_prev = exp.EQ(this=_col(PERIOD, "p"), expression=_col("_prev", "s"))
        join_now = [
            exp.EQ(this=_col(PERIOD, "c"), expression=_col(PERIOD, "s")),
            exp.EQ(this=_col("_entity", "c"), expression=_col("_entity", "p")),
        ]
        out: list[exp.Expr] = [_col(PERIOD, "s").as_(PERIOD)]
        if self.q.dimension:
            out.append(_col(DIM, "p").as_(DIM))
            join_now.append(exp.EQ(this=_col(DIM, "c"), expression=_col(DIM, "p")))
        out += [exp.Count(this=exp.Star()).as_(base), exp.Count(this=_col("_entity", "c")).as_(kept)]
        select = (
            exp.select(*out)
            .from_(exp.to_table("spine_prev").as_("s"))
            .join(exp.to_table(act_name).as_("p"), on=join_prev)
            .join(exp.to_table(act_name).as_("c"), on=exp.and_(*join_now), join_type="left")
            .group_by(*(exp.Literal.number(i + 1) for i in range(len(out) - 2)))
        )
        self.ctes.append((name, select))

    def snapshot_cte(self, name: str, source: Source, leaves: list[Leaf]) -> None:
        ds = source.dataset
        keys: list[exp.Expr] = [self.period_of(ds, source.time).as_(PERIOD)]
        partition: list[exp.Expr] = [_col(PERIOD)]
        if self.q.dimension:
            keys.append(self.dim_of().as_(DIM))
            partition.append(_col(DIM))
        if source.entity:
            keys.append(_col(source.entity).as_("_entity"))
            partition.append(_col("_entity"))
        values = [self.expr(ds, leaf.expr or "").as_(f"_v{i}") for i, leaf in enumerate(leaves)]
        conds = [self.in_range(ds, source.time)]
        if source.filter:
            conds.append(self.expr(ds, source.filter))
        rows = exp.select(*keys, _col(source.time).as_("_t"), *values).from_(self.table(ds)).where(exp.and_(*conds))
        latest = exp.Window(this=exp.Max(this=_col("_t")), partition_by=partition).as_("_latest")
        ranked = exp.select(exp.Star(), latest).from_(rows.subquery("_rows"))
        group = [_col(PERIOD)] + ([_col(DIM)] if self.q.dimension else [])
        aggs = []
        for i, leaf in enumerate(leaves):
            fn = {Agg.SUM: exp.Sum, Agg.AVG: exp.Avg, Agg.MAX: exp.Max, Agg.MIN: exp.Min}[leaf.agg]
            aggs.append(fn(this=_col(f"_v{i}")).as_(self.plan.leaves[leaf]))
        select = exp.select(*group, *aggs).from_(ranked.subquery("_ranked")).where("_t = _latest").group_by(*group)
        self.ctes.append((name, select))

    def opening_cte(self, name: str, source: Source, leaves: list[Leaf]) -> None:
        """Totals of everything before the spine, per dimension value (opening balances)."""
        ds = source.dataset
        keys = [self.dim_of().as_(DIM)] if self.q.dimension else []
        cols = [self.aggregate(leaf, ds).as_(self.plan.leaves[leaf]) for leaf in leaves]
        before = exp.LT(this=self.local(ds, source.time), expression=_timestamp(self.plan.first))
        select = exp.select(*keys, *cols).from_(self.table(ds)).where(before)
        if keys:
            select = select.group_by(exp.Literal.number(1))
        self.ctes.append((name, select))

    # --- KPI columns ----------------------------------------------------------------
    def operand(self, op: Aggregate | KpiRef, leaves: tuple[Leaf, ...], index: int) -> exp.Expression:
        if isinstance(op, KpiRef):
            return _col(op.kpi)
        return _col(self.plan.leaves[leaves[index]])

    def kpi_expr(self, kpi_id: str) -> exp.Expression:
        node = self.plan.nodes[kpi_id]
        m = node.kpi.metric
        by: list[exp.Expr] = [_col(DIM)] if self.q.dimension else []
        order = exp.Order(expressions=[exp.Ordered(this=_col(PERIOD))])
        if isinstance(m, Aggregate | Duration | Snapshot):
            return _col(self.plan.leaves[node.leaves[0]])
        if isinstance(m, Retention):
            base, kept = (self.plan.leaves[lf] for lf in sorted(node.leaves, key=lambda lf: lf.role))
            share = _div(_col(kept), _col(base))
            if m.output is RetentionOutput.CHURN:
                return exp.Sub(this=exp.Literal.number(1), expression=share)
            return share
        if isinstance(m, Ratio):
            num = self.operand(m.numerator, node.leaves, 0)
            den_index = 0 if isinstance(m.numerator, KpiRef) else 1
            return _div(num, self.operand(m.denominator, node.leaves, den_index))
        if isinstance(m, Derived):
            formula = parse_formula(m.formula, self.plan.nodes.keys())
            return formula.transform(self._formula_node)
        if isinstance(m, Composite):
            total = sum(c.weight for c in m.components)
            terms: list[exp.Expr] = []
            for c in m.components:
                scale = exp.Literal.number(c.scale)
                part = _div(scale, _col(c.kpi)) if c.invert else exp.Div(this=_double(_col(c.kpi)), expression=scale)
                terms.append(exp.Mul(this=exp.Literal.number(c.weight), expression=exp.Paren(this=part)))
            acc = terms[0]
            for t in terms[1:]:
                acc = exp.Add(this=acc, expression=t)
            return exp.Div(this=exp.Paren(this=acc), expression=exp.Literal.number(total))
        if isinstance(m, PeriodOverPeriod):
            k = 1 if m.compare is Compare.PREVIOUS else periods_per_year(self.q.grain)
            prev = exp.Window(
                this=exp.Lag(this=_col(m.base), offset=exp.Literal.number(k)), partition_by=by, order=order
            )
            if m.change is Change.DIFFERENCE:
                return exp.Sub(this=_col(m.base), expression=prev)
            if m.change is Change.RATIO:
                return _div(_col(m.base), prev)
            return _div(exp.Paren(this=exp.Sub(this=_col(m.base), expression=prev)), exp.Abs(this=prev))
        if isinstance(m, Cumulative):
            return self.cumulative(m, node.leaves, by, order)
        raise AssertionError(f"unhandled metric kind {m.kind}")

    def _formula_node(self, node: exp.Expression) -> exp.Expression:
        """KPI ids become columns; every division is undefined (null) by zero, as in a ratio."""
        if isinstance(node, exp.Column) and node.name in self.plan.nodes:
            return _col(node.name)
        if isinstance(node, exp.Div):
            return _div(node.this, node.expression)
        return node

    def cumulative(
        self, m: Cumulative, leaves: tuple[Leaf, ...], by: list[exp.Expr], order: exp.Order
    ) -> exp.Expression:
        partition = list(by)
        bucket = window_grain(m.window)
        if bucket is not None:
            partition.append(truncate_sql(_col(PERIOD), bucket, self.q.calendar))
        start: object = "UNBOUNDED"
        if m.window is Window.ROLLING:
            start = exp.Literal.number((m.periods or 1) - 1)
        spec = exp.WindowSpec(kind="ROWS", start=start, start_side="PRECEDING", end="CURRENT ROW")
        total: exp.Expression = exp.Window(
            this=exp.Sum(this=_col(m.base)), partition_by=partition, order=order, spec=spec
        )
        if m.window is Window.ALL and leaves:
            opening = exp.Coalesce(this=_col(self.plan.leaves[leaves[0]]), expressions=[exp.Literal.number(0)])
            total = exp.Add(this=opening, expression=total)
        return total

    # --- assembly -------------------------------------------------------------------
    def spine(self) -> exp.Select:
        """Every period start from the plan's first to its last, as DATE ``_period``.

        The one place dialects differ in shape: DuckDB and PostgreSQL have the table
        function ``generate_series``; Spark explodes a ``sequence``.
        """
        plan = self.plan
        series = exp.GenerateSeries(
            start=_timestamp(plan.first), end=_timestamp(plan.last), step=step_interval(self.q.grain)
        )
        period = exp.cast(exp.column("p", "s"), exp.DataType.build("date")).as_(PERIOD)
        rows: exp.Expression
        if self.dialect is Dialect.SPARK:
            rows = exp.select(exp.Explode(this=series).as_("p")).subquery("s")
        else:
            rows = exp.Table(this=series, alias=exp.TableAlias(this=exp.to_identifier("s"), columns=["p"]))
        return exp.select(period).from_(rows)

    def build(self) -> exp.Select:
        q, plan = self.q, self.plan
        self.ctes.append(("spine", self.spine()))
        sources = plan.sources()
        if any(s.kind == "retention" for s in sources):
            prev = exp.Window(this=exp.Lag(this=_col(PERIOD)), order=exp.Order(expressions=[_col(PERIOD)]))
            self.ctes.append(("spine_prev", exp.select(_col(PERIOD), prev.as_("_prev")).from_("spine")))

        joined: list[tuple[str, Source]] = []
        for i, (source, leaves) in enumerate(sources.items()):
            name = f"src{i}_{source.dataset}"
            if source.kind == "scan":
                self.scan_cte(name, source, leaves, self.table(source.dataset))
            elif source.kind == "first":
                self.scan_cte(name, source, leaves, self.first_rows(source))
            elif source.kind == "retention":
                self.retention_ctes(name, source, leaves)
            elif source.kind == "snapshot":
                self.snapshot_cte(name, source, leaves)
            elif source.kind == "opening":
                self.opening_cte(name, source, leaves)
            else:
                raise AssertionError(f"unhandled source kind {source.kind}")
            joined.append((name, source))

        base_from = exp.select(_col(PERIOD, "spine")).from_("spine")
        if q.dimension:
            dims = [exp.select(_col(DIM)).from_(name) for name, _ in joined]
            union: exp.Expression = dims[0]
            for d in dims[1:]:
                union = exp.union(union, d, distinct=True)
            if len(dims) == 1:
                union = dims[0].distinct()
            self.ctes.append(("dims", union))
            base_from = base_from.select(_col(DIM, "dims")).join("dims", join_type="cross")
        leaf_cols: list[exp.Expr] = []
        for name, source in joined:
            on: list[exp.Expr] = []
            if source.kind != "opening":
                on.append(exp.EQ(this=_col(PERIOD, name), expression=_col(PERIOD, "spine")))
            if q.dimension:
                on.append(exp.EQ(this=_col(DIM, name), expression=_col(DIM, "dims")))
            cond = exp.and_(*on) if on else exp.true()
            base_from = base_from.join(exp.to_table(name), on=cond, join_type="left")
            for leaf in sources[source]:
                col = _col(plan.leaves[leaf], name)
                value = exp.Coalesce(this=col, expressions=[exp.Literal.number(0)]) if leaf.zero_when_empty else col
                leaf_cols.append(value.as_(plan.leaves[leaf]))
        self.ctes.append(("base", base_from.select(*leaf_cols)))

        previous = "base"
        for stage in range(1, plan.stages + 1):
            cols = [self.kpi_expr(k).as_(k, quoted=True) for k, n in plan.nodes.items() if n.stage == stage]
            name = f"stage{stage}"
            self.ctes.append((name, exp.select(exp.Star()).select(*cols).from_(previous)))
            previous = name

        out: list[exp.Expr] = [_col(PERIOD).as_("period", quoted=True)]
        order_by: list[exp.Expr] = [_col("period")]
        if q.dimension:
            out.append(_col(DIM).as_(q.dimension, quoted=True))
            order_by.append(_col(q.dimension))
        out += [_col(k) for k in q.kpis]
        final = (
            exp.select(*out)
            .from_(previous)
            .where(exp.GTE(this=_col(PERIOD), expression=_date(plan.range_first)))
            .order_by(*order_by)
        )
        for name, cte in self.ctes:
            final = final.with_(name, as_=cte, copy=False)  # copying the growing query each time is quadratic
        return final


def compile_plan(
    plan: Plan, tables: Mapping[str, str] | None = None, dialect: Dialect | str = Dialect.DUCKDB
) -> exp.Select:
    """The plan as one SQLGlot SELECT, shaped for ``dialect`` (see :meth:`Compiler.spine`)."""
    return Compiler(plan, tables, Dialect(dialect)).build()


def compile_sql(
    plan: Plan, dialect: Dialect | str, tables: Mapping[str, str] | None = None, *, pretty: bool = False
) -> str:
    """The plan as SQL text for ``dialect``."""
    return to_sql(compile_plan(plan, tables, dialect), dialect, pretty=pretty)


def to_sql(select: exp.Expression, dialect: Dialect | str, *, pretty: bool = False) -> str:
    return select.sql(dialect=Dialect(dialect).value, pretty=pretty)
