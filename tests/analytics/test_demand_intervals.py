"""Prediction intervals of the demand forecasts: calibrated on series with planted noise, nested, clipped at 0,
and the point forecasts stay exactly coherent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from headway.analytics.demand import forecast_demand

WEEKS, HELD_OUT = 100, 8
START = pd.Timestamp("2023-01-02")  # a Monday


def planted(seed: int, weeks: int = WEEKS) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """9 products in 3 categories, weekly units = level + slow trend + normal noise of a known size."""
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for p in range(9):
        level, slope, sigma = rng.uniform(150, 400), rng.uniform(-0.3, 0.6), rng.uniform(8, 30)
        truth[f"P{p}"] = sigma
        units = level + slope * np.arange(weeks) + rng.normal(0, sigma, weeks)
        for w, q in enumerate(units):
            rows.append((f"o{p}-{w}", f"P{p}", max(round(q), 0), START + pd.Timedelta(weeks=w, days=2)))
    lines = pd.DataFrame(rows, columns=["order_id", "product_id", "quantity", "ordered_at"])
    products = pd.DataFrame({"product_id": [f"P{p}" for p in range(9)], "category": [f"c{p // 3}" for p in range(9)]})
    return lines, products, pd.Series(truth).to_frame("sigma")


def held_out_check(seed: int) -> pd.DataFrame:
    """Fit on all but the last 8 weeks; each node's interval against the 8 weeks it did not see."""
    lines, products, _ = planted(seed)
    cutoff = START + pd.Timedelta(weeks=WEEKS - HELD_OUT)
    fit = forecast_demand(lines[lines.ordered_at < cutoff], None, products, horizon=HELD_OUT, as_of=cutoff)
    actual = forecast_demand(lines, None, products, horizon=1, as_of=START + pd.Timedelta(weeks=WEEKS)).history
    joined = fit.frame.merge(actual, on=["level", "node", "period"], how="inner")
    assert len(joined) == len(fit.frame) == 13 * HELD_OUT  # total, 3 categories, 9 products, all 8 weeks known
    joined = joined.sort_values(["level", "node", "period"])
    joined["actual_to_date"] = joined.groupby(["level", "node"])["quantity"].cumsum()
    return joined


@pytest.fixture(scope="module")
def checks() -> pd.DataFrame:
    return pd.concat([held_out_check(seed).assign(seed=seed) for seed in range(8)], ignore_index=True)


def test_the_80_and_95_percent_intervals_cover_about_that_share_of_unseen_weeks(checks):
    inside80 = (checks.quantity >= checks.lower_80) & (checks.quantity <= checks.upper_80)
    inside95 = (checks.quantity >= checks.lower_95) & (checks.quantity <= checks.upper_95)
    assert len(checks) == 8 * 13 * HELD_OUT
    assert 0.70 <= inside80.mean() <= 0.90, inside80.mean()
    assert 0.88 <= inside95.mean() <= 0.99, inside95.mean()
    # products alone (independent noise) are calibrated too, not only thanks to the aggregates
    products = checks.level == "product"
    assert 0.70 <= inside80[products].mean() <= 0.90, inside80[products].mean()


def test_the_range_of_the_running_total_is_calibrated_too(checks):
    """Units sold from the first forecast week to each week: the page's "next 8 weeks" total and its range."""
    inside80 = (checks.actual_to_date >= checks.cumulative_lower_80) & (
        checks.actual_to_date <= checks.cumulative_upper_80
    )
    inside95 = (checks.actual_to_date >= checks.cumulative_lower_95) & (
        checks.actual_to_date <= checks.cumulative_upper_95
    )
    assert 0.70 <= inside80.mean() <= 0.90, inside80.mean()
    assert 0.88 <= inside95.mean() <= 0.99, inside95.mean()
    # the running total's range is narrower than the per-week ranges summed (errors partly cancel)
    last = checks[checks.period == checks.period.max()]
    summed = checks.assign(width=checks.upper_80 - checks.lower_80).groupby(["seed", "level", "node"]).width.sum()
    own = last.set_index(["seed", "level", "node"]).eval("cumulative_upper_80 - cumulative_lower_80")
    assert (own.reindex(summed.index) < summed).mean() > 0.9


def test_the_95_percent_interval_holds_the_80_percent_one_and_the_forecast(checks):
    assert (checks.lower_95 <= checks.lower_80 + 1e-9).all() and (checks.upper_80 <= checks.upper_95 + 1e-9).all()
    assert ((checks.upper_95 - checks.lower_95) > (checks.upper_80 - checks.lower_80)).all()
    assert ((checks.lower_80 <= checks.forecast) & (checks.forecast <= checks.upper_80)).all()


def test_the_spread_matches_the_planted_noise_and_aggregates_are_narrower_than_their_parts():
    lines, products, truth = planted(11, weeks=140)
    fc = forecast_demand(lines, None, products, horizon=4, as_of=START + pd.Timedelta(weeks=140))
    first = fc.frame[fc.frame.period == fc.frame.period.min()].set_index(["level", "node"])
    half80 = (first.upper_80 - first.lower_80) / 2 / 1.2815515655446004  # the spread (one standard error)
    # Theta's one-step error on level + noise is a little above the noise itself
    ratio = half80.loc["product"].reindex(truth.index) / truth.sigma
    # (each spread is measured from 15 origins, so it is itself uncertain by about a fifth)
    assert ratio.between(0.65, 1.5).all(), ratio
    assert 0.85 <= ratio.mean() <= 1.2, ratio.mean()
    # independent products' errors partly cancel: the total's range is narrower than the sum of theirs
    assert half80.loc[("total", "total")] < half80.loc["product"].sum() * 0.6


def test_lower_bounds_are_clipped_at_zero_and_the_points_still_add_up():
    rng = np.random.default_rng(5)
    days = pd.date_range(START, periods=60 * 7, freq="D")
    rare = pd.DataFrame(
        {"order_id": [f"r{i}" for i in range(len(days))], "product_id": "RARE", "quantity": rng.poisson(0.1, len(days))}
        | {"ordered_at": days + pd.Timedelta(hours=10)}
    )
    lines, products, _ = planted(2, weeks=60)
    lines = pd.concat([lines, rare[rare.quantity > 0]], ignore_index=True)
    products = pd.concat([products, pd.DataFrame({"product_id": ["RARE"], "category": ["c0"]})], ignore_index=True)
    fc = forecast_demand(lines, None, products, horizon=6, as_of=START + pd.Timedelta(weeks=60))
    band = fc.band("product", "RARE")
    # about 0.7 units a week: the forecast minus 1.96 spreads would be negative
    assert (
        (band.lower_95 == 0).all() and (band.upper_95 > band.upper_80).all() and (band.upper_80 > band.forecast).all()
    )
    # every lower bound is the symmetric one, clipped at 0
    f = fc.frame
    for lv in ("80", "95"):
        symmetric = f.forecast - (f[f"upper_{lv}"] - f.forecast)
        np.testing.assert_allclose(f[f"lower_{lv}"], symmetric.clip(lower=0), atol=1e-9)
    wide = fc.wide()
    np.testing.assert_allclose(wide[wide.index.str.startswith("product:")].sum(), wide.loc["total:total"], rtol=1e-12)
    assert fc.backtest_origins == 6 + 12 - 1 and fc.model.startswith("Theta")


def test_a_short_history_still_gets_intervals_from_the_naive_spread():
    lines, products, _ = planted(3, weeks=5)
    fc = forecast_demand(lines, None, products, horizon=3, as_of=START + pd.Timedelta(weeks=4))
    assert fc.backtest_origins == 0
    width = (fc.frame.upper_80 - fc.frame.forecast).to_numpy().reshape(-1, 3)
    # the naive spread grows with sqrt(h)
    np.testing.assert_allclose(width[:, 2], width[:, 0] * np.sqrt(3), rtol=1e-9)
    assert (width[:, 0] > 0).all()
