"""The planted effects can be recovered from the generated data, within tolerances of the documented params."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from headway.demo import DemoData, generate


@cache
def ecommerce() -> DemoData:
    return generate("ecommerce", orders=40_000, seed=5)


@cache
def saas() -> DemoData:
    return generate("saas", orders=30_000, seed=5)


def _xcorr_peak(x: np.ndarray, y: np.ndarray, max_lag: int) -> int:
    dx, dy = np.diff(x), np.diff(y)
    corr = [np.corrcoef(dx[: len(dx) - k], dy[k:])[0, 1] for k in range(max_lag + 1)]
    return int(np.argmax(corr))


def test_spend_drives_sessions_with_planted_lag() -> None:
    data = ecommerce()
    lag = data.params["spend_to_sessions_lag_days"]
    assert lag == 7
    spend = data.datasets["marketing_spend"].pivot(index="date", columns="channel", values="spend")
    traffic = data.datasets["web_traffic"].pivot(index="date", columns="source", values="sessions")
    for channel in ("search", "social", "display"):
        assert _xcorr_peak(spend[channel].to_numpy(), traffic[channel].to_numpy(), 21) == lag, channel
    paid = traffic[["search", "social", "display", "email"]].sum(axis=1).to_numpy()
    assert _xcorr_peak(spend.sum(axis=1).to_numpy(), paid, 21) == lag
    # Sessions per unit of spend at the lag match the planted rate.
    beta = data.params["sessions_per_spend"]["search"]
    ratio = traffic["search"].to_numpy()[lag:].sum() / spend["search"].to_numpy()[:-lag].sum()
    assert abs(ratio / beta - 1) < 0.05


def test_orders_follow_conversion_of_sessions() -> None:
    data = ecommerce()
    sessions = data.datasets["web_traffic"].groupby("date")["sessions"].sum()
    orders = data.datasets["orders"].groupby(data.datasets["orders"]["ordered_at"].dt.normalize()).size()
    conv = len(data.datasets["orders"]) / sessions.sum()
    assert abs(conv / data.params["conversion_rate"] - 1) < 0.05
    joined = pd.concat([sessions, orders], axis=1).fillna(0)
    assert np.corrcoef(joined.iloc[:, 0], joined.iloc[:, 1])[0, 1] > 0.8


def test_weekly_and_yearly_seasonality() -> None:
    orders = ecommerce().datasets["orders"]
    per_day = orders.groupby(orders["ordered_at"].dt.normalize()).size()
    by_weekday = per_day.groupby(per_day.index.dayofweek).mean()
    assert by_weekday[6] > by_weekday[5] * 1.1  # Sunday above Saturday (planted 1.10 vs 0.88)
    by_year = per_day.groupby(per_day.index.year).sum()
    assert by_year[2024] > by_year[2022] * 1.3  # planted growth 25 %/year
    by_month = per_day.groupby(per_day.index.month).mean()
    assert by_month[12] > by_month[6] * 1.2


def test_price_elasticity_recovered_per_product() -> None:
    data = ecommerce()
    lines = data.datasets["order_lines"]
    planted = data.params["elasticity"]
    errors = []
    for pid, g in lines.groupby("product_id"):
        if len(g) < 800:
            continue
        agg = g.groupby("unit_price")["quantity"].agg(["mean", "size"])
        x, y, w = np.log(agg.index.to_numpy()), np.log(agg["mean"].to_numpy()), agg["size"].to_numpy()
        slope = np.polyfit(x, y, 1, w=np.sqrt(w))[0]
        errors.append(slope - planted[pid])
    assert len(errors) >= 5
    errors_arr = np.abs(np.array(errors))
    assert np.median(errors_arr) < 0.15
    assert errors_arr.max() < 0.45


def test_status_and_repeat_customers() -> None:
    orders = ecommerce().datasets["orders"]
    share = orders["status"].value_counts(normalize=True)
    assert 0.02 < share["cancelled"] < 0.04
    assert 0.01 < share["refunded"] < 0.03
    assert orders.loc[orders["status"] == "cancelled", "fulfilled_at"].isna().all()
    assert orders.loc[orders["status"] == "delivered", "delivered_at"].notna().all()
    per_customer = orders.groupby("customer_id").size()
    assert (per_customer >= 2).mean() > 0.3
    assert per_customer.mean() > 2.0
    hours = (orders["fulfilled_at"] - orders["ordered_at"]).dt.total_seconds() / 3600
    web = orders["channel"] == "web"
    assert abs(hours[web].median() / 20.0 - 1) < 0.1


def test_defect_rate_per_line() -> None:
    data = generate("manufacturing", size="tiny", seed=5)
    runs = data.datasets["production_runs"]
    sums = runs.groupby("line")[["units_defective", "units_produced"]].sum()
    rate = sums["units_defective"] / sums["units_produced"]
    for line, planted in data.params["line_defect_rates"].items():
        assert abs(rate[line] - planted) < 0.15 * planted + 0.002, (line, rate[line], planted)


def test_fuel_consumption_per_vehicle() -> None:
    data = generate("manufacturing", orders=5000, seed=5)
    d = data.datasets["deliveries"]
    sums = d.groupby("vehicle_id")[["fuel_litres", "distance_km"]].sum()
    per100 = 100 * sums["fuel_litres"] / sums["distance_km"]
    for vehicle, planted in data.params["vehicle_l_per_100km"].items():
        assert abs(per100[vehicle] / planted - 1) < 0.03


def test_restaurant_food_cost_and_dwell() -> None:
    data = generate("restaurant", orders=20_000, seed=5)
    orders = data.datasets["orders"]
    food_cost = orders["cost_amount"].sum() / orders["total_amount"].sum()
    lo, hi = data.params["food_cost_ratio_range"]
    assert lo < food_cost < hi
    turns = data.datasets["table_turns"]
    dwell = (turns["left_at"] - turns["seated_at"]).dt.total_seconds() / 60
    slope = np.polyfit(turns["covers"], dwell, 1)[0]
    assert abs(slope / data.params["dwell"]["per_cover_minutes"] - 1) < 0.25


def test_churners_have_more_tickets_and_declining_usage() -> None:
    data = saas()
    subs = data.datasets["subscriptions"]
    tickets = data.datasets["support_tickets"]
    window = pd.Timedelta(days=data.params["churn_signals"]["ticket_window_days"])
    asof = pd.Timestamp(data.end) + pd.Timedelta(days=1)
    ref = subs.set_index("customer_id")["ended_at"].fillna(asof)
    started = subs.set_index("customer_id")["started_at"]
    churned = subs.set_index("customer_id")["ended_at"].notna()
    eligible = (ref - started) > window  # whole window inside the life
    t = tickets.join(ref.rename("ref"), on="customer_id")
    in_window = t[(t["opened_at"] <= t["ref"]) & (t["opened_at"] > t["ref"] - window)]
    counts = in_window.groupby("customer_id").size().reindex(ref.index, fill_value=0)
    churn_rate = counts[churned & eligible].mean()
    stay_rate = counts[~churned & eligible].mean()
    ratio = churn_rate / stay_rate
    assert 2.0 < ratio < 4.5, ratio  # planted multiplier 3.0

    usage = data.datasets["usage_events"].join(ref.rename("ref"), on="customer_id")
    days_left = (usage["ref"] - usage["date"]).dt.days
    churn_ids = set(ref[churned & ((ref - started) > pd.Timedelta(days=200))].index)
    u = usage[usage["customer_id"].isin(churn_ids)]
    dl = days_left[u.index]
    last = u[dl < 28].groupby("customer_id")["events"].mean()
    before = u[(dl >= 100) & (dl < 180)].groupby("customer_id")["events"].mean()
    ratio_usage = (last / before).dropna().median()
    assert ratio_usage < 0.6, ratio_usage  # planted decline to 0.3 at the end


def test_saas_leads_convert_at_planted_rate() -> None:
    data = saas()
    leads = data.datasets["leads"]
    rate = leads["converted_at"].notna().mean()
    assert abs(rate / data.params["lead_conversion_rate"] - 1) < 0.1
    assert len(data.datasets["subscriptions"]) == leads["converted_at"].notna().sum()
