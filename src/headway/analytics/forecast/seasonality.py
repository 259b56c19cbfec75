"""Seasonality: the 90% autocorrelation test at the seasonal lag and classical decomposition (the M3/M4 approach)."""

from __future__ import annotations

import numpy as np


def is_seasonal(y: np.ndarray, season_length: int) -> bool:
    """True when the autocorrelation at lag ``season_length`` is significant at 90%
    (from three seasons on; with fewer than four, see also ``_seasonal_short``)."""
    n = len(y)
    m = season_length
    if m < 2 or n < 2 * m + 1:
        return False
    if n < 3 * m:
        return _seasonal_short(y, m)
    return _acf_significant(y, m) or (n < 4 * m and _seasonal_short(y, m))


def _acf_significant(y: np.ndarray, m: int) -> bool:
    n = len(y)
    x = y - y.mean()
    denom = float((x * x).sum())
    if denom == 0:
        return False
    acf = np.array([(x[k:] * x[:-k]).sum() / denom for k in range(1, m + 1)])
    limit = 1.645 * np.sqrt((1 + 2 * (acf[:-1] ** 2).sum()) / n)
    return bool(abs(acf[-1]) > limit)


def _seasonal_short(y: np.ndarray, m: int) -> bool:
    """Under four seasons the ACF limit is so wide that even a clean sine can fail it, so there it is
    enough that last season's value predicts clearly better than last period's (mean absolute error
    under 80%; white noise gives about 100%)."""
    seasonal_error = np.mean(np.abs(y[m:] - y[:-m]))
    step_error = np.mean(np.abs(y[m:] - y[m - 1 : -1]))
    return bool(seasonal_error < 0.8 * step_error)


def seasonal_indices(y: np.ndarray, season_length: int, multiplicative: bool) -> np.ndarray:
    """Indices per position in the season (position 0 = the first observation), from a centred moving average.

    Multiplicative indices average to 1, additive ones to 0.
    """
    m = season_length
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(y, weights, mode="valid")
    offset = (len(weights) - 1) // 2
    observed = y[offset : offset + len(trend)]
    detrended = observed / trend if multiplicative else observed - trend
    position = (np.arange(len(detrended)) + offset) % m
    idx = np.array([detrended[position == k].mean() for k in range(m)])
    return idx / idx.mean() if multiplicative else idx - idx.mean()


class SeasonalAdjustment:
    """Removes a fixed seasonal pattern when the test passes; ``restore`` puts it back on forecasts."""

    def __init__(self, y: np.ndarray, season_length: int):
        self.n = len(y)
        self.m = season_length
        self.active = is_seasonal(y, season_length)
        self.multiplicative = bool(np.all(y > 0))
        self.indices = seasonal_indices(y, season_length, self.multiplicative) if self.active else np.zeros(0)

    def _pattern(self, start: int, length: int) -> np.ndarray:
        if not self.active:
            return np.ones(length) if self.multiplicative else np.zeros(length)
        return self.indices[np.arange(start, start + length) % self.m]

    def adjust(self, y: np.ndarray) -> np.ndarray:
        s = self._pattern(0, len(y))
        return y / s if self.multiplicative else y - s

    def restore(self, forecast: np.ndarray) -> np.ndarray:
        s = self._pattern(self.n, len(forecast))
        return forecast * s if self.multiplicative else forecast + s
