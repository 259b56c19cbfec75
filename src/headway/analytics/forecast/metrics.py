"""Accuracy metrics: sMAPE (the M3 definition) and MASE (scaled by the in-sample seasonal naive error)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def smape(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Symmetric mean absolute percentage error in percent (0-200); a point where both are 0 counts as 0."""
    y = np.asarray(actual, dtype=float)
    f = np.asarray(predicted, dtype=float)
    denom = np.abs(y) + np.abs(f)
    ratio = np.divide(2.0 * np.abs(y - f), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100.0 * ratio.mean())


def naive_scale(history: ArrayLike, season_length: int = 1) -> float:
    """Mean absolute error of the in-sample seasonal naive forecast (naive when the history is too short)."""
    y = np.asarray(history, dtype=float)
    m = season_length if len(y) > season_length else 1
    if len(y) <= m:
        return float("nan")
    return float(np.mean(np.abs(y[m:] - y[:-m])))


def mase(actual: ArrayLike, predicted: ArrayLike, history: ArrayLike, season_length: int = 1) -> float:
    """Mean absolute scaled error; NaN when the history is constant (nothing to scale by)."""
    scale = naive_scale(history, season_length)
    if not np.isfinite(scale) or scale == 0:
        return float("nan")
    err = np.abs(np.asarray(actual, dtype=float) - np.asarray(predicted, dtype=float))
    return float(err.mean() / scale)
