"""Validation rules: each one catches its problem and stays quiet on a good model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from headway.engine.canonical import FieldType
from headway.engine.errors import SpecError
from headway.engine.loader import parse_kpis
from headway.engine.spec import Kpi, KpiModel
from headway.engine.validation import (
    RULES,
    DuplicateKpi,
    InvalidExpression,
    KpiCycle,
    MissingTimeColumn,
    NonAdditiveBase,
    UnknownColumn,
    UnknownDataset,
    UnknownKpi,
    ValidationContext,
    WrongType,
    canonical_schema,
    check_file,
    find_cycles,
    validate_model,
)

SOURCE = "models/shop.yaml"


def kpi(id: str, metric: dict[str, Any], **extra: Any) -> dict[str, Any]:
    if "kind" not in metric:
        metric = {"kind": "aggregate", **metric}
    return {"id": id, "name": id.replace("_", " "), "category": "financial", "metric": metric, **extra}


def model(*items: dict[str, Any]) -> KpiModel:
    kpis, errors = parse_kpis(list(items), SOURCE)
    assert errors == []
    return KpiModel(kpis=tuple(kpis), source=SOURCE)


def rule_errors(rule_name: str, m: KpiModel, **kwargs: Any) -> list[SpecError]:
    return [e for e in validate_model(m, **kwargs) if e.rule == rule_name]


REVENUE = kpi("revenue", {"dataset": "orders", "agg": "sum", "expr": "total_amount", "filter": "status <> 'cancelled'"})
COGS = kpi("cogs", {"dataset": "orders", "agg": "sum", "expr": "COALESCE(cost_amount, 0)"})

GOOD_MODEL = model(
    REVENUE,
    COGS,
    kpi("orders", {"dataset": "orders", "agg": "count"}),
    kpi("gross_profit", {"kind": "derived", "formula": "revenue - cogs"}, guardrails=["gross_margin"]),
    kpi("gross_margin", {"kind": "ratio", "numerator": {"kpi": "gross_profit"}, "denominator": {"kpi": "revenue"}}),
    kpi(
        "aov",
        {
            "kind": "ratio",
            "numerator": {"dataset": "orders", "agg": "sum", "expr": "total_amount"},
            "denominator": {"dataset": "orders", "agg": "count"},
        },
        guardrails=["gross_margin"],
    ),
    kpi("revenue_ytd", {"kind": "cumulative", "base": "revenue", "window": "ytd"}),
    kpi("gross_profit_ytd", {"kind": "cumulative", "base": "gross_profit", "window": "ytd"}),
    kpi("revenue_growth", {"kind": "period_over_period", "base": "revenue", "compare": "year_ago"}),
    kpi(
        "health",
        {"kind": "composite", "components": [{"kpi": "gross_margin", "weight": 1}, {"kpi": "aov", "weight": 2}]},
    ),
    kpi("fulfilment_time", {"kind": "duration", "dataset": "orders", "start": "ordered_at", "end": "fulfilled_at"}),
    kpi(
        "customer_retention",
        {"kind": "retention", "dataset": "orders", "entity": "customer_id", "filter": "total_amount > 0"},
    ),
    kpi(
        "subscription_churn",
        {
            "kind": "retention",
            "dataset": "subscriptions",
            "entity": "customer_id",
            "mode": "interval",
            "start": "started_at",
            "end": "ended_at",
            "output": "churn",
        },
    ),
    kpi("stock_value", {"kind": "snapshot", "dataset": "inventory_snapshots", "expr": "on_hand_value"}),
    kpi(
        "new_customers",
        {"dataset": "orders", "agg": "count_distinct", "expr": "customer_id", "first_per": "customer_id"},
    ),
    kpi("sentiment", {"kind": "manual"}),
)


def test_good_model_reports_nothing() -> None:
    assert validate_model(GOOD_MODEL) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_every_rule_is_quiet_on_a_good_model(rule: Any) -> None:
    assert rule.check(GOOD_MODEL, ValidationContext(canonical_schema())) == []


def test_rule_names_are_unique_and_kebab_case() -> None:
    names = [r.name for r in RULES]
    assert len(set(names)) == len(names)
    assert all(n == n.lower() and " " not in n for n in names)


def test_duplicate_kpi() -> None:
    errors = rule_errors(DuplicateKpi.name, model(REVENUE, COGS, REVENUE))
    assert [(e.kpi, e.field, e.file) for e in errors] == [("revenue", "id", SOURCE)]
    assert "defined more than once" in errors[0].message


def test_unknown_dataset_with_suggestion() -> None:
    m = model(
        kpi("a", {"dataset": "order", "agg": "count"}),
        kpi(
            "b",
            {
                "kind": "ratio",
                "numerator": {"dataset": "orders", "agg": "count"},
                "denominator": {"dataset": "custmers", "agg": "count"},
            },
        ),
    )
    errors = rule_errors(UnknownDataset.name, m)
    assert [(e.kpi, e.field) for e in errors] == [("a", "metric.dataset"), ("b", "metric.denominator.dataset")]
    assert "unknown dataset 'order'; did you mean 'orders'?" in errors[0].message
    assert "did you mean 'customers'?" in errors[1].message
    # Nothing else piles on for columns of a dataset that does not exist.
    assert rule_errors(UnknownColumn.name, m) == []


def test_unknown_columns_in_every_field() -> None:
    m = model(
        kpi(
            "a", {"dataset": "orders", "agg": "sum", "expr": "totl_amount", "filter": "stauts = 'x'", "time": "ordered"}
        ),
        kpi("b", {"dataset": "orders", "agg": "count", "first_per": "customer"}),
        kpi("c", {"kind": "duration", "dataset": "orders", "start": "ordered_at", "end": "shipped_at"}),
        kpi("d", {"kind": "retention", "dataset": "orders", "entity": "client_id"}),
        kpi(
            "e",
            {
                "kind": "ratio",
                "numerator": {"dataset": "orders", "agg": "count", "filter": "refunded"},
                "denominator": {"dataset": "orders", "agg": "count"},
            },
        ),
    )
    errors = rule_errors(UnknownColumn.name, m)
    located = {(e.kpi, e.field) for e in errors}
    assert located == {
        ("a", "metric.expr"),
        ("a", "metric.filter"),
        ("a", "metric.time"),
        ("b", "metric.first_per"),
        ("c", "metric.end"),
        ("d", "metric.entity"),
        ("e", "metric.numerator.filter"),
    }
    by_field = {(e.kpi, e.field): e.message for e in errors}
    assert "unknown column 'totl_amount'; did you mean 'total_amount'?" in by_field[("a", "metric.expr")]
    assert "did you mean 'status'?" in by_field[("a", "metric.filter")]
    assert "did you mean 'ordered_at'?" in by_field[("a", "metric.time")]


def test_custom_schema() -> None:
    schema = {"sales": {"day": FieldType.DATE, "amount": FieldType.DECIMAL}}
    m = model(kpi("sales_total", {"dataset": "sales", "agg": "sum", "expr": "amount", "time": "day"}))
    assert validate_model(m, schema) == []
    errors = validate_model(model(REVENUE), schema)
    assert [e.rule for e in errors] == ["unknown-dataset"]


@pytest.mark.parametrize(
    ("field", "text", "fragment"),
    [
        ("expr", "total_amount; DROP TABLE orders", "single expression"),
        ("expr", "(SELECT SUM(total_amount) FROM orders)", "subqueries are not allowed"),
        ("expr", "SUM(total_amount)", "aggregate function SUM"),
        ("filter", "status IN (SELECT status FROM other)", "subqueries are not allowed"),
        ("filter", "read_csv('/etc/passwd') IS NOT NULL", "READ_CSV"),
        ("filter", "ordered_at > CURRENT_DATE", "CURRENT_DATE"),
        ("expr", "total_amount +", "cannot parse"),
    ],
)
def test_invalid_expression(field: str, text: str, fragment: str) -> None:
    metric: dict[str, Any] = {"dataset": "orders", "agg": "sum", "expr": "total_amount", field: text}
    errors = rule_errors(InvalidExpression.name, model(kpi("bad", metric)))
    assert [(e.kpi, e.field, e.file) for e in errors] == [("bad", f"metric.{field}", SOURCE)]
    assert fragment.lower() in errors[0].message.lower()


def test_invalid_formula() -> None:
    m = model(REVENUE, kpi("bad", {"kind": "derived", "formula": "revenue + getenv('HOME')"}))
    errors = rule_errors(InvalidExpression.name, m)
    assert [(e.kpi, e.field) for e in errors] == [("bad", "metric.formula")]
    assert "GETENV" in errors[0].message


def test_unknown_kpi_everywhere_it_can_be_named() -> None:
    m = model(
        REVENUE,
        kpi("a", {"kind": "derived", "formula": "revenu - cogs"}),
        kpi("b", {"kind": "ratio", "numerator": {"kpi": "revenue"}, "denominator": {"kpi": "orderz"}}),
        kpi("c", {"kind": "cumulative", "base": "profit", "window": "mtd"}),
        kpi("d", {"kind": "period_over_period", "base": "sales"}),
        kpi("e", {"kind": "composite", "components": [{"kpi": "revenue", "weight": 1}, {"kpi": "nps", "weight": 1}]}),
        kpi("f", {"dataset": "orders", "agg": "count"}, guardrails=["revenue", "refund_rate"]),
    )
    errors = rule_errors(UnknownKpi.name, m)
    assert [(e.kpi, e.field) for e in errors] == [
        ("a", "metric.formula"),
        ("a", "metric.formula"),
        ("b", "metric.denominator.kpi"),
        ("c", "metric.base"),
        ("d", "metric.base"),
        ("e", "metric.components.1.kpi"),
        ("f", "guardrails.1"),
    ]
    assert "unknown KPI 'revenu'; did you mean 'revenue'?" in errors[1].message


def test_kpis_beyond_the_model_are_known() -> None:
    m = model(kpi("margin", {"kind": "ratio", "numerator": {"kpi": "gross_profit"}, "denominator": {"kpi": "revenue"}}))
    assert rule_errors(UnknownKpi.name, m)
    catalog = GOOD_MODEL.by_id()
    assert validate_model(m, extra_kpis=catalog) == []


def test_cycle_shows_the_path() -> None:
    m = model(
        kpi("a", {"kind": "derived", "formula": "b + 1"}),
        kpi("b", {"kind": "ratio", "numerator": {"kpi": "c"}, "denominator": {"kpi": "revenue"}}),
        kpi("c", {"kind": "period_over_period", "base": "a"}),
        kpi("selfish", {"kind": "derived", "formula": "selfish * 2"}),
        REVENUE,
    )
    errors = rule_errors(KpiCycle.name, m)
    assert [(e.kpi, e.field) for e in errors] == [("a", "metric.formula"), ("selfish", "metric.formula")]
    assert "a -> b -> c -> a" in errors[0].message
    assert "selfish -> selfish" in errors[1].message


def test_cycle_through_an_external_kpi() -> None:
    external = model(kpi("x", {"kind": "derived", "formula": "y * 2"})).kpis[0]
    m = model(kpi("y", {"kind": "cumulative", "base": "x", "window": "all"}))
    errors = rule_errors(KpiCycle.name, m, extra_kpis={"x": external})
    assert len(errors) == 1 and "y -> x -> y" in errors[0].message


def test_guardrails_pointing_at_each_other_are_not_a_cycle() -> None:
    m = model(
        kpi("revenue", REVENUE["metric"], guardrails=["cogs"]),
        kpi("cogs", COGS["metric"], guardrails=["revenue"]),
    )
    assert rule_errors(KpiCycle.name, m) == []


def test_find_cycles() -> None:
    graph = {"a": ["b"], "b": ["c", "a"], "c": [], "d": ["d", "zzz"]}
    assert find_cycles(graph, ["a", "d"]) == [["a", "b", "a"], ["d", "d"]]


@pytest.mark.parametrize(
    ("metric", "field", "fragment"),
    [
        ({"dataset": "orders", "agg": "sum", "expr": "status"}, "metric.expr", "sum needs a number"),
        ({"dataset": "orders", "agg": "avg", "expr": "UPPER(channel)"}, "metric.expr", "is string"),
        ({"dataset": "orders", "agg": "median", "expr": "ordered_at"}, "metric.expr", "is timestamp"),
        ({"dataset": "orders", "agg": "percentile", "percentile": 0.9, "expr": "region"}, "metric.expr", "percentile"),
        ({"dataset": "orders", "agg": "sum", "expr": "total_amount > 10"}, "metric.expr", "is boolean"),
        ({"dataset": "orders", "agg": "count", "filter": "total_amount"}, "metric.filter", "must be a condition"),
        ({"dataset": "orders", "agg": "count", "time": "status"}, "metric.time", "date or timestamp"),
        ({"kind": "snapshot", "dataset": "inventory_snapshots", "expr": "product_id"}, "metric.expr", "needs a number"),
        (
            {"kind": "duration", "dataset": "orders", "start": "order_id", "end": "fulfilled_at"},
            "metric.start",
            "'order_id' is string",
        ),
        (
            {"kind": "duration", "dataset": "orders", "start": "ordered_at", "end": "total_amount"},
            "metric.end",
            "date or timestamp",
        ),
        (
            {
                "kind": "retention",
                "dataset": "subscriptions",
                "entity": "customer_id",
                "mode": "interval",
                "start": "started_at",
                "end": "mrr",
            },
            "metric.end",
            "date or timestamp",
        ),
    ],
)
def test_wrong_type(metric: dict[str, Any], field: str, fragment: str) -> None:
    errors = rule_errors(WrongType.name, model(kpi("bad", metric)))
    assert [(e.kpi, e.field) for e in errors] == [("bad", field)]
    assert fragment in errors[0].message


def test_types_that_are_fine() -> None:
    m = model(
        kpi("a", {"dataset": "orders", "agg": "max", "expr": "ordered_at"}),
        kpi("b", {"dataset": "orders", "agg": "count_distinct", "expr": "LOWER(channel)"}),
        kpi("c", {"dataset": "orders", "agg": "sum", "expr": "CASE WHEN status = 'refunded' THEN 1 ELSE 0 END"}),
        kpi("d", {"dataset": "orders", "agg": "avg", "expr": "DATE_DIFF('day', ordered_at, delivered_at)"}),
        kpi("e", {"dataset": "orders", "agg": "count", "time": "delivered_at", "filter": "delivered_at IS NOT NULL"}),
    )
    assert rule_errors(WrongType.name, m) == []


@pytest.mark.parametrize(
    ("base", "fragment"),
    [
        ({"dataset": "orders", "agg": "avg", "expr": "total_amount"}, "agg 'avg'"),
        ({"kind": "ratio", "numerator": {"kpi": "revenue"}, "denominator": {"kpi": "cogs"}}, "ratio KPI"),
        ({"kind": "cumulative", "base": "revenue", "window": "mtd"}, "itself cumulative"),
        ({"kind": "derived", "formula": "revenue / cogs"}, "not a plain sum or difference"),
        ({"kind": "snapshot", "dataset": "inventory_snapshots", "expr": "on_hand_qty"}, "snapshot KPI"),
    ],
)
def test_non_additive_cumulative_base(base: dict[str, Any], fragment: str) -> None:
    m = model(REVENUE, COGS, kpi("base", base), kpi("running", {"kind": "cumulative", "base": "base", "window": "ytd"}))
    errors = rule_errors(NonAdditiveBase.name, m)
    assert [(e.kpi, e.field) for e in errors] == [("running", "metric.base")]
    assert fragment in errors[0].message


def test_derived_from_a_non_additive_kpi_is_not_additive() -> None:
    m = model(
        REVENUE,
        kpi("avg_order", {"dataset": "orders", "agg": "avg", "expr": "total_amount"}),
        kpi("mix", {"kind": "derived", "formula": "revenue - 2 * avg_order"}),
        kpi("running", {"kind": "cumulative", "base": "mix", "window": "rolling", "periods": 3}),
    )
    errors = rule_errors(NonAdditiveBase.name, m)
    assert len(errors) == 1 and "derived from 'avg_order'" in errors[0].message


def test_missing_time_column() -> None:
    m = model(
        kpi("avg_price", {"dataset": "products", "agg": "avg", "expr": "unit_price"}),
        kpi("stock", {"kind": "snapshot", "dataset": "products", "expr": "unit_cost"}),
        kpi("buyers", {"kind": "retention", "dataset": "products", "entity": "product_id"}),
        kpi(
            "price_ratio",
            {
                "kind": "ratio",
                "numerator": {"dataset": "products", "agg": "sum", "expr": "unit_price"},
                "denominator": {"dataset": "orders", "agg": "count"},
            },
        ),
    )
    errors = rule_errors(MissingTimeColumn.name, m)
    assert [(e.kpi, e.field) for e in errors] == [
        ("avg_price", "metric.time"),
        ("stock", "metric.time"),
        ("buyers", "metric.mode"),
        ("price_ratio", "metric.numerator.time"),
    ]
    assert "dataset 'products' has no default time column" in errors[0].message


def test_missing_time_column_lists_candidates_in_a_custom_schema() -> None:
    schema = {"visits": {"day": FieldType.DATE, "n": FieldType.INTEGER}}
    m = model(kpi("visits", {"dataset": "visits", "agg": "sum", "expr": "n"}))
    errors = validate_model(m, schema)
    assert [e.rule for e in errors] == [MissingTimeColumn.name]
    assert "set time: to one of day" in errors[0].message
    fixed = model(kpi("visits", {"dataset": "visits", "agg": "sum", "expr": "n", "time": "day"}))
    assert validate_model(fixed, schema) == []


def test_explicit_time_fixes_a_dataset_without_one() -> None:
    schema = canonical_schema() | {"products": {**canonical_schema()["products"], "listed_at": FieldType.DATE}}
    m = model(kpi("avg_price", {"dataset": "products", "agg": "avg", "expr": "unit_price", "time": "listed_at"}))
    assert validate_model(m, schema) == []


# --- files ----------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_file_good(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
kpis:
  - id: revenue
    name: Revenue
    category: financial
    metric: {kind: aggregate, dataset: orders, agg: sum, expr: total_amount}
  - id: revenue_ytd
    name: Revenue YTD
    category: financial
    metric: {kind: cumulative, base: revenue, window: ytd}
""",
    )
    assert check_file(path) == []


def test_check_file_yaml_syntax_error(tmp_path: Path) -> None:
    errors = check_file(write(tmp_path, "kpis:\n  - id: [unclosed\n"))
    assert [e.rule for e in errors] == ["syntax"]
    assert "invalid YAML" in errors[0].message and errors[0].file == str(tmp_path / "model.yaml")


def test_check_file_schema_errors_and_rules_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
kpis:
  - id: revenue
    name: Revenue
    category: financial
    metric: {kind: aggregate, dataset: orders, agg: sum}
  - id: margin
    name: Margin
    category: financial
    metric: {kind: ratio, numerator: {kpi: revenue}, denominator: {kpi: cgs}}
  - id: refunds
    name: Refunds
    category: financial
    metric: {kind: aggregate, dataset: orders, agg: sum, expr: "total_amount; DROP TABLE orders"}
""",
    )
    errors = check_file(path)
    by_rule = {(e.rule, e.kpi, e.field) for e in errors}
    assert ("schema", "revenue", "metric.aggregate") in by_rule
    # 'revenue' failed to load but exists: referring to it is not an unknown-KPI error.
    assert ("unknown-kpi", "margin", "metric.denominator.kpi") in by_rule
    assert not any(e.rule == "unknown-kpi" and "'revenue'" in e.message for e in errors)
    assert ("invalid-expression", "refunds", "metric.expr") in by_rule
    assert all(e.file == str(path) for e in errors)


@pytest.mark.parametrize("text", ["", "42", "kpis: 3", "- 1\n- two\n", "\x00\x01", "kpis:\n  - null\n"])
def test_check_file_never_raises_on_bad_content(tmp_path: Path, text: str) -> None:
    errors = check_file(write(tmp_path, text))
    assert errors and all(isinstance(e, SpecError) for e in errors)


def test_check_file_missing(tmp_path: Path) -> None:
    errors = check_file(tmp_path / "nope.yaml")
    assert len(errors) == 1 and "cannot read" in errors[0].message


def test_errors_carry_the_source_file() -> None:
    errors = validate_model(model(kpi("a", {"dataset": "nowhere", "agg": "count"})))
    assert errors and str(errors[0]).startswith(f"{SOURCE}:a:metric.dataset: unknown dataset 'nowhere'")


def test_validate_model_accepts_model_built_in_code() -> None:
    k = Kpi.model_validate(REVENUE)
    assert validate_model(KpiModel(kpis=(k,))) == []


def test_running_total_since_the_start_needs_an_aggregate_base() -> None:
    m = model(
        REVENUE,
        COGS,
        kpi("gross", {"kind": "derived", "formula": "revenue - cogs"}),
        kpi("gross_to_date", {"kind": "cumulative", "base": "gross", "window": "all"}),
        kpi("gross_ytd", {"kind": "cumulative", "base": "gross", "window": "ytd"}),
        kpi("revenue_to_date", {"kind": "cumulative", "base": "revenue", "window": "all"}),
    )
    errors = rule_errors(NonAdditiveBase.name, m)
    assert [(e.kpi, e.field) for e in errors] == [("gross_to_date", "metric.base")]
    assert "opening balance" in errors[0].message


def test_unknown_snapshot_per_column() -> None:
    m = model(kpi("stock", {"kind": "snapshot", "dataset": "inventory_snapshots", "expr": "on_hand_qty", "per": "sku"}))
    errors = rule_errors(UnknownColumn.name, m)
    assert [(e.kpi, e.field) for e in errors] == [("stock", "metric.per")]
