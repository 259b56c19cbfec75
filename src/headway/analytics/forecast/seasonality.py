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
    statistic, within_dof = anova_f(y, m, multiplicative=False)
    if within_dof < 1 or not np.isfinite(statistic):
        return False
    return bool(statistic > f_dist.ppf(1 - alpha, m - 1, within_dof))


def anova_f(y: np.ndarray, m: int, multiplicative: bool) -> tuple[float, int]:
    """One-way ANOVA F statistic of the detrended values by position in the season, and its within-group degrees
    of freedom; F is infinite for a noiseless pattern and NaN when there is nothing to compare."""
    detrended, position = _detrended(y, m, multiplicative)
    groups = [detrended[position == k] for k in range(m)]
    within_dof = len(detrended) - m
    within = sum(float(((g - g.mean()) ** 2).sum()) for g in groups)
    if within_dof < 1:
        return float("nan"), within_dof
    between = sum(len(g) * (g.mean() - detrended.mean()) ** 2 for g in groups)
    if within == 0:
        return (float("inf") if between > 0 else float("nan")), within_dof
    return float((between / (m - 1)) / (within / within_dof)), within_dof


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

    ``shrink`` > 0 pulls the estimated pattern toward none by the James-Stein-like factor
    ``w = clip(1 - shrink / F, 0, 1)``, F the ANOVA statistic of the detrended values by position in the season
    (multiplicative indices to the power w, additive ones times w): a noisy pattern (F small) is damped, a clear
    one (F large) kept. ``self.weight`` is w (1 when not damped).
    """

    def __init__(self, y: np.ndarray, season_length: int, shrink: float = 0.0):
        self.n = len(y)
        self.m = season_length
        self.active = is_seasonal(y, season_length)
        self.multiplicative = bool(np.all(y > 0))
        self.indices = np.zeros(0)
        self.weight = 1.0
        if self.active:
            idx = seasonal_indices(y, season_length, self.multiplicative)
            if shrink > 0:
                statistic, _ = anova_f(y, season_length, self.multiplicative)
                self.weight = float(np.clip(1 - shrink / statistic, 0, 1)) if np.isfinite(statistic) else 1.0
            self.indices = idx**self.weight if self.multiplicative else idx * self.weight

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
