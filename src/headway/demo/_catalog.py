"""Products with price regimes and a planted per-product price elasticity; order lines; inventory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from headway.demo._common import Ctx, frame, labels, make_ids, to_ts

PRICE_MULTIPLIERS = np.round(np.arange(0.70, 1.301, 0.05), 2)
PRICE_CHANGE_EVERY_DAYS = 45.0
MAX_LINES = 5


def products(
    ctx: Ctx,
    nouns: Mapping[str, tuple[str, ...]],
    *,
    price_median: float,
    price_sd: float = 0.6,
    cost_ratio: tuple[float, float] = (0.35, 0.6),
    elasticity: tuple[float, float] = (-2.5, -0.5),
    lead_time: tuple[int, int] = (5, 40),
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Product master plus the hidden attributes (elasticity, base quantity, popularity)."""
    rng = ctx.rng
    n = ctx.n_products
    cats = list(nouns)
    cat = np.arange(n) % len(cats)
    adjectives = ("Classic", "Premium", "Organic", "Deluxe", "Mini", "Family", "Eco", "Signature", "Pro", "Daily")
    names = []
    for i in range(n):  # one name per product (at most a few hundred)
        noun = nouns[cats[cat[i]]][(i // len(cats)) % len(nouns[cats[cat[i]]])]
        names.append(f"{adjectives[(i // (len(cats) * 3)) % len(adjectives)]} {noun} {i + 1}")
    price = np.floor(np.exp(rng.normal(np.log(price_median), price_sd, n))) + 0.99
    cost = np.round(price * rng.uniform(*cost_ratio, n), 2)
    hidden = {
        "elasticity": np.round(rng.uniform(*elasticity, n), 2),
        "base_qty": np.round(rng.uniform(2.0, 3.2, n), 2),
        "popularity": rng.dirichlet(np.full(n, 1.5)),
        "price": price,
        "cost": cost,
    }
    df = frame(
        "products",
        {
            "product_id": make_ids("P", n, 4),
            "name": np.array(names, dtype=object),
            "category": labels(cats, cat),
            "unit_cost": cost,
            "unit_price": price,
            "lead_time_days": rng.integers(lead_time[0], lead_time[1] + 1, n).astype(float),
        },
    )
    return df, hidden


def price_path(ctx: Ctx, base_price: np.ndarray, vary: bool = True) -> np.ndarray:
    """Price per day and product (days x products): piecewise constant regimes, a change every ~45 days."""
    rng = ctx.rng
    n, p = ctx.n_days, len(base_price)
    if not vary:
        return np.broadcast_to(base_price, (n, p)).copy()
    change = rng.random((n, p)) < 1 / PRICE_CHANGE_EVERY_DAYS
    change[0] = False
    regime = np.cumsum(change, axis=0, dtype=np.int64)
    mult = rng.choice(PRICE_MULTIPLIERS, size=(int(regime.max()) + 1, p))
    mult[0] = 1.0
    return np.round(base_price[None, :] * np.take_along_axis(mult, regime, axis=0), 2)


def order_lines(
    ctx: Ctx,
    order_day: np.ndarray,
    hidden: dict[str, np.ndarray],
    prices: np.ndarray,
    *,
    extra_lines_mean: float = 0.7,
    qty_scale: float | np.ndarray = 1.0,
) -> dict[str, np.ndarray]:
    """Lines (order index, product index, quantity, unit price, unit cost) with distinct products per order.

    Planted elasticity: quantity = 1 + Poisson(base_qty * qty_scale * (price / list_price) ** elasticity - 1),
    so E[quantity] = base_qty * qty_scale * (price / list_price) ** elasticity; the product mix does not
    depend on price.
    """
    rng = ctx.rng
    n_orders = len(order_day)
    n_prod = len(hidden["price"])
    per_order = 1 + np.minimum(rng.poisson(extra_lines_mean, n_orders), min(MAX_LINES, n_prod) - 1)
    order = np.repeat(np.arange(n_orders), per_order)
    cdf = np.cumsum(hidden["popularity"])
    prod = np.minimum(np.searchsorted(cdf, rng.random(len(order)) * cdf[-1], side="right"), n_prod - 1)
    dup = np.zeros(len(order), dtype=bool)
    for s in range(1, MAX_LINES):  # drop repeats of a product inside an order
        dup[s:] |= (order[s:] == order[:-s]) & (prod[s:] == prod[:-s])
    order, prod = order[~dup], prod[~dup]
    day = order_day[order]
    price = prices[day, prod]
    ratio = price / hidden["price"][prod]
    scale = qty_scale[order] if isinstance(qty_scale, np.ndarray) else qty_scale
    mean_qty = hidden["base_qty"][prod] * scale * ratio ** hidden["elasticity"][prod]
    qty = 1 + rng.poisson(np.maximum(mean_qty - 1, 0))
    return {
        "order": order,
        "product": prod,
        "quantity": qty.astype(float),
        "price": price,
        "cost": hidden["cost"][prod],
    }


def order_lines_frame(
    lines: dict[str, np.ndarray],
    order_ids: np.ndarray,
    product_ids: np.ndarray,
    ordered_us: np.ndarray,
    channel_names: np.ndarray,
) -> pd.DataFrame:
    """The canonical ``order_lines`` frame from :func:`order_lines`, with the order's time and channel copied."""
    return frame(
        "order_lines",
        {
            "order_id": order_ids[lines["order"]],
            "product_id": product_ids[lines["product"]],
            "quantity": lines["quantity"],
            "unit_price": lines["price"],
            "unit_cost": lines["cost"],
            "ordered_at": to_ts(ordered_us[lines["order"]]),
            "channel": channel_names[lines["order"]],
        },
    )


def inventory(
    ctx: Ctx, product_ids: np.ndarray, lines: dict[str, np.ndarray], order_day: np.ndarray, cost: np.ndarray
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Weekly stock counts: (s, S) replenishment against the units actually sold."""
    rng = ctx.rng
    n_prod = len(product_ids)
    week = order_day[lines["order"]] // 7
    n_weeks = (ctx.n_days + 6) // 7
    sold = np.bincount(week * n_prod + lines["product"], weights=lines["quantity"], minlength=n_weeks * n_prod)
    sold = sold.reshape(n_weeks, n_prod)
    avg = np.maximum(sold.mean(axis=0), 1.0)
    reorder_point, order_up_to = np.ceil(2 * avg), np.ceil(5 * avg)
    on_hand = np.zeros((n_weeks, n_prod))
    level = np.ceil(4 * avg)
    for w in range(n_weeks):  # one vectorised step per week
        on_hand[w] = level
        level = np.maximum(level - sold[w], 0)
        refill = level < reorder_point
        level = np.where(refill, order_up_to + rng.integers(0, 3, n_prod), level)
    w_idx, p_idx = np.nonzero(np.ones_like(on_hand, dtype=bool))
    qty = on_hand[w_idx, p_idx]
    df = frame(
        "inventory_snapshots",
        {
            "product_id": product_ids[p_idx],
            "snapshot_date": ctx.dates(w_idx * 7),
            "on_hand_qty": qty,
            "on_hand_value": qty * cost[p_idx],
        },
    )
    return df, {"inventory_reorder_point_weeks": 2, "inventory_order_up_to_weeks": 5}
