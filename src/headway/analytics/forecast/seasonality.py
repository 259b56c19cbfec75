"""Seasonality: the 90% autocorrelation test at the seasonal lag and classical decomposition (the M3/M4 approach)."""

from __future__ import annotations

import numpy as np
from scipy.stats import f as f_dist


def is_seasonal(y: np.ndarray, season_length: int) -> bool:
    """True when the autocorrelation at lag ``season_length`` is significant at 90% (the classical M3/M4
    test), or when the detrended values differ by position in the season (one-way ANOVA at 99%): the ACF
    limit is so wide on short or trending series that even a clean sine can fail it."""
    n = len(y)
    m = season_length
    if m < 2 or n < 2 * m + 1:
        return False
    return _acf_significant(y, m) or _anova_significant(y, m)


def _acf_significant(y: np.ndarray, m: int) -> bool:
    n = len(y)
    x = y - y.mean()
    denom = float((x * x).sum())
    if denom == 0:
        return False
    acf = np.array([(x[k:] * x[:-k]).sum() / denom for k in range(1, m + 1)])
    limit = 1.645 * np.sqrt((1 + 2 * (acf[:-1] ** 2).sum()) / n)
    return bool(abs(acf[-1]) > limit)


def _anova_significant(y: np.ndarray, m: int, alpha: float = 0.01) -> bool:
    detrended, position = _detrended(y, m, multiplicative=False)
    groups = [detrended[position == k] for k in range(m)]
    within_dof = len(detrended) - m
    within = sum(float(((g - g.mean()) ** 2).sum()) for g in groups)
    if within_dof < 1 or within == 0:
        return False
    between = sum(len(g) * (g.mean() - detrended.mean()) ** 2 for g in groups)
    statistic = (between / (m - 1)) / (within / within_dof)
    return bool(statistic > f_dist.ppf(1 - alpha, m - 1, within_dof))


def _detrended(y: np.ndarray, m: int, multiplicative: bool) -> tuple[np.ndarray, np.ndarray]:
    """The series divided by (or minus) its centred moving average, and each value's position in the season."""
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(y, weights, mode="valid")
    offset = (len(weights) - 1) // 2
    observed = y[offset : offset + len(trend)]
    detrended = observed / trend if multiplicative else observed - trend
    return detrended, (np.arange(len(detrended)) + offset) % m


def seasonal_indices(y: np.ndarray, season_length: int, multiplicative: bool) -> np.ndarray:
    """Indices per position in the season (position 0 = the first observation), from a centred moving average.

    Multiplicative indices average to 1, additive ones to 0.
    """
    m = season_length
    detrended, position = _detrended(y, m, multiplicative)
    idx = np.array([detrended[position == k].mean() for k in range(m)])
    return idx / idx.mean() if multiplicative else idx - idx.mean()


class SeasonalAdjustment:
    """Removes a fixed seasonal pattern when the test passes; ``restore`` puts it back on forecasts.

    ``shrink`` < 1 pulls the estimated pattern toward none (multiplicative indices to the power ``shrink``,
    additive ones times ``shrink``): the indices are estimated with noise, and a damped pattern forecasts better.
    """

    def __init__(self, y: np.ndarray, season_length: int, shrink: float = 1.0):
        self.n = len(y)
        self.m = season_length
        self.active = is_seasonal(y, season_length)
        self.multiplicative = bool(np.all(y > 0))
        self.indices = np.zeros(0)
        if self.active:
            idx = seasonal_indices(y, season_length, self.multiplicative)
            self.indices = idx**shrink if self.multiplicative else idx * shrink

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
