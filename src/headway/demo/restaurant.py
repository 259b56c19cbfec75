"""Restaurant and bakery/café: till receipts, menu items, table turns, food cost, checkout waits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from headway.demo import _back_office as bo
from headway.demo._catalog import order_lines, order_lines_frame, products
from headway.demo._common import (
    HOUR_US,
    MIN_US,
    NAT,
    Ctx,
    assign_customers,
    daily_sum,
    frame,
    labels,
    make_ids,
    round_seconds,
    spread_over_days,
    times_in_day,
    to_ts,
    volume_profile,
)

RESTAURANT: dict[str, Any] = {
    "seasonality": {
        "growth_per_year": 0.08,
        "yearly_amplitude": 0.12,
        "yearly_peak_doy": 200,
        "weekly_factors": [0.7, 0.8, 0.9, 1.0, 1.3, 1.45, 0.85],
        "daily_noise_sd": 0.08,
    },
    "hourly": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 3, 6, 5, 2, 0.8, 0.8, 2, 5, 7, 6, 3, 1, 0],
    "channels": {"dine_in": 0.6, "takeaway": 0.25, "delivery": 0.15},
    "menu": {
        "starters": ("Soup", "Bruschetta", "Salad"),
        "mains": ("Burger", "Pasta", "Risotto", "Steak", "Curry"),
        "desserts": ("Tiramisu", "Brownie", "Sorbet"),
        "drinks": ("Lemonade", "Beer", "Wine", "Espresso"),
    },
    "price_median": 11.0,
    "tables": 20,
    "covers_extra_poisson": 1.3,
    "locations": ("Old Town", "Station"),
}
BAKERY: dict[str, Any] = {
    "seasonality": {
        "growth_per_year": 0.05,
        "yearly_amplitude": 0.1,
        "yearly_peak_doy": 350,
        "weekly_factors": [0.9, 0.9, 0.95, 0.95, 1.05, 1.35, 1.1],
        "holiday_boost": 1.2,
        "daily_noise_sd": 0.06,
    },
    "hourly": [0, 0, 0, 0, 0, 0, 2, 6, 7, 6, 4, 3, 4, 3, 2, 2.5, 2.5, 1.5, 0.5, 0, 0, 0, 0, 0],
    "channels": {"takeaway": 0.75, "dine_in": 0.25},
    "menu": {
        "bread": ("Sourdough", "Baguette", "Rye Loaf", "Ciabatta"),
        "pastry": ("Croissant", "Pain au chocolat", "Cinnamon Roll", "Danish"),
        "cakes": ("Cheesecake", "Carrot Cake", "Apple Pie"),
        "coffee": ("Cappuccino", "Latte", "Espresso", "Tea"),
    },
    "price_median": 3.2,
    "tables": 8,
    "covers_extra_poisson": 0.5,
    "locations": ("Market Square", "Riverside"),
}
FOOD_COST_RATIO = (0.24, 0.38)
WASTE_SHARE = 0.04
ANNUAL_PRICE_INCREASE = 0.04
DWELL = {"base_minutes": 30.0, "per_cover_minutes": 9.0, "lunch_minutes": -10.0, "lognormal_sd": 0.2}
WAIT = {"base_seconds": 60.0, "per_relative_load_seconds": 90.0, "lognormal_sd": 0.3}
CUSTOMER_PARAMS = {"new_share_floor": 0.45, "ramp_days": 30.0, "mean_lifetime_days": 300.0, "propensity_shape": 0.5}
VOID_RATES = {"cancelled": 0.005, "refunded": 0.005}


def generate_restaurant(ctx: Ctx) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    return _generate(ctx, RESTAURANT, "restaurant")


def generate_bakery(ctx: Ctx) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    return _generate(ctx, BAKERY, "bakery")


def _generate(ctx: Ctx, cfg: dict[str, Any], flavour: str) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    rng = ctx.rng
    n = ctx.n_orders
    asof = ctx.asof_us
    hourly = np.asarray(cfg["hourly"], dtype=float)
    profile = volume_profile(ctx, cfg["seasonality"])
    day = spread_over_days(ctx, n, profile)
    ordered = times_in_day(ctx, day, hourly)
    hour = (ordered - ctx.day_us(day)) // HOUR_US
    cust, first_pos = assign_customers(ctx, day, **CUSTOMER_PARAMS)
    n_cust = len(first_pos)
    ch_names = tuple(cfg["channels"])
    channel = rng.choice(len(ch_names), n, p=list(cfg["channels"].values()))
    dine_in = channel == ch_names.index("dine_in")
    location = rng.choice(len(cfg["locations"]), n, p=[0.6, 0.4])
    covers = np.where(dine_in, 1 + np.minimum(rng.poisson(cfg["covers_extra_poisson"], n), 7), 1)

    menu, hidden = products(
        ctx,
        cfg["menu"],
        price_median=cfg["price_median"],
        price_sd=0.4,
        cost_ratio=FOOD_COST_RATIO,
        elasticity=(0.0, 0.0),
        lead_time=(1, 3),
    )
    year = (np.datetime64(ctx.start, "D") + np.arange(ctx.n_days)).astype("datetime64[Y]").astype(int)
    prices = np.round(hidden["price"][None, :] * (1 + ANNUAL_PRICE_INCREASE) ** (year - year[0])[:, None], 2)
    lines = order_lines(
        ctx, day, hidden, prices, extra_lines_mean=0.5 + 0.6 * (covers.mean() - 1), qty_scale=0.45 * covers
    )
    gross = np.bincount(lines["order"], weights=lines["quantity"] * lines["price"], minlength=n)
    food_cost = np.bincount(lines["order"], weights=lines["quantity"] * lines["cost"], minlength=n)
    discount = np.round(np.where(rng.random(n) < 0.05, gross * 0.1, 0.0), 2)
    total = gross - discount

    serve_min = np.where(dine_in, rng.uniform(12, 25, n), rng.uniform(4, 15, n))
    fulfilled = round_seconds(ordered + (serve_min * MIN_US).astype(np.int64))
    is_delivery = channel == (ch_names.index("delivery") if "delivery" in ch_names else -1)
    delivered = np.where(is_delivery, fulfilled + (rng.uniform(15, 45, n) * MIN_US).astype(np.int64), fulfilled)
    delivered = round_seconds(delivered)
    promised = np.where(is_delivery, ordered + 45 * MIN_US, ordered + 20 * MIN_US)
    u = rng.random(n)
    cancelled = u < VOID_RATES["cancelled"]
    refunded = ~cancelled & (u < VOID_RATES["cancelled"] + VOID_RATES["refunded"])
    status = np.where(cancelled, 3, np.where(refunded, 4, np.where(delivered < asof, 2, 1)))
    order_ids = make_ids("O", n)
    cust_ids = make_ids("C", n_cust, 5)
    loc_names = np.array(cfg["locations"], dtype=object)
    orders = frame(
        "orders",
        {
            "order_id": order_ids,
            "customer_id": cust_ids[cust],
            "ordered_at": to_ts(ordered),
            "total_amount": total,
            "cost_amount": food_cost,
            "discount_amount": discount,
            "channel": labels(ch_names, channel),
            "region": loc_names[location],
            "status": labels(("placed", "fulfilled", "delivered", "cancelled", "refunded"), status),
            "promised_at": to_ts(promised),
            "fulfilled_at": to_ts(np.where(cancelled, NAT, fulfilled)),
            "delivered_at": to_ts(np.where(cancelled | (delivered >= asof), NAT, delivered)),
        },
    )
    lines_df = order_lines_frame(lines, order_ids, menu["product_id"].to_numpy(), ordered, labels(ch_names, channel))
    customers = frame(
        "customers",
        {
            "customer_id": cust_ids,
            "created_at": to_ts(ordered[first_pos]),
            "segment": labels(("guest", "loyalty_member"), (rng.random(n_cust) < 0.3).astype(np.int64)),
            "region": loc_names[location[first_pos]],
            "country": np.full(n_cust, "DE", dtype=object),
        },
    )

    # Table turns: one per dine-in receipt; dwell grows with covers, shorter at lunch.
    t_idx = np.flatnonzero(dine_in & ~cancelled)
    lunch = (hour[t_idx] >= 11) & (hour[t_idx] < 15)
    dwell = (
        DWELL["base_minutes"] + DWELL["per_cover_minutes"] * covers[t_idx] + DWELL["lunch_minutes"] * lunch
    ) * np.exp(rng.normal(0, DWELL["lognormal_sd"], len(t_idx)))
    tables = make_ids("T", cfg["tables"], 2)
    turns = frame(
        "table_turns",
        {
            "seated_at": to_ts(ordered[t_idx]),
            "left_at": to_ts(round_seconds(ordered[t_idx] + (dwell * MIN_US).astype(np.int64))),
            "table_id": tables[rng.integers(0, cfg["tables"], len(t_idx))],
            "covers": covers[t_idx],
            "check_amount": total[t_idx],
        },
    )

    # Checkout waits: sampled receipts; the wait grows with the load of that hour at that location.
    slot = (day * 24 + hour) * 2 + location
    load = np.bincount(slot, minlength=ctx.n_days * 48)[slot]
    rel_load = load / load.mean()
    w_idx = np.flatnonzero(rng.random(n) < min(1.0, max(300, n // 20) / n))
    wait = (WAIT["base_seconds"] + WAIT["per_relative_load_seconds"] * rel_load[w_idx]) * np.exp(
        rng.normal(0, WAIT["lognormal_sd"], len(w_idx))
    )
    waits = frame(
        "checkout_waits",
        {"store": loc_names[location[w_idx]], "measured_at": to_ts(ordered[w_idx]), "wait_seconds": np.round(wait, 1)},
    )

    s_idx = np.flatnonzero(rng.random(n) < 0.04)
    n_idx = np.flatnonzero(rng.random(n) < 0.02)
    s_at = ordered[s_idx] + 2 * HOUR_US
    n_at = ordered[n_idx] + 24 * HOUR_US
    s_keep, n_keep = s_at < asof, n_at < asof
    surveys_df = bo.surveys(
        ctx,
        [
            ("csat", cust_ids[cust[s_idx[s_keep]]], s_at[s_keep], bo.scores(rng, "csat", int(s_keep.sum()))),
            ("nps", cust_ids[cust[n_idx[n_keep]]], n_at[n_keep], bo.scores(rng, "nps", int(n_keep.sum()))),
        ],
    )
    people, payroll, s_params = bo.staff(
        ctx, {"kitchen": 0.45, "floor": 0.4, "management": 0.15}, shift_work=True, hourly_wage=16.0
    )
    booked = ~(cancelled | refunded)
    revenue = daily_sum(day, np.where(booked, total, 0.0), ctx.n_days)
    cogs = daily_sum(day, np.where(booked, food_cost, 0.0), ctx.n_days) * (1 + WASTE_SHARE)
    ledger, cash, f_params = bo.finance(
        ctx,
        revenue,
        cogs,
        payroll,
        {"6500 Utilities": revenue * 0.03},
        rent=round(max(800.0, 0.08 * revenue.sum() / 36), 2),
        settlement_days=1,
    )
    signals, sig_params = bo.external_signals(ctx)
    datasets = {
        "orders": orders,
        "order_lines": lines_df,
        "customers": customers,
        "products": menu,
        "table_turns": turns,
        "checkout_waits": waits,
        "survey_responses": surveys_df,
        "ledger": ledger,
        "cash_transactions": cash,
        **people,
        "external_signals": signals,
    }
    params: dict[str, Any] = {
        "flavour": flavour,
        "seasonality": cfg["seasonality"],
        "hourly_profile": cfg["hourly"],
        "channel_shares": cfg["channels"],
        "food_cost_ratio_range": list(FOOD_COST_RATIO),
        "waste_share": WASTE_SHARE,
        "annual_price_increase": ANNUAL_PRICE_INCREASE,
        "dwell": DWELL,
        "covers_extra_poisson": cfg["covers_extra_poisson"],
        "checkout_wait": WAIT,
        "void_rates": VOID_RATES,
        "customers": CUSTOMER_PARAMS,
        **s_params,
        **f_params,
        **sig_params,
    }
    return datasets, params
