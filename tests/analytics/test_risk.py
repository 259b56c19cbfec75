"""Breach risk: exact on independent periods (1 - (1 - p)^h), calibrated on simulated KPIs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from headway.analytics.forecast import forecast
from headway.analytics.risk import breach_risk, forecast_breach_risk


def test_independent_periods_match_the_closed_form():
    rng = np.random.default_rng(0)
    paths = rng.standard_normal((100_000, 5))
    p = norm.cdf(-1.0)  # one period below -1
    risk = breach_risk(paths, threshold=-1.0, breach="below")
    expected = [1 - (1 - p) ** k for k in range(1, 6)]
    np.testing.assert_allclose(risk.by_period, expected, atol=0.006)
    assert risk.probability == pytest.approx(expected[-1], abs=0.006)
    # first breaches are most likely in the first period (the survivors shrink every period)
    assert risk.first_period_index == 0
    above = breach_risk(paths, threshold=1.0, breach="above", within=2)
    assert above.probability == pytest.approx(1 - (1 - p) ** 2, abs=0.006)
    assert len(above.by_period) == 2


def test_no_breach_and_a_late_breach():
    paths = np.tile([10.0, 9.0, 8.0, 3.0], (50, 1))
    assert breach_risk(paths, threshold=2.0, breach="below").probability == 0.0
    assert breach_risk(paths, threshold=2.0, breach="below").first_period_index is None
    late = breach_risk(paths, threshold=5.0, breach="below")
    assert late.probability == 1.0 and late.first_period_index == 3
    assert late.by_period == [0.0, 0.0, 0.0, 1.0]
    assert (
        late.describe("month")
        == "100% risk of falling below the threshold within 4 months; most likely first in month 4"
    )


def test_breach_risk_is_calibrated_on_simulated_kpis():
    """Random walks; the risk comes from paths simulated with parameters estimated on the history."""
    rng = np.random.default_rng(11)
    n, horizon, history = 2500, 6, 100
    predicted, happened = np.empty(n), np.empty(n, dtype=bool)
    for i in range(n):
        mu, sigma = rng.normal(0, 0.5), rng.uniform(0.5, 2)
        y = 100 + np.cumsum(mu + sigma * rng.standard_normal(history + horizon))
        d = np.diff(y[:history])
        paths = y[history - 1] + np.cumsum(d.mean() + d.std(ddof=1) * rng.standard_normal((600, horizon)), axis=1)
        threshold = y[history - 1] - sigma * rng.uniform(0, 5)
        predicted[i] = breach_risk(paths, threshold=threshold, breach="below").probability
        happened[i] = (y[history:] < threshold).any()
    for lo, hi in [(0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9)]:
        chosen = (predicted >= lo) & (predicted < hi)
        assert chosen.sum() >= 100
        assert abs(happened[chosen].mean() - predicted[chosen].mean()) < 0.07, (lo, hi)


def test_from_a_forecast_of_a_falling_series():
    idx = pd.date_range("2021-01-01", periods=36, freq="MS")
    y = pd.Series(5000 - 100 * np.arange(36) + np.random.default_rng(2).normal(0, 40, 36), index=idx)
    fc = forecast(y, 6)
    # the trend reaches ~1,900 after six more months: 1,000 is safe, 2,500 is near certain to be crossed
    assert forecast_breach_risk(fc, threshold=1000, breach="below").probability < 0.05
    assert forecast_breach_risk(fc, threshold=2500, breach="below").probability > 0.95


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"paths": np.ones((3, 2)), "threshold": 1, "breach": "under"}, "'above' or 'below'"),
        ({"paths": np.ones(3), "threshold": 1, "breach": "below"}, "non-empty"),
        ({"paths": np.ones((3, 2)), "threshold": float("inf"), "breach": "below"}, "finite"),
        ({"paths": np.ones((3, 2)), "threshold": 1, "breach": "below", "within": 0}, "at least 1"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        breach_risk(**kwargs)
