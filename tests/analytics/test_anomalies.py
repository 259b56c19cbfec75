"""Anomaly detection: planted spikes and drops are found with their size, clean series give no findings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from headway.analytics.anomalies import detect_anomalies, outside_forecast, seasonal_bands
from headway.analytics.forecast import forecast
from headway.demo import generate

WEEKLY = np.array([1.1, 1.05, 1.0, 1.0, 0.95, 0.8, 1.1])


def _daily(seed: int, days: int = 730, noise: float = 0.06) -> tuple[pd.Series, np.ndarray]:
    """Trend x weekday pattern x yearly wave x lognormal noise; returns the series and its clean expectation."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2023-01-02", periods=days, freq="D")
    t = np.arange(days)
    clean = 1000 * 1.3 ** (t / 365) * WEEKLY[idx.weekday] * (1 + 0.1 * np.sin(2 * np.pi * t / 365))
    return pd.Series(clean * np.exp(rng.normal(0, noise, days)), index=idx), clean


@pytest.mark.parametrize("seed", range(6))
def test_no_findings_on_clean_synthetic_series(seed):
    y, _ = _daily(seed)
    assert detect_anomalies(y) == []
    monthly = y.resample("MS").sum()
    assert detect_anomalies(monthly) == []


def test_planted_spikes_and_drops_are_found_with_their_size():
    y, clean = _daily(42)
    planted = {40: 1.8, 200: 0.45, 333: 2.5, 500: 0.5, 650: 1.6}
    for day, factor in planted.items():
        y.iloc[day] = clean[day] * factor
    found = detect_anomalies(y)
    assert [y.index.get_loc(a.period) for a in found] == sorted(planted)
    for a in found:
        day = y.index.get_loc(a.period)
        # the expected value is the clean value (noise 6%), the surprise is what was planted
        assert a.expected == pytest.approx(clean[day], rel=0.08)
        assert a.surprise == pytest.approx(clean[day] * (planted[day] - 1), abs=0.1 * clean[day])
        assert a.side == ("above" if planted[day] > 1 else "below")
        assert abs(a.z) > 5 and (a.z > 0) == (planted[day] > 1)
        assert not a.lower <= a.value <= a.upper
        assert a.as_dict()["period"] == a.period.date().isoformat()


def test_bands_follow_the_weekday_pattern():
    y, clean = _daily(3)
    bands = seasonal_bands(y)
    assert bands.seasonal and bands.season_length == 7
    # expected values track the clean curve (weekday dips included) within the noise
    error = np.abs(bands.expected / clean - 1)
    assert error.mean() < 0.03 and error.max() < 0.15
    assert (bands.lower < bands.expected).all() and (bands.expected < bands.upper).all()


def _demo_daily_revenue() -> pd.Series:
    orders = generate("ecommerce", size="small", seed=3).datasets["orders"]
    daily = orders.set_index("ordered_at")["total_amount"].resample("D").sum()
    return daily.iloc[1:-1]


def test_demo_revenue_clean_and_with_planted_anomalies():
    """E-commerce demo revenue (trend, weekday and yearly season, holiday boost): nothing found as generated,
    daily, weekly or monthly; planted slumps and surges in weekly and monthly revenue found, and nothing else."""
    daily = _demo_daily_revenue()
    weekly = daily.resample("W-MON").sum().iloc[1:-1]
    monthly = daily.resample("MS").sum()
    for clean in (daily, weekly, monthly):
        assert detect_anomalies(clean) == []
    for series, planted in [
        (weekly, {"2022-05-09": 0.2, "2022-09-05": 2.6, "2023-06-12": 0.2, "2024-02-19": 2.5, "2024-08-05": 0.2}),
        (monthly, {"2022-06-01": 0.5, "2023-04-01": 2.0, "2024-09-01": 0.5}),
    ]:
        hit = series.copy()
        for period, factor in planted.items():
            hit[period] *= factor
        found = detect_anomalies(hit)
        assert [a.period.date().isoformat() for a in found] == list(planted)
        for a in found:
            original = series[a.period]
            assert a.surprise == pytest.approx(hit[a.period] - a.expected)
            # a period's expectation comes from the other periods, so planting does not move it
            before = seasonal_bands(series)
            assert a.expected == pytest.approx(before.expected[before.index.get_loc(a.period)], rel=0.05)
            assert not a.lower <= original * planted[a.period.date().isoformat()] <= a.upper
            assert a.side == ("above" if planted[a.period.date().isoformat()] > 1 else "below")


def test_outside_the_forecast_band():
    idx = pd.date_range("2020-01-01", periods=48, freq="MS")
    rng = np.random.default_rng(1)
    season = 1 + 0.2 * np.sin(2 * np.pi * np.arange(60) / 12)
    full = pd.Series(500 * season * np.exp(rng.normal(0, 0.03, 60)), index=pd.date_range(idx[0], periods=60, freq="MS"))
    fc = forecast(full.iloc[:48], 12)
    actual = full.iloc[48:].copy()
    assert outside_forecast(fc, actual) == []
    actual.iloc[4] *= 1.6
    actual.iloc[9] *= 0.5
    found = outside_forecast(fc, actual)
    assert [a.period for a in found] == [actual.index[4], actual.index[9]]
    assert found[0].z > 3.5 and found[1].z < -3.5
    assert found[0].surprise == pytest.approx(actual.iloc[4] - fc.mean.iloc[4])
    # the band is 3.5 of the 95% interval's implied standard deviations wide on each side
    sd_above = (fc.upper[95].iloc[4] - fc.mean.iloc[4]) / 1.959964
    assert found[0].upper == pytest.approx(fc.mean.iloc[4] + 3.5 * sd_above)


def test_gaps_are_not_reported_and_short_series_are_refused():
    y, _ = _daily(5, days=120)
    y.iloc[50:53] = np.nan
    assert detect_anomalies(y) == []
    with pytest.raises(ValueError, match="at least 8 periods"):
        detect_anomalies(y.iloc[:5])
    with pytest.raises(ValueError, match="threshold"):
        detect_anomalies(y, threshold=0)
