"""Anomalies in a KPI series: points far outside what its trend and season (or a forecast) expected.

    >>> found = detect_anomalies(daily_revenue)                  # robust seasonal residual bands
    >>> found = outside_forecast(stored_forecast, new_actuals)   # actuals outside a forecast's 95% band
    >>> found[0].period, found[0].value, found[0].expected, found[0].surprise, found[0].z

**Robust seasonal bands** (``detect_anomalies``): the expected value of a period is a centred rolling
median (the trend: the median of the season-long window around the point, the point itself left out) plus
the median deviation of the same position in the season (weekday, month; again without the point) when the
series is seasonal. What is left over is the residual; its
spread is measured by the MAD (median absolute deviation, scaled by 1.4826 to match a standard deviation on
normal data), so the outliers being looked for do not widen the band that should catch them. A point whose
robust z-score ``residual / spread`` exceeds ``threshold`` (5 by default) is an anomaly.

Business series are rarely normal: counts of a few orders a day are skewed, revenue that doubles over the
years spreads wider as it grows. The bands are fitted on the plain, square-root or log scale, whichever
leaves the most symmetric residuals, and the spread is never taken below 2% of the typical level
(``MIN_RELATIVE_SPREAD``): a series so smooth that a 3% dip would be "ten standard deviations" (monthly
subscription invoices) only reports moves a person would call surprising.

**Forecast bands** (``outside_forecast``): actual values of the forecast's periods more than ``threshold``
(3.5) standard deviations from its mean, the standard deviation implied by the forecast's interval (so a 95%
interval's half-width is 1.96 of them). Merely leaving the 95% interval happens to one period in twenty, and
model intervals tend to be narrow (they leave out the uncertainty of the model itself).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import norm

from headway.analytics.forecast import Forecast
from headway.analytics.forecast.seasonality import is_seasonal
from headway.analytics.forecast.series import read_history

MAD_TO_SD = 1.4826
DEFAULT_THRESHOLD = 5.0
MIN_RELATIVE_SPREAD = 0.02
FORECAST_THRESHOLD = 3.5
MIN_POINTS = 8


@dataclass(frozen=True)
class Anomaly:
    """One surprising period: the value, what was expected, the band it fell outside and by how much."""

    period: pd.Timestamp
    value: float
    expected: float
    lower: float
    upper: float
    surprise: float
    """value - expected, in the KPI's units."""
    z: float
    """Robust z-score: the surprise in (robust) standard deviations; negative below the expected value."""
    method: Literal["seasonal", "forecast"]

    @property
    def side(self) -> Literal["above", "below"]:
        return "above" if self.surprise > 0 else "below"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["period"] = self.period.date().isoformat()
        out["side"] = self.side
        return out


@dataclass(frozen=True)
class Bands:
    """The expected value and band of every period of a series (what charts draw behind the points)."""

    index: pd.DatetimeIndex
    values: np.ndarray
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    z: np.ndarray
    season_length: int
    seasonal: bool
    transform: str
    """The scale the bands were fitted on: none, sqrt or log (whichever left the most symmetric residuals)."""

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"value": self.values, "expected": self.expected, "lower": self.lower, "upper": self.upper, "z": self.z},
            index=self.index,
        )


def _neighbour_median(x: np.ndarray, window: int) -> np.ndarray:
    """The median of each point's ``window - 1`` neighbours (the point itself left out, so a spike cannot pull
    its own expectation, nor shrink the residuals the spread is measured on)."""
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), x, np.full(half, np.nan)])
    views = np.lib.stride_tricks.sliding_window_view(padded, window)
    return np.asarray(np.nanmedian(np.delete(views, half, axis=1), axis=1))


def _others_median(values: np.ndarray) -> np.ndarray:
    """For each value, the median of the other values of its group."""
    if len(values) < 2:
        return np.zeros(len(values))
    return np.array([np.median(np.delete(values, i)) for i in range(len(values))])


def _despiked(x: np.ndarray) -> np.ndarray:
    """``x`` with far outliers replaced by their neighbours' median, so that the very anomalies being looked for
    cannot switch the seasonality test on or off."""
    local = _neighbour_median(x, 5)
    r = x - local
    spread = MAD_TO_SD * float(np.median(np.abs(r - np.median(r))))
    return np.where(np.abs(r - np.median(r)) > 5 * spread, local, x) if spread > 0 else x


def _decompose(x: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """The fitted (trend + season) value of each point of ``x`` from the other points, ``x`` despiked, and
    whether a season was used."""
    clean = _despiked(x)
    seasonal = m >= 2 and len(x) >= 2 * m + 1 and is_seasonal(clean, m)
    window = max(m if seasonal else 5, 5)
    window += 1 - window % 2
    trend = _neighbour_median(x, window)
    fitted = trend.copy()
    if seasonal:
        # with two or three seasons a position's "median" is a mean of one or two values: despiked ones
        detrended = clean - trend
        position = np.arange(len(x)) % m
        for k in range(m):
            fitted[position == k] += _others_median(detrended[position == k])
    return fitted, clean, seasonal


def _asymmetry(z: np.ndarray) -> float:
    """How lopsided residuals are (0 = symmetric), from their 5th, 50th and 95th percentiles."""
    q5, q50, q95 = np.percentile(z, [5, 50, 95])
    return abs((q95 + q5 - 2 * q50) / (q95 - q5)) if q95 > q5 else np.inf


_TRANSFORMS: dict[str, tuple[Any, Any]] = {
    "none": (lambda v: v, lambda v: v),
    "sqrt": (np.sqrt, lambda v: np.square(np.maximum(v, 0.0))),
    "log": (np.log, np.exp),
}


def seasonal_bands(y: pd.Series, *, season_length: int | None = None, threshold: float = DEFAULT_THRESHOLD) -> Bands:
    """Expected values and robust bands for every period of ``y`` (see the module's docstring)."""
    if threshold <= 0:
        raise ValueError(f"threshold must be a positive number of standard deviations; got {threshold}")
    history = read_history(y, season_length)
    raw = y.sort_index().reindex(history.index).to_numpy(dtype=float)
    values = history.values
    if len(values) < MIN_POINTS:
        raise ValueError(f"at least {MIN_POINTS} periods are needed to judge what is unusual; got {len(values)}")
    m = history.season_length
    names = ["none"] + (["sqrt"] if (values >= 0).all() else []) + (["log"] if (values > 0).all() else [])
    best: tuple[float, str, np.ndarray, np.ndarray, float, bool] | None = None
    for name in names:
        x = _TRANSFORMS[name][0](values)
        fitted, clean, seasonal = _decompose(x, m)
        residual = x - fitted
        spread = MAD_TO_SD * float(np.median(np.abs(residual - np.median(residual))))
        typical = float(np.median(np.abs(values)))
        # the smallest spread a business would call noise: MIN_RELATIVE_SPREAD of the typical level
        floor = {"none": typical, "sqrt": np.sqrt(typical) / 2, "log": 1.0}[name] * MIN_RELATIVE_SPREAD
        spread = max(spread, floor, 1e-12)
        z = residual / spread
        # judged without the outliers, so the anomalies cannot choose the scale they are measured on
        asym = _asymmetry(clean - fitted)
        if best is None or asym < best[0]:
            best = (asym, name, fitted, z, spread, seasonal)
    assert best is not None
    _, name, fitted, z, spread, seasonal = best
    z[np.isnan(raw)] = 0.0  # interpolated gaps are never reported
    back = _TRANSFORMS[name][1]
    return Bands(
        history.index,
        values,
        back(fitted),
        back(fitted - threshold * spread),
        back(fitted + threshold * spread),
        z,
        m,
        seasonal,
        name,
    )


def detect_anomalies(
    y: pd.Series, *, season_length: int | None = None, threshold: float = DEFAULT_THRESHOLD
) -> list[Anomaly]:
    """The periods of ``y`` outside its robust seasonal band, in time order."""
    bands = seasonal_bands(y, season_length=season_length, threshold=threshold)
    found = np.flatnonzero(np.abs(bands.z) > threshold)
    return [
        Anomaly(
            period=bands.index[i],
            value=float(bands.values[i]),
            expected=float(bands.expected[i]),
            lower=float(bands.lower[i]),
            upper=float(bands.upper[i]),
            surprise=float(bands.values[i] - bands.expected[i]),
            z=float(bands.z[i]),
            method="seasonal",
        )
        for i in found
    ]


def outside_forecast(
    fc: Forecast, actual: pd.Series, *, threshold: float = FORECAST_THRESHOLD, level: int | None = None
) -> list[Anomaly]:
    """Actual values of the forecast's periods more than ``threshold`` standard deviations from its mean, the
    standard deviation implied by its ``level``% interval (the widest by default), on the side of the value."""
    if not fc.lower:
        raise ValueError("this forecast has no intervals (levels=()), so nothing can fall outside them")
    level = max(fc.lower) if level is None else level
    if level not in fc.lower:
        raise ValueError(f"the forecast has no {level}% interval; it has {sorted(fc.lower)}")
    z_level = float(norm.ppf(0.5 + level / 200))
    shared = fc.mean.index.intersection(actual.dropna().index)
    out: list[Anomaly] = []
    for period in shared:
        value, mean = float(actual[period]), float(fc.mean[period])
        sd_below = (mean - float(fc.lower[level][period])) / z_level
        sd_above = (float(fc.upper[level][period]) - mean) / z_level
        sd = sd_above if value > mean else sd_below
        z = (value - mean) / sd if sd > 0 else float(np.sign(value - mean)) * np.inf
        if abs(z) <= threshold:
            continue
        lower, upper = mean - threshold * sd_below, mean + threshold * sd_above
        out.append(Anomaly(pd.Timestamp(period), value, mean, lower, upper, value - mean, float(z), "forecast"))
    return out


__all__ = ["Anomaly", "Bands", "detect_anomalies", "outside_forecast", "seasonal_bands"]
