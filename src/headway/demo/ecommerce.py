"""E-commerce shop: spend -> sessions -> orders, price elasticity, repeat customers, fulfilment."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from headway.demo import _back_office as bo
from headway.demo._catalog import (
    PRICE_CHANGE_EVERY_DAYS,
    PRICE_MULTIPLIERS,
    inventory,
    order_lines,
    order_lines_frame,
    price_path,
    products,
)
from headway.demo._common import (
    DAY_US,
    HOUR_US,
    NAT,
    SEC_US,
    Ctx,
    assign_customers,
    daily_sum,
    frame,
    labels,
    make_ids,
    spread_over_days,
    times_in_day,
    to_ts,
    volume_profile,
)
from headway.demo._marketing import expected_sessions_per_scale, marketing

SEASONALITY: dict[str, Any] = {
    "growth_per_year": 0.25,
    "yearly_amplitude": 0.15,
    "yearly_peak_doy": 335,
    "weekly_factors": [1.08, 1.04, 1.0, 0.98, 0.92, 0.88, 1.1],
    "holiday_boost": 1.3,
    "daily_noise_sd": 0.05,
}
HOURLY = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4.5, 5, 5.5, 5, 4.8, 4.6, 4.6, 5, 5.5, 6.5, 7, 6.5, 4.5, 2.5]
)
CONVERSION_RATE = 0.025
SPEND_LAG_DAYS = 7
CHANNELS = ("web", "marketplace", "store", "phone")
CHANNEL_P = [0.62, 0.22, 0.10, 0.06]
PROMISE_DAYS = [4, 3, 0, 5]
REGIONS = ("North", "South", "East", "West", "Central")
REGION_P = [0.22, 0.24, 0.18, 0.2, 0.16]
STATUS_RATES = {"cancelled": 0.03, "refunded": 0.02}
FULFIL_MEDIAN_HOURS = 20.0
FULFIL_SIGMA = 0.6
TRANSIT_GAMMA = (2.0, 1.1)  # shape, scale in days
CUSTOMER_PARAMS = {"new_share_floor": 0.3, "ramp_days": 45.0, "mean_lifetime_days": 400.0, "propensity_shape": 0.6}
TICKET_PROB = {"on_time": 0.03, "late": 0.12}
CSAT_LATE_PENALTY = -1.0
NOUNS = {
    "apparel": ("T-shirt", "Hoodie", "Socks", "Cap"),
    "home": ("Mug", "Candle", "Blanket", "Vase"),
    "beauty": ("Soap", "Lotion", "Shampoo", "Balm"),
    "food": ("Coffee", "Tea", "Granola", "Honey"),
}


def generate(ctx: Ctx) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    rng = ctx.rng
    n = ctx.n_orders
    asof = ctx.asof_us
    profile = volume_profile(ctx, SEASONALITY)
    scale = n / (CONVERSION_RATE * expected_sessions_per_scale(ctx, profile))
    spend_df, traffic_df, sessions, mparams = marketing(ctx, scale, profile, SPEND_LAG_DAYS)

    # Orders ~ conversion x sessions of the day.
    day = spread_over_days(ctx, n, sessions.astype(float))
    ordered = times_in_day(ctx, day, HOURLY)
    cust, first_pos = assign_customers(ctx, day, **CUSTOMER_PARAMS)
    n_cust = len(first_pos)
    cust_region = rng.choice(len(REGIONS), n_cust, p=REGION_P)
    channel = rng.choice(len(CHANNELS), n, p=CHANNEL_P)

    prod_df, hidden = products(ctx, NOUNS, price_median=22.0)
    prices = price_path(ctx, hidden["price"])
    lines = order_lines(ctx, day, hidden, prices)
    gross = np.bincount(lines["order"], weights=lines["quantity"] * lines["price"], minlength=n)
    cost = np.bincount(lines["order"], weights=lines["quantity"] * lines["cost"], minlength=n)
    has_disc = rng.random(n) < 0.25
    discount = np.round(np.where(has_disc, gross * rng.choice([0.05, 0.1, 0.15, 0.2], n), 0.0), 2)

    # Fulfilment and delivery.
    is_store = channel == CHANNELS.index("store")
    fulfil = np.where(is_store, 0, np.exp(rng.normal(np.log(FULFIL_MEDIAN_HOURS), FULFIL_SIGMA, n)) * HOUR_US)
    fulfilled = ordered + (fulfil.astype(np.int64) // SEC_US) * SEC_US
    transit = np.where(is_store, 0, rng.gamma(TRANSIT_GAMMA[0], TRANSIT_GAMMA[1], n) * DAY_US)
    delivered = fulfilled + (transit.astype(np.int64) // SEC_US) * SEC_US
    promised = ordered + np.asarray(PROMISE_DAYS)[channel] * DAY_US + np.where(is_store, 0, 18 * HOUR_US)
    status = np.where(delivered < asof, 2, np.where(fulfilled < asof, 1, 0))  # delivered / fulfilled / placed
    u = rng.random(n)
    cancelled = u < STATUS_RATES["cancelled"]
    refunded = ~cancelled & (status == 2) & (u < STATUS_RATES["cancelled"] + STATUS_RATES["refunded"])
    status = np.where(cancelled, 3, np.where(refunded, 4, status))
    status_names = ("placed", "fulfilled", "delivered", "cancelled", "refunded")
    fulfilled = np.where(cancelled | (fulfilled >= asof), NAT, fulfilled)
    delivered = np.where(cancelled | (delivered >= asof), NAT, delivered)

    order_ids = make_ids("O", n)
    cust_ids = make_ids("C", n_cust, 5)
    ch_names = np.array(CHANNELS, dtype=object)
    orders = frame(
        "orders",
        {
            "order_id": order_ids,
            "customer_id": cust_ids[cust],
            "ordered_at": to_ts(ordered),
            "total_amount": gross - discount,
            "cost_amount": cost,
            "discount_amount": discount,
            "channel": ch_names[channel],
            "region": labels(REGIONS, cust_region[cust]),
            "status": labels(status_names, status),
            "promised_at": to_ts(promised),
            "fulfilled_at": to_ts(fulfilled),
            "delivered_at": to_ts(delivered),
        },
    )
    lines_df = order_lines_frame(lines, order_ids, prod_df["product_id"].to_numpy(), ordered, ch_names[channel])
    acq = ("organic", "search", "social", "display", "email", "referral", "marketplace")
    customers = frame(
        "customers",
        {
            "customer_id": cust_ids,
            "created_at": to_ts(ordered[first_pos]),
            "segment": labels(("consumer", "business"), (rng.random(n_cust) < 0.08).astype(np.int64)),
            "region": labels(REGIONS, cust_region),
            "country": np.full(n_cust, "DE", dtype=object),
            "acquisition_channel": labels(acq, rng.choice(len(acq), n_cust, p=[0.3, 0.2, 0.15, 0.05, 0.1, 0.08, 0.12])),
        },
    )
    inv_df, inv_params = inventory(ctx, prod_df["product_id"].to_numpy(), lines, day, hidden["cost"])

    # Support tickets (late deliveries raise the odds) and surveys (late deliveries lower CSAT).
    late = (delivered != NAT) & (delivered > promised)
    p_ticket = np.where(late, TICKET_PROB["late"], TICKET_PROB["on_time"]) * ~is_store
    t_idx = np.flatnonzero(rng.random(n) < p_ticket)
    base = np.where(delivered[t_idx] != NAT, delivered[t_idx], ordered[t_idx] + 3 * DAY_US)
    opened = base + (rng.random(len(t_idx)) * 2 * DAY_US).astype(np.int64)
    keep = opened < asof
    tickets_df, t_params = bo.tickets(
        ctx, cust_ids[cust[t_idx[keep]]], opened[keep], ("delivery", "return", "product", "payment", "other")
    )
    s_idx = np.flatnonzero((delivered != NAT) & (rng.random(n) < 0.06))
    s_at = delivered[s_idx] + DAY_US + (rng.random(len(s_idx)) * DAY_US).astype(np.int64)
    s_keep = s_at < asof
    s_idx, s_at = s_idx[s_keep], s_at[s_keep]
    n_idx = np.flatnonzero(rng.random(n) < 0.03)
    n_at = ordered[n_idx] + (rng.uniform(7, 30, len(n_idx)) * DAY_US).astype(np.int64)
    n_keep = n_at < asof
    n_idx, n_at = n_idx[n_keep], n_at[n_keep]
    surveys_df = bo.surveys(
        ctx,
        [
            ("csat", cust_ids[cust[s_idx]], s_at, bo.scores(rng, "csat", len(s_idx), CSAT_LATE_PENALTY * late[s_idx])),
            ("nps", cust_ids[cust[n_idx]], n_at, bo.scores(rng, "nps", len(n_idx))),
        ],
    )

    # B2B / newsletter leads.
    n_leads = max(50, n // 40)
    l_day = spread_over_days(ctx, n_leads, profile)
    l_at = times_in_day(ctx, l_day, HOURLY)
    conv_at = l_at + (rng.exponential(14, n_leads) * DAY_US).astype(np.int64) // SEC_US * SEC_US
    converted = (rng.random(n_leads) < 0.25) & (conv_at < asof)
    leads = frame(
        "leads",
        {
            "lead_id": make_ids("L", n_leads),
            "created_at": to_ts(l_at),
            "source": labels(("newsletter", "wholesale_form", "chat", "event"), rng.integers(0, 4, n_leads)),
            "converted_at": to_ts(np.where(converted, conv_at, NAT)),
        },
    )

    people, payroll, s_params = bo.staff(
        ctx, {"operations": 0.3, "warehouse": 0.25, "customer_service": 0.2, "marketing": 0.15, "management": 0.1}
    )
    booked = ~(cancelled | refunded)
    revenue = daily_sum(day, np.where(booked, gross - discount, 0.0), ctx.n_days)
    cogs = daily_sum(day, np.where(booked, cost, 0.0), ctx.n_days)
    spend_daily = spend_df.groupby("date", sort=True)["spend"].sum().to_numpy()
    shipping = daily_sum(day, np.where(booked & ~is_store, 4.5, 0.0), ctx.n_days)
    ledger, cash, f_params = bo.finance(
        ctx,
        revenue,
        cogs,
        payroll,
        {"6200 Marketing": spend_daily, "6400 Shipping": shipping},
        rent=round(max(500.0, 0.04 * revenue.sum() / 36), 2),
    )
    signals, sig_params = bo.external_signals(ctx)

    datasets = {
        "orders": orders,
        "order_lines": lines_df,
        "customers": customers,
        "products": prod_df,
        "inventory_snapshots": inv_df,
        "marketing_spend": spend_df,
        "web_traffic": traffic_df,
        "leads": leads,
        "support_tickets": tickets_df,
        "survey_responses": surveys_df,
        "ledger": ledger,
        "cash_transactions": cash,
        **people,
        "external_signals": signals,
    }
    pids = prod_df["product_id"].tolist()
    params: dict[str, Any] = {
        "seasonality": SEASONALITY,
        "hourly_profile": HOURLY.round(2).tolist(),
        "conversion_rate": CONVERSION_RATE,
        **mparams,
        "elasticity": dict(zip(pids, hidden["elasticity"].tolist(), strict=True)),
        "base_quantity": dict(zip(pids, hidden["base_qty"].tolist(), strict=True)),
        "price_change_every_days": PRICE_CHANGE_EVERY_DAYS,
        "price_multipliers": PRICE_MULTIPLIERS.tolist(),
        "channel_shares": dict(zip(CHANNELS, CHANNEL_P, strict=True)),
        "promise_days": dict(zip(CHANNELS, PROMISE_DAYS, strict=True)),
        "status_rates": STATUS_RATES,
        "fulfilment_median_hours": FULFIL_MEDIAN_HOURS,
        "fulfilment_lognormal_sigma": FULFIL_SIGMA,
        "transit_days_gamma_shape_scale": list(TRANSIT_GAMMA),
        "discount_share": 0.25,
        "customers": CUSTOMER_PARAMS,
        "ticket_probability": TICKET_PROB,
        "csat_late_penalty": CSAT_LATE_PENALTY,
        "lead_conversion_rate": 0.25,
        **inv_params,
        **t_params,
        **s_params,
        **f_params,
        **sig_params,
    }
    return datasets, params
