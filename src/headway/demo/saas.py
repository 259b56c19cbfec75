"""SaaS start-up: leads -> subscriptions with churn; tickets and a usage decline precede churn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from headway.demo import _back_office as bo
from headway.demo._common import (
    DAY_US,
    HOUR_US,
    NAT,
    SEC_US,
    Ctx,
    daily_sum,
    frame,
    labels,
    make_ids,
    spread_over_days,
    times_in_day,
    to_ts,
    volume_profile,
)
from headway.demo._marketing import expected_daily_sessions, marketing

SEASONALITY: dict[str, Any] = {
    "growth_per_year": 0.5,
    "yearly_amplitude": 0.08,
    "yearly_peak_doy": 60,
    "weekly_factors": [1.15, 1.15, 1.1, 1.05, 0.95, 0.55, 0.6],
    "daily_noise_sd": 0.05,
}
HOURLY = np.array(
    [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 3, 4, 4.5, 4.5, 4, 4.2, 4.3, 4, 3.5, 3, 2, 1.5, 1.2, 1, 0.6, 0.3]
)
MONTH_US = int(30.4375 * DAY_US)
PLANS = ("basic", "pro", "enterprise")
PLAN_SHARE = [0.6, 0.3, 0.1]
PLAN_MRR = {"basic": (29.0, 39.0, 49.0), "pro": (99.0, 149.0, 199.0), "enterprise": (500.0, 900.0, 1500.0)}
MONTHLY_CHURN = {"basic": 0.04, "pro": 0.025, "enterprise": 0.01}
LEAD_CONVERSION = 0.18
SESSIONS_PER_LEAD = 40.0
TRIAL_DAYS = (1, 30)
SPEND_LAG_DAYS = 7
HOSTING_COST_SHARE = 0.18
REFUND_RATE = 0.01
CHURN_SIGNALS: dict[str, Any] = {
    "ticket_rate_per_month": 0.3,
    "churn_ticket_multiplier": 3.0,
    "ticket_window_days": 60,
    "usage_decline_window_days": 90,
    "usage_floor": 0.3,
    "usage_weekly_mean": {"basic": 80.0, "pro": 250.0, "enterprise": 1200.0},
    "nps_responses_per_quarter": 0.3,
    "nps_shift_before_churn": -2.5,
    "nps_window_days": 90,
}
REGIONS = ("EMEA", "NA", "APAC", "LATAM")
COUNTRIES = {"EMEA": ("DE", "FR", "GB", "NL"), "NA": ("US", "CA"), "APAC": ("AU", "JP", "SG"), "LATAM": ("BR", "MX")}


def _mean_months(ctx: Ctx, weights: np.ndarray) -> float:
    """Expected billed months per subscription for starts spread like ``weights``."""
    left = ctx.n_days - np.arange(ctx.n_days)
    total = 0.0
    for plan, share in zip(PLANS, PLAN_SHARE, strict=True):
        mu = 30.4375 / MONTHLY_CHURN[plan]
        total += share * float((weights * (mu * (1 - np.exp(-left / mu)) / 30.4375 + 0.5)).sum() / weights.sum())
    return total


def generate(ctx: Ctx) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    rng = ctx.rng
    asof = ctx.asof_us
    profile = volume_profile(ctx, SEASONALITY)
    exp_sessions = expected_daily_sessions(ctx, profile)
    # 1.035: empirical correction for trials that end after the window and partial first months.
    n_subs = max(20, round(1.035 * ctx.n_orders / _mean_months(ctx, exp_sessions)))
    n_leads = round(n_subs / LEAD_CONVERSION)
    scale = n_leads * SESSIONS_PER_LEAD / exp_sessions.sum()
    spend_df, traffic_df, sessions, mparams = marketing(ctx, scale, profile, SPEND_LAG_DAYS)

    # Leads follow sessions; converted leads start a subscription after a trial.
    l_day = spread_over_days(ctx, n_leads, sessions.astype(float))
    l_at = times_in_day(ctx, l_day, HOURLY)
    trial = (
        rng.integers(TRIAL_DAYS[0], TRIAL_DAYS[1] + 1, n_leads) * DAY_US + rng.integers(0, 8 * 3600, n_leads) * SEC_US
    )
    conv_at = l_at + trial
    converted = (rng.random(n_leads) < LEAD_CONVERSION) & (conv_at < asof)
    lead_source = rng.choice(6, n_leads, p=[0.3, 0.25, 0.15, 0.1, 0.1, 0.1])
    sources = ("organic", "search", "social", "display", "email", "referral")
    leads = frame(
        "leads",
        {
            "lead_id": make_ids("L", n_leads),
            "created_at": to_ts(l_at),
            "source": labels(sources, lead_source),
            "converted_at": to_ts(np.where(converted, conv_at, NAT)),
        },
    )
    conv_idx = np.flatnonzero(converted)
    conv_idx = conv_idx[np.argsort(conv_at[conv_idx], kind="stable")]
    start = conv_at[conv_idx]
    s = len(start)
    plan = rng.choice(3, s, p=PLAN_SHARE)
    mrr = np.array([PLAN_MRR[p] for p in PLANS])[plan, rng.integers(0, 3, s)]
    hazard = np.array([MONTHLY_CHURN[p] for p in PLANS])[plan]
    end = start + (rng.exponential(30.4375 / hazard) * DAY_US).astype(np.int64) // SEC_US * SEC_US
    churned = end < asof
    stop = np.where(churned, end, asof)
    months = np.maximum(1, -(-(stop - start) // MONTH_US))
    cust_ids = make_ids("C", s, 5)
    region = rng.choice(len(REGIONS), s, p=[0.45, 0.35, 0.12, 0.08])
    country = np.array([COUNTRIES[REGIONS[r]][0] for r in range(len(REGIONS))], dtype=object)[region]
    subscriptions = frame(
        "subscriptions",
        {
            "subscription_id": make_ids("S", s),
            "customer_id": cust_ids,
            "started_at": to_ts(start),
            "ended_at": to_ts(np.where(churned, end, NAT)),
            "mrr": mrr,
            "plan": labels(PLANS, plan),
        },
    )
    customers = frame(
        "customers",
        {
            "customer_id": cust_ids,
            "created_at": to_ts(start),
            "segment": labels(("SMB", "mid-market", "enterprise"), plan),
            "region": labels(REGIONS, region),
            "country": country,
            "acquisition_channel": labels(sources, lead_source[conv_idx]),
        },
    )

    # Monthly invoices are the orders.
    inv_sub = np.repeat(np.arange(s), months)
    k = np.arange(len(inv_sub)) - np.repeat(np.cumsum(months) - months, months)
    inv_at = start[inv_sub] + k * MONTH_US
    order = np.argsort(inv_at, kind="stable")
    inv_sub, inv_at = inv_sub[order], inv_at[order]
    n_inv = len(inv_sub)
    amount = mrr[inv_sub]
    refunded = rng.random(n_inv) < REFUND_RATE
    channel = np.where(plan[inv_sub] == 2, 1, 0)
    order_ids = make_ids("O", n_inv)
    plan_ids = make_ids("P", 3, 4)
    orders = frame(
        "orders",
        {
            "order_id": order_ids,
            "customer_id": cust_ids[inv_sub],
            "ordered_at": to_ts(inv_at),
            "total_amount": amount,
            "cost_amount": amount * HOSTING_COST_SHARE,
            "discount_amount": np.zeros(n_inv),
            "channel": labels(("self_serve", "sales"), channel),
            "region": labels(REGIONS, region[inv_sub]),
            "status": labels(("fulfilled", "refunded"), refunded.astype(np.int64)),
        },
    )
    lines = frame(
        "order_lines",
        {
            "order_id": order_ids,
            "product_id": plan_ids[plan[inv_sub]],
            "quantity": np.ones(n_inv),
            "unit_price": amount,
            "unit_cost": amount * HOSTING_COST_SHARE,
            "ordered_at": to_ts(inv_at),
            "channel": labels(("self_serve", "sales"), channel),
        },
    )
    list_price = np.array([PLAN_MRR[p][1] for p in PLANS])
    products = frame(
        "products",
        {
            "product_id": plan_ids,
            "name": np.array([f"{p.title()} plan" for p in PLANS], dtype=object),
            "category": np.full(3, "subscription", dtype=object),
            "unit_cost": list_price * HOSTING_COST_SHARE,
            "unit_price": list_price,
        },
    )
    tickets_df, usage, nps_parts, t_params = _churn_signals(ctx, cust_ids, start, stop, churned, plan)
    surveys_df = bo.surveys(ctx, nps_parts)
    people, payroll, s_params = bo.staff(
        ctx, {"engineering": 0.4, "sales": 0.2, "support": 0.15, "marketing": 0.1, "g&a": 0.15}, hourly_wage=45.0
    )
    inv_day = ((inv_at - ctx.start_us) // DAY_US).astype(np.int64)
    revenue = daily_sum(inv_day, np.where(refunded, 0.0, amount), ctx.n_days)
    spend_daily = spend_df.groupby("date", sort=True)["spend"].sum().to_numpy()
    ledger, cash, f_params = bo.finance(
        ctx,
        revenue,
        revenue * HOSTING_COST_SHARE,
        payroll,
        {"6200 Marketing": spend_daily},
        rent=round(max(1500.0, 0.05 * revenue.sum() / 36), 2),
        settlement_days=3,
    )
    signals, sig_params = bo.external_signals(ctx)
    datasets = {
        "orders": orders,
        "order_lines": lines,
        "customers": customers,
        "subscriptions": subscriptions,
        "products": products,
        "leads": leads,
        "marketing_spend": spend_df,
        "web_traffic": traffic_df,
        "support_tickets": tickets_df,
        "usage_events": usage,
        "survey_responses": surveys_df,
        "ledger": ledger,
        "cash_transactions": cash,
        **people,
        "external_signals": signals,
    }
    params: dict[str, Any] = {
        "seasonality": SEASONALITY,
        **mparams,
        "sessions_per_lead": SESSIONS_PER_LEAD,
        "lead_conversion_rate": LEAD_CONVERSION,
        "trial_days_range": list(TRIAL_DAYS),
        "plan_shares": dict(zip(PLANS, PLAN_SHARE, strict=True)),
        "plan_mrr_choices": PLAN_MRR,
        "monthly_churn": MONTHLY_CHURN,
        "hosting_cost_share": HOSTING_COST_SHARE,
        "refund_rate": REFUND_RATE,
        "churn_signals": CHURN_SIGNALS,
        **t_params,
        **s_params,
        **f_params,
        **sig_params,
    }
    return datasets, params


def _churn_signals(
    ctx: Ctx, cust_ids: np.ndarray, start: np.ndarray, stop: np.ndarray, churned: np.ndarray, plan: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[str, np.ndarray, np.ndarray, np.ndarray]], dict[str, Any]]:
    """Tickets (3x rate in the 60 days before churn), weekly usage (declining over the last 90 days), NPS."""
    rng = ctx.rng
    cs = CHURN_SIGNALS
    span = (stop - start).astype(float)
    # Baseline tickets over the whole life, plus extra tickets in the window before a churn.
    n_base = rng.poisson(cs["ticket_rate_per_month"] * span / (30.4375 * DAY_US))
    b_sub = np.repeat(np.arange(len(start)), n_base)
    b_at = start[b_sub] + (rng.random(len(b_sub)) * span[b_sub]).astype(np.int64)
    win = cs["ticket_window_days"] * DAY_US
    w_start = np.maximum(stop - win, start)
    extra_rate = cs["ticket_rate_per_month"] * (cs["churn_ticket_multiplier"] - 1)
    n_extra = np.where(churned, rng.poisson(extra_rate * (stop - w_start) / (30.4375 * DAY_US)), 0)
    e_sub = np.repeat(np.arange(len(start)), n_extra)
    e_at = w_start[e_sub] + (rng.random(len(e_sub)) * (stop - w_start)[e_sub]).astype(np.int64)
    t_sub = np.concatenate([b_sub, e_sub])
    t_at = np.concatenate([b_at, e_at])
    keep = t_at < ctx.asof_us
    tickets, t_params = bo.tickets(
        ctx, cust_ids[t_sub[keep]], t_at[keep], ("billing", "bug", "how_to", "feature_request", "outage")
    )

    # Weekly usage: Monday-dated weeks from the start week to the stop week.
    first_monday = (-ctx.start.weekday()) % 7
    s_day = (start - ctx.start_us) // DAY_US
    e_day = (np.minimum(stop, ctx.asof_us - 1) - ctx.start_us) // DAY_US
    w0 = (s_day - first_monday) // 7 + 1
    w1 = (e_day - first_monday) // 7
    n_w = np.maximum(w1 - w0 + 1, 0)
    u_sub = np.repeat(np.arange(len(start)), n_w)
    week = w0[u_sub] + np.arange(len(u_sub)) - np.repeat(np.cumsum(n_w) - n_w, n_w)
    u_day = first_monday + 7 * week
    base = np.array([cs["usage_weekly_mean"][p] for p in PLANS])[plan] * np.exp(rng.normal(0, 0.4, len(start)))
    days_left = (stop[u_sub] - ctx.day_us(u_day)) / DAY_US
    window = cs["usage_decline_window_days"]
    decline = np.where(
        churned[u_sub] & (days_left < window),
        cs["usage_floor"] + (1 - cs["usage_floor"]) * np.clip(days_left, 0, window) / window,
        1.0,
    )
    usage = pd.DataFrame(
        {
            "customer_id": cust_ids[u_sub],
            "date": ctx.dates(u_day),
            "events": rng.poisson(base[u_sub] * decline).astype(np.int64),
        }
    )

    # NPS: a few answers per quarter; lower just before a churn.
    n_nps = rng.poisson(cs["nps_responses_per_quarter"] * span / (91.3 * DAY_US))
    n_sub = np.repeat(np.arange(len(start)), n_nps)
    n_at = start[n_sub] + (rng.random(len(n_sub)) * span[n_sub]).astype(np.int64) // SEC_US * SEC_US
    n_at = np.minimum(n_at + 2 * HOUR_US, ctx.asof_us - SEC_US)
    near = churned[n_sub] & (stop[n_sub] - n_at < cs["nps_window_days"] * DAY_US)
    shift = np.where(near, cs["nps_shift_before_churn"], 0.0)
    parts = [("nps", cust_ids[n_sub], n_at, bo.scores(rng, "nps", len(n_sub), shift))]
    return tickets, usage, parts, t_params
