"""Goal-attainment probability and the projected end value, from simulated future paths of a KPI.

    >>> paths = forecast(y, horizon=6).paths(2000)           # (n, horizon)
    >>> goal_probability(paths, target=120_000, direction="higher", kind="cumulative", to_date=41_500)
    0.62
    >>> projected_end_value(paths, kind="cumulative", to_date=41_500).median

Each row of ``paths`` is one possible future of the KPI, one value per future period (the first column is
the first period after the last actual value). The deadline is the period at ``horizon_index`` (by default
the last column); later columns are ignored.

Kinds of goal:

* ``level``: the KPI's value in the deadline period is compared with the target (revenue in December >= X).
* ``cumulative``: the KPI holds per-period amounts and the goal is on their total: the ``to_date`` actual
  (what the periods already closed contributed) plus the simulated remaining periods up to the deadline
  (quarterly sales >= X, half-way through the quarter).
* ``stay_above`` / ``stay_below``: every period up to the deadline must respect the bound (cash never below
  10,000); ``direction`` does not matter.

``direction="lower"`` (lower is better) flips the comparison for ``level`` and ``cumulative``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

Direction = Literal["higher", "lower"]
GoalKind = Literal["level", "cumulative", "stay_above", "stay_below"]
DIRECTIONS = ("higher", "lower")
KINDS = ("level", "cumulative", "stay_above", "stay_below")


def check_paths(paths: np.ndarray, horizon_index: int | None) -> np.ndarray:
    """The paths up to and including the deadline column, as a float (n, k) array."""
    arr = np.asarray(paths, dtype=float)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"paths must be a non-empty (n paths, horizon) array; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("paths contain NaN or infinite values; the forecast behind them is broken")
    horizon = arr.shape[1]
    if horizon_index is None:
        return arr
    if not 0 <= horizon_index < horizon:
        raise ValueError(
            f"horizon_index {horizon_index} is outside the simulated horizon (0 to {horizon - 1}): "
            "forecast further ahead to reach the deadline"
        )
    return arr[:, : horizon_index + 1]


def end_values(
    paths: np.ndarray, *, kind: GoalKind = "level", to_date: float = 0.0, horizon_index: int | None = None
) -> np.ndarray:
    """The value each path ends the deadline period at: the last level, or to-date plus the simulated sum."""
    arr = check_paths(paths, horizon_index)
    if kind == "cumulative":
        return float(to_date) + arr.sum(axis=1)
    if kind in KINDS:
        return arr[:, -1]
    raise ValueError(f"unknown goal kind {kind!r}; choose one of {', '.join(KINDS)}")


def goal_probability(
    paths: np.ndarray,
    *,
    target: float,
    direction: Direction = "higher",
    kind: GoalKind = "level",
    to_date: float = 0.0,
    horizon_index: int | None = None,
) -> float:
    """The share of simulated paths on which the goal is met by the deadline (0 to 1)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}; choose 'higher' or 'lower' (is better)")
    if kind not in KINDS:
        raise ValueError(f"unknown goal kind {kind!r}; choose one of {', '.join(KINDS)}")
    if not np.isfinite(target):
        raise ValueError(f"the target must be a finite number; got {target!r}")
    arr = check_paths(paths, horizon_index)
    if kind == "stay_above":
        met = (arr >= target).all(axis=1)
    elif kind == "stay_below":
        met = (arr <= target).all(axis=1)
    else:
        values = end_values(arr, kind=kind, to_date=to_date)
        met = values >= target if direction == "higher" else values <= target
    return float(met.mean())


@dataclass(frozen=True)
class Projection:
    """Where the KPI is likely to close the deadline period: the median and a central interval."""

    median: float
    lower: float
    upper: float
    level: int

    def describe(self, fmt: Callable[[float], str] | None = None) -> str:
        """ "on current pace you close at 118,200 (80% likely between 104,000 and 131,500)"; ``fmt`` shows numbers."""
        show = fmt or (lambda v: f"{v:,.0f}")
        return (
            f"on current pace you close at {show(self.median)} "
            f"({self.level}% likely between {show(self.lower)} and {show(self.upper)})"
        )


def projected_end_value(
    paths: np.ndarray,
    *,
    kind: GoalKind = "level",
    to_date: float = 0.0,
    horizon_index: int | None = None,
    level: int = 80,
) -> Projection:
    """The projected value at the deadline (median over paths) with the central ``level``% interval."""
    if not 0 < level < 100:
        raise ValueError(f"level must be between 0 and 100 (a percentage); got {level}")
    values = end_values(paths, kind=kind, to_date=to_date, horizon_index=horizon_index)
    tail = (100 - level) / 2
    lower, median, upper = np.percentile(values, [tail, 50, 100 - tail])
    return Projection(float(median), float(lower), float(upper), level)


__all__ = ["KINDS", "Projection", "check_paths", "end_values", "goal_probability", "projected_end_value"]
