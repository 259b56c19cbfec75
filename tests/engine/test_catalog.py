"""The KPI catalog: every entry valid, complete and documented.

If ``test_docs_are_current`` fails, regenerate the reference with:

    python -m headway.engine.catalog > docs/kpi-catalog.md
"""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from headway.engine.canonical import CANONICAL, DATASET_TYPES, FieldType
from headway.engine.catalog import (
    Catalog,
    computable,
    dependencies,
    describe_metric,
    load_catalog,
    parse_catalog,
    render_markdown,
    required_fields,
)
from headway.engine.errors import ModelError
from headway.engine.expressions import parse_expression, parse_formula
from headway.engine.spec import (
    Aggregate,
    Category,
    Compare,
    Cumulative,
    Direction,
    Duration,
    Kpi,
    PeriodOverPeriod,
    Ratio,
    Retention,
    Snapshot,
    Unit,
    Window,
)

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "kpi-catalog.md"

VALID_ORDER = "status IS NULL OR status NOT IN ('cancelled', 'refunded')"

REQUIRED_IDS = [
    # named in DESIGN.md and the seed material
    "revenue_growth",
    "gross_margin_pct",
    "net_profit_margin",
    "net_cash_flow",
    "cash_balance",
    "cac",
    "csat",
    "nps",
    "customer_retention_rate",
    "customer_churn_rate",
    "subscription_churn_rate",
    "fulfilment_time",
    "production_cycle_time",
    "inventory_turnover",
    "employee_productivity",
    "website_conversion_rate",
    "lead_conversion_rate",
    "lead_generation_rate",
    "sales_growth",
    "website_traffic",
    "daily_revenue",
    "table_turnover",
    "food_cost_pct",
    "defect_rate",
    "client_retention_rate",
    "delivery_time",
    "on_time_delivery_rate",
    "fuel_efficiency",
    "maintenance_cost",
    "energy_consumption",
    "co2_emissions",
    "waste_generated",
    "innovation_velocity",
    "market_agility_index",
    "checkout_wait_time",
    "new_projects",
    "training_hours_per_employee",
    "support_ticket_volume",
    # standard SMB KPIs
    "revenue",
    "orders",
    "aov",
    "mrr",
    "arr",
    "ltv",
    "ltv_cac_ratio",
    "burn_rate",
    "runway_months",
    "dso",
    "repeat_purchase_rate",
    "new_customers",
    "active_customers",
    "refund_rate",
    "discount_rate",
    "revenue_per_employee",
    "billable_utilisation",
    "employee_turnover_rate",
    "first_response_time",
    "ticket_resolution_time",
    "stock_out_rate",
    "inventory_value",
    "project_on_time_rate",
    "project_on_budget_rate",
    "marketing_roi",
    "roas",
    "cost_per_lead",
    "revenue_per_cover",
    "covers",
    "average_check",
    "headcount",
    # no transactional source: external signals, partner / employee surveys, manual entry
    "market_sentiment",
    "technology_disruption_index",
    "supply_chain_resilience",
    "partner_satisfaction",
    "employee_engagement",
    "innovation_pipeline_strength",
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def kpi_params() -> list[Kpi]:
    return list(load_catalog().kpis.values())


# --- the catalog as a whole ------------------------------------------------------


def test_catalog_loads_and_is_cached(catalog: Catalog) -> None:
    assert load_catalog() is catalog
    assert len(catalog) >= 60


def test_ids_are_unique_across_files() -> None:
    files = [("a.yaml", "kpis: [{id: x, name: X, category: financial, metric: {kind: manual}}]")] * 2
    with pytest.raises(ModelError) as err:
        parse_catalog(files)
    assert err.value.errors[0].rule == "duplicate-kpi"


def test_bad_entry_is_reported_with_its_id() -> None:
    with pytest.raises(ModelError) as err:
        parse_catalog([("a.yaml", "kpis: [{id: x, name: X, category: nope, metric: {kind: manual}}]")])
    assert err.value.errors[0].kpi == "x"


def test_every_required_kpi_is_present(catalog: Catalog) -> None:
    missing = [k for k in REQUIRED_IDS if k not in catalog]
    assert not missing


def test_every_metric_kind_and_variant_is_used(catalog: Catalog) -> None:
    kinds = Counter(k.kind for k in catalog)
    assert set(kinds) == {
        "aggregate",
        "ratio",
        "derived",
        "composite",
        "cumulative",
        "period_over_period",
        "duration",
        "retention",
        "snapshot",
        "manual",
    }
    metrics = [k.metric for k in catalog]
    parts = metrics + [s for m in metrics if isinstance(m, Ratio) for s in (m.numerator, m.denominator)]
    aggs = {m.agg.value for m in parts if isinstance(m, Aggregate)}
    assert {"sum", "count", "count_distinct", "avg", "median", "percentile"} <= aggs
    assert any(isinstance(m, Aggregate) and m.first_per == "customer_id" for m in parts)
    assert {m.window for m in metrics if isinstance(m, Cumulative)} == set(Window)
    assert {m.compare for m in metrics if isinstance(m, PeriodOverPeriod)} == set(Compare)
    assert {m.mode for m in metrics if isinstance(m, Retention)} == {"activity", "interval"}
    assert {m.output.value for m in metrics if isinstance(m, Retention)} == {"retention", "churn"}
    assert {k.category for k in catalog} == set(Category)
    datasets = {d for k in catalog for d in required_fields(k, catalog)}
    assert {"external_signals", "survey_responses", "esg_measurements"} <= datasets


def test_catalog_files_are_named_after_their_category(catalog: Catalog) -> None:
    for kpi in catalog:
        assert catalog.sources[kpi.id] == f"kpis/{kpi.category.value}.yaml", kpi.id


def test_no_reference_cycles(catalog: Catalog) -> None:
    state: dict[str, int] = {}

    def visit(kpi_id: str, path: list[str]) -> None:
        if state.get(kpi_id) == 2:
            return
        assert state.get(kpi_id) != 1, f"cycle: {' -> '.join([*path, kpi_id])}"
        state[kpi_id] = 1
        for ref in dependencies(catalog.get(kpi_id)):
            visit(ref, [*path, kpi_id])
        state[kpi_id] = 2

    for kpi in catalog:
        visit(kpi.id, [])


def test_validation_rules_find_nothing(catalog: Catalog) -> None:
    validation = pytest.importorskip("headway.engine.validation")
    from headway.engine.spec import KpiModel

    errors = validation.validate_model(KpiModel(kpis=tuple(catalog.kpis.values()), source="catalog"))
    assert not errors, "\n".join(map(str, errors))


# --- each KPI ------------------------------------------------------------------


@pytest.mark.parametrize("kpi", kpi_params(), ids=lambda k: k.id)
def test_kpi_metadata(kpi: Kpi) -> None:
    text = " ".join(kpi.description.split())
    assert len(text) >= 80
    assert "TODO" not in text.upper() and "TBD" not in text.upper()
    assert 2 <= len(re.findall(r"[.!?](?:\s|$)", text)) <= 4, "description should be 2-4 sentences"
    assert kpi.name and kpi.name[0].isupper()
    assert kpi.default_grain is not None
    assert kpi.tags, "tag the industries the KPI fits"
    if kpi.format:
        kind = kpi.format.split(":")[0]
        assert kind in ("number", "currency", "percent")
        assert (kind == "percent") == (kpi.unit is Unit.PERCENT)
        assert (kind == "currency") == (kpi.unit is Unit.CURRENCY)


@pytest.mark.parametrize("kpi", kpi_params(), ids=lambda k: k.id)
def test_kpi_thresholds_are_sensible(kpi: Kpi) -> None:
    t = kpi.thresholds
    if t is None:
        return
    if kpi.direction is Direction.HIGHER:
        assert t.good >= t.warning
    else:
        assert t.good <= t.warning
    if kpi.unit is Unit.PERCENT:
        assert -1 <= t.warning <= 2 and -1 <= t.good <= 2, "percent thresholds are fractions"


@pytest.mark.parametrize("kpi", kpi_params(), ids=lambda k: k.id)
def test_kpi_references_exist(kpi: Kpi, catalog: Catalog) -> None:
    for ref in dependencies(kpi):
        assert ref in catalog, ref
        assert ref != kpi.id
    for guardrail in kpi.guardrails:
        assert guardrail in catalog, guardrail
        assert guardrail != kpi.id


@pytest.mark.parametrize("kpi", kpi_params(), ids=lambda k: k.id)
def test_kpi_reads_only_canonical_fields(kpi: Kpi, catalog: Catalog) -> None:
    metric = kpi.metric
    parts: list[object] = [metric]
    if isinstance(metric, Ratio):
        parts = [metric.numerator, metric.denominator]
    for part in parts:
        if isinstance(part, Aggregate | Snapshot | Duration | Retention):
            assert part.dataset in CANONICAL
            columns = CANONICAL[part.dataset].column_types()
            for text in (getattr(part, "expr", None), part.filter):
                if text:
                    parse_expression(text, columns)  # whitelist + known columns
    if kpi.kind == "derived":
        parse_formula(kpi.metric.formula, catalog.kpis)  # type: ignore[union-attr]
    for dataset, columns in required_fields(kpi, catalog).items():
        known = CANONICAL[dataset].column_types()
        assert columns <= set(known), (dataset, columns - set(known))
    assert describe_metric(kpi)


# --- fixed definitions other code relies on ---------------------------------------


def test_fixed_definitions(catalog: Catalog) -> None:
    revenue = catalog.get("revenue").metric
    assert isinstance(revenue, Aggregate)
    assert (revenue.dataset, revenue.agg.value, revenue.expr, revenue.filter) == (
        "orders",
        "sum",
        "total_amount",
        VALID_ORDER,
    )
    orders = catalog.get("orders").metric
    assert isinstance(orders, Aggregate)
    assert (orders.dataset, orders.agg.value, orders.expr, orders.filter) == ("orders", "count", None, VALID_ORDER)
    aov = catalog.get("aov").metric
    assert isinstance(aov, Ratio)
    assert aov.numerator.model_dump() == {"kpi": "revenue"} and aov.denominator.model_dump() == {"kpi": "orders"}
    gm = catalog.get("gross_margin_pct").metric
    assert isinstance(gm, Ratio) and isinstance(gm.numerator, Aggregate)
    assert (gm.numerator.expr, gm.numerator.filter, gm.numerator.agg.value) == (
        "total_amount - cost_amount",
        VALID_ORDER,
        "sum",
    )
    assert gm.denominator.model_dump() == {"kpi": "revenue"}
    new = catalog.get("new_customers").metric
    assert isinstance(new, Aggregate)
    assert (new.agg.value, new.expr, new.filter, new.first_per) == (
        "count_distinct",
        "customer_id",
        VALID_ORDER,
        "customer_id",
    )
    active = catalog.get("active_customers").metric
    assert isinstance(active, Aggregate)
    assert (active.agg.value, active.expr, active.filter, active.first_per) == (
        "count_distinct",
        "customer_id",
        VALID_ORDER,
        None,
    )
    repeat = catalog.get("repeat_purchase_rate").metric
    assert repeat.kind == "derived"
    assert repeat.formula == "(active_customers - new_customers) / NULLIF(active_customers, 0)"
    growth = catalog.get("revenue_growth").metric
    assert isinstance(growth, PeriodOverPeriod)
    assert (growth.base, growth.compare.value, growth.change.value) == ("revenue", "previous", "growth")
    ft = catalog.get("fulfilment_time").metric
    assert isinstance(ft, Duration)
    assert (ft.dataset, ft.start, ft.end, ft.unit.value, ft.agg.value) == (
        "orders",
        "ordered_at",
        "fulfilled_at",
        "days",
        "avg",
    )
    refunds = catalog.get("refund_rate").metric
    assert isinstance(refunds, Ratio)
    assert isinstance(refunds.numerator, Aggregate) and isinstance(refunds.denominator, Aggregate)
    assert (refunds.numerator.dataset, refunds.numerator.agg.value, refunds.numerator.filter) == (
        "orders",
        "count",
        "status = 'refunded'",
    )
    assert (refunds.denominator.dataset, refunds.denominator.agg.value, refunds.denominator.filter) == (
        "orders",
        "count",
        None,
    )
    assert set(catalog.get("fulfilment_time").guardrails) >= {"refund_rate", "csat"}
    for kpi_id in ("revenue", "orders", "aov", "gross_margin_pct", "revenue_growth"):
        assert catalog.get(kpi_id).category is Category.FINANCIAL
    for kpi_id in ("new_customers", "active_customers", "repeat_purchase_rate", "refund_rate"):
        assert catalog.get(kpi_id).category is Category.CUSTOMER
    assert catalog.get("fulfilment_time").category is Category.OPERATIONAL


# --- lookups and required fields -----------------------------------------------


def test_get_suggests_close_ids(catalog: Catalog) -> None:
    with pytest.raises(KeyError, match="revenue"):
        catalog.get("revenu")


def test_search_and_grouping(catalog: Catalog) -> None:
    ids = [k.id for k in catalog.search("churn")]
    assert "customer_churn_rate" in ids and "subscription_churn_rate" in ids
    assert catalog.search("table turnover")[0].id == "table_turnover"
    assert catalog.search("no such thing at all") == []
    groups = catalog.by_category()
    assert list(groups) == [c for c in Category if c in groups]
    assert sum(len(v) for v in groups.values()) == len(catalog)
    assert all(k.category is c for c, kpis in groups.items() for k in kpis)
    assert "table_turnover" in [k.id for k in catalog.by_tag("restaurant")]


def test_required_fields_follow_references(catalog: Catalog) -> None:
    assert required_fields(catalog.get("revenue"), catalog) == {"orders": {"total_amount", "status", "ordered_at"}}
    assert required_fields(catalog.get("aov"), catalog) == {"orders": {"total_amount", "status", "ordered_at"}}
    assert required_fields(catalog.get("cac"), catalog) == {
        "marketing_spend": {"spend", "date"},
        "orders": {"customer_id", "status", "ordered_at"},
    }
    assert required_fields(catalog.get("fulfilment_time"), catalog) == {"orders": {"ordered_at", "fulfilled_at"}}
    assert required_fields(catalog.get("subscription_churn_rate"), catalog) == {
        "subscriptions": {"customer_id", "started_at", "ended_at"}
    }
    assert required_fields(catalog.get("dso"), catalog) == {}
    ltv = required_fields(catalog.get("ltv"), catalog)
    assert ltv == {"orders": {"customer_id", "status", "ordered_at", "total_amount", "cost_amount"}}


def test_computable(catalog: Catalog) -> None:
    orders = {"orders": {"order_id", "customer_id", "ordered_at", "total_amount", "status"}}
    assert computable(catalog.get("aov"), orders, catalog) == (True, {})
    ok, missing = computable(catalog.get("gross_margin_pct"), orders, catalog)
    assert not ok and missing == {"orders": {"cost_amount"}}
    ok, missing = computable(catalog.get("cac"), orders, catalog)
    assert not ok and missing == {"marketing_spend": {"spend", "date"}}
    assert computable(catalog.get("dso"), {}, catalog) == (True, {})
    # With every canonical column, every KPI is computable.
    everything = {t.name: {f.name for f in t.fields} for t in DATASET_TYPES}
    assert all(computable(k, everything, catalog)[0] for k in catalog)


# --- the generated reference ----------------------------------------------------


def test_docs_are_current(catalog: Catalog) -> None:
    expected = render_markdown(catalog)
    actual = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    assert actual == expected, (
        "docs/kpi-catalog.md is stale; regenerate it with: python -m headway.engine.catalog > docs/kpi-catalog.md"
    )


def test_docs_mention_every_kpi(catalog: Catalog) -> None:
    text = render_markdown(catalog)
    for kpi in catalog:
        assert f"(`{kpi.id}`)" in text


# --- every KPI compiles and runs on DuckDB ------------------------------------------


def _random_warehouse() -> object:
    pd = pytest.importorskip("pandas")
    warehouse = pytest.importorskip("headway.engine.warehouse")
    rng = random.Random(7)
    start = datetime(2024, 1, 1)
    wh = warehouse.DuckDBWarehouse()
    for dtype in DATASET_TYPES:
        rows = []
        for _ in range(200):
            row: dict[str, object] = {}
            for f in dtype.fields:
                moment = start + timedelta(hours=rng.randint(0, 400 * 24))
                if f.values:
                    row[f.name] = rng.choice(f.values)
                elif f.type is FieldType.STRING:
                    row[f.name] = f"{f.name}{rng.randint(0, 15)}"
                elif f.type is FieldType.INTEGER:
                    row[f.name] = rng.randint(0, 50)
                elif f.type is FieldType.DECIMAL:
                    row[f.name] = round(rng.uniform(1, 100), 2)
                elif f.type is FieldType.BOOLEAN:
                    row[f.name] = rng.random() < 0.5
                elif f.type is FieldType.DATE:
                    row[f.name] = moment.date()
                else:
                    row[f.name] = moment
            rows.append(row)
        wh.load_frame(dtype.name, pd.DataFrame(rows), dataset_type=dtype.name)
    return wh


def test_every_catalog_kpi_runs_on_duckdb(catalog: Catalog) -> None:
    api = pytest.importorskip("headway.engine.api")
    hw = api.Headway(_random_warehouse())
    ids = [k.id for k in catalog if k.kind != "manual"]
    failures = {}
    for grain in ("week", "month"):
        try:
            df = hw.compute(ids, grain=grain, start="2024-01-01", end="2025-01-31")
        except Exception:
            for kpi_id in ids:  # find the culprits one by one
                try:
                    hw.compute(kpi_id, grain=grain, start="2024-01-01", end="2025-01-31")
                except Exception as exc:
                    failures[f"{kpi_id}@{grain}"] = f"{type(exc).__name__}: {exc}"
            continue
        assert list(df.columns) == ["period", *ids]
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
