"""Risk prediction: the probability that a KPI breaches a threshold within the forecast horizon.

    >>> risk = breach_risk(fc.paths(2000), threshold=10_000, breach="below")
    >>> risk.probability, risk.by_period, risk.describe("period")
    (0.23, [0.02, 0.07, ...], "23% risk of falling below the threshold within 6 periods; most likely first in period 4")

A path breaches when any of its periods (up to ``within``) is beyond the threshold: below it for
``breach="below"`` (cash, NPS, margin), above it for ``breach="above"`` (churn rate, delivery time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from headway.analytics.forecast import Forecast
from headway.analytics.probability import check_paths

Breach = Literal["above", "below"]


@dataclass(frozen=True)
class BreachRisk:
    """The chance of a breach within the horizon and when it would first happen."""

    probability: float
    by_period: list[float]
    """Probability of a breach by the end of each future period (cumulative, non-decreasing)."""
    first_period_index: int | None
    """The period in which a first breach is most likely (0 = the first future period), None without breaches."""
    threshold: float
    breach: Breach

    def describe(self, period_word: str = "period") -> str:
        side = "falling below" if self.breach == "below" else "rising above"
        horizon = len(self.by_period)
        text = f"{self.probability:.0%} risk of {side} the threshold within {horizon} {period_word}s"
        if self.first_period_index is not None:
            text += f"; most likely first in {period_word} {self.first_period_index + 1}"
        return text


def breach_risk(paths: np.ndarray, *, threshold: float, breach: Breach, within: int | None = None) -> BreachRisk:
    """How likely the simulated KPI crosses ``threshold`` (to the ``breach`` side) in the first ``within`` periods."""
    if breach not in ("above", "below"):
        raise ValueError(f"breach must be 'above' or 'below' (the side that is bad); got {breach!r}")
    if not np.isfinite(threshold):
        raise ValueError(f"the threshold must be a finite number; got {threshold!r}")
    if within is not None and within < 1:
        raise ValueError(f"within must be at least 1 period; got {within}")
    arr = check_paths(paths, None)
    if within is not None:
        arr = arr[:, :within]
    beyond = arr < threshold if breach == "below" else arr > threshold
    ever = np.logical_or.accumulate(beyond, axis=1)
    by_period = ever.mean(axis=0)
    first_hits = np.diff(np.concatenate([[0.0], by_period]))
    first = int(np.argmax(first_hits)) if by_period[-1] > 0 else None
    return BreachRisk(float(by_period[-1]), [float(p) for p in by_period], first, float(threshold), breach)


def forecast_breach_risk(
    fc: Forecast, *, threshold: float, breach: Breach, within: int | None = None, n_paths: int = 2000, seed: int = 0
) -> BreachRisk:
    """``breach_risk`` over paths simulated from a forecast."""
    return breach_risk(fc.paths(n_paths, seed), threshold=threshold, breach=breach, within=within)


__all__ = ["BreachRisk", "breach_risk", "forecast_breach_risk"]
