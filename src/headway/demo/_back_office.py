"""Datasets every business has: staff, finance, external signals, surveys and support tickets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from headway.demo._common import (
    DAY_US,
    HOUR_US,
    NAT,
    SEC_US,
    Ctx,
    frame,
    labels,
    make_ids,
    month_index,
    month_start_days,
    to_ts,
)


def staff(
    ctx: Ctx,
    departments: dict[str, float],
    *,
    shift_work: bool = False,
    billable: tuple[str, ...] = (),
    hourly_wage: float = 25.0,
    annual_turnover: float = 0.15,
) -> tuple[dict[str, pd.DataFrame], np.ndarray, dict[str, Any]]:
    """employees, timesheets and training; returns also the payroll cost per month."""
    rng = ctx.rng
    n_pos = ctx.n_employees
    n_days = ctx.n_days
    # Initial staff hired before the window, later hires spread over it (growth + replacements).
    n_later = max(1, round(n_pos * (annual_turnover + 0.1) * n_days / 365.25))
    hired = np.concatenate([-rng.integers(30, 5 * 365, n_pos), np.sort(rng.integers(0, n_days, n_later))])
    n_emp = len(hired)
    tenure = rng.exponential(365.25 / annual_turnover, n_emp).astype(np.int64) + 30
    left = hired + tenure
    left_in = left < n_days
    names = list(departments)
    dept = rng.choice(len(names), n_emp, p=np.array(list(departments.values())) / sum(departments.values()))
    fte = rng.choice([1.0, 1.0, 1.0, 0.8, 0.5], n_emp)
    ids = make_ids("E", n_emp, 4)
    employees = frame(
        "employees",
        {
            "employee_id": ids,
            "department": labels(names, dept),
            "hired_at": to_ts(ctx.start_us + hired * DAY_US),
            "left_at": to_ts(np.where(left_in, ctx.start_us + left * DAY_US, NAT)),
            "fte": fte,
        },
    )
    day = np.arange(n_days)
    active = (hired[:, None] <= day[None, :]) & (day[None, :] < left[:, None])
    if shift_work:  # shops open all week: 5 random days out of 7
        works = rng.random(active.shape) < 5 / 7
    else:
        works = np.broadcast_to(ctx.weekday(day)[None, :] < 5, active.shape)
    e_idx, d_idx = np.nonzero(active & works)
    hours = np.clip(rng.normal(8 * fte[e_idx], 0.8), 1, 12).round(2)
    is_billable = np.isin(dept[e_idx], [names.index(b) for b in billable if b in names])
    timesheets = frame(
        "timesheets",
        {
            "employee_id": ids[e_idx],
            "date": ctx.dates(d_idx),
            "hours": hours,
            "billable": is_billable & (rng.random(len(e_idx)) < 0.85),
        },
    )
    # Training: ~3 sessions a year per employee while employed.
    first = np.maximum(hired, 0)
    last = np.minimum(left, n_days)
    span = np.maximum(last - first, 0)
    n_tr = rng.poisson(3 * span / 365.25)
    t_emp = np.repeat(np.arange(n_emp), n_tr)
    t_day = first[t_emp] + (rng.random(len(t_emp)) * span[t_emp]).astype(np.int64)
    training = frame(
        "training",
        {
            "employee_id": ids[t_emp],
            "date": ctx.dates(t_day),
            "hours": rng.choice([1.0, 2.0, 4.0, 8.0], len(t_emp), p=[0.3, 0.3, 0.25, 0.15]),
        },
    )
    n_months = len(month_start_days(ctx))
    payroll = np.bincount(month_index(ctx, d_idx), weights=hours * hourly_wage, minlength=n_months)
    params = {"hourly_wage": hourly_wage, "annual_turnover": annual_turnover, "training_sessions_per_year": 3}
    return {"employees": employees, "timesheets": timesheets, "training": training}, payroll, params


def finance(
    ctx: Ctx,
    revenue: np.ndarray,
    cogs: np.ndarray,
    payroll: np.ndarray,
    opex_daily: dict[str, np.ndarray],
    *,
    rent: float,
    settlement_days: int = 2,
    tax_rate: float = 0.2,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """ledger and cash_transactions from daily revenue/COGS, monthly payroll and other daily opex."""
    rng = ctx.rng
    n = ctx.n_days
    mdays = month_start_days(ctx)
    n_m = len(mdays)
    midx = month_index(ctx, np.arange(n))
    rows: list[tuple[np.ndarray, str, str, np.ndarray]] = [
        (np.arange(n), "4000 Sales", "revenue", revenue),
        (np.arange(n), "5000 Cost of goods sold", "cogs", cogs),
        (mdays, "6000 Salaries", "opex", payroll),
        (mdays, "6100 Rent", "opex", np.full(n_m, rent)),
        (mdays, "6300 Software and utilities", "opex", rent * 0.15 * np.exp(rng.normal(0, 0.1, n_m))),
    ]
    for account, daily in opex_daily.items():
        rows.append((mdays, account, "opex", np.bincount(midx, weights=daily, minlength=n_m)))
    capex_months = rng.random(n_m) < 0.12
    capex = rent * rng.uniform(1, 4, int(capex_months.sum()))
    rows.append((mdays[capex_months], "1500 Equipment", "capex", capex))
    monthly_profit = np.bincount(midx, weights=revenue - cogs, minlength=n_m) - payroll - rent
    quarter = np.arange(n_m) // 3
    q_profit = np.bincount(quarter, weights=monthly_profit)
    q_end_month = np.minimum(np.arange(len(q_profit)) * 3 + 3, n_m - 1)
    tax = np.maximum(q_profit, 0) * tax_rate
    tax_days = mdays[q_end_month] + 14
    keep = tax_days < n
    rows.append((tax_days[keep], "2600 Corporate tax", "tax", tax[keep]))
    rows.append((mdays, "7000 Bank fees", "other", revenue.sum() / n * 0.01 * np.ones(n_m)))
    ledger = _stack(ctx, rows, "account")
    ledger = ledger[ledger["amount"] > 0].sort_values("date", kind="stable").reset_index(drop=True)

    receipts = np.zeros(n)
    receipts[settlement_days:] = revenue[: n - settlement_days]
    weeks = np.arange(0, n, 7)
    cash_rows: list[tuple[np.ndarray, str, str, np.ndarray]] = [
        (np.arange(n), "in", "sales", receipts),
        (np.minimum(mdays + 27, n - 1), "out", "payroll", payroll),
        (mdays, "out", "rent", np.full(n_m, rent)),
        (weeks, "out", "suppliers", np.add.reduceat(cogs, weeks)),
        (tax_days[keep], "out", "tax", tax[keep]),
        (mdays[capex_months], "out", "equipment", capex),
    ]
    for account, daily in opex_daily.items():
        cash_rows.append(
            (mdays, "out", account.split(" ", 1)[1].lower(), np.bincount(midx, weights=daily, minlength=n_m))
        )
    cash = _stack(ctx, cash_rows, "direction")
    cash = cash[cash["amount"] > 0].sort_values("date", kind="stable").reset_index(drop=True)
    return ledger, cash, {"tax_rate": tax_rate, "settlement_days": settlement_days, "monthly_rent": rent}


def _stack(ctx: Ctx, rows: list[tuple[np.ndarray, str, str, np.ndarray]], kind: str) -> pd.DataFrame:
    days = np.concatenate([r[0] for r in rows])
    a = np.concatenate([np.full(len(r[0]), r[1], dtype=object) for r in rows])
    b = np.concatenate([np.full(len(r[0]), r[2], dtype=object) for r in rows])
    amount = np.concatenate([np.asarray(r[3], dtype=float) for r in rows])
    if kind == "account":
        return frame("ledger", {"date": ctx.dates(days), "account": a, "category": b, "amount": amount})
    return frame("cash_transactions", {"date": ctx.dates(days), "amount": amount, "direction": a, "category": b})


def external_signals(ctx: Ctx) -> tuple[pd.DataFrame, dict[str, Any]]:
    """market_sentiment (AR(1) around 55), disruption_index (spikes that decay), partner_score (weekly)."""
    rng = ctx.rng
    n = ctx.n_days
    phi = 0.97
    x = np.empty(n)
    x[0] = 0.0
    eps = rng.normal(0, 8 * np.sqrt(1 - phi**2), n)
    for t in range(1, n):  # one cheap step per day
        x[t] = phi * x[t - 1] + eps[t]
    sentiment = np.clip(55 + x, 0, 100)
    shocks = np.where(rng.random(n) < 6 / 365.25, rng.uniform(30, 60, n), 0.0)
    disruption = np.empty(n)
    level = 0.0
    for t in range(n):
        level = 0.85 * level + shocks[t]
        disruption[t] = level
    disruption = np.clip(8 + disruption + rng.normal(0, 2, n), 0, 100)
    mondays = np.flatnonzero(ctx.weekday(np.arange(n)) == 0)
    partner = np.clip(7.5 + np.cumsum(rng.normal(0, 0.15, len(mondays))), 1, 10)
    day = np.concatenate([np.arange(n), np.arange(n), mondays])
    names = ("market_sentiment", "disruption_index", "partner_score")
    sig = labels(names, np.repeat([0, 1, 2], [n, n, len(mondays)]))
    df = frame(
        "external_signals",
        {"date": ctx.dates(day), "signal": sig, "value": np.concatenate([sentiment, disruption, partner])},
    )
    df = df.sort_values(["date", "signal"], kind="stable").reset_index(drop=True)
    return df, {"sentiment_ar1_phi": phi, "disruption_shocks_per_year": 6, "disruption_decay_per_day": 0.85}


def scores(rng: np.random.Generator, survey: str, n: int, shift: np.ndarray | float = 0.0) -> np.ndarray:
    """Integer-valued survey scores: nps 0-10 (mean ~8), csat 1-5 (mean ~4.1), employee 1-5."""
    if survey == "nps":
        return np.clip(np.round(rng.normal(8.2 + shift, 1.8, n)), 0, 10)
    return np.clip(np.round(rng.normal(4.1 + shift, 0.9, n)), 1, 5)


def surveys(ctx: Ctx, parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """survey_responses from (survey kind, customer ids (object, None allowed), responded_at us, scores)."""
    kinds = np.concatenate([np.full(len(p[1]), p[0], dtype=object) for p in parts])
    cust = np.concatenate([p[1] for p in parts])
    us = np.concatenate([p[2] for p in parts])
    sc = np.concatenate([p[3] for p in parts])
    order = np.argsort(us, kind="stable")
    return frame(
        "survey_responses",
        {
            "response_id": make_ids("R", len(us)),
            "customer_id": cust[order],
            "responded_at": to_ts(us[order]),
            "survey": kinds[order],
            "score": sc[order],
        },
    )


def tickets(
    ctx: Ctx, customer_ids: np.ndarray, opened_us: np.ndarray, categories: tuple[str, ...]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """support_tickets with lognormal first-response (median 3 h) and resolution (median 20 h) times."""
    rng = ctx.rng
    order = np.argsort(opened_us, kind="stable")
    opened = (opened_us[order] // SEC_US) * SEC_US
    n = len(opened)
    first = opened + (np.exp(rng.normal(np.log(3), 0.8, n)) * HOUR_US).astype(np.int64) // SEC_US * SEC_US
    resolved = first + (np.exp(rng.normal(np.log(20), 1.0, n)) * HOUR_US).astype(np.int64) // SEC_US * SEC_US
    asof = ctx.asof_us
    df = frame(
        "support_tickets",
        {
            "ticket_id": make_ids("T", n),
            "customer_id": customer_ids[order],
            "opened_at": to_ts(opened),
            "first_response_at": to_ts(np.where(first < asof, first, NAT)),
            "resolved_at": to_ts(np.where(resolved < asof, resolved, NAT)),
            "category": labels(categories, rng.integers(0, len(categories), n)),
        },
    )
    return df, {"first_response_median_hours": 3, "resolution_median_hours_after_response": 20}
