"""Manufacturer: production runs with per-line defect rates, B2B orders, fleet deliveries, ESG."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from headway.demo import _back_office as bo
from headway.demo._catalog import inventory, order_lines, order_lines_frame, price_path, products
from headway.demo._common import (
    DAY_US,
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

SEASONALITY: dict[str, Any] = {
    "growth_per_year": 0.1,
    "yearly_amplitude": 0.1,
    "yearly_peak_doy": 100,
    "weekly_factors": [1.1, 1.1, 1.1, 1.1, 1.05, 0.35, 0.2],
    "daily_noise_sd": 0.1,
}
HOURLY = np.array([0, 0, 0, 0, 0, 0, 0.2, 1, 3, 4, 4, 3.5, 2, 3, 3.5, 3, 2, 1, 0.3, 0.1, 0, 0, 0, 0], dtype=float)
LINE_DEFECT_RATES = {"L1": 0.01, "L2": 0.03, "L3": 0.06}
LINE_SHARE = {"L1": 0.4, "L2": 0.35, "L3": 0.25}
SHIFT_HOURS = (6, 14, 22)
RUN_IDLE_PROB = 0.1
DEFECT_CAUSES = ("material", "machine", "operator", "calibration")
CHANNELS = ("direct", "distributor", "edi")
REGIONS = ("North", "South", "East", "West")
STATUS_RATES = {"cancelled": 0.02, "refunded": 0.01}
PROMISE_DAYS = 10
FULFIL_MEDIAN_DAYS = 4.0
AVG_SPEED_KMH = 55.0
VEHICLE_L_PER_100KM = {"van": (9.0, 14.0), "truck": (25.0, 35.0)}
ESG = {
    "kwh_per_unit": 0.8,
    "base_kwh_per_day": 400.0,
    "co2_kg_per_kwh": 0.35,
    "co2_kg_per_litre": 2.68,
    "waste_kg_per_defect": 0.5,
    "base_waste_kg_per_day": 20.0,
}
CUSTOMER_PARAMS = {"new_share_floor": 0.03, "ramp_days": 60.0, "mean_lifetime_days": 1500.0, "propensity_shape": 1.0}
NOUNS = {
    "brackets": ("Steel bracket", "Angle bracket", "Shelf bracket"),
    "fasteners": ("Hex bolt set", "Anchor kit", "Rivet pack"),
    "housings": ("Pump housing", "Motor housing", "Gear cover"),
    "assemblies": ("Hinge assembly", "Valve assembly", "Bearing unit"),
}


def generate(ctx: Ctx) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    rng = ctx.rng
    n = ctx.n_orders
    asof = ctx.asof_us
    profile = volume_profile(ctx, SEASONALITY)
    day = spread_over_days(ctx, n, profile)
    ordered = times_in_day(ctx, day, HOURLY)
    cust, first_pos = assign_customers(ctx, day, **CUSTOMER_PARAMS)
    n_cust = len(first_pos)
    cust_region = rng.integers(0, len(REGIONS), n_cust)
    channel = rng.choice(len(CHANNELS), n, p=[0.5, 0.3, 0.2])

    prod_df, hidden = products(ctx, NOUNS, price_median=45.0, cost_ratio=(0.45, 0.7), elasticity=(0.0, 0.0))
    lines = order_lines(ctx, day, hidden, price_path(ctx, hidden["price"], vary=False), qty_scale=20.0)
    gross = np.bincount(lines["order"], weights=lines["quantity"] * lines["price"], minlength=n)
    cost = np.bincount(lines["order"], weights=lines["quantity"] * lines["cost"], minlength=n)
    discount = np.round(gross * np.where(rng.random(n) < 0.3, 0.05, 0.0), 2)

    fulfilled = round_seconds(
        ordered + (np.exp(rng.normal(np.log(FULFIL_MEDIAN_DAYS), 0.4, n)) * DAY_US).astype(np.int64)
    )
    n_veh = ctx.n_vehicles
    kind = np.where(np.arange(n_veh) % 3 == 2, 1, 0)  # every third vehicle a truck
    lo = np.array([VEHICLE_L_PER_100KM["van"][0], VEHICLE_L_PER_100KM["truck"][0]])[kind]
    hi = np.array([VEHICLE_L_PER_100KM["van"][1], VEHICLE_L_PER_100KM["truck"][1]])[kind]
    consumption = np.round(rng.uniform(lo, hi), 1)
    vehicle = rng.integers(0, n_veh, n)
    distance = np.round(np.exp(rng.normal(np.log(60), 0.7, n)), 1)
    drive = (distance / AVG_SPEED_KMH + rng.uniform(0.5, 4, n)) * HOUR_US
    delivered = round_seconds(fulfilled + drive.astype(np.int64))
    promised = ordered + PROMISE_DAYS * DAY_US
    u = rng.random(n)
    cancelled = u < STATUS_RATES["cancelled"]
    status = np.where(delivered < asof, 2, np.where(fulfilled < asof, 1, 0))
    refunded = ~cancelled & (status == 2) & (u < STATUS_RATES["cancelled"] + STATUS_RATES["refunded"])
    status = np.where(cancelled, 3, np.where(refunded, 4, status))
    f_ok = ~cancelled & (fulfilled < asof)
    d_ok = ~cancelled & (delivered < asof)
    order_ids = make_ids("O", n)
    cust_ids = make_ids("C", n_cust, 5)
    orders = frame(
        "orders",
        {
            "order_id": order_ids,
            "customer_id": cust_ids[cust],
            "ordered_at": to_ts(ordered),
            "total_amount": gross - discount,
            "cost_amount": cost,
            "discount_amount": discount,
            "channel": labels(CHANNELS, channel),
            "region": labels(REGIONS, cust_region[cust]),
            "status": labels(("placed", "fulfilled", "delivered", "cancelled", "refunded"), status),
            "promised_at": to_ts(promised),
            "fulfilled_at": to_ts(np.where(f_ok, fulfilled, NAT)),
            "delivered_at": to_ts(np.where(d_ok, delivered, NAT)),
        },
    )
    lines_df = order_lines_frame(lines, order_ids, prod_df["product_id"].to_numpy(), ordered, labels(CHANNELS, channel))
    customers = frame(
        "customers",
        {
            "customer_id": cust_ids,
            "created_at": to_ts(ordered[first_pos]),
            "segment": labels(("distributor", "OEM", "retailer"), rng.integers(0, 3, n_cust)),
            "region": labels(REGIONS, cust_region),
            "country": np.full(n_cust, "DE", dtype=object),
            "acquisition_channel": labels(("trade_fair", "referral", "outbound", "web"), rng.integers(0, 4, n_cust)),
        },
    )
    vehicle_ids = make_ids("V", n_veh, 2)
    d_idx = np.flatnonzero(f_ok)
    fuel = distance[d_idx] * consumption[vehicle[d_idx]] / 100 * np.exp(rng.normal(0, 0.05, len(d_idx)))
    deliveries = frame(
        "deliveries",
        {
            "delivery_id": make_ids("D", len(d_idx)),
            "vehicle_id": vehicle_ids[vehicle[d_idx]],
            "dispatched_at": to_ts(fulfilled[d_idx]),
            "delivered_at": to_ts(np.where(d_ok[d_idx], delivered[d_idx], NAT)),
            "promised_at": to_ts(promised[d_idx]),
            "distance_km": distance[d_idx],
            "fuel_litres": fuel,
        },
    )
    units_sold = float(lines["quantity"].sum())
    runs, run_day, produced, defective = _production(ctx, prod_df["product_id"].to_numpy(), hidden, units_sold)
    maint, maint_daily = _maintenance(ctx, vehicle_ids)
    inv_df, inv_params = inventory(ctx, prod_df["product_id"].to_numpy(), lines, day, hidden["cost"])

    fuel_daily = daily_sum((fulfilled[d_idx] - ctx.start_us) // DAY_US, fuel, ctx.n_days + 30)[: ctx.n_days]
    kwh = ESG["base_kwh_per_day"] * np.exp(rng.normal(0, 0.05, ctx.n_days)) + ESG["kwh_per_unit"] * daily_sum(
        run_day, produced, ctx.n_days
    )
    co2 = kwh * ESG["co2_kg_per_kwh"] + fuel_daily * ESG["co2_kg_per_litre"]
    waste = ESG["base_waste_kg_per_day"] + ESG["waste_kg_per_defect"] * daily_sum(run_day, defective, ctx.n_days)
    n_d = ctx.n_days
    esg = frame(
        "esg_measurements",
        {
            "date": ctx.dates(np.tile(np.arange(n_d), 3)),
            "measure": labels(("energy_kwh", "co2_kg", "waste_kg"), np.repeat([0, 1, 2], n_d)),
            "value": np.concatenate([kwh, co2, waste]),
            "unit": labels(("kWh", "kg"), np.repeat([0, 1, 1], n_d)),
        },
    )
    s_idx = np.flatnonzero(d_ok & (rng.random(n) < 0.1))
    s_at = delivered[s_idx] + 2 * DAY_US
    s_keep = s_at < asof
    s_idx, s_at = s_idx[s_keep], s_at[s_keep]
    late = delivered[s_idx] > promised[s_idx]
    surveys_df = bo.surveys(
        ctx, [("csat", cust_ids[cust[s_idx]], s_at, bo.scores(rng, "csat", len(s_idx), -1.0 * late))]
    )
    people, payroll, s_params = bo.staff(
        ctx, {"production": 0.55, "logistics": 0.15, "quality": 0.1, "sales": 0.1, "admin": 0.1}, hourly_wage=28.0
    )
    booked = ~(cancelled | refunded)
    revenue = daily_sum(day, np.where(booked, gross - discount, 0.0), n_d)
    ledger, cash, f_params = bo.finance(
        ctx,
        revenue,
        daily_sum(day, np.where(booked, cost, 0.0), n_d),
        payroll,
        {"6400 Fuel": fuel_daily * 1.7, "6500 Maintenance": maint_daily},
        rent=round(max(2000.0, 0.03 * revenue.sum() / 36), 2),
        settlement_days=30,
    )
    signals, sig_params = bo.external_signals(ctx)
    datasets = {
        "orders": orders,
        "order_lines": lines_df,
        "customers": customers,
        "products": prod_df,
        "production_runs": runs,
        "inventory_snapshots": inv_df,
        "deliveries": deliveries,
        "maintenance": maint,
        "esg_measurements": esg,
        "survey_responses": surveys_df,
        "ledger": ledger,
        "cash_transactions": cash,
        **people,
        "external_signals": signals,
    }
    params: dict[str, Any] = {
        "seasonality": SEASONALITY,
        "line_defect_rates": LINE_DEFECT_RATES,
        "line_share": LINE_SHARE,
        "shift_hours": list(SHIFT_HOURS),
        "run_idle_probability": RUN_IDLE_PROB,
        "status_rates": STATUS_RATES,
        "promise_days": PROMISE_DAYS,
        "fulfilment_median_days": FULFIL_MEDIAN_DAYS,
        "avg_speed_kmh": AVG_SPEED_KMH,
        "vehicle_l_per_100km": dict(zip(vehicle_ids.tolist(), consumption.tolist(), strict=True)),
        "esg": ESG,
        "customers": CUSTOMER_PARAMS,
        **inv_params,
        **s_params,
        **f_params,
        **sig_params,
    }
    return datasets, params


def _production(
    ctx: Ctx, product_ids: np.ndarray, hidden: dict[str, np.ndarray], units_sold: float
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """One run per line and shift (3 shifts on weekdays, 1 on Saturday); defects ~ Binomial(units, line rate)."""
    rng = ctx.rng
    lines = tuple(LINE_DEFECT_RATES)
    d = np.arange(ctx.n_days)
    wd = ctx.weekday(d)
    shifts = np.where(wd < 5, 3, np.where(wd == 5, 1, 0))
    slot_day = np.repeat(d, shifts * len(lines))
    k = np.arange(len(slot_day)) - np.repeat(np.cumsum(shifts * len(lines)) - shifts * len(lines), shifts * len(lines))
    shift, line = k // len(lines), k % len(lines)
    active = rng.random(len(slot_day)) >= RUN_IDLE_PROB
    slot_day, shift, line = slot_day[active], shift[active], line[active]
    n_runs = len(slot_day)
    share = np.array([LINE_SHARE[x] for x in lines])
    runs_per_line = np.bincount(line, minlength=len(lines))
    capacity = units_sold * 1.03 * share / np.maximum(runs_per_line, 1)
    produced = np.maximum(1, np.round(capacity[line] * rng.uniform(0.8, 1.2, n_runs)))
    rate = np.array([LINE_DEFECT_RATES[x] for x in lines])[line]
    defective = rng.binomial(produced.astype(np.int64), rate).astype(float)
    started = ctx.day_us(slot_day) + np.asarray(SHIFT_HOURS)[shift] * HOUR_US + rng.integers(0, 20, n_runs) * MIN_US
    completed = started + (np.exp(rng.normal(np.log(7.5), 0.05, n_runs)) * HOUR_US).astype(np.int64)
    cdf = np.cumsum(hidden["popularity"])
    prod = np.minimum(np.searchsorted(cdf, rng.random(n_runs) * cdf[-1]), len(product_ids) - 1)
    cause = labels(DEFECT_CAUSES, rng.integers(0, len(DEFECT_CAUSES), n_runs))
    cause[defective == 0] = None
    order = np.argsort(started, kind="stable")
    df = frame(
        "production_runs",
        {
            "run_id": make_ids("PR", n_runs),
            "line": labels(lines, line[order]),
            "product_id": product_ids[prod[order]],
            "started_at": to_ts(round_seconds(started[order])),
            "completed_at": to_ts(round_seconds(completed[order])),
            "units_produced": produced[order],
            "units_defective": defective[order],
            "defect_cause": cause[order],
        },
    )
    return df, slot_day, produced, defective


def _maintenance(ctx: Ctx, vehicle_ids: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Vehicles every ~45 days (median cost 400), production lines every ~30 days (median cost 1200)."""
    rng = ctx.rng
    assets = np.concatenate([vehicle_ids, np.array(list(LINE_DEFECT_RATES), dtype=object)])
    every = np.concatenate([np.full(len(vehicle_ids), 45.0), np.full(len(LINE_DEFECT_RATES), 30.0)])
    median = np.concatenate([np.full(len(vehicle_ids), 400.0), np.full(len(LINE_DEFECT_RATES), 1200.0)])
    counts = rng.poisson(ctx.n_days / every)
    a = np.repeat(np.arange(len(assets)), counts)
    d = np.sort(rng.integers(0, ctx.n_days, len(a)))
    cost = np.round(median[a] * np.exp(rng.normal(0, 0.5, len(a))), 2)
    df = frame("maintenance", {"vehicle_id": assets[a], "date": ctx.dates(d), "cost": cost})
    return df, daily_sum(d, cost, ctx.n_days)
