"""Engine test data: small planted datasets and a model using every metric kind (fixtures in conftest.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

KEPT = "status IS NULL OR status NOT IN ('cancelled', 'refunded')"


def kpi(id_: str, metric: dict, **meta: object) -> dict:
    return {"id": id_, "name": id_.replace("_", " ").title(), "category": "financial", "metric": metric, **meta}


MODEL = [
    kpi("revenue", {"kind": "aggregate", "dataset": "orders", "agg": "sum", "expr": "total_amount", "filter": KEPT}),
    kpi("orders", {"kind": "aggregate", "dataset": "orders", "agg": "count", "filter": KEPT}),
    kpi("aov", {"kind": "ratio", "numerator": {"kpi": "revenue"}, "denominator": {"kpi": "orders"}}),
    kpi(
        "gross_margin_pct",
        {
            "kind": "ratio",
            "numerator": {"dataset": "orders", "agg": "sum", "expr": "total_amount - cost_amount", "filter": KEPT},
            "denominator": {"kpi": "revenue"},
        },
    ),
    kpi(
        "new_customers",
        {
            "kind": "aggregate",
            "dataset": "orders",
            "agg": "count_distinct",
            "expr": "customer_id",
            "filter": KEPT,
            "first_per": "customer_id",
        },
    ),
    kpi(
        "active_customers",
        {"kind": "aggregate", "dataset": "orders", "agg": "count_distinct", "expr": "customer_id", "filter": KEPT},
    ),
    kpi(
        "repeat_purchase_rate",
        {"kind": "derived", "formula": "(active_customers - new_customers) / NULLIF(active_customers, 0)"},
    ),
    kpi("revenue_growth", {"kind": "period_over_period", "base": "revenue"}),
    kpi("revenue_yoy", {"kind": "period_over_period", "base": "revenue", "compare": "year_ago"}),
    kpi("revenue_diff", {"kind": "period_over_period", "base": "revenue", "change": "difference"}),
    kpi("revenue_ytd", {"kind": "cumulative", "base": "revenue", "window": "ytd"}),
    kpi("revenue_qtd", {"kind": "cumulative", "base": "revenue", "window": "qtd"}),
    kpi("revenue_mtd", {"kind": "cumulative", "base": "revenue", "window": "mtd"}),
    kpi("revenue_rolling_3", {"kind": "cumulative", "base": "revenue", "window": "rolling", "periods": 3}),
    kpi("fulfilment_time", {"kind": "duration", "dataset": "orders", "start": "ordered_at", "end": "fulfilled_at"}),
    kpi(
        "fulfilment_p90_hours",
        {
            "kind": "duration",
            "dataset": "orders",
            "start": "ordered_at",
            "end": "fulfilled_at",
            "agg": "percentile",
            "percentile": 0.9,
            "unit": "hours",
        },
    ),
    kpi(
        "median_order",
        {"kind": "aggregate", "dataset": "orders", "agg": "median", "expr": "total_amount", "filter": KEPT},
    ),
    kpi("largest_order", {"kind": "aggregate", "dataset": "orders", "agg": "max", "expr": "total_amount"}),
    kpi("smallest_order", {"kind": "aggregate", "dataset": "orders", "agg": "min", "expr": "total_amount"}),
    kpi(
        "avg_discount", {"kind": "aggregate", "dataset": "orders", "agg": "avg", "expr": "COALESCE(discount_amount, 0)"}
    ),
    kpi(
        "refund_rate",
        {
            "kind": "ratio",
            "numerator": {"dataset": "orders", "agg": "count", "filter": "status = 'refunded'"},
            "denominator": {"dataset": "orders", "agg": "count"},
        },
    ),
    kpi("customer_retention", {"kind": "retention", "dataset": "orders", "entity": "customer_id", "filter": KEPT}),
    kpi(
        "subscription_churn",
        {
            "kind": "retention",
            "dataset": "subscriptions",
            "entity": "subscription_id",
            "mode": "interval",
            "start": "started_at",
            "end": "ended_at",
            "output": "churn",
        },
    ),
    kpi(
        "inventory_value",
        {"kind": "snapshot", "dataset": "inventory_snapshots", "expr": "on_hand_value"},
    ),
    kpi(
        "stock_on_hand",
        {"kind": "snapshot", "dataset": "inventory_snapshots", "expr": "on_hand_qty", "per": "product_id"},
    ),
    kpi("margin_per_refund", {"kind": "derived", "formula": "gross_margin_pct / (refund_rate - refund_rate)"}),
    kpi(
        "net_cash_flow",
        {
            "kind": "aggregate",
            "dataset": "cash_transactions",
            "agg": "sum",
            "expr": "CASE WHEN direction = 'in' THEN amount ELSE -amount END",
        },
    ),
    kpi("cash_balance", {"kind": "cumulative", "base": "net_cash_flow", "window": "all"}),
    kpi(
        "health_index",
        {
            "kind": "composite",
            "components": [
                {"kpi": "gross_margin_pct", "weight": 2, "scale": 0.5},
                {"kpi": "refund_rate", "weight": 1, "scale": 0.05, "invert": True},
            ],
        },
    ),
]

NOT_ORDERS = ("subscription_churn", "inventory_value", "stock_on_hand", "cash_balance")
ORDER_KPIS = [k["id"] for k in MODEL if k["id"] not in NOT_ORDERS]
ORDER_KPIS.remove("net_cash_flow")


def make_frames(n_orders: int = 3000, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Two years of orders and friends, with nulls, statuses, gaps and a DST-crossing spread of times."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    seconds = np.sort(rng.integers(0, 730 * 86400, n_orders))
    ordered = (start + pd.to_timedelta(seconds, unit="s")).astype("datetime64[us]")
    status = rng.choice(
        ["delivered", "cancelled", "refunded", "placed", None], n_orders, p=[0.8, 0.05, 0.05, 0.05, 0.05]
    )
    fulfilled = pd.Series(ordered + pd.to_timedelta(rng.exponential(2.0, n_orders), unit="D")).astype("datetime64[us]")
    fulfilled[rng.random(n_orders) < 0.1] = pd.NaT
    discount = rng.gamma(1.0, 3.0, n_orders).round(2)
    discount[rng.random(n_orders) < 0.3] = np.nan
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i:06d}" for i in range(n_orders)],
            "customer_id": [f"C{c:04d}" for c in rng.zipf(1.6, n_orders) % 400],
            "ordered_at": ordered,
            "total_amount": rng.gamma(2.0, 30.0, n_orders).round(2),
            "cost_amount": rng.gamma(2.0, 15.0, n_orders).round(2),
            "discount_amount": discount,
            "channel": rng.choice(["web", "store", "marketplace", None], n_orders, p=[0.5, 0.3, 0.15, 0.05]),
            "status": status,
            "fulfilled_at": fulfilled,
        }
    )
    # A gap: no orders at all in 2023-07, so empty periods must appear with 0 / null.
    orders = orders[~((orders.ordered_at >= "2023-07-01") & (orders.ordered_at < "2023-08-01"))].reset_index(drop=True)

    n_subs = 300
    started = (
        start
        + pd.to_timedelta(rng.integers(0, 700, n_subs), unit="D")
        + pd.to_timedelta(rng.integers(0, 86400, n_subs), unit="s")
    )
    life = pd.to_timedelta(rng.exponential(300, n_subs), unit="D")
    ended = pd.Series(started + life)
    ended[ended > pd.Timestamp("2024-12-31")] = pd.NaT
    subscriptions = pd.DataFrame(
        {
            "subscription_id": [f"S{i:04d}" for i in range(n_subs)],
            "customer_id": [f"C{i:04d}" for i in range(n_subs)],
            "started_at": pd.Series(started).astype("datetime64[us]"),
            "ended_at": ended.astype("datetime64[us]"),
            "mrr": rng.choice([29.0, 99.0, 299.0], n_subs),
            "plan": rng.choice(["basic", "pro", "team"], n_subs),
        }
    )
    days = pd.date_range("2023-01-01", "2024-12-31", freq="7D")
    products = [f"P{i}" for i in range(5)]
    inv = pd.DataFrame(
        [(p, d, float(rng.integers(0, 100))) for d in days for p in products],
        columns=["product_id", "snapshot_date", "on_hand_qty"],
    )
    inv = inv[rng.random(len(inv)) > 0.2].reset_index(drop=True)  # not every product is counted every time
    inv["on_hand_value"] = (inv["on_hand_qty"] * 4.5).round(2)
    inv["snapshot_date"] = inv["snapshot_date"].astype("datetime64[us]")
    n_cash = 800
    cash = pd.DataFrame(
        {
            "date": (pd.Timestamp("2022-06-01") + pd.to_timedelta(rng.integers(0, 940, n_cash), unit="D")).astype(
                "datetime64[us]"
            ),
            "amount": rng.gamma(2.0, 200.0, n_cash).round(2),
            "direction": rng.choice(["in", "out"], n_cash, p=[0.55, 0.45]),
        }
    )
    return {"orders": orders, "subscriptions": subscriptions, "inventory_snapshots": inv, "cash_transactions": cash}
