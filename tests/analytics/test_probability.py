"""Goal-attainment probability: calibrated on many simulated goals, and exact on hand-made paths."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from headway.analytics.forecast import forecast
from headway.analytics.probability import end_values, goal_probability, projected_end_value

N_GOALS = 3000
N_PATHS = 800
HISTORY = 120
HORIZON = 6


def _simulate_goals(kind: str, direction: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Goals on random walks with drift: (predicted probability, met?) per goal.

    Each goal's KPI follows y_t = y_{t-1} + mu + sigma * e_t with its own mu and sigma. The forecaster here
    only sees the history: it estimates drift and spread from it and simulates paths; the real future is
    drawn from the true process, so the predicted probability must match the observed hit rate.
    """
    rng = np.random.default_rng(seed)
    predicted = np.empty(N_GOALS)
    met = np.empty(N_GOALS, dtype=bool)
    for i in range(N_GOALS):
        mu, sigma = rng.normal(0, 1), rng.uniform(0.5, 3)
        level0 = rng.uniform(50, 150)
        steps = mu + sigma * rng.standard_normal(HISTORY + HORIZON)
        y = level0 + np.cumsum(steps)
        past, future = y[:HISTORY], y[HISTORY:]
        d = np.diff(past)
        mu_hat, sd_hat = d.mean(), d.std(ddof=1)
        paths = past[-1] + np.cumsum(mu_hat + sd_hat * rng.standard_normal((N_PATHS, HORIZON)), axis=1)
        to_date = 0.0
        if kind == "cumulative":
            # The goal is on the total of the 9 periods of a "quarter": 3 are closed (to_date), 6 remain.
            to_date = float(past[-3:].sum())
            centre = to_date + (past[-1] + mu * np.arange(1, HORIZON + 1)).sum()
            spread = sigma * np.sqrt(np.sum(np.arange(1, HORIZON + 1) ** 2))
            actual = to_date + future.sum()
        elif kind == "stay_above":
            centre, spread, actual = past[-1] - 2 * sigma, sigma * 2, future.min()
        else:
            centre, spread = past[-1] + mu * HORIZON, sigma * np.sqrt(HORIZON)
            actual = future[-1]
        target = centre + spread * rng.uniform(-2.5, 2.5)
        predicted[i] = goal_probability(paths, target=target, direction=direction, kind=kind, to_date=to_date)
        if kind == "stay_above":
            met[i] = actual >= target
        else:
            met[i] = actual >= target if direction == "higher" else actual <= target
    return predicted, met


@pytest.mark.parametrize(
    ("kind", "direction"),
    [("level", "higher"), ("level", "lower"), ("cumulative", "higher"), ("cumulative", "lower"), ("stay_above", "")],
)
def test_goal_probability_is_calibrated(kind, direction):
    predicted, met = _simulate_goals(kind, direction or "higher", seed=zlib.crc32(f"{kind}{direction}".encode()))
    bins = [(0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.6, 0.8), (0.7, 0.9)]
    for lo, hi in bins:
        chosen = (predicted >= lo) & (predicted < hi)
        assert chosen.sum() >= 100, f"too few goals in [{lo}, {hi}) to judge: {chosen.sum()}"
        rate = met[chosen].mean()
        # the bar: of goals given ~70%, between 60% and 80% are met; the same width for every bin,
        # and close to the mean predicted probability of the bin
        assert lo - 0.02 <= rate <= hi + 0.02, (kind, direction, lo, hi, rate)
        assert abs(rate - predicted[chosen].mean()) < 0.07, (kind, direction, lo, hi, rate)
    # a useful forecast separates met from missed goals
    assert predicted[met].mean() - predicted[~met].mean() > 0.4


def test_level_and_direction_on_known_paths():
    paths = np.array([[1.0, 5.0], [2.0, 10.0], [3.0, 15.0], [4.0, 20.0]])
    assert goal_probability(paths, target=10, direction="higher") == 0.75
    assert goal_probability(paths, target=10, direction="lower") == 0.5
    # deadline in the first period
    assert goal_probability(paths, target=3, horizon_index=0) == 0.5


def test_cumulative_adds_the_to_date_actual():
    paths = np.array([[1.0, 5.0], [2.0, 10.0], [3.0, 15.0], [4.0, 20.0]])
    np.testing.assert_allclose(end_values(paths, kind="cumulative", to_date=100), [106, 112, 118, 124])
    assert goal_probability(paths, target=112, kind="cumulative", to_date=100) == 0.75
    assert goal_probability(paths, target=112, kind="cumulative", to_date=100, direction="lower") == 0.5
    assert goal_probability(paths, target=104, kind="cumulative", to_date=100, horizon_index=0) == 0.25


def test_stay_above_needs_every_period():
    paths = np.array([[5.0, 6.0, 7.0], [5.0, 2.0, 7.0], [9.0, 9.0, 9.0], [1.0, 9.0, 9.0]])
    assert goal_probability(paths, target=4, kind="stay_above") == 0.5
    assert goal_probability(paths, target=6.5, kind="stay_below") == 0.0
    assert goal_probability(paths, target=7, kind="stay_below") == 0.5
    # only periods up to the deadline count
    assert goal_probability(paths, target=4, kind="stay_above", horizon_index=0) == 0.75


def test_projected_end_value_matches_normal_quantiles():
    rng = np.random.default_rng(3)
    paths = 100 + 10 * rng.standard_normal((40_000, 3))
    proj = projected_end_value(paths, level=80)
    assert proj.median == pytest.approx(100, abs=0.3)
    assert proj.lower == pytest.approx(100 - 10 * norm.ppf(0.9), abs=0.5)
    assert proj.upper == pytest.approx(100 + 10 * norm.ppf(0.9), abs=0.5)
    cum = projected_end_value(paths, kind="cumulative", to_date=50)
    assert cum.median == pytest.approx(350, abs=0.6)
    assert "on current pace you close at 350" in cum.describe()


def test_with_the_forecaster_on_a_trending_series():
    """The forecaster's paths on a clear trend: far-below targets are near certain, far-above ones near zero."""
    idx = pd.date_range("2020-01-01", periods=48, freq="MS")
    rng = np.random.default_rng(5)
    y = pd.Series(1000 + 20 * np.arange(48) + rng.normal(0, 15, 48), index=idx)
    paths = forecast(y, 6).paths(2000)
    expected_end = 1000 + 20 * 53
    assert goal_probability(paths, target=expected_end - 300) > 0.95
    assert goal_probability(paths, target=expected_end + 300) < 0.05
    assert 0.2 < goal_probability(paths, target=expected_end) < 0.8
    assert projected_end_value(paths).median == pytest.approx(expected_end, rel=0.03)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"paths": np.zeros((0, 3)), "target": 1}, "non-empty"),
        ({"paths": np.array([[1.0, np.nan]]), "target": 1}, "NaN"),
        ({"paths": np.ones((2, 3)), "target": 1, "horizon_index": 5}, "outside the simulated horizon"),
        ({"paths": np.ones((2, 3)), "target": 1, "direction": "up"}, "unknown direction"),
        ({"paths": np.ones((2, 3)), "target": 1, "kind": "total"}, "unknown goal kind"),
        ({"paths": np.ones((2, 3)), "target": float("nan")}, "finite"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        goal_probability(**kwargs)
